/*
 * malloc over anonymous mmap. Small requests come from arenas of
 * ARENA_SIZE bytes, managed as one address-ordered free list with
 * first fit, splitting and coalescing. Requests of LARGE bytes or more get
 * their own mapping, returned with munmap on free. Not thread-safe.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALIGNMENT 16
#define ARENA_SIZE (256 * 1024)
#define LARGE (64 * 1024)
#define F_MAPPED 1UL		/* block is a mapping of its own */

struct block {
	size_t size;		/* whole block including this header; low bit: F_MAPPED */
	struct block *next;	/* free list link (free blocks only) */
};

#define HDR sizeof(struct block)
#define MIN_BLOCK (HDR + ALIGNMENT)

static struct block *free_list;

static size_t round_up(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Puts b on the free list in address order and merges it with neighbours. */
static void insert_free(struct block *b)
{
	struct block *prev = NULL, *cur = free_list;

	while (cur && cur < b) {
		prev = cur;
		cur = cur->next;
	}
	b->next = cur;
	if (cur && (char *)b + b->size == (char *)cur) {
		b->size += cur->size;
		b->next = cur->next;
	}
	if (prev) {
		prev->next = b;
		if ((char *)prev + prev->size == (char *)b) {
			prev->size += b->size;
			prev->next = b->next;
		}
	} else {
		free_list = b;
	}
}

void *malloc(size_t n)
{
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / 2)
		return NULL;
	size_t need = round_up(n + HDR, ALIGNMENT);

	if (need >= LARGE) {
		size_t len = round_up(need, getpagesize());
		struct block *b = map(len);
		if (!b)
			return NULL;
		b->size = len | F_MAPPED;
		return b + 1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		struct block **link = &free_list;
		for (struct block *b = free_list; b; link = &b->next, b = b->next) {
			if (b->size < need)
				continue;
			if (b->size - need >= MIN_BLOCK) {
				struct block *rest = (struct block *)((char *)b + need);
				rest->size = b->size - need;
				rest->next = b->next;
				*link = rest;
				b->size = need;
			} else {
				*link = b->next;
			}
			return b + 1;
		}
		struct block *arena = map(ARENA_SIZE);
		if (!arena)
			return NULL;
		arena->size = ARENA_SIZE;
		insert_free(arena);
	}
	return NULL;
}

void free(void *p)
{
	if (!p)
		return;
	struct block *b = (struct block *)p - 1;
	if (b->size & F_MAPPED)
		munmap(b, b->size & ~F_MAPPED);
	else
		insert_free(b);
}

void *calloc(size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size)
		return NULL;
	void *p = malloc(count * size);
	if (p)
		memset(p, 0, count * size);
	return p;
}

void *realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	struct block *b = (struct block *)p - 1;
	size_t have = (b->size & ~F_MAPPED) - HDR;
	if (n <= have)
		return p;
	void *q = malloc(n);
	if (q) {
		memcpy(q, p, have);
		free(p);
	}
	return q;
}

/*
 * kmalloc.c — the kernel heap.
 *
 * Small objects (up to 2 KiB) come from slabs: one frame per slab, a header
 * at the start of the frame, equal-size objects after it, a free list per
 * slab. A slab that becomes empty goes back to the frame allocator (except
 * the last one of its size class), so the heap does not hold frames that
 * nothing uses. Large objects are runs of contiguous frames with a header.
 * Every object is 16-byte aligned; its slab or run is found by rounding the
 * pointer down to its frame.
 */
#include <kernel.h>
#include <mm.h>
#include <spinlock.h>
#include <panic.h>

#define SLAB_MAGIC 0x51ab51ab
#define LARGE_MAGIC 0x1a46e000
#define NCLASSES 7                    /* 32, 64, ..., 2048 bytes */
#define LARGE_HDR 16

struct slab {
	uint32_t magic;
	uint16_t obj_size;
	uint16_t inuse;
	uint16_t total;
	uint16_t cls;
	void *free;                   /* singly linked through the first word */
	struct slab *next, *prev;     /* class list */
};

struct large_hdr {
	uint32_t magic;
	uint32_t pad;
	uint64_t npages;
};

#define SLAB_HDR ALIGN_UP(sizeof(struct slab), 16)

static struct spinlock heap_lock = SPINLOCK_INIT("kmalloc");
static struct slab *classes[NCLASSES];
uint64_t heap_bytes_in_use;
uint64_t heap_objects_live;
uint64_t heap_slab_pages;

static int size_class(size_t size)
{
	size_t s = 32;
	for (int c = 0; c < NCLASSES; c++, s <<= 1)
		if (size <= s)
			return c;
	return -1;
}

static struct slab *slab_new(int cls)
{
	uint64_t pa = pmm_alloc_page();
	if (!pa)
		return NULL;
	struct slab *s = phys_to_virt(pa);
	heap_slab_pages++;
	s->magic = SLAB_MAGIC;
	s->cls = (uint16_t)cls;
	s->obj_size = (uint16_t)(32u << cls);
	s->total = (uint16_t)((PAGE_SIZE - SLAB_HDR) / s->obj_size);
	s->inuse = 0;
	s->free = NULL;
	for (int i = s->total - 1; i >= 0; i--) {
		void **obj = (void **)((char *)s + SLAB_HDR + (size_t)i * s->obj_size);
		*obj = s->free;
		s->free = obj;
	}
	s->prev = NULL;
	s->next = classes[cls];
	if (s->next)
		s->next->prev = s;
	classes[cls] = s;
	return s;
}

void *kmalloc(size_t size)
{
	if (size == 0)
		size = 1;
	int cls = size_class(size);
	if (cls < 0) {
		if (size > (1ull << 30))
			return NULL;
		uint64_t npages = ALIGN_UP(size + LARGE_HDR, PAGE_SIZE) / PAGE_SIZE;
		uint64_t pa = pmm_alloc_pages(npages);
		if (!pa)
			return NULL;
		struct large_hdr *h = phys_to_virt(pa);
		h->magic = LARGE_MAGIC;
		h->npages = npages;
		__atomic_fetch_add(&heap_bytes_in_use, npages * PAGE_SIZE, __ATOMIC_RELAXED);
		__atomic_fetch_add(&heap_objects_live, 1, __ATOMIC_RELAXED);
		return (char *)h + LARGE_HDR;
	}
	spin_lock(&heap_lock);
	struct slab *s = classes[cls];
	while (s && !s->free)
		s = s->next;
	if (!s)
		s = slab_new(cls);
	void *obj = NULL;
	if (s) {
		obj = s->free;
		s->free = *(void **)obj;
		s->inuse++;
		heap_bytes_in_use += s->obj_size;
		heap_objects_live++;
	}
	spin_unlock(&heap_lock);
	return obj;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);
	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	if (!p)
		return;
	if (((uintptr_t)p & 15) || (uintptr_t)p < direct_map_base)
		panic("kfree: bad pointer %p", p);
	void *page = (void *)ALIGN_DOWN((uintptr_t)p, PAGE_SIZE);
	uint32_t magic = *(uint32_t *)page;
	if (magic == LARGE_MAGIC && (char *)p == (char *)page + LARGE_HDR) {
		struct large_hdr *h = page;
		uint64_t n = h->npages;
		h->magic = 0;
		__atomic_fetch_sub(&heap_bytes_in_use, n * PAGE_SIZE, __ATOMIC_RELAXED);
		__atomic_fetch_sub(&heap_objects_live, 1, __ATOMIC_RELAXED);
		pmm_free_pages(virt_to_phys(page), n);
		return;
	}
	if (magic != SLAB_MAGIC)
		panic("kfree: %p is not a heap object", p);
	struct slab *s = page;
	spin_lock(&heap_lock);
	*(void **)p = s->free;
	s->free = p;
	s->inuse--;
	heap_bytes_in_use -= s->obj_size;
	heap_objects_live--;
	/* Give an empty slab back unless it is the only one of its class. */
	if (s->inuse == 0 && (s->prev || s->next)) {
		if (s->prev)
			s->prev->next = s->next;
		else
			classes[s->cls] = s->next;
		if (s->next)
			s->next->prev = s->prev;
		s->magic = 0;
		heap_slab_pages--;
		spin_unlock(&heap_lock);
		pmm_free_page(virt_to_phys(s));
		return;
	}
	spin_unlock(&heap_lock);
}

/*
 * vm.c — user address spaces: a sorted list of regions over the arch's page
 * tables. Regions are populated eagerly (every page gets a zeroed frame when
 * mapped), so a user page fault is always an error and the process dies.
 * Frames are freed when a range is unmapped and when the vm is destroyed.
 */
#include <kernel.h>
#include <mm.h>
#include <sbuf.h>
#include <panic.h>
#include <axiom/errno.h>

struct vm *vm_create(void)
{
	struct vm *vm = kzalloc(sizeof(*vm));

	if (!vm)
		return NULL;
	if (arch_aspace_init(&vm->as) != 0) {
		kfree(vm);
		return NULL;
	}
	spin_init(&vm->lock, "vm");
	return vm;
}

/* Unmap and free every page of [start, end). Lock held. */
static void unmap_range_locked(struct vm *vm, uintptr_t start, uintptr_t end)
{
	for (uintptr_t va = start; va < end; va += PAGE_SIZE) {
		uint64_t pa;
		if (arch_mmu_unmap(&vm->as, va, &pa) == 0) {
			pmm_free_page(pa);
			vm->pages--;
		}
	}
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	spin_lock(&vm->lock);
	struct vm_region *r = vm->regions;
	vm->regions = NULL;
	while (r) {
		struct vm_region *next = r->next;
		unmap_range_locked(vm, r->start, r->end);
		kfree(r);
		r = next;
	}
	spin_unlock(&vm->lock);
	arch_aspace_destroy(&vm->as);
	kfree(vm);
}

static bool overlaps(struct vm *vm, uintptr_t start, uintptr_t end)
{
	for (struct vm_region *r = vm->regions; r; r = r->next)
		if (start < r->end && r->start < end)
			return true;
	return false;
}

static void insert_region(struct vm *vm, struct vm_region *n)
{
	struct vm_region **pp = &vm->regions;
	while (*pp && (*pp)->start < n->start)
		pp = &(*pp)->next;
	n->next = *pp;
	*pp = n;
}

int vm_map_anon(struct vm *vm, uintptr_t start, size_t len, unsigned prot, int kind)
{
	uintptr_t end = start + len;

	if ((start & (PAGE_SIZE - 1)) || (len & (PAGE_SIZE - 1)) || len == 0 ||
	    start < USER_BASE || end > USER_TOP || end < start)
		return -EINVAL;
	if ((prot & MMU_WRITE) && (prot & MMU_EXEC))
		return -EINVAL;
	/* Regions are populated eagerly below, with the vm lock held and
	 * interrupts off. A request for more frames than exist right now
	 * (say, a hostile ELF segment of 1 TiB) would spin through the frame
	 * allocator until RAM ran out — starving every other process and
	 * looking like a lockup to the watchdog — only to fail. Fail fast
	 * instead. The count can change concurrently; the loop below still
	 * handles running out, this only bounds the work. */
	if ((prot & (MMU_READ | MMU_WRITE | MMU_EXEC)) && len / PAGE_SIZE > pmm_free_count())
		return -ENOMEM;
	struct vm_region *r = kzalloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->start = start;
	r->end = end;
	r->prot = prot & (MMU_READ | MMU_WRITE | MMU_EXEC);
	r->kind = kind;

	spin_lock(&vm->lock);
	if (overlaps(vm, start, end)) {
		spin_unlock(&vm->lock);
		kfree(r);
		return -EEXIST;
	}
	/* PROT_NONE: reserve the range, back nothing (any access faults). */
	if (r->prot) {
		for (uintptr_t va = start; va < end; va += PAGE_SIZE) {
			uint64_t pa = pmm_alloc_page();
			int err = pa ? arch_mmu_map(&vm->as, va, pa, r->prot | MMU_USER) : -ENOMEM;
			if (err) {
				if (pa)
					pmm_free_page(pa);
				unmap_range_locked(vm, start, va);
				spin_unlock(&vm->lock);
				kfree(r);
				return err == -EEXIST ? -EEXIST : -ENOMEM;
			}
			vm->pages++;
		}
	}
	insert_region(vm, r);
	spin_unlock(&vm->lock);
	return 0;
}

int vm_unmap(struct vm *vm, uintptr_t start, size_t len)
{
	uintptr_t end = start + len;

	if ((start & (PAGE_SIZE - 1)) || len == 0 || end < start || start < USER_BASE || end > USER_TOP)
		return -EINVAL;
	end = ALIGN_UP(end, PAGE_SIZE);
	/* A split may need one new region: allocate before taking the lock. */
	struct vm_region *spare = kzalloc(sizeof(*spare));
	if (!spare)
		return -ENOMEM;

	spin_lock(&vm->lock);
	struct vm_region **pp = &vm->regions;
	while (*pp) {
		struct vm_region *r = *pp;
		if (r->end <= start || r->start >= end) {
			pp = &r->next;
			continue;
		}
		uintptr_t us = MAX(r->start, start), ue = MIN(r->end, end);
		unmap_range_locked(vm, us, ue);
		if (us == r->start && ue == r->end) {           /* all of it */
			*pp = r->next;
			kfree(r);
			continue;
		}
		if (us == r->start) {                           /* the head */
			r->start = ue;
		} else if (ue == r->end) {                      /* the tail */
			r->end = us;
		} else {                                        /* the middle: split */
			*spare = *r;
			spare->start = ue;
			r->end = us;
			spare->next = r->next;
			r->next = spare;
			spare = NULL;
		}
		pp = &r->next;
	}
	spin_unlock(&vm->lock);
	kfree(spare);
	return 0;
}

uintptr_t vm_find_free(struct vm *vm, size_t len)
{
	uintptr_t cand = USER_MMAP_BASE;

	for (struct vm_region *r = vm->regions; r; r = r->next) {
		if (r->end <= cand)
			continue;
		if (r->start >= cand + len)
			break;
		cand = ALIGN_UP(r->end, PAGE_SIZE);
	}
	if (cand + len > USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE || cand + len < cand)
		return 0;
	return cand;
}

int vm_write(struct vm *vm, uintptr_t va, const void *src, size_t n)
{
	const uint8_t *s = src;

	while (n) {
		uint64_t pa;
		size_t chunk = MIN(n, PAGE_SIZE - (va & (PAGE_SIZE - 1)));
		spin_lock(&vm->lock);
		bool ok = arch_mmu_query(&vm->as, va, &pa, NULL);
		if (ok)
			memcpy(phys_to_virt(pa), s, chunk);
		spin_unlock(&vm->lock);
		if (!ok)
			return -EFAULT;
		va += chunk;
		s += chunk;
		n -= chunk;
	}
	return 0;
}

/*
 * kstack.c — kernel stacks in the KERNEL_VMAP region.
 *
 * The region is cut into slots of KSTACK_SLOT bytes: one unmapped guard page
 * followed by KSTACK_PAGES mapped pages. A stack that overflows runs into
 * its guard page and faults (entry.S then switches to an emergency stack and
 * the fault handler reports kind "stack-overflow"). Slots are handed out
 * lowest first, so the page-table pages the arch allocates for the region
 * stay bounded by the largest number of stacks ever alive at once (the
 * 1000 spawn/exit leak test counts frames). Reusing a slot is safe because
 * arch_kunmap flushes the translation on every CPU.
 */
#include <kernel.h>
#include <mm.h>
#include <spinlock.h>
#include <axiom/errno.h>

#define KSTACK_NSLOTS (KERNEL_VMAP_SIZE / KSTACK_SLOT)

static struct spinlock kstack_lock = SPINLOCK_INIT("kstack");
static uint64_t slot_used[(KSTACK_NSLOTS + 63) / 64];
uint64_t kstacks_live;

static void unmap_pages(uintptr_t base, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t pa;
		if (arch_kunmap(base + i * PAGE_SIZE, &pa) == 0)
			pmm_free_page(pa);
	}
}

int kstack_alloc(struct kstack *ks)
{
	uint64_t slot = KSTACK_NSLOTS;

	spin_lock(&kstack_lock);
	for (uint64_t w = 0; w < ARRAY_SIZE(slot_used) && slot == KSTACK_NSLOTS; w++) {
		if (slot_used[w] == ~0ull)
			continue;
		uint64_t s = w * 64 + (uint64_t)__builtin_ctzll(~slot_used[w]);
		if (s < KSTACK_NSLOTS) {
			slot = s;
			slot_used[w] |= 1ull << (s % 64);
		}
	}
	spin_unlock(&kstack_lock);
	if (slot == KSTACK_NSLOTS)
		return -ENOMEM;

	uintptr_t base = KERNEL_VMAP_BASE + slot * KSTACK_SLOT + PAGE_SIZE;   /* above the guard */
	for (unsigned i = 0; i < KSTACK_PAGES; i++) {
		uint64_t pa = pmm_alloc_page();
		if (!pa || arch_kmap(base + i * PAGE_SIZE, pa, MMU_READ | MMU_WRITE) != 0) {
			if (pa)
				pmm_free_page(pa);
			unmap_pages(base, i);
			spin_lock(&kstack_lock);
			slot_used[slot / 64] &= ~(1ull << (slot % 64));
			spin_unlock(&kstack_lock);
			return -ENOMEM;
		}
	}
	ks->base = base;
	ks->top = base + KSTACK_SIZE;
	__atomic_fetch_add(&kstacks_live, 1, __ATOMIC_RELAXED);
	return 0;
}

void kstack_free(struct kstack *ks)
{
	if (!ks->base)
		return;
	unmap_pages(ks->base, KSTACK_PAGES);
	uint64_t slot = (ks->base - PAGE_SIZE - KERNEL_VMAP_BASE) / KSTACK_SLOT;
	spin_lock(&kstack_lock);
	slot_used[slot / 64] &= ~(1ull << (slot % 64));
	spin_unlock(&kstack_lock);
	ks->base = ks->top = 0;
	__atomic_fetch_sub(&kstacks_live, 1, __ATOMIC_RELAXED);
}

bool kstack_is_guard(uintptr_t addr)
{
	if (addr < KERNEL_VMAP_BASE || addr - KERNEL_VMAP_BASE >= KSTACK_NSLOTS * KSTACK_SLOT)
		return false;
	return (addr - KERNEL_VMAP_BASE) % KSTACK_SLOT < PAGE_SIZE;
}

/*
 * mmu.c — Sv39/Sv48/Sv57 page tables at run time (RISC-V Privileged Spec
 * 4.3-4.6). Table pages come from the frame allocator and are reached
 * through the direct map.
 *
 * Every address space uses ASID 0 and switching does a full sfence.vma, so a
 * CPU never keeps translations of an address space it is not running. When
 * a user page is unmapped, only the CPUs currently running that address
 * space (rv_active_root[]) need a remote fence.
 */
#include "rv.h"
#include <kernel.h>
#include <mm.h>
#include <percpu.h>
#include <axiom/errno.h>

/* PA of the root each CPU runs (0 = kernel-only); read by unmap. */
static volatile uint64_t rv_active_root[MAX_CPUS];

static inline void sfence_vma_addr(uintptr_t va)
{
	__asm__ volatile("sfence.vma %0, zero" ::"r"(va) : "memory");
}

static inline void sfence_vma_all(void)
{
	__asm__ volatile("sfence.vma zero, zero" ::: "memory");
}

/*
 * The PTE for `va` at `level` (0 = 4 KiB leaf level) in the tree rooted at
 * root_pa, creating intermediate tables if `alloc`. NULL if absent (or out
 * of memory), or if a superpage leaf sits above `level`.
 */
uint64_t *rv_walk(uint64_t root_pa, uintptr_t va, int level, bool alloc)
{
	uint64_t *table = phys_to_virt(root_pa);

	for (int l = (int)rv_levels - 1; l > level; l--) {
		uint64_t *pte = &table[vpn(va, l)];
		if (!(*pte & PTE_V)) {
			if (!alloc)
				return NULL;
			uint64_t pa = pmm_alloc_page();
			if (!pa)
				return NULL;
			/* Make the zeroed table visible before linking it in. */
			__atomic_thread_fence(__ATOMIC_RELEASE);
			*pte = pa_pte(pa) | PTE_V;
		} else if (*pte & PTE_LEAF) {
			return NULL;
		}
		table = phys_to_virt(pte_pa(*pte));
	}
	return &table[vpn(va, level)];
}

/* Canonical check: bits above va_bits must copy bit va_bits-1. */
static bool canonical(uintptr_t va)
{
	unsigned bits = 12 + 9 * rv_levels;
	intptr_t s = (intptr_t)(va << (64 - bits)) >> (64 - bits);
	return (uintptr_t)s == va;
}

/* Software translation in the kernel address space (any page size). */
static bool kernel_translate(uintptr_t va, uint64_t *pte_out)
{
	if (!canonical(va))
		return false;
	uint64_t *table = phys_to_virt(rv_kernel_root);
	for (int l = (int)rv_levels - 1; l >= 0; l--) {
		uint64_t pte = table[vpn(va, l)];
		if (!(pte & PTE_V))
			return false;
		if (pte & PTE_LEAF) {
			*pte_out = pte;
			return true;
		}
		if (l == 0)
			return false;
		table = phys_to_virt(pte_pa(pte));
	}
	return false;
}

/* Would a kernel access to va succeed? (Used by the unwinder, never faults.) */
bool rv_kaddr_mapped(uintptr_t va, bool write)
{
	uint64_t pte;

	if (va < direct_map_base)     /* the user half is never trusted here */
		return false;
	if (!kernel_translate(va, &pte))
		return false;
	return (pte & PTE_R) && (!write || (pte & PTE_W));
}

/* ---- user address spaces ---- */

int arch_aspace_init(struct arch_aspace *as)
{
	uint64_t root = pmm_alloc_page();

	if (!root)
		return -ENOMEM;
	/* Share the kernel half: entries 256..511 of the root in every mode. */
	uint64_t *dst = phys_to_virt(root), *src = phys_to_virt(rv_kernel_root);
	for (int i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		dst[i] = src[i];
	as->root_pa = root;
	as->asid = 0;
	return 0;
}

static void free_tables(uint64_t table_pa, int level)
{
	uint64_t *t = phys_to_virt(table_pa);

	if (level > 0) {
		for (int i = 0; i < PT_ENTRIES; i++) {
			if ((t[i] & PTE_V) && !(t[i] & PTE_LEAF))
				free_tables(pte_pa(t[i]), level - 1);
		}
	}
	pmm_free_page(table_pa);
}

void arch_aspace_destroy(struct arch_aspace *as)
{
	if (!as->root_pa)
		return;
	uint64_t *root = phys_to_virt(as->root_pa);
	for (int i = 0; i < PT_ENTRIES / 2; i++) {
		if ((root[i] & PTE_V) && !(root[i] & PTE_LEAF))
			free_tables(pte_pa(root[i]), (int)rv_levels - 2);
		root[i] = 0;
	}
	pmm_free_page(as->root_pa);
	as->root_pa = 0;
}

void arch_aspace_switch(struct arch_aspace *as)
{
	uint64_t root = as ? as->root_pa : rv_kernel_root;
	struct cpu *c = arch_cpu_local();

	if (c)
		rv_active_root[c->id] = as ? root : 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	csr_write(satp, (rv_satp_mode << SATP_MODE_SHIFT) | (root >> 12));
	sfence_vma_all();
}

static bool user_va(uintptr_t va)
{
	return va >= USER_BASE && va < USER_TOP && !(va & (PAGE_SIZE - 1));
}

int arch_mmu_map(struct arch_aspace *as, uintptr_t va, uint64_t pa, unsigned prot)
{
	if (!user_va(va) || (pa & (PAGE_SIZE - 1)))
		return -EINVAL;
	if ((prot & MMU_WRITE) && (prot & MMU_EXEC))
		return -EINVAL;              /* W^X for user pages too */
	uint64_t *pte = rv_walk(as->root_pa, va, 0, true);
	if (!pte)
		return -ENOMEM;
	if (*pte & PTE_V)
		return -EEXIST;
	uint64_t flags = PTE_V | PTE_A | PTE_D;
	/* Writable implies readable: W without R is a reserved encoding. */
	if (prot & (MMU_READ | MMU_WRITE))
		flags |= PTE_R;
	if (prot & MMU_WRITE)
		flags |= PTE_W;
	if (prot & MMU_EXEC)
		flags |= PTE_X;
	if (prot & MMU_USER)
		flags |= PTE_U;
	if (!(flags & PTE_LEAF))
		flags |= PTE_R;              /* PROT_NONE is not representable: keep it readable */
	*pte = pa_pte(pa) | flags;
	return 0;
}

/* Fence `va` on every other CPU currently running root `root_pa`. */
static void shootdown(uint64_t root_pa, uintptr_t va)
{
	unsigned long mask = 0;
	struct cpu *me = arch_cpu_local();

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < rv_nharts && i < MAX_CPUS; i++) {
		if (me && i == me->id)
			continue;
		if (!cpus[i].online)
			continue;
		if (root_pa && rv_active_root[i] != root_pa)
			continue;
		if (rv_hartids[i] < 64)
			mask |= 1ul << rv_hartids[i];
	}
	if (mask)
		sbi_remote_sfence_vma(mask, 0, va, PAGE_SIZE);
}

int arch_mmu_unmap(struct arch_aspace *as, uintptr_t va, uint64_t *pa)
{
	if (!user_va(va))
		return -ENOENT;
	uint64_t *pte = rv_walk(as->root_pa, va, 0, false);
	if (!pte || !(*pte & PTE_V))
		return -ENOENT;
	if (pa)
		*pa = pte_pa(*pte);
	*pte = 0;
	sfence_vma_addr(va);
	shootdown(as->root_pa, va);
	return 0;
}

bool arch_mmu_query(struct arch_aspace *as, uintptr_t va, uint64_t *pa, unsigned *prot)
{
	if (!as || !as->root_pa || va >= USER_TOP)
		return false;
	uint64_t *pte = rv_walk(as->root_pa, va, 0, false);
	if (!pte || !(*pte & PTE_V) || !(*pte & PTE_LEAF))
		return false;
	if (pa)
		*pa = pte_pa(*pte) + (va & (PAGE_SIZE - 1));
	if (prot) {
		unsigned p = 0;
		if (*pte & PTE_R)
			p |= MMU_READ;
		if (*pte & PTE_W)
			p |= MMU_WRITE;
		if (*pte & PTE_X)
			p |= MMU_EXEC;
		if (*pte & PTE_U)
			p |= MMU_USER;
		*prot = p;
	}
	return true;
}

/* ---- KERNEL_VMAP ---- */

static bool vmap_va(uintptr_t va)
{
	return va >= KERNEL_VMAP_BASE && va - KERNEL_VMAP_BASE < KERNEL_VMAP_SIZE &&
	       !(va & (PAGE_SIZE - 1));
}

int arch_kmap(uintptr_t va, uint64_t pa, unsigned prot)
{
	if (!vmap_va(va) || (prot & MMU_USER) || ((prot & MMU_WRITE) && (prot & MMU_EXEC)))
		return -EINVAL;
	/* The tables above level 0 exist since boot, shared by every root. */
	uint64_t *pte = rv_walk(rv_kernel_root, va, 0, true);
	if (!pte)
		return -ENOMEM;
	if (*pte & PTE_V)
		return -EEXIST;
	uint64_t flags = PTE_V | PTE_A | PTE_D | PTE_G | PTE_R;
	if (prot & MMU_WRITE)
		flags |= PTE_W;
	if (prot & MMU_EXEC)
		flags |= PTE_X;
	*pte = pa_pte(pa) | flags;
	sfence_vma_addr(va);
	return 0;
}

int arch_kunmap(uintptr_t va, uint64_t *pa)
{
	if (!vmap_va(va))
		return -ENOENT;
	uint64_t *pte = rv_walk(rv_kernel_root, va, 0, false);
	if (!pte || !(*pte & PTE_V))
		return -ENOENT;
	if (pa)
		*pa = pte_pa(*pte);
	*pte = 0;
	sfence_vma_addr(va);
	shootdown(0, va);            /* global mapping: every CPU may cache it */
	return 0;
}

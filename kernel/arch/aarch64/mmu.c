/*
 * mmu.c — user address spaces (TTBR0_EL1) and the kernel VMAP region
 * (TTBR1_EL1) after boot.
 *
 * The two halves have separate roots (Arm ARM D8.2.3 "VA ranges"), so a
 * user address space is only its TTBR0 tables: the kernel half is the one
 * TTBR1 root built at boot, shared by construction. Every user page is
 * non-global (nG) and tagged with the address space's ASID (TTBR0_EL1
 * ASID field, TCR_EL1.A1 = 0), so switching needs no TLB flush; kernel
 * pages are global.
 *
 * TLB maintenance (D8.14 "TLB maintenance"): changing a valid entry is
 * break-before-make: write the invalid entry, DSB ISHST (the table write is
 * visible to every walker), TLBI ...IS (broadcast to all CPUs in the Inner
 * Shareable domain), DSB ISH (wait until done everywhere), ISB.
 * A new entry where there was none needs no TLBI (translation faults are
 * never cached), only the DSB so the walker sees it.
 */
#include "a64.h"
#include <kernel.h>
#include <mm.h>
#include <spinlock.h>
#include <axiom/errno.h>

/* User page attributes: Normal WB, inner shareable, AF set (no hardware
 * access flag on ARMv8.0), non-global, never executable at EL1 (PXN). */
#define UPROT_BASE (PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_NG | PTE_PXN)

/* ---- ASIDs: one per live address space; 0 is the kernel-only space ---- */

#define ASID_MAX 65536
static uint64_t asid_bitmap[ASID_MAX / 64];
static struct spinlock asid_lock = SPINLOCK_INIT("asid");
static struct spinlock kmap_lock = SPINLOCK_INIT("kmap");
static unsigned asid_next = 1;
/*
 * asid_used: the ASID has been loaded into TTBR0_EL1 on some CPU since it
 * was allocated. Until then no TLB can hold an entry tagged with it (freed
 * ASIDs are invalidated everywhere before reuse), so unmapping pages of an
 * address space that never ran needs no TLBI. That matters: a broadcast
 * TLBI stops every vCPU under QEMU TCG, and the ELF loader and failed
 * mappings tear down many pages of fresh address spaces.
 * Ordering: the switch sets the bit, DSB, then walks; unmap clears the
 * entry, DSB, then reads the bit — one of them sees the other.
 */
static uint64_t asid_used[ASID_MAX / 64];

static bool asid_was_used(uint64_t a)
{
	return __atomic_load_n(&asid_used[a / 64], __ATOMIC_RELAXED) & (1ul << (a % 64));
}

static uint64_t asid_alloc(void)
{
	unsigned limit = a64_tcr_as16 ? ASID_MAX : 256;
	uint64_t got = 0;

	spin_lock(&asid_lock);
	for (unsigned n = 0; n < limit; n++) {
		unsigned a = asid_next;
		asid_next = asid_next + 1 >= limit ? 1 : asid_next + 1;
		if (!(asid_bitmap[a / 64] & (1ul << (a % 64)))) {
			asid_bitmap[a / 64] |= 1ul << (a % 64);
			got = a;
			break;
		}
	}
	spin_unlock(&asid_lock);
	return got;
}

static void asid_free(uint64_t a)
{
	if (!a)
		return;
	spin_lock(&asid_lock);
	__atomic_fetch_and(&asid_used[a / 64], ~(1ul << (a % 64)), __ATOMIC_RELAXED);
	asid_bitmap[a / 64] &= ~(1ul << (a % 64));
	spin_unlock(&asid_lock);
}

static uint64_t pt_alloc(void)
{
	return pmm_alloc_page();     /* zeroed */
}

/* ---- user address spaces ---- */

int arch_aspace_init(struct arch_aspace *as)
{
	uint64_t root = pt_alloc();
	if (!root)
		return -ENOMEM;
	uint64_t asid = asid_alloc();
	if (!asid) {
		pmm_free_page(root);
		return -ENOMEM;
	}
	as->root_pa = root;
	as->asid = asid;
	return 0;
}

static void free_tables(uint64_t table_pa, int level)
{
	uint64_t *t = a64_pt_table(table_pa);
	if (level < 3) {
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			if ((t[i] & (PTE_VALID | PTE_TABLE)) == (PTE_VALID | PTE_TABLE))
				free_tables(t[i] & PTE_ADDR_MASK, level + 1);
	}
	pmm_free_page(table_pa);
}

void arch_aspace_destroy(struct arch_aspace *as)
{
	if (!as->root_pa)
		return;
	/* No CPU may keep translations tagged with this ASID once it is reused. */
	dsb(ish);
	if (asid_was_used(as->asid))
		__asm__ volatile("tlbi aside1is, %0\n\tdsb ish\n\tisb" :: "r"(as->asid << 48) : "memory");
	free_tables(as->root_pa, PT_START_LEVEL);
	asid_free(as->asid);
	as->root_pa = 0;
	as->asid = 0;
}

void arch_aspace_switch(struct arch_aspace *as)
{
	uint64_t ttbr = as ? (as->root_pa | (as->asid << 48)) : a64_zero_root;
	if (as && !asid_was_used(as->asid)) {
		__atomic_fetch_or(&asid_used[as->asid / 64], 1ul << (as->asid % 64), __ATOMIC_RELAXED);
		dsb(ish);
	}
	write_sysreg(ttbr0_el1, ttbr);
	isb();
}

static bool user_va_ok(uintptr_t va)
{
	return va < USER_TOP && !(va & (PAGE_SIZE - 1));
}

int arch_mmu_map(struct arch_aspace *as, uintptr_t va, uint64_t pa, unsigned prot)
{
	if (!user_va_ok(va) || (pa & (PAGE_SIZE - 1)))
		return -EINVAL;
	if ((prot & MMU_WRITE) && (prot & MMU_EXEC))
		return -EINVAL;                  /* W^X */
	uint64_t attrs = UPROT_BASE;
	if (prot & MMU_USER)
		attrs |= PTE_AP_EL0;
	if (!(prot & MMU_WRITE))
		attrs |= PTE_AP_RO;
	if (!(prot & MMU_EXEC) || !(prot & MMU_USER))
		attrs |= PTE_UXN;
	int r = a64_pt_map_range(as->root_pa, va, pa, PAGE_SIZE, attrs, false, pt_alloc);
	dsb(ishst);
	isb();
	return r;
}

int arch_mmu_unmap(struct arch_aspace *as, uintptr_t va, uint64_t *pa)
{
	if (!user_va_ok(va))
		return -ENOENT;
	uint64_t *e = a64_pt_lookup(as->root_pa, va, NULL);
	if (!e)
		return -ENOENT;
	if (pa)
		*pa = *e & PTE_ADDR_MASK;
	*e = 0;
	dsb(ish);
	if (!asid_was_used(as->asid))
		return 0;                        /* never ran: nothing cached */
	/* TLBI VAE1IS: Xt[63:48] = ASID, Xt[43:0] = VA[55:12] (any granule). */
	uint64_t op = ((va >> 12) & ((1ul << 44) - 1)) | (as->asid << 48);
	__asm__ volatile("tlbi vae1is, %0\n\tdsb ish\n\tisb" :: "r"(op) : "memory");
	return 0;
}

static unsigned pte_prot(uint64_t pte)
{
	unsigned prot = MMU_READ;
	bool user = pte & PTE_AP_EL0;
	if (!(pte & PTE_AP_RO))
		prot |= MMU_WRITE;
	if (user)
		prot |= MMU_USER;
	if (user ? !(pte & PTE_UXN) : !(pte & PTE_PXN))
		prot |= MMU_EXEC;
	return prot;
}

bool arch_mmu_query(struct arch_aspace *as, uintptr_t va, uint64_t *pa, unsigned *prot)
{
	uint64_t root;
	if (va >= DIRECT_MAP_BASE)
		root = a64_kernel_root;
	else if (va < USER_TOP && as && as->root_pa)
		root = as->root_pa;
	else
		return false;
	int level;
	uint64_t *e = a64_pt_lookup(root, va, &level);
	if (!e)
		return false;
	uint64_t off_mask = (1ul << PT_LEVEL_SHIFT(level)) - 1;
	if (pa)
		*pa = (*e & PTE_ADDR_MASK & ~off_mask) | (va & off_mask);   /* exact byte */
	if (prot)
		*prot = pte_prot(*e);
	return true;
}

/* ---- KERNEL_VMAP ---- */

static bool kvmap_ok(uintptr_t va)
{
	return va >= KERNEL_VMAP_BASE && va < KERNEL_VMAP_BASE + KERNEL_VMAP_SIZE &&
	       !(va & (PAGE_SIZE - 1));
}

int arch_kmap(uintptr_t va, uint64_t pa, unsigned prot)
{
	if (!kvmap_ok(va) || (prot & MMU_USER))
		return -EINVAL;
	if ((prot & MMU_WRITE) && (prot & MMU_EXEC))
		return -EINVAL;
	uint64_t attrs = PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_UXN;
	if (!(prot & MMU_WRITE))
		attrs |= PTE_AP_RO;
	if (!(prot & MMU_EXEC))
		attrs |= PTE_PXN;
	spin_lock(&kmap_lock);
	int r = a64_pt_map_range(a64_kernel_root, va, pa, PAGE_SIZE, attrs, false, pt_alloc);
	spin_unlock(&kmap_lock);
	dsb(ishst);
	isb();
	return r;
}

int arch_kunmap(uintptr_t va, uint64_t *pa)
{
	if (!kvmap_ok(va))
		return -ENOENT;
	spin_lock(&kmap_lock);
	uint64_t *e = a64_pt_lookup(a64_kernel_root, va, NULL);
	if (!e) {
		spin_unlock(&kmap_lock);
		return -ENOENT;
	}
	if (pa)
		*pa = *e & PTE_ADDR_MASK;
	*e = 0;
	/* Global entry: TLBI VAAE1IS (all ASIDs). */
	uint64_t op = (va >> 12) & ((1ul << 44) - 1);
	__asm__ volatile("dsb ishst\n\ttlbi vaae1is, %0\n\tdsb ish\n\tisb" :: "r"(op) : "memory");
	spin_unlock(&kmap_lock);
	return 0;
}

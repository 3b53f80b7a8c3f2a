/*
 * mmu.c — x86_64 page tables (Intel SDM vol. 3, chapter 4 "Paging").
 *
 * 4-level paging (CR4.LA57=0) translates 48-bit virtual addresses through
 * PML4 -> PDPT -> PD -> PT; 5-level paging (CR4.LA57=1) puts a PML5 on top and
 * translates 57 bits. Each table is one 4 KiB page of 512 8-byte entries, the
 * index at level L being VA bits [12+9L-1 : 12+9(L-1)] (level 1 = PT).
 * A PD entry with PS=1 maps a 2 MiB page directly (used for the direct map;
 * qemu64 has no 1 GiB pages, CPUID.80000001h:EDX[26]=0).
 *
 * Permissions combine across levels (SDM 4.6): a page is writable only if W is
 * set at every level, user-accessible only if U is set at every level, and
 * non-executable if NX is set at any level. So intermediate entries are
 * permissive (P|W, plus U in the user half) and the leaf decides.
 *
 * The kernel-only top-level table (x86_kernel_root) owns the upper half:
 *   direct map  slot 256          (PML4 in 4-level, PML5 in 5-level mode)
 *   vmap        PML4 slot 384     (PML5 slot 511 in 5-level mode)
 *   image       PML4 slot 511     (PML5 slot 511 in 5-level mode)
 * All of those top-level entries exist before the first user address space is
 * created and never change afterwards, so copying slots 256..511 into every
 * new root shares the whole kernel half.
 */
#include <arch/arch.h>
#include <asm/x86.h>
#include <axiom/errno.h>
#include <kernel.h>
#include <layout.h>

extern char __kernel_start[], __text_start[], __text_end[], __rodata_start[], __rodata_end[],
	__data_start[], __kernel_end[];
extern uint32_t boot_la57;

/* pmm.c (generic) hands out page-table pages once the kernel runs */
uint64_t pmm_alloc_page(void);
void pmm_free_page(uint64_t pa);

uintptr_t direct_map_base;          /* 0 while the boot identity map is live */
unsigned x86_paging_levels = 4;
uint64_t x86_kernel_root;
static uintptr_t dmap_target;        /* direct_map_base once the real tables are live */
static uint64_t early_next;
static bool early = true;

/* One lock for every page-table change: cheap, and it makes intermediate
 * table creation race-free no matter what generic code holds. A ticket lock,
 * so that a CPU doing many unmaps in a row cannot starve the others (TCG
 * schedules vCPUs unfairly). */
static volatile uint32_t pt_next_ticket, pt_now_serving;
static unsigned long pt_lock(void)
{
	unsigned long f = arch_irq_save();
	uint32_t me = __atomic_fetch_add(&pt_next_ticket, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&pt_now_serving, __ATOMIC_ACQUIRE) != me)
		__asm__ volatile("pause");
	return f;
}
static void pt_unlock(unsigned long f)
{
	__atomic_store_n(&pt_now_serving, pt_now_serving + 1, __ATOMIC_RELEASE);
	arch_irq_restore(f);
}

uint64_t arch_kimage_to_phys(const void *va)
{
	return (uint64_t)(uintptr_t)va - KERNEL_VMA;
}

static uint64_t pt_alloc(void)
{
	uint64_t pa;
	if (early) {
		pa = early_next;
		early_next += PAGE_SIZE;
	} else {
		pa = pmm_alloc_page();
		if (!pa)
			return 0;
	}
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

uint64_t x86_early_alloc_end(void) { return early_next; }

static inline unsigned pt_index(uintptr_t va, int level)
{
	return (va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/* Walk from the root down to `leaf` (1 = PT entry, 2 = PD entry), creating
 * missing tables with `tflags` when `create`. NULL if a table is missing (and
 * !create), allocation failed, or a huge page is in the way. */
static uint64_t *pt_walk(uint64_t root_pa, uintptr_t va, int leaf, bool create, uint64_t tflags)
{
	uint64_t *table = phys_to_virt(root_pa);
	for (int level = (int)x86_paging_levels; level > leaf; level--) {
		uint64_t *e = &table[pt_index(va, level)];
		if (!(*e & PTE_P)) {
			if (!create)
				return NULL;
			uint64_t pa = pt_alloc();
			if (!pa)
				return NULL;
			*e = pa | tflags;
		} else if (*e & PTE_PS) {
			return NULL;
		}
		table = phys_to_virt(*e & PTE_ADDR);
	}
	return &table[pt_index(va, leaf)];
}

static bool canonical(uintptr_t va)
{
	int bits = x86_paging_levels == 5 ? 57 : 48;
	int64_t s = (int64_t)va;
	s = (s << (64 - bits)) >> (64 - bits);
	return (uintptr_t)s == va;
}

/* ---- boot ---------------------------------------------------------------- */

/*
 * Direct map: RW-, 2 MiB pages. The chunks that hold the kernel image's text
 * and rodata are mapped with 4 KiB pages instead so that their direct-map
 * alias is read-only too: otherwise a write through the alias could patch
 * kernel code and W^X would hold only for the image addresses.
 */
static void map_dmap_2m(uint64_t pa)
{
	uint64_t ro_lo = (uintptr_t)__text_start - KERNEL_VMA, ro_hi = (uintptr_t)__rodata_end - KERNEL_VMA;
	if (pa < ro_hi && pa + HUGE_PAGE_SIZE > ro_lo) {
		for (uint64_t p = pa; p < pa + HUGE_PAGE_SIZE; p += PAGE_SIZE) {
			uint64_t *pte = pt_walk(x86_kernel_root, dmap_target + p, 1, true, PTE_P | PTE_W);
			if (pte && !(*pte & PTE_P))
				*pte = p | PTE_P | PTE_G | PTE_A | PTE_NX |
				       ((p >= ro_lo && p < ro_hi) ? 0 : PTE_W | PTE_D);
		}
		return;
	}
	uint64_t *pde = pt_walk(x86_kernel_root, dmap_target + pa, 2, true, PTE_P | PTE_W);
	if (pde && !(*pde & PTE_P))
		*pde = pa | PTE_P | PTE_W | PTE_PS | PTE_G | PTE_A | PTE_D | PTE_NX;
}

uint64_t arch_kernel_pt_root(void)
{
	return x86_kernel_root;
}

/* Build the kernel's page tables with the boot identity map still live
 * (direct_map_base == 0, so phys_to_virt(pa) == pa), then switch to them. */
void x86_mmu_boot_begin(uint64_t kernel_end_pa)
{
	x86_paging_levels = boot_la57 ? 5 : 4;
	dmap_target = x86_paging_levels == 5 ? DIRECT_MAP_BASE_5L : DIRECT_MAP_BASE_4L;
	early_next = ALIGN_UP(kernel_end_pa, PAGE_SIZE);
	x86_kernel_root = pt_alloc();

	/* kernel image with 4 KiB pages: text R-X, rodata R--, data/bss RW- (W^X) */
	for (uintptr_t va = (uintptr_t)__kernel_start; va < (uintptr_t)__kernel_end; va += PAGE_SIZE) {
		uint64_t flags = PTE_P | PTE_G | PTE_A;
		if (va >= (uintptr_t)__text_start && va < (uintptr_t)__text_end)
			;                                   /* R-X */
		else if (va >= (uintptr_t)__rodata_start && va < (uintptr_t)__rodata_end)
			flags |= PTE_NX;                    /* R-- */
		else
			flags |= PTE_W | PTE_D | PTE_NX;    /* RW- */
		uint64_t *pte = pt_walk(x86_kernel_root, va, 1, true, PTE_P | PTE_W);
		*pte = (va - KERNEL_VMA) | flags;
	}
	/* vmap: create the path down to its PDPT so the top-level entry exists */
	pt_walk(x86_kernel_root, KERNEL_VMAP_BASE, 3, true, PTE_P | PTE_W);
}

/* Direct-map every 2 MiB chunk overlapping [base, base+size). */
void x86_mmu_boot_dmap(uint64_t base, uint64_t size)
{
	for (uint64_t pa = ALIGN_DOWN(base, HUGE_PAGE_SIZE); pa < base + size; pa += HUGE_PAGE_SIZE)
		map_dmap_2m(pa);
}

/* Map one 4 KiB MMIO page uncached (PCD|PWT: UC with the default PAT) at
 * direct_map_base + pa. Only during boot. */
uintptr_t x86_map_mmio(uint64_t pa)
{
	pa = ALIGN_DOWN(pa, PAGE_SIZE);
	uint64_t *pte = pt_walk(x86_kernel_root, dmap_target + pa, 1, true, PTE_P | PTE_W);
	if (pte)
		*pte = pa | PTE_P | PTE_W | PTE_PCD | PTE_PWT | PTE_G | PTE_NX;
	return dmap_target + pa;
}

void x86_mmu_boot_finish(void)
{
	/* make sure the top-level entries of the whole kernel half that user
	 * address spaces copy are final: direct map slot(s), vmap, image */
	write_cr3(x86_kernel_root);
	direct_map_base = dmap_target;
	early = false;
	write_cr4(read_cr4() | CR4_PGE);
	this_x86_cpu()->loaded_cr3 = x86_kernel_root;
}

/* ---- TLB shootdown ------------------------------------------------------- */

/*
 * Another CPU may cache a translation we change. x86 has no broadcast TLB
 * invalidation instruction, so the change is pushed with an IPI (SDM vol. 3,
 * 4.10.5 "Propagation of Paging-Structure Changes to Multiple Processors").
 *
 * We send it as an NMI: an NMI is delivered even while the target runs with
 * interrupts disabled (e.g. spinning on a lock the initiator holds), so the
 * initiator can wait for every acknowledgement without risking a deadlock.
 * For a user address space, only CPUs whose CR3 currently holds that root can
 * cache its entries (a CR3 load flushes all non-global entries, and user
 * entries are never global); kernel changes go to every online CPU.
 */
#define SHOOT_INVLPG 0
#define SHOOT_DROP   1
#define SHOOT_FULL   2      /* every entry, global ones included */
static volatile int shoot_lock_word;
static volatile uint64_t shoot_gen;
static volatile uintptr_t shoot_va;
static volatile uint64_t shoot_root;
static volatile int shoot_kind;

/* Toggling CR4.PGE invalidates every TLB entry, global ones included
 * (SDM vol. 3, 4.10.4.1). */
static void flush_all(void)
{
	uint64_t cr4 = read_cr4();
	write_cr4(cr4 & ~(uint64_t)CR4_PGE);
	write_cr4(cr4);
}

void x86_nmi_flush(struct x86_cpu *c)
{
	uint64_t gen = c->flush_req;
	if (gen == c->flush_ack)
		return;
	if (shoot_kind == SHOOT_DROP) {
		if (c->loaded_cr3 == shoot_root) {
			c->loaded_cr3 = x86_kernel_root;
			write_cr3(x86_kernel_root);
		}
	} else if (shoot_kind == SHOOT_FULL) {
		flush_all();
	} else {
		invlpg(shoot_va);
	}
	__atomic_store_n(&c->flush_ack, gen, __ATOMIC_RELEASE);
}

/* root == 0: a kernel mapping (every CPU). */
static void tlb_shootdown(uint64_t root, uintptr_t va, int kind)
{
	struct x86_cpu *self = this_x86_cpu();
	if (kind == SHOOT_INVLPG && (root == 0 || self->loaded_cr3 == root))
		invlpg(va);
	if (kind == SHOOT_FULL)
		flush_all();
	if (kind == SHOOT_DROP && self->loaded_cr3 == root) {
		self->loaded_cr3 = x86_kernel_root;
		write_cr3(x86_kernel_root);
	}
	/* the page-table store must be globally visible before we look at which
	 * CPUs have the root loaded (pairs with the fence in arch_aspace_switch) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	bool any = false;
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		struct x86_cpu *c = &x86_cpus[i];
		if (c != self && c->online && (root == 0 || c->loaded_cr3 == root))
			any = true;
	}
	if (!any)
		return;

	while (__atomic_exchange_n(&shoot_lock_word, 1, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
	uint64_t gen = ++shoot_gen;
	shoot_va = va;
	shoot_root = root;
	shoot_kind = kind;
	bool sent[MAX_CPUS] = { 0 };
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		struct x86_cpu *c = &x86_cpus[i];
		if (c == self || !c->online || (root != 0 && c->loaded_cr3 != root))
			continue;
		__atomic_store_n(&c->flush_req, gen, __ATOMIC_RELEASE);
		x86_apic_send_ipi(c->apic_id, 0x400);      /* delivery mode NMI */
		sent[i] = true;
	}
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		if (!sent[i])
			continue;
		/* bounded: a CPU stopped by a panic never answers */
		uint64_t t0 = arch_time_ns();
		bool warned = false;
		for (unsigned long n = 0; n < 200000000ul && x86_cpus[i].online; n++) {
			if (__atomic_load_n(&x86_cpus[i].flush_ack, __ATOMIC_ACQUIRE) >= gen)
				break;
			__asm__ volatile("pause");
			if (!warned && arch_time_ns() - t0 > 1000000000ull) {
				/* diagnostic only: an NMI is never masked for long,
				 * so this means the target is wedged */
				warned = true;
				x86_early_puts("x86_64: TLB shootdown: no answer from cpu ");
				x86_early_hex(i);
				x86_early_puts(" after 1 s\n");
			}
		}
	}
	__atomic_store_n(&shoot_lock_word, 0, __ATOMIC_RELEASE);
}

/* ---- address spaces ------------------------------------------------------ */

int arch_aspace_init(struct arch_aspace *as)
{
	unsigned long f = pt_lock();
	uint64_t pa = pt_alloc();
	pt_unlock(f);
	if (!pa)
		return -ENOMEM;
	uint64_t *n = phys_to_virt(pa), *k = phys_to_virt(x86_kernel_root);
	for (int i = 256; i < 512; i++)
		n[i] = k[i];
	as->root_pa = pa;
	as->asid = 0;
	return 0;
}

static void free_table(uint64_t pa, int level)
{
	if (level > 1) {
		uint64_t *t = phys_to_virt(pa);
		for (int i = 0; i < 512; i++)
			if ((t[i] & PTE_P) && !(t[i] & PTE_PS))
				free_table(t[i] & PTE_ADDR, level - 1);
	}
	pmm_free_page(pa);
}

void arch_aspace_destroy(struct arch_aspace *as)
{
	if (!as->root_pa)
		return;
	/* no CPU may keep walking (or caching paging-structure entries of) the
	 * tables we are about to free */
	tlb_shootdown(as->root_pa, 0, SHOOT_DROP);
	unsigned long f = pt_lock();
	uint64_t *t = phys_to_virt(as->root_pa);
	for (int i = 0; i < 256; i++)
		if (t[i] & PTE_P)
			free_table(t[i] & PTE_ADDR, (int)x86_paging_levels - 1);
	pt_unlock(f);
	pmm_free_page(as->root_pa);
	as->root_pa = 0;
}

void arch_aspace_switch(struct arch_aspace *as)
{
	uint64_t root = as ? as->root_pa : x86_kernel_root;
	struct x86_cpu *c = this_x86_cpu();
	if (c->loaded_cr3 == root)
		return;
	c->loaded_cr3 = root;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	write_cr3(root);
}

static uint64_t leaf_flags(unsigned prot)
{
	uint64_t f = PTE_P | PTE_A;
	if (prot & MMU_WRITE)
		f |= PTE_W | PTE_D;
	if (!(prot & MMU_EXEC))
		f |= PTE_NX;
	return f;
}

int arch_mmu_map(struct arch_aspace *as, uintptr_t va, uint64_t pa, unsigned prot)
{
	if (va < USER_BASE || va >= USER_TOP || (va & (PAGE_SIZE - 1)) || (pa & (PAGE_SIZE - 1)))
		return -EINVAL;
	if ((prot & MMU_WRITE) && (prot & MMU_EXEC))
		return -EINVAL;
	unsigned long f = pt_lock();
	int r = 0;
	uint64_t *pte = pt_walk(as->root_pa, va, 1, true, PTE_P | PTE_W | PTE_U);
	if (!pte)
		r = -ENOMEM;
	else if (*pte & PTE_P)
		r = -EEXIST;
	else
		*pte = pa | leaf_flags(prot) | ((prot & MMU_USER) ? PTE_U : 0);
	pt_unlock(f);
	return r;
}

int arch_mmu_unmap(struct arch_aspace *as, uintptr_t va, uint64_t *pa)
{
	if (va >= USER_TOP)
		return -ENOENT;
	unsigned long f = pt_lock();
	uint64_t *pte = pt_walk(as->root_pa, va & ~(uintptr_t)(PAGE_SIZE - 1), 1, false, 0);
	if (!pte || !(*pte & PTE_P)) {
		pt_unlock(f);
		return -ENOENT;
	}
	uint64_t old = *pte;
	*pte = 0;
	tlb_shootdown(as->root_pa, va, SHOOT_INVLPG);
	pt_unlock(f);
	if (pa)
		*pa = old & PTE_ADDR;
	return 0;
}

/* Software walk with the permission rules of SDM 4.6; handles 2 MiB and
 * 1 GiB leaves. Never faults: tables are read through the direct map. */
static bool query_root(uint64_t root_pa, uintptr_t va, uint64_t *pa, unsigned *prot)
{
	if (!canonical(va))
		return false;
	uint64_t *table = phys_to_virt(root_pa);
	bool w = true, u = true, x = true;
	for (int level = (int)x86_paging_levels; level >= 1; level--) {
		uint64_t e = table[pt_index(va, level)];
		if (!(e & PTE_P))
			return false;
		w = w && (e & PTE_W);
		u = u && (e & PTE_U);
		x = x && !(e & PTE_NX);
		if (level == 1 || (e & PTE_PS)) {
			uint64_t size = 1ull << (PAGE_SHIFT + 9 * (level - 1));
			if (level == 1)
				size = PAGE_SIZE;
			uint64_t base = e & PTE_ADDR & ~(size - 1);
			if (pa)
				*pa = base + (va & (size - 1));
			if (prot)
				*prot = MMU_READ | (w ? MMU_WRITE : 0) | (x ? MMU_EXEC : 0) | (u ? MMU_USER : 0);
			return true;
		}
		table = phys_to_virt(e & PTE_ADDR);
	}
	return false;
}

bool arch_mmu_query(struct arch_aspace *as, uintptr_t va, uint64_t *pa, unsigned *prot)
{
	return query_root(as ? as->root_pa : x86_kernel_root, va, pa, prot);
}

bool x86_kernel_va_mapped(uintptr_t va)
{
	if (!x86_kernel_root)
		return false;
	if (!direct_map_base)   /* still on the boot tables */
		return va >= KERNEL_VMA;
	return query_root(x86_kernel_root, va, NULL, NULL);
}

/*
 * Kernel vmap (kernel stacks). arch_kunmap flushes only the local TLB and
 * marks the region dirty; the next arch_kmap flushes every CPU completely
 * (one NMI round instead of one per unmapped page, and none on the thread
 * exit path). Until then another CPU may still hold a translation of the
 * unmapped page, but nothing may use a freed stack's addresses, and they are
 * only handed out again through arch_kmap, which flushes first.
 */
static bool vmap_dirty;

int arch_kmap(uintptr_t va, uint64_t pa, unsigned prot)
{
	if (va < KERNEL_VMAP_BASE || va - KERNEL_VMAP_BASE >= KERNEL_VMAP_SIZE ||
	    (va & (PAGE_SIZE - 1)) || (pa & (PAGE_SIZE - 1)) || (prot & MMU_USER))
		return -EINVAL;
	if ((prot & MMU_WRITE) && (prot & MMU_EXEC))
		return -EINVAL;
	unsigned long f = pt_lock();
	int r = 0;
	if (vmap_dirty) {
		/* some vmap page was unmapped since the last global flush: no
		 * CPU may keep a stale translation once the region is reused */
		vmap_dirty = false;
		tlb_shootdown(0, 0, SHOOT_FULL);
	}
	uint64_t *pte = pt_walk(x86_kernel_root, va, 1, true, PTE_P | PTE_W);
	if (!pte)
		r = -ENOMEM;
	else if (*pte & PTE_P)
		r = -EEXIST;
	else
		*pte = pa | leaf_flags(prot) | PTE_G;
	pt_unlock(f);
	return r;
}

int arch_kunmap(uintptr_t va, uint64_t *pa)
{
	if (va < KERNEL_VMAP_BASE || va - KERNEL_VMAP_BASE >= KERNEL_VMAP_SIZE)
		return -ENOENT;
	unsigned long f = pt_lock();
	uint64_t *pte = pt_walk(x86_kernel_root, va & ~(uintptr_t)(PAGE_SIZE - 1), 1, false, 0);
	if (!pte || !(*pte & PTE_P)) {
		pt_unlock(f);
		return -ENOENT;
	}
	uint64_t old = *pte;
	*pte = 0;
	invlpg(va);
	vmap_dirty = true;
	pt_unlock(f);
	if (pa)
		*pa = old & PTE_ADDR;
	return 0;
}

/*
 * a64.h — private declarations of the aarch64 port (never included by
 * generic code).
 */
#ifndef A64_H
#define A64_H

#include <stdint.h>
#include <stdbool.h>
#include <arch/arch.h>

/* ---- system registers ---- */
#define read_sysreg(r) ({ uint64_t __v; __asm__ volatile("mrs %0, " #r : "=r"(__v)); __v; })
#define write_sysreg(r, v) __asm__ volatile("msr " #r ", %0" :: "r"((uint64_t)(v)) : "memory")
#define isb() __asm__ volatile("isb" ::: "memory")
#define dsb(opt) __asm__ volatile("dsb " #opt ::: "memory")

/* ---- translation tables (Arm ARM D8.3 "Translation table descriptor formats") ---- */
#define GRANULE_SHIFT PAGE_SHIFT
#define PT_STRIDE (GRANULE_SHIFT - 3)             /* VA bits resolved per level */
#define PT_ENTRIES (1ul << PT_STRIDE)
/* Initial lookup level for a 48-bit VA (D8.2.6): 4K and 16K start at level 0,
 * 64K at level 1 (level 1 then resolves only VA[47:42]). */
#if GRANULE_SHIFT == 16
#define PT_START_LEVEL 1
#else
#define PT_START_LEVEL 0
#endif
#define PT_LEVEL_SHIFT(l) (GRANULE_SHIFT + (3 - (l)) * PT_STRIDE)
#define PT_INDEX(va, l) ((((va) & ((1ul << VA_BITS) - 1)) >> PT_LEVEL_SHIFT(l)) & (PT_ENTRIES - 1))
/* Block descriptors without FEAT_LPA: 4K at levels 1 (1 GiB) and 2 (2 MiB);
 * 16K at level 2 (32 MiB); 64K at level 2 (512 MiB). */
#if GRANULE_SHIFT == 12
#define PT_BLOCK_OK(l) ((l) == 1 || (l) == 2)
#else
#define PT_BLOCK_OK(l) ((l) == 2)
#endif

#define PTE_VALID (1ul << 0)
#define PTE_TABLE (1ul << 1)          /* table (levels 0-2) or page (level 3) */
#define PTE_PAGE (1ul << 1)
#define PTE_ATTR(i) ((uint64_t)(i) << 2)
#define PTE_ATTR_MASK (7ul << 2)
#define PTE_AP_EL0 (1ul << 6)         /* AP[1]: EL0 may access */
#define PTE_AP_RO (1ul << 7)          /* AP[2]: read-only */
#define PTE_SH_INNER (3ul << 8)
#define PTE_AF (1ul << 10)
#define PTE_NG (1ul << 11)
#define PTE_CONT (1ul << 52)
#define PTE_PXN (1ul << 53)
#define PTE_UXN (1ul << 54)
#define PTE_ADDR_MASK (((1ul << 48) - 1) & ~((1ul << GRANULE_SHIFT) - 1))

/* MAIR_EL1 attribute indexes (D8.5 "Memory region attributes"). */
#define MT_NORMAL 0                   /* 0xff: Normal, inner/outer write-back RW-allocate */
#define MT_DEVICE 1                   /* 0x00: Device-nGnRnE */
#define MT_NORMAL_NC 2                /* 0x44: Normal non-cacheable */
#define MAIR_VALUE 0x4400ffull

/* Kernel mapping kinds (all global, all UXN). */
#define KPROT_TEXT (PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_AP_RO | PTE_UXN)
#define KPROT_RO (PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_AP_RO | PTE_UXN | PTE_PXN)
#define KPROT_RW (PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_UXN | PTE_PXN)
#define KPROT_DEV (PTE_ATTR(MT_DEVICE) | PTE_AF | PTE_UXN | PTE_PXN)

/* ---- QEMU virt devices (physical) ---- */
#define VIRT_GICD_PA 0x08000000ul
#define VIRT_GICC_PA 0x08010000ul
#define VIRT_UART_PA 0x09000000ul

/* ---- boot state shared between early.c (MMU off) and the rest ---- */
struct a64_boot_regs {                /* loaded by entry.S to turn the MMU on */
	uint64_t mair, tcr;
	uint64_t ttbr0, ttbr1;        /* identity map, kernel root */
	uint64_t sctlr;
};
extern struct a64_boot_regs a64_boot_regs;

#define A64_MAX_MEM 16
struct a64_fdt_info {
	uint32_t totalsize;
	struct mem_region mem[A64_MAX_MEM];
	unsigned nmem;
	struct mem_region rsv[A64_MAX_MEM];
	unsigned nrsv;
	uint64_t cpu_mpidr[A64_MAX_CPUS];
	unsigned ncpus;
	bool psci_smc;                /* /psci method = "smc" (else "hvc") */
	char bootargs[BOOT_CMDLINE_MAX];
};
extern struct a64_fdt_info a64_fdt;
extern uint64_t a64_dtb_pa;
extern uint64_t a64_kernel_root;      /* PA of the TTBR1 root */
extern uint64_t a64_idmap_root;       /* PA of the boot identity map (TTBR0 while the MMU comes on) */
extern uint64_t a64_zero_root;        /* PA of an empty table: TTBR0 of the kernel-only space */
extern uint64_t a64_early_alloc_start, a64_early_alloc_end;  /* boot page-table pages */
extern bool a64_pt_mmu_on;            /* page tables reached through the direct map */
extern bool a64_tcr_as16;             /* 16-bit ASIDs */

/* pt.c: a generic mapper used at boot (MMU off) and afterwards. */
uint64_t *a64_pt_table(uint64_t pa);
int a64_pt_map_range(uint64_t root, uint64_t va, uint64_t pa, uint64_t size,
		     uint64_t attrs, bool blocks, uint64_t (*alloc)(void));
uint64_t *a64_pt_lookup(uint64_t root, uint64_t va, int *level);

/* entry.S */
extern char a64_vectors[];
void a64_secondary_entry(void);
void a64_thread_start(void);
void a64_ret_to_user(struct trapframe *tf) __attribute__((noreturn));
extern uint64_t a64_secondary_sp[A64_MAX_CPUS];

/* cpu.c */
long a64_psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
void a64_gic_init_dist(void);
void a64_gic_init_cpu(void);
void a64_uart_init(uintptr_t base);

#endif

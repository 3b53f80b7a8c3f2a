/*
 * early.c — the first C code: runs on the boot CPU with the MMU off, at the
 * physical load address, before the kernel is reachable at its link address.
 *
 * What makes that work: in the default (small) code model every reference
 * to a symbol is PC-relative (ADRP + ADD/LDR), and the kernel runs at
 * physical = virtual - KIMAGE_VOFFSET with KIMAGE_VOFFSET a multiple of
 * 4 KiB, so ADRP finds the physical copy. What must be avoided here:
 * pointers stored in initialised data (they hold higher-half addresses),
 * atomics (exclusives need Normal memory), and unaligned accesses (with
 * stage 1 off every data access is Device-nGnRnE, Arm ARM D8.2.12; arch.mk
 * builds with -mstrict-align).
 *
 * It parses the device tree (a minimal FDT reader: memory, /reserved-memory,
 * the memory reservation block, /chosen bootargs, /cpus reg, /psci method)
 * and builds the boot translation tables (Arm ARM D8):
 *
 *   TTBR1 (kernel root, shared by every address space)
 *     kernel image   KIMAGE_VBASE + (pa - RAM_BASE)  pages: text R-X,
 *                    rodata R--, data+bss RW- PXN; all UXN, global
 *     direct map     DIRECT_MAP_BASE + pa  every RAM range with the largest
 *                    blocks alignment allows; RW-, PXN, UXN
 *     MMIO           DIRECT_MAP_BASE + pa  GIC and PL011 pages, Device-nGnRnE
 *     KERNEL_VMAP    top-level entry pre-populated
 *   TTBR0 (boot only)
 *     identity map of the kernel text (R-X) for the instruction that turns
 *     the MMU on and the branch to the higher half
 *
 * The table pages are taken from the RAM just after the image (a bump
 * allocator; boot_main removes them from the usable memory).
 */
#include "a64.h"
#include <kernel.h>

extern char __kernel_start[], __text_start[], __text_end[], __rodata_start[],
	__rodata_end[], __data_start[], __kernel_end[];

struct a64_boot_regs a64_boot_regs;
struct a64_fdt_info a64_fdt;
uint64_t a64_dtb_pa;
uint64_t a64_kernel_root, a64_idmap_root, a64_zero_root;
uint64_t a64_early_alloc_start, a64_early_alloc_end;
bool a64_tcr_as16;
static uint64_t early_limit;

/* ---- console at the UART's physical address (MMU off only) ---- */

static void early_puts(const char *s)
{
	volatile uint32_t *u = (volatile uint32_t *)VIRT_UART_PA;
	for (; *s; s++) {
		while (u[0x18 / 4] & (1u << 5))  /* FR.TXFF */
			;
		u[0] = (uint8_t)*s;
	}
}

static __attribute__((noreturn)) void early_fail(const char *why)
{
	early_puts("axiom: early boot failed: ");
	early_puts(why);
	early_puts("\n");
	/* Power off (PSCI SYSTEM_OFF) so a test sees the message and QEMU exits. */
	a64_psci_call(0x84000008ul, 0, 0, 0);
	for (;;)
		__asm__ volatile("wfi");
}

/* ---- device tree (Devicetree Specification v0.4, chapter 5 "Flattened Devicetree") ---- */

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

static uint32_t be32(const void *p)
{
	const volatile uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t cells(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 32 | be32(p + 4 * i);
	return v;
}

static size_t e_strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static bool e_prefix(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return false;
	return true;
}

static bool e_streq(const char *a, const char *b)
{
	return e_prefix(a, b) && a[e_strlen(b)] == 0;
}

enum { N_OTHER, N_ROOT, N_MEMORY, N_CHOSEN, N_CPUS, N_CPU, N_PSCI, N_RESMEM, N_RESMEM_CHILD };

static void add_region(struct mem_region *r, unsigned *n, uint64_t base, uint64_t size)
{
	if (size && *n < A64_MAX_MEM) {
		r[*n].base = base;
		r[*n].size = size;
		(*n)++;
	}
}

static bool fdt_parse(uint64_t dtb)
{
	struct a64_fdt_info *fi = &a64_fdt;
	const uint8_t *f = (const uint8_t *)dtb;
	if (be32(f) != FDT_MAGIC)
		return false;
	fi->totalsize = be32(f + 4);
	const uint8_t *p = f + be32(f + 8);
	const char *strings = (const char *)f + be32(f + 12);

	/* Memory reservation block: (address, size) pairs of 64-bit big endian, ended by 0, 0. */
	for (const uint8_t *r = f + be32(f + 16);; r += 16) {
		uint64_t a = cells(r, 2), s = cells(r + 8, 2);
		if (!a && !s)
			break;
		add_region(fi->rsv, &fi->nrsv, a, s);
	}

	int kind[16];
	int depth = 0;
	unsigned root_ac = 2, root_sc = 1, cpus_ac = 1, rm_ac = 2, rm_sc = 1;
	kind[0] = N_OTHER;
	for (;;) {
		uint32_t tok = be32(p);
		p += 4;
		if (tok == FDT_BEGIN_NODE) {
			const char *name = (const char *)p;
			p += (e_strlen(name) + 4) & ~3ul;
			if (++depth >= 16)
				return false;
			int parent = kind[depth - 1], k = N_OTHER;
			if (depth == 1)
				k = N_ROOT;
			else if (depth == 2 && e_prefix(name, "memory"))
				k = N_MEMORY;
			else if (depth == 2 && e_streq(name, "chosen"))
				k = N_CHOSEN;
			else if (depth == 2 && e_streq(name, "cpus"))
				k = N_CPUS;
			else if (depth == 2 && e_streq(name, "psci"))
				k = N_PSCI;
			else if (depth == 2 && e_streq(name, "reserved-memory"))
				k = N_RESMEM;
			else if (parent == N_CPUS && e_prefix(name, "cpu@"))
				k = N_CPU;
			else if (parent == N_RESMEM)
				k = N_RESMEM_CHILD;
			kind[depth] = k;
		} else if (tok == FDT_END_NODE) {
			if (--depth < 0)
				return false;
		} else if (tok == FDT_PROP) {
			uint32_t len = be32(p);
			const char *pname = strings + be32(p + 4);
			const uint8_t *val = p + 8;
			p += 8 + ((len + 3) & ~3u);
			switch (kind[depth]) {
			case N_ROOT:
				if (e_streq(pname, "#address-cells"))
					root_ac = be32(val);
				else if (e_streq(pname, "#size-cells"))
					root_sc = be32(val);
				break;
			case N_MEMORY:
				if (e_streq(pname, "reg"))
					for (uint32_t o = 0; o + 4 * (root_ac + root_sc) <= len; o += 4 * (root_ac + root_sc))
						add_region(fi->mem, &fi->nmem, cells(val + o, root_ac),
							   cells(val + o + 4 * root_ac, root_sc));
				break;
			case N_CHOSEN:
				if (e_streq(pname, "bootargs")) {
					uint32_t i = 0;
					for (; i < len && i < BOOT_CMDLINE_MAX - 1 && val[i]; i++)
						fi->bootargs[i] = (char)val[i];
					fi->bootargs[i] = 0;
				}
				break;
			case N_CPUS:
				if (e_streq(pname, "#address-cells"))
					cpus_ac = be32(val);
				break;
			case N_CPU:
				if (e_streq(pname, "reg") && fi->ncpus < A64_MAX_CPUS)
					fi->cpu_mpidr[fi->ncpus++] = cells(val, cpus_ac);
				break;
			case N_PSCI:
				if (e_streq(pname, "method"))
					fi->psci_smc = e_streq((const char *)val, "smc");
				break;
			case N_RESMEM:
				if (e_streq(pname, "#address-cells"))
					rm_ac = be32(val);
				else if (e_streq(pname, "#size-cells"))
					rm_sc = be32(val);
				break;
			case N_RESMEM_CHILD:
				if (e_streq(pname, "reg"))
					for (uint32_t o = 0; o + 4 * (rm_ac + rm_sc) <= len; o += 4 * (rm_ac + rm_sc))
						add_region(fi->rsv, &fi->nrsv, cells(val + o, rm_ac),
							   cells(val + o + 4 * rm_ac, rm_sc));
				break;
			}
		} else if (tok == FDT_NOP) {
			continue;
		} else if (tok == FDT_END) {
			break;
		} else {
			return false;
		}
	}
	return true;
}

/* ---- boot page tables ---- */

/* A zeroed granule after the image (physical address; MMU off so also a pointer). */
static uint64_t early_alloc(void)
{
	uint64_t pa = a64_early_alloc_end;
	if (pa + PAGE_SIZE > early_limit)
		early_fail("no memory for the boot page tables");
	a64_early_alloc_end += PAGE_SIZE;
	volatile uint64_t *p = (volatile uint64_t *)pa;   /* volatile: no memset call */
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		p[i] = 0;
	return pa;
}

static void early_map(uint64_t root, uint64_t va, uint64_t pa, uint64_t size, uint64_t attrs, bool blocks)
{
	if (a64_pt_map_range(root, va, pa, size, attrs, blocks, early_alloc))
		early_fail("overlapping boot mappings");
}

void a64_early_init(uint64_t dtb)
{
	/* QEMU passes the DTB's address in x0; it sits at the start of RAM. */
	if (!dtb || (dtb & 7) || be32((const void *)dtb) != FDT_MAGIC)
		dtb = RAM_BASE_PA;
	a64_dtb_pa = dtb;
	if (!fdt_parse(dtb) || a64_fdt.nmem == 0)
		early_fail("no usable device tree");

	/* Symbols read PC-relative: these are physical addresses here. */
	uint64_t kstart = (uint64_t)__kernel_start, kend = (uint64_t)__kernel_end;
	uint64_t text = (uint64_t)__text_start, text_end = (uint64_t)__text_end;
	uint64_t ro = (uint64_t)__rodata_start, ro_end = (uint64_t)__rodata_end;
	uint64_t data = (uint64_t)__data_start;
	for (unsigned i = 0; i < a64_fdt.nmem; i++)
		if (kstart >= a64_fdt.mem[i].base && kstart < a64_fdt.mem[i].base + a64_fdt.mem[i].size)
			early_limit = a64_fdt.mem[i].base + a64_fdt.mem[i].size;
	if (!early_limit)
		early_fail("the kernel is not in RAM");
	a64_early_alloc_start = a64_early_alloc_end = ALIGN_UP(kend, PAGE_SIZE);

	/* Can this CPU use our granule? ID_AA64MMFR0_EL1.TGran4/16/64 (D19.2). */
	uint64_t mmfr0 = read_sysreg(id_aa64mmfr0_el1);
#if GRANULE_SHIFT == 12
	if (((mmfr0 >> 28) & 0xf) == 0xf)
		early_fail("the CPU has no 4 KiB granule");
#elif GRANULE_SHIFT == 14
	if (((mmfr0 >> 20) & 0xf) == 0)
		early_fail("the CPU has no 16 KiB granule (cortex-a72 lacks it; use -cpu max or cortex-a76)");
#else
	if (((mmfr0 >> 24) & 0xf) == 0xf)
		early_fail("the CPU has no 64 KiB granule");
#endif

	uint64_t root = early_alloc();
	early_map(root, text + KIMAGE_VOFFSET, text, text_end - text, KPROT_TEXT, false);
	early_map(root, ro + KIMAGE_VOFFSET, ro, ro_end - ro, KPROT_RO, false);
	early_map(root, data + KIMAGE_VOFFSET, data, ALIGN_UP(kend, PAGE_SIZE) - data, KPROT_RW, false);
	for (unsigned i = 0; i < a64_fdt.nmem; i++) {
		uint64_t b = ALIGN_UP(a64_fdt.mem[i].base, PAGE_SIZE);
		uint64_t e = ALIGN_DOWN(a64_fdt.mem[i].base + a64_fdt.mem[i].size, PAGE_SIZE);
		if (e > b)
			early_map(root, DIRECT_MAP_BASE + b, b, e - b, KPROT_RW, true);
	}
	/* GICv2 distributor + CPU interface (2 x 64 KiB) and the PL011. */
	early_map(root, DIRECT_MAP_BASE + VIRT_GICD_PA, VIRT_GICD_PA, ALIGN_UP(0x20000ul, PAGE_SIZE), KPROT_DEV, false);
	early_map(root, DIRECT_MAP_BASE + VIRT_UART_PA, VIRT_UART_PA, PAGE_SIZE, KPROT_DEV, false);
	/* KERNEL_VMAP: the top-level entry exists from now on (kernel stacks
	 * mapped later only fill tables below it). TTBR1 is shared by every
	 * address space anyway, so this only keeps allocation out of the hot path. */
	uint64_t *top = (uint64_t *)root;
	uint64_t *e = &top[PT_INDEX(KERNEL_VMAP_BASE, PT_START_LEVEL)];
	if (!(*e & PTE_VALID))
		*e = early_alloc() | PTE_VALID | PTE_TABLE;

	uint64_t idmap = early_alloc();
	early_map(idmap, text, text, text_end - text, KPROT_TEXT, true);

	a64_kernel_root = root;
	a64_idmap_root = idmap;
	a64_zero_root = early_alloc();

	/*
	 * TCR_EL1 (D19.2.139): T0SZ = T1SZ = 16 (48-bit halves), walks
	 * Inner/Outer write-back cacheable, Inner Shareable, TG0/TG1 = the
	 * granule (the two fields encode it differently), IPS = the CPU's
	 * physical address size (capped at 48 bits), AS = 16-bit ASIDs when
	 * implemented (ID_AA64MMFR0_EL1.ASIDBits), ASID taken from TTBR0 (A1=0).
	 */
	uint64_t ips = mmfr0 & 0xf;
	if (ips > 5)
		ips = 5;
	a64_tcr_as16 = ((mmfr0 >> 4) & 0xf) == 2;
#if GRANULE_SHIFT == 12
	uint64_t tg = (0ul << 14) | (2ul << 30);
#elif GRANULE_SHIFT == 14
	uint64_t tg = (2ul << 14) | (1ul << 30);
#else
	uint64_t tg = (1ul << 14) | (3ul << 30);
#endif
	uint64_t tcr = 16ul | (16ul << 16) | (1ul << 8) | (1ul << 10) | (3ul << 12) |
		       (1ul << 24) | (1ul << 26) | (3ul << 28) | tg | (ips << 32) |
		       ((a64_tcr_as16 ? 1ul : 0ul) << 36);
	/*
	 * SCTLR_EL1 (D19.2.118): RES1 bits of ARMv8.0 (0x30d00800), M (MMU),
	 * C and I (caches), SA and SA0 (stack alignment checks), WXN (a
	 * writable page is never executable: hardware W^X on top of ours),
	 * nTWI/nTWE (user WFI/WFE do not trap), UCT (user may read CTR_EL0).
	 */
	uint64_t sctlr = 0x30d00800ul | (1ul << 0) | (1ul << 2) | (1ul << 3) | (1ul << 4) |
			 (1ul << 12) | (1ul << 15) | (1ul << 16) | (1ul << 18) | (1ul << 19);
	a64_boot_regs.mair = MAIR_VALUE;
	a64_boot_regs.tcr = tcr;
	a64_boot_regs.ttbr0 = idmap;
	a64_boot_regs.ttbr1 = root;
	a64_boot_regs.sctlr = sctlr;
}

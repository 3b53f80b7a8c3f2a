/*
 * boot.c — riscv64 boot: page tables before paging, then the boot-protocol
 * layer that turns the device tree into a struct boot_info for kmain().
 *
 * rv_early_boot() runs with the MMU off at the physical load address
 * (entry.S). It may only use PC-relative references: globals are fine
 * (auipc-relative), pointers stored in initialised data are not (they hold
 * higher-half addresses). It parses the DTB, picks the paging mode and
 * builds the kernel page tables from a static pool in .bss:
 *
 *   kernel image   KERNEL_VIRT_BASE..   4 KiB pages, text R-X, rodata R--,
 *                                       data+bss RW- (W^X), global
 *   direct map     direct_map_base + pa every RAM range of the DTB, with
 *                                       1 GiB / 2 MiB pages, RW-, global
 *   UART           direct_map_base + pa one 2 MiB page of MMIO, RW-
 *   KERNEL_VMAP    tables down to the 2 MiB level pre-allocated so that
 *                                       every address space shares them
 *
 * The boot protocol layer (device tree -> boot_info) is rv_boot_main(); a
 * Limine path would be another function filling the same boot_info (see
 * docs/kernel.md).
 */
#include "rv.h"
#include "fdt.h"
#include <kernel.h>
#include <percpu.h>
#include <layout.h>

/* Linker-script symbols. */
extern char __kernel_start[], __text_start[], __text_end[], __rodata_start[],
	__rodata_end[], __data_start[], __kernel_end[];

#define BOOT_PT_PAGES 96

uintptr_t direct_map_base;
unsigned rv_levels;
uint64_t rv_satp_mode;
uint64_t rv_kernel_root;
uint64_t rv_satp;
uint64_t rv_timebase_hz;
uint64_t rv_hartids[MAX_CPUS];
unsigned rv_nharts;

uint8_t rv_boot_stacks[RV_MAX_HARTS * RV_BOOT_STACK_SIZE] __attribute__((aligned(16)));
static uint8_t boot_pt_pool[BOOT_PT_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static unsigned boot_pt_used;
static struct fdt_info boot_fdt;
static uint64_t boot_dtb_pa;
static const char *paging_name;

/* ---- before paging: physical addresses, PC-relative code only ---- */

/* Print on the UART at its physical address (only valid with the MMU off). */
static void early_puts(const char *s)
{
	volatile uint8_t *u = (volatile uint8_t *)0x10000000ul;
	while (*s) {
		while (!(u[5] & 0x20))
			;
		u[0] = (uint8_t)*s++;
	}
}

static void early_fail(const char *why)
{
	early_puts("axiom: early boot failed: ");
	early_puts(why);
	early_puts("\n");
	for (;;)
		__asm__ volatile("wfi");
}

/* Called from entry.S when writing satp did not turn paging on. */
void rv_paging_failed(void)
{
	early_fail("satp rejected the paging mode (try paging=sv39)");
}

/* A zeroed page-table page from the pool. Before paging, pa == pointer. */
static uint64_t *early_pt_alloc(void)
{
	if (boot_pt_used >= BOOT_PT_PAGES)
		early_fail("boot page-table pool exhausted");
	return (uint64_t *)boot_pt_pool[boot_pt_used++];   /* .bss is zero */
}

/* Map [va, va+size) -> pa with leaves of 4 KiB, 2 MiB or 1 GiB as alignment
 * allows (never larger than max_level's page). */
static void early_map(uint64_t *root, uintptr_t va, uint64_t pa, uint64_t size,
		      uint64_t flags, int max_level)
{
	while (size) {
		int level = max_level;
		for (; level > 0; level--) {
			uint64_t pgsz = 1ul << (12 + 9 * level);
			if (!(va & (pgsz - 1)) && !(pa & (pgsz - 1)) && size >= pgsz)
				break;
		}
		uint64_t *table = root;
		for (int l = (int)rv_levels - 1; l > level; l--) {
			uint64_t *pte = &table[vpn(va, l)];
			if (!(*pte & PTE_V)) {
				uint64_t *next = early_pt_alloc();
				*pte = pa_pte((uint64_t)next) | PTE_V;
			} else if (*pte & PTE_LEAF) {
				early_fail("overlapping boot mappings");
			}
			table = (uint64_t *)pte_pa(*pte);
		}
		table[vpn(va, level)] = pa_pte(pa) | flags | PTE_V | PTE_A | PTE_D | PTE_G;
		uint64_t pgsz = 1ul << (12 + 9 * level);
		va += pgsz;
		pa += pgsz;
		size -= pgsz;
	}
}

/* Is "paging=NAME" on the command line? */
static bool early_cmdline_has(const char *cmd, const char *opt)
{
	for (const char *p = cmd; *p; p++) {
		if (p != cmd && p[-1] != ' ')
			continue;
		const char *a = p, *b = opt;
		while (*b && *a == *b) {
			a++;
			b++;
		}
		if (!*b && (*a == 0 || *a == ' '))
			return true;
	}
	return false;
}

uint64_t rv_early_boot(uint64_t hartid, uint64_t dtb_pa)
{
	(void)hartid;
	boot_dtb_pa = dtb_pa;
	if (!fdt_parse((const void *)dtb_pa, &boot_fdt) || boot_fdt.nmem == 0)
		early_fail("no usable device tree");

	/* Paging mode: the build default, overridden by paging= at boot. */
#if defined(RV_SATP_DEFAULT_SV57)
	rv_levels = 5;
#elif defined(RV_SATP_DEFAULT_SV48)
	rv_levels = 4;
#else
	rv_levels = 3;
#endif
	if (early_cmdline_has(boot_fdt.bootargs, "paging=sv39"))
		rv_levels = 3;
	else if (early_cmdline_has(boot_fdt.bootargs, "paging=sv48"))
		rv_levels = 4;
	else if (early_cmdline_has(boot_fdt.bootargs, "paging=sv57"))
		rv_levels = 5;
	/*
	 * The direct map starts at the lowest address of the upper half of the
	 * chosen mode: bit (va_bits - 1) and everything above set.
	 */
	unsigned va_bits = 12 + 9 * rv_levels;
	direct_map_base = ~0ul << (va_bits - 1);
	rv_satp_mode = rv_levels == 3 ? SATP_MODE_SV39 : rv_levels == 4 ? SATP_MODE_SV48 : SATP_MODE_SV57;

	uint64_t *root = early_pt_alloc();

	/* The kernel image, section by section. Addresses here are physical. */
	uint64_t text = (uint64_t)__text_start, text_end = (uint64_t)__text_end;
	uint64_t ro = (uint64_t)__rodata_start, ro_end = (uint64_t)__rodata_end;
	uint64_t data = (uint64_t)__data_start, kend = ALIGN_UP((uint64_t)__kernel_end, PAGE_SIZE);
	early_map(root, text + KERNEL_VIRT_OFFSET, text, text_end - text, PTE_R | PTE_X, 0);
	early_map(root, ro + KERNEL_VIRT_OFFSET, ro, ro_end - ro, PTE_R, 0);
	early_map(root, data + KERNEL_VIRT_OFFSET, data, kend - data, PTE_R | PTE_W, 0);

	/* The direct map of RAM, 2 MiB granular (RAM is 2 MiB aligned on virt). */
	for (unsigned i = 0; i < boot_fdt.nmem; i++) {
		uint64_t b = ALIGN_DOWN(boot_fdt.mem[i].base, 1ul << 21);
		uint64_t e = ALIGN_UP(boot_fdt.mem[i].base + boot_fdt.mem[i].size, 1ul << 21);
		early_map(root, direct_map_base + b, b, e - b, PTE_R | PTE_W, 2);
	}
	/* The UART's MMIO, in the direct map too (no RAM overlaps it). */
	uint64_t uart = boot_fdt.uart_pa ? boot_fdt.uart_pa : 0x10000000ul;
	early_map(root, direct_map_base + ALIGN_DOWN(uart, 1ul << 21), ALIGN_DOWN(uart, 1ul << 21),
		  1ul << 21, PTE_R | PTE_W, 1);

	/*
	 * KERNEL_VMAP: create the table chain down to the table whose entries
	 * map 2 MiB (one such table spans the whole 1 GiB region). Those
	 * tables are reached from the kernel half of the root, which every
	 * user address space copies, so kernel stacks mapped later appear in
	 * every address space at once.
	 */
	uint64_t *t = root;
	for (int l = (int)rv_levels - 1; l >= 1; l--) {
		uint64_t *pte = &t[vpn(KERNEL_VMAP_BASE, l)];
		if (!(*pte & PTE_V))
			*pte = pa_pte((uint64_t)early_pt_alloc()) | PTE_V;
		t = (uint64_t *)pte_pa(*pte);
	}

	rv_kernel_root = (uint64_t)root;
	rv_satp = (rv_satp_mode << SATP_MODE_SHIFT) | (rv_kernel_root >> 12);
	return rv_satp;
}

/* ---- after paging: the higher half ---- */

uint64_t arch_kimage_to_phys(const void *va)
{
	return (uint64_t)(uintptr_t)va - KERNEL_VIRT_OFFSET;
}

const char *arch_paging_mode(void)
{
	return paging_name;
}

/* Remove [rb, re) from the usable list (splitting a region if needed). */
static void usable_remove(struct boot_info *bi, uint64_t rb, uint64_t re)
{
	for (unsigned i = 0; i < bi->nusable; i++) {
		uint64_t b = bi->usable[i].base, e = b + bi->usable[i].size;
		if (re <= b || rb >= e)
			continue;
		if (rb <= b && re >= e) {               /* whole region goes */
			bi->usable[i] = bi->usable[--bi->nusable];
			i--;
		} else if (rb <= b) {                   /* head goes */
			bi->usable[i].base = re;
			bi->usable[i].size = e - re;
		} else if (re >= e) {                   /* tail goes */
			bi->usable[i].size = rb - b;
		} else if (bi->nusable < BOOT_MAX_REGIONS) { /* split */
			bi->usable[i].size = rb - b;
			bi->usable[bi->nusable].base = re;
			bi->usable[bi->nusable].size = e - re;
			bi->nusable++;
		} else {
			bi->usable[i].size = rb - b;    /* no room: lose the tail */
		}
	}
}

static struct boot_info boot_info;

void rv_boot_main(uint64_t hartid, uint64_t dtb_pa)
{
	struct boot_info *bi = &boot_info;

	rv_uart_init(boot_fdt.uart_pa ? boot_fdt.uart_pa : 0x10000000ul);
	paging_name = rv_levels == 3 ? "sv39" : rv_levels == 4 ? "sv48" : "sv57";
	rv_timebase_hz = boot_fdt.timebase_hz ? boot_fdt.timebase_hz : 10000000;

	/* Harts: the boot hart is CPU 0, the others follow in tree order. */
	rv_hartids[0] = hartid;
	rv_nharts = 1;
	for (unsigned i = 0; i < boot_fdt.nharts && rv_nharts < MAX_CPUS; i++)
		if (boot_fdt.harts[i] != hartid)
			rv_hartids[rv_nharts++] = boot_fdt.harts[i];

	memset(bi, 0, sizeof(*bi));
	bi->protocol = "dtb";
	bi->ncpus = boot_fdt.nharts ? boot_fdt.nharts : 1;
	strlcpy(bi->cmdline, boot_fdt.bootargs, sizeof(bi->cmdline));
	for (unsigned i = 0; i < boot_fdt.nmem && i < BOOT_MAX_REGIONS; i++) {
		bi->usable[bi->nusable].base = ALIGN_UP(boot_fdt.mem[i].base, PAGE_SIZE);
		bi->usable[bi->nusable].size = ALIGN_DOWN(boot_fdt.mem[i].base + boot_fdt.mem[i].size,
							  PAGE_SIZE) - bi->usable[bi->nusable].base;
		uint64_t top = boot_fdt.mem[i].base + boot_fdt.mem[i].size;
		if (top > bi->ram_top)
			bi->ram_top = top;
		bi->nusable++;
	}
	/* Firmware (OpenSBI lives below us and is listed in /reserved-memory). */
	for (unsigned i = 0; i < boot_fdt.nrsv; i++)
		usable_remove(bi, ALIGN_DOWN(boot_fdt.rsv[i].base, PAGE_SIZE),
			      ALIGN_UP(boot_fdt.rsv[i].base + boot_fdt.rsv[i].size, PAGE_SIZE));
	/* Everything below the kernel in the first RAM region is firmware too. */
	usable_remove(bi, 0, KERNEL_PHYS_BASE);
	/* The kernel image (including .bss with the boot page tables and stacks). */
	usable_remove(bi, arch_kimage_to_phys(__kernel_start),
		      ALIGN_UP(arch_kimage_to_phys(__kernel_end), PAGE_SIZE));
	/* The device tree (we keep it: /proc may want it later). */
	usable_remove(bi, ALIGN_DOWN(dtb_pa, PAGE_SIZE),
		      ALIGN_UP(dtb_pa + boot_fdt.totalsize, PAGE_SIZE));

	kmain(bi);
}

/* Secondary harts arrive here from entry.S with paging on. */
static volatile unsigned harts_arrived;

void rv_secondary_main(uint64_t cpu)
{
	__atomic_fetch_add(&harts_arrived, 1, __ATOMIC_RELEASE);
	kmain_secondary((unsigned)cpu);
}

unsigned arch_smp_start(unsigned max_cpus)
{
	unsigned started = 1;
	uint64_t entry_pa = arch_kimage_to_phys(rv_secondary_entry);

	for (unsigned cpu = 1; cpu < rv_nharts && cpu < max_cpus; cpu++) {
		long err = sbi_hart_start(rv_hartids[cpu], entry_pa, cpu);
		if (err) {
			kprintf("smp: hart %lu did not start (sbi error %ld)", rv_hartids[cpu], err);
			break;
		}
		started++;
		/* Wait for it, so CPU numbers stay dense even if one fails. */
		uint64_t deadline = arch_time_ns() + 1000000000ull;
		while (__atomic_load_n(&harts_arrived, __ATOMIC_ACQUIRE) < started - 1) {
			if (arch_time_ns() > deadline) {
				kprintf("smp: hart %lu did not arrive", rv_hartids[cpu]);
				return started - 1;
			}
		}
	}
	return started;
}

/* layout.h hook: the kernel root table for post-mortem tools. */
uint64_t arch_kernel_pt_root(void)
{
	return rv_kernel_root;
}

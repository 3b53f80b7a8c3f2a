/*
 * boot.c — the boot-protocol layer (PVH) and the boot CPU's bring-up in C.
 *
 * boot.S enters x86_boot_main in 64-bit mode on the boot page tables (first
 * 4 GiB identity-mapped, kernel image at KERNEL_VMA). Everything that depends
 * on the boot protocol is in the first half of this file: reading struct
 * hvm_start_info into struct boot_info. A Limine (or multiboot2) path would
 * add another reader that fills the same struct and reuse x86_boot_common();
 * nothing else in the port knows about PVH.
 */
#include <arch/arch.h>
#include <asm/x86.h>
#include <kernel.h>

extern char __kernel_start[], __kernel_end[];

/* xen/include/public/arch-x86/hvm/start_info.h */
#define HVM_START_MAGIC 0x336ec578
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;      /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};
struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;              /* E820 types: 1 RAM, 2 reserved, 3 ACPI, 4 NVS */
	uint32_t reserved;
};

#define MAX_MEMMAP 64
static struct hvm_memmap_entry memmap[MAX_MEMMAP];
static unsigned nmemmap;
static uint64_t rsdp_pa;
static struct boot_info bi;

/* ---- protocol layer: PVH -------------------------------------------------- */

static void pvh_read(uint32_t si_pa)
{
	/* identity map: physical == virtual here (direct_map_base is still 0) */
	const struct hvm_start_info *si = phys_to_virt(si_pa);
	if (si->magic != HVM_START_MAGIC) {
		x86_early_puts("x86_64: bad hvm_start_info magic\n");
		return;
	}
	bi.protocol = "pvh";
	if (si->cmdline_paddr)
		strlcpy(bi.cmdline, phys_to_virt(si->cmdline_paddr), sizeof(bi.cmdline));
	rsdp_pa = si->rsdp_paddr;
	if (si->version >= 1 && si->memmap_paddr) {
		const struct hvm_memmap_entry *m = phys_to_virt(si->memmap_paddr);
		for (unsigned i = 0; i < si->memmap_entries && nmemmap < MAX_MEMMAP; i++)
			memmap[nmemmap++] = m[i];
	}
}

/* ---- generic part ---------------------------------------------------------- */

static void add_usable(uint64_t base, uint64_t end)
{
	base = ALIGN_UP(base, PAGE_SIZE);
	end = ALIGN_DOWN(end, PAGE_SIZE);
	if (end <= base || bi.nusable >= BOOT_MAX_REGIONS)
		return;
	bi.usable[bi.nusable].base = base;
	bi.usable[bi.nusable].size = end - base;
	bi.nusable++;
}

/* RAM [base,end) minus the reserved ranges (sorted, disjoint) */
static void add_ram(uint64_t base, uint64_t end, const uint64_t (*rsv)[2], int nrsv)
{
	for (int i = 0; i < nrsv && base < end; i++) {
		if (rsv[i][1] <= base || rsv[i][0] >= end)
			continue;
		if (rsv[i][0] > base)
			add_usable(base, rsv[i][0]);
		base = rsv[i][1];
	}
	if (base < end)
		add_usable(base, end);
}

static __noreturn void x86_boot_common(void)
{
	uint64_t kstart = arch_kimage_to_phys(__kernel_start);
	uint64_t kend = arch_kimage_to_phys(__kernel_end);

	if (nmemmap == 0) {
		/* no memory map (start info version 0): assume the 128 MiB every
		 * PC-compatible QEMU machine has at least */
		x86_early_puts("x86_64: no memory map, assuming 128 MiB of RAM\n");
		memmap[0] = (struct hvm_memmap_entry){ .addr = 0x100000, .size = 0x7f00000, .type = 1 };
		nmemmap = 1;
	}
	x86_acpi_init(rsdp_pa);          /* needs the identity map */

	x86_mmu_boot_begin(kend);
	x86_mmu_boot_dmap(0, HUGE_PAGE_SIZE);   /* BIOS area, trampoline page */
	for (unsigned i = 0; i < nmemmap; i++) {
		const struct hvm_memmap_entry *m = &memmap[i];
		if (m->type == 1 || m->type == 3 || m->type == 4) {
			x86_mmu_boot_dmap(m->addr, m->size);
			if (m->type == 1 && m->addr + m->size > bi.ram_top)
				bi.ram_top = m->addr + m->size;
		}
	}
	x86_apic_map();
	x86_mmu_boot_finish();          /* CR3 = kernel tables; identity map gone */

	/* usable RAM: everything the firmware calls RAM except the first MiB
	 * (real-mode IVT, BIOS data, the AP trampoline), the kernel image and the
	 * page tables built above */
	const uint64_t rsv[2][2] = {
		{ 0, 0x100000 },
		{ kstart, x86_early_alloc_end() },
	};
	for (unsigned i = 0; i < nmemmap; i++)
		if (memmap[i].type == 1)
			add_ram(memmap[i].addr, memmap[i].addr + memmap[i].size, rsv, 2);

	x86_apic_init_bsp();
	x86_cpus[0].apic_id = x86_apic_id();
	x86_cpus[0].online = 1;
	bi.ncpus = x86_ncpus ? x86_ncpus : 1;
	kmain(&bi);
}

__attribute__((noreturn)) void x86_boot_main(uint32_t start_info_pa);

void x86_boot_main(uint32_t start_info_pa)
{
	x86_uart_init();
	x86_cpus[0].id = 0;
	x86_cpu_init(&x86_cpus[0]);      /* GDT, TSS, IDT, GS base, syscall MSRs */
	bi.protocol = "none";
	pvh_read(start_info_pa);
	x86_boot_common();
}

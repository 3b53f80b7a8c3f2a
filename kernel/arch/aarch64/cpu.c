/*
 * cpu.c — aarch64 boot protocol layer (device tree -> struct boot_info),
 * console (PL011), GICv2, generic timer, PSCI (SMP, power off), per-CPU
 * register, interrupts masking, halting.
 */
#include "a64.h"
#include <kernel.h>
#include <percpu.h>
#include <panic.h>
#include <layout.h>

extern char __kernel_start[], __kernel_end[];
extern uint8_t a64_boot_stacks[];

/* ------------------------------------------------------------------------ */
/* PL011 UART (ARM PrimeCell UART TRM, DDI 0183): polled                    */
/* ------------------------------------------------------------------------ */

#define UART_DR 0x00
#define UART_FR 0x18
#define UART_FR_RXFE (1u << 4)
#define UART_FR_TXFF (1u << 5)
#define UART_LCR_H 0x2c
#define UART_LCR_H_FEN (1u << 4)        /* FIFO enable */
#define UART_LCR_H_WLEN8 (3u << 5)      /* 8 data bits */
#define UART_CR 0x30
#define UART_IMSC 0x38

static volatile uint32_t *uart = (volatile uint32_t *)0;

void a64_uart_init(uintptr_t base)
{
	uart = (volatile uint32_t *)base;
	uart[UART_IMSC / 4] = 0;                 /* polled: no UART interrupts */
	/*
	 * Input is polled from the timer tick. Without the FIFO the PL011 holds
	 * one received byte, so pasted input (a program for `bpftool prog run`)
	 * arrives at one byte per tick; with the 16-byte FIFO on, QEMU delivers
	 * up to 16 per tick. The TRM asks for LCR_H to change only while the
	 * UART is disabled.
	 */
	uart[UART_CR / 4] = 0;
	uart[UART_LCR_H / 4] = UART_LCR_H_WLEN8 | UART_LCR_H_FEN;
	uart[UART_CR / 4] = 0x301;               /* UARTEN | TXE | RXE */
}

void arch_console_putc(char c)
{
	if (!uart)
		return;
	while (uart[UART_FR / 4] & UART_FR_TXFF)
		;
	uart[UART_DR / 4] = (uint8_t)c;
}

int arch_console_getc(void)
{
	if (!uart || (uart[UART_FR / 4] & UART_FR_RXFE))
		return -1;
	return (int)(uart[UART_DR / 4] & 0xff);
}

/* ------------------------------------------------------------------------ */
/* Interrupt masking: PSTATE.I (Arm ARM D1.7 "Process state, PSTATE")       */
/* ------------------------------------------------------------------------ */

#define DAIF_I (1ul << 7)

unsigned long arch_irq_save(void)
{
	unsigned long daif = read_sysreg(daif);
	__asm__ volatile("msr daifset, #2" ::: "memory");
	return daif;
}

void arch_irq_restore(unsigned long flags)
{
	if (!(flags & DAIF_I))
		__asm__ volatile("msr daifclr, #2" ::: "memory");
}

void arch_irq_enable(void) { __asm__ volatile("msr daifclr, #2" ::: "memory"); }
void arch_irq_disable(void) { __asm__ volatile("msr daifset, #2" ::: "memory"); }

void arch_wait_for_interrupt(void)
{
	/* WFI wakes on a pending interrupt even while PSTATE.I masks it
	 * (D1.16.2), so mask, wait, then unmask to take it: no lost wakeup. */
	__asm__ volatile("msr daifset, #2\n\tdsb sy\n\twfi\n\tmsr daifclr, #2" ::: "memory");
}

/* ------------------------------------------------------------------------ */
/* GICv2 (ARM IHI 0048B): distributor and CPU interface on QEMU virt        */
/* ------------------------------------------------------------------------ */

#define GICD_CTLR 0x000
#define GICD_ISENABLER(n) (0x100 + 4 * (n))
#define GICD_IPRIORITYR(n) (0x400 + (n))
#define GICD_SGIR 0xf00
#define GICC_CTLR 0x000
#define GICC_PMR 0x004
#define GICC_IAR 0x00c
#define GICC_EOIR 0x010

#define IRQ_SGI_STOP 1                /* "stop" IPI (panic) */
#define IRQ_VTIMER 27                 /* EL1 virtual timer PPI (virt: PPI 11 = INTID 27) */

static volatile uint8_t *gicd, *gicc;

static inline void mmio_w32(volatile uint8_t *base, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(base + off) = v;
}

static inline uint32_t mmio_r32(volatile uint8_t *base, unsigned off)
{
	return *(volatile uint32_t *)(base + off);
}

void a64_gic_init_dist(void)
{
	gicd = (volatile uint8_t *)phys_to_virt(VIRT_GICD_PA);
	gicc = (volatile uint8_t *)phys_to_virt(VIRT_GICC_PA);
	mmio_w32(gicd, GICD_CTLR, 1);            /* forward group 0 interrupts */
}

/* Per-CPU part: SGIs and PPIs are banked per CPU in the distributor. */
void a64_gic_init_cpu(void)
{
	gicd[GICD_IPRIORITYR(IRQ_VTIMER)] = 0x80;
	gicd[GICD_IPRIORITYR(IRQ_SGI_STOP)] = 0x40;
	mmio_w32(gicd, GICD_ISENABLER(0), (1u << IRQ_VTIMER) | (1u << IRQ_SGI_STOP));
	mmio_w32(gicc, GICC_PMR, 0xf0);          /* let every priority above 0xf0 through */
	mmio_w32(gicc, GICC_CTLR, 1);
}

/* ------------------------------------------------------------------------ */
/* Generic timer (Arm ARM D11): CNTVCT_EL0 counts at CNTFRQ_EL0 on all CPUs */
/* ------------------------------------------------------------------------ */

static uint64_t timer_interval[A64_MAX_CPUS];

static unsigned hw_index(void)
{
	return (unsigned)(read_sysreg(mpidr_el1) & 0xff) % A64_MAX_CPUS;
}

void arch_timer_init(unsigned hz)
{
	uint64_t frq = read_sysreg(cntfrq_el0);
	uint64_t iv = frq / (hz ? hz : 100);
	timer_interval[hw_index()] = iv;
	write_sysreg(cntv_tval_el0, iv);
	write_sysreg(cntv_ctl_el0, 1);           /* ENABLE, IMASK = 0 */
	isb();
}

uint64_t arch_time_ns(void)
{
	isb();                                   /* no early counter read (D11.2.2) */
	uint64_t t = read_sysreg(cntvct_el0);
	uint64_t hz = read_sysreg(cntfrq_el0);
	if (!hz)
		hz = 62500000;
	return (t / hz) * 1000000000ull + (t % hz) * 1000000000ull / hz;
}

/* IRQ from EL1 or EL0 (entry.S). */
void a64_irq(struct trapframe *tf)
{
	uint32_t iar = mmio_r32(gicc, GICC_IAR);
	uint32_t id = iar & 0x3ff;

	if (id == 1023)                          /* spurious */
		return;
	/* End the interrupt before the handler: timer_interrupt may switch
	 * threads and only come back much later. */
	mmio_w32(gicc, GICC_EOIR, iar);
	if (id == IRQ_VTIMER) {
		/* Next deadline relative to the old one (no drift). */
		uint64_t iv = timer_interval[hw_index()];
		uint64_t cval = read_sysreg(cntv_cval_el0) + iv;
		uint64_t now = read_sysreg(cntvct_el0);
		if (cval <= now)
			cval = now + iv;
		write_sysreg(cntv_cval_el0, cval);
		isb();
		timer_interrupt(tf);
	} else if (id == IRQ_SGI_STOP) {
		if (panic_in_progress)
			panic_stop_this_cpu();
	}
}

void a64_el0_irq(struct trapframe *tf)
{
	a64_irq(tf);
	trap_exit_to_user(tf);
}

/* ------------------------------------------------------------------------ */
/* PSCI (Arm DEN 0022): CPU_ON, SYSTEM_OFF through HVC or SMC per the DTB   */
/* ------------------------------------------------------------------------ */

#define PSCI_CPU_ON 0xc4000003ul
#define PSCI_SYSTEM_OFF 0x84000008ul

long a64_psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;
	/* SMC Calling Convention v1.0: x4-x17 may be clobbered. */
	if (a64_fdt.psci_smc)
		__asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : :
				 "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
				 "x14", "x15", "x16", "x17", "memory");
	else
		__asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : :
				 "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
				 "x14", "x15", "x16", "x17", "memory");
	return (long)x0;
}

void arch_poweroff(void)
{
	a64_psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
	arch_halt_cpu();
}

void arch_halt_cpu(void)
{
	__asm__ volatile("msr daifset, #0xf" ::: "memory");
	for (;;)
		__asm__ volatile("wfi");
}

/* Send the stop SGI to every CPU but this one (GICD_SGIR TargetListFilter = 0b01). */
void arch_halt_others(void)
{
	if (!gicd)
		return;
	dsb(ish);
	mmio_w32(gicd, GICD_SGIR, (1u << 24) | IRQ_SGI_STOP);
}

/* ------------------------------------------------------------------------ */
/* Per-CPU data: TPIDR_EL1 holds this CPU's struct cpu                      */
/* ------------------------------------------------------------------------ */

static uint8_t emerg_stacks[A64_MAX_CPUS][A64_EMERG_STACK_SIZE] __attribute__((aligned(16)));

void arch_set_cpu_local(struct cpu *c)
{
	unsigned i = (c >= cpus && c < cpus + MAX_CPUS) ? (unsigned)(c - cpus) : 0;
	c->arch_scratch[CPU_EMERG_TOP / 8] = (uintptr_t)emerg_stacks[i % A64_MAX_CPUS] + A64_EMERG_STACK_SIZE;
	write_sysreg(tpidr_el1, c);
}

struct cpu *arch_cpu_local(void)
{
	return (struct cpu *)read_sysreg(tpidr_el1);
}

/* Kernel stack top for exceptions from EL0 (used by arch_enter_user, entry.S). */
void arch_set_kernel_stack(uintptr_t top)
{
	struct cpu *c = arch_cpu_local();
	c->arch_scratch[CPU_KSTACK_TOP / 8] = top;
}

/* ------------------------------------------------------------------------ */
/* Boot protocol layer: device tree -> boot_info                            */
/* ------------------------------------------------------------------------ */

static struct boot_info boot_info;
static uint64_t cpu_mpidr[A64_MAX_CPUS];
static unsigned ncpu_mpidr;
uint64_t a64_secondary_sp[A64_MAX_CPUS];
static volatile unsigned cpus_arrived;

#define MPIDR_AFF_MASK 0xff00fffffful

/* Remove [rb, re) from the usable list (splitting a region if needed). */
static void usable_remove(struct boot_info *bi, uint64_t rb, uint64_t re)
{
	for (unsigned i = 0; i < bi->nusable; i++) {
		uint64_t b = bi->usable[i].base, e = b + bi->usable[i].size;
		if (re <= b || rb >= e)
			continue;
		if (rb <= b && re >= e) {
			bi->usable[i] = bi->usable[--bi->nusable];
			i--;
		} else if (rb <= b) {
			bi->usable[i].base = re;
			bi->usable[i].size = e - re;
		} else if (re >= e) {
			bi->usable[i].size = rb - b;
		} else if (bi->nusable < BOOT_MAX_REGIONS) {
			bi->usable[i].size = rb - b;
			bi->usable[bi->nusable].base = re;
			bi->usable[bi->nusable].size = e - re;
			bi->nusable++;
		} else {
			bi->usable[i].size = rb - b;
		}
	}
}

static void drop_identity_map(void)
{
	write_sysreg(ttbr0_el1, a64_zero_root);
	isb();
	__asm__ volatile("tlbi vmalle1\n\tdsb nsh\n\tisb" ::: "memory");
}

/* The boot CPU arrives here from entry.S: MMU on, higher half, boot stack. */
void a64_boot_main(void)
{
	struct boot_info *bi = &boot_info;

	write_sysreg(tpidr_el1, 0);
	a64_pt_mmu_on = true;
	a64_uart_init((uintptr_t)phys_to_virt(VIRT_UART_PA));
	drop_identity_map();

	/* CPUs: the boot CPU is 0, the others follow in device-tree order. */
	uint64_t me = read_sysreg(mpidr_el1) & MPIDR_AFF_MASK;
	cpu_mpidr[ncpu_mpidr++] = me;
	for (unsigned i = 0; i < a64_fdt.ncpus && ncpu_mpidr < A64_MAX_CPUS; i++)
		if ((a64_fdt.cpu_mpidr[i] & MPIDR_AFF_MASK) != me)
			cpu_mpidr[ncpu_mpidr++] = a64_fdt.cpu_mpidr[i];

	memset(bi, 0, sizeof(*bi));
	bi->protocol = "dtb";
	bi->ncpus = a64_fdt.ncpus ? a64_fdt.ncpus : 1;
	strlcpy(bi->cmdline, a64_fdt.bootargs, sizeof(bi->cmdline));
	for (unsigned i = 0; i < a64_fdt.nmem && bi->nusable < BOOT_MAX_REGIONS; i++) {
		uint64_t b = ALIGN_UP(a64_fdt.mem[i].base, PAGE_SIZE);
		uint64_t e = ALIGN_DOWN(a64_fdt.mem[i].base + a64_fdt.mem[i].size, PAGE_SIZE);
		if (e > b) {
			bi->usable[bi->nusable].base = b;
			bi->usable[bi->nusable].size = e - b;
			bi->nusable++;
		}
		if (a64_fdt.mem[i].base + a64_fdt.mem[i].size > bi->ram_top)
			bi->ram_top = a64_fdt.mem[i].base + a64_fdt.mem[i].size;
	}
	for (unsigned i = 0; i < a64_fdt.nrsv; i++)
		usable_remove(bi, ALIGN_DOWN(a64_fdt.rsv[i].base, PAGE_SIZE),
			      ALIGN_UP(a64_fdt.rsv[i].base + a64_fdt.rsv[i].size, PAGE_SIZE));
	/* The device tree (kept), and the image with the boot page tables after it. */
	usable_remove(bi, ALIGN_DOWN(a64_dtb_pa, PAGE_SIZE),
		      ALIGN_UP(a64_dtb_pa + a64_fdt.totalsize, PAGE_SIZE));
	usable_remove(bi, arch_kimage_to_phys(__kernel_start), a64_early_alloc_end);

	a64_gic_init_dist();
	a64_gic_init_cpu();
	kmain(bi);
}

void a64_secondary_main(uint64_t cpu)
{
	write_sysreg(tpidr_el1, 0);
	drop_identity_map();
	a64_gic_init_cpu();
	__atomic_fetch_add(&cpus_arrived, 1, __ATOMIC_RELEASE);
	kmain_secondary((unsigned)cpu);
}

unsigned arch_smp_start(unsigned max_cpus)
{
	unsigned online = 1;
	uint64_t entry_pa = arch_kimage_to_phys(a64_secondary_entry);

	for (unsigned cpu = 1; cpu < ncpu_mpidr && cpu < max_cpus && cpu < A64_MAX_CPUS; cpu++) {
		a64_secondary_sp[cpu] = (uintptr_t)a64_boot_stacks + (cpu + 1) * A64_BOOT_STACK_SIZE;
		dsb(ish);
		long err = a64_psci_call(PSCI_CPU_ON, cpu_mpidr[cpu], entry_pa, cpu);
		if (err) {
			kprintf("smp: cpu %u (mpidr 0x%llx) did not start: psci error %ld", cpu,
				(unsigned long long)cpu_mpidr[cpu], err);
			break;
		}
		/* Wait for it, so CPU numbers stay dense if one fails. */
		uint64_t deadline = arch_time_ns() + 1000000000ull;
		while (__atomic_load_n(&cpus_arrived, __ATOMIC_ACQUIRE) < online) {
			if (arch_time_ns() > deadline) {
				kprintf("smp: cpu %u did not arrive", cpu);
				return online;
			}
		}
		online++;
	}
	return online;
}

/* ------------------------------------------------------------------------ */
/* Misc                                                                     */
/* ------------------------------------------------------------------------ */

uint64_t arch_kimage_to_phys(const void *va)
{
	return (uint64_t)(uintptr_t)va - KIMAGE_VOFFSET;
}

uint64_t arch_kernel_pt_root(void)
{
	return a64_kernel_root;
}

const char *arch_paging_mode(void)
{
	return AXIOM_GRANULE_NAME "-48bit";
}

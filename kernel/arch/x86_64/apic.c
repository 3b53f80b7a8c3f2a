/*
 * apic.c — local APIC (interrupt controller, timer, IPIs) and the time base.
 *
 * Local APIC (SDM vol. 3, chapter 11): a 4 KiB MMIO window, by default at
 * 0xfee00000 (IA32_APIC_BASE MSR), mapped uncached. We use the xAPIC MMIO
 * interface (qemu64 has no x2APIC under TCG by default). Registers used:
 *   0x020 ID, 0x080 TPR, 0x0b0 EOI, 0x0f0 spurious vector (bit 8: enable),
 *   0x300/0x310 ICR low/high (IPIs), 0x320 LVT timer, 0x380 initial count,
 *   0x390 current count, 0x3e0 divide configuration.
 *
 * Time base: the HPET main counter (IA-PC HPET spec 1.0a, section 2.3) when
 * present — q35 always has one at 0xfed00000 — running at a fixed frequency
 * given in its capabilities register, shared by every CPU. Fallback: the TSC
 * calibrated against PIT channel 2. The LAPIC timer's frequency is unknown
 * (it is the bus clock / divider), so it is calibrated against that time base.
 */
#include <arch/arch.h>
#include <asm/x86.h>
#include <kernel.h>

#define LAPIC_ID       0x020
#define LAPIC_TPR      0x080
#define LAPIC_EOI      0x0b0
#define LAPIC_SVR      0x0f0
#define LAPIC_ICR_LO   0x300
#define LAPIC_ICR_HI   0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR  0x390
#define LAPIC_TIMER_DIV  0x3e0

static uintptr_t lapic;
static uintptr_t hpet;
static uint64_t hpet_mult;          /* ns = (counter * hpet_mult) >> 32 */
static uint64_t tsc_mult, tsc_base; /* fallback: ns = ((tsc - base) * mult) >> 32 */
static uint32_t lapic_ticks_per_sec;
uint64_t x86_hpet_pa = 0xfed00000;

static inline uint32_t lapic_read(uint32_t reg) { return mmio_read32(lapic + reg); }
static inline void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(lapic + reg, v); }

static void pic_disable(void)
{
	/* The legacy 8259 pair still exists on q35. Remap it away from the
	 * exception vectors (ICW2 = 0x20/0x28), then mask every line. */
	outb(0x20, 0x11); outb(0xa0, 0x11);
	outb(0x21, VEC_PIC_BASE); outb(0xa1, VEC_PIC_BASE + 8);
	outb(0x21, 4); outb(0xa1, 2);
	outb(0x21, 1); outb(0xa1, 1);
	outb(0x21, 0xff); outb(0xa1, 0xff);
}

static void lapic_enable(void)
{
	lapic_write(LAPIC_TPR, 0);                     /* accept every priority */
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);  /* software enable */
	lapic_write(LAPIC_LVT_TIMER, 1u << 16);        /* masked until arch_timer_init */
}

/* Map the LAPIC and HPET. Called while the new page tables are being built. */
void x86_apic_map(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE) & ~0xfffull;
	lapic = x86_map_mmio(base);
	hpet = x86_map_mmio(x86_hpet_pa);
}

static void pit_calibrate_tsc(void)
{
	/* PIT channel 2 (1.193182 MHz), gate via port 0x61 bit 0, output on
	 * bit 5; mode 0 counts 11932 ticks = 10 ms down to 0 */
	uint64_t best = ~0ull;
	for (int i = 0; i < 3; i++) {
		outb(0x61, (inb(0x61) & ~0x03));
		outb(0x43, 0xb0);
		outb(0x42, 11932 & 0xff);
		outb(0x42, 11932 >> 8);
		uint64_t t0 = rdtsc();
		outb(0x61, (inb(0x61) & ~0x02) | 0x01);
		while (!(inb(0x61) & 0x20))
			;
		uint64_t d = rdtsc() - t0;
		if (d < best)
			best = d;
	}
	uint64_t hz = best * 100;
	tsc_mult = (1000000000ull << 32) / hz;
	tsc_base = rdtsc();
}

void x86_apic_init_bsp(void)
{
	pic_disable();
	/* HPET: capabilities bits 63:32 = counter period in fs; 0 or all-ones
	 * means no device answers there */
	uint64_t cap = mmio_read64(hpet);
	uint32_t period = cap >> 32;
	if (period != 0 && period != 0xffffffffu && period <= 100000000u) {
		hpet_mult = ((uint64_t)period << 32) / 1000000u;
		mmio_write64(hpet + 0x10, mmio_read64(hpet + 0x10) | 1);   /* ENABLE_CNF */
	} else {
		hpet = 0;
		pit_calibrate_tsc();
	}
	lapic_enable();
}

void x86_apic_init_ap(void)
{
	lapic_enable();
}

unsigned x86_apic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void x86_apic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

void x86_apic_send_ipi(unsigned apic_id, uint32_t lo)
{
	unsigned long f = arch_irq_save();
	while (lapic_read(LAPIC_ICR_LO) & (1u << 12))   /* delivery status: pending */
		__asm__ volatile("pause");
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	arch_irq_restore(f);
}

uint64_t arch_time_ns(void)
{
	if (hpet)
		return (uint64_t)(((unsigned __int128)mmio_read64(hpet + 0xf0) * hpet_mult) >> 32);
	if (!tsc_mult)
		return 0;
	return (uint64_t)(((unsigned __int128)(rdtsc() - tsc_base) * tsc_mult) >> 32);
}

void x86_delay_us(uint64_t us)
{
	uint64_t end = arch_time_ns() + us * 1000;
	while (arch_time_ns() < end)
		__asm__ volatile("pause");
}

void arch_timer_init(unsigned hz)
{
	if (!lapic_ticks_per_sec) {
		/* count down from the maximum for 10 ms of the time base */
		lapic_write(LAPIC_TIMER_DIV, 0x3);            /* divide by 16 */
		lapic_write(LAPIC_LVT_TIMER, 1u << 16);       /* masked, one-shot */
		uint64_t t0 = arch_time_ns();
		lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
		while (arch_time_ns() - t0 < 10000000ull)
			;
		uint32_t left = lapic_read(LAPIC_TIMER_CUR);
		uint64_t dt = arch_time_ns() - t0;
		lapic_write(LAPIC_TIMER_INIT, 0);
		uint64_t ticks = 0xffffffffu - left;
		lapic_ticks_per_sec = (uint32_t)(ticks * 1000000000ull / dt);
		if (!lapic_ticks_per_sec)
			lapic_ticks_per_sec = 1000000;
	}
	if (hz == 0)
		hz = 100;
	lapic_write(LAPIC_TIMER_DIV, 0x3);
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | (1u << 17));   /* periodic */
	uint32_t init = lapic_ticks_per_sec / hz;
	lapic_write(LAPIC_TIMER_INIT, init ? init : 1);
}

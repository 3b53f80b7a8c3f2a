/*
 * smp.c — bringing up the other CPUs, stopping them, powering off.
 *
 * INIT-SIPI-SIPI (SDM vol. 3, 9.4.4.1): an INIT IPI resets the target into
 * wait-for-SIPI; a STARTUP IPI carrying vector V starts it in real mode at
 * V * 4 KiB. The universal algorithm sends INIT, waits 10 ms, sends SIPI, waits
 * 200 us, and sends a second SIPI if the AP has not shown up. We bring APs up
 * one at a time, so they can share the trampoline and its parameter block.
 */
#include <arch/arch.h>
#include <asm/x86.h>
#include <kernel.h>
#include <panic.h>

#define TRAMP_PA 0x8000

extern char x86_tramp_start[], x86_tramp_end[], x86_tramp_params[];
extern uint32_t boot_la57;
extern char boot_pml4[], boot_pml5[];
void x86_delay_us(uint64_t us);

struct tramp_params {
	uint64_t cr3, cr4, efer, stack, entry;
};

static uint8_t ap_stacks[MAX_CPUS][16384] __attribute__((aligned(16)));
static volatile unsigned ap_booting_id;
static volatile int ap_started;
static volatile int halt_requested;
static unsigned online_count = 1;

__attribute__((noreturn)) void x86_ap_entry(void)
{
	/* on the boot page tables and the trampoline's GDT: switch to the real ones */
	unsigned id = ap_booting_id;
	struct x86_cpu *c = &x86_cpus[id];
	write_cr3(x86_kernel_root);
	write_cr4(read_cr4() | CR4_PGE);
	c->loaded_cr3 = x86_kernel_root;
	x86_cpu_init(c);
	x86_apic_init_ap();
	c->apic_id = x86_apic_id();
	c->online = 1;
	__atomic_store_n(&ap_started, 1, __ATOMIC_RELEASE);
	kmain_secondary(id);
}

unsigned arch_smp_start(unsigned max_cpus)
{
	if (max_cpus > MAX_CPUS)
		max_cpus = MAX_CPUS;
	unsigned bsp_apic = x86_cpus[0].apic_id;
	memcpy(phys_to_virt(TRAMP_PA), x86_tramp_start, x86_tramp_end - x86_tramp_start);
	struct tramp_params *p = phys_to_virt(TRAMP_PA + (x86_tramp_params - x86_tramp_start));
	p->cr3 = boot_la57 ? arch_kimage_to_phys(boot_pml5) : arch_kimage_to_phys(boot_pml4);
	p->cr4 = CR4_PAE | (boot_la57 ? CR4_LA57 : 0);
	p->efer = EFER_LME | EFER_SCE | (rdmsr(MSR_EFER) & EFER_NXE);
	p->entry = (uint64_t)x86_ap_entry;

	unsigned next = 1;
	for (unsigned i = 0; i < x86_ncpus && next < max_cpus; i++) {
		unsigned apic = x86_cpu_apic_ids[i];
		if (apic == bsp_apic)
			continue;
		unsigned id = next;
		x86_cpus[id].id = id;
		p->stack = (uint64_t)&ap_stacks[id][sizeof(ap_stacks[id])] - 8;
		ap_booting_id = id;
		ap_started = 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		x86_apic_send_ipi(apic, 0x4500);                    /* INIT, assert */
		x86_delay_us(10000);
		for (int s = 0; s < 2 && !ap_started; s++) {
			x86_apic_send_ipi(apic, 0x4600 | (TRAMP_PA >> 12));   /* STARTUP */
			x86_delay_us(s == 0 ? 200 : 1000);
		}
		/* up to 1 s for the AP to reach x86_ap_entry */
		uint64_t t0 = arch_time_ns();
		while (!__atomic_load_n(&ap_started, __ATOMIC_ACQUIRE) && arch_time_ns() - t0 < 1000000000ull)
			__asm__ volatile("pause");
		if (!ap_started)
			continue;
		next++;
	}
	online_count = next;
	return next;
}

/* NMI (entry.S, IST2): TLB shootdown requests and panic stops. GS may hold
 * either base at this point, so find this CPU through the MSRs. */
void x86_nmi(struct trapframe *tf)
{
	(void)tf;
	uint64_t gs = rdmsr(MSR_GS_BASE);
	if ((int64_t)gs >= 0)
		gs = rdmsr(MSR_KERNEL_GS_BASE);
	if ((int64_t)gs >= 0)
		return;                        /* GS not set up yet: not ours */
	struct cpu *gc = (struct cpu *)gs;
	struct x86_cpu *c = (struct x86_cpu *)gc->arch_scratch[GS_X86_CPU / 8];
	c->nmi_count++;
	if (halt_requested || panic_in_progress) {
		c->online = 0;
		wrmsr(MSR_GS_BASE, gs);        /* we never return: make GS the kernel's */
		if (panic_in_progress)
			panic_stop_this_cpu();
		arch_halt_cpu();
	}
	x86_nmi_flush(c);
}

void arch_halt_others(void)
{
	halt_requested = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	struct x86_cpu *self = this_x86_cpu();
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		struct x86_cpu *c = &x86_cpus[i];
		if (c != self && c->online)
			x86_apic_send_ipi(c->apic_id, 0x400);   /* NMI: reaches CPUs with IF=0 too */
	}
	/* give them a moment to stop (bounded) */
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		struct x86_cpu *c = &x86_cpus[i];
		for (unsigned long n = 0; c != self && c->online && n < 50000000ul; n++)
			__asm__ volatile("pause");
	}
}

void arch_halt_cpu(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void arch_poweroff(void)
{
	/* QEMU isa-debug-exit (-device isa-debug-exit,iobase=0xf4): any write
	 * exits QEMU with status (value << 1) | 1 */
	outl(0xf4, 0);
	/* ACPI fallback: q35's ICH9 PM1a control block is at 0x604; SLP_EN
	 * (bit 13) with SLP_TYP 0 selects S5 (soft off) in QEMU's DSDT */
	outw(0x604, 0x2000);
	arch_halt_cpu();
}

/* ---- debug support ------------------------------------------------------- */

const char *arch_paging_mode(void)
{
	return x86_paging_levels == 5 ? "5-level" : "4-level";
}

bool arch_unwind_step(uintptr_t *fp, uintptr_t *ret_addr)
{
	uintptr_t f = *fp;
	if (f == 0 || (f & 7) || (int64_t)f >= 0)       /* kernel half only */
		return false;
	if (!x86_kernel_va_mapped(f) || !x86_kernel_va_mapped(f + 8))
		return false;
	uintptr_t ret = ((uintptr_t *)f)[1];
	uintptr_t next = ((uintptr_t *)f)[0];
	if (ret == 0)
		return false;
	*ret_addr = ret;
	*fp = next;
	return true;
}

__attribute__((noinline)) uintptr_t arch_current_fp(void)
{
	return (uintptr_t)__builtin_frame_address(0);
}

uint64_t x86_divide_zero(uint64_t n, uint64_t d);

bool arch_crash_divide(void)
{
	volatile uint64_t zero = 0;
	x86_divide_zero(1, zero);
	return true;
}

void arch_context_init(struct arch_context *ctx, uintptr_t kstack_top,
		       void (*entry)(void *), void *arg)
{
	extern char x86_thread_start[];
	memset(ctx, 0, sizeof(*ctx));
	ctx->rsp = kstack_top;
	ctx->rip = (uint64_t)x86_thread_start;
	ctx->r12 = (uint64_t)entry;
	ctx->r13 = (uint64_t)arg;
}

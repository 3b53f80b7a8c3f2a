/*
 * trap.c — riscv64 trap dispatch, interrupts, timer, per-CPU register,
 * trap-frame accessors, halting, unwinding.
 *
 * Every trap enters rv_trap_entry (entry.S), which saves a struct trapframe
 * and calls rv_trap(). scause (Privileged Spec 4.1.9) says what happened:
 * bit 63 set = interrupt (5 timer, 1 software/IPI, 9 external), else an
 * exception code. stval holds the faulting address for page faults.
 */
#include "rv.h"
#include <kernel.h>
#include <percpu.h>
#include <panic.h>
#include <mm.h>

static const char *exception_name(uint64_t code)
{
	static const char *const names[] = {
		[EXC_INST_MISALIGNED] = "instruction address misaligned",
		[EXC_INST_ACCESS] = "instruction access fault",
		[EXC_ILLEGAL] = "illegal instruction",
		[EXC_BREAKPOINT] = "breakpoint",
		[EXC_LOAD_MISALIGNED] = "load address misaligned",
		[EXC_LOAD_ACCESS] = "load access fault",
		[EXC_STORE_MISALIGNED] = "store address misaligned",
		[EXC_STORE_ACCESS] = "store access fault",
		[EXC_ECALL_U] = "environment call from U-mode",
		[EXC_ECALL_S] = "environment call from S-mode",
		[EXC_INST_PAGE] = "instruction page fault",
		[EXC_LOAD_PAGE] = "load page fault",
		[15] = "store page fault",
	};
	if (code < ARRAY_SIZE(names) && names[code])
		return names[code];
	return "unknown exception";
}

/* Short stable kind names for trap_exception() (arch.h). */
static const char *exception_kind(uint64_t code)
{
	if (code == EXC_ILLEGAL)
		return "undefined-instruction";
	if (code == EXC_BREAKPOINT)
		return "breakpoint";
	if (code == EXC_INST_MISALIGNED || code == EXC_LOAD_MISALIGNED || code == EXC_STORE_MISALIGNED)
		return "alignment";
	if (code == EXC_INST_ACCESS || code == EXC_LOAD_ACCESS || code == EXC_STORE_ACCESS)
		return "access-fault";
	return "exception";
}

const char *rv_cause_name(uint64_t scause)
{
	if (scause & SCAUSE_INTR)
		return "interrupt";
	return exception_name(scause);
}

void rv_trap(struct trapframe *tf)
{
	uint64_t cause = tf->scause;
	bool user = !(tf->sstatus & SSTATUS_SPP);

	if (cause & SCAUSE_INTR) {
		uint64_t irq = cause & ~SCAUSE_INTR;
		if (irq == IRQ_S_TIMER) {
			rv_timer_rearm();
			timer_interrupt(tf);
		} else if (irq == IRQ_S_SOFT) {
			csr_clear(sip, SIE_SSIE);   /* acknowledge the IPI */
			if (panic_in_progress)
				panic_stop_this_cpu();
		}
		/* External interrupts are not enabled (the UART is polled). */
	} else if (cause == EXC_ECALL_U) {
		tf->sepc += 4;                      /* return past the ecall */
		arch_irq_enable();                  /* syscalls run with interrupts on */
		syscall_handler(tf);
		arch_irq_disable();
	} else if (cause == EXC_INST_PAGE || cause == EXC_LOAD_PAGE || cause == EXC_STORE_PAGE ||
		   cause == EXC_INST_ACCESS || cause == EXC_LOAD_ACCESS || cause == EXC_STORE_ACCESS) {
		unsigned fault = 0;
		if (cause == EXC_INST_PAGE || cause == EXC_INST_ACCESS)
			fault |= FAULT_EXEC;
		else if (cause == EXC_STORE_PAGE || cause == EXC_STORE_ACCESS)
			fault |= FAULT_WRITE;
		else
			fault |= FAULT_READ;
		if (user)
			fault |= FAULT_USER;
		/* Sv39 reports "page fault" both for missing and forbidden
		 * pages; a software walk tells them apart. */
		if (!user && rv_kaddr_mapped(tf->stval, false)) {
			fault |= FAULT_PRESENT;
		}
		trap_page_fault(tf, tf->stval, fault, cause);
	} else {
		trap_exception(tf, exception_kind(cause), cause, 0, tf->stval);
	}
	if (user)
		trap_exit_to_user(tf);
}

/* ---- trap frames ---- */

unsigned long arch_tf_syscall_nr(const struct trapframe *tf) { return tf->x[17]; }  /* a7 */

unsigned long arch_tf_arg(const struct trapframe *tf, int n)
{
	return (n >= 0 && n < 6) ? tf->x[10 + n] : 0;               /* a0..a5 */
}

void arch_tf_set_ret(struct trapframe *tf, long value) { tf->x[10] = (uint64_t)value; }
uintptr_t arch_tf_pc(const struct trapframe *tf) { return tf->sepc; }
uintptr_t arch_tf_sp(const struct trapframe *tf) { return tf->x[2]; }
uintptr_t arch_tf_fp(const struct trapframe *tf) { return tf->x[8]; }
bool arch_tf_from_user(const struct trapframe *tf) { return !(tf->sstatus & SSTATUS_SPP); }

/* No separate error code: scause (the panic record's raw_cause) says it all. */
bool arch_tf_error_code(const struct trapframe *tf, uint64_t *code) { (void)tf; (void)code; return false; }

/* Every general register as it is now (x[n] = register xn). The base
 * register of the stores holds &tf->x at that moment, which is what its
 * slot will show. */
void arch_capture_regs(struct trapframe *tf, uintptr_t pc, uintptr_t fp, uintptr_t sp)
{
	__asm__ volatile(
		"sd x1, 8(%0)\n"
		"sd x2, 16(%0)\n"
		"sd x3, 24(%0)\n"
		"sd x4, 32(%0)\n"
		"sd x5, 40(%0)\n"
		"sd x6, 48(%0)\n"
		"sd x7, 56(%0)\n"
		"sd x8, 64(%0)\n"
		"sd x9, 72(%0)\n"
		"sd x10, 80(%0)\n"
		"sd x11, 88(%0)\n"
		"sd x12, 96(%0)\n"
		"sd x13, 104(%0)\n"
		"sd x14, 112(%0)\n"
		"sd x15, 120(%0)\n"
		"sd x16, 128(%0)\n"
		"sd x17, 136(%0)\n"
		"sd x18, 144(%0)\n"
		"sd x19, 152(%0)\n"
		"sd x20, 160(%0)\n"
		"sd x21, 168(%0)\n"
		"sd x22, 176(%0)\n"
		"sd x23, 184(%0)\n"
		"sd x24, 192(%0)\n"
		"sd x25, 200(%0)\n"
		"sd x26, 208(%0)\n"
		"sd x27, 216(%0)\n"
		"sd x28, 224(%0)\n"
		"sd x29, 232(%0)\n"
		"sd x30, 240(%0)\n"
		"sd x31, 248(%0)\n"
		:: "r"(tf->x) : "memory");
	tf->x[8] = fp;                /* s0/fp */
	tf->x[2] = sp;
	tf->sepc = pc;
	tf->sstatus = SSTATUS_SPP;    /* a supervisor-mode frame */
	tf->scause = 0;
	tf->stval = 0;
}

void arch_tf_init_user(struct trapframe *tf, uintptr_t entry, uintptr_t sp,
		       uintptr_t a0, uintptr_t a1, uintptr_t a2)
{
	memset(tf, 0, sizeof(*tf));
	tf->sepc = entry;
	tf->x[2] = sp;
	tf->x[10] = a0;
	tf->x[11] = a1;
	tf->x[12] = a2;
	/* SPP = 0 (return to U), SPIE = 1 (interrupts on after sret), SUM = 0. */
	tf->sstatus = (csr_read(sstatus) & ~(SSTATUS_SPP | SSTATUS_SIE | SSTATUS_SUM)) | SSTATUS_SPIE;
}

int arch_tf_regs(const struct trapframe *tf, struct reg_entry *out, int max)
{
	static const char *const names[32] = {
		"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1",
		"a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7",
		"s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
	};
	int n = 0;

	if (n < max)
		out[n++] = (struct reg_entry){ "pc", tf->sepc };
	for (int i = 1; i < 32 && n < max; i++)
		out[n++] = (struct reg_entry){ names[i], tf->x[i] };
	if (n < max)
		out[n++] = (struct reg_entry){ "sstatus", tf->sstatus };
	if (n < max)
		out[n++] = (struct reg_entry){ "scause", tf->scause };
	if (n < max)
		out[n++] = (struct reg_entry){ "stval", tf->stval };
	if (n < max)
		out[n++] = (struct reg_entry){ "satp", csr_read(satp) };
	return n;
}

/*
 * Called on every switch to a thread with a kernel stack (top != 0) and with
 * 0 for threads on a boot stack. entry.S uses the top for traps from U-mode
 * and the bottom (top - KSTACK_SIZE, guard page below) for its overflow check.
 */
void arch_set_kernel_stack(uintptr_t top)
{
	struct cpu *c = arch_cpu_local();
	c->arch_scratch[CPU_KSTACK_TOP / 8] = top;
	c->arch_scratch[CPU_KSTACK_LO / 8] = top ? top - KSTACK_SIZE : 0;
}

/* ---- interrupts ---- */

unsigned long arch_irq_save(void)
{
	unsigned long old;
	__asm__ volatile("csrrci %0, sstatus, 2" : "=r"(old)::"memory");
	return old & SSTATUS_SIE;
}

void arch_irq_restore(unsigned long flags)
{
	if (flags & SSTATUS_SIE)
		csr_set(sstatus, SSTATUS_SIE);
}

void arch_irq_enable(void) { csr_set(sstatus, SSTATUS_SIE); }
void arch_irq_disable(void) { csr_clear(sstatus, SSTATUS_SIE); }

bool rv_irq_enabled(void)
{
	return csr_read(sstatus) & SSTATUS_SIE;
}

void arch_wait_for_interrupt(void)
{
	/* wfi with SIE set could take the interrupt before wfi; wfi wakes on a
	 * pending interrupt even with SIE clear, so: clear, wait, enable. */
	csr_clear(sstatus, SSTATUS_SIE);
	__asm__ volatile("wfi");
	csr_set(sstatus, SSTATUS_SIE);
}

/* ---- timer (SBI TIME extension; `time` CSR counts at timebase-frequency) ---- */

static uint64_t tick_interval;
void rv_timer_rearm(void);

static inline uint64_t rdtime(void)
{
	uint64_t t;
	__asm__ volatile("rdtime %0" : "=r"(t));
	return t;
}

void arch_timer_init(unsigned hz)
{
	tick_interval = rv_timebase_hz / hz;
	csr_set(sie, SIE_STIE | SIE_SSIE);
	sbi_set_timer(rdtime() + tick_interval);
}

/* Re-arm: called by the generic tick through timer_interrupt's caller. */
void rv_timer_rearm(void)
{
	sbi_set_timer(rdtime() + tick_interval);
}

uint64_t arch_time_ns(void)
{
	uint64_t t = rdtime();
	uint64_t hz = rv_timebase_hz ? rv_timebase_hz : 10000000;
	return (t / hz) * 1000000000ull + (t % hz) * 1000000000ull / hz;
}

/* ---- CPUs ---- */

/* Stacks used by entry.S when a kernel stack overflowed into its guard page. */
static uint8_t rv_emerg_stacks[MAX_CPUS][8192] __attribute__((aligned(16)));

void arch_set_cpu_local(struct cpu *c)
{
	c->arch_scratch[CPU_EMERG_TOP / 8] = (uintptr_t)rv_emerg_stacks[c->id % MAX_CPUS] + 8192;
	__asm__ volatile("mv tp, %0" ::"r"(c) : "memory");
}

struct cpu *arch_cpu_local(void)
{
	struct cpu *c;
	__asm__ volatile("mv %0, tp" : "=r"(c));
	return c;
}

void arch_halt_others(void)
{
	unsigned long mask = 0;
	struct cpu *me = arch_cpu_local();

	for (unsigned i = 0; i < rv_nharts && i < MAX_CPUS; i++)
		if ((!me || i != me->id) && rv_hartids[i] < 64)
			mask |= 1ul << rv_hartids[i];
	if (mask)
		sbi_send_ipi(mask, 0);
}

void arch_halt_cpu(void)
{
	csr_clear(sstatus, SSTATUS_SIE);
	csr_write(sie, 0);
	for (;;)
		__asm__ volatile("wfi");
}

void arch_poweroff(void)
{
	sbi_shutdown();
	arch_halt_cpu();
}

/* ---- threads ---- */

void arch_context_init(struct arch_context *ctx, uintptr_t kstack_top,
		       void (*entry)(void *), void *arg)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->ra = (uint64_t)(uintptr_t)rv_thread_trampoline;
	ctx->sp = kstack_top & ~15ul;
	ctx->s[1] = (uint64_t)(uintptr_t)entry;
	ctx->s[2] = (uint64_t)(uintptr_t)arg;
}

/* ---- debug ---- */

/*
 * With -fno-omit-frame-pointer, clang's RISC-V prologue stores ra at
 * fp - 8 and the caller's fp at fp - 16 (fp = s0 = the stack pointer at
 * function entry).
 */
bool arch_unwind_step(uintptr_t *fp, uintptr_t *ret_addr)
{
	uintptr_t f = *fp;

	if (!f || (f & 7) || f < 16)
		return false;
	if (!rv_kaddr_mapped(f - 16, false) || !rv_kaddr_mapped(f - 8, false))
		return false;
	*ret_addr = *(uintptr_t *)(f - 8);
	uintptr_t next = *(uintptr_t *)(f - 16);
	if (*ret_addr == 0)
		return false;
	*fp = next;
	return true;
}

uintptr_t arch_current_fp(void)
{
	return (uintptr_t)__builtin_frame_address(0);
}

void arch_crash_undefined(void)
{
	__asm__ volatile("unimp");
}

bool arch_crash_divide(void)
{
	return false;   /* RISC-V integer division by zero does not trap (M extension spec) */
}

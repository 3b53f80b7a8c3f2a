/*
 * trap.c — the generic halves of traps (arch.h callbacks): faults from user
 * mode kill the process with a message, faults in the kernel panic with a
 * full record; the timer drives the scheduler.
 */
#include <kernel.h>
#include <proc.h>
#include <sched.h>
#include <panic.h>
#include <mm.h>
#include <axiom/syscall.h>

static const char *fault_cause(unsigned fault)
{
	if (fault & FAULT_EXEC)
		return "instruction page fault";
	if (fault & FAULT_WRITE)
		return "store page fault";
	return "load page fault";
}

void trap_page_fault(struct trapframe *tf, uintptr_t addr, unsigned fault, uint64_t raw_cause)
{
	if (fault & FAULT_USER) {
		char why[128];
		snprintf(why, sizeof(why), "%s at 0x%lx (pc 0x%lx)", fault_cause(fault),
			 (unsigned long)addr, (unsigned long)arch_tf_pc(tf));
		arch_irq_enable();
		proc_kill_current(SIGSEGV, why);
		return;                       /* trap_exit_to_user ends the thread */
	}
	bool overflow = kstack_is_guard(addr);
	uint64_t hw_code = 0;
	bool has_hw_code = arch_tf_error_code(tf, &hw_code);
	struct panic_info pi = {
		.kind = overflow ? "stack-overflow" : "page-fault",
		.cause = overflow ? "kernel stack overflow into guard page" : fault_cause(fault),
		.raw_cause = raw_cause,
		.has_raw_cause = true,
		.error_code = hw_code,          /* the hardware's code, as triage decodes it */
		.has_error_code = has_hw_code,
		.fault_addr = addr,
		.has_fault_addr = true,
		.tf = tf,
		.cpu_override = -1,
	};
	panic_report(&pi);
}

static int exception_signal(const char *kind)
{
	if (!strcmp(kind, "undefined-instruction"))
		return SIGILL;
	if (!strcmp(kind, "divide-error"))
		return SIGFPE;
	return SIGSEGV;
}

void trap_exception(struct trapframe *tf, const char *kind, uint64_t raw_cause, uint64_t code,
		    uintptr_t addr)
{
	if (arch_tf_from_user(tf)) {
		char why[128];
		snprintf(why, sizeof(why), "%s (cause 0x%llx) at pc 0x%lx", kind,
			 (unsigned long long)raw_cause, (unsigned long)arch_tf_pc(tf));
		arch_irq_enable();
		proc_kill_current(exception_signal(kind), why);
		return;
	}
	struct panic_info pi = {
		.kind = "exception",
		.cause = kind,
		.raw_cause = raw_cause,
		.has_raw_cause = true,
		.error_code = code,
		.has_error_code = code != 0,
		.fault_addr = addr,
		.has_fault_addr = addr != 0,
		.tf = tf,
		.cpu_override = -1,
	};
	panic_report(&pi);
}

void timer_interrupt(struct trapframe *tf)
{
	sched_tick();
	/* Preempt, in user or kernel mode alike: interrupts are only ever on
	 * when this CPU holds no spinlock, so switching here is safe. */
	if (sched_need_resched())
		sched_yield();
}

void trap_exit_to_user(struct trapframe *tf)
{
	if (current_killed()) {
		arch_irq_enable();
		thread_exit();
	}
	if (sched_need_resched())
		sched_yield();
}

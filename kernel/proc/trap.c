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
#include <axiom/bpf.h>
#include <percpu.h>
#include "../bpf/bpf.h"

static const char *fault_cause(unsigned fault)
{
	if (fault & FAULT_EXEC)
		return "instruction page fault";
	if (fault & FAULT_WRITE)
		return "store page fault";
	return "load page fault";
}

/*
 * eBPF page_fault attach point, for faults taken in user mode only. Every
 * arch's fault path ends here with interrupts off and no lock held by this
 * CPU (the fault interrupted user code), so programs may use any helper.
 * Kernel-mode faults are bugs that go straight to the panic report: running
 * programs there could spin on a lock the faulting code already holds.
 */
static void bpf_page_fault(struct trapframe *tf, uintptr_t addr, unsigned fault)
{
	struct process *p = current_process();
	struct bpf_page_fault_ctx ctx = {
		.addr = addr,
		.ip = arch_tf_pc(tf),
		.flags = ((fault & FAULT_WRITE) ? 1u : 0) | ((fault & FAULT_USER) ? 2u : 0) |
			 ((fault & FAULT_EXEC) ? 4u : 0) | ((fault & FAULT_PRESENT) ? 8u : 0),
		.pid = p ? (uint32_t)p->pid : 0,
	};
	bpf_run_hook(BPF_AXIOM_PAGE_FAULT, &ctx, sizeof(ctx));
}

void trap_page_fault(struct trapframe *tf, uintptr_t addr, unsigned fault, uint64_t raw_cause)
{
	if (fault & FAULT_USER) {
		if (bpf_hook_active(BPF_AXIOM_PAGE_FAULT))
			bpf_page_fault(tf, addr, fault);
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

/*
 * eBPF timer_tick attach point: every tick of every CPU. We are in the
 * interrupt handler with interrupts off, and interrupts are only ever on
 * when this CPU holds no spinlock, so no lock is held here and programs may
 * use any helper (bpf's own locks disable interrupts, so a tick can never
 * arrive while this CPU holds one of them).
 */
static void bpf_timer_tick(void)
{
	struct cpu *c = this_cpu();
	struct bpf_timer_tick_ctx ctx = {
		.ticks = c->ticks,
		.ts_ns = c->last_tick_ns,
		.cpu = c->id,
	};
	bpf_run_hook(BPF_AXIOM_TIMER_TICK, &ctx, sizeof(ctx));
}

void timer_interrupt(struct trapframe *tf)
{
	sched_tick();
	if (bpf_hook_active(BPF_AXIOM_TIMER_TICK))
		bpf_timer_tick();
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

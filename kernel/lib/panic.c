/*
 * panic.c — the panic record (docs/kernel.md, "Panic record") and halting.
 *
 * The first CPU to panic owns the console: it writes the record with raw
 * UART output (no locks: the lock holders may be the reason we are here),
 * asks the other CPUs to stop (IPI; they also poll panic_in_progress in their
 * tick and in spin loops) and ends in axiom_halt(), the one function a
 * debugger breaks on.
 */
#include <kernel.h>
#include <panic.h>
#include <console.h>
#include <klog.h>
#include <layout.h>
#include <percpu.h>
#include <proc.h>

volatile int panic_in_progress;
static volatile int panic_cpu = -1;

__noinline __noreturn void axiom_halt(void)
{
	__asm__ volatile("" ::: "memory");   /* keep the function and its symbol */
	arch_halt_cpu();
}

__noreturn void panic_stop_this_cpu(void)
{
	arch_irq_disable();
	struct cpu *c = this_cpu();
	if (c)
		c->online = false;
	arch_halt_cpu();
}

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	char line[192];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1;
	console_write_raw(line, (size_t)n);
}

/* Printable one-line text (the record is line oriented). */
static void out_text(const char *key, const char *s)
{
	char clean[160];
	size_t i = 0;

	for (; s && *s && i < sizeof(clean) - 1; s++)
		clean[i++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
	clean[i] = 0;
	out("%s: %s\n", key, clean);
}

__noreturn void panic_report(const struct panic_info *pi)
{
	arch_irq_disable();
	struct cpu *c = this_cpu();
	int me = c ? (int)c->id : 0;

	if (__atomic_exchange_n(&panic_in_progress, 1, __ATOMIC_ACQ_REL)) {
		if (panic_cpu == me) {
			console_write_raw("\n=== AXIOM PANIC (nested, halting) ===\n", 39);
			axiom_halt();
		}
		panic_stop_this_cpu();
	}
	panic_cpu = me;
	klog_panic_mode();
	arch_halt_others();

	struct thread *t = c ? c->current : NULL;
	struct process *p = t ? t->proc : NULL;

	out("\n=== AXIOM PANIC BEGIN ===\n");
	out("arch: %s\n", ARCH_NAME);
	out("build_id: %s\n", build_id_hex());
	out("cpu: %d\n", pi->cpu_override >= 0 ? pi->cpu_override : me);
	out("pid: %d\n", p ? p->pid : 0);
	out("tid: %d\n", t ? t->tid : 0);
	out("kind: %s\n", pi->kind);
	out_text("cause", pi->cause ? pi->cause : pi->kind);
	if (pi->has_raw_cause)
		out("raw_cause: 0x%llx\n", (unsigned long long)pi->raw_cause);
	if (pi->has_error_code)
		out("error_code: 0x%llx\n", (unsigned long long)pi->error_code);
	if (pi->has_fault_addr)
		out("fault_addr: 0x%llx\n", (unsigned long long)pi->fault_addr);
	if (pi->message)
		out_text("message", pi->message);
	if (pi->file)
		out("location: %s:%d\n", pi->file, pi->line);

	uintptr_t fp;
	if (pi->tf) {
		struct reg_entry regs[64];
		int n = arch_tf_regs(pi->tf, regs, (int)ARRAY_SIZE(regs));
		for (int i = 0; i < n; i++)
			out("reg %s 0x%llx\n", regs[i].name, (unsigned long long)regs[i].value);
		out("bt 0x%llx\n", (unsigned long long)arch_tf_pc(pi->tf));
		fp = arch_tf_fp(pi->tf);
	} else {
		/* No trap: snapshot every register now, with pc/fp/sp those of
		 * panic()'s caller, and print them like a trap frame. */
		struct trapframe now;
		struct reg_entry regs[64];
		memset(&now, 0, sizeof(now));
		arch_capture_regs(&now, pi->pc, pi->fp, (uintptr_t)__builtin_frame_address(0));
		int n = arch_tf_regs(&now, regs, (int)ARRAY_SIZE(regs));
		for (int i = 0; i < n; i++)
			out("reg %s 0x%llx\n", regs[i].name, (unsigned long long)regs[i].value);
		out("bt 0x%llx\n", (unsigned long long)pi->pc);
		/* pi->fp is the frame of the function whose caller is pi->pc:
		 * its first unwind step yields pi->pc again, skip that one. */
		fp = pi->fp;
		uintptr_t first_fp = fp, first_ra;
		if (arch_unwind_step(&first_fp, &first_ra) && first_ra == pi->pc)
			fp = first_fp;
	}
	uintptr_t ra;
	for (int depth = 0; depth < 32 && arch_unwind_step(&fp, &ra); depth++)
		out("bt 0x%llx\n", (unsigned long long)ra);
	out("=== AXIOM PANIC END ===\n");
	axiom_halt();
}

__noreturn __noinline void panic(const char *fmt, ...)
{
	static char msg[256];
	va_list ap;

	arch_irq_disable();
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct panic_info pi = {
		.kind = "panic",
		.cause = "panic",
		.message = msg,
		.fp = (uintptr_t)__builtin_frame_address(0),
		.pc = (uintptr_t)__builtin_return_address(0),
		.cpu_override = -1,
	};
	panic_report(&pi);
}

__noreturn __noinline void assert_fail(const char *expr, const char *file, int line)
{
	static char msg[200];

	arch_irq_disable();
	snprintf(msg, sizeof(msg), "assertion failed: %s", expr);
	struct panic_info pi = {
		.kind = "assertion",
		.cause = "assertion failed",
		.message = msg,
		.file = file,
		.line = line,
		.fp = (uintptr_t)__builtin_frame_address(0),
		.pc = (uintptr_t)__builtin_return_address(0),
		.cpu_override = -1,
	};
	panic_report(&pi);
}

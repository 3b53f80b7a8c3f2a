/*
 * panic.h — the panic record (format in docs/kernel.md, "Panic record").
 */
#ifndef AXIOM_PANIC_H
#define AXIOM_PANIC_H

#include <stdint.h>
#include <stdbool.h>
#include <kernel.h>

struct trapframe;

struct panic_info {
	const char *kind;             /* page-fault|exception|assertion|panic|watchdog|stack-overflow */
	const char *cause;            /* short text */
	uint64_t raw_cause;
	bool has_raw_cause;
	uint64_t error_code;
	bool has_error_code;
	uint64_t fault_addr;
	bool has_fault_addr;
	const char *message;          /* may be NULL */
	const char *file;             /* assertions */
	int line;
	const struct trapframe *tf;   /* registers at the fault, or NULL */
	uintptr_t fp;                 /* without tf: frame pointer to unwind from */
	uintptr_t pc;                 /* without tf: the caller's pc (first bt line) */
	int cpu_override;             /* >= 0: report this CPU (watchdog), else the current one */
};

__noreturn void panic_report(const struct panic_info *pi);
/* Set once a panic has started: other CPUs stop when they see it. */
extern volatile int panic_in_progress;
/* Called by a CPU that notices panic_in_progress (tick, IPI): stops it. */
__noreturn void panic_stop_this_cpu(void);
/* The function a debugger breaks on: every CPU ends here after a panic. */
__noreturn void axiom_halt(void);

#endif

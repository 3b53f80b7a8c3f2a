/*
 * percpu.h — one `struct cpu` per CPU, reached through the arch's CPU-local
 * register (tp on riscv64, gs_base on x86_64, tpidr_el1 on aarch64).
 *
 * The first member, arch_scratch[], belongs to the architecture's trap entry
 * code, which addresses it at fixed offsets from the CPU-local register
 * before any C runs (riscv64 keeps the kernel stack top and a save slot for
 * the user stack pointer there; see kernel/arch/riscv64/entry.S).
 */
#ifndef AXIOM_PERCPU_H
#define AXIOM_PERCPU_H

#include <stdint.h>
#include <stdbool.h>
#include <arch/arch.h>

#define MAX_CPUS 8
#define CPU_ARCH_SCRATCH 8

struct thread;

struct cpu {
	uintptr_t arch_scratch[CPU_ARCH_SCRATCH]; /* arch trap entry's own slots (must stay first) */
	struct cpu *self;
	unsigned id;                  /* 0 = boot CPU */
	unsigned hwid;                /* hart id / APIC id / MPIDR affinity */
	bool online;
	int irq_depth;                /* irq_push_off nesting */
	bool irq_were_on;             /* interrupt state before the outermost push_off */
	struct thread *current;       /* running thread */
	struct thread *idle;          /* this CPU's idle thread */
	uint64_t ticks;               /* timer interrupts taken */
	uint64_t last_tick_ns;        /* watchdog heartbeat: time of the last tick */
	uint64_t ctx_switches;
	uint64_t idle_ns;             /* time spent in the idle thread */
	uintptr_t kstack_lo;          /* lowest valid byte of current's kernel stack (0: unknown) */
};

extern struct cpu cpus[MAX_CPUS];
extern unsigned ncpus_online;

/* This CPU's struct. Only stable while preemption is impossible
 * (interrupts off or a spinlock held). */
static inline struct cpu *this_cpu(void) { return arch_cpu_local(); }

#endif

/*
 * bpf_env.c — the kernel side of kernel/bpf's environment (bpf_env.h):
 * time, CPU and task identity, trace output and the lock the eBPF runtime
 * uses for its tables and maps. The host build has its own (host_env.c).
 */
#include <kernel.h>
#include <percpu.h>
#include <proc.h>
#include <spinlock.h>
#include <panic.h>
#include "bpf/bpf_env.h"

uint64_t bpf_env_ktime_ns(void)
{
	return arch_time_ns();
}

uint32_t bpf_env_cpu_id(void)
{
	unsigned long f = arch_irq_save();
	struct cpu *c = this_cpu();
	uint32_t id = c ? c->id : 0;
	arch_irq_restore(f);
	return id;
}

uint32_t bpf_env_ncpus(void)
{
	return MAX_CPUS;
}

/* Linux convention: tgid (process id) in the upper half, thread id below. */
uint64_t bpf_env_pid_tgid(void)
{
	struct thread *t = current_thread();
	struct process *p = t ? t->proc : NULL;
	return ((uint64_t)(p ? p->pid : 0) << 32) | (uint32_t)(t ? t->tid : 0);
}

void bpf_env_trace(const char *msg, size_t len)
{
	klog(KLOG_DEBUG, "bpf_trace: %.*s", (int)MIN(len, 180), msg);
}

/*
 * Interrupts off on this CPU (programs run from the timer tick and fault
 * paths), then spin against the other CPUs. Returns the previous interrupt
 * state for bpf_env_unlock.
 */
unsigned long bpf_env_lock(bpf_lock_t *l)
{
	unsigned long flags = arch_irq_save();

	while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&l->v, __ATOMIC_RELAXED)) {
			arch_cpu_relax();
			if (panic_in_progress)
				panic_stop_this_cpu();
		}
	}
	return flags;
}

void bpf_env_unlock(bpf_lock_t *l, unsigned long flags)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
	arch_irq_restore(flags);
}

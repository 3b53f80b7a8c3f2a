/*
 * sched.h — the scheduler: one global run queue served round robin by every
 * CPU, preemption on the timer tick, an idle thread per CPU.
 */
#ifndef AXIOM_SCHED_H
#define AXIOM_SCHED_H

#include <stdint.h>
#include <stdbool.h>
#include <spinlock.h>

struct thread;

#define SCHED_HZ 100                  /* timer ticks per second */
#define SCHED_QUANTUM_TICKS 2         /* preempt after this many ticks */
/* A CPU whose tick has been silent this long is locked up. Generous on
 * purpose: under QEMU's TCG, guest time is host time, and on a loaded 2-core
 * host a vCPU thread can go unscheduled for seconds (a 3 s limit fired
 * spuriously with load average 13). */
#define WATCHDOG_NS (10000ull * 1000 * 1000)

extern struct spinlock sched_lock;

void sched_init(void);
/* Make t RUNNABLE and queue it. */
void sched_wake(struct thread *t);
/* Give up the CPU; current stays RUNNABLE. */
void sched_yield(void);
/* With sched_lock held and current's state already set (SLEEPING, DEAD):
 * switch to the next thread. Returns (lock still held) when woken. */
void sched_switch(void);
/* Become this CPU's idle thread and never return (end of kmain). */
__noreturn void sched_idle_loop(void);
/* Sleep for ns nanoseconds; returns -EINTR if killed meanwhile, else 0. */
int sched_sleep_ns(uint64_t ns);
/* Called from the timer interrupt. */
void sched_tick(void);
/* The context a newly created thread starts in (releases sched_lock). */
void sched_thread_start(void *arg);
/* Set by the tick when current should yield at the next safe point. */
bool sched_need_resched(void);

#endif

/*
 * waitq.h — sleeping until something happens.
 *
 * A waitq is a list of sleeping threads. The sleeper holds the spinlock that
 * protects the condition it waits for; waitq_sleep releases that lock and
 * goes to sleep atomically (no wakeup can be lost in between), and takes it
 * again before returning. Callers loop: while (!cond) waitq_sleep(...).
 * A killed thread is woken too: loops must also test current_killed().
 */
#ifndef AXIOM_WAITQ_H
#define AXIOM_WAITQ_H

#include <stdbool.h>
#include <stdint.h>
#include <spinlock.h>

struct thread;

struct waitq {
	struct thread *head;          /* sleepers, linked through thread->wait_next;
	                                 protected by sched_lock (sched.h) */
};

void waitq_init(struct waitq *wq);
void waitq_sleep(struct waitq *wq, struct spinlock *held);
/* Like waitq_sleep but also wakes up at arch_time_ns() >= deadline_ns.
 * Returns true if the deadline passed. */
bool waitq_sleep_until(struct waitq *wq, struct spinlock *held, uint64_t deadline_ns);
void waitq_wake_all(struct waitq *wq);
bool current_killed(void);

#endif

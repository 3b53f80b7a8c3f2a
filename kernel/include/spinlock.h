/*
 * spinlock.h — mutual exclusion between CPUs.
 *
 * A spinlock disables interrupts on the local CPU while it is held (like
 * xv6's push_off/pop_off): an interrupt handler that took the same lock on
 * the same CPU would otherwise deadlock, and a thread holding a lock must
 * never be preempted. Nesting is counted per CPU; interrupts come back on
 * when the outermost lock is released and they were on before the first.
 *
 * A spinner that waits for more than SPIN_WATCHDOG_NS declares a lockup and
 * panics with kind "watchdog": a deadlock is a bug we want to see, with the
 * holder's CPU in the record, not a silent hang.
 */
#ifndef AXIOM_SPINLOCK_H
#define AXIOM_SPINLOCK_H

#include <stdint.h>
#include <stdbool.h>

#define SPIN_WATCHDOG_NS (10ull * 1000 * 1000 * 1000) /* see WATCHDOG_NS in sched.h */

struct spinlock {
	volatile uint32_t locked;     /* 0 free, 1 held */
	int cpu;                      /* holder's CPU id, -1 when free */
	const char *name;             /* for panics and debuggers */
};

#define SPINLOCK_INIT(n) { .locked = 0, .cpu = -1, .name = (n) }

void spin_init(struct spinlock *l, const char *name);
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
/* Same as spin_lock/spin_unlock; the returned flags are the interrupt state
 * before the call (spin_lock already saves it, this form exists for code
 * that wants the explicit pairing). */
unsigned long spin_lock_irqsave(struct spinlock *l);
void spin_unlock_irqrestore(struct spinlock *l, unsigned long flags);
/* True if this CPU holds l. */
bool spin_holding(struct spinlock *l);

/* Interrupt-disable nesting used by the locks (also usable on its own). */
void irq_push_off(void);
void irq_pop_off(void);

#endif

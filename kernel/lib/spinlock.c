/*
 * spinlock.c — spinlocks and the interrupt-disable nesting (spinlock.h).
 *
 * Acquire uses an atomic swap with acquire ordering, release a store with
 * release ordering (RISC-V: amoswap.w.aq / fence + sw; the A extension's
 * "Atomic Memory Operations" section).
 */
#include <kernel.h>
#include <spinlock.h>
#include <percpu.h>
#include <panic.h>

void irq_push_off(void)
{
	unsigned long flags = arch_irq_save();
	struct cpu *c = this_cpu();

	if (!c)
		return;               /* early boot: interrupts are off anyway */
	if (c->irq_depth == 0)
		c->irq_were_on = flags != 0;
	c->irq_depth++;
}

void irq_pop_off(void)
{
	struct cpu *c = this_cpu();

	if (!c)
		return;
	if (c->irq_depth <= 0)
		panic("irq_pop_off: unbalanced");
	if (--c->irq_depth == 0 && c->irq_were_on)
		arch_irq_enable();
}

void spin_init(struct spinlock *l, const char *name)
{
	l->locked = 0;
	l->cpu = -1;
	l->name = name;
}

bool spin_holding(struct spinlock *l)
{
	struct cpu *c = this_cpu();
	return l->locked && c && l->cpu == (int)c->id;
}

void spin_lock(struct spinlock *l)
{
	irq_push_off();
	if (spin_holding(l))
		panic("spinlock %s: already held by this CPU", l->name);
	uint64_t start = 0;
	unsigned spins = 0;
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE)) {
		/* Wait with plain loads until it looks free (less bus traffic). */
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) {
			arch_cpu_relax();
			if (panic_in_progress)
				panic_stop_this_cpu();
			if ((++spins & 0xfff) == 0) {
				uint64_t now = arch_time_ns();
				if (!start)
					start = now;
				else if (now - start > SPIN_WATCHDOG_NS) {
					static char msg[96];
					snprintf(msg, sizeof(msg), "lockup: spinlock '%s' held by cpu %d for over %llu ms",
						 l->name ? l->name : "?", l->cpu,
						 (unsigned long long)(SPIN_WATCHDOG_NS / 1000000));
					struct panic_info pi = {
						.kind = "watchdog",
						.cause = "spinlock lockup",
						.message = msg,
						.fp = (uintptr_t)__builtin_frame_address(0),
						.pc = (uintptr_t)__builtin_return_address(0),
						.cpu_override = -1,
					};
					panic_report(&pi);
				}
			}
		}
	}
	struct cpu *c = this_cpu();
	l->cpu = c ? (int)c->id : 0;
}

void spin_unlock(struct spinlock *l)
{
	if (!spin_holding(l) && this_cpu())
		panic("spinlock %s: released but not held", l->name);
	l->cpu = -1;
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	irq_pop_off();
}

unsigned long spin_lock_irqsave(struct spinlock *l)
{
	unsigned long flags = arch_irq_save();
	arch_irq_restore(flags);
	spin_lock(l);
	return flags;
}

void spin_unlock_irqrestore(struct spinlock *l, unsigned long flags)
{
	spin_unlock(l);
	(void)flags;              /* irq_pop_off restored the state of the outermost lock */
}

/*
 * crash.c — deliberate crashes (crash.h), for the debugger's tests.
 * Each one is the real thing: a real null load, a real store to read-only
 * text, a real recursion into the guard page, a real lockup with
 * interrupts off.
 */
#include <kernel.h>
#include <crash.h>
#include <spinlock.h>
#include <arch/arch.h>
#include <axiom/errno.h>

static volatile uintptr_t crash_null_addr;      /* stays 0 */
static volatile int crash_zero;
static volatile unsigned long crash_depth;

static __noinline void crash_null(void)
{
	volatile int *p = (volatile int *)crash_null_addr;
	(void)*p;
}

static __noinline void crash_write_text(void)
{
	volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)&crash_inject;
	*p = 0;
}

/* 512 bytes of frame per call until the stack runs into its guard page. */
static __noinline void crash_recurse(volatile char *prev)
{
	volatile char frame[512];

	frame[0] = prev ? prev[0] + 1 : 1;
	frame[511] = frame[0];
	/* crash_depth never reaches ~0: the guard page stops us first (the
	 * test also keeps clang from proving the recursion infinite). */
	if (++crash_depth != ~0ul)
		crash_recurse(frame);
	frame[1] = 0;                 /* not a tail call */
}

/* A lock that a CPU which no longer exists "holds". */
static struct spinlock crash_lock = SPINLOCK_INIT("crash-lockup");

static __noinline void crash_lockup(void)
{
	/* Interrupts off for good, then spin on a lock nobody will release.
	 * Another CPU's tick watchdog (no heartbeat from this CPU) or, on a
	 * single CPU, the spinlock's own lockup detector panics with kind
	 * "watchdog". */
	arch_irq_disable();
	crash_lock.locked = 1;
	crash_lock.cpu = 99;
	spin_lock(&crash_lock);
	for (;;)
		arch_cpu_relax();
}

int crash_inject(const char *keyword)
{
	if (!keyword)
		return -EINVAL;
	kprintf("crash: injecting '%s'", keyword);
	if (!strcmp(keyword, "null")) {
		crash_null();
	} else if (!strcmp(keyword, "write-text")) {
		crash_write_text();
	} else if (!strcmp(keyword, "stack-overflow")) {
		crash_recurse(NULL);
	} else if (!strcmp(keyword, "undefined")) {
		arch_crash_undefined();
	} else if (!strcmp(keyword, "divide")) {
		if (!arch_crash_divide()) {
			kprintf("crash: integer division never traps on %s", ARCH_NAME);
			return -EOPNOTSUPP;
		}
	} else if (!strcmp(keyword, "assert")) {
		KASSERT(crash_zero == 1);
	} else if (!strcmp(keyword, "lockup")) {
		crash_lockup();
	} else if (!strcmp(keyword, "panic")) {
		panic("crash injected: panic");
	} else {
		return -EINVAL;
	}
	panic("crash '%s' did not crash", keyword);
}

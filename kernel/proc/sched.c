/*
 * sched.c — threads on CPUs: the run queue, context switches, sleeping,
 * wait queues, the timer tick, idle threads and the watchdog.
 *
 * One global run queue (FIFO) protected by sched_lock serves every CPU:
 * round robin, a thread runs until it sleeps, yields or has used
 * SCHED_QUANTUM_TICKS ticks. sched_lock is the innermost lock of the kernel:
 * it is taken while holding any other lock (waking), never the other way.
 *
 * A context switch happens with sched_lock held. The lock is released by the
 * thread that runs next (after its own arch_context_switch returns, or in
 * sched_thread_start for a new thread). So when any CPU holds sched_lock, no
 * other CPU is half-way through a switch: a DEAD thread found on dead_list
 * is definitely off its stack and can be freed.
 */
#include <kernel.h>
#include <sched.h>
#include <proc.h>
#include <percpu.h>
#include <panic.h>
#include <console.h>
#include <axiom/errno.h>
#include <axiom/bpf.h>
#include "../bpf/bpf.h"

struct cpu cpus[MAX_CPUS];
unsigned ncpus_online;

struct spinlock sched_lock = SPINLOCK_INIT("sched");
static struct thread *runq_head, *runq_tail;
static struct thread *timed_list;         /* threads with a wake_at_ns deadline */
static struct thread *dead_list;          /* exited threads waiting to be freed */
static bool need_resched[MAX_CPUS];
static uint64_t slice_start_tick[MAX_CPUS];

/*
 * eBPF sched_switch attach point. sched_switch runs with sched_lock held,
 * the kernel's innermost lock, and programs may call helpers that take other
 * locks (trace_printk: the log and console locks; calls between bpf
 * functions: the heap lock), so programs must not run there. Instead
 * sched_switch records the event in a small per-CPU queue (interrupts are
 * off, so only this CPU touches its queue) and the thread that runs next
 * delivers it right after it has released sched_lock, in sched_bpf_flush.
 * Every path back from a switch passes a flush: sched_yield, sleep_on, the
 * idle loop and sched_thread_start. A full queue drops the event (counted).
 * With nothing attached the cost is one load and a predicted branch at the
 * switch, and one load of this CPU's queue length at each flush point (events
 * still queued when the last program detaches are flushed into the void, so
 * a program attached later never sees stale ones).
 */
#define SCHED_BPF_QLEN 8
struct sched_bpf_queue {
	uint32_t head, n;
	uint64_t dropped;
	struct bpf_sched_switch_ctx ev[SCHED_BPF_QLEN];
};
static struct sched_bpf_queue sched_bpf_q[MAX_CPUS];

static void sched_bpf_record(struct cpu *c, const struct thread *prev, const struct thread *next,
			     uint64_t now)
{
	struct sched_bpf_queue *q = &sched_bpf_q[c->id];

	if (q->n == SCHED_BPF_QLEN) {
		q->dropped++;
		return;
	}
	struct bpf_sched_switch_ctx *e = &q->ev[(q->head + q->n) % SCHED_BPF_QLEN];
	e->prev_pid = (uint32_t)prev->tid;
	e->next_pid = (uint32_t)next->tid;
	e->prev_state = (uint32_t)prev->state;
	e->cpu = c->id;
	e->ts_ns = now;
	q->n++;
}

/* Anything queued on this CPU? A racy read (we may migrate): a wrong answer
 * only delays or wastes one flush, which rechecks with interrupts off. */
static inline bool sched_bpf_pending(void)
{
	struct cpu *c = this_cpu();
	return c && __atomic_load_n(&sched_bpf_q[c->id].n, __ATOMIC_RELAXED) != 0;
}

/* Deliver this CPU's queued switch events; sched_lock must not be held. The
 * event is copied out with interrupts off (the queue is per CPU), the
 * programs run with the caller's interrupt state. */
static void sched_bpf_flush(void)
{
	for (;;) {
		struct bpf_sched_switch_ctx ctx;
		unsigned long f = arch_irq_save();
		struct sched_bpf_queue *q = &sched_bpf_q[this_cpu()->id];

		if (q->n == 0) {
			arch_irq_restore(f);
			return;
		}
		ctx = q->ev[q->head];
		q->head = (q->head + 1) % SCHED_BPF_QLEN;
		q->n--;
		arch_irq_restore(f);
		bpf_run_hook(BPF_AXIOM_SCHED_SWITCH, &ctx, sizeof(ctx));
	}
}

static void runq_push(struct thread *t)
{
	t->run_next = NULL;
	if (runq_tail)
		runq_tail->run_next = t;
	else
		runq_head = t;
	runq_tail = t;
}

static struct thread *runq_pop(void)
{
	struct thread *t = runq_head;
	if (t) {
		runq_head = t->run_next;
		if (!runq_head)
			runq_tail = NULL;
		t->run_next = NULL;
	}
	return t;
}

/* Take t off whatever it sleeps on and queue it. sched_lock held. */
static void wake_locked(struct thread *t)
{
	if (t->state != THREAD_SLEEPING)
		return;
	if (t->waiting_on) {
		struct thread **pp = &t->waiting_on->head;
		while (*pp && *pp != t)
			pp = &(*pp)->wait_next;
		if (*pp)
			*pp = t->wait_next;
		t->waiting_on = NULL;
		t->wait_next = NULL;
	}
	if (t->wake_at_ns) {
		struct thread **pp = &timed_list;
		while (*pp && *pp != t)
			pp = &(*pp)->timer_next;
		if (*pp)
			*pp = t->timer_next;
		t->timer_next = NULL;
		t->wake_at_ns = 0;
	}
	t->state = THREAD_RUNNABLE;
	runq_push(t);
}

void sched_wake(struct thread *t)
{
	spin_lock(&sched_lock);
	if (t->state == THREAD_SLEEPING || t->state == 0) {
		t->state = THREAD_SLEEPING;
		wake_locked(t);
	}
	spin_unlock(&sched_lock);
}

/* Wake every sleeping thread of process p (it was killed). */
void sched_wake_process(struct process *p)
{
	spin_lock(&sched_lock);
	for (struct thread *t = p->threads; t; t = t->proc_next)
		wake_locked(t);
	spin_unlock(&sched_lock);
}

void sched_switch(void)
{
	struct cpu *c = this_cpu();
	struct thread *prev = c->current;

	KASSERT(spin_holding(&sched_lock));
	struct thread *next = runq_pop();
	if (!next) {
		if (prev->state == THREAD_RUNNING)
			return;               /* nothing else to run: keep going */
		next = c->idle;
	}
	if (prev->state == THREAD_RUNNING) {
		prev->state = THREAD_RUNNABLE;
		if (!prev->is_idle)
			runq_push(prev);
	} else if (prev->state == THREAD_DEAD) {
		prev->run_next = dead_list;   /* freed once we are off its stack */
		dead_list = prev;
	}
	if (next == prev) {
		prev->state = THREAD_RUNNING;
		return;
	}
	uint64_t now = arch_time_ns();
	if (bpf_hook_active(BPF_AXIOM_SCHED_SWITCH))
		sched_bpf_record(c, prev, next, now);
	prev->runtime_ns += now - prev->last_run_ns;
	if (prev->is_idle)
		c->idle_ns += now - prev->last_run_ns;
	next->last_run_ns = now;
	next->state = THREAD_RUNNING;
	next->cpu = (int)c->id;
	next->switches++;
	c->current = next;
	c->ctx_switches++;
	slice_start_tick[c->id] = c->ticks;
	need_resched[c->id] = false;

	/* The address space and the stack traps from user mode will use. */
	struct vm *pvm = prev->proc ? prev->proc->vm : NULL;
	struct vm *nvm = next->proc ? next->proc->vm : NULL;
	if (pvm != nvm || prev->state == THREAD_DEAD)
		arch_aspace_switch(nvm ? &nvm->as : NULL);
	arch_set_kernel_stack(next->kstack.top);
	c->kstack_lo = next->kstack.base;

	/* The interrupt nesting belongs to the thread, not the CPU (xv6's intena). */
	int depth = c->irq_depth;
	bool were_on = c->irq_were_on;
	arch_context_switch(&prev->ctx, &next->ctx);
	c = this_cpu();               /* we may be on another CPU now */
	c->irq_depth = depth;
	c->irq_were_on = were_on;
}

/* Free threads that finished switching away for the last time. */
void thread_free(struct thread *t);

static void sched_reap(void)
{
	if (!__atomic_load_n(&dead_list, __ATOMIC_RELAXED))
		return;
	spin_lock(&sched_lock);
	struct thread *list = dead_list;
	dead_list = NULL;
	spin_unlock(&sched_lock);
	while (list) {
		struct thread *next = list->run_next;
		thread_free(list);
		list = next;
	}
}

/* First code a new thread runs (arch_context_init entry). */
void sched_thread_start(void *arg)
{
	struct thread *t = arg;
	struct cpu *c = this_cpu();

	/* We hold sched_lock, taken by the thread that switched to us. */
	c->irq_depth = 1;
	c->irq_were_on = false;
	spin_unlock(&sched_lock);
	sched_reap();
	if (sched_bpf_pending())
		sched_bpf_flush();
	if (t->proc) {
		/* A user thread: leave through its prepared trap frame. */
		arch_enter_user(t->tf);
	}
	arch_irq_enable();
	t->kentry(t->karg);
	thread_exit();
}

void sched_yield(void)
{
	spin_lock(&sched_lock);
	sched_switch();
	spin_unlock(&sched_lock);
	sched_reap();
	if (sched_bpf_pending())
		sched_bpf_flush();
}

bool sched_need_resched(void)
{
	struct cpu *c = this_cpu();
	return c && need_resched[c->id];
}

/* ---- wait queues ---- */

void waitq_init(struct waitq *wq)
{
	wq->head = NULL;
}

static bool sleep_on(struct waitq *wq, struct spinlock *held, uint64_t deadline)
{
	struct thread *t = current_thread();

	spin_lock(&sched_lock);
	t->timed_out = false;
	if (wq) {
		t->wait_next = wq->head;
		wq->head = t;
		t->waiting_on = wq;
	}
	if (deadline) {
		t->wake_at_ns = deadline;
		t->timer_next = timed_list;
		timed_list = t;
	}
	t->state = THREAD_SLEEPING;
	if (held)
		spin_unlock(held);
	/* A kill that raced with us going to sleep: do not sleep at all. */
	if (t->proc && t->proc->killed)
		wake_locked(t);
	sched_switch();
	bool timed_out = t->timed_out;
	spin_unlock(&sched_lock);
	sched_reap();
	if (sched_bpf_pending())
		sched_bpf_flush();
	if (held)
		spin_lock(held);
	return timed_out;
}

void waitq_sleep(struct waitq *wq, struct spinlock *held)
{
	sleep_on(wq, held, 0);
}

bool waitq_sleep_until(struct waitq *wq, struct spinlock *held, uint64_t deadline_ns)
{
	return sleep_on(wq, held, deadline_ns ? deadline_ns : 1);
}

void waitq_wake_all(struct waitq *wq)
{
	spin_lock(&sched_lock);
	while (wq->head)
		wake_locked(wq->head);
	spin_unlock(&sched_lock);
}

bool current_killed(void)
{
	struct process *p = current_process();
	return p && __atomic_load_n(&p->killed, __ATOMIC_RELAXED);
}

int sched_sleep_ns(uint64_t ns)
{
	uint64_t deadline = arch_time_ns() + ns;

	while (arch_time_ns() < deadline) {
		if (current_killed())
			return -EINTR;
		sleep_on(NULL, NULL, deadline);
	}
	return current_killed() ? -EINTR : 0;
}

/* ---- the tick ---- */

void sched_tick(void)
{
	struct cpu *c = this_cpu();
	uint64_t now = arch_time_ns();

	c->ticks++;
	c->last_tick_ns = now;
	if (panic_in_progress)
		panic_stop_this_cpu();
	if (c->id == 0)
		console_poll();

	spin_lock(&sched_lock);
	/* Timed sleepers whose deadline passed. */
	for (struct thread *t = timed_list, *next; t; t = next) {
		next = t->timer_next;
		if (t->wake_at_ns <= now) {
			t->timed_out = true;
			wake_locked(t);
		}
	}
	struct thread *cur = c->current;
	if (cur->is_idle ? runq_head != NULL
			 : (c->ticks - slice_start_tick[c->id] >= SCHED_QUANTUM_TICKS && runq_head))
		need_resched[c->id] = true;
	spin_unlock(&sched_lock);

	/*
	 * Watchdog: every online CPU takes a tick every 1/SCHED_HZ s. One that
	 * has not for WATCHDOG_NS is spinning with interrupts off: a lockup.
	 */
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		struct cpu *o = &cpus[i];
		if (o == c || !o->online || !o->last_tick_ns)
			continue;
		uint64_t last = __atomic_load_n(&o->last_tick_ns, __ATOMIC_RELAXED);
		if (now > last && now - last > WATCHDOG_NS) {
			static char msg[96];
			snprintf(msg, sizeof(msg), "cpu %u: no timer tick for %llu ms (interrupts off?)", i,
				 (unsigned long long)((now - last) / 1000000));
			struct panic_info pi = {
				.kind = "watchdog",
				.cause = "lockup detected",
				.message = msg,
				.fp = (uintptr_t)__builtin_frame_address(0),
				.pc = (uintptr_t)__builtin_return_address(0),
				.cpu_override = -1,           /* the reporter; the message names the stuck CPU */
			};
			panic_report(&pi);
		}
	}
}

/* ---- idle ---- */

__noreturn void sched_idle_loop(void)
{
	struct cpu *c = this_cpu();

	arch_irq_enable();
	for (;;) {
		spin_lock(&sched_lock);
		if (runq_head)
			sched_switch();
		bool empty = runq_head == NULL;
		spin_unlock(&sched_lock);
		sched_reap();
		if (sched_bpf_pending())
			sched_bpf_flush();
		if (panic_in_progress)
			panic_stop_this_cpu();
		if (empty)
			arch_wait_for_interrupt();
		(void)c;
	}
}

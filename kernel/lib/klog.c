/*
 * klog.c — the kernel log ring (klog.h) and kprintf.
 */
#include <kernel.h>
#include <klog.h>
#include <console.h>
#include <percpu.h>
#include <proc.h>
#include <panic.h>

struct klog_ring klog_ring = {
	.magic = KLOG_MAGIC,
	.nrecords = KLOG_NRECORDS,
	.record_size = sizeof(struct klog_record),
	.lock = SPINLOCK_INIT("klog"),
};

static volatile bool klog_unlocked;   /* panic: no locks, no echo */

void klog_panic_mode(void)
{
	klog_unlocked = true;
}

static void echo(const struct klog_record *r)
{
	char line[KLOG_TEXT_MAX + 32];
	uint64_t us = r->ts_ns / 1000;
	int n = snprintf(line, sizeof(line), "[%5llu.%06llu] %s\n",
			 (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000), r->text);
	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1;
	console_write(line, (size_t)n);
}

void klog(int level, const char *fmt, ...)
{
	char text[KLOG_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(text) - 1)
		n = sizeof(text) - 1;
	while (n > 0 && text[n - 1] == '\n')
		text[--n] = 0;

	struct process *p = current_process();
	struct cpu *c = this_cpu();
	bool locked = !klog_unlocked;
	if (locked)
		spin_lock(&klog_ring.lock);
	uint64_t seq = klog_ring.next_seq++;
	struct klog_record *r = &klog_ring.rec[seq % KLOG_NRECORDS];
	r->seq = seq;
	r->ts_ns = arch_time_ns();
	r->pid = p ? p->pid : 0;
	r->cpu = c ? (uint16_t)c->id : 0;
	r->level = (uint8_t)level;
	r->len = (uint8_t)n;
	memcpy(r->text, text, (size_t)n + 1);
	if (locked) {
		echo(r);
		spin_unlock(&klog_ring.lock);
	}
}

uint64_t klog_next_seq(void)
{
	return __atomic_load_n(&klog_ring.next_seq, __ATOMIC_ACQUIRE);
}

size_t klog_read(uint64_t *seq, char *buf, size_t n)
{
	size_t len = 0;

	if (!n)
		return 0;
	spin_lock(&klog_ring.lock);
	uint64_t next = klog_ring.next_seq;
	uint64_t oldest = next > KLOG_NRECORDS ? next - KLOG_NRECORDS : 0;
	uint64_t s = *seq < oldest ? oldest : *seq;
	if (s < next) {
		const struct klog_record *r = &klog_ring.rec[s % KLOG_NRECORDS];
		int m = snprintf(buf, n, "%u,%llu,%llu,%u,%d;%s\n", r->level, (unsigned long long)r->seq,
				 (unsigned long long)(r->ts_ns / 1000), r->cpu, r->pid, r->text);
		len = m < 0 ? 0 : ((size_t)m < n ? (size_t)m : n - 1);
		*seq = s + 1;
	}
	spin_unlock(&klog_ring.lock);
	return len;
}

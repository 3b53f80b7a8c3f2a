/*
 * console.c — the serial console for devfs and the kernel log.
 *
 * Output: bytes go straight to the UART (polled), "\n" becomes "\r\n" like a
 * terminal's ONLCR. console_lock keeps lines from different CPUs apart.
 * Input: CPU 0's timer tick moves waiting UART bytes into `in` (a ring) and
 * wakes readers; "\r" (what a terminal sends for Enter) becomes "\n".
 */
#include <kernel.h>
#include <console.h>
#include <spinlock.h>
#include <waitq.h>
#include <arch/arch.h>
#include <axiom/errno.h>

#define CONSOLE_IN_SIZE 512

static struct spinlock out_lock = SPINLOCK_INIT("console-out");
static struct spinlock in_lock = SPINLOCK_INIT("console-in");
static struct waitq in_wait;
static char in_buf[CONSOLE_IN_SIZE];
static size_t in_head, in_tail;       /* head: next write, tail: next read */
static bool console_ready;

void console_init(void)
{
	waitq_init(&in_wait);
	console_ready = true;
}

void console_write_raw(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n')
			arch_console_putc('\r');
		arch_console_putc(buf[i]);
	}
}

void console_write(const char *buf, size_t n)
{
	spin_lock(&out_lock);
	console_write_raw(buf, n);
	spin_unlock(&out_lock);
}

void console_poll(void)
{
	int c;
	bool got = false;

	if (!console_ready)
		return;
	spin_lock(&in_lock);
	/* Take bytes only while the ring has room: the rest waits in the UART
	 * (and QEMU holds back its input while the UART FIFO is full), so
	 * input longer than the ring is delayed until a reader drains it,
	 * never dropped. */
	while (in_head - in_tail < CONSOLE_IN_SIZE && (c = arch_console_getc()) >= 0) {
		if (c == '\r')
			c = '\n';
		in_buf[in_head % CONSOLE_IN_SIZE] = (char)c;
		in_head++;
		got = true;
	}
	if (got)
		waitq_wake_all(&in_wait);
	spin_unlock(&in_lock);
}

long console_read(char *buf, size_t n)
{
	size_t got = 0;

	if (n == 0)
		return 0;
	spin_lock(&in_lock);
	while (in_head == in_tail) {
		if (current_killed()) {
			spin_unlock(&in_lock);
			return -EINTR;
		}
		waitq_sleep(&in_wait, &in_lock);
	}
	while (got < n && in_tail != in_head) {
		buf[got++] = in_buf[in_tail % CONSOLE_IN_SIZE];
		in_tail++;
	}
	spin_unlock(&in_lock);
	return (long)got;
}

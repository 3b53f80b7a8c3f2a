/*
 * uart.c — the console: a 16550-compatible UART at I/O port 0x3f8 (COM1),
 * which QEMU connects to -serial / -nographic stdio. Polled, no interrupts:
 * arch.h asks only for putc and a non-blocking getc.
 *
 * Registers (offsets from 0x3f8; PC16550D data sheet): 0 data (DLAB=0) or
 * divisor low (DLAB=1), 1 interrupt enable or divisor high, 2 FIFO control,
 * 3 line control (bit 7 = DLAB), 4 modem control, 5 line status
 * (bit 0 = data ready, bit 5 = transmit holding register empty).
 */
#include <arch/arch.h>
#include <asm/x86.h>

#define COM1 0x3f8

void x86_uart_init(void)
{
	outb(COM1 + 1, 0x00);   /* no UART interrupts: we poll */
	outb(COM1 + 3, 0x80);   /* DLAB=1 to set the divisor */
	outb(COM1 + 0, 0x01);   /* 115200 baud (divisor 1) */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);   /* 8 data bits, no parity, 1 stop bit, DLAB=0 */
	outb(COM1 + 2, 0xc7);   /* enable and clear FIFOs */
	outb(COM1 + 4, 0x03);   /* DTR, RTS */
}

static void uart_tx(char c)
{
	/* wait for the transmit holding register to empty (bounded: a missing
	 * UART must not hang the kernel) */
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

void arch_console_putc(char c)
{
	if (c == '\n')
		uart_tx('\r');
	uart_tx(c);
}

int arch_console_getc(void)
{
	if (!(inb(COM1 + 5) & 0x01))
		return -1;
	return inb(COM1);
}

void x86_early_puts(const char *s)
{
	while (*s)
		arch_console_putc(*s++);
}

void x86_early_hex(uint64_t v)
{
	char buf[19];
	buf[0] = '0';
	buf[1] = 'x';
	for (int i = 0; i < 16; i++)
		buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
	buf[18] = 0;
	x86_early_puts(buf);
}

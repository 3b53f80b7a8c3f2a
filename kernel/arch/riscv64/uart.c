/*
 * uart.c — the NS16550A UART of QEMU's virt machine (0x10000000), polled.
 *
 * Registers (byte wide): RBR/THR at 0, IER at 1, FCR at 2, LCR at 3,
 * LSR at 5 (bit 0 data ready, bit 5 transmit holding register empty).
 * QEMU needs no baud-rate setup; we only enable the FIFOs and 8N1.
 */
#include "rv.h"

#define UART_RBR 0
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20

static volatile uint8_t *uart;

void rv_uart_init(uint64_t pa)
{
	uart = phys_to_virt(pa);
	uart[UART_IER] = 0x00;        /* polled: no UART interrupts */
	uart[UART_LCR] = 0x03;        /* 8 data bits, no parity, 1 stop bit */
	uart[UART_FCR] = 0x07;        /* enable and clear both FIFOs */
}

void arch_console_putc(char c)
{
	if (!uart)
		return;
	while (!(uart[UART_LSR] & LSR_THRE))
		;
	uart[UART_THR] = (uint8_t)c;
}

int arch_console_getc(void)
{
	if (!uart || !(uart[UART_LSR] & LSR_DR))
		return -1;
	return uart[UART_RBR];
}

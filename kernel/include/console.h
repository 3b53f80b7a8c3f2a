/*
 * console.h — the serial console as a character device (used by devfs and
 * by klog's echo). Input is polled from the UART on every timer tick of CPU 0
 * into a small ring; readers sleep until a byte arrives.
 */
#ifndef AXIOM_CONSOLE_H
#define AXIOM_CONSOLE_H

#include <stddef.h>

void console_init(void);
/* Blocks until at least one byte is available; returns bytes read or
 * -EINTR if the calling thread was killed while waiting. */
long console_read(char *buf, size_t n);
void console_write(const char *buf, size_t n);
/* Called from the timer tick: move waiting UART bytes into the ring. */
void console_poll(void);
/* Raw output, no locks: only for the panic path. */
void console_write_raw(const char *buf, size_t n);

#endif

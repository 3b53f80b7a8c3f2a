/*
 * sbuf.h — append text to a fixed buffer (used by the /proc views).
 * Output beyond `size` is dropped; `len` never exceeds size - 1 and the
 * buffer stays NUL-terminated.
 */
#ifndef AXIOM_SBUF_H
#define AXIOM_SBUF_H

#include <stddef.h>
#include <stdarg.h>

struct sbuf {
	char *buf;
	size_t size;
	size_t len;
};

void sbuf_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *sb, const char *fmt, va_list ap);

#endif

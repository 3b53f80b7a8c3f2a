/* sbuf.c — bounded text accumulation for the /proc views. */
#include <kernel.h>
#include <sbuf.h>

void sbuf_vprintf(struct sbuf *sb, const char *fmt, va_list ap)
{
	if (!sb->buf || sb->size == 0 || sb->len + 1 >= sb->size)
		return;
	int n = vsnprintf(sb->buf + sb->len, sb->size - sb->len, fmt, ap);
	if (n < 0)
		return;
	sb->len += (size_t)n;
	if (sb->len > sb->size - 1)
		sb->len = sb->size - 1;
}

void sbuf_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(sb, fmt, ap);
	va_end(ap);
}

/*
 * printf family. One formatter (format()) writes through a sink; the
 * string sink fills a buffer, the fd sink flushes a stack buffer with
 * write(). Supports flags - 0 + space #, width and precision (also *),
 * length modifiers hh h l ll z j t, conversions d i u x X o p s c %.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct sink {
	void (*put)(struct sink *s, const char *p, size_t n);
	char *buf;
	size_t size;	/* capacity of buf */
	size_t len;	/* bytes stored in buf */
	size_t total;	/* bytes produced */
	int fd;
	int error;
};

static void put_pad(struct sink *s, char c, int n)
{
	char pad[16];

	memset(pad, c, sizeof(pad));
	while (n > 0) {
		int k = n < 16 ? n : 16;
		s->put(s, pad, (size_t)k);
		n -= k;
	}
}

/* Emits one converted field: prefix (sign or 0x), zero padding, digits. */
static void put_field(struct sink *s, const char *prefix, const char *body, size_t len,
		      int width, int left, int zero_pad, int min_digits)
{
	size_t plen = strlen(prefix);
	int zeros = min_digits > (int)len ? min_digits - (int)len : 0;
	int total = (int)(plen + len) + zeros;

	if (zero_pad && !left && width > total) {
		zeros += width - total;
		total = width;
	}
	if (!left)
		put_pad(s, ' ', width - total);
	s->put(s, prefix, plen);
	put_pad(s, '0', zeros);
	s->put(s, body, len);
	if (left)
		put_pad(s, ' ', width - total);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	while (*fmt) {
		if (*fmt != '%') {
			const char *start = fmt;
			while (*fmt && *fmt != '%')
				fmt++;
			s->put(s, start, (size_t)(fmt - start));
			continue;
		}
		fmt++;

		int left = 0, zero = 0, plus = 0, space = 0, alt = 0;
		for (;; fmt++) {
			if (*fmt == '-')
				left = 1;
			else if (*fmt == '0')
				zero = 1;
			else if (*fmt == '+')
				plus = 1;
			else if (*fmt == ' ')
				space = 1;
			else if (*fmt == '#')
				alt = 1;
			else
				break;
		}
		int width = 0;
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = 1;
				width = -width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (*fmt++ - '0');
		}
		int prec = -1;
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					prec = prec * 10 + (*fmt++ - '0');
			}
		}
		int lng = 0;	/* 0 int, 1 long/size_t/intmax/ptrdiff, -1 short, -2 char */
		for (;; fmt++) {
			if (*fmt == 'l' || *fmt == 'z' || *fmt == 'j' || *fmt == 't')
				lng = 1;
			else if (*fmt == 'h')
				lng = lng < 0 ? -2 : -1;
			else
				break;
		}

		char conv = *fmt ? *fmt++ : 0;
		char digits[24];
		const char *prefix = "";
		int base = 10, upper = 0;
		uint64_t v = 0;

		switch (conv) {
		case '%':
			s->put(s, "%", 1);
			continue;
		case 'c': {
			char c = (char)va_arg(ap, int);
			put_field(s, "", &c, 1, width, left, 0, 0);
			continue;
		}
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			size_t len = prec >= 0 ? strnlen(str, (size_t)prec) : strlen(str);
			put_field(s, "", str, len, width, left, 0, 0);
			continue;
		}
		case 'p':
			v = (uintptr_t)va_arg(ap, void *);
			base = 16;
			prefix = "0x";
			break;
		case 'd':
		case 'i': {
			int64_t sv = lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
			if (lng == -1)
				sv = (short)sv;
			else if (lng == -2)
				sv = (signed char)sv;
			if (sv < 0) {
				prefix = "-";
				v = (uint64_t)0 - (uint64_t)sv;
			} else {
				prefix = plus ? "+" : space ? " " : "";
				v = (uint64_t)sv;
			}
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			v = lng == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			if (lng == -1)
				v = (unsigned short)v;
			else if (lng == -2)
				v = (unsigned char)v;
			base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
			upper = conv == 'X';
			if (alt && v && base == 16)
				prefix = upper ? "0X" : "0x";
			else if (alt && base == 8)
				prefix = "0";
			break;
		default:	/* unknown conversion: print it as is */
			s->put(s, "%", 1);
			if (conv)
				s->put(s, &conv, 1);
			continue;
		}

		const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
		size_t n = 0;
		char tmp[24];
		do {
			tmp[n++] = hex[v % (unsigned)base];
			v /= (unsigned)base;
		} while (v);
		if (prec == 0 && n == 1 && tmp[0] == '0' && conv != 'p')
			n = 0;
		for (size_t i = 0; i < n; i++)
			digits[i] = tmp[n - 1 - i];
		put_field(s, prefix, digits, n, width, left, zero && prec < 0, prec);
	}
}

static void put_string(struct sink *s, const char *p, size_t n)
{
	s->total += n;
	if (s->len + 1 < s->size) {
		size_t room = s->size - 1 - s->len;
		size_t k = n < room ? n : room;
		memcpy(s->buf + s->len, p, k);
		s->len += k;
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { .put = put_string, .buf = buf, .size = size };

	format(&s, fmt, ap);
	if (size)
		buf[s.len] = 0;
	return (int)s.total;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static void flush_fd(struct sink *s)
{
	size_t off = 0;

	while (off < s->len) {
		ssize_t w = write(s->fd, s->buf + off, s->len - off);
		if (w <= 0) {
			s->error = 1;
			break;
		}
		off += (size_t)w;
	}
	s->len = 0;
}

static void put_fd(struct sink *s, const char *p, size_t n)
{
	s->total += n;
	while (n) {
		if (s->len == s->size)
			flush_fd(s);
		size_t k = s->size - s->len < n ? s->size - s->len : n;
		memcpy(s->buf + s->len, p, k);
		s->len += k;
		p += k;
		n -= k;
	}
}

int vdprintf(int fd, const char *fmt, va_list ap)
{
	char buf[512];
	struct sink s = { .put = put_fd, .buf = buf, .size = sizeof(buf), .fd = fd };

	format(&s, fmt, ap);
	flush_fd(&s);
	return s.error ? -1 : (int)s.total;
}

int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vdprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vdprintf(1, fmt, ap);
	va_end(ap);
	return n;
}

int fdputs(int fd, const char *s)
{
	return dprintf(fd, "%s", s);
}

int puts(const char *s)
{
	return dprintf(1, "%s\n", s);
}

int putchar(int c)
{
	char ch = (char)c;
	return write(1, &ch, 1) == 1 ? (unsigned char)c : -1;
}

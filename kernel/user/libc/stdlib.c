/* exit, number parsing, environment. */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Noreturn void exit(int status)
{
	_exit(status);
}

_Noreturn void abort(void)
{
	kill(getpid(), SIGTERM);
	_exit(127);
}

static int digit_value(int c)
{
	if (isdigit(c))
		return c - '0';
	if ((c | 32) >= 'a' && (c | 32) <= 'z')
		return (c | 32) - 'a' + 10;
	return 99;
}

/* Parses an optional sign, then digits in base (0: prefix 0x hex, 0 octal,
 * else decimal). *neg reports the sign; the magnitude saturates at
 * ULONG_MAX and *overflow is set. */
static unsigned long parse(const char *s, char **end, int base, int *neg, int *overflow)
{
	const char *p = s;
	unsigned long v = 0;
	int any = 0;

	*neg = 0;
	*overflow = 0;
	while (isspace(*p))
		p++;
	if (*p == '-' || *p == '+')
		*neg = *p++ == '-';
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 32) == 'x' && isxdigit(p[2])) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = p[0] == '0' ? 8 : 10;
	}
	for (int d; (d = digit_value(*p)) < base; p++) {
		any = 1;
		if (v > (ULONG_MAX - (unsigned long)d) / (unsigned long)base) {
			*overflow = 1;
			v = ULONG_MAX;
		} else if (!*overflow) {
			v = v * (unsigned long)base + (unsigned long)d;
		}
	}
	if (end)
		*end = (char *)(any ? p : s);
	return v;
}

long strtol(const char *s, char **end, int base)
{
	int neg, overflow;
	unsigned long v = parse(s, end, base, &neg, &overflow);

	if (neg)
		return (overflow || v > (unsigned long)LONG_MAX + 1) ? LONG_MIN : (long)(0 - v);
	return (overflow || v > (unsigned long)LONG_MAX) ? LONG_MAX : (long)v;
}

unsigned long strtoul(const char *s, char **end, int base)
{
	int neg, overflow;
	unsigned long v = parse(s, end, base, &neg, &overflow);

	if (overflow)
		return ULONG_MAX;
	return neg ? 0 - v : v;
}

int atoi(const char *s)
{
	return (int)strtol(s, NULL, 10);
}

char *getenv(const char *name)
{
	size_t n = strlen(name);

	if (!environ)
		return NULL;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

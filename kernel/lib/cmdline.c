/*
 * cmdline.c — the kernel command line (from the firmware: DTB bootargs or
 * PVH cmdline): space-separated words, `key=value` or bare flags.
 */
#include <kernel.h>
#include <proc.h>

static char cmdline[BOOT_CMDLINE_MAX];

void cmdline_set(const char *s)
{
	strlcpy(cmdline, s, sizeof(cmdline));
}

const char *kernel_cmdline(void)
{
	return cmdline;
}

/* Find the word starting with `prefix` of exactly `plen` chars followed by
 * '=' (want_value) or end-of-word (flag). */
static const char *find_word(const char *prefix, size_t plen, bool want_value)
{
	for (const char *p = cmdline; *p; p++) {
		if (p != cmdline && p[-1] != ' ')
			continue;
		if (strncmp(p, prefix, plen))
			continue;
		char next = p[plen];
		if (want_value && next == '=')
			return p + plen + 1;
		if (!want_value && (next == 0 || next == ' '))
			return p;
	}
	return NULL;
}

const char *cmdline_get(const char *key, char *buf, size_t n)
{
	const char *v = find_word(key, strlen(key), true);
	size_t i = 0;

	if (!v || !n)
		return NULL;
	while (v[i] && v[i] != ' ' && i + 1 < n) {
		buf[i] = v[i];
		i++;
	}
	buf[i] = 0;
	return buf;
}

bool cmdline_has(const char *word)
{
	return find_word(word, strlen(word), false) != NULL;
}

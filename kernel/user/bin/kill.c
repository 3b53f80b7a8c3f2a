/* kill [-SIGNAL] PID...: sends a (terminating) signal, SIGTERM by default.
 * SIGNAL is a number or one of KILL, TERM, SEGV, ILL, FPE. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_signal(const char *s)
{
	static const struct { const char *name; int sig; } names[] = {
		{ "KILL", SIGKILL }, { "TERM", SIGTERM }, { "SEGV", SIGSEGV },
		{ "ILL", SIGILL }, { "FPE", SIGFPE },
	};
	char *end;
	long v = strtol(s, &end, 10);

	if (*s && !*end)
		return (int)v;
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].sig;
	return -1;
}

int main(int argc, char **argv)
{
	int sig = SIGTERM, i = 1, status = 0;

	if (i < argc && argv[i][0] == '-') {
		sig = parse_signal(argv[i] + 1);
		if (sig < 0) {
			dprintf(2, "kill: unknown signal %s\n", argv[i] + 1);
			return 2;
		}
		i++;
	}
	if (i == argc) {
		dprintf(2, "usage: kill [-SIGNAL] PID...\n");
		return 2;
	}
	for (; i < argc; i++) {
		char *end;
		long pid = strtol(argv[i], &end, 10);
		if (!*argv[i] || *end) {
			dprintf(2, "kill: %s: not a pid\n", argv[i]);
			status = 1;
		} else if (kill((pid_t)pid, sig) < 0) {
			dprintf(2, "kill: %ld: %s\n", pid, strerror(errno));
			status = 1;
		}
	}
	return status;
}

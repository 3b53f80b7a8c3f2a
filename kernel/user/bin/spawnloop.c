/*
 * spawnloop N: spawns a trivial child (this program with "-child") and
 * reaps it, N times, printing the free-memory line of /proc/meminfo before
 * and after so a test can check that exit returns every frame:
 *     spawnloop: before <line>
 *     spawnloop: after <line>
 *     spawnloop: N spawns, free before B after A
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Copies the first /proc/meminfo line mentioning "free" into line and
 * returns the first number on it, or -1. */
static long free_figure(char *line, size_t size)
{
	char buf[2048];
	int fd = open("/proc/meminfo", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	snprintf(line, size, "(no /proc/meminfo)");
	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (char *l = buf; l && *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = 0;
		char lower[256];
		size_t i = 0;
		for (; l[i] && i < sizeof(lower) - 1; i++)
			lower[i] = (char)tolower(l[i]);
		lower[i] = 0;
		if (strstr(lower, "free")) {
			snprintf(line, size, "%s", l);
			for (char *p = l; *p; p++)
				if (isdigit(*p))
					return strtol(p, NULL, 0);
			return -1;
		}
		l = nl ? nl + 1 : NULL;
	}
	return -1;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "-child") == 0)
		return 0;
	if (argc != 2 || atoi(argv[1]) <= 0) {
		dprintf(2, "usage: spawnloop N\n");
		return 2;
	}
	long n = atoi(argv[1]);
	const char *self = argv[0][0] == '/' ? argv[0] : "/bin/spawnloop";
	char *child_argv[] = { "spawnloop", "-child", NULL };
	char line[256];

	long before = free_figure(line, sizeof(line));
	printf("spawnloop: before %s\n", line);
	for (long i = 0; i < n; i++) {
		int status;
		pid_t pid = spawn(self, child_argv, environ);
		if (pid < 0) {
			printf("spawnloop: spawn %ld failed: %s\n", i, strerror(errno));
			return 1;
		}
		if (waitpid(pid, &status, 0) != pid || status != 0) {
			printf("spawnloop: child %ld: bad wait (status %#x): %s\n", i, status, strerror(errno));
			return 1;
		}
	}
	long after = free_figure(line, sizeof(line));
	printf("spawnloop: after %s\n", line);
	printf("spawnloop: %ld spawns, free before %ld after %ld\n", n, before, after);
	return 0;
}

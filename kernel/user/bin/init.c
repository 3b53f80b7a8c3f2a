/*
 * init (pid 1). Reads the kernel command line from /proc/cmdline and:
 *   - runs /bin/selftest unless selftest=0,
 *   - runs /bin/fuzz N if fuzz=N is given,
 *   - runs /bin/bpfdemo if bpfdemo is given (it loads and attaches the eBPF
 *     observability demos, which stay loaded after it exits),
 *   - prints "init: ready",
 *   - powers off if "poweroff" is given, else keeps a /bin/sh on the console,
 *     restarting it when it exits.
 * All the while it reaps every child, including orphans passed to it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *init_env[] = { "PATH=/bin", "HOME=/", NULL };

static char cmdline[1024];

/* Returns the value of "key=value" on the command line ("" for a bare key),
 * or NULL when absent. The result is a static copy. */
static const char *option(const char *key)
{
	static char value[128];
	size_t klen = strlen(key);

	for (const char *p = cmdline; *p;) {
		while (*p == ' ' || *p == '\n' || *p == '\t')
			p++;
		const char *end = p;
		while (*end && *end != ' ' && *end != '\n' && *end != '\t')
			end++;
		if ((size_t)(end - p) >= klen && strncmp(p, key, klen) == 0 &&
		    (p + klen == end || p[klen] == '=')) {
			const char *v = p + klen == end ? end : p + klen + 1;
			size_t n = (size_t)(end - v) < sizeof(value) - 1 ? (size_t)(end - v) : sizeof(value) - 1;
			memcpy(value, v, n);
			value[n] = 0;
			return value;
		}
		p = end;
	}
	return NULL;
}

static void read_cmdline(void)
{
	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t n = 0;

	if (fd < 0) {
		printf("init: /proc/cmdline: %s\n", strerror(errno));
		return;
	}
	for (ssize_t r; n < (ssize_t)sizeof(cmdline) - 1 &&
	     (r = read(fd, cmdline + n, sizeof(cmdline) - 1 - (size_t)n)) > 0;)
		n += r;
	cmdline[n < 0 ? 0 : n] = 0;
	close(fd);
}

/* Makes sure fds 0, 1 and 2 are open on the console. */
static void open_console(void)
{
	struct ax_stat st;

	if (fstat(0, &st) == 0 && fstat(1, &st) == 0 && fstat(2, &st) == 0)
		return;
	for (int fd = 0; fd < 3; fd++)
		close(fd);
	int fd = open("/dev/console", O_RDWR);
	if (fd != 0)
		return;		/* nowhere to complain */
	dup2(0, 1);
	dup2(0, 2);
}

static void report(const char *what, pid_t pid, int status)
{
	if (WIFSIGNALED(status))
		printf("init: %s (pid %d) killed by signal %d\n", what, pid, WTERMSIG(status));
	else if (WEXITSTATUS(status))
		printf("init: %s (pid %d) exited with status %d\n", what, pid, WEXITSTATUS(status));
}

/* Waits for pid, reaping any other (orphaned) children on the way. */
static int wait_for(pid_t pid)
{
	int status;

	for (;;) {
		pid_t r = waitpid(-1, &status, 0);
		if (r == pid)
			return status;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			printf("init: waitpid: %s\n", strerror(errno));
			return -1;
		}
	}
}

static int run(const char *what, char **argv)
{
	pid_t pid = spawn(argv[0], argv, init_env);

	if (pid < 0) {
		printf("init: cannot run %s: %s\n", argv[0], strerror(errno));
		return -1;
	}
	int status = wait_for(pid);
	if (status != -1)
		report(what, pid, status);
	return status;
}

int main(void)
{
	open_console();
	read_cmdline();
	printf("init: pid %d, command line: %s%s", getpid(), cmdline,
	       cmdline[0] && cmdline[strlen(cmdline) - 1] == '\n' ? "" : "\n");

	const char *st = option("selftest");
	if (!st || strcmp(st, "0") != 0) {
		char *argv[] = { "/bin/selftest", NULL };
		run("selftest", argv);
	}
	const char *fz = option("fuzz");
	if (fz && atoi(fz) > 0) {
		char count[24];
		snprintf(count, sizeof(count), "%d", atoi(fz));
		char *argv[] = { "/bin/fuzz", count, NULL };
		run("fuzz", argv);
	}

	if (option("bpfdemo")) {
		char *argv[] = { "/bin/bpfdemo", NULL };
		run("bpfdemo", argv);
	}

	printf("init: ready\n");
	if (option("poweroff")) {
		poweroff();
		printf("init: poweroff: %s\n", strerror(errno));
	}

	char *sh_argv[] = { "/bin/sh", NULL };
	for (;;) {
		int64_t started = now_ns();
		pid_t sh = spawn(sh_argv[0], sh_argv, init_env);
		if (sh < 0) {
			printf("init: cannot start /bin/sh: %s\n", strerror(errno));
			sleep_ms(1000);
			continue;
		}
		int status = wait_for(sh);
		if (status != -1)
			report("sh", sh, status);
		/* a shell that dies at once (no console input) must not spin */
		if (status == -1 || now_ns() - started < 1000000000LL)
			sleep_ms(1000);
	}
}

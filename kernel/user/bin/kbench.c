/*
 * kbench: in-guest micro-benchmarks of the kernel, for bench/kernel_bench.py.
 *
 *   kbench [N]   prints one line per measurement:
 *     kbench: call_ns <ns per plain function call>          (baseline, same run)
 *     kbench: null_syscall_ns <ns per getpid round trip>
 *     kbench: spawn_exit_per_s <spawn+waitpid of /bin/true-like child per second>
 *
 * Times come from CLOCK_MONOTONIC in the guest, so serial latency does not
 * count. The plain call is the baseline: the host script reports the syscall
 * cost as a ratio to it, which stays comparable across machines and loads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <syscall_arch.h>
#include <axiom/syscall.h>

/* A real call the compiler may not inline or remove. */
__attribute__((noinline)) static long plain_call(long x)
{
	__asm__ volatile("" : "+r"(x));
	return x + 1;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
	if (n <= 0)
		n = 20000;

	uint64_t t0 = (uint64_t)now_ns();
	long acc = 0;
	for (long i = 0; i < n; i++)
		acc = plain_call(acc);
	uint64_t t1 = (uint64_t)now_ns();
	printf("kbench: call_ns %llu\n", (unsigned long long)((t1 - t0) / (uint64_t)n));

	t0 = (uint64_t)now_ns();
	for (long i = 0; i < n; i++)
		syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
	t1 = (uint64_t)now_ns();
	printf("kbench: null_syscall_ns %llu\n", (unsigned long long)((t1 - t0) / (uint64_t)n));

	long spawns = n / 100 > 20 ? n / 100 : 20;
	char *cargv[] = { "echo", NULL };
	t0 = (uint64_t)now_ns();
	for (long i = 0; i < spawns; i++) {
		pid_t pid = spawn("/bin/echo", cargv, NULL);
		if (pid < 0) {
			printf("kbench: spawn failed: %s\n", strerror(errno));
			return 1;
		}
		int status;
		waitpid(pid, &status, 0);
	}
	t1 = (uint64_t)now_ns();
	printf("kbench: spawn_exit_per_s %llu\n",
	       (unsigned long long)((uint64_t)spawns * 1000000000ull / (t1 - t0 ? t1 - t0 : 1)));
	return acc == n ? 0 : 1;   /* uses acc, so the loop is not removed */
}

/* Thin wrappers over the system calls (see unistd.h). */
#include <errno.h>
#include <stdarg.h>
#include <unistd.h>
#include <syscall_arch.h>

int errno;

long syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	return __syscall6(nr, a0, a1, a2, a3, a4, a5);
}

/* Raw value to POSIX convention: -4095..-1 are errors. */
static long ret(long r)
{
	if (r < 0 && r >= -4095) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

#define SC0(n) ret(__syscall6(n, 0, 0, 0, 0, 0, 0))
#define SC1(n, a) ret(__syscall6(n, (long)(a), 0, 0, 0, 0, 0))
#define SC2(n, a, b) ret(__syscall6(n, (long)(a), (long)(b), 0, 0, 0, 0))
#define SC3(n, a, b, c) ret(__syscall6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0))

_Noreturn void _exit(int status)
{
	for (;;)
		__syscall6(SYS_exit, status, 0, 0, 0, 0, 0);
}

ssize_t read(int fd, void *buf, size_t n) { return SC3(SYS_read, fd, buf, n); }
ssize_t write(int fd, const void *buf, size_t n) { return SC3(SYS_write, fd, buf, n); }

int open(const char *path, int flags, ...)
{
	int mode = 0;
	if (flags & O_CREAT) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, int);
		va_end(ap);
	}
	return (int)SC3(SYS_open, path, flags, mode);
}

int close(int fd) { return (int)SC1(SYS_close, fd); }
off_t lseek(int fd, off_t off, int whence) { return SC3(SYS_lseek, fd, off, whence); }
int stat(const char *path, struct ax_stat *st) { return (int)SC2(SYS_stat, path, st); }
int fstat(int fd, struct ax_stat *st) { return (int)SC2(SYS_fstat, fd, st); }
ssize_t getdents(int fd, struct ax_dirent *buf, size_t n) { return SC3(SYS_getdents, fd, buf, n); }
int mkdir(const char *path, int mode) { return (int)SC2(SYS_mkdir, path, mode); }
int unlink(const char *path) { return (int)SC1(SYS_unlink, path); }
int rmdir(const char *path) { return (int)SC1(SYS_rmdir, path); }
int rename(const char *from, const char *to) { return (int)SC2(SYS_rename, from, to); }
int ftruncate(int fd, off_t len) { return (int)SC2(SYS_ftruncate, fd, len); }
int dup(int fd) { return (int)SC1(SYS_dup, fd); }
int dup2(int oldfd, int newfd) { return (int)SC2(SYS_dup2, oldfd, newfd); }
int pipe(int fds[2]) { return (int)SC1(SYS_pipe, fds); }
pid_t getpid(void) { return (pid_t)SC0(SYS_getpid); }
pid_t getppid(void) { return (pid_t)SC0(SYS_getppid); }
int gettid(void) { return (int)SC0(SYS_gettid); }

pid_t spawn(const char *path, char *const argv[], char *const envp[])
{
	return (pid_t)SC3(SYS_spawn, path, argv, envp);
}

int execve(const char *path, char *const argv[], char *const envp[])
{
	return (int)SC3(SYS_execve, path, argv, envp);
}

pid_t waitpid(pid_t pid, int *status, int options) { return (pid_t)SC3(SYS_waitpid, pid, status, options); }
int kill(pid_t pid, int sig) { return (int)SC2(SYS_kill, pid, sig); }

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	long r = __syscall6(SYS_mmap, (long)addr, (long)len, prot, flags, fd, off);
	if (r < 0 && r >= -4095) {
		errno = (int)-r;
		return MAP_FAILED;
	}
	return (void *)r;
}

int munmap(void *addr, size_t len) { return (int)SC2(SYS_munmap, addr, len); }
int clock_gettime(int clk, struct ax_timespec *ts) { return (int)SC2(SYS_clock_gettime, clk, ts); }
int nanosleep(const struct ax_timespec *req, struct ax_timespec *rem) { return (int)SC2(SYS_nanosleep, req, rem); }
int sched_yield(void) { return (int)SC0(SYS_sched_yield); }
int uname(struct ax_utsname *u) { return (int)SC1(SYS_uname, u); }
int chdir(const char *path) { return (int)SC1(SYS_chdir, path); }

char *getcwd(char *buf, size_t n)
{
	return SC2(SYS_getcwd, buf, n) < 0 ? NULL : buf;
}

int poweroff(void) { return (int)SC0(SYS_poweroff); }

_Noreturn void thread_exit(void)
{
	for (;;)
		__syscall6(SYS_thread_exit, 0, 0, 0, 0, 0, 0);
}

/* The block thread_create leaves at the top of the new thread's stack. */
struct thread_start {
	void (*fn)(void *);
	void *arg;
};

/* The kernel starts a thread here with its argument and sp = stack top. On
 * x86_64 that leaves sp 16-aligned rather than 16n+8 as a call would, so
 * realign it there. */
#if defined(__x86_64__)
__attribute__((force_align_arg_pointer))
#endif
static void thread_trampoline(struct thread_start *ts)
{
	ts->fn(ts->arg);
	thread_exit();
}

int thread_create(void (*fn)(void *), void *arg, void *stack, size_t size)
{
	uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
	struct thread_start *ts = (struct thread_start *)(top - 16);

	ts->fn = fn;
	ts->arg = arg;
	return (int)SC3(SYS_thread_create, thread_trampoline, ts, ts);
}

extern unsigned long __auxv[];

size_t getpagesize(void)
{
	return __auxv[AT_PAGESZ] ? __auxv[AT_PAGESZ] : 4096;
}

int sleep_ms(long ms)
{
	struct ax_timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	return nanosleep(&ts, NULL);
}

int64_t now_ns(void)
{
	struct ax_timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return -1;
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

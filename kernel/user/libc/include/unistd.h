/*
 * System calls. The POSIX-style wrappers return -1 and set errno on
 * failure; syscall() returns the raw kernel value (a negated errno on
 * failure) and is what tests use to look at the ABI itself.
 * Numbers, flags and structures come from the kernel's uapi header.
 */
#ifndef _UNISTD_H
#define _UNISTD_H
#include <stddef.h>
#include <stdint.h>
#include <axiom/syscall.h>

typedef long ssize_t;
typedef long off_t;
typedef int pid_t;
typedef struct ax_stat stat_t;
typedef struct ax_timespec timespec_t;

long syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

_Noreturn void _exit(int status);
ssize_t read(int fd, void *buf, size_t n);
ssize_t write(int fd, const void *buf, size_t n);
int open(const char *path, int flags, ...);
int close(int fd);
off_t lseek(int fd, off_t off, int whence);
int stat(const char *path, struct ax_stat *st);
int fstat(int fd, struct ax_stat *st);
ssize_t getdents(int fd, struct ax_dirent *buf, size_t n);
int mkdir(const char *path, int mode);
int unlink(const char *path);
int rmdir(const char *path);
int rename(const char *from, const char *to);
int ftruncate(int fd, off_t len);
int dup(int fd);
int dup2(int oldfd, int newfd);
int pipe(int fds[2]);
pid_t getpid(void);
pid_t getppid(void);
int gettid(void);
pid_t spawn(const char *path, char *const argv[], char *const envp[]);
int execve(const char *path, char *const argv[], char *const envp[]);
pid_t waitpid(pid_t pid, int *status, int options);
int kill(pid_t pid, int sig);
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int munmap(void *addr, size_t len);
int clock_gettime(int clk, struct ax_timespec *ts);
int nanosleep(const struct ax_timespec *req, struct ax_timespec *rem);
int sched_yield(void);
int uname(struct ax_utsname *u);
int chdir(const char *path);
char *getcwd(char *buf, size_t n);
int poweroff(void);

/* Threads share the address space. thread_create runs fn(arg) on a new
 * thread whose stack is [stack, stack+size); when fn returns the thread
 * calls thread_exit(). Returns the new thread id or -1. */
int thread_create(void (*fn)(void *), void *arg, void *stack, size_t size);
_Noreturn void thread_exit(void);

/* conveniences */
size_t getpagesize(void);	/* from the auxiliary vector (AT_PAGESZ) */
int sleep_ms(long ms);
int64_t now_ns(void);	/* CLOCK_MONOTONIC in nanoseconds, -1 on error */

#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)
#define S_ISCHR(m) (((m) & S_IFMT) == S_IFCHR)
#define S_ISFIFO(m) (((m) & S_IFMT) == S_IFIFO)

#endif

/*
 * The axiom system-call ABI, shared by the kernel and userspace.
 *
 * Entry and registers (same roles as Linux on each architecture):
 *   arch      instruction  number  arguments 0..5              return
 *   x86_64    syscall      rax     rdi rsi rdx r10 r8 r9        rax  (rcx, r11 clobbered)
 *   aarch64   svc #0       x8      x0  x1  x2  x3  x4 x5        x0
 *   riscv64   ecall        a7      a0  a1  a2  a3  a4 a5        a0
 *
 * A return value in [-4095, -1] is a negated errno (uapi/axiom/errno.h).
 * Numbers are stable: never renumber, only append. 0 is never valid.
 */
#ifndef AXIOM_UAPI_SYSCALL_H
#define AXIOM_UAPI_SYSCALL_H

#include <stdint.h>

#define SYS_exit           1   /* void exit(int status) */
#define SYS_read           2   /* long read(int fd, void *buf, size_t n) */
#define SYS_write          3   /* long write(int fd, const void *buf, size_t n) */
#define SYS_open           4   /* int open(const char *path, int flags, int mode) */
#define SYS_close          5   /* int close(int fd) */
#define SYS_lseek          6   /* long lseek(int fd, long off, int whence) */
#define SYS_stat           7   /* int stat(const char *path, struct ax_stat *st) */
#define SYS_fstat          8   /* int fstat(int fd, struct ax_stat *st) */
#define SYS_getdents       9   /* long getdents(int fd, struct ax_dirent *buf, size_t n) */
#define SYS_mkdir         10   /* int mkdir(const char *path, int mode) */
#define SYS_unlink        11   /* int unlink(const char *path) */
#define SYS_rmdir         12   /* int rmdir(const char *path) */
#define SYS_dup           13   /* int dup(int fd) */
#define SYS_dup2          14   /* int dup2(int old, int new) */
#define SYS_pipe          15   /* int pipe(int fds[2]) */
#define SYS_getpid        16   /* int getpid(void) */
#define SYS_getppid       17   /* int getppid(void) */
#define SYS_spawn         18   /* int spawn(const char *path, char *const argv[], char *const envp[]) */
#define SYS_waitpid       19   /* int waitpid(int pid, int *status, int options) */
#define SYS_mmap          20   /* void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off) */
#define SYS_munmap        21   /* int munmap(void *addr, size_t len) */
#define SYS_clock_gettime 22   /* int clock_gettime(int clk, struct ax_timespec *ts) */
#define SYS_nanosleep     23   /* int nanosleep(const struct ax_timespec *req, struct ax_timespec *rem) */
#define SYS_sched_yield   24   /* int sched_yield(void) */
#define SYS_uname         25   /* int uname(struct ax_utsname *u) */
#define SYS_chdir         26   /* int chdir(const char *path) */
#define SYS_getcwd        27   /* long getcwd(char *buf, size_t n) */
#define SYS_kill          28   /* int kill(int pid, int sig) */
#define SYS_gettid        29   /* int gettid(void) */
#define SYS_thread_create 30   /* int thread_create(void *entry, void *stack_top, void *arg) */
#define SYS_thread_exit   31   /* void thread_exit(void) */
#define SYS_execve        32   /* int execve(const char *path, char *const argv[], char *const envp[]) */
#define SYS_poweroff      33   /* int poweroff(void): only pid 1 */
#define SYS_bpf           34   /* long bpf(int cmd, union bpf_attr *attr, unsigned size) */
#define SYS_rename        35   /* int rename(const char *old, const char *new) */
#define SYS_ftruncate     36   /* int ftruncate(int fd, long len) */
#define NR_SYSCALLS       37

/*
 * Result contract of every system call, machine-readable: parsed by
 * `axiomdbg prove syscalls` (symbolic/syscalls/abi.py), which proves from the
 * compiled kernels that each handler returns only a documented success value
 * or the negation of an errno listed here. One line per call:
 *   @abi NAME: SUCCESS | ERRNO... [@SET...]
 * SUCCESS is one of: zero (0), nonneg (>= 0; execve: argc of the new program),
 * count(N) (0 <= ret <= argument N, unsigned), uaddr (a page-aligned user address), noreturn (never returns
 * normally; an error return is still checked). @SET names an @errset below.
 *
 * @errset VFS: ENOENT ENOTDIR EISDIR EEXIST ENAMETOOLONG ENOMEM ENOSPC EROFS EACCES EINVAL ENOTEMPTY EBUSY EXDEV EIO EMLINK ELOOP EFBIG EPERM ENXIO ENODEV EAGAIN EPIPE ESPIPE EFAULT EMFILE ENFILE EBADF ENOTSUP EOVERFLOW EINTR
 * @errset PROC: EFAULT ENOMEM ENOENT ENOEXEC E2BIG EINVAL EACCES EAGAIN ENOTDIR EISDIR ENAMETOOLONG EIO EMFILE ENFILE EPERM ECHILD ESRCH EINTR ELOOP
 * @errset BPF: EPERM ENOENT E2BIG EBADF EAGAIN ENOMEM EACCES EFAULT EBUSY EEXIST EINVAL ENOSPC ERANGE ENOSYS EOPNOTSUPP EFBIG ELOOP ENOTSUP EOVERFLOW
 *
 * @abi exit: noreturn |
 * @abi read: count(2) | EBADF EISDIR EINVAL EFAULT ENOMEM @VFS
 * @abi write: count(2) | EBADF EINVAL EFAULT ENOMEM EPIPE @VFS
 * @abi open: nonneg | EBADF EFAULT ENAMETOOLONG ENOMEM EMFILE @VFS
 * @abi close: zero | EBADF
 * @abi lseek: nonneg | EBADF EINVAL EOVERFLOW ESPIPE @VFS
 * @abi stat: zero | EFAULT ENAMETOOLONG ENOMEM @VFS
 * @abi fstat: zero | EBADF EFAULT
 * @abi getdents: count(2) | EBADF ENOTDIR EINVAL ENOMEM EFAULT @VFS
 * @abi mkdir: zero | EFAULT ENAMETOOLONG ENOMEM EEXIST EROFS @VFS
 * @abi unlink: zero | EFAULT ENAMETOOLONG ENOMEM EISDIR ENOTDIR EROFS @VFS
 * @abi rmdir: zero | EFAULT ENAMETOOLONG ENOMEM EBUSY EINVAL ENOTEMPTY ENOTDIR EROFS @VFS
 * @abi dup: nonneg | EBADF EMFILE
 * @abi dup2: nonneg | EBADF
 * @abi pipe: zero | EBADF EFAULT EMFILE ENFILE ENOMEM
 * @abi getpid: nonneg |
 * @abi getppid: nonneg |
 * @abi spawn: nonneg | @PROC
 * @abi waitpid: nonneg | EINVAL ECHILD EFAULT EINTR
 * @abi mmap: uaddr | EINVAL ENOMEM
 * @abi munmap: zero | EINVAL ENOMEM
 * @abi clock_gettime: zero | EINVAL EFAULT
 * @abi nanosleep: zero | EFAULT EINVAL EINTR
 * @abi sched_yield: zero |
 * @abi uname: zero | EFAULT
 * @abi chdir: zero | ESRCH EFAULT ENAMETOOLONG ENOMEM ENOTDIR @VFS
 * @abi getcwd: count(1) | ERANGE ENOMEM EFAULT ENOENT @VFS
 * @abi kill: zero | EINVAL ESRCH EPERM
 * @abi gettid: nonneg |
 * @abi thread_create: nonneg | @PROC
 * @abi thread_exit: noreturn |
 * @abi execve: nonneg | EINVAL EBUSY @PROC
 * @abi poweroff: noreturn | EPERM
 * @abi bpf: nonneg | E2BIG EFAULT @BPF
 * @abi rename: zero | EFAULT ENAMETOOLONG ENOMEM EBUSY EINVAL ENOTDIR EXDEV EROFS @VFS
 * @abi ftruncate: zero | EBADF EINVAL @VFS
 */

/* open flags (Linux values) */
#define O_RDONLY    0
#define O_WRONLY    1
#define O_RDWR      2
#define O_ACCMODE   3
#define O_CREAT     0100
#define O_EXCL      0200
#define O_TRUNC     01000
#define O_APPEND    02000
#define O_DIRECTORY 0200000

/* lseek */
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

/* file types in st_mode (Linux values) */
#define S_IFMT   0170000
#define S_IFDIR  0040000
#define S_IFCHR  0020000
#define S_IFREG  0100000
#define S_IFIFO  0010000

struct ax_stat {
	uint64_t st_dev;
	uint64_t st_ino;
	uint32_t st_mode;
	uint32_t st_nlink;
	uint64_t st_size;
	uint64_t st_rdev;
	uint64_t st_blksize;
	uint64_t st_mtime_ns;
};

/* getdents record: d_reclen bytes long, 8-byte aligned, name NUL-terminated */
#define DT_UNKNOWN 0
#define DT_FIFO 1
#define DT_CHR 2
#define DT_DIR 4
#define DT_REG 8
struct ax_dirent {
	uint64_t d_ino;
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[];
};

/* mmap: anonymous private mappings only */
#define PROT_NONE  0
#define PROT_READ  1
#define PROT_WRITE 2
#define PROT_EXEC  4
#define MAP_PRIVATE   0x02
#define MAP_FIXED     0x10
#define MAP_ANONYMOUS 0x20
#define MAP_FAILED ((void *)-1)

/* waitpid */
#define WNOHANG 1
#define W_EXITCODE(ret, sig) (((ret) << 8) | (sig))
#define WIFEXITED(s) (((s) & 0x7f) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#define WIFSIGNALED(s) (((s) & 0x7f) != 0)
#define WTERMSIG(s) ((s) & 0x7f)

/* signals: only termination is delivered */
#define SIGKILL 9
#define SIGSEGV 11
#define SIGTERM 15
#define SIGILL 4
#define SIGFPE 8

/* clocks */
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
struct ax_timespec {
	int64_t tv_sec;
	int64_t tv_nsec;
};

#define AX_UTS_LEN 65
struct ax_utsname {
	char sysname[AX_UTS_LEN];
	char nodename[AX_UTS_LEN];
	char release[AX_UTS_LEN];
	char version[AX_UTS_LEN];
	char machine[AX_UTS_LEN];
};

/* limits */
#define AX_PATH_MAX 256
#define AX_ARG_MAX  (64 * 1024)     /* bytes of argv + envp strings */
#define AX_ARGV_MAX 256             /* entries in argv or envp */
#define AX_OPEN_MAX 64              /* fds per process */

/* auxiliary vector entries placed after envp on the initial user stack */
#define AT_NULL   0
#define AT_PHDR   3
#define AT_PHENT  4
#define AT_PHNUM  5
#define AT_PAGESZ 6
#define AT_ENTRY  9

#endif

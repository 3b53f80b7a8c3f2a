/*
 * Every system-call handler: one separate, non-static function each, so the
 * symbolic harness (axiomdbg prove syscalls) can find them through
 * syscall_table[] in the compiled kernel. Arguments arrive as raw register
 * values; handlers must accept ANY value without panicking.
 */
#ifndef AXIOM_SYSCALLS_H
#define AXIOM_SYSCALLS_H

#include <stdint.h>
#include <stddef.h>

typedef long (*syscall_fn_t)(long, long, long, long, long, long);
extern const syscall_fn_t syscall_table[];

/* proc/ */
long sys_exit(long status);
long sys_getpid(void);
long sys_getppid(void);
long sys_gettid(void);
long sys_spawn(long path, long argv, long envp);
long sys_execve(long path, long argv, long envp);
long sys_waitpid(long pid, long status, long options);
long sys_kill(long pid, long sig);
long sys_sched_yield(void);
long sys_nanosleep(long req, long rem);
long sys_clock_gettime(long clk, long ts);
long sys_uname(long buf);
long sys_thread_create(long entry, long stack_top, long arg);
long sys_thread_exit(void);
long sys_poweroff(void);
/* mm/ */
long sys_mmap(long addr, long len, long prot, long flags, long fd, long off);
long sys_munmap(long addr, long len);
/* fs/ */
long sys_read(long fd, long buf, long n);
long sys_write(long fd, long buf, long n);
long sys_open(long path, long flags, long mode);
long sys_close(long fd);
long sys_lseek(long fd, long off, long whence);
long sys_stat(long path, long st);
long sys_fstat(long fd, long st);
long sys_getdents(long fd, long buf, long n);
long sys_mkdir(long path, long mode);
long sys_unlink(long path);
long sys_rmdir(long path);
long sys_dup(long fd);
long sys_dup2(long oldfd, long newfd);
long sys_pipe(long fds);
long sys_chdir(long path);
long sys_getcwd(long buf, long n);
long sys_rename(long oldpath, long newpath);
long sys_ftruncate(long fd, long len);
/* bpf/ */
long sys_bpf(long cmd, long attr, long size);

#endif

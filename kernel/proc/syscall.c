/*
 * syscall.c — the system-call table and dispatcher.
 *
 * The arch's trap code calls syscall_handler() with interrupts enabled.
 * The number and six arguments are read through the arch accessors
 * (registers per docs/kernel.md); the handler's return value goes back in
 * the return register. Each handler is a separate function (syscalls.h) so
 * the symbolic harness can analyse them one by one from syscall_table[].
 */
#include <kernel.h>
#include <syscalls.h>
#include <proc.h>
#include <axiom/syscall.h>
#include <axiom/errno.h>
#include <axiom/bpf.h>
#include "../bpf/bpf.h"

/*
 * Handlers take between 0 and 6 `long` arguments; the table stores them with
 * the six-argument type. On every supported ABI the arguments travel in
 * registers and extra ones are ignored by the callee, so the call through
 * the wider type is safe (Linux does the same). SC() hides the cast.
 */
#define SC(fn) ((syscall_fn_t)(void (*)(void))(fn))

const syscall_fn_t syscall_table[NR_SYSCALLS] = {
	[SYS_exit] = SC(sys_exit),
	[SYS_read] = SC(sys_read),
	[SYS_write] = SC(sys_write),
	[SYS_open] = SC(sys_open),
	[SYS_close] = SC(sys_close),
	[SYS_lseek] = SC(sys_lseek),
	[SYS_stat] = SC(sys_stat),
	[SYS_fstat] = SC(sys_fstat),
	[SYS_getdents] = SC(sys_getdents),
	[SYS_mkdir] = SC(sys_mkdir),
	[SYS_unlink] = SC(sys_unlink),
	[SYS_rmdir] = SC(sys_rmdir),
	[SYS_dup] = SC(sys_dup),
	[SYS_dup2] = SC(sys_dup2),
	[SYS_pipe] = SC(sys_pipe),
	[SYS_getpid] = SC(sys_getpid),
	[SYS_getppid] = SC(sys_getppid),
	[SYS_spawn] = SC(sys_spawn),
	[SYS_waitpid] = SC(sys_waitpid),
	[SYS_mmap] = SC(sys_mmap),
	[SYS_munmap] = SC(sys_munmap),
	[SYS_clock_gettime] = SC(sys_clock_gettime),
	[SYS_nanosleep] = SC(sys_nanosleep),
	[SYS_sched_yield] = SC(sys_sched_yield),
	[SYS_uname] = SC(sys_uname),
	[SYS_chdir] = SC(sys_chdir),
	[SYS_getcwd] = SC(sys_getcwd),
	[SYS_kill] = SC(sys_kill),
	[SYS_gettid] = SC(sys_gettid),
	[SYS_thread_create] = SC(sys_thread_create),
	[SYS_thread_exit] = SC(sys_thread_exit),
	[SYS_execve] = SC(sys_execve),
	[SYS_poweroff] = SC(sys_poweroff),
	[SYS_bpf] = SC(sys_bpf),
	[SYS_rename] = SC(sys_rename),
	[SYS_ftruncate] = SC(sys_ftruncate),
};

/* Attach point BPF_AXIOM_SYSCALL_ENTER: programs see the number and the raw
 * arguments and may deny the call by returning a negative errno, which then
 * becomes the call's result without running the handler (policy). */
static long bpf_syscall_enter(unsigned long nr, const long a[6])
{
	struct bpf_syscall_enter_ctx ctx = { .nr = nr };
	struct process *p = current_process();

	for (int i = 0; i < 6; i++)
		ctx.args[i] = (uint64_t)a[i];
	ctx.pid = p ? (uint32_t)p->pid : 0;
	ctx.tgid = ctx.pid;
	return bpf_run_hook(BPF_AXIOM_SYSCALL_ENTER, &ctx, sizeof(ctx));
}

/* Attach point BPF_AXIOM_SYSCALL_EXIT: observability only. */
static void bpf_syscall_exit(unsigned long nr, const long a[6], long ret)
{
	struct bpf_syscall_exit_ctx ctx = { .nr = nr, .ret = ret };
	struct process *p = current_process();

	for (int i = 0; i < 6; i++)
		ctx.args[i] = (uint64_t)a[i];
	ctx.pid = p ? (uint32_t)p->pid : 0;
	ctx.tgid = ctx.pid;
	bpf_run_hook(BPF_AXIOM_SYSCALL_EXIT, &ctx, sizeof(ctx));
}

void syscall_handler(struct trapframe *tf)
{
	unsigned long nr = arch_tf_syscall_nr(tf);
	long a[6];
	long ret = -ENOSYS;

	for (int i = 0; i < 6; i++)
		a[i] = (long)arch_tf_arg(tf, i);
	if (bpf_hook_active(BPF_AXIOM_SYSCALL_ENTER)) {
		long verdict = bpf_syscall_enter(nr, a);
		if (verdict < 0 && verdict >= -4095) {
			arch_tf_set_ret(tf, verdict);
			return;
		}
	}
	if (nr < NR_SYSCALLS && syscall_table[nr])
		ret = syscall_table[nr](a[0], a[1], a[2], a[3], a[4], a[5]);
	if (bpf_hook_active(BPF_AXIOM_SYSCALL_EXIT))
		bpf_syscall_exit(nr, a, ret);
	arch_tf_set_ret(tf, ret);
}

/*
 * sys_proc.c — process, thread, time and system system calls.
 * Arguments are raw register values: every one is checked.
 */
#include <kernel.h>
#include <syscalls.h>
#include <proc.h>
#include <sched.h>
#include <uaccess.h>
#include <layout.h>
#include <axiom/syscall.h>
#include <axiom/errno.h>

long proc_wait(long pid, uintptr_t ustatus, long options);

long sys_exit(long status)
{
	proc_exit(W_EXITCODE((int)(status & 0xff), 0));
}

long sys_getpid(void)
{
	struct process *p = current_process();
	return p ? p->pid : 0;
}

long sys_getppid(void)
{
	struct process *p = current_process();
	long ppid = 0;

	spin_lock(&proc_lock);
	if (p && p->parent)
		ppid = p->parent->pid;
	spin_unlock(&proc_lock);
	return ppid;
}

long sys_gettid(void)
{
	struct thread *t = current_thread();
	return t ? t->tid : 0;
}

long sys_waitpid(long pid, long status, long options)
{
	return proc_wait(pid, (uintptr_t)status, options);
}

long sys_kill(long pid, long sig)
{
	if (sig < 0 || sig > 64)
		return -EINVAL;
	if (pid <= 0 || pid > 0x7fffffff)
		return pid == 0 || pid < -1 ? -EINVAL : -ESRCH;
	if (pid == 1 && sig != 0)
		return -EPERM;               /* init cannot be killed */
	return proc_kill((int)pid, (int)sig);
}

long sys_sched_yield(void)
{
	sched_yield();
	return 0;
}

long sys_nanosleep(long req, long rem)
{
	struct ax_timespec ts;

	if (copy_from_user(&ts, (uintptr_t)req, sizeof(ts)))
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
		return -EINVAL;
	/* Cap at about 30 years to keep the arithmetic in range. */
	uint64_t sec = ts.tv_sec > (int64_t)1000000000 ? 1000000000ull : (uint64_t)ts.tv_sec;
	uint64_t ns = sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	uint64_t start = arch_time_ns();
	int err = sched_sleep_ns(ns);
	if (err && rem) {
		uint64_t slept = arch_time_ns() - start;
		uint64_t left = slept < ns ? ns - slept : 0;
		struct ax_timespec r = { (int64_t)(left / 1000000000ull), (int64_t)(left % 1000000000ull) };
		if (copy_to_user((uintptr_t)rem, &r, sizeof(r)))
			return -EFAULT;
	}
	return err;
}

long sys_clock_gettime(long clk, long ts)
{
	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC)
		return -EINVAL;
	/* No RTC is read: both clocks count from boot. */
	uint64_t now = arch_time_ns();
	struct ax_timespec t = { (int64_t)(now / 1000000000ull), (int64_t)(now % 1000000000ull) };
	return copy_to_user((uintptr_t)ts, &t, sizeof(t)) ? -EFAULT : 0;
}

long sys_uname(long buf)
{
	struct ax_utsname u;

	memset(&u, 0, sizeof(u));
	strlcpy(u.sysname, "axiom", sizeof(u.sysname));
	strlcpy(u.nodename, "axiom", sizeof(u.nodename));
	strlcpy(u.release, "0.1", sizeof(u.release));
	snprintf(u.version, sizeof(u.version), "%s %s %s", AXIOM_PROFILE, arch_paging_mode(),
		 build_id_hex());
	strlcpy(u.machine, ARCH_NAME, sizeof(u.machine));
	return copy_to_user((uintptr_t)buf, &u, sizeof(u)) ? -EFAULT : 0;
}

long sys_thread_exit(void)
{
	thread_exit();
}

long sys_poweroff(void)
{
	struct process *p = current_process();

	if (!p || p->pid != 1)
		return -EPERM;
	kprintf("axiom: poweroff");
	arch_poweroff();
}


/*
 * sys_bpf.c — the bpf(2) system call: the thin kernel glue around the eBPF
 * object layer in kernel/bpf (bpf_cmd), which is shared with the host build.
 *
 * The attribute block is copied in once (at most sizeof(union bpf_attr)
 * bytes; a larger size gives -E2BIG, a shorter one is zero-extended, as on
 * Linux), handed to bpf_cmd together with the checked user-copy routines
 * (bpf_cmd itself copies instruction arrays, keys, values and log buffers
 * through them), and copied back so commands can return values in it.
 */
#include <kernel.h>
#include <syscalls.h>
#include <uaccess.h>
#include <axiom/errno.h>
#include <axiom/bpf.h>
#include "../bpf/bpf.h"

static long ua_from(void *dst, uint64_t usrc, size_t n)
{
	return copy_from_user(dst, (uintptr_t)usrc, n);
}

static long ua_to(uint64_t udst, const void *src, size_t n)
{
	return copy_to_user((uintptr_t)udst, src, n);
}

static const struct bpf_uaccess bpf_user_access = { .from = ua_from, .to = ua_to };

long sys_bpf(long cmd, long uattr, long size)
{
	union bpf_attr attr;

	if (size < 0 || (unsigned long)size > sizeof(attr))
		return -E2BIG;
	memset(&attr, 0, sizeof(attr));
	if (size && copy_from_user(&attr, (uintptr_t)uattr, (size_t)size))
		return -EFAULT;
	long ret = bpf_cmd((int)cmd, &attr, &bpf_user_access);
	if (ret >= 0 && size && copy_to_user((uintptr_t)uattr, &attr, (size_t)size))
		return -EFAULT;
	return ret;
}

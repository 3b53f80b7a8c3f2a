/* SPDX-License-Identifier: MIT */
/*
 * bpf_env.h - the only environment interface of kernel/bpf.
 *
 * kernel/bpf compiles twice: freestanding into the axiom kernel, and with
 * -DBPF_HOST into build/host/libaxiombpf.so. Everything the runtime needs from
 * its surroundings goes through this header, so the two builds share every line
 * of verifier, interpreter, map and helper code.
 *
 * Kernel build: <kernel.h> provides kmalloc/kfree, mem*, strlen, snprintf,
 * vsnprintf. The kernel must also implement the hooks declared below.
 * Host build: the same names map to libc, and kernel/bpf/host_env.c implements
 * the hooks.
 */
#ifndef AXIOM_BPF_ENV_H
#define AXIOM_BPF_ENV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef BPF_HOST
/* Host: declare the libc functions by hand rather than including libc headers,
 * so the set of functions used is exactly the set the kernel provides. */
void *malloc(size_t);
void *calloc(size_t, size_t);
void free(void *);
void *memcpy(void *, const void *, size_t);
void *memset(void *, int, size_t);
int memcmp(const void *, const void *, size_t);
size_t strlen(const char *);
int snprintf(char *, size_t, const char *, ...);
int vsnprintf(char *, size_t, const char *, va_list);
#define kmalloc(n) malloc(n)
#define kfree(p) free(p)
#else
#include <kernel.h>
#endif

/* Zeroed allocation; sizes are checked by callers against overflow. */
static inline void *bpf_zalloc(size_t n)
{
	void *p = kmalloc(n ? n : 1);
	if (p)
		memset(p, 0, n ? n : 1);
	return p;
}

/* ---- runtime hooks (kernel implements them; host_env.c on the host) ---- */
uint64_t bpf_env_ktime_ns(void);          /* monotonic nanoseconds */
uint32_t bpf_env_cpu_id(void);            /* current CPU, < bpf_env_ncpus() */
uint32_t bpf_env_ncpus(void);             /* number of possible CPUs, >= 1 */
uint64_t bpf_env_pid_tgid(void);          /* tgid << 32 | pid of current task */
void bpf_env_trace(const char *msg, size_t len); /* one trace_printk line */

/* Lock protecting the object tables and each map. The kernel implementation must
 * disable interrupts on the local CPU (programs run from the timer tick and the
 * page-fault path) and spin against other CPUs. */
typedef struct {
	volatile uint32_t v;
} bpf_lock_t;
unsigned long bpf_env_lock(bpf_lock_t *l);
void bpf_env_unlock(bpf_lock_t *l, unsigned long flags);

/* errno values (Linux numbers, as uapi/axiom/errno.h) */
#define BPF_EPERM 1
#define BPF_ENOENT 2
#define BPF_E2BIG 7
#define BPF_EBADF 9
#define BPF_ENOMEM 12
#define BPF_EACCES 13
#define BPF_EFAULT 14
#define BPF_EBUSY 16
#define BPF_EEXIST 17
#define BPF_EINVAL 22
#define BPF_ENOSPC 28
#define BPF_ERANGE 34
#define BPF_ENOSYS 38
#define BPF_ENOTSUPP 524

#endif /* AXIOM_BPF_ENV_H */

/* SPDX-License-Identifier: MIT */
/*
 * host_env.c - the bpf_env hooks for the host build (libaxiombpf.so). Only
 * compiled with -DBPF_HOST. CPU id, CPU count and pid/tgid are settable so
 * tests can exercise per-CPU maps and the pid helper deterministically; trace
 * output is kept in a buffer the Python binding reads.
 */
#ifndef BPF_HOST
#error "host_env.c is part of the host build only"
#endif
#define _POSIX_C_SOURCE 200809L
#include <time.h>
#include "bpf_internal.h"

static uint32_t host_cpu, host_ncpus = 4;
static uint64_t host_pid_tgid = (1000ull << 32) | 1000;
static char trace_buf[65536];
static size_t trace_len;

uint64_t bpf_env_ktime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint32_t bpf_env_cpu_id(void) { return host_cpu; }
uint32_t bpf_env_ncpus(void) { return host_ncpus; }
uint64_t bpf_env_pid_tgid(void) { return host_pid_tgid; }

void bpf_env_trace(const char *msg, size_t len)
{
	if (trace_len + len + 2 > sizeof(trace_buf))
		trace_len = 0; /* wrap: tests read often */
	memcpy(trace_buf + trace_len, msg, len);
	trace_len += len;
	trace_buf[trace_len++] = '\n';
	trace_buf[trace_len] = 0;
}

unsigned long bpf_env_lock(bpf_lock_t *l)
{
	while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
		;
	return 0;
}

void bpf_env_unlock(bpf_lock_t *l, unsigned long flags)
{
	(void)flags;
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

/* ---- knobs for the Python binding ---- */
void axbpf_host_set_cpu(uint32_t cpu, uint32_t ncpus)
{
	host_ncpus = ncpus ? ncpus : 1;
	host_cpu = cpu < host_ncpus ? cpu : 0;
}

void axbpf_host_set_pid_tgid(uint64_t v) { host_pid_tgid = v; }

/* Copy and clear the trace buffer; returns the number of bytes. */
size_t axbpf_host_take_trace(char *out, size_t cap)
{
	size_t n = trace_len < cap ? trace_len : cap;

	memcpy(out, trace_buf, n);
	trace_len = 0;
	trace_buf[0] = 0;
	return n;
}

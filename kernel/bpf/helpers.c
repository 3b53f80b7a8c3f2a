/* SPDX-License-Identifier: MIT */
/*
 * helpers.c - helper functions (Linux's numbers) and their prototypes.
 *
 * The verifier checks every call against the prototype, so for verified
 * programs the implementations trust their arguments. Unverified programs
 * (host conformance runs) run in checked mode: every map and memory argument
 * is validated here before use.
 */
#include "bpf_internal.h"

#define MAPS_NOT_RINGBUF                                                                  \
	((1u << BPF_MAP_TYPE_HASH) | (1u << BPF_MAP_TYPE_ARRAY) |                          \
	 (1u << BPF_MAP_TYPE_PERCPU_ARRAY))

static const struct bpf_helper_proto protos[] = {
	{ BPF_FUNC_map_lookup_elem, "map_lookup_elem", RET_MAP_VALUE_OR_NULL,
	  { ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY }, 2, MAPS_NOT_RINGBUF },
	{ BPF_FUNC_map_update_elem, "map_update_elem", RET_INTEGER,
	  { ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY, ARG_PTR_TO_MAP_VALUE, ARG_ANYTHING }, 4,
	  MAPS_NOT_RINGBUF },
	{ BPF_FUNC_map_delete_elem, "map_delete_elem", RET_INTEGER,
	  { ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY }, 2, MAPS_NOT_RINGBUF },
	{ BPF_FUNC_ktime_get_ns, "ktime_get_ns", RET_INTEGER, { 0 }, 0, 0 },
	{ BPF_FUNC_trace_printk, "trace_printk", RET_INTEGER,
	  { ARG_PTR_TO_MEM, ARG_CONST_SIZE, ARG_ANYTHING, ARG_ANYTHING, ARG_ANYTHING }, 5, 0 },
	{ BPF_FUNC_get_prandom_u32, "get_prandom_u32", RET_INTEGER, { 0 }, 0, 0 },
	{ BPF_FUNC_get_smp_processor_id, "get_smp_processor_id", RET_INTEGER, { 0 }, 0, 0 },
	{ BPF_FUNC_get_current_pid_tgid, "get_current_pid_tgid", RET_INTEGER, { 0 }, 0, 0 },
	{ BPF_FUNC_ringbuf_output, "ringbuf_output", RET_INTEGER,
	  { ARG_CONST_MAP_PTR, ARG_PTR_TO_MEM, ARG_CONST_SIZE, ARG_ANYTHING }, 4,
	  1u << BPF_MAP_TYPE_RINGBUF },
};

const struct bpf_helper_proto *bpf_helper_proto(uint32_t id)
{
	size_t i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].id == id)
			return &protos[i];
	return NULL;
}

/* Minimal printf for trace_printk: %d %i %u %x %X %c %p %% with l/ll length
 * modifiers (all arguments are 64-bit registers; without l they are truncated
 * to 32 bits like C's varargs promotion would). Reads fmt only up to fmt_len
 * and stops at its NUL; at most three conversions consume arguments. */
static long format_trace(char *out, size_t cap, const char *fmt, uint64_t fmt_len, const uint64_t *args)
{
	size_t o = 0;
	uint64_t i = 0;
	int argi = 0;

	while (i < fmt_len && fmt[i] && o + 1 < cap) {
		char c = fmt[i++];
		int longs = 0;
		uint64_t v;
		char tmp[32];
		int n;

		if (c != '%') {
			out[o++] = c;
			continue;
		}
		while (i < fmt_len && fmt[i] == 'l') {
			longs++;
			i++;
		}
		if (i >= fmt_len || !fmt[i])
			return -BPF_EINVAL;
		c = fmt[i++];
		if (c == '%') {
			out[o++] = '%';
			continue;
		}
		if (argi >= 3)
			return -BPF_EINVAL;
		v = args[argi++];
		switch (c) {
		case 'd': case 'i':
			n = longs ? snprintf(tmp, sizeof(tmp), "%lld", (long long)v)
				  : snprintf(tmp, sizeof(tmp), "%d", (int)(uint32_t)v);
			break;
		case 'u':
			n = longs ? snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v)
				  : snprintf(tmp, sizeof(tmp), "%u", (unsigned)(uint32_t)v);
			break;
		case 'x': case 'X':
			n = longs ? snprintf(tmp, sizeof(tmp), c == 'x' ? "%llx" : "%llX", (unsigned long long)v)
				  : snprintf(tmp, sizeof(tmp), c == 'x' ? "%x" : "%X", (unsigned)(uint32_t)v);
			break;
		case 'c':
			n = snprintf(tmp, sizeof(tmp), "%c", (char)v);
			break;
		case 'p':
			n = snprintf(tmp, sizeof(tmp), "0x%llx", (unsigned long long)v);
			break;
		default:
			return -BPF_EINVAL; /* %s and friends would read arbitrary memory */
		}
		if (n < 0)
			return -BPF_EINVAL;
		for (int k = 0; k < n && o + 1 < cap; k++)
			out[o++] = tmp[k];
	}
	out[o] = 0;
	return (long)o;
}

/* Checked mode: is m a map this program references? */
static struct bpf_map *check_map(struct bpf_run_env *env, uint64_t p, uint32_t types)
{
	struct bpf_map *m = (struct bpf_map *)(uintptr_t)p;

	if (!env->checked)
		return m;
	if (!bpf_prog_has_map(env->prog, m) || (types && !(types & (1u << m->type)))) {
		env->err = -BPF_EINVAL;
		env->err_msg = "helper called with an invalid map pointer";
		return NULL;
	}
	return m;
}

static bool check_mem(struct bpf_run_env *env, uint64_t p, uint64_t n)
{
	if (!env->checked || bpf_run_mem_ok(env, p, n, false))
		return true;
	env->err = -BPF_EFAULT;
	env->err_msg = "helper called with an out-of-bounds memory argument";
	return false;
}

uint64_t bpf_helper_call(struct bpf_run_env *env, uint32_t id, const uint64_t *a)
{
	struct bpf_map *m;
	void *p;

	switch (id) {
	case BPF_FUNC_map_lookup_elem:
		m = check_map(env, a[0], MAPS_NOT_RINGBUF);
		if (!m || !check_mem(env, a[1], m->key_size))
			return 0;
		p = bpf_map_lookup(m, (const void *)(uintptr_t)a[1]);
		return (uint64_t)(uintptr_t)p;
	case BPF_FUNC_map_update_elem:
		m = check_map(env, a[0], MAPS_NOT_RINGBUF);
		if (!m || !check_mem(env, a[1], m->key_size) || !check_mem(env, a[2], m->value_size))
			return 0;
		return (uint64_t)bpf_map_update(m, (const void *)(uintptr_t)a[1],
						(const void *)(uintptr_t)a[2], a[3]);
	case BPF_FUNC_map_delete_elem:
		m = check_map(env, a[0], MAPS_NOT_RINGBUF);
		if (!m || !check_mem(env, a[1], m->key_size))
			return 0;
		return (uint64_t)bpf_map_delete(m, (const void *)(uintptr_t)a[1]);
	case BPF_FUNC_ktime_get_ns:
		return bpf_env_ktime_ns();
	case BPF_FUNC_get_prandom_u32: {
		/* xorshift seeded from the clock: not cryptographic, like Linux's */
		uint64_t x = bpf_env_ktime_ns() * 0x9e3779b97f4a7c15ull;

		x ^= x >> 33;
		x *= 0xff51afd7ed558ccdull;
		x ^= x >> 33;
		return (uint32_t)x;
	}
	case BPF_FUNC_get_smp_processor_id:
		return bpf_env_cpu_id();
	case BPF_FUNC_get_current_pid_tgid:
		return bpf_env_pid_tgid();
	case BPF_FUNC_trace_printk: {
		char buf[256];
		long n;

		if (a[1] == 0 || a[1] > 1024 || !check_mem(env, a[0], a[1]))
			return (uint64_t)-BPF_EINVAL;
		n = format_trace(buf, sizeof(buf), (const char *)(uintptr_t)a[0], a[1], &a[2]);
		if (n < 0)
			return (uint64_t)n;
		bpf_env_trace(buf, (size_t)n);
		return (uint64_t)n;
	}
	case BPF_FUNC_ringbuf_output:
		m = check_map(env, a[0], 1u << BPF_MAP_TYPE_RINGBUF);
		if (!m || !check_mem(env, a[1], a[2]))
			return 0;
		return (uint64_t)bpf_ringbuf_output(m, (const void *)(uintptr_t)a[1], a[2], a[3]);
	default:
		env->err = -BPF_EINVAL;
		env->err_msg = "call to an unknown helper";
		return 0;
	}
}

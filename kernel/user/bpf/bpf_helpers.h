/*
 * bpf_helpers.h — what eBPF programs for axiom include (compiled with
 * `clang -target bpf -O2 -c`, see kernel/user/user.mk).
 *
 * SEC("axiom/<attach point>") puts a program in the section whose name tells
 * the loader (libbpf.h) its type; maps are `struct bpf_map_def` variables in
 * SEC("maps"). Helpers are called through constant function pointers whose
 * value is the helper id, which clang turns into `call <id>` (the same
 * convention as Linux's bpf_helper_defs.h; the ids are Linux's).
 */
#ifndef AXIOM_BPF_HELPERS_H
#define AXIOM_BPF_HELPERS_H
#include <stdint.h>
#include <axiom/bpf.h>

#define SEC(name) __attribute__((section(name), used))
#define __always_inline inline __attribute__((always_inline))

/* The maps section record the loader reads (five u32, legacy libbpf layout). */
struct bpf_map_def {
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value,
				   uint64_t flags) = (void *)BPF_FUNC_map_update_elem;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_delete_elem;
static uint64_t (*bpf_ktime_get_ns)(void) = (void *)BPF_FUNC_ktime_get_ns;
static long (*bpf_trace_printk)(const char *fmt, uint32_t fmt_size, ...) = (void *)BPF_FUNC_trace_printk;
static uint32_t (*bpf_get_prandom_u32)(void) = (void *)BPF_FUNC_get_prandom_u32;
static uint32_t (*bpf_get_smp_processor_id)(void) = (void *)BPF_FUNC_get_smp_processor_id;
static uint64_t (*bpf_get_current_pid_tgid)(void) = (void *)BPF_FUNC_get_current_pid_tgid;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, uint64_t size,
				  uint64_t flags) = (void *)BPF_FUNC_ringbuf_output;

#endif

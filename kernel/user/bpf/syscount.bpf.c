/*
 * syscount.bpf.c — per-process system call counter: map "syscount" (hash,
 * key = process id, value = u64 calls entered). Read it with
 *     bpftool map dump ID
 */
#include "bpf_helpers.h"

struct bpf_map_def SEC("maps") syscount = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(uint32_t),
	.value_size = sizeof(uint64_t),
	.max_entries = 256,
};

SEC("axiom/syscall_enter")
int count_syscalls(struct bpf_syscall_enter_ctx *ctx)
{
	uint32_t pid = ctx->pid;
	uint64_t *n = bpf_map_lookup_elem(&syscount, &pid);

	if (n) {
		__sync_fetch_and_add(n, 1);
	} else {
		uint64_t one = 1;
		bpf_map_update_elem(&syscount, &pid, &one, BPF_NOEXIST);
	}
	return 0;
}

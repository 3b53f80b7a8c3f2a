/*
 * policy.bpf.c — syscall policy: deny one chosen system call with a chosen
 * errno, in every process or in one. Userspace chooses by writing the single
 * entry of map "policy_cfg" (struct policy_cfg in demo.h: s64 nr, u32 pid,
 * u32 err, little-endian). From the shell, to fail every open (nr 4) with
 * EACCES (13):
 *     bpftool prog load /lib/bpf/policy.o attach      (prints the map's id)
 *     bpftool map update ID 0 hex:0400000000000000000000000d000000
 * While err is 0 (the map starts zeroed) nothing is denied.
 */
#include "bpf_helpers.h"
#include "demo.h"

struct bpf_map_def SEC("maps") policy_cfg = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(uint32_t),
	.value_size = sizeof(struct policy_cfg),
	.max_entries = 1,
};

SEC("axiom/syscall_enter")
int policy(struct bpf_syscall_enter_ctx *ctx)
{
	uint32_t key = 0;
	struct policy_cfg *cfg = bpf_map_lookup_elem(&policy_cfg, &key);

	if (!cfg || cfg->err == 0 || cfg->nr < 0 || (uint64_t)cfg->nr != ctx->nr)
		return 0;
	if (cfg->pid != 0 && cfg->pid != ctx->pid)
		return 0;
	uint32_t err = cfg->err;
	if (err > 4095)
		err = 4095;
	return -(int)err;
}

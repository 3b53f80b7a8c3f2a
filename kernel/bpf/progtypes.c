/* SPDX-License-Identifier: MIT */
/*
 * progtypes.c - program types: what r1 points to and what r0 may return.
 * Every attach-point context is read-only for programs; its layout is in
 * uapi/axiom/bpf.h. AXIOM_MEM programs get r1 = memory, r2 = its length (the
 * conformance suites' convention); their memory is writable.
 */
#include "bpf_internal.h"

static const struct bpf_prog_type_info types[] = {
	[0] = { "axiom_mem", 0, false, 0, 0 },
	/* syscall entry: 0 allows the call, a negative errno denies it */
	[1] = { "syscall_enter", sizeof(struct bpf_syscall_enter_ctx), true, -4095, 0 },
	[2] = { "syscall_exit", sizeof(struct bpf_syscall_exit_ctx), false, 0, 0 },
	[3] = { "sched_switch", sizeof(struct bpf_sched_switch_ctx), false, 0, 0 },
	[4] = { "page_fault", sizeof(struct bpf_page_fault_ctx), false, 0, 0 },
	[5] = { "proc_exec", sizeof(struct bpf_proc_exec_ctx), false, 0, 0 },
	[6] = { "proc_exit", sizeof(struct bpf_proc_exit_ctx), false, 0, 0 },
	[7] = { "timer_tick", sizeof(struct bpf_timer_tick_ctx), false, 0, 0 },
};

const struct bpf_prog_type_info *bpf_prog_type_info(uint32_t type)
{
	if (type < BPF_PROG_TYPE_AXIOM_MEM || type >= BPF_PROG_TYPE_AXIOM_MAX)
		return NULL;
	return &types[type - BPF_PROG_TYPE_AXIOM_MEM];
}

/*
 * probe.bpf.c — records attach-point contexts for the selftest
 * (bpf_attach_contexts), which compares them with what it knows:
 *   - sched_switch: map "probe"[PROBE_IN] / [PROBE_OUT] count switches to and
 *     from the thread named by "probe_cfg"[0], [PROBE_OUT_STATE] keeps the
 *     state it left in;
 *   - page_fault: [PROBE_FAULT_ADDR/PID/FLAGS] keep the last fault's context;
 *   - timer_tick: [PROBE_TICK_CPU_MAX] the highest cpu + 1 seen, and
 *     [PROBE_TICK_BAD] counts ticks whose count did not grow on that CPU
 *     (per-CPU array "probe_ticks" holds each CPU's last count).
 */
#include "bpf_helpers.h"
#include "demo.h"

struct bpf_map_def SEC("maps") probe = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(uint32_t),
	.value_size = sizeof(uint64_t),
	.max_entries = PROBE_N,
};

struct bpf_map_def SEC("maps") probe_cfg = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(uint32_t),
	.value_size = sizeof(uint64_t),
	.max_entries = 1,
};

struct bpf_map_def SEC("maps") probe_ticks = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY,
	.key_size = sizeof(uint32_t),
	.value_size = sizeof(uint64_t),
	.max_entries = 1,
};

static __always_inline uint64_t *slot(uint32_t i)
{
	return bpf_map_lookup_elem(&probe, &i);
}

SEC("axiom/sched_switch")
int probe_switch(struct bpf_sched_switch_ctx *ctx)
{
	uint32_t zero = 0;
	uint64_t *tid = bpf_map_lookup_elem(&probe_cfg, &zero), *p;

	if (!tid || *tid == 0)
		return 0;
	if (ctx->next_pid == *tid && (p = slot(PROBE_IN)))
		__sync_fetch_and_add(p, 1);
	if (ctx->prev_pid == *tid) {
		if ((p = slot(PROBE_OUT)))
			__sync_fetch_and_add(p, 1);
		if ((p = slot(PROBE_OUT_STATE)))
			*p = ctx->prev_state;
	}
	return 0;
}

SEC("axiom/page_fault")
int probe_fault(struct bpf_page_fault_ctx *ctx)
{
	uint64_t *p;

	if ((p = slot(PROBE_FAULT_ADDR)))
		*p = ctx->addr;
	if ((p = slot(PROBE_FAULT_PID)))
		*p = ctx->pid;
	if ((p = slot(PROBE_FAULT_FLAGS)))
		*p = ctx->flags;
	return 0;
}

SEC("axiom/timer_tick")
int probe_tick(struct bpf_timer_tick_ctx *ctx)
{
	uint32_t zero = 0;
	uint64_t *last = bpf_map_lookup_elem(&probe_ticks, &zero), *p;

	if (last) {
		if (*last != 0 && ctx->ticks <= *last && (p = slot(PROBE_TICK_BAD)))
			__sync_fetch_and_add(p, 1);
		*last = ctx->ticks;
	}
	if ((p = slot(PROBE_TICK_CPU_MAX)) && ctx->cpu + 1 > *p)
		*p = ctx->cpu + 1;
	return 0;
}

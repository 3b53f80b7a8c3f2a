/*
 * events.bpf.c — one program on each of the kernel's other attach points:
 * sched_switch, page_fault and timer_tick count their events in map
 * "ev_counts" (array of u64, index EV_* from demo.h); proc_exec and proc_exit
 * count too and send a struct proc_event record to the ring buffer "events"
 * (an event stream: `bpftool map dump ID` pops and prints the records).
 */
#include "bpf_helpers.h"
#include "demo.h"

struct bpf_map_def SEC("maps") ev_counts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(uint32_t),
	.value_size = sizeof(uint64_t),
	.max_entries = EV_NCOUNTS,
};

struct bpf_map_def SEC("maps") events = {
	.type = BPF_MAP_TYPE_RINGBUF,
	.max_entries = 16384,
};

static __always_inline void count(uint32_t what)
{
	uint64_t *n = bpf_map_lookup_elem(&ev_counts, &what);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("axiom/sched_switch")
int on_switch(struct bpf_sched_switch_ctx *ctx)
{
	(void)ctx;
	count(EV_SCHED_SWITCH);
	return 0;
}

SEC("axiom/page_fault")
int on_fault(struct bpf_page_fault_ctx *ctx)
{
	(void)ctx;
	count(EV_PAGE_FAULT);
	return 0;
}

SEC("axiom/timer_tick")
int on_tick(struct bpf_timer_tick_ctx *ctx)
{
	(void)ctx;
	count(EV_TIMER_TICK);
	return 0;
}

SEC("axiom/proc_exec")
int on_exec(struct bpf_proc_exec_ctx *ctx)
{
	struct proc_event ev = { .kind = EV_PROC_EXEC, .pid = ctx->tgid };

	count(EV_PROC_EXEC);
	ev.ts_ns = bpf_ktime_get_ns();
	/* a constant-size copy: clang unrolls it (the embedded profile refuses loops) */
	__builtin_memcpy(ev.filename, ctx->filename, sizeof(ev.filename) - 1);
	bpf_ringbuf_output(&events, &ev, sizeof(ev), 0);
	return 0;
}

SEC("axiom/proc_exit")
int on_exit(struct bpf_proc_exit_ctx *ctx)
{
	struct proc_event ev = { .kind = EV_PROC_EXIT, .pid = ctx->tgid, .exit_code = ctx->exit_code };

	count(EV_PROC_EXIT);
	ev.ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_output(&events, &ev, sizeof(ev), 0);
	return 0;
}

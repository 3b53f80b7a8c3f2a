/*
 * demo.h — layouts shared by the demo eBPF programs (kernel/user/bpf/NAME.bpf.c)
 * and the userspace that reads their maps (bpftool, bpfdemo, selftest).
 */
#ifndef AXIOM_BPF_DEMO_H
#define AXIOM_BPF_DEMO_H
#include <stdint.h>

/* policy.bpf.c: map "policy_cfg" (array, 1 entry) — which call to deny. */
struct policy_cfg {
	int64_t nr;      /* syscall number to deny; -1: deny nothing */
	uint32_t pid;    /* only in this process (0: every process) */
	uint32_t err;    /* errno to fail it with, 1..4095 */
};

/* events.bpf.c: map "ev_counts" (array, EV_NCOUNTS u64 entries), one counter
 * per attach point it watches, and map "events" (ring buffer) of struct
 * proc_event records for every exec and exit. */
enum {
	EV_SCHED_SWITCH = 0,
	EV_PAGE_FAULT = 1,
	EV_PROC_EXEC = 2,
	EV_PROC_EXIT = 3,
	EV_TIMER_TICK = 4,
	EV_NCOUNTS = 8,
};
struct proc_event {
	uint32_t kind;       /* EV_PROC_EXEC or EV_PROC_EXIT */
	uint32_t pid;        /* process id */
	int32_t exit_code;   /* wait status (exit events) */
	uint32_t pad;
	uint64_t ts_ns;
	char filename[32];   /* exec events: the path, truncated */
};

/* probe.bpf.c (selftest only): slots of map "probe" (array of u64). */
enum {
	PROBE_IN = 0,           /* switches to the watched thread */
	PROBE_OUT = 1,          /* switches away from it */
	PROBE_OUT_STATE = 2,    /* its state when it last left the CPU */
	PROBE_FAULT_ADDR = 3,
	PROBE_FAULT_PID = 4,
	PROBE_FAULT_FLAGS = 5,
	PROBE_TICK_CPU_MAX = 6, /* highest cpu + 1 a tick came from */
	PROBE_TICK_BAD = 7,     /* ticks whose count did not grow on their CPU */
	PROBE_N = 8,
};
#endif

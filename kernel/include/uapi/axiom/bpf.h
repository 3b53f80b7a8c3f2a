/* SPDX-License-Identifier: MIT */
/*
 * axiom bpf syscall ABI, shared by the kernel and userspace.
 *
 * Numbers follow Linux's <linux/bpf.h> wherever Linux has the concept (commands,
 * instruction encoding, map types, helper ids, attribute layout of the common
 * commands), so programs and loaders written against the usual definitions work.
 * axiom-specific additions (program types for axiom's attach points, the memory
 * program type used by the conformance suites, BPF_OBJ_CLOSE) use numbers that
 * Linux does not use and are marked "axiom".
 *
 * Object handles: axiom has no file descriptors for bpf objects yet, so every
 * field Linux calls *_fd carries the object's id (ids start at 1 and are never
 * reused while the object exists). BPF_OBJ_CLOSE drops the creator's reference.
 *
 * Only <stdint.h> is needed; the header is usable from C11 freestanding code.
 */
#ifndef AXIOM_UAPI_BPF_H
#define AXIOM_UAPI_BPF_H

#include <stdint.h>

/* ---- instruction encoding (RFC 9669) ---- */
#define BPF_CLASS(code) ((code) & 0x07)
#define BPF_LD    0x00
#define BPF_LDX   0x01
#define BPF_ST    0x02
#define BPF_STX   0x03
#define BPF_ALU   0x04
#define BPF_JMP   0x05
#define BPF_JMP32 0x06
#define BPF_ALU64 0x07

#define BPF_SIZE(code) ((code) & 0x18)
#define BPF_W  0x00
#define BPF_H  0x08
#define BPF_B  0x10
#define BPF_DW 0x18

#define BPF_MODE(code) ((code) & 0xe0)
#define BPF_IMM    0x00
#define BPF_ABS    0x20 /* legacy, rejected */
#define BPF_IND    0x40 /* legacy, rejected */
#define BPF_MEM    0x60
#define BPF_MEMSX  0x80
#define BPF_ATOMIC 0xc0

#define BPF_OP(code)  ((code) & 0xf0)
#define BPF_SRC(code) ((code) & 0x08)
#define BPF_K 0x00
#define BPF_X 0x08

/* ALU operations */
#define BPF_ADD  0x00
#define BPF_SUB  0x10
#define BPF_MUL  0x20
#define BPF_DIV  0x30 /* off=1: signed (sdiv) */
#define BPF_OR   0x40
#define BPF_AND  0x50
#define BPF_LSH  0x60
#define BPF_RSH  0x70
#define BPF_NEG  0x80
#define BPF_MOD  0x90 /* off=1: signed (smod) */
#define BPF_XOR  0xa0
#define BPF_MOV  0xb0 /* off=8/16/32: movsx */
#define BPF_ARSH 0xc0
#define BPF_END  0xd0 /* ALU: BPF_TO_LE/BPF_TO_BE; ALU64 with K: bswap */
#define BPF_TO_LE 0x00
#define BPF_TO_BE 0x08

/* JMP operations */
#define BPF_JA   0x00
#define BPF_JEQ  0x10
#define BPF_JGT  0x20
#define BPF_JGE  0x30
#define BPF_JSET 0x40
#define BPF_JNE  0x50
#define BPF_JSGT 0x60
#define BPF_JSGE 0x70
#define BPF_CALL 0x80
#define BPF_EXIT 0x90
#define BPF_JLT  0xa0
#define BPF_JLE  0xb0
#define BPF_JSLT 0xc0
#define BPF_JSLE 0xd0

/* atomic operations (imm of BPF_STX|BPF_ATOMIC) */
#define BPF_FETCH   0x01
#define BPF_XCHG    (0xe0 | BPF_FETCH)
#define BPF_CMPXCHG (0xf0 | BPF_FETCH)

/* src_reg of BPF_LD|BPF_IMM|BPF_DW (RFC 9669 section 5.4) */
#define BPF_PSEUDO_MAP_FD        1 /* imm = map id                          -> map */
#define BPF_PSEUDO_MAP_VALUE     2 /* imm = map id, next imm = offset       -> value address */
#define BPF_PSEUDO_BTF_ID        3 /* var_addr(imm): no platform variables, rejected */
#define BPF_PSEUDO_FUNC          4 /* code_addr(imm)                        -> code address */
#define BPF_PSEUDO_MAP_IDX       5 /* imm = index into fd_array             -> map */
#define BPF_PSEUDO_MAP_IDX_VALUE 6 /* imm = index into fd_array, next imm = offset */

/* src_reg of BPF_JMP|BPF_CALL */
#define BPF_PSEUDO_CALL      1 /* bpf-to-bpf call, imm = relative target */
#define BPF_PSEUDO_KFUNC_CALL 2 /* unsupported */

#define BPF_REG_0 0
#define BPF_REG_10 10
#define MAX_BPF_REG 11
#define MAX_BPF_STACK 512
#define BPF_MAX_CALL_DEPTH 8

struct bpf_insn {
	uint8_t code;
	uint8_t dst_reg : 4;
	uint8_t src_reg : 4;
	int16_t off;
	int32_t imm;
};

/* ---- commands (Linux numbers) ---- */
enum bpf_cmd {
	BPF_MAP_CREATE = 0,
	BPF_MAP_LOOKUP_ELEM = 1,
	BPF_MAP_UPDATE_ELEM = 2,
	BPF_MAP_DELETE_ELEM = 3,
	BPF_MAP_GET_NEXT_KEY = 4,
	BPF_PROG_LOAD = 5,
	BPF_PROG_ATTACH = 8,
	BPF_PROG_DETACH = 9,
	BPF_PROG_TEST_RUN = 10,
	BPF_PROG_GET_NEXT_ID = 11,
	BPF_MAP_GET_NEXT_ID = 12,
	BPF_PROG_GET_FD_BY_ID = 13,
	BPF_MAP_GET_FD_BY_ID = 14,
	BPF_OBJ_GET_INFO_BY_FD = 15,
	BPF_MAP_LOOKUP_AND_DELETE_ELEM = 21, /* ring buffer: pop one record (axiom) */
	BPF_OBJ_CLOSE = 0x100, /* axiom: drop the creator's reference to an id */
};

/* ---- map types (Linux numbers) ---- */
enum bpf_map_type {
	BPF_MAP_TYPE_UNSPEC = 0,
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_RINGBUF = 27,
};

/* map update flags */
#define BPF_ANY     0
#define BPF_NOEXIST 1
#define BPF_EXIST   2

/* ---- program types ----
 * Linux has no types for axiom's attach points; they live at 64.. so they never
 * collide with Linux's numbers. */
enum bpf_prog_type {
	BPF_PROG_TYPE_UNSPEC = 0,
	BPF_PROG_TYPE_AXIOM_MEM = 64,      /* r1 = memory, r2 = its length (conformance) */
	BPF_PROG_TYPE_AXIOM_SYSCALL_ENTER, /* ctx: struct bpf_syscall_enter_ctx; r0 0 / -errno */
	BPF_PROG_TYPE_AXIOM_SYSCALL_EXIT,  /* ctx: struct bpf_syscall_exit_ctx */
	BPF_PROG_TYPE_AXIOM_SCHED_SWITCH,  /* ctx: struct bpf_sched_switch_ctx */
	BPF_PROG_TYPE_AXIOM_PAGE_FAULT,    /* ctx: struct bpf_page_fault_ctx */
	BPF_PROG_TYPE_AXIOM_PROC_EXEC,     /* ctx: struct bpf_proc_exec_ctx */
	BPF_PROG_TYPE_AXIOM_PROC_EXIT,     /* ctx: struct bpf_proc_exit_ctx */
	BPF_PROG_TYPE_AXIOM_TIMER_TICK,    /* ctx: struct bpf_timer_tick_ctx */
	BPF_PROG_TYPE_AXIOM_MAX,
};

/* attach types: one per attach point, numerically equal to its program type */
enum bpf_attach_type {
	BPF_AXIOM_SYSCALL_ENTER = 65,
	BPF_AXIOM_SYSCALL_EXIT,
	BPF_AXIOM_SCHED_SWITCH,
	BPF_AXIOM_PAGE_FAULT,
	BPF_AXIOM_PROC_EXEC,
	BPF_AXIOM_PROC_EXIT,
	BPF_AXIOM_TIMER_TICK,
	BPF_AXIOM_ATTACH_MAX,
};

/* ---- context layouts (read-only for programs) ----
 * r1 of an attached program points to one of these; where and in which
 * kernel state each attach point fires is in docs/bpf.md ("Attach points"). */

/* syscall entry, before the handler runs (kernel/proc/syscall.c). The program
 * returns 0 to allow the call or -errno (>= -4095) to make it fail with errno
 * without running it. pid and tgid are both the calling process's id. */
struct bpf_syscall_enter_ctx {
	uint64_t nr;      /* syscall number (uapi/axiom/syscall.h) */
	uint64_t args[6];
	uint32_t pid;
	uint32_t tgid;
};
/* syscall exit, after the handler with its result (not for denied calls). */
struct bpf_syscall_exit_ctx {
	uint64_t nr;
	uint64_t args[6];
	int64_t ret;      /* the value returned to userspace (-errno on failure) */
	uint32_t pid;
	uint32_t tgid;
};
/* scheduler switch: one event per context switch on a CPU, delivered right
 * after the switch by the thread that runs next, once sched_lock is released
 * (kernel/proc/sched.c), so bpf_get_current_pid_tgid() names next. */
struct bpf_sched_switch_ctx {
	uint32_t prev_pid;   /* thread ids (idle threads and kernel threads too) */
	uint32_t next_pid;
	uint32_t prev_state; /* 1 runnable (preempted/yielded), 3 sleeping, 4 dead */
	uint32_t cpu;
	uint64_t ts_ns;      /* time of the switch */
};
/* page fault taken in user mode (kernel/proc/trap.c), before the faulting
 * process is killed with SIGSEGV (axiom has no demand paging). */
#define BPF_PF_WRITE   1u
#define BPF_PF_USER    2u
#define BPF_PF_EXEC    4u
#define BPF_PF_PRESENT 8u /* a translation existed: a protection fault */
struct bpf_page_fault_ctx {
	uint64_t addr;  /* faulting virtual address */
	uint64_t ip;    /* pc of the faulting instruction */
	uint32_t flags; /* BPF_PF_* */
	uint32_t pid;   /* process id */
};
/* process exec: a new program image is loaded and about to run, in execve
 * (current = the process) and in spawn (current = the parent). */
struct bpf_proc_exec_ctx {
	uint32_t pid;          /* thread id of the thread that will run the image */
	uint32_t tgid;         /* process id */
	char filename[64];     /* path as given, NUL-terminated, truncated */
};
/* process exit: once per process, on its last thread, before teardown. */
struct bpf_proc_exit_ctx {
	uint32_t pid;          /* thread id of the last thread */
	uint32_t tgid;         /* process id */
	int32_t exit_code;     /* wait status: (code << 8) | signal */
	uint32_t pad;
};
/* timer tick: every periodic timer interrupt of every CPU, in the interrupt
 * handler after the scheduler's tick accounting (kernel/proc/trap.c). */
struct bpf_timer_tick_ctx {
	uint64_t ticks;  /* this CPU's tick count, including this one */
	uint64_t ts_ns;  /* time of this tick */
	uint32_t cpu;
	uint32_t pad;
};

/* ---- helper ids (Linux numbers) ---- */
enum bpf_func_id {
	BPF_FUNC_unspec = 0,
	BPF_FUNC_map_lookup_elem = 1,
	BPF_FUNC_map_update_elem = 2,
	BPF_FUNC_map_delete_elem = 3,
	BPF_FUNC_ktime_get_ns = 5,
	BPF_FUNC_trace_printk = 6,
	BPF_FUNC_get_prandom_u32 = 7,
	BPF_FUNC_get_smp_processor_id = 8,
	BPF_FUNC_get_current_pid_tgid = 14,
	BPF_FUNC_ringbuf_output = 130,
	BPF_FUNC_MAX_ID = 212,
};

/* ---- PROG_LOAD flags ---- */
/* axiom, host builds only: load without verification; the interpreter then checks
 * every memory access at run time (conformance runs without --verify). */
#define BPF_F_AXIOM_UNVERIFIED (1u << 31)

/* verifier profiles (prog_load.profile, axiom) */
#define BPF_PROFILE_DEFAULT  0 /* the kernel's compile-time profile */
#define BPF_PROFILE_EMBEDDED 1 /* 100k processed insns, no back-edges */
#define BPF_PROFILE_CLOUD    2 /* 1M processed insns, bounded loops */

#define BPF_OBJ_NAME_LEN 16

/* ---- attributes: one member per command, pointers as u64 ---- */
union bpf_attr {
	struct { /* BPF_MAP_CREATE */
		uint32_t map_type;
		uint32_t key_size;
		uint32_t value_size;
		uint32_t max_entries;
		uint32_t map_flags;
		uint32_t inner_map_fd;
		uint32_t numa_node;
		char map_name[BPF_OBJ_NAME_LEN];
	};
	struct { /* BPF_MAP_*_ELEM, BPF_MAP_GET_NEXT_KEY */
		uint32_t map_fd;
		uint32_t pad0;
		uint64_t key;
		union {
			uint64_t value;
			uint64_t next_key;
		};
		uint64_t flags; /* LOOKUP_AND_DELETE on a ring buffer: capacity of value */
	};
	struct { /* BPF_PROG_LOAD */
		uint32_t prog_type;
		uint32_t insn_cnt;
		uint64_t insns;
		uint64_t license;
		uint32_t log_level;
		uint32_t log_size;
		uint64_t log_buf;
		uint32_t kern_version;
		uint32_t prog_flags;
		char prog_name[BPF_OBJ_NAME_LEN];
		uint32_t prog_ifindex;
		uint32_t expected_attach_type;
		uint64_t fd_array;     /* u32 map ids for BPF_PSEUDO_MAP_IDX[_VALUE] */
		uint32_t fd_array_cnt; /* axiom: entries in fd_array */
		uint32_t profile;      /* axiom: BPF_PROFILE_* */
		uint32_t mem_size;     /* axiom: BPF_PROG_TYPE_AXIOM_MEM: bytes at r1 */
		uint32_t verified_insns; /* out: instructions the verifier processed */
	};
	struct { /* BPF_PROG_ATTACH, BPF_PROG_DETACH */
		uint32_t target_fd;
		uint32_t attach_bpf_fd;
		uint32_t attach_type;
		uint32_t attach_flags;
	};
	struct { /* BPF_PROG_TEST_RUN */
		uint32_t prog_fd;
		uint32_t retval;      /* out: low 32 bits of r0 */
		uint32_t data_size_in;
		uint32_t data_size_out;
		uint64_t data_in;     /* AXIOM_MEM: the memory r1 points to */
		uint64_t data_out;    /* AXIOM_MEM: the memory after the run */
		uint32_t repeat;
		uint32_t duration;    /* out: mean ns per run */
		uint32_t ctx_size_in;
		uint32_t ctx_size_out;
		uint64_t ctx_in;
		uint64_t ctx_out;
		uint32_t run_flags;
		uint32_t cpu;
		uint64_t retval64;    /* axiom out: full r0 */
	} test;
	struct { /* BPF_*_GET_NEXT_ID, BPF_*_GET_FD_BY_ID, BPF_OBJ_CLOSE */
		uint32_t start_id;
		uint32_t next_id;
		uint32_t open_flags;
	};
	struct { /* BPF_OBJ_GET_INFO_BY_FD */
		uint32_t bpf_fd;
		uint32_t info_len;
		uint64_t info;
	} info;
	uint8_t raw[128];
};

/* BPF_OBJ_GET_INFO_BY_FD on a program */
struct bpf_prog_info {
	uint32_t type;
	uint32_t id;
	uint32_t insn_cnt;
	uint32_t verified; /* 1 if loaded through the verifier */
	uint32_t attach_type; /* 0 when not attached */
	uint32_t verified_insns;
	uint64_t run_cnt;
	uint64_t run_time_ns;
	uint32_t nr_map_ids;
	uint32_t map_ids[8];
	char name[BPF_OBJ_NAME_LEN];
};
/* BPF_OBJ_GET_INFO_BY_FD on a map. Program and map ids come from one counter, so an
 * id names exactly one object; the command returns BPF_OBJ_INFO_PROG or
 * BPF_OBJ_INFO_MAP to say which struct it wrote (at most info_len bytes). */
struct bpf_map_info {
	uint32_t type;
	uint32_t id;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	uint64_t mem_bytes;
	char name[BPF_OBJ_NAME_LEN];
	/* bytes a MAP_LOOKUP_ELEM/UPDATE_ELEM value has (per-CPU arrays: every
	 * CPU's value, each padded to 8 bytes, back to back) */
	uint32_t syscall_value_size;
	uint32_t pad;
};
#define BPF_OBJ_INFO_PROG 1
#define BPF_OBJ_INFO_MAP 2

#endif /* AXIOM_UAPI_BPF_H */

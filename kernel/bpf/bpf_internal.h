/* SPDX-License-Identifier: MIT */
/*
 * bpf_internal.h - private interfaces between the parts of kernel/bpf.
 *
 *   insn.c      instruction decoding rules shared by loader, verifier, interpreter
 *   verifier.c  the verifier (uses the pure operators of bpf_range.h)
 *   interp.c    the interpreter
 *   maps.c      array, hash, per-CPU array and ring buffer maps
 *   helpers.c   helper implementations and their prototypes for the verifier
 *   progtypes.c program types: context layouts, return ranges, attach points
 *   syscall.c   the object layer (ids, refcounts) and bpf_cmd()
 *
 * The kernel-facing API is in kernel/bpf/bpf.h.
 */
#ifndef AXIOM_BPF_INTERNAL_H
#define AXIOM_BPF_INTERNAL_H

#include "bpf_env.h"
#include "bpf_range.h"
#include "bpf.h"

#define BPF_MAXINSNS 1000000u
#define BPF_MAX_USED_MAPS 16
#define BPF_MAX_VAR_OFF (1 << 29)

static inline bool bpf_is_lddw(const struct bpf_insn *i)
{
	return i->code == (BPF_LD | BPF_IMM | BPF_DW);
}

/* ---- insn.c ---- */
/* Check that insns[i] is a valid RFC 9669 instruction (opcode, reserved fields,
 * registers, a complete lddw). 0 or -EINVAL with a reason in msg. */
int bpf_insn_check(const struct bpf_insn *insns, uint32_t cnt, uint32_t i, char *msg, size_t msz);
/* Structural checks every load gets, verified or not: each instruction valid,
 * every jump and call target inside the program and not inside a lddw. */
int bpf_check_structure(const struct bpf_insn *insns, uint32_t cnt, char *msg, size_t msz,
			uint32_t *bad_pc);
/* Target of a jump at pc (JA32 uses imm) */
static inline int64_t bpf_jump_target(const struct bpf_insn *insn, uint32_t pc)
{
	if (BPF_CLASS(insn->code) == BPF_JMP32 && BPF_OP(insn->code) == BPF_JA)
		return (int64_t)pc + insn->imm + 1;
	return (int64_t)pc + insn->off + 1;
}
static inline bool bpf_is_cond_jump(const struct bpf_insn *insn)
{
	uint8_t c = BPF_CLASS(insn->code), op = BPF_OP(insn->code);

	return (c == BPF_JMP || c == BPF_JMP32) && op != BPF_JA && op != BPF_CALL && op != BPF_EXIT;
}

/* ---- maps.c ---- */
struct bpf_map {
	uint32_t id;
	uint32_t type, key_size, value_size, max_entries, flags;
	uint32_t refcnt;
	char name[BPF_OBJ_NAME_LEN];
	bpf_lock_t lock;
	uint32_t stride;      /* value_size rounded up to 8 */
	uint32_t key_stride;  /* key_size rounded up to 8 (hash) */
	uint32_t ncpus;       /* copies of a per-CPU array */
	uint8_t *data;        /* array/percpu values, hash elements, ring data */
	size_t data_size;
	size_t mem_bytes;     /* charged against the profile's map budget */
	/* hash */
	uint32_t nbuckets, count, free_head;
	uint32_t *buckets, *next;
	uint8_t *used;
	/* ring buffer */
	uint64_t rb_head, rb_tail; /* producer / consumer positions (bytes) */
};

int bpf_map_alloc(const union bpf_attr *attr, struct bpf_map **out);
void bpf_map_free(struct bpf_map *m);
/* program side (pointers into the map) */
void *bpf_map_lookup(struct bpf_map *m, const void *key);
long bpf_map_update(struct bpf_map *m, const void *key, const void *value, uint64_t flags);
long bpf_map_delete(struct bpf_map *m, const void *key);
long bpf_ringbuf_output(struct bpf_map *m, const void *data, uint64_t size, uint64_t flags);
/* syscall side (copies; per-CPU values are all CPUs' values back to back) */
uint32_t bpf_map_syscall_value_size(const struct bpf_map *m);
long bpf_map_copy_value(struct bpf_map *m, const void *key, void *value);
long bpf_map_update_from_user(struct bpf_map *m, const void *key, const void *value, uint64_t flags);
long bpf_map_get_next_key(struct bpf_map *m, const void *key, void *next_key);
long bpf_ringbuf_consume(struct bpf_map *m, void *buf, uint64_t cap);
/* [start, start+len) of memory programs may touch in a map (checked mode) */
bool bpf_map_value_region(const struct bpf_map *m, uintptr_t addr, uint64_t size);

/* ---- programs ---- */
struct bpf_prog {
	uint32_t id;
	uint32_t type;
	uint32_t insn_cnt;
	uint32_t refcnt;
	bool verified;
	uint32_t max_call_depth;  /* frames the verifier saw, 1..8 */
	uint32_t verified_insns;
	uint32_t mem_size;        /* AXIOM_MEM: bytes at r1 */
	uint32_t attach_type;
	char name[BPF_OBJ_NAME_LEN];
	struct bpf_insn *insns;   /* with map references resolved to pointers */
	struct bpf_insn *orig;    /* as loaded */
	struct bpf_map *maps[BPF_MAX_USED_MAPS];
	uint32_t nr_maps;
	uint64_t run_cnt, run_time_ns;
};

/* ---- progtypes.c ---- */
struct bpf_prog_type_info {
	const char *name;
	uint32_t ctx_size;      /* 0: r1 is memory (AXIOM_MEM) */
	bool has_ret_range;
	int64_t ret_min, ret_max;
};
const struct bpf_prog_type_info *bpf_prog_type_info(uint32_t type);

/* ---- helpers.c ---- */
enum bpf_arg_type {
	ARG_NONE = 0,
	ARG_ANYTHING,          /* any initialised scalar */
	ARG_CONST_MAP_PTR,     /* a map from lddw */
	ARG_PTR_TO_MAP_KEY,    /* readable key_size bytes */
	ARG_PTR_TO_MAP_VALUE,  /* readable value_size bytes */
	ARG_PTR_TO_MEM,        /* readable bytes, size in the next argument */
	ARG_CONST_SIZE,        /* bounded size of the previous argument, > 0 */
};
enum bpf_ret_type { RET_INTEGER, RET_MAP_VALUE_OR_NULL };
struct bpf_helper_proto {
	uint32_t id;
	const char *name;
	uint8_t ret;
	uint8_t args[5];
	uint8_t nargs;
	/* map types the ARG_CONST_MAP_PTR accepts (bitmask of 1 << type), 0: any */
	uint32_t map_types;
};
const struct bpf_helper_proto *bpf_helper_proto(uint32_t id);

struct bpf_run_env;
/* Call helper `id`; in checked mode validate every pointer first. On a checked
 * failure sets env->err and returns 0. */
uint64_t bpf_helper_call(struct bpf_run_env *env, uint32_t id, const uint64_t *args);

/* ---- interp.c ---- */
struct bpf_run_env {
	const struct bpf_prog *prog;
	bool checked;             /* unverified program: check every access */
	uint8_t *stack_lo, *stack_hi;
	uint8_t *mem;             /* context or memory at r1 */
	size_t mem_size;
	bool mem_writable;
	uint64_t budget;          /* checked mode: instructions left */
	int err;                  /* 0 or negative errno */
	uint32_t err_pc;
	const char *err_msg;
};
/* true if [addr, addr+size) is memory the program may access (checked mode) */
bool bpf_run_mem_ok(const struct bpf_run_env *env, uint64_t addr, uint64_t size, bool write);
int bpf_interp_run(const struct bpf_prog *prog, void *ctx, size_t ctx_size, uint64_t *r0,
		   char *errbuf, size_t errsz);

/* ---- verifier.c ---- */
struct bpf_verify_opts {
	uint32_t prog_type;
	uint32_t profile;       /* BPF_PROFILE_EMBEDDED or BPF_PROFILE_CLOUD */
	uint32_t log_level;     /* 0 none, 1 verdict + reason, 2 + per-insn state */
	char *log;
	size_t log_size;
	uint32_t mem_size;      /* AXIOM_MEM */
	struct bpf_map **maps;  /* resolved map of each lddw (indexed by pc), may be NULL */
};
struct bpf_verify_result {
	uint32_t processed;
	uint32_t max_call_depth;
	uint32_t states;
};
int bpf_verify(const struct bpf_insn *insns, uint32_t cnt, const struct bpf_verify_opts *opts,
	       struct bpf_verify_result *res);

/* ---- syscall.c ---- */
bool bpf_prog_has_map(const struct bpf_prog *p, const struct bpf_map *m);

#endif /* AXIOM_BPF_INTERNAL_H */

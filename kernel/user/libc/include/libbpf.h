/*
 * libbpf.h — axiom's small libbpf: bpf(2) wrappers and a loader for eBPF ELF
 * objects produced by `clang -target bpf -O2 -c`.
 *
 * Conventions (as libbpf 1.0): every function returns a non-negative result
 * on success and a negative errno on failure; errno is left alone. Object
 * handles are the kernel's ids (axiom has no bpf file descriptors): a map or
 * program stays loaded until bpf_obj_close() drops the creator's reference
 * and nothing (an attachment, a program using the map) holds it any more —
 * it does NOT go away when the creating process exits.
 *
 * Object files (see docs/bpf.md, "Userspace"): programs live in sections
 * named "axiom/<attach point>" (optionally followed by "/anything"):
 *     axiom/syscall_enter axiom/syscall_exit axiom/sched_switch
 *     axiom/page_fault axiom/proc_exec axiom/proc_exit axiom/timer_tick
 *     axiom/mem (memory programs: test runs only)
 * Maps are global `struct bpf_map_def` variables in the section "maps"
 * (<bpf_helpers.h> in kernel/user/bpf defines both). The loader creates every
 * map, patches each `lddw` that a R_BPF_64_64 relocation points at a map
 * symbol into BPF_PSEUDO_MAP_FD with the map's id, and loads every program.
 * Anything else it cannot honour (global variables, calls between sections,
 * BTF-style ".maps") is refused with a message in the error buffer.
 */
#ifndef _LIBBPF_H
#define _LIBBPF_H
#include <stddef.h>
#include <stdint.h>
#include <axiom/bpf.h>

/* ---- bpf(2) ---- */
long bpf_sys(int cmd, union bpf_attr *attr);      /* raw: result or -errno */

long bpf_map_create(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
		    const char *name);
int bpf_map_lookup_elem(uint32_t map, const void *key, void *value);
int bpf_map_update_elem(uint32_t map, const void *key, const void *value, uint64_t flags);
int bpf_map_delete_elem(uint32_t map, const void *key);
/* key NULL: the first key. -ENOENT after the last. */
int bpf_map_get_next_key(uint32_t map, const void *key, void *next_key);
/* Ring buffers: pop the oldest record into buf (cap bytes); returns its length,
 * -ENOENT when empty. */
long bpf_ringbuf_pop(uint32_t map, void *buf, uint32_t cap);

struct bpf_load_opts {
	const char *name;
	uint32_t log_level;   /* 0, 1 (reason) or 2 (per-instruction state) */
	char *log_buf;
	uint32_t log_size;
	uint32_t profile;     /* BPF_PROFILE_*, 0 = the kernel's */
	uint32_t mem_size;    /* BPF_PROG_TYPE_AXIOM_MEM: bytes at r1 */
};
/* Returns the program id. opts may be NULL. */
long bpf_prog_load(uint32_t type, const struct bpf_insn *insns, uint32_t insn_cnt,
		   const struct bpf_load_opts *opts);
int bpf_prog_attach(uint32_t prog, uint32_t attach_type);
int bpf_prog_detach(uint32_t prog, uint32_t attach_type);
/* One run: data (AXIOM_MEM memory, updated in place when data_out) or ctx for
 * attach-point types. r0 receives the full 64-bit result. */
int bpf_prog_test_run(uint32_t prog, void *data, uint32_t data_size, const void *ctx,
		      uint32_t ctx_size, uint64_t *r0);
int bpf_prog_get_next_id(uint32_t start, uint32_t *next);
int bpf_map_get_next_id(uint32_t start, uint32_t *next);
/* Returns BPF_OBJ_INFO_PROG or BPF_OBJ_INFO_MAP (which struct was written). */
int bpf_obj_get_info(uint32_t id, void *info, uint32_t info_len);
int bpf_obj_close(uint32_t id);

/* Names of program types / attach points / map types ("?" when unknown). */
const char *bpf_prog_type_name(uint32_t type);
const char *bpf_map_type_name(uint32_t type);
/* "syscall_enter" -> BPF_PROG_TYPE_AXIOM_SYSCALL_ENTER (0 when unknown). */
uint32_t bpf_prog_type_by_name(const char *name);

/* ---- ELF objects ---- */
#define BPF_OBJ_MAX_MAPS 16
#define BPF_OBJ_MAX_PROGS 16

struct bpf_object_map {
	char name[32];
	uint32_t type, key_size, value_size, max_entries, flags;
	uint32_t id;                 /* after load */
	uint64_t sym_off;            /* offset of its definition in "maps" */
};

struct bpf_object_prog {
	char name[32];               /* function symbol */
	char section[48];
	uint32_t type;               /* BPF_PROG_TYPE_* (= its attach type) */
	struct bpf_insn *insns;      /* relocated copy */
	uint32_t insn_cnt;
	uint32_t id;                 /* after load */
	int attached;
};

struct bpf_object {
	char path[64];
	uint32_t nr_maps, nr_progs;
	struct bpf_object_map maps[BPF_OBJ_MAX_MAPS];
	struct bpf_object_prog progs[BPF_OBJ_MAX_PROGS];
};

/* Parse an object (copied; buf may be freed afterwards). */
int bpf_object_open_mem(struct bpf_object **out, const void *buf, size_t size, const char *name,
			char *err, size_t errsz);
int bpf_object_open(struct bpf_object **out, const char *path, char *err, size_t errsz);
/* Create the maps, relocate, load every program. On failure everything this
 * call created is closed again and err (plus the verifier log when opts asks
 * for one) says why. opts may be NULL. */
int bpf_object_load(struct bpf_object *obj, const struct bpf_load_opts *opts, char *err,
		    size_t errsz);
/* Attach every loaded program that has an attach point. */
int bpf_object_attach(struct bpf_object *obj, char *err, size_t errsz);
struct bpf_object_map *bpf_object_find_map(struct bpf_object *obj, const char *name);
struct bpf_object_prog *bpf_object_find_prog(struct bpf_object *obj, const char *name);
/* Detach and close everything (unless keep), then free obj. */
void bpf_object_close(struct bpf_object *obj, int keep);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * bpf.h - what the rest of the axiom kernel calls in kernel/bpf.
 *
 * Integration:
 *   - call bpf_subsys_init() once at boot, after kmalloc works;
 *   - sys_bpf(cmd, uattr, size) copies `size` bytes (at most sizeof(union
 *     bpf_attr), rest zeroed) of the attribute into a kernel union bpf_attr,
 *     calls bpf_cmd(cmd, &attr, &ua) with ua = { copy_from_user, copy_to_user }
 *     wrappers (pointers inside the attribute are user addresses), then copies
 *     the first `size` bytes of attr back to the user (output fields such as
 *     test.retval, next_id, info_len and verified_insns are written in attr);
 *   - at each attach point, if bpf_hook_active(type), fill the context struct
 *     from uapi/axiom/bpf.h and call bpf_run_hook();
 *   - implement the bpf_env_* hooks declared in bpf_env.h.
 */
#ifndef AXIOM_BPF_H
#define AXIOM_BPF_H

#include <stddef.h>
#include <stdint.h>
#include <uapi/axiom/bpf.h>

/* User memory access for bpf_cmd. from/to return 0 or a negative errno.
 * A NULL struct means the attribute's pointers are kernel (or host) pointers. */
struct bpf_uaccess {
	long (*from)(void *dst, uint64_t usrc, size_t n);
	long (*to)(uint64_t udst, const void *src, size_t n);
};

void bpf_subsys_init(void);
/* Map memory budget and default verifier profile (BPF_PROFILE_*). */
void bpf_set_profile(uint32_t profile);
uint32_t bpf_get_profile(void);

long bpf_cmd(int cmd, union bpf_attr *attr, const struct bpf_uaccess *ua);

/* Attach points. bpf_run_hook runs every program attached to `type` (a
 * BPF_AXIOM_* attach type) on ctx. For BPF_AXIOM_SYSCALL_ENTER the result is 0
 * (allow) or the first program's negative errno (deny); for the others it is 0. */
extern volatile uint32_t bpf_hook_count[BPF_AXIOM_ATTACH_MAX - BPF_AXIOM_SYSCALL_ENTER];
static inline int bpf_hook_active(uint32_t type)
{
	return type >= BPF_AXIOM_SYSCALL_ENTER && type < BPF_AXIOM_ATTACH_MAX &&
	       bpf_hook_count[type - BPF_AXIOM_SYSCALL_ENTER] != 0;
}
long bpf_run_hook(uint32_t type, void *ctx, size_t ctx_size);

/* The last loader/run error message (for host tools; not per-thread). */
const char *bpf_last_error(void);

#endif /* AXIOM_BPF_H */

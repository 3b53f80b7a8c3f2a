/* SPDX-License-Identifier: MIT */
/*
 * host_api.c - the small C API the Python binding (axiomdbg/bpf/lib.py) uses.
 * Host build only. Everything goes through bpf_cmd() so the host exercises the
 * same object layer the kernel's bpf syscall uses; axbpf_verify additionally
 * reaches bpf_verify() directly to test programs without creating objects.
 */
#ifndef BPF_HOST
#error "host_api.c is part of the host build only"
#endif
#include "bpf_internal.h"

/* Verify `cnt` instructions. Returns 0 (accepted) or a negative errno; the log
 * is always NUL-terminated. processed receives the instructions explored. */
int axbpf_verify(const void *insns, uint32_t cnt, uint32_t prog_type, uint32_t profile,
		 uint32_t log_level, char *log, size_t log_size, uint32_t mem_size, uint32_t *processed)
{
	struct bpf_verify_opts o = {
		.prog_type = prog_type,
		.profile = profile ? profile : bpf_get_profile(),
		.log_level = log_level,
		.log = log,
		.log_size = log_size,
		.mem_size = mem_size,
		.maps = NULL,
	};
	struct bpf_verify_result res = { 0 };
	int err;

	err = bpf_verify((const struct bpf_insn *)insns, cnt, &o, &res);
	if (processed)
		*processed = res.processed;
	return err;
}

/* Load (verified if `verify`), test-run once on `mem` (AXIOM_MEM) and release.
 * r0 receives the result; on failure err_msg holds the reason and *stage says
 * where it failed: 0 loading (verifier/loader), 1 running. */
int axbpf_run_mem(const void *insns, uint32_t cnt, void *mem, uint32_t mem_len, int verify,
		  uint32_t profile, uint64_t *r0, char *err_msg, size_t err_size, int *stage)
{
	union bpf_attr a;
	long id, err;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_AXIOM_MEM;
	a.insn_cnt = cnt;
	a.insns = (uintptr_t)insns;
	a.prog_flags = verify ? 0 : BPF_F_AXIOM_UNVERIFIED;
	a.profile = profile;
	a.mem_size = mem_len;
	*stage = 0;
	id = bpf_cmd(BPF_PROG_LOAD, &a, NULL);
	if (id < 0) {
		snprintf(err_msg, err_size, "%s", bpf_last_error());
		return (int)id;
	}
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = (uint32_t)id;
	a.test.data_in = (uintptr_t)mem;
	a.test.data_size_in = mem_len;
	a.test.data_out = mem_len ? (uintptr_t)mem : 0;
	a.test.repeat = 1;
	*stage = 1;
	err = bpf_cmd(BPF_PROG_TEST_RUN, &a, NULL);
	if (err)
		snprintf(err_msg, err_size, "%s", bpf_last_error());
	else
		*r0 = a.test.retval64;
	memset(&a, 0, sizeof(a));
	a.start_id = (uint32_t)id;
	bpf_cmd(BPF_OBJ_CLOSE, &a, NULL);
	return (int)err;
}

/* Raw access to the dispatcher with host pointers in the attribute. */
long axbpf_cmd(int cmd, union bpf_attr *attr)
{
	return bpf_cmd(cmd, attr, NULL);
}

const char *axbpf_last_error(void)
{
	return bpf_last_error();
}

void axbpf_set_profile(uint32_t p)
{
	bpf_set_profile(p);
}

uint32_t axbpf_attr_size(void)
{
	return sizeof(union bpf_attr);
}

long axbpf_run_hook(uint32_t type, void *ctx, size_t size)
{
	return bpf_run_hook(type, ctx, size);
}

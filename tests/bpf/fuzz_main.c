/* SPDX-License-Identifier: MIT */
/*
 * fuzz_main.c - verifier fuzz driver, built with ASan+UBSan by kernel/bpf/host.mk
 * (build/host/bpf-fuzz-asan).
 *
 * Reads programs from a file (records: u32 instruction count, then the
 * instructions), loads each through bpf_cmd(PROG_LOAD) in the embedded and
 * cloud profiles with three maps (array 4:16:4, hash 4:8:8, ring buffer 4096)
 * in fd_array, and test-runs every accepted program on exactly 64 bytes of heap
 * memory filled with 0x00, 0x5a and 0xff in turn (so data-dependent branches go
 * both ways). Verified programs run without run-time checks, so any access the
 * verifier wrongly allowed is an ASan report (and a non-zero exit).
 * Prints "programs N accepted A rejected R run_errors E".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bpf_internal.h"

static long map_create(uint32_t type, uint32_t k, uint32_t v, uint32_t n)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = k;
	a.value_size = v;
	a.max_entries = n;
	return bpf_cmd(BPF_MAP_CREATE, &a, NULL);
}

int main(int argc, char **argv)
{
	FILE *f;
	uint32_t fd_array[3], cnt;
	unsigned long n = 0, acc = 0, rej = 0, run_err = 0;
	static char log[1 << 16];
	int verbose = argc > 2 && !strcmp(argv[2], "-v");

	if (argc < 2) {
		fprintf(stderr, "usage: %s PROGRAMS.bin [-v]\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	bpf_subsys_init();
	fd_array[0] = (uint32_t)map_create(BPF_MAP_TYPE_ARRAY, 4, 16, 4);
	fd_array[1] = (uint32_t)map_create(BPF_MAP_TYPE_HASH, 4, 8, 8);
	fd_array[2] = (uint32_t)map_create(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
	while (fread(&cnt, 4, 1, f) == 1) {
		struct bpf_insn *insns;
		int profile;

		if (cnt > 100000)
			break;
		insns = malloc((cnt ? cnt : 1) * sizeof(*insns));
		if (!insns || fread(insns, sizeof(*insns), cnt, f) != cnt) {
			free(insns);
			break;
		}
		n++;
		for (profile = BPF_PROFILE_EMBEDDED; profile <= BPF_PROFILE_CLOUD; profile++) {
			union bpf_attr a;
			long id;

			memset(&a, 0, sizeof(a));
			a.prog_type = BPF_PROG_TYPE_AXIOM_MEM;
			a.insn_cnt = cnt;
			a.insns = (uintptr_t)insns;
			a.log_level = 1;
			a.log_buf = (uintptr_t)log;
			a.log_size = sizeof(log);
			a.fd_array = (uintptr_t)fd_array;
			a.fd_array_cnt = 3;
			a.profile = (uint32_t)profile;
			a.mem_size = 64;
			id = bpf_cmd(BPF_PROG_LOAD, &a, NULL);
			if (id < 0) {
				rej++;
				continue;
			}
			acc++;
			/* several memory patterns so data-dependent branches go both ways */
			for (int pat = 0; pat < 3; pat++) {
				static const uint8_t fill[3] = { 0x00, 0x5a, 0xff };
				uint8_t *mem = malloc(64); /* exact size: ASan sees any overflow */
				long err;

				memset(mem, fill[pat], 64);
				memset(&a, 0, sizeof(a));
				a.test.prog_fd = (uint32_t)id;
				a.test.data_in = (uintptr_t)mem;
				a.test.data_size_in = 64;
				a.test.repeat = 1;
				err = bpf_cmd(BPF_PROG_TEST_RUN, &a, NULL);
				if (err) {
					run_err++;
					if (verbose)
						fprintf(stderr, "program %lu: run error %ld %s\n", n, err, bpf_last_error());
				}
				free(mem);
			}
			memset(&a, 0, sizeof(a));
			a.start_id = (uint32_t)id;
			bpf_cmd(BPF_OBJ_CLOSE, &a, NULL);
		}
		free(insns);
	}
	fclose(f);
	printf("programs %lu accepted %lu rejected %lu run_errors %lu\n", n, acc, rej, run_err);
	return run_err ? 1 : 0;
}

/*
 * bpftool — inspect and drive axiom's eBPF objects (docs/bpf.md, "bpftool").
 *
 *   bpftool prog list
 *   bpftool prog load FILE.o [attach]       load an ELF object (libbpf.h); stays loaded
 *   bpftool prog unload ID                  detach (if attached) and close
 *   bpftool prog run [-m SIZE:HEX]... -     raw program on stdin, verify, test-run
 *   bpftool map list
 *   bpftool map dump ID                     every entry (ring buffer: pops every record)
 *   bpftool map lookup|delete ID KEY
 *   bpftool map update ID KEY VALUE
 *   bpftool map close ID
 * KEY/VALUE: a number (decimal or 0x..., stored little-endian in the map's
 * size, which must then be 1, 2, 4 or 8) or hex:BYTES (memory order).
 * Exit status: 0 ok, 1 the operation failed (or prog run: rejected), 2 usage.
 */
#include <errno.h>
#include <libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../bpf/demo.h"

static int usage(void)
{
	dprintf(2, "usage: bpftool prog list | prog load FILE.o [attach] | prog unload ID |\n"
		   "       prog run [-m SIZE:HEX]... - | map list | map dump ID |\n"
		   "       map lookup ID KEY | map delete ID KEY | map update ID KEY VALUE | map close ID\n");
	return 2;
}

static int err_line(const char *what, long r)
{
	dprintf(2, "bpftool: %s: %s\n", what, strerror((int)-r));
	return 1;
}

static int parse_id(const char *s, uint32_t *id)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (!*s || *end || v == 0 || v > 0xffffffffUL) {
		dprintf(2, "bpftool: bad id '%s'\n", s);
		return -1;
	}
	*id = (uint32_t)v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex digits (no separators) into at most cap bytes; returns the count or -1. */
static long parse_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

/* A KEY/VALUE argument into exactly size bytes. */
static int parse_blob(const char *s, uint8_t *out, uint32_t size, const char *what)
{
	memset(out, 0, size);
	if (!strncmp(s, "hex:", 4)) {
		if (parse_hex(s + 4, out, size) != (long)size) {
			dprintf(2, "bpftool: %s '%s' must be %u bytes of hex\n", what, s, size);
			return -1;
		}
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (*s == '-')
		v = (unsigned long)strtol(s, &end, 0);
	if (!*s || *end || (size != 1 && size != 2 && size != 4 && size != 8) ||
	    (size < 8 && *s != '-' && (v >> (size * 8)) != 0)) {
		dprintf(2, "bpftool: bad %s '%s' for a %u-byte field (number or hex:BYTES)\n", what, s, size);
		return -1;
	}
	for (uint32_t i = 0; i < size; i++)
		out[i] = (uint8_t)(v >> (8 * i));
	return 0;
}

static void print_blob(const char *label, const uint8_t *b, uint32_t size)
{
	if (size == 1 || size == 2 || size == 4 || size == 8) {
		unsigned long long v = 0;
		for (uint32_t i = 0; i < size; i++)
			v |= (unsigned long long)b[i] << (8 * i);
		printf("%s=%llu", label, v);
		return;
	}
	printf("%s=hex:", label);
	for (uint32_t i = 0; i < size; i++)
		printf("%02x", b[i]);
}

/* ---------------------------------------------------------------- prog */

static int prog_list(void)
{
	uint32_t id = 0;

	while (bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info pi;
		memset(&pi, 0, sizeof(pi));
		if (bpf_obj_get_info(id, &pi, sizeof(pi)) != BPF_OBJ_INFO_PROG)
			continue;
		printf("%u: %s name %s insns %u verified_insns %u attached %s run_cnt %llu run_ns %llu maps",
		       pi.id, bpf_prog_type_name(pi.type), pi.name[0] ? pi.name : "-", pi.insn_cnt,
		       pi.verified_insns, pi.attach_type ? bpf_prog_type_name(pi.attach_type) : "-",
		       (unsigned long long)pi.run_cnt, (unsigned long long)pi.run_time_ns);
		if (pi.nr_map_ids == 0)
			printf(" -");
		for (uint32_t i = 0; i < pi.nr_map_ids && i < 8; i++)
			printf("%s%u", i ? "," : " ", pi.map_ids[i]);
		printf("\n");
	}
	return 0;
}

static int prog_load(int argc, char **argv)
{
	struct bpf_object *obj;
	char err[256];
	static char log[16384];
	struct bpf_load_opts o = { .log_level = 1, .log_buf = log, .log_size = sizeof(log) };
	int attach = 0;

	if (argc < 1 || argc > 2 || (argc == 2 && strcmp(argv[1], "attach")))
		return usage();
	attach = argc == 2;
	int r = bpf_object_open(&obj, argv[0], err, sizeof(err));
	if (r < 0) {
		dprintf(2, "bpftool: %s\n", err);
		return 1;
	}
	r = bpf_object_load(obj, &o, err, sizeof(err));
	if (r < 0) {
		if (log[0])
			printf("%s", log);
		dprintf(2, "bpftool: %s\n", err);
		bpf_object_close(obj, 0);
		return 1;
	}
	if (attach && (r = bpf_object_attach(obj, err, sizeof(err))) < 0) {
		dprintf(2, "bpftool: %s\n", err);
		bpf_object_close(obj, 0);
		return 1;
	}
	for (uint32_t i = 0; i < obj->nr_maps; i++)
		printf("map %u name %s %s\n", obj->maps[i].id, obj->maps[i].name,
		       bpf_map_type_name(obj->maps[i].type));
	for (uint32_t i = 0; i < obj->nr_progs; i++)
		printf("prog %u name %s %s%s\n", obj->progs[i].id, obj->progs[i].name,
		       bpf_prog_type_name(obj->progs[i].type), obj->progs[i].attached ? " attached" : "");
	bpf_object_close(obj, 1); /* keep everything loaded */
	return 0;
}

static int prog_unload(const char *arg)
{
	struct bpf_prog_info pi;
	uint32_t id;

	if (parse_id(arg, &id))
		return 2;
	memset(&pi, 0, sizeof(pi));
	int r = bpf_obj_get_info(id, &pi, sizeof(pi));
	if (r != BPF_OBJ_INFO_PROG)
		return err_line("no such program", r < 0 ? r : -ENOENT);
	if (pi.attach_type && (r = bpf_prog_detach(id, pi.attach_type)) < 0)
		return err_line("detach", r);
	if ((r = bpf_obj_close(id)) < 0)
		return err_line("close", r);
	return 0;
}

/*
 * prog run: the replay protocol (docs/bpf.md, "bpftool prog run"). Each -m
 * SIZE:HEX makes a 1-entry array map with a SIZE-byte value set to HEX (zero
 * padded). stdin: one instruction per line, 8 hex bytes (spaces optional),
 * '#' comments and blank lines ignored, up to a line "end". A lddw with
 * src_reg 1 and imm i refers to the i-th -m map. Output: the verifier log on
 * rejection, then exactly one of
 *     bpftool: accepted r0=0x<hex>
 *     bpftool: rejected errno=<n>
 *     bpftool: run-error errno=<n>   (a verified program failed at run time)
 * then "bpftool: map[i]=<hex>" for every map.
 */
#define RUN_MAX_MAPS 8
#define RUN_MAX_INSNS 65536
#define RUN_MEM 64

struct line_reader {
	char buf[512];
	size_t len, pos;
	int eof;
};

/* One line from fd 0 without its newline (truncated at cap-1); -1 at EOF. */
static int read_line(struct line_reader *lr, char *out, size_t cap)
{
	size_t n = 0;

	for (;;) {
		if (lr->pos == lr->len) {
			if (lr->eof)
				return n ? (int)n : -1;
			ssize_t r = read(0, lr->buf, sizeof(lr->buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				lr->eof = 1;
				continue;
			}
			lr->len = (size_t)r;
			lr->pos = 0;
		}
		char c = lr->buf[lr->pos++];
		if (c == '\n') {
			out[n] = 0;
			return (int)n;
		}
		if (c != '\r' && n + 1 < cap)
			out[n++] = c;
		out[n] = 0;
	}
}

/* Parse one instruction line ("b7 00 00 00 05 00 00 00", spaces optional). */
static int parse_insn_line(const char *p, struct bpf_insn *out)
{
	uint8_t b[8];
	int nb = 0;

	while (*p && *p != '#') {
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		int hi = hexval(p[0]), lo = hi >= 0 ? hexval(p[1]) : -1;
		if (hi < 0 || lo < 0 || nb == 8)
			return -1;
		b[nb++] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	if (nb != 8)
		return -1;
	memcpy(out, b, 8);
	return 0;
}

static int prog_run(int argc, char **argv)
{
	uint32_t map_ids[RUN_MAX_MAPS], map_sizes[RUN_MAX_MAPS], nmaps = 0, nspecs = 0;
	char *specs[RUN_MAX_MAPS];
	uint8_t *vals[RUN_MAX_MAPS];
	struct line_reader lr;
	char line[256], bad[160];
	int status = 2, i;
	uint32_t n = 0, lineno = 0;
	struct bpf_insn *insns = NULL;
	char *log = NULL;
	long prog = -1;

	memset(&lr, 0, sizeof(lr));
	bad[0] = 0;
	/* the arguments: only "-m SPEC"s and a final "-" */
	for (i = 0; i < argc - 1; i++) {
		if (strcmp(argv[i], "-m") || i + 1 >= argc - 1)
			return usage();
		if (nspecs == RUN_MAX_MAPS) {
			snprintf(bad, sizeof(bad), "at most %d -m maps", RUN_MAX_MAPS);
			break;
		}
		specs[nspecs++] = argv[++i];
	}
	if (argc < 1 || strcmp(argv[argc - 1], "-"))
		return usage();

	/* the program: always read through "end" (or EOF) so that nothing of it is
	 * left on the console for the shell, even when something is wrong */
	insns = malloc(RUN_MAX_INSNS * sizeof(*insns));
	if (!insns && !bad[0])
		snprintf(bad, sizeof(bad), "out of memory");
	for (;;) {
		int len = read_line(&lr, line, sizeof(line));
		if (len < 0) {
			if (!bad[0])
				snprintf(bad, sizeof(bad), "end of input before a line 'end' (after %u instructions)", n);
			break;
		}
		lineno++;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!strcmp(p, "end"))
			break;
		if (!*p || *p == '#' || bad[0])
			continue;
		if (n == RUN_MAX_INSNS)
			snprintf(bad, sizeof(bad), "more than %d instructions", RUN_MAX_INSNS);
		else if (parse_insn_line(p, &insns[n]) < 0)
			snprintf(bad, sizeof(bad), "line %u: want 8 hex bytes, e.g. 'b7 00 00 00 05 00 00 00'", lineno);
		else
			n++;
	}
	if (!bad[0] && n == 0)
		snprintf(bad, sizeof(bad), "no instructions");
	if (bad[0]) {
		dprintf(2, "bpftool: %s\n", bad);
		goto out;
	}

	/* the maps */
	for (uint32_t m = 0; m < nspecs; m++) {
		char *spec = specs[m], *colon = strchr(spec, ':'), *end;
		unsigned long size = colon ? strtoul(spec, &end, 0) : 0;
		if (!colon || end != colon || size == 0 || size > 4096) {
			dprintf(2, "bpftool: bad -m '%s': want SIZE:HEX, SIZE 1..4096\n", spec);
			goto out;
		}
		vals[nmaps] = calloc(1, size);
		if (!vals[nmaps] || parse_hex(colon + 1, vals[nmaps], size) < 0) {
			dprintf(2, "bpftool: bad -m '%s': HEX must be at most %lu bytes of hex digits\n", spec, size);
			free(vals[nmaps]);
			goto out;
		}
		long id = bpf_map_create(BPF_MAP_TYPE_ARRAY, 4, (uint32_t)size, 1, "run");
		if (id < 0) {
			free(vals[nmaps]);
			status = err_line("map create", id);
			goto out;
		}
		uint32_t key = 0;
		map_ids[nmaps] = (uint32_t)id;
		map_sizes[nmaps] = (uint32_t)size;
		nmaps++;
		long r = bpf_map_update_elem((uint32_t)id, &key, vals[nmaps - 1], BPF_ANY);
		if (r < 0) {
			status = err_line("map update", r);
			goto out;
		}
	}
	/* map references: lddw src_reg=1 (or 2: map value), imm = index of a -m map */
	for (uint32_t k = 0; k + 1 < n; k++) {
		if (insns[k].code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if (insns[k].src_reg == BPF_PSEUDO_MAP_FD || insns[k].src_reg == BPF_PSEUDO_MAP_VALUE) {
			if (insns[k].imm < 0 || (uint32_t)insns[k].imm >= nmaps) {
				dprintf(2, "bpftool: insn %u: lddw refers to map %d, but %u -m map(s) were given\n", k,
					insns[k].imm, nmaps);
				goto out;
			}
			insns[k].imm = (int32_t)map_ids[insns[k].imm];
		}
		k++;
	}

	const uint32_t log_size = 128 * 1024;
	log = malloc(log_size);
	if (!log) {
		dprintf(2, "bpftool: out of memory\n");
		goto out;
	}
	struct bpf_load_opts o = { .name = "run", .log_level = 2, .log_buf = log, .log_size = log_size,
				   .mem_size = RUN_MEM };
	prog = bpf_prog_load(BPF_PROG_TYPE_AXIOM_MEM, insns, n, &o);
	if (prog < 0) {
		size_t ll = strnlen(log, log_size);
		if (ll)
			printf("%s%s", log, log[ll - 1] == '\n' ? "" : "\n");
		if (ll + 1 >= log_size) {
			/* the level-2 log filled the buffer and lost its ending: ask for the reason alone */
			o.log_level = 1;
			o.log_size = 4096;
			if (bpf_prog_load(BPF_PROG_TYPE_AXIOM_MEM, insns, n, &o) < 0)
				printf("bpftool: log truncated; reason:\n%s%s", log,
				       log[0] && log[strlen(log) - 1] == '\n' ? "" : "\n");
		}
		printf("bpftool: rejected errno=%ld\n", -prog);
		status = 1;
	} else {
		uint8_t mem[RUN_MEM];
		uint64_t r0 = 0;
		memset(mem, 0, sizeof(mem));
		int r = bpf_prog_test_run((uint32_t)prog, mem, sizeof(mem), NULL, 0, &r0);
		if (r < 0) {
			printf("bpftool: run-error errno=%d\n", -r);
			status = 1;
		} else {
			printf("bpftool: accepted r0=0x%llx\n", (unsigned long long)r0);
			status = 0;
		}
	}
	for (uint32_t m = 0; m < nmaps; m++) {
		uint32_t key = 0;
		long r = bpf_map_lookup_elem(map_ids[m], &key, vals[m]);
		printf("bpftool: map[%u]=", m);
		if (r < 0) {
			printf("error errno=%ld\n", -r);
			continue;
		}
		for (uint32_t k = 0; k < map_sizes[m]; k++)
			printf("%02x", vals[m][k]);
		printf("\n");
	}
out:
	if (prog >= 0)
		bpf_obj_close((uint32_t)prog);
	for (uint32_t m = 0; m < nmaps; m++) {
		bpf_obj_close(map_ids[m]);
		free(vals[m]);
	}
	free(insns);
	free(log);
	return status;
}

/* ----------------------------------------------------------------- map */

static int get_map_info(uint32_t id, struct bpf_map_info *mi)
{
	memset(mi, 0, sizeof(*mi));
	int r = bpf_obj_get_info(id, mi, sizeof(*mi));
	if (r != BPF_OBJ_INFO_MAP) {
		dprintf(2, "bpftool: no map with id %u\n", id);
		return -1;
	}
	return 0;
}

/* Bytes the syscall side of a lookup uses (per-CPU arrays: every CPU's value). */
static uint32_t value_bytes(const struct bpf_map_info *mi)
{
	return mi->syscall_value_size ? mi->syscall_value_size : mi->value_size;
}

static int map_list(void)
{
	uint32_t id = 0;

	while (bpf_map_get_next_id(id, &id) == 0) {
		struct bpf_map_info mi;
		memset(&mi, 0, sizeof(mi));
		if (bpf_obj_get_info(id, &mi, sizeof(mi)) != BPF_OBJ_INFO_MAP)
			continue;
		printf("%u: %s name %s key %u value %u max_entries %u flags 0x%x mem %llu\n", mi.id,
		       bpf_map_type_name(mi.type), mi.name[0] ? mi.name : "-", mi.key_size, mi.value_size,
		       mi.max_entries, mi.map_flags, (unsigned long long)mi.mem_bytes);
	}
	return 0;
}

static void print_event(const uint8_t *rec, long len, const char *map_name)
{
	if (!strcmp(map_name, "events") && len == (long)sizeof(struct proc_event)) {
		struct proc_event ev;
		memcpy(&ev, rec, sizeof(ev));
		ev.filename[sizeof(ev.filename) - 1] = 0;
		if (ev.kind == EV_PROC_EXEC) {
			printf("event exec pid=%u file=%s ts_ns=%llu\n", ev.pid, ev.filename,
			       (unsigned long long)ev.ts_ns);
			return;
		}
		if (ev.kind == EV_PROC_EXIT) {
			printf("event exit pid=%u status=0x%x ts_ns=%llu\n", ev.pid, (unsigned)ev.exit_code,
			       (unsigned long long)ev.ts_ns);
			return;
		}
	}
	printf("record len=%ld hex:", len);
	for (long i = 0; i < len; i++)
		printf("%02x", rec[i]);
	printf("\n");
}

static int map_dump(const char *arg)
{
	struct bpf_map_info mi;
	uint32_t id;

	if (parse_id(arg, &id))
		return 2;
	if (get_map_info(id, &mi))
		return 1;
	if (mi.type == BPF_MAP_TYPE_RINGBUF) {
		uint32_t cap = mi.max_entries;
		uint8_t *rec = malloc(cap);
		long n, count = 0;
		if (!rec)
			return err_line("dump", -ENOMEM);
		while ((n = bpf_ringbuf_pop(id, rec, cap)) > 0) {
			print_event(rec, n, mi.name);
			count++;
		}
		free(rec);
		if (n < 0 && n != -ENOENT)
			return err_line("ring buffer pop", n);
		printf("%ld records\n", count);
		return 0;
	}
	uint32_t vsz = value_bytes(&mi);
	uint8_t *key = malloc(mi.key_size + 1), *next = malloc(mi.key_size + 1), *val = malloc(vsz + 1);
	int first = 1, count = 0, status = 0;
	if (!key || !next || !val) {
		status = err_line("dump", -ENOMEM);
		goto out;
	}
	for (;;) {
		int r = bpf_map_get_next_key(id, first ? NULL : key, next);
		if (r == -ENOENT)
			break;
		if (r < 0) {
			status = err_line("get_next_key", r);
			goto out;
		}
		first = 0;
		memcpy(key, next, mi.key_size);
		r = bpf_map_lookup_elem(id, key, val);
		if (r == -ENOENT)
			continue; /* deleted meanwhile */
		if (r < 0) {
			status = err_line("lookup", r);
			goto out;
		}
		print_blob("key", key, mi.key_size);
		printf(" ");
		print_blob("value", val, vsz);
		printf("\n");
		count++;
	}
	printf("%d entries\n", count);
out:
	free(key);
	free(next);
	free(val);
	return status;
}

static int map_elem(const char *op, int argc, char **argv)
{
	struct bpf_map_info mi;
	uint32_t id;
	int status = 0, r;

	if (argc < 2 || parse_id(argv[0], &id))
		return usage();
	if ((!strcmp(op, "update") && argc != 3) || (strcmp(op, "update") && argc != 2))
		return usage();
	if (get_map_info(id, &mi))
		return 1;
	uint32_t vsz = value_bytes(&mi);
	uint8_t *key = calloc(1, mi.key_size + 1), *val = calloc(1, vsz + 1);
	if (!key || !val) {
		status = err_line(op, -ENOMEM);
		goto out;
	}
	if (parse_blob(argv[1], key, mi.key_size, "key")) {
		status = 2;
		goto out;
	}
	if (!strcmp(op, "lookup")) {
		r = bpf_map_lookup_elem(id, key, val);
		if (r < 0) {
			status = err_line("lookup", r);
			goto out;
		}
		print_blob("key", key, mi.key_size);
		printf(" ");
		print_blob("value", val, vsz);
		printf("\n");
	} else if (!strcmp(op, "delete")) {
		if ((r = bpf_map_delete_elem(id, key)) < 0)
			status = err_line("delete", r);
	} else {
		if (parse_blob(argv[2], val, vsz, "value")) {
			status = 2;
			goto out;
		}
		if ((r = bpf_map_update_elem(id, key, val, BPF_ANY)) < 0)
			status = err_line("update", r);
	}
out:
	free(key);
	free(val);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	const char *obj = argv[1], *cmd = argv[2];

	if (!strcmp(obj, "prog")) {
		if (!strcmp(cmd, "list") && argc == 3)
			return prog_list();
		if (!strcmp(cmd, "load"))
			return prog_load(argc - 3, argv + 3);
		if (!strcmp(cmd, "unload") && argc == 4)
			return prog_unload(argv[3]);
		if (!strcmp(cmd, "run"))
			return prog_run(argc - 3, argv + 3);
	} else if (!strcmp(obj, "map")) {
		if (!strcmp(cmd, "list") && argc == 3)
			return map_list();
		if (!strcmp(cmd, "dump") && argc == 4)
			return map_dump(argv[3]);
		if (!strcmp(cmd, "lookup") || !strcmp(cmd, "delete") || !strcmp(cmd, "update"))
			return map_elem(cmd, argc - 3, argv + 3);
		if (!strcmp(cmd, "close") && argc == 4) {
			uint32_t id;
			if (parse_id(argv[3], &id))
				return 2;
			int r = bpf_obj_close(id);
			return r < 0 ? err_line("close", r) : 0;
		}
	}
	return usage();
}

/*
 * bpfdemo — load and attach the observability demos so that they stay
 * loaded: /lib/bpf/syscount.o (per-process syscall counter, hash map
 * "syscount") and /lib/bpf/events.o (counters for sched_switch, page_fault,
 * timer_tick, proc_exec, proc_exit in array "ev_counts", and a ring buffer
 * "events" of exec/exit records).
 *
 * init runs it when the kernel command line says `bpfdemo` (before
 * "init: ready"). It prints one line
 *     bpfdemo: ready progs=<N> maps=<M>
 * (the programs and maps it loaded) and exits; the objects stay loaded and
 * attached (bpf objects outlive the process that created them), so
 * `bpftool prog list`, `bpftool map dump ID` and the debugger see them.
 * On failure it prints "bpfdemo: <reason>", unloads what it loaded and exits 1.
 */
#include <libbpf.h>
#include <stdio.h>
#include <string.h>

static const char *const objects[] = { "/lib/bpf/syscount.o", "/lib/bpf/events.o" };
#define NOBJ (sizeof(objects) / sizeof(objects[0]))

int main(void)
{
	struct bpf_object *obj[NOBJ] = { 0 };
	static char log[8192];
	struct bpf_load_opts o = { .log_level = 1, .log_buf = log, .log_size = sizeof(log) };
	char err[256];
	unsigned progs = 0, maps = 0;
	size_t i;

	for (i = 0; i < NOBJ; i++) {
		if (bpf_object_open(&obj[i], objects[i], err, sizeof(err)) < 0 ||
		    bpf_object_load(obj[i], &o, err, sizeof(err)) < 0 ||
		    bpf_object_attach(obj[i], err, sizeof(err)) < 0) {
			printf("bpfdemo: %s\n", err);
			if (log[0])
				printf("%s", log);
			for (size_t k = 0; k <= i; k++)
				bpf_object_close(obj[k], 0);
			return 1;
		}
		progs += obj[i]->nr_progs;
		maps += obj[i]->nr_maps;
	}
	for (i = 0; i < NOBJ; i++) {
		for (uint32_t k = 0; k < obj[i]->nr_maps; k++)
			printf("bpfdemo: map %u %s\n", obj[i]->maps[k].id, obj[i]->maps[k].name);
		for (uint32_t k = 0; k < obj[i]->nr_progs; k++)
			printf("bpfdemo: prog %u %s %s\n", obj[i]->progs[k].id, obj[i]->progs[k].name,
			       bpf_prog_type_name(obj[i]->progs[k].type));
		bpf_object_close(obj[i], 1); /* keep loaded */
	}
	printf("bpfdemo: ready progs=%u maps=%u\n", progs, maps);
	return 0;
}

/*
 * fuzz: a bounded system-call fuzzer.
 *
 *     fuzz N [SEED]          make at least N random system calls, then print
 *                            "fuzz: <calls> calls, 0 panics"
 *     fuzz -c SEED COUNT FD [-v]   one batch: COUNT calls from SEED, progress
 *                            records to FD (-1: none); -v prints every call
 *                            first (replays a batch the driver reported)
 *
 * Calls run in batches, each in a child process, so that a child the kernel
 * kills (or that unmaps its own stack) does not end the run. Numbers are
 * random (valid ones, 0, out of range, negative, huge) and arguments are
 * biased towards interesting values: 0, -1, small integers, open fds,
 * pointers into the child's own buffers, NULL, kernel addresses, unmapped
 * addresses and huge lengths. A deterministic PRNG (xorshift64*) makes
 * every batch reproducible from its seed.
 *
 * Never called, or defused: exit, thread_exit, poweroff, execve; kill of
 * anything but the batch's own children; reads and writes that could block
 * forever (pipes, the console) are skipped; waitpid always gets WNOHANG;
 * nanosleep sleeps at most 2 ms; path arguments come from a pool that
 * excludes /dev/crash and writable system files, and mutating calls only
 * use names relative to the batch's own directory.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <axiom/bpf.h>

#define BATCH 200
#define BATCH_TIMEOUT_MS 60000
#define WORKDIR "/tmp/fuzz"

/* ------------------------------------------------------------ PRNG */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static int chance(int percent)
{
	return (int)below(100) < percent;
}

#define PICK(arr) ((arr)[below(sizeof(arr) / sizeof((arr)[0]))])

/* ------------------------------------------------- the batch's world */

static size_t pg;
static unsigned char *iobuf;	/* 2 pages followed by an unmapped hole */
static size_t iobuf_len;
static uintptr_t arena;		/* 64 pages the kernel handed out, then freed: MAP_FIXED target */
#define ARENA_PAGES 64
static long unmapped_page;
static int progress_fd = -1;
static int verbose;

static int fds[AX_OPEN_MAX];	/* fds this batch knows about */
static int nfds;
static uint64_t null_rdev, zero_rdev;

static pid_t children[32];
static int nchildren;

struct mapping {
	uintptr_t addr;
	size_t len;
};
static struct mapping maps[32];
static int nmaps;

static char own_dir[64];
static struct ax_timespec short_sleep;
static unsigned char thread_stacks[8][8192] __attribute__((aligned(16)));
static unsigned thread_next;

static const long kernel_addrs[] = {
	(long)0xffff800000000000UL, (long)0xffffffff80000000UL, (long)0xffffffc000000000UL,
	(long)0xffff000000000000UL, (long)0x8000000000000000UL, (long)0xfffffffffffff000UL,
};

static const long huge_lens[] = {
	1L << 32, 1L << 40, 1L << 62, 0x7fffffffffffffffL, -1L, -4096L, 0x10000000L,
};

/* names for calls that create, remove or rename: all inside own_dir */
static const char *const rel_paths[] = {
	"a", "b", "c", "d", "d/e", "d/e/f", "a/b", "x.txt", ".", "..", "d/..", "", "a/",
	"nonexistent/x", "f",
};
/* read-only places anywhere; never /dev/crash */
static const char *const ro_paths[] = {
	"/", "/bin", "/bin/echo", "/etc/motd", "/etc/hello.txt", "/dev", "/dev/null",
	"/dev/zero", "/dev/kmsg", "/proc", "/proc/meminfo", "/proc/processes", "/proc/cmdline",
	"/proc/layout", "/proc/1/maps", "/proc/999/maps", "/tmp", "/nonexistent", "//", "/..",
	"/proc/threads", "/proc/mounts", "/proc/cpus",
};

static void track_fd(long fd)
{
	if (fd >= 0 && fd < AX_OPEN_MAX && nfds < AX_OPEN_MAX)
		fds[nfds++] = (int)fd;
}

/* ----------------------------------------------------- argument kinds */

static long any_value(void)
{
	switch (below(12)) {
	case 0: return 0;
	case 1: return -1;
	case 2: return (long)below(64);
	case 3: return nfds ? fds[below(nfds)] : 3;
	case 4: return (long)(iobuf + below(iobuf_len));
	case 5: return PICK(kernel_addrs);
	case 6: return unmapped_page;
	case 7: return PICK(huge_lens);
	case 8: return (long)rnd();
	case 9: return (long)(below(16) * pg);
	case 10: return -(long)below(4096);
	default: return (long)(int)rnd();
	}
}

/* a pointer the kernel may read or write: mostly our buffer, sometimes bad */
static long ptr_arg(void)
{
	if (chance(70))
		return (long)(iobuf + below(iobuf_len));
	switch (below(5)) {
	case 0: return 0;
	case 1: return PICK(kernel_addrs);
	case 2: return unmapped_page;
	case 3: return (long)(iobuf + iobuf_len - below(16));	/* runs into the hole */
	default: return any_value();
	}
}

static long len_arg(void)
{
	switch (below(6)) {
	case 0: return 0;
	case 1: return (long)below(64);
	case 2: return (long)below(iobuf_len + 1);
	case 3: return PICK(huge_lens);
	case 4: return (long)pg;
	default: return any_value();
	}
}

static long fd_arg(void)
{
	if (nfds && chance(75))
		return fds[below(nfds)];
	static const long odd[] = { -1, AX_OPEN_MAX, AX_OPEN_MAX - 1, 1L << 31, 1L << 32, 100000 };
	return chance(50) ? PICK(odd) : any_value();
}

/* A string argument: a pool path written into our buffer, random bytes, or
 * a bad pointer. mutating: only relative names. */
static long path_arg(int mutating)
{
	char *dst = (char *)iobuf + below(iobuf_len / 2);

	switch (below(10)) {
	case 0: return 0;
	case 1: return PICK(kernel_addrs);
	case 2: return unmapped_page;
	case 3: {	/* random name over a harmless alphabet */
		size_t n = below(12);
		for (size_t i = 0; i < n; i++)
			dst[i] = "ab./"[below(i == 0 ? 3 : 4)];
		dst[n] = 0;
		return (long)dst;
	}
	case 4: {	/* longer than AX_PATH_MAX */
		size_t n = AX_PATH_MAX + below(64);
		memset(dst, 'a', n);
		dst[n] = 0;
		return (long)dst;
	}
	case 5: {	/* unterminated up to the hole */
		size_t n = below(32) + 1;
		memset(iobuf + iobuf_len - n, 'a', n);
		return (long)(iobuf + iobuf_len - n);
	}
	default:
		strcpy(dst, mutating || chance(50) ? PICK(rel_paths) : PICK(ro_paths));
		return (long)dst;
	}
}

static long argv_arg(void)
{
	static char *argv_ok[] = { "echo", "fuzz", NULL };
	static char *argv_bad[] = { "echo", (char *)0xffff800000000000UL, NULL };
	static char *argv_empty[] = { NULL };

	switch (below(6)) {
	case 0: return (long)argv_ok;
	case 1: return (long)argv_bad;
	case 2: return (long)argv_empty;
	case 3: return 0;
	case 4: {	/* an array filled with whatever is in the buffer */
		long *a = (long *)((uintptr_t)(iobuf + below(iobuf_len - 64)) & ~7UL);
		for (int i = 0; i < 4; i++)
			a[i] = chance(50) ? (long)"x" : any_value();
		a[4] = 0;
		return (long)a;
	}
	default: return any_value();
	}
}

/* ------------------------------------------------------------- bpf */

static const uint8_t bpf_opcodes[] = {
	0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f,
	0x77, 0x7f, 0x87, 0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd4, 0xdc,
	0x04, 0x0c, 0x14, 0x24, 0x34, 0x3c, 0x44, 0x54, 0x64, 0x74, 0x84, 0x94, 0x9c, 0xa4,
	0xb4, 0xbc, 0xc4, 0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x45, 0x55, 0x5d, 0x65, 0x75,
	0xa5, 0xb5, 0xc5, 0xd5, 0x16, 0x26, 0x85, 0x95, 0x18, 0x61, 0x69, 0x71, 0x79, 0x62,
	0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0x81, 0x89, 0x91,
};

/* Fills attr (in our buffer) for a random bpf command; returns the command. */
static long bpf_args(union bpf_attr *attr)
{
	static const long cmds[] = { BPF_MAP_CREATE, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM,
				     BPF_MAP_DELETE_ELEM, BPF_MAP_GET_NEXT_KEY, BPF_PROG_LOAD,
				     BPF_PROG_LOAD, BPF_PROG_LOAD, BPF_PROG_TEST_RUN,
				     BPF_PROG_GET_NEXT_ID, BPF_MAP_GET_NEXT_ID, BPF_OBJ_GET_INFO_BY_FD,
				     BPF_MAP_LOOKUP_AND_DELETE_ELEM, BPF_OBJ_CLOSE, 7, 99, -1 };
	long cmd = PICK(cmds);

	for (size_t i = 0; i < sizeof(attr->raw); i++)
		attr->raw[i] = chance(70) ? 0 : (uint8_t)rnd();
	if (cmd == BPF_PROG_LOAD) {
		unsigned n = (unsigned)below(24) + 1;
		struct bpf_insn *insns = (struct bpf_insn *)(iobuf + pg);
		for (unsigned i = 0; i < n; i++) {
			insns[i].code = chance(95) ? PICK(bpf_opcodes) : (uint8_t)rnd();
			insns[i].dst_reg = (uint8_t)below(chance(95) ? 10 : 16);
			insns[i].src_reg = (uint8_t)below(chance(95) ? 11 : 16);
			insns[i].off = (int16_t)(chance(70) ? (int)below(8) - 4 : (int16_t)rnd());
			insns[i].imm = chance(60) ? (int32_t)below(16) : (int32_t)rnd();
		}
		if (chance(80)) {
			insns[n - 1] = (struct bpf_insn){ .code = 0x95 };	/* exit */
			if (n > 1 && chance(70))
				insns[0] = (struct bpf_insn){ .code = 0xb7, .imm = (int32_t)below(5) };
		}
		attr->prog_type = (uint32_t)below(8);
		attr->insn_cnt = chance(90) ? n : (uint32_t)rnd();
		attr->insns = chance(90) ? (uint64_t)(uintptr_t)insns : (uint64_t)ptr_arg();
		attr->license = chance(80) ? (uint64_t)(uintptr_t)"GPL" : (uint64_t)ptr_arg();
		if (chance(30)) {
			attr->log_level = (uint32_t)below(3);
			attr->log_size = (uint32_t)below(512);
			attr->log_buf = (uint64_t)ptr_arg();
		}
		attr->mem_size = (uint32_t)below(128);
	} else if (cmd == BPF_MAP_CREATE) {
		attr->map_type = (uint32_t)below(12);
		attr->key_size = (uint32_t)(chance(80) ? 4 << below(3) : rnd());
		attr->value_size = (uint32_t)(chance(80) ? 4 << below(4) : rnd());
		attr->max_entries = (uint32_t)(chance(80) ? below(64) + 1 : rnd());
	} else if (cmd == BPF_PROG_TEST_RUN) {
		attr->test.prog_fd = (uint32_t)below(8);
		attr->test.data_size_in = (uint32_t)below(128);
		attr->test.data_in = (uint64_t)ptr_arg();
		attr->test.data_size_out = (uint32_t)below(128);
		attr->test.data_out = (uint64_t)ptr_arg();
		attr->test.repeat = (uint32_t)below(3);
	} else if (cmd >= BPF_MAP_LOOKUP_ELEM && cmd <= BPF_MAP_GET_NEXT_KEY) {
		attr->map_fd = (uint32_t)below(8);
		attr->key = (uint64_t)ptr_arg();
		attr->value = (uint64_t)ptr_arg();
	}
	return cmd;
}

/* ------------------------------------------------- safety filters */

/* Whether a read or write on fd cannot block forever. */
static int io_safe(long fd)
{
	struct ax_stat st;

	if (fd == progress_fd)
		return 0;
	if (syscall(SYS_fstat, fd, (long)&st, 0, 0, 0, 0) < 0)
		return 1;	/* a bad fd: the kernel says EBADF */
	if (S_ISFIFO(st.st_mode))
		return 0;
	if (S_ISCHR(st.st_mode))
		return st.st_rdev == null_rdev || st.st_rdev == zero_rdev;
	return 1;
}

static long kill_pid(void)
{
	if (nchildren && chance(70))
		return children[below(nchildren)];
	return chance(50) ? 999999 : 123456;
}

static long mmap_len(void)
{
	return chance(85) ? (long)((below(ARENA_PAGES) + 1) * pg - (chance(10) ? below(pg) : 0))
			  : PICK(huge_lens);
}

/* --------------------------------------------------------- one call */

void fuzz_thread(void *arg);

struct call {
	long nr;
	long a[6];
};

/* Builds the next call; returns 0 if it must be skipped. */
static int make_call(struct call *c)
{
	long *a = c->a;

	for (int i = 0; i < 6; i++)
		a[i] = any_value();
	if (chance(4)) {	/* an invalid number */
		static const long bad_nrs[] = { 0, NR_SYSCALLS, NR_SYSCALLS + 1, 255, 1000, -1,
						(1L << 32) | SYS_getpid, (long)0x8000000000000000UL };
		c->nr = chance(50) ? PICK(bad_nrs) : (long)rnd();
		return 1;
	}
	c->nr = (long)below(NR_SYSCALLS - 1) + 1;
	switch (c->nr) {
	case SYS_exit: case SYS_thread_exit: case SYS_poweroff: case SYS_execve:
		return 0;
	case SYS_read: case SYS_write:
		a[0] = fd_arg(); a[1] = ptr_arg(); a[2] = len_arg();
		return io_safe(a[0]);
	case SYS_ftruncate:
		a[0] = fd_arg(); a[1] = chance(80) ? (long)below(3 * pg) : any_value();
		return io_safe(a[0]);
	case SYS_getdents:
		a[0] = fd_arg(); a[1] = ptr_arg(); a[2] = len_arg();
		return io_safe(a[0]);
	case SYS_open: {
		int mutating = chance(50);
		a[0] = path_arg(mutating);
		a[1] = mutating ? (long)(rnd() & (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY))
				: (long)(rnd() & O_DIRECTORY);
		if (chance(5))
			a[1] |= (long)(rnd() & ~(long)(O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND));
		a[2] = chance(80) ? 0644 : any_value();
		return 1;
	}
	case SYS_close: case SYS_dup: case SYS_fstat: case SYS_lseek:
		a[0] = fd_arg();
		if (c->nr == SYS_fstat)
			a[1] = ptr_arg();
		if (c->nr == SYS_lseek) {
			a[1] = chance(70) ? (long)below(4 * pg) - 16 : any_value();
			a[2] = chance(80) ? (long)below(3) : any_value();
		}
		return a[0] != progress_fd;
	case SYS_dup2:
		a[0] = fd_arg(); a[1] = fd_arg();
		return a[1] != progress_fd && a[0] != progress_fd;
	case SYS_stat:
		a[0] = path_arg(0); a[1] = ptr_arg();
		return 1;
	case SYS_mkdir: case SYS_unlink: case SYS_rmdir:
		a[0] = path_arg(1); a[1] = 0755;
		return 1;
	case SYS_rename:
		a[0] = path_arg(1); a[1] = path_arg(1);
		return 1;
	case SYS_chdir: {
		static const char *const dirs[] = { ".", "d", "d/e", "nonexistent", "f" };
		a[0] = chance(60) ? (long)(chance(30) ? own_dir : PICK(dirs)) : chance(50) ? 0 : PICK(kernel_addrs);
		return 1;
	}
	case SYS_getcwd: case SYS_uname: case SYS_pipe: case SYS_clock_gettime:
		if (c->nr == SYS_clock_gettime) {
			a[0] = chance(80) ? (long)below(3) : any_value();
			a[1] = ptr_arg();
		} else {
			a[0] = ptr_arg(); a[1] = len_arg();
		}
		return 1;
	case SYS_spawn: {
		static const char *const progs[] = { "/bin/echo", "/nonexistent", "/etc/motd", "/bin", "" };
		a[0] = chance(80) ? (long)PICK(progs) : path_arg(0);
		/* never a random program: a string in our buffer becomes /bin/echo,
		 * or stays unterminated up to the hole (EFAULT) */
		if ((uintptr_t)a[0] >= (uintptr_t)iobuf &&
		    (uintptr_t)a[0] + sizeof("/bin/echo") <= (uintptr_t)iobuf + iobuf_len)
			strcpy((char *)a[0], "/bin/echo");
		a[1] = argv_arg(); a[2] = chance(50) ? 0 : argv_arg();
		return 1;
	}
	case SYS_waitpid:
		a[0] = chance(50) ? -1 : kill_pid(); a[1] = ptr_arg();
		a[2] = (chance(90) ? 0 : (long)(rnd() & 0xff)) | WNOHANG;
		return 1;
	case SYS_kill:
		a[0] = kill_pid();
		a[1] = chance(80) ? (long)PICK(((const long[]){ 0, SIGKILL, SIGTERM, SIGSEGV, 1, 64, 65, -1 })) : any_value();
		return 1;
	case SYS_mmap: {
		int fixed = chance(30);
		a[1] = mmap_len();
		if (fixed) {
			long pages = a[1] > 0 ? (a[1] + (long)pg - 1) / (long)pg : 0;
			if (a[1] <= 0 || pages > ARENA_PAGES)
				a[0] = chance(50) ? PICK(kernel_addrs) : 0;	/* defused: cannot be valid */
			else
				a[0] = (long)(arena + below(ARENA_PAGES - pages + 1) * pg);
			if (chance(10))
				a[0] += 1;	/* unaligned */
		} else {
			a[0] = chance(70) ? 0 : any_value();
		}
		a[2] = (long)below(8) | (chance(5) ? (long)rnd() : 0);
		a[3] = MAP_PRIVATE | MAP_ANONYMOUS | (fixed ? MAP_FIXED : 0);
		if (chance(10))
			a[3] = (long)(rnd() & 0xff) & ~MAP_FIXED;
		a[4] = chance(80) ? -1 : fd_arg();
		a[5] = chance(80) ? 0 : any_value();
		return 1;
	}
	case SYS_munmap:
		if (nmaps && chance(50)) {
			int i = (int)below(nmaps);
			a[0] = (long)maps[i].addr;
			a[1] = (long)maps[i].len;
			maps[i] = maps[--nmaps];
		} else if (chance(60)) {
			long k = (long)below(ARENA_PAGES);
			a[0] = (long)(arena + (uintptr_t)k * pg);
			a[1] = (long)((below(ARENA_PAGES - k) + 1) * pg);
		} else {
			a[0] = chance(50) ? PICK(kernel_addrs) : (long)(arena + 1);
			a[1] = chance(50) ? PICK(huge_lens) : (long)pg;
			if (a[0] == (long)(arena + 1))
				a[1] = (long)pg;
		}
		return 1;
	case SYS_nanosleep:
		short_sleep.tv_sec = 0;
		short_sleep.tv_nsec = (long)below(2000000);
		a[0] = chance(80) ? (long)&short_sleep : chance(50) ? 0 : PICK(kernel_addrs);
		a[1] = chance(50) ? 0 : ptr_arg();
		return 1;
	case SYS_thread_create: {
		unsigned char *stack = thread_stacks[thread_next++ % 8];
		/* a bad entry or stack would only kill this batch (selftest covers
		 * that); the kernel-side checks get NULL and kernel-half values */
		a[0] = chance(95) ? (long)fuzz_thread : 0;
		a[1] = (long)(stack + sizeof(thread_stacks[0]) - 16);
		if (chance(5))
			a[1] = PICK(kernel_addrs);
		a[2] = any_value();
		return 1;
	}
	case SYS_bpf:
		a[0] = bpf_args((union bpf_attr *)iobuf);
		a[1] = chance(90) ? (long)iobuf : ptr_arg();
		a[2] = chance(80) ? (long)sizeof(union bpf_attr) : len_arg();
		return 1;
	default:	/* getpid, getppid, gettid, sched_yield: anything goes */
		return 1;
	}
}

/* A thread the fuzzer creates: it exits at once. */
void fuzz_thread(void *arg)
{
	(void)arg;
	syscall(SYS_thread_exit, 0, 0, 0, 0, 0, 0);
}

static void after_call(const struct call *c, long r)
{
	if (r < 0)
		return;
	switch (c->nr) {
	case SYS_open: case SYS_dup: case SYS_dup2:
		track_fd(r);
		break;
	case SYS_pipe: {
		int *p = (int *)c->a[0];
		if ((uintptr_t)p >= (uintptr_t)iobuf && (uintptr_t)p < (uintptr_t)iobuf + iobuf_len - 8) {
			track_fd(p[0]);
			track_fd(p[1]);
		}
		break;
	}
	case SYS_spawn:
		if (nchildren < (int)(sizeof(children) / sizeof(children[0])))
			children[nchildren++] = (pid_t)r;
		break;
	case SYS_mmap:
		if (nmaps < (int)(sizeof(maps) / sizeof(maps[0])) && !(c->a[3] & MAP_FIXED)) {
			maps[nmaps].addr = (uintptr_t)r;
			maps[nmaps].len = (size_t)c->a[1];
			nmaps++;
		}
		break;
	}
}

struct progress {
	uint32_t calls;
	int32_t last_nr;
	uint32_t done;
};

static void report(uint32_t calls, long nr, int done)
{
	struct progress p = { calls, (int32_t)nr, (uint32_t)done };

	if (progress_fd >= 0)
		write(progress_fd, &p, sizeof(p));
}

/* One batch, in a child process. */
static int batch(uint64_t seed, long count)
{
	struct ax_stat st;

	rng_state = seed ? seed : 1;
	pg = getpagesize();
	/* standard fds go to /dev/null (random writes must not reach the
	 * console), except stdout and stderr in verbose mode */
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd < (verbose ? 1 : 3); fd++)
		if (fd != progress_fd)
			dup2(null, fd);
	if (null > 2 && null != progress_fd)
		close(null);

	iobuf_len = 2 * pg;
	iobuf = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (iobuf == MAP_FAILED)
		return 2;
	munmap(iobuf + 2 * pg, pg);
	unmapped_page = (long)(iobuf + 2 * pg);
	void *ar = mmap(NULL, ARENA_PAGES * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ar == MAP_FAILED)
		return 2;
	arena = (uintptr_t)ar;
	munmap(ar, ARENA_PAGES * pg);

	snprintf(own_dir, sizeof(own_dir), WORKDIR "/%d", getpid());
	mkdir(WORKDIR, 0755);
	mkdir(own_dir, 0755);
	if (chdir(own_dir) < 0)
		return 2;
	mkdir("d", 0755);
	mkdir("d/e", 0755);
	int f = open("f", O_RDWR | O_CREAT, 0644);
	write(f, "fuzz file contents\n", 19);
	track_fd(f);
	track_fd(open("/etc/motd", O_RDONLY));
	track_fd(open("/", O_RDONLY | O_DIRECTORY));
	track_fd(open("/proc/meminfo", O_RDONLY));
	int zero = open("/dev/zero", O_RDWR);
	track_fd(zero);
	track_fd(0);
	if (fstat(0, &st) == 0)
		null_rdev = st.st_rdev;
	if (fstat(zero, &st) == 0)
		zero_rdev = st.st_rdev;

	long made = 0;
	for (long tries = 0; made < count && tries < count * 20; tries++) {
		struct call c;
		if (!make_call(&c))
			continue;
		if (made % 16 == 0)
			report((uint32_t)made, c.nr, 0);
		if (verbose)
			dprintf(1, "fuzz: #%ld nr %ld (%#lx, %#lx, %#lx, %#lx, %#lx, %#lx)",
				made, c.nr, c.a[0], c.a[1], c.a[2], c.a[3], c.a[4], c.a[5]);
		long r = syscall(c.nr, c.a[0], c.a[1], c.a[2], c.a[3], c.a[4], c.a[5]);
		if (verbose)
			dprintf(1, " = %ld\n", r);
		after_call(&c, r);
		made++;
	}
	report((uint32_t)made, 0, 1);
	return 0;
}

/* ---------------------------------------------------------- driver */

static void remove_tree(const char *path)
{
	char *argv[] = { "rm", "-r", (char *)path, NULL };
	pid_t pid = spawn("/bin/rm", argv, environ);

	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Runs one batch child; returns the number of calls it made. */
static long run_batch(const char *self, uint64_t seed, long count, int index)
{
	int p[2];
	char seed_s[24], count_s[24], fd_s[12];

	if (pipe(p) < 0) {
		printf("fuzz: pipe: %s\n", strerror(errno));
		return -1;
	}
	snprintf(seed_s, sizeof(seed_s), "%llu", (unsigned long long)seed);
	snprintf(count_s, sizeof(count_s), "%ld", count);
	snprintf(fd_s, sizeof(fd_s), "%d", p[1]);
	char *argv[] = { "fuzz", "-c", seed_s, count_s, fd_s, NULL };
	pid_t pid = spawn(self, argv, environ);
	close(p[1]);
	if (pid < 0) {
		printf("fuzz: spawn: %s\n", strerror(errno));
		close(p[0]);
		return -1;
	}
	int status = 0, timed_out = 0;
	int64_t deadline = now_ns() + BATCH_TIMEOUT_MS * 1000000LL;
	for (long nap = 1;; nap = nap < 32 ? nap * 2 : nap) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0) {
			printf("fuzz: waitpid: %s\n", strerror(errno));
			break;
		}
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			timed_out = 1;
			break;
		}
		sleep_ms(nap);
	}
	/* the child (and any echo it spawned) has the write end: read to EOF */
	struct progress pr, last = { 0, 0, 0 };
	while (read(p[0], &pr, sizeof(pr)) == sizeof(pr))
		last = pr;
	close(p[0]);
	if (timed_out || !last.done || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char how[48];
		if (timed_out)
			snprintf(how, sizeof(how), "hung for %d s", BATCH_TIMEOUT_MS / 1000);
		else if (WIFSIGNALED(status))
			snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
		else
			snprintf(how, sizeof(how), "exited with %d", WEXITSTATUS(status));
		printf("fuzz: batch %d (seed %s) %s after about %u calls, near syscall %d; "
		       "replay: fuzz -c %s %s -1 -v\n", index, seed_s, how, last.calls, last.last_nr, seed_s,
		       count_s);
	}
	return last.calls;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "-c") == 0) {
		progress_fd = atoi(argv[4]);
		verbose = argc > 5 && strcmp(argv[5], "-v") == 0;
		return batch(strtoul(argv[2], NULL, 0), strtol(argv[3], NULL, 0));
	}
	if (argc < 2 || argc > 3 || atoi(argv[1]) <= 0) {
		dprintf(2, "usage: fuzz N [SEED]\n");
		return 2;
	}
	long n = strtol(argv[1], NULL, 0);
	uint64_t seed = argc == 3 ? strtoul(argv[2], NULL, 0) : (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
	const char *self = argv[0][0] == '/' ? argv[0] : "/bin/fuzz";

	printf("fuzz: %ld calls, seed %llu, %d per batch\n", n, (unsigned long long)seed, BATCH);
	mkdir(WORKDIR, 0755);
	long total = 0;
	int batches = 0, max_batches = (int)(n / BATCH) * 4 + 8;
	while (total < n && batches < max_batches) {
		long count = n - total < BATCH ? n - total : BATCH;
		long made = run_batch(self, seed + (uint64_t)batches * 0x9e3779b97f4a7c15ULL, count, batches);
		batches++;
		if (made < 0)
			break;
		total += made;
	}
	remove_tree(WORKDIR);
	printf("fuzz: %ld calls, 0 panics\n", total);
	return total >= n ? 0 : 1;
}

/*
 * selftest: the kernel's user-level test suite (in the style of xv6's
 * usertests). Each test is a function that checks one behaviour of the
 * system-call ABI or the filesystem. The runner executes every test in a
 * process of its own (this program spawned with "-t NAME"), so a test that
 * crashes or hangs is reported and the rest still run. Output:
 *
 *     selftest: <name> ok
 *     selftest: <name> FAILED: <reason>
 *     ...
 *     selftest: N passed, M failed
 *
 * Usage: selftest [NAME...]     run all tests, or the named ones
 *        selftest -l            list the tests
 *        selftest -t NAME       (internal) run one test in this process
 *        selftest -h HELPER ... (internal) child programs used by tests
 *
 * A test process reports success by exiting with PASS_CODE, so a child
 * that exits 0 by accident (e.g. a wrongly successful execve) is not
 * mistaken for a pass. Files are created under /tmp/st-<name>, which the
 * runner removes afterwards.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syscall_arch.h>
#include <unistd.h>
#include <axiom/bpf.h>
#include <libbpf.h>
#include "../bpf/demo.h"

#define PASS_CODE 90
#define TEST_TIMEOUT_MS 60000
#define HELPER_DEADLINE_MS 20000	/* spinning helpers give up after this */

static const char *self_path = "/bin/selftest";
static const char *cur_test = "?";
static char scratch_dir[AX_PATH_MAX];

/* ---------------------------------------------------------------- checks */

/* bpf objects the running test made: a failing test unloads them (detaching
 * first) so that no policy or counter stays attached for the tests after it. */
#define BPF_OWNED_MAX 32
static uint32_t bpf_owned[BPF_OWNED_MAX], bpf_owned_attach[BPF_OWNED_MAX];
static int bpf_nowned;

static void bpf_release_all(void)
{
	while (bpf_nowned > 0) {
		bpf_nowned--;
		if (bpf_owned_attach[bpf_nowned])
			bpf_prog_detach(bpf_owned[bpf_nowned], bpf_owned_attach[bpf_nowned]);
		bpf_obj_close(bpf_owned[bpf_nowned]);
	}
}

static _Noreturn __attribute__((format(printf, 2, 3))) void failf(int line, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("selftest: %s FAILED: %s (line %d)\n", cur_test, msg, line);
	bpf_release_all();
	_exit(1);
}

#define FAIL(...) failf(__LINE__, __VA_ARGS__)
#define CHECK(cond, ...)                  \
	do {                              \
		if (!(cond))              \
			FAIL(__VA_ARGS__); \
	} while (0)

/* expr must succeed (not return -1); yields its value */
#define OK(expr)                                                               \
	({                                                                     \
		errno = 0;                                                     \
		long ok_r_ = (long)(expr);                                     \
		if (ok_r_ == -1)                                               \
			FAIL("%s: %s", #expr, strerror(errno));                \
		ok_r_;                                                         \
	})

/* expr must fail with errno err */
#define ERR(expr, err)                                                                  \
	do {                                                                            \
		errno = 0;                                                              \
		long err_r_ = (long)(expr);                                             \
		if (err_r_ != -1)                                                       \
			FAIL("%s: expected %s, got %ld", #expr, strerror(err), err_r_); \
		if (errno != (err))                                                     \
			FAIL("%s: expected %s, got %s", #expr, errname(err), errname(errno)); \
	} while (0)

/* strerror() may use a static buffer; this keeps two names in one message apart */
static const char *errname(int e)
{
	static char bufs[4][24];
	static int next;
	char *b = bufs[next++ & 3];

	snprintf(b, sizeof(bufs[0]), "%s", strerror(e));
	return b;
}

static const char *rawname(long r)
{
	static char bufs[4][32];
	static int next;
	char *b = bufs[next++ & 3];

	if (r < 0 && r >= -4095)
		snprintf(b, sizeof(bufs[0]), "-%s", strerror((int)-r));
	else
		snprintf(b, sizeof(bufs[0]), "%ld", r);
	return b;
}

/* ----------------------------------------------------------- utilities */

/* Creates and enters this test's scratch directory. */
static void use_scratch(void)
{
	snprintf(scratch_dir, sizeof(scratch_dir), "/tmp/st-%s", cur_test);
	if (mkdir(scratch_dir, 0755) < 0 && errno != EEXIST)
		FAIL("mkdir %s: %s", scratch_dir, strerror(errno));
	if (chdir(scratch_dir) < 0)
		FAIL("chdir %s: %s", scratch_dir, strerror(errno));
}

static void write_file(const char *path, const void *data, size_t n, int mode)
{
	int fd = (int)OK(open(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
	ssize_t w = OK(write(fd, data, n));
	CHECK((size_t)w == n, "write %s: %ld of %zu bytes", path, w, n);
	OK(close(fd));
}

/* Reads up to size-1 bytes of path into buf (NUL-terminated); returns the count. */
static ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = (int)OK(open(path, O_RDONLY));
	ssize_t total = 0, n;

	while ((size_t)total < size - 1 && (n = read(fd, buf + total, size - 1 - (size_t)total)) != 0) {
		if (n < 0)
			FAIL("read %s: %s", path, strerror(errno));
		total += n;
	}
	buf[total] = 0;
	OK(close(fd));
	return total;
}

static void fd_str(char *buf, size_t size, int fd)
{
	snprintf(buf, size, "%d", fd);
}

/* Spawns this program as helper `name` with up to 4 more arguments. */
static pid_t spawn_helper(const char *name, const char *a1, const char *a2, const char *a3)
{
	char *argv[] = { "selftest", "-h", (char *)name, (char *)a1, (char *)a2, (char *)a3, NULL };
	pid_t pid = spawn(self_path, argv, environ);

	if (pid < 0)
		FAIL("spawn helper %s: %s", name, strerror(errno));
	return pid;
}

/* Waits for pid with a deadline; kills it and fails on timeout. */
static int wait_child(pid_t pid, long timeout_ms)
{
	int64_t deadline = now_ns() + timeout_ms * 1000000LL;
	long nap = 1;
	int status = 0;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0)
			FAIL("waitpid(%d): %s", pid, strerror(errno));
		if (r != 0)
			FAIL("waitpid(%d) returned %d", pid, r);
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			FAIL("child %d still running after %ld ms", pid, timeout_ms);
		}
		sleep_ms(nap);
		if (nap < 20)
			nap *= 2;
	}
}

static int run_helper(const char *name, const char *a1, const char *a2, const char *a3)
{
	return wait_child(spawn_helper(name, a1, a2, a3), 30000);
}

static void describe_status(char *buf, size_t size, int status)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
}

static void expect_exit(int status, int code, const char *what)
{
	char d[48];

	describe_status(d, sizeof(d), status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == code, "%s: expected exit %d, got %s",
	      what, code, d);
}

static void expect_signal(int status, int sig, const char *what)
{
	char d[48];

	describe_status(d, sizeof(d), status);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == sig, "%s: expected signal %d, got %s",
	      what, sig, d);
}

static void *map_pages(size_t n)
{
	void *p = mmap(NULL, n * getpagesize(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		FAIL("mmap %zu pages: %s", n, strerror(errno));
	return p;
}

#define DIRENT_NAME __builtin_offsetof(struct ax_dirent, d_name)

/* Names in directory path (without "." and ".."), newline-separated in out. */
static int list_dir(const char *path, char *out, size_t size, size_t bufsize)
{
	char buf[4096];
	int fd = (int)OK(open(path, O_RDONLY | O_DIRECTORY));
	int count = 0;
	ssize_t n;

	out[0] = 0;
	if (bufsize > sizeof(buf))
		bufsize = sizeof(buf);
	while ((n = getdents(fd, (struct ax_dirent *)buf, bufsize)) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct ax_dirent *d = (struct ax_dirent *)(buf + off);
			CHECK(d->d_reclen >= DIRENT_NAME + 2 && d->d_reclen % 8 == 0 && off + d->d_reclen <= n,
			      "getdents %s: bad d_reclen %u at %ld of %ld", path, d->d_reclen, (long)off, (long)n);
			CHECK(memchr(d->d_name, 0, d->d_reclen - DIRENT_NAME),
			      "getdents %s: name not NUL-terminated", path);
			off += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			strlcat(out, d->d_name, size);
			strlcat(out, "\n", size);
			count++;
		}
	}
	if (n < 0)
		FAIL("getdents %s: %s", path, strerror(errno));
	OK(close(fd));
	return count;
}

/* Whether name appears in a newline-separated list. */
static int has_name(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		const char *nl = strchr(p, '\n');
		if ((size_t)(nl - p) == n && strncmp(p, name, n) == 0)
			return 1;
		p = nl + 1;
	}
	return 0;
}

/* d_type of name in directory path, or -1 if missing. */
static int dirent_type(const char *path, const char *name)
{
	char buf[4096];
	int fd = (int)OK(open(path, O_RDONLY | O_DIRECTORY));
	int type = -1;
	ssize_t n;

	while (type < 0 && (n = getdents(fd, (struct ax_dirent *)buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct ax_dirent *d = (struct ax_dirent *)(buf + off);
			if (d->d_reclen == 0)
				break;
			if (strcmp(d->d_name, name) == 0)
				type = d->d_type;
			off += d->d_reclen;
		}
	}
	close(fd);
	return type;
}

/* Removes path and everything under it; best effort. */
static void rm_rf(const char *path)
{
	struct ax_stat st;
	char buf[2048], child[AX_PATH_MAX];

	if (stat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	for (int round = 0; round < 64; round++) {
		int fd = open(path, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			break;
		ssize_t n = getdents(fd, (struct ax_dirent *)buf, sizeof(buf));
		close(fd);
		int found = 0;
		for (ssize_t off = 0; off < n;) {
			struct ax_dirent *d = (struct ax_dirent *)(buf + off);
			if (d->d_reclen == 0)
				break;
			off += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			snprintf(child, sizeof(child), "%s/%s", path, d->d_name);
			rm_rf(child);
			found = 1;
		}
		if (!found)
			break;
	}
	rmdir(path);
}

/* ============================================================ files */

static void test_console_write(void)
{
	static const char msg[] = "selftest: (console write check)\n";
	struct ax_stat st;

	CHECK(OK(write(1, msg, sizeof(msg) - 1)) == sizeof(msg) - 1, "short write to stdout");
	int fd = (int)OK(open("/dev/console", O_WRONLY));
	OK(fstat(fd, &st));
	CHECK(S_ISCHR(st.st_mode), "/dev/console mode %o is not a character device", st.st_mode);
	CHECK(OK(write(fd, "", 0)) == 0, "write of 0 bytes");
	OK(close(fd));
}

static void test_devnull(void)
{
	char buf[64];
	struct ax_stat st;
	int fd = (int)OK(open("/dev/null", O_RDWR));

	CHECK(OK(write(fd, "discard me", 10)) == 10, "write to /dev/null did not take all bytes");
	CHECK(OK(read(fd, buf, sizeof(buf))) == 0, "read from /dev/null is not EOF");
	OK(fstat(fd, &st));
	CHECK(S_ISCHR(st.st_mode), "/dev/null mode %o", st.st_mode);
	OK(close(fd));
}

static void test_devzero(void)
{
	char buf[300];
	int fd = (int)OK(open("/dev/zero", O_RDWR));

	memset(buf, 0xa5, sizeof(buf));
	CHECK(OK(read(fd, buf, sizeof(buf))) == sizeof(buf), "short read from /dev/zero");
	for (size_t i = 0; i < sizeof(buf); i++)
		CHECK(buf[i] == 0, "/dev/zero byte %zu is %#x", i, buf[i] & 0xff);
	CHECK(OK(write(fd, buf, 7)) == 7, "write to /dev/zero");
	OK(close(fd));
}

static void test_initramfs(void)
{
	char buf[128];
	struct ax_stat st;
	static const char hello[] = "hello from the initramfs\n";

	CHECK(read_file("/etc/hello.txt", buf, sizeof(buf)) == sizeof(hello) - 1 &&
	      strcmp(buf, hello) == 0, "/etc/hello.txt has wrong content '%s'", buf);
	OK(stat("/etc/hello.txt", &st));
	CHECK(S_ISREG(st.st_mode) && st.st_size == sizeof(hello) - 1,
	      "/etc/hello.txt: mode %o size %lu", st.st_mode, (unsigned long)st.st_size);
	OK(stat("/bin/init", &st));
	CHECK(S_ISREG(st.st_mode) && (st.st_mode & 0111), "/bin/init mode %o", st.st_mode);
	OK(stat("/tmp", &st));
	CHECK(S_ISDIR(st.st_mode), "/tmp is not a directory");
}

static void test_file_rw(void)
{
	char buf[64];
	struct ax_stat st;

	use_scratch();
	int fd = (int)OK(open("f", O_RDWR | O_CREAT, 0644));
	CHECK(OK(write(fd, "hello, ", 7)) == 7, "short write");
	CHECK(OK(write(fd, "world", 5)) == 5, "short write");
	CHECK(OK(lseek(fd, 0, SEEK_CUR)) == 12, "offset after writes");
	CHECK(OK(read(fd, buf, sizeof(buf))) == 0, "read at end of file is not 0");
	OK(fstat(fd, &st));
	CHECK(st.st_size == 12, "fstat size %lu, expected 12", (unsigned long)st.st_size);
	CHECK(S_ISREG(st.st_mode), "mode %o is not a regular file", st.st_mode);
	CHECK(OK(lseek(fd, 0, SEEK_SET)) == 0, "lseek to 0");
	memset(buf, 0, sizeof(buf));
	CHECK(OK(read(fd, buf, 5)) == 5 && memcmp(buf, "hello", 5) == 0, "read back '%s'", buf);
	CHECK(OK(read(fd, buf, sizeof(buf))) == 7 && memcmp(buf, ", world", 7) == 0, "second read");
	OK(close(fd));
	OK(stat("f", &st));
	CHECK(st.st_size == 12, "stat size %lu after close", (unsigned long)st.st_size);
}

static void test_lseek(void)
{
	char buf[32];
	int p[2];

	use_scratch();
	int fd = (int)OK(open("f", O_RDWR | O_CREAT, 0644));
	OK(write(fd, "0123456789", 10));
	CHECK(OK(lseek(fd, 2, SEEK_SET)) == 2, "SEEK_SET");
	CHECK(OK(lseek(fd, 3, SEEK_CUR)) == 5, "SEEK_CUR");
	CHECK(OK(lseek(fd, -1, SEEK_END)) == 9, "SEEK_END");
	CHECK(OK(read(fd, buf, 5)) == 1 && buf[0] == '9', "read after SEEK_END");
	ERR(lseek(fd, -1, SEEK_SET), EINVAL);
	ERR(lseek(fd, -20, SEEK_END), EINVAL);
	ERR(lseek(fd, 0, 3), EINVAL);
	CHECK(OK(lseek(fd, 0, SEEK_CUR)) == 10, "failed lseek moved the offset");
	/* seeking past the end and writing leaves a hole of zeros */
	CHECK(OK(lseek(fd, 20, SEEK_SET)) == 20, "seek past end");
	OK(write(fd, "x", 1));
	OK(lseek(fd, 0, SEEK_SET));
	memset(buf, 0x55, sizeof(buf));
	CHECK(OK(read(fd, buf, sizeof(buf))) == 21, "file size after hole");
	for (int i = 10; i < 20; i++)
		CHECK(buf[i] == 0, "hole byte %d is %#x", i, buf[i] & 0xff);
	CHECK(buf[20] == 'x', "byte after hole");
	OK(close(fd));
	ERR(lseek(fd, 0, SEEK_SET), EBADF);
	OK(pipe(p));
	ERR(lseek(p[0], 0, SEEK_SET), ESPIPE);
	ERR(lseek(p[1], 0, SEEK_CUR), ESPIPE);
}

static void test_open_creat_excl(void)
{
	struct ax_stat st;

	use_scratch();
	ERR(open("nope", O_RDONLY), ENOENT);
	ERR(open("nope", O_RDWR), ENOENT);
	int fd = (int)OK(open("new", O_WRONLY | O_CREAT | O_EXCL, 0644));
	OK(close(fd));
	OK(stat("new", &st));
	CHECK(S_ISREG(st.st_mode) && st.st_size == 0, "new file mode %o size %lu", st.st_mode,
	      (unsigned long)st.st_size);
	ERR(open("new", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	fd = (int)OK(open("new", O_WRONLY | O_CREAT, 0644));	/* O_CREAT alone opens it */
	OK(close(fd));
	ERR(open("missing/new", O_WRONLY | O_CREAT, 0644), ENOENT);
	ERR(open("new/x", O_WRONLY | O_CREAT, 0644), ENOTDIR);
	OK(mkdir("d", 0755));
	ERR(open("d", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
}

static void test_open_trunc(void)
{
	struct ax_stat st;
	char buf[16];

	use_scratch();
	write_file("f", "some content", 12, 0644);
	int fd = (int)OK(open("f", O_RDWR | O_TRUNC));
	OK(fstat(fd, &st));
	CHECK(st.st_size == 0, "size %lu after O_TRUNC", (unsigned long)st.st_size);
	CHECK(OK(read(fd, buf, sizeof(buf))) == 0, "read after O_TRUNC");
	OK(write(fd, "ab", 2));
	OK(close(fd));
	OK(stat("f", &st));
	CHECK(st.st_size == 2, "size %lu after rewrite", (unsigned long)st.st_size);
}

static void test_open_append(void)
{
	char buf[32];

	use_scratch();
	write_file("f", "abc", 3, 0644);
	int fd = (int)OK(open("f", O_RDWR | O_APPEND));
	OK(lseek(fd, 0, SEEK_SET));
	OK(write(fd, "de", 2));
	CHECK(OK(lseek(fd, 0, SEEK_CUR)) == 5, "offset after append write");
	OK(lseek(fd, 1, SEEK_SET));
	OK(write(fd, "f", 1));
	OK(close(fd));
	CHECK(read_file("f", buf, sizeof(buf)) == 6 && strcmp(buf, "abcdef") == 0,
	      "content '%s', expected 'abcdef'", buf);
}

static void test_open_directory(void)
{
	use_scratch();
	write_file("f", "x", 1, 0644);
	OK(mkdir("d", 0755));
	ERR(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
	OK(close((int)OK(open("d", O_RDONLY | O_DIRECTORY))));
	OK(close((int)OK(open("/", O_RDONLY | O_DIRECTORY))));
	OK(close((int)OK(open("/dev", O_RDONLY | O_DIRECTORY))));
	ERR(open("d", O_WRONLY), EISDIR);
	ERR(open("d", O_RDWR), EISDIR);
	ERR(open("nope", O_RDONLY | O_DIRECTORY), ENOENT);
	int fd = (int)OK(open("d", O_RDONLY));
	char c;
	ERR(read(fd, &c, 1), EISDIR);
	OK(close(fd));
}

static void test_open_accmode(void)
{
	char c = 'x';

	use_scratch();
	write_file("f", "abc", 3, 0644);
	int ro = (int)OK(open("f", O_RDONLY));
	int wo = (int)OK(open("f", O_WRONLY));
	ERR(write(ro, &c, 1), EBADF);
	ERR(read(wo, &c, 1), EBADF);
	CHECK(OK(read(ro, &c, 1)) == 1 && c == 'a', "read on O_RDONLY");
	CHECK(OK(write(wo, "z", 1)) == 1, "write on O_WRONLY");
	OK(close(ro));
	OK(close(wo));
	ERR(read(-1, &c, 1), EBADF);
	ERR(write(AX_OPEN_MAX, &c, 1), EBADF);
	ERR(read(1 << 20, &c, 1), EBADF);
}

static void test_dup_offset(void)
{
	char buf[8];

	use_scratch();
	write_file("f", "0123456789", 10, 0644);
	int a = (int)OK(open("f", O_RDONLY));
	int b = (int)OK(dup(a));
	CHECK(a != b, "dup returned the same fd");
	OK(read(a, buf, 3));
	CHECK(OK(lseek(b, 0, SEEK_CUR)) == 3, "dup does not share the offset");
	CHECK(OK(read(b, buf, 2)) == 2 && memcmp(buf, "34", 2) == 0, "read through dup");
	OK(close(a));
	CHECK(OK(read(b, buf, 1)) == 1 && buf[0] == '5', "dup broken after closing the original");
	OK(close(b));
	ERR(dup(b), EBADF);
	ERR(dup(-1), EBADF);
}

static void test_dup2(void)
{
	char buf[8];

	use_scratch();
	write_file("f", "0123456789", 10, 0644);
	write_file("g", "abcdef", 6, 0644);
	int a = (int)OK(open("f", O_RDONLY));
	int g = (int)OK(open("g", O_RDONLY));
	CHECK(OK(dup2(a, a)) == a, "dup2(fd, fd) did not return fd");
	CHECK(OK(dup2(a, 20)) == 20, "dup2 to 20");
	OK(read(20, buf, 4));
	CHECK(OK(lseek(a, 0, SEEK_CUR)) == 4, "dup2 does not share the offset");
	/* dup2 onto an open fd closes it first */
	CHECK(OK(dup2(a, g)) == g, "dup2 onto an open fd");
	CHECK(OK(read(g, buf, 1)) == 1 && buf[0] == '4', "fd %d still refers to the old file", g);
	ERR(dup2(a, -1), EBADF);
	ERR(dup2(a, AX_OPEN_MAX), EBADF);
	ERR(dup2(99999, 21), EBADF);
	ERR(dup2(-5, 21), EBADF);
	ERR(close(21), EBADF);
	OK(close(a));
	OK(close(20));
	OK(close(g));
}

static void test_close(void)
{
	char c;

	use_scratch();
	write_file("f", "x", 1, 0644);
	int a = (int)OK(open("f", O_RDONLY));
	int b = (int)OK(open("f", O_RDONLY));
	OK(close(a));
	ERR(close(a), EBADF);
	ERR(read(a, &c, 1), EBADF);
	int c2 = (int)OK(open("f", O_RDONLY));
	CHECK(c2 == a, "open returned %d, not the lowest free fd %d", c2, a);
	OK(close(c2));
	OK(close(b));
	ERR(close(-1), EBADF);
	ERR(close(AX_OPEN_MAX), EBADF);
	ERR(close(1 << 30), EBADF);
}

static void test_emfile(void)
{
	int fds[AX_OPEN_MAX + 8];
	int n = 0;

	for (; n < AX_OPEN_MAX + 8; n++) {
		fds[n] = open("/dev/null", O_RDONLY);
		if (fds[n] < 0)
			break;
		CHECK(fds[n] < AX_OPEN_MAX, "fd %d is beyond AX_OPEN_MAX", fds[n]);
	}
	CHECK(n < AX_OPEN_MAX + 8, "opened %d files without EMFILE", n);
	CHECK(errno == EMFILE, "open failed with %s, expected EMFILE", strerror(errno));
	CHECK(n >= AX_OPEN_MAX - 8, "only %d files open at EMFILE", n);
	ERR(dup(fds[0]), EMFILE);
	int pp[2];
	ERR(pipe(pp), EMFILE);
	for (int i = 0; i < n; i++)
		OK(close(fds[i]));
	OK(close((int)OK(open("/dev/null", O_RDONLY))));
}

static void test_stat_modes(void)
{
	struct ax_stat st, st2;
	int p[2];
	char buf[8];

	use_scratch();
	OK(stat("/", &st));
	CHECK(S_ISDIR(st.st_mode), "/ mode %o", st.st_mode);
	OK(stat("/dev/null", &st));
	CHECK(S_ISCHR(st.st_mode), "/dev/null mode %o", st.st_mode);
	OK(stat("/bin/echo", &st));
	CHECK(S_ISREG(st.st_mode) && st.st_size > 64, "/bin/echo mode %o size %lu", st.st_mode,
	      (unsigned long)st.st_size);
	int fd = (int)OK(open("/bin/echo", O_RDONLY));
	OK(fstat(fd, &st2));
	CHECK(st2.st_size == st.st_size && st2.st_ino == st.st_ino, "fstat and stat of /bin/echo differ");
	CHECK(OK(lseek(fd, 0, SEEK_END)) == (long)st.st_size, "SEEK_END != st_size");
	OK(lseek(fd, 0, SEEK_SET));
	CHECK(OK(read(fd, buf, 4)) == 4 && memcmp(buf, "\177ELF", 4) == 0, "/bin/echo is not ELF");
	OK(close(fd));
	OK(pipe(p));
	OK(fstat(p[0], &st));
	CHECK(S_ISFIFO(st.st_mode), "pipe mode %o", st.st_mode);
	OK(mkdir("d", 0755));
	write_file("f", "12345", 5, 0644);
	OK(stat("d", &st));
	CHECK(S_ISDIR(st.st_mode), "new dir mode %o", st.st_mode);
	OK(stat("f", &st));
	CHECK(S_ISREG(st.st_mode) && st.st_size == 5, "new file mode %o size %lu", st.st_mode,
	      (unsigned long)st.st_size);
	OK(stat("f", &st2));
	CHECK(st.st_ino == st2.st_ino, "inode number changes between stats");
	OK(stat("d", &st2));
	CHECK(st.st_ino != st2.st_ino, "two files share inode %lu", (unsigned long)st.st_ino);
	ERR(stat("nope", &st), ENOENT);
	ERR(stat("f/x", &st), ENOTDIR);
	ERR(stat("", &st), ENOENT);
	ERR(fstat(-1, &st), EBADF);
	ERR(fstat(AX_OPEN_MAX + 1, &st), EBADF);
}

static void test_ftruncate(void)
{
	struct ax_stat st;
	char buf[32];
	long pg = getpagesize();

	use_scratch();
	write_file("f", "0123456789", 10, 0644);
	int fd = (int)OK(open("f", O_RDWR));
	OK(ftruncate(fd, 4));
	OK(fstat(fd, &st));
	CHECK(st.st_size == 4, "size %lu after shrink", (unsigned long)st.st_size);
	OK(ftruncate(fd, 12));
	OK(fstat(fd, &st));
	CHECK(st.st_size == 12, "size %lu after grow", (unsigned long)st.st_size);
	memset(buf, 0x55, sizeof(buf));
	CHECK(OK(read(fd, buf, sizeof(buf))) == 12, "read after grow");
	CHECK(memcmp(buf, "0123", 4) == 0, "kept bytes changed");
	for (int i = 4; i < 12; i++)
		CHECK(buf[i] == 0, "grown byte %d is %#x (old data not cleared?)", i, buf[i] & 0xff);
	ERR(ftruncate(fd, -1), EINVAL);
	OK(close(fd));
	fd = (int)OK(open("f", O_RDONLY));
	errno = 0;
	CHECK(ftruncate(fd, 0) == -1 && (errno == EBADF || errno == EINVAL),
	      "ftruncate on a read-only fd: %s", errno ? strerror(errno) : "succeeded");
	OK(close(fd));
	ERR(ftruncate(fd, 0), EBADF);
	OK(mkdir("d", 0755));
	fd = (int)OK(open("d", O_RDONLY));
	errno = 0;
	CHECK(ftruncate(fd, 0) == -1 && (errno == EISDIR || errno == EINVAL || errno == EBADF),
	      "ftruncate on a directory: %s", errno ? strerror(errno) : "succeeded");
	OK(close(fd));

	/* Shrinking a sparse file (grown by ftruncate) to a size inside a hole:
	 * the kernel once read the block array past its end (or through NULL,
	 * for a file never written) to clear the tail of a block that does not
	 * exist. The fuzzer found it. */
	fd = (int)OK(open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0644));
	OK(ftruncate(fd, 3 * pg + 10));
	OK(ftruncate(fd, pg + 5));
	OK(fstat(fd, &st));
	CHECK(st.st_size == (uint64_t)pg + 5, "sparse shrink: size %lu", (unsigned long)st.st_size);
	CHECK(OK(write(fd, "x", 1)) == 1, "write into a never-written file");
	OK(ftruncate(fd, 100 * pg));
	OK(ftruncate(fd, 50 * pg + 1));
	OK(lseek(fd, 50 * pg - 8, SEEK_SET));
	memset(buf, 0x55, sizeof(buf));
	CHECK(OK(read(fd, buf, sizeof(buf))) == 9, "read at the end of a shrunk sparse file");
	for (int i = 0; i < 9; i++)
		CHECK(buf[i] == 0, "hole byte %d is %#x", i, buf[i] & 0xff);
	OK(close(fd));
}

static void test_large_file(void)
{
	enum { SIZE = 300000 };
	unsigned char *buf = malloc(SIZE), *back = malloc(SIZE);
	struct ax_stat st;

	CHECK(buf && back, "malloc");
	use_scratch();
	for (int i = 0; i < SIZE; i++)
		buf[i] = (unsigned char)(i * 7 + i / 4099);
	int fd = (int)OK(open("big", O_RDWR | O_CREAT | O_TRUNC, 0644));
	for (size_t off = 0; off < SIZE;) {
		size_t n = SIZE - off < 4109 ? SIZE - off : 4109;
		CHECK(OK(write(fd, buf + off, n)) == (long)n, "short write at %zu", off);
		off += n;
	}
	OK(fstat(fd, &st));
	CHECK(st.st_size == SIZE, "size %lu", (unsigned long)st.st_size);
	OK(lseek(fd, 0, SEEK_SET));
	memset(back, 0, SIZE);
	for (size_t off = 0; off < SIZE;) {
		ssize_t n = OK(read(fd, back + off, 65536));
		CHECK(n > 0, "early EOF at %zu", off);
		off += (size_t)n;
	}
	for (int i = 0; i < SIZE; i++)
		CHECK(back[i] == buf[i], "byte %d differs", i);
	CHECK(OK(lseek(fd, 150001, SEEK_SET)) == 150001, "seek to middle");
	CHECK(OK(read(fd, back, 10)) == 10 && memcmp(back, buf + 150001, 10) == 0, "read in middle");
	OK(close(fd));
	OK(unlink("big"));
	free(buf);
	free(back);
}

static void test_many_files(void)
{
	enum { N = 100 };
	char name[16], buf[32];
	static char list[4096];

	use_scratch();
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		write_file(name, name, strlen(name), 0644);
	}
	CHECK(list_dir(".", list, sizeof(list), 4096) == N, "directory lists %d entries, expected %d",
	      list_dir(".", list, sizeof(list), 4096), N);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		CHECK(has_name(list, name), "%s missing from the listing", name);
		CHECK(read_file(name, buf, sizeof(buf)) == 4 && strcmp(buf, name) == 0,
		      "%s has content '%s'", name, buf);
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		OK(unlink(name));
	}
	CHECK(list_dir(".", list, sizeof(list), 4096) == 0, "directory not empty after unlinking: %s", list);
}

/* ====================================================== directories */

static void test_getdents_root(void)
{
	static char list[4096];
	static const char *const want[] = { "bin", "dev", "proc", "etc", "tmp" };

	list_dir("/", list, sizeof(list), 4096);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK(has_name(list, want[i]), "/%s missing from getdents of /", want[i]);
		int t = dirent_type("/", want[i]);
		CHECK(t == DT_DIR, "/%s has d_type %d, expected DT_DIR", want[i], t);
	}
	list_dir("/bin", list, sizeof(list), 4096);
	CHECK(has_name(list, "init") && has_name(list, "selftest") && has_name(list, "sh"),
	      "/bin lacks init, sh or selftest: %s", list);
	CHECK(dirent_type("/bin", "init") == DT_REG, "/bin/init d_type %d", dirent_type("/bin", "init"));
}

static void test_getdents_dev(void)
{
	static char list[4096];
	static const char *const want[] = { "null", "zero", "console", "kmsg", "crash" };

	list_dir("/dev", list, sizeof(list), 4096);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK(has_name(list, want[i]), "/dev/%s missing from getdents", want[i]);
		int t = dirent_type("/dev", want[i]);
		CHECK(t == DT_CHR, "/dev/%s has d_type %d, expected DT_CHR", want[i], t);
	}
}

static void test_getdents_proc(void)
{
	static char list[4096];
	static const char *const want[] = { "processes", "threads", "meminfo", "mounts", "cpus",
					    "layout", "cmdline" };
	char pid[16];

	list_dir("/proc", list, sizeof(list), 4096);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(has_name(list, want[i]), "/proc/%s missing from getdents", want[i]);
	snprintf(pid, sizeof(pid), "%d", getpid());
	CHECK(has_name(list, pid), "/proc/%s (this process) missing from getdents", pid);
	CHECK(dirent_type("/proc", pid) == DT_DIR, "/proc/%s d_type %d", pid, dirent_type("/proc", pid));
}

static void test_getdents_small(void)
{
	static char big[4096], small[4096];
	char buf[256];

	list_dir("/dev", big, sizeof(big), 4096);
	list_dir("/dev", small, sizeof(small), 32);	/* about one record per call */
	CHECK(strcmp(big, small) == 0, "listing differs with a small buffer:\n%s---\n%s", big, small);
	list_dir("/proc", big, sizeof(big), 4096);
	list_dir("/proc", small, sizeof(small), 40);
	CHECK(strcmp(big, small) == 0, "/proc listing differs with a small buffer");
	int fd = (int)OK(open("/dev", O_RDONLY | O_DIRECTORY));
	ERR(getdents(fd, (struct ax_dirent *)buf, 1), EINVAL);
	OK(close(fd));
	fd = (int)OK(open("/etc/hello.txt", O_RDONLY));
	ERR(getdents(fd, (struct ax_dirent *)buf, sizeof(buf)), ENOTDIR);
	OK(close(fd));
	ERR(getdents(-1, (struct ax_dirent *)buf, sizeof(buf)), EBADF);
}

static void test_mkdir_rmdir(void)
{
	struct ax_stat st;

	use_scratch();
	OK(mkdir("d", 0755));
	OK(stat("d", &st));
	CHECK(S_ISDIR(st.st_mode), "mkdir made mode %o", st.st_mode);
	ERR(mkdir("d", 0755), EEXIST);
	OK(mkdir("d/e", 0755));
	OK(mkdir("d/e/f", 0755));
	ERR(mkdir("missing/d", 0755), ENOENT);
	write_file("file", "x", 1, 0644);
	ERR(mkdir("file", 0755), EEXIST);
	ERR(mkdir("file/d", 0755), ENOTDIR);
	ERR(rmdir("d"), ENOTEMPTY);
	ERR(rmdir("d/e"), ENOTEMPTY);
	OK(rmdir("d/e/f"));
	OK(rmdir("d/e"));
	OK(rmdir("d"));
	ERR(stat("d", &st), ENOENT);
	ERR(rmdir("d"), ENOENT);
	ERR(rmdir("file"), ENOTDIR);
	ERR(rmdir("file/x"), ENOTDIR);
	OK(mkdir("d", 0755));	/* the name is free again */
	OK(rmdir("d"));
}

static void test_unlink(void)
{
	struct ax_stat st;

	use_scratch();
	write_file("f", "abc", 3, 0644);
	OK(unlink("f"));
	ERR(stat("f", &st), ENOENT);
	ERR(open("f", O_RDONLY), ENOENT);
	ERR(unlink("f"), ENOENT);
	OK(mkdir("d", 0755));
	ERR(unlink("d"), EISDIR);
	write_file("g", "x", 1, 0644);
	ERR(unlink("g/x"), ENOTDIR);
	ERR(unlink("missing/x"), ENOENT);
	write_file("f", "new", 3, 0644);	/* recreate under the same name */
	OK(stat("f", &st));
	CHECK(st.st_size == 3, "recreated file size %lu", (unsigned long)st.st_size);
}

static void test_unlink_open(void)
{
	char buf[16];
	struct ax_stat st;

	use_scratch();
	write_file("f", "still here", 10, 0644);
	int fd = (int)OK(open("f", O_RDWR));
	OK(unlink("f"));
	ERR(stat("f", &st), ENOENT);
	CHECK(OK(read(fd, buf, sizeof(buf))) == 10 && memcmp(buf, "still here", 10) == 0,
	      "data of an unlinked open file is gone");
	OK(write(fd, "!", 1));
	OK(fstat(fd, &st));
	CHECK(st.st_size == 11, "fstat of unlinked file: size %lu", (unsigned long)st.st_size);
	write_file("f", "other", 5, 0644);	/* a new file with the same name is distinct */
	OK(lseek(fd, 0, SEEK_SET));
	CHECK(OK(read(fd, buf, 5)) == 5 && memcmp(buf, "still", 5) == 0, "old fd sees the new file");
	OK(close(fd));
}

static void test_rename(void)
{
	struct ax_stat st;
	char buf[32];

	use_scratch();
	write_file("a", "aaa", 3, 0644);
	OK(rename("a", "b"));
	ERR(stat("a", &st), ENOENT);
	CHECK(read_file("b", buf, sizeof(buf)) == 3 && strcmp(buf, "aaa") == 0, "renamed content '%s'", buf);
	write_file("c", "ccccc", 5, 0644);
	OK(rename("b", "c"));	/* replaces c */
	CHECK(read_file("c", buf, sizeof(buf)) == 3 && strcmp(buf, "aaa") == 0, "replaced content '%s'", buf);
	ERR(stat("b", &st), ENOENT);
	OK(rename("c", "c"));	/* same name: no-op */
	OK(stat("c", &st));
	ERR(rename("nope", "x"), ENOENT);
	OK(mkdir("d", 0755));
	OK(mkdir("d/sub", 0755));
	write_file("d/sub/f", "deep", 4, 0644);
	OK(rename("d", "e"));	/* a directory moves with its contents */
	CHECK(read_file("e/sub/f", buf, sizeof(buf)) == 4 && strcmp(buf, "deep") == 0, "moved dir content");
	OK(rename("e/sub/f", "moved"));	/* across directories */
	OK(stat("moved", &st));
	ERR(stat("e/sub/f", &st), ENOENT);
	OK(mkdir("full", 0755));
	write_file("full/x", "x", 1, 0644);
	ERR(rename("e", "full"), ENOTEMPTY);
	ERR(rename("moved", "e"), EISDIR);
	ERR(rename("e", "moved"), ENOTDIR);
	ERR(rename("e", "e/sub/inside"), EINVAL);
	ERR(rename("moved", "missing/x"), ENOENT);
	OK(mkdir("empty", 0755));
	OK(rename("e", "empty"));	/* a directory may replace an empty one */
	OK(stat("empty/sub", &st));
}

static void test_paths(void)
{
	struct ax_stat st, st2;

	use_scratch();
	OK(mkdir("a", 0755));
	write_file("a/f", "x", 1, 0644);
	OK(stat("a/f", &st));
	OK(stat("./a/f", &st2));
	CHECK(st.st_ino == st2.st_ino, "./a/f");
	OK(stat("a/../a/f", &st2));
	CHECK(st.st_ino == st2.st_ino, "a/../a/f");
	OK(stat("a//f", &st2));
	CHECK(st.st_ino == st2.st_ino, "a//f");
	OK(stat("a/./f", &st2));
	CHECK(st.st_ino == st2.st_ino, "a/./f");
	char abs[AX_PATH_MAX];
	snprintf(abs, sizeof(abs), "%s/a/f", scratch_dir);
	OK(stat(abs, &st2));
	CHECK(st.st_ino == st2.st_ino, "absolute path");
	snprintf(abs, sizeof(abs), "/tmp/../tmp/./st-%s//a/f", cur_test);
	OK(stat(abs, &st2));
	CHECK(st.st_ino == st2.st_ino, "%s", abs);
	OK(stat("a/", &st2));
	CHECK(S_ISDIR(st2.st_mode), "a/ is not a directory");
	ERR(stat("a/f/", &st2), ENOTDIR);
	ERR(stat("a/f/..", &st2), ENOTDIR);
	OK(stat("/", &st));
	OK(stat("/..", &st2));
	CHECK(st.st_ino == st2.st_ino, "/.. is not /");
	OK(stat("/../../..", &st2));
	CHECK(st.st_ino == st2.st_ino, "/../../.. is not /");
	OK(stat(".", &st));
	OK(stat(scratch_dir, &st2));
	CHECK(st.st_ino == st2.st_ino, ". is not the cwd");
	OK(stat("..", &st));
	OK(stat("/tmp", &st2));
	CHECK(st.st_ino == st2.st_ino, ".. is not the parent");
}

static void test_chdir_getcwd(void)
{
	char cwd[AX_PATH_MAX], want[AX_PATH_MAX];
	struct ax_stat st;

	use_scratch();
	CHECK(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, scratch_dir) == 0, "getcwd '%s', expected '%s'",
	      cwd, scratch_dir);
	OK(mkdir("a", 0755));
	OK(mkdir("a/b", 0755));
	write_file("file", "x", 1, 0644);
	OK(chdir("a/b"));
	snprintf(want, sizeof(want), "%s/a/b", scratch_dir);
	CHECK(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, want) == 0, "getcwd '%s', expected '%s'", cwd, want);
	write_file("rel", "r", 1, 0644);
	snprintf(want, sizeof(want), "%s/a/b/rel", scratch_dir);
	OK(stat(want, &st));
	OK(chdir(".."));
	OK(chdir("./."));
	snprintf(want, sizeof(want), "%s/a", scratch_dir);
	CHECK(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, want) == 0, "after .. '%s', expected '%s'", cwd, want);
	OK(stat("b/rel", &st));
	OK(stat("../file", &st));
	OK(chdir("/"));
	CHECK(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/") == 0, "getcwd at root '%s'", cwd);
	OK(chdir(".."));
	CHECK(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/") == 0, "/.. as cwd gives '%s'", cwd);
	OK(chdir(scratch_dir));
	ERR(chdir("file"), ENOTDIR);
	ERR(chdir("nope"), ENOENT);
	ERR(chdir(""), ENOENT);
	size_t len = strlen(scratch_dir);
	errno = 0;
	CHECK(getcwd(cwd, len) == NULL && errno == ERANGE, "getcwd without room for the NUL: %s",
	      errno ? strerror(errno) : "succeeded");
	errno = 0;
	CHECK(getcwd(cwd, 1) == NULL && errno == ERANGE, "getcwd into 1 byte: %s",
	      errno ? strerror(errno) : "succeeded");
	CHECK(getcwd(cwd, len + 1) && strcmp(cwd, scratch_dir) == 0, "getcwd with exact size");
	/* a removed cwd: lookups relative to it fail instead of crashing */
	OK(mkdir("gone", 0755));
	OK(chdir("gone"));
	OK(rmdir("../gone"));
	errno = 0;
	CHECK(open("x", O_RDWR | O_CREAT, 0644) == -1, "created a file in a removed directory");
	OK(chdir(scratch_dir));
}

static void test_name_too_long(void)
{
	char path[AX_PATH_MAX + 64];
	struct ax_stat st;

	memset(path, 'x', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	ERR(open(path, O_RDONLY), ENAMETOOLONG);
	ERR(stat(path, &st), ENAMETOOLONG);
	ERR(mkdir(path, 0755), ENAMETOOLONG);
	for (size_t i = 1; i < sizeof(path) - 1; i += 2)
		path[i] = '/';
	path[0] = '/';
	ERR(stat(path, &st), ENAMETOOLONG);
}

/* ============================================================ pipes */

static void test_pipe_basic(void)
{
	int p[2];
	char buf[32];

	OK(pipe(p));
	CHECK(p[0] != p[1] && p[0] >= 0 && p[1] >= 0, "pipe fds %d %d", p[0], p[1]);
	CHECK(OK(write(p[1], "hello", 5)) == 5, "pipe write");
	CHECK(OK(write(p[1], " pipe", 5)) == 5, "pipe write");
	CHECK(OK(read(p[0], buf, 3)) == 3 && memcmp(buf, "hel", 3) == 0, "first read");
	CHECK(OK(read(p[0], buf, sizeof(buf))) == 7 && memcmp(buf, "lo pipe", 7) == 0, "second read");
	ERR(write(p[0], "x", 1), EBADF);
	ERR(read(p[1], buf, 1), EBADF);
	OK(close(p[0]));
	OK(close(p[1]));
}

static void test_pipe_eof(void)
{
	int p[2];
	char buf[8];

	OK(pipe(p));
	OK(write(p[1], "abc", 3));
	int extra = (int)OK(dup(p[1]));
	OK(close(p[1]));
	OK(write(extra, "d", 1));	/* a dup of the write end keeps the pipe open */
	OK(close(extra));
	CHECK(OK(read(p[0], buf, sizeof(buf))) == 4 && memcmp(buf, "abcd", 4) == 0, "data before EOF");
	CHECK(OK(read(p[0], buf, sizeof(buf))) == 0, "no EOF after the writers closed");
	CHECK(OK(read(p[0], buf, sizeof(buf))) == 0, "EOF is not sticky");
	OK(close(p[0]));
}

static void test_pipe_epipe(void)
{
	int p[2];

	OK(pipe(p));
	OK(close(p[0]));
	ERR(write(p[1], "x", 1), EPIPE);
	ERR(write(p[1], "xyz", 3), EPIPE);
	OK(close(p[1]));
}

/* the reader blocks until a child writes late; then EOF when the child exits */
static void test_pipe_block(void)
{
	int p[2];
	char w[12], r[12], buf[16];

	OK(pipe(p));
	fd_str(w, sizeof(w), p[1]);
	fd_str(r, sizeof(r), p[0]);
	pid_t pid = spawn_helper("late-write", w, r, "100");
	OK(close(p[1]));
	int64_t t0 = now_ns();
	CHECK(OK(read(p[0], buf, sizeof(buf))) == 4 && memcmp(buf, "late", 4) == 0, "data from child");
	CHECK(now_ns() - t0 >= 50000000LL, "read returned before the child wrote");
	CHECK(OK(read(p[0], buf, sizeof(buf))) == 0, "no EOF after the child exited");
	expect_exit(wait_child(pid, 10000), 0, "late-write helper");
	OK(close(p[0]));
}

/* 256 KiB through a pipe to a child that checks every byte */
static void test_pipe_big(void)
{
	enum { SIZE = 256 * 1024 };
	int p[2];
	char w[12], r[12], len[16];
	unsigned char chunk[3001];

	OK(pipe(p));
	fd_str(w, sizeof(w), p[1]);
	fd_str(r, sizeof(r), p[0]);
	snprintf(len, sizeof(len), "%d", SIZE);
	pid_t pid = spawn_helper("pipe-check", r, w, len);
	OK(close(p[0]));
	for (int off = 0; off < SIZE;) {
		int n = SIZE - off < (int)sizeof(chunk) ? SIZE - off : (int)sizeof(chunk);
		for (int i = 0; i < n; i++)
			chunk[i] = (unsigned char)((off + i) * 13 + 5);
		ssize_t done = OK(write(p[1], chunk, (size_t)n));
		CHECK(done > 0 && done <= n, "pipe write returned %ld", (long)done);
		off += (int)done;	/* after a short write the rest is sent next round */
	}
	OK(close(p[1]));
	expect_exit(wait_child(pid, 30000), 0, "pipe reader");
}

/* ======================================================== processes */

static void test_spawn_exit_status(void)
{
	static const int codes[] = { 0, 1, 42, 127, 255 };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		char code[8];
		snprintf(code, sizeof(code), "%d", codes[i]);
		expect_exit(run_helper("exit", code, NULL, NULL), codes[i], "exit helper");
	}
}

static void test_spawn_args_env(void)
{
	char *argv[] = { "selftest", "-h", "args", "a", "b c", "", NULL };
	char *envp[] = { "SELFTEST_ENV=yes", "OTHER=1", NULL };
	pid_t pid = OK(spawn(self_path, argv, envp));

	expect_exit(wait_child(pid, 10000), 0, "argument/environment check");
	char *noenv[] = { NULL };
	char *argv2[] = { "selftest", "-h", "noenv", NULL };
	pid = OK(spawn(self_path, argv2, noenv));
	expect_exit(wait_child(pid, 10000), 0, "empty environment");
	pid = OK(spawn(self_path, argv2, NULL));
	expect_exit(wait_child(pid, 10000), 0, "NULL environment");
}

static void test_spawn_errors(void)
{
	char *argv[] = { "x", NULL };

	use_scratch();
	ERR(spawn("/nonexistent", argv, NULL), ENOENT);
	ERR(spawn("/bin/nonexistent", argv, NULL), ENOENT);
	ERR(spawn("", argv, NULL), ENOENT);
	errno = 0;
	CHECK(spawn("/bin", argv, NULL) == -1, "spawned a directory");
	CHECK(errno == EACCES || errno == EISDIR || errno == ENOEXEC, "spawn of a directory: %s",
	      strerror(errno));
	/* argument strings over AX_ARG_MAX */
	size_t big = AX_ARG_MAX + 16;
	char *s = malloc(big);
	CHECK(s, "malloc");
	memset(s, 'a', big - 1);
	s[big - 1] = 0;
	char *bigv[] = { "echo", s, NULL };
	ERR(spawn("/bin/echo", bigv, NULL), E2BIG);
	/* more than AX_ARGV_MAX entries */
	char **many = malloc((AX_ARGV_MAX + 8) * sizeof(char *));
	CHECK(many, "malloc");
	for (int i = 0; i < AX_ARGV_MAX + 7; i++)
		many[i] = "a";
	many[AX_ARGV_MAX + 7] = NULL;
	ERR(spawn("/bin/echo", many, NULL), E2BIG);
	free(s);
	free(many);
	/* argc 0 is allowed or refused with EINVAL (echo would print a newline) */
	char *none[] = { NULL };
	int saved = (int)OK(dup(1));
	OK(dup2((int)OK(open("/dev/null", O_WRONLY)), 1));
	pid_t pid = spawn("/bin/echo", none, NULL);
	int spawn_errno = errno;
	OK(dup2(saved, 1));
	OK(close(saved));
	if (pid >= 0)
		expect_exit(wait_child(pid, 10000), 0, "echo with argc 0");
	else
		CHECK(spawn_errno == EINVAL, "spawn with empty argv: %s", strerror(spawn_errno));
}

static void test_getpid_getppid(void)
{
	int p[2], ids[2];
	char w[12], r[12];

	CHECK(getpid() > 0 && getppid() > 0 && getppid() != getpid(), "pid %d ppid %d", getpid(), getppid());
	CHECK(getpid() == getpid(), "getpid not stable");
	OK(pipe(p));
	fd_str(w, sizeof(w), p[1]);
	fd_str(r, sizeof(r), p[0]);
	pid_t pid = spawn_helper("ids", w, r, NULL);
	OK(close(p[1]));
	CHECK(OK(read(p[0], ids, sizeof(ids))) == sizeof(ids), "short read of ids");
	expect_exit(wait_child(pid, 10000), 0, "ids helper");
	CHECK(ids[0] == pid, "child getpid %d, spawn returned %d", ids[0], pid);
	CHECK(ids[1] == getpid(), "child getppid %d, parent is %d", ids[1], getpid());
	CHECK(pid != getpid(), "child has the parent's pid");
	OK(close(p[0]));
}

static void test_waitpid(void)
{
	int status;
	char code[8];

	ERR(waitpid(-1, &status, 0), ECHILD);
	ERR(waitpid(-1, &status, WNOHANG), ECHILD);
	ERR(waitpid(1, &status, 0), ECHILD);
	ERR(waitpid(999999, &status, 0), ECHILD);
	pid_t pid = spawn_helper("sleep", "300", NULL, NULL);
	CHECK(OK(waitpid(pid, &status, WNOHANG)) == 0, "WNOHANG on a running child did not return 0");
	CHECK(OK(waitpid(-1, &status, 0)) == pid, "waitpid(-1) did not return the child");
	expect_exit(status, 0, "sleep helper");
	ERR(waitpid(pid, &status, 0), ECHILD);	/* reaped once only */
	/* waitpid(-1) collects children in any order; a specific pid only that one */
	snprintf(code, sizeof(code), "%d", 3);
	pid_t a = spawn_helper("exit", code, NULL, NULL);
	pid_t b = spawn_helper("exit", "4", NULL, NULL);
	CHECK(OK(waitpid(b, &status, 0)) == b, "waitpid(b)");
	expect_exit(status, 4, "child b");
	CHECK(OK(waitpid(-1, &status, 0)) == a, "waitpid(-1) after b");
	expect_exit(status, 3, "child a");
	/* status pointer may be NULL */
	pid = spawn_helper("exit", "0", NULL, NULL);
	CHECK(OK(waitpid(pid, NULL, 0)) == pid, "waitpid with NULL status");
}

static void test_many_children(void)
{
	enum { N = 20 };
	pid_t pids[N];
	int seen[N] = { 0 };

	for (int i = 0; i < N; i++) {
		char code[8];
		snprintf(code, sizeof(code), "%d", 100 + i);
		pids[i] = spawn_helper("exit", code, NULL, NULL);
	}
	for (int n = 0; n < N; n++) {
		int status;
		pid_t r = OK(waitpid(-1, &status, 0));
		int i = 0;
		while (i < N && pids[i] != r)
			i++;
		CHECK(i < N, "waitpid returned unknown pid %d", r);
		CHECK(!seen[i], "pid %d reaped twice", r);
		seen[i] = 1;
		expect_exit(status, 100 + i, "child");
	}
	int status;
	ERR(waitpid(-1, &status, WNOHANG), ECHILD);
}

/* a child whose parent exits is adopted by init (pid 1) */
static void test_orphan_reparent(void)
{
	int p[2], ids[2];
	char w[12], r[12];

	OK(pipe(p));
	fd_str(w, sizeof(w), p[1]);
	fd_str(r, sizeof(r), p[0]);
	pid_t pid = spawn_helper("orphan", w, r, NULL);
	OK(close(p[1]));
	expect_exit(wait_child(pid, 10000), 0, "orphan maker");
	CHECK(OK(read(p[0], ids, sizeof(ids))) == sizeof(ids), "short read from the grandchild");
	CHECK(ids[1] == 1, "orphan's getppid is %d, expected 1 (its parent %d has exited)", ids[1], pid);
	OK(close(p[0]));
}

static void test_exec(void)
{
	int p[2], ids[2];
	char w[12], r[12];
	char *argv[] = { "x", NULL };

	expect_exit(run_helper("exec-exit7", NULL, NULL, NULL), 7, "execve into 'exit 7'");
	OK(pipe(p));
	fd_str(w, sizeof(w), p[1]);
	fd_str(r, sizeof(r), p[0]);
	pid_t pid = spawn_helper("exec-ids", w, r, NULL);
	OK(close(p[1]));
	CHECK(OK(read(p[0], ids, sizeof(ids))) == sizeof(ids), "short read of ids after execve");
	expect_exit(wait_child(pid, 10000), 0, "exec-ids");
	CHECK(ids[0] == pid && ids[1] == getpid(), "after execve pid %d ppid %d, expected %d %d",
	      ids[0], ids[1], pid, getpid());
	OK(close(p[0]));
	/* a failed execve returns and the process carries on */
	ERR(execve("/nonexistent", argv, NULL), ENOENT);
	errno = 0;
	CHECK(execve("/bin", argv, NULL) == -1 && (errno == EACCES || errno == EISDIR || errno == ENOEXEC),
	      "execve of a directory: %s", strerror(errno));
}

/* ========================================================== faults */

static void expect_helper_signal(const char *helper, int sig)
{
	char what[64];

	snprintf(what, sizeof(what), "helper %s", helper);
	expect_signal(run_helper(helper, NULL, NULL, NULL), sig, what);
	/* the parent is unharmed */
	CHECK(getpid() > 0, "parent broken");
}

static void test_fault_null(void) { expect_helper_signal("null-read", SIGSEGV); expect_helper_signal("null-write", SIGSEGV); }
static void test_fault_kernel_addr(void) { expect_helper_signal("kernel-read", SIGSEGV); }
static void test_fault_write_text(void) { expect_helper_signal("write-text", SIGSEGV); expect_helper_signal("write-rodata", SIGSEGV); }
static void test_fault_exec_data(void) { expect_helper_signal("exec-heap", SIGSEGV); expect_helper_signal("exec-data", SIGSEGV); expect_helper_signal("exec-stack", SIGSEGV); }
static void test_fault_stack_overflow(void) { expect_helper_signal("recurse", SIGSEGV); }
static void test_fault_illegal(void) { expect_helper_signal("illegal", SIGILL); }
#if defined(__x86_64__)
static void test_fault_divide(void) { expect_helper_signal("divide", SIGFPE); }
#endif

static void test_kill(void)
{
	int status;

	pid_t pid = spawn_helper("spin", NULL, NULL, NULL);
	sleep_ms(20);
	OK(kill(pid, 0));	/* signal 0 probes */
	OK(kill(pid, SIGKILL));
	status = wait_child(pid, 10000);
	expect_signal(status, SIGKILL, "spinning child");
	ERR(kill(pid, 0), ESRCH);
	ERR(kill(pid, SIGKILL), ESRCH);
	pid = spawn_helper("spin", NULL, NULL, NULL);
	OK(kill(pid, SIGTERM));
	expect_signal(wait_child(pid, 10000), SIGTERM, "SIGTERM");
	ERR(kill(999999, SIGKILL), ESRCH);
	pid = spawn_helper("sleep", "200", NULL, NULL);
	ERR(kill(pid, 12345), EINVAL);
	ERR(kill(pid, -1), EINVAL);
	expect_exit(wait_child(pid, 10000), 0, "child after invalid kills");
}

/* kill wakes a child blocked in read, nanosleep or waitpid */
static void test_kill_blocked(void)
{
	int p[2];
	char w[12], r[12];

	OK(pipe(p));
	fd_str(w, sizeof(w), p[1]);
	fd_str(r, sizeof(r), p[0]);
	pid_t pid = spawn_helper("block-read", r, NULL, NULL);
	sleep_ms(50);
	int64_t t0 = now_ns();
	OK(kill(pid, SIGKILL));
	expect_signal(wait_child(pid, 5000), SIGKILL, "child blocked in read");
	pid = spawn_helper("sleep", "20000", NULL, NULL);
	sleep_ms(50);
	OK(kill(pid, SIGKILL));
	expect_signal(wait_child(pid, 5000), SIGKILL, "child blocked in nanosleep");
	pid = spawn_helper("block-wait", NULL, NULL, NULL);
	sleep_ms(100);
	OK(kill(pid, SIGKILL));
	expect_signal(wait_child(pid, 5000), SIGKILL, "child blocked in waitpid");
	CHECK(now_ns() - t0 < 5000000000LL, "kills took %lld ms", (long long)((now_ns() - t0) / 1000000));
	OK(close(p[0]));
	OK(close(p[1]));
}

/* =========================================================== memory */

static void test_mmap_anon(void)
{
	size_t pg = getpagesize();
	unsigned char *p = map_pages(4);

	CHECK(((uintptr_t)p & (pg - 1)) == 0, "mapping %p is not page aligned", (void *)p);
	for (size_t i = 0; i < 4 * pg; i++)
		CHECK(p[i] == 0, "byte %zu of a fresh mapping is %#x", i, p[i]);
	for (size_t i = 0; i < 4 * pg; i++)
		p[i] = (unsigned char)(i * 3);
	for (size_t i = 0; i < 4 * pg; i++)
		CHECK(p[i] == (unsigned char)(i * 3), "byte %zu did not keep its value", i);
	unsigned char *q = map_pages(1);
	CHECK(q + pg <= p || q >= p + 4 * pg, "second mapping %p overlaps the first %p", (void *)q, (void *)p);
	OK(munmap(p, 4 * pg));
	OK(munmap(q, pg));
	/* MAP_FIXED at a known-free address */
	void *r = mmap(p, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(r == p, "MAP_FIXED at %p returned %p (%s)", (void *)p, r, r == MAP_FAILED ? strerror(errno) : "");
	CHECK(*(volatile unsigned char *)r == 0, "reused mapping not zeroed");
	OK(munmap(r, pg));
	/* a length that is not a page multiple is rounded up */
	unsigned char *s = mmap(NULL, 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(s != MAP_FAILED, "mmap of 10 bytes: %s", strerror(errno));
	s[pg - 1] = 1;
	OK(munmap(s, 10));
	/* map and unmap repeatedly: frames come back */
	for (int i = 0; i < 200; i++) {
		unsigned char *t = map_pages(16);
		t[0] = t[16 * pg - 1] = 1;
		OK(munmap(t, 16 * pg));
	}
}

static void test_mmap_errors(void)
{
	size_t pg = getpagesize();
	void *p;

	ERR(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
	errno = 0;
	p = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p == MAP_FAILED, "a writable+executable mapping was granted at %p (W^X)", p);
	CHECK(errno == EINVAL || errno == EACCES || errno == EPERM || errno == ENOTSUP,
	      "W+X mapping refused with %s", strerror(errno));
	int fd = (int)OK(open("/etc/hello.txt", O_RDONLY));
	errno = 0;
	p = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(p == MAP_FAILED, "file mapping granted (only anonymous mappings exist)");
	CHECK(errno == EINVAL || errno == ENODEV || errno == ENOTSUP || errno == EACCES || errno == EBADF,
	      "file mapping refused with %s", strerror(errno));
	OK(close(fd));
	errno = 0;
	p = mmap(NULL, 1UL << 46, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p == MAP_FAILED && (errno == ENOMEM || errno == EINVAL), "64 TiB mapping: %s",
	      p == MAP_FAILED ? strerror(errno) : "granted");
	p = mmap(NULL, (size_t)-1, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p == MAP_FAILED, "mapping of length -1 granted");
	p = mmap((void *)(pg + 1), pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(p == MAP_FAILED && errno == EINVAL, "MAP_FIXED at an unaligned address: %s",
	      p == MAP_FAILED ? strerror(errno) : "granted");
	p = mmap((void *)0xffff800000000000UL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(p == MAP_FAILED, "MAP_FIXED in the kernel half granted");
	unsigned char *m = map_pages(2);
	ERR(munmap(m + 1, pg), EINVAL);
	ERR(munmap(m, 0), EINVAL);
	OK(munmap(m, 2 * pg));
	/* unmapping something that is not mapped is not an error */
	OK(munmap(m, 2 * pg));
}

static void test_mmap_protection(void)
{
	expect_helper_signal("munmap-access", SIGSEGV);
	expect_helper_signal("readonly-write", SIGSEGV);
	expect_helper_signal("prot-none", SIGSEGV);
}

static void test_malloc(void)
{
	enum { N = 300 };
	unsigned char *ptrs[N];
	size_t sizes[N];
	uint32_t seed = 12345;

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			seed = seed * 1103515245 + 12345;
			sizes[i] = (seed >> 8) % (i % 10 == 0 ? 100000 : 600) + 1;
			ptrs[i] = malloc(sizes[i]);
			CHECK(ptrs[i], "malloc(%zu) failed", sizes[i]);
			memset(ptrs[i], i & 0xff, sizes[i]);
		}
		for (int i = 0; i < N; i += 2) {
			free(ptrs[i]);
			ptrs[i] = NULL;
		}
		for (int i = 1; i < N; i += 2)
			for (size_t k = 0; k < sizes[i]; k++)
				CHECK(ptrs[i][k] == (i & 0xff), "block %d byte %zu overwritten", i, k);
		for (int i = 1; i < N; i += 2)
			free(ptrs[i]);
	}
	char *big = malloc(4 << 20);
	CHECK(big, "malloc(4 MiB)");
	memset(big, 1, 4 << 20);
	free(big);
}

/* ============================================================= time */

static void test_clock(void)
{
	struct ax_timespec a, b;

	OK(clock_gettime(CLOCK_MONOTONIC, &a));
	for (int i = 0; i < 1000; i++) {
		OK(clock_gettime(CLOCK_MONOTONIC, &b));
		CHECK(b.tv_nsec >= 0 && b.tv_nsec < 1000000000, "tv_nsec %lld", (long long)b.tv_nsec);
		CHECK(b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec),
		      "monotonic clock went back: %lld.%09lld -> %lld.%09lld", (long long)a.tv_sec,
		      (long long)a.tv_nsec, (long long)b.tv_sec, (long long)b.tv_nsec);
		a = b;
	}
	int64_t t0 = now_ns();
	for (volatile long spin = 0; now_ns() == t0 && spin < 100000000; spin++)
		;
	CHECK(now_ns() > t0, "monotonic clock does not advance");
	OK(clock_gettime(CLOCK_REALTIME, &a));
	CHECK(a.tv_nsec >= 0 && a.tv_nsec < 1000000000, "realtime tv_nsec %lld", (long long)a.tv_nsec);
	ERR(clock_gettime(99, &a), EINVAL);
	ERR(clock_gettime(-1, &a), EINVAL);
}

static void test_nanosleep(void)
{
	struct ax_timespec req = { 0, 100 * 1000000 };

	int64_t t0 = now_ns();
	OK(nanosleep(&req, NULL));
	int64_t dt = now_ns() - t0;
	CHECK(dt >= 100000000LL, "slept only %lld us of 100 ms", (long long)(dt / 1000));
	CHECK(dt < 5000000000LL, "100 ms sleep took %lld ms", (long long)(dt / 1000000));
	req.tv_sec = 0;
	req.tv_nsec = 0;
	OK(nanosleep(&req, NULL));
	req.tv_nsec = 1000000000;
	ERR(nanosleep(&req, NULL), EINVAL);
	req.tv_nsec = -1;
	ERR(nanosleep(&req, NULL), EINVAL);
	req.tv_sec = -1;
	req.tv_nsec = 0;
	ERR(nanosleep(&req, NULL), EINVAL);
}

static void test_sched_yield(void)
{
	for (int i = 0; i < 200; i++)
		CHECK(sched_yield() == 0, "sched_yield returned %s", strerror(errno));
	/* two processes yielding to each other both finish */
	pid_t a = spawn_helper("yield", "500", NULL, NULL);
	pid_t b = spawn_helper("yield", "500", NULL, NULL);
	expect_exit(wait_child(a, 20000), 0, "yielding child a");
	expect_exit(wait_child(b, 20000), 0, "yielding child b");
}

static void test_uname(void)
{
	struct ax_utsname u;

	memset(&u, 0x7f, sizeof(u));
	OK(uname(&u));
	const char *fields[] = { u.sysname, u.nodename, u.release, u.version, u.machine };
	for (int i = 0; i < 5; i++)
		CHECK(memchr(fields[i], 0, AX_UTS_LEN), "uname field %d not NUL-terminated", i);
	CHECK(u.sysname[0], "empty sysname");
	CHECK(u.release[0], "empty release");
	CHECK(strcmp(u.machine, ARCH_MACHINE) == 0, "machine '%s', expected '%s'", u.machine, ARCH_MACHINE);
}

/* ========================================================== threads */

enum { THREAD_ITERS = 20000 };
static volatile long shared_counter;
static volatile int threads_done;
static volatile int thread_tids[2], thread_pids[2];

static void counting_thread(void *arg)
{
	int idx = (int)(uintptr_t)arg;

	thread_tids[idx] = gettid();
	thread_pids[idx] = getpid();
	for (int i = 0; i < THREAD_ITERS; i++) {
		__atomic_fetch_add(&shared_counter, 1, __ATOMIC_SEQ_CST);
		if (i % 1000 == 0)
			sched_yield();
	}
	__atomic_fetch_add(&threads_done, 1, __ATOMIC_SEQ_CST);
}

static void test_threads(void)
{
	size_t stack_size = 64 * 1024;
	void *stacks[2];
	int tids[2];

	CHECK(gettid() > 0, "gettid %d", gettid());
	CHECK(gettid() == getpid(), "main thread tid %d differs from pid %d", gettid(), getpid());
	for (int i = 0; i < 2; i++) {
		stacks[i] = map_pages((stack_size + getpagesize() - 1) / getpagesize());
		tids[i] = (int)OK(thread_create(counting_thread, (void *)(uintptr_t)i, stacks[i], stack_size));
	}
	int64_t deadline = now_ns() + 20000000000LL;
	while (__atomic_load_n(&threads_done, __ATOMIC_SEQ_CST) < 2) {
		CHECK(now_ns() < deadline, "threads did not finish (done=%d counter=%ld)", threads_done,
		      shared_counter);
		sched_yield();
	}
	CHECK(shared_counter == 2 * THREAD_ITERS, "counter %ld, expected %d", shared_counter, 2 * THREAD_ITERS);
	for (int i = 0; i < 2; i++) {
		CHECK(thread_tids[i] == tids[i], "thread %d saw tid %d, thread_create returned %d", i,
		      thread_tids[i], tids[i]);
		CHECK(thread_tids[i] != gettid(), "thread shares the main thread's tid");
		CHECK(thread_pids[i] == getpid(), "thread getpid %d, process %d", thread_pids[i], getpid());
	}
	CHECK(tids[0] != tids[1], "two threads with tid %d", tids[0]);
	sleep_ms(20);	/* let both threads leave their stacks */
	/* a bad entry point or stack kills the process, not the kernel: try in a child */
	int st = run_helper("thread-bad-entry", NULL, NULL, NULL);
	CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) || (WIFEXITED(st) && WEXITSTATUS(st) == 0),
	      "thread at address 0: expected SIGSEGV or a refused thread_create, got status %#x", st);
	/* exit() ends every thread of the process */
	pid_t pid = spawn_helper("thread-exit", NULL, NULL, NULL);
	expect_exit(wait_child(pid, 10000), 5, "exit with a running thread");
	ERR(kill(pid, 0), ESRCH);
}

/* only init may power the machine off */
static void test_poweroff_eperm(void)
{
	CHECK(getpid() != 1, "the test runs as pid 1");
	ERR(poweroff(), EPERM);
}

/* ====================================================== concurrency */

/* four processes create, write, rename and unlink files in one directory */
static void test_fs_concurrent(void)
{
	enum { WORKERS = 4 };
	pid_t pids[WORKERS];
	static char list[4096];

	use_scratch();
	for (int i = 0; i < WORKERS; i++) {
		char id[8];
		snprintf(id, sizeof(id), "%d", i);
		pids[i] = spawn_helper("fs-worker", scratch_dir, id, NULL);
	}
	for (int i = 0; i < WORKERS; i++)
		expect_exit(wait_child(pids[i], 60000), 0, "fs worker");
	CHECK(list_dir(".", list, sizeof(list), 4096) == 0, "files left behind: %s", list);
}

/* four writers share one pipe; every byte arrives exactly once */
static void test_pipe_writers(void)
{
	enum { WRITERS = 4, EACH = 8192 };
	int p[2];
	long counts[WRITERS] = { 0 };
	char w[12], r[12], buf[1024];
	pid_t pids[WRITERS];

	OK(pipe(p));
	fd_str(w, sizeof(w), p[1]);
	fd_str(r, sizeof(r), p[0]);
	for (int i = 0; i < WRITERS; i++) {
		char id[8];
		snprintf(id, sizeof(id), "%d", i);
		pids[i] = spawn_helper("pipe-writer", w, r, id);
	}
	OK(close(p[1]));
	ssize_t n;
	long total = 0;
	while ((n = OK(read(p[0], buf, sizeof(buf)))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			CHECK((unsigned char)buf[i] < WRITERS, "foreign byte %#x in the pipe", buf[i] & 0xff);
			counts[(unsigned char)buf[i]]++;
		}
		total += n;
	}
	for (int i = 0; i < WRITERS; i++) {
		expect_exit(wait_child(pids[i], 30000), 0, "pipe writer");
		CHECK(counts[i] == EACH, "writer %d: %ld bytes arrived, expected %d (total %ld)", i, counts[i],
		      EACH, total);
	}
	OK(close(p[0]));
}

enum { STRESS_THREADS = 8, STRESS_ITERS = 100 };
static int stress_pipe[2];
static volatile int stress_errors;

static void stress_thread(void *arg)
{
	char id = (char)(uintptr_t)arg;

	for (int i = 0; i < STRESS_ITERS; i++) {
		if (getpid() <= 0 || gettid() <= 0 || write(stress_pipe[1], &id, 1) != 1)
			__atomic_fetch_add(&stress_errors, 1, __ATOMIC_SEQ_CST);
		if (i % 10 == 0)
			sched_yield();
	}
}

/* eight threads make system calls at once; then exit ends threads blocked in read */
static void test_threads_stress(void)
{
	size_t stack_size = 32 * 1024;
	int counts[STRESS_THREADS] = { 0 };
	char buf[256];

	OK(pipe(stress_pipe));
	for (int i = 0; i < STRESS_THREADS; i++) {
		void *stack = map_pages((stack_size + getpagesize() - 1) / getpagesize());
		OK(thread_create(stress_thread, (void *)(uintptr_t)i, stack, stack_size));
	}
	int total = 0;
	while (total < STRESS_THREADS * STRESS_ITERS) {
		ssize_t n = OK(read(stress_pipe[0], buf, sizeof(buf)));
		CHECK(n > 0, "pipe EOF with %d of %d bytes", total, STRESS_THREADS * STRESS_ITERS);
		for (ssize_t i = 0; i < n; i++) {
			CHECK(buf[i] >= 0 && buf[i] < STRESS_THREADS, "bad byte %d", buf[i]);
			counts[(int)buf[i]]++;
		}
		total += (int)n;
	}
	CHECK(stress_errors == 0, "%d failed system calls in threads", stress_errors);
	for (int i = 0; i < STRESS_THREADS; i++)
		CHECK(counts[i] == STRESS_ITERS, "thread %d wrote %d bytes", i, counts[i]);
	expect_exit(run_helper("thread-blocked-exit", NULL, NULL, NULL), 6, "exit with a thread blocked in read");
	/* execve from a multi-threaded process either replaces the whole process
	 * (POSIX) or is refused with EBUSY (axiom's documented restriction) */
	int st = run_helper("thread-exec", NULL, NULL, NULL);
	CHECK(WIFEXITED(st) && (WEXITSTATUS(st) == 9 || WEXITSTATUS(st) == 100 + EBUSY),
	      "execve with a running thread: status %#x (100+errno means it failed)", st);
}

/* Free frames from /proc/meminfo ("free_frames N"), or -1. */
static long free_frames(void)
{
	char buf[1024];
	ssize_t n = read_file("/proc/meminfo", buf, sizeof(buf));
	char *p = n > 0 ? strstr(buf, "free_frames") : NULL;

	return p ? strtol(p + strlen("free_frames"), NULL, 10) : -1;
}

static void leak_round(void)
{
	size_t pg = getpagesize();
	char *big = malloc(200 * 1024);
	int p[2];

	CHECK(big, "malloc");
	memset(big, 'x', 200 * 1024);
	for (int i = 0; i < 20; i++)	/* process create/exit */
		expect_exit(run_helper("exit", "0", NULL, NULL), 0, "child");
	for (int i = 0; i < 20; i++) {	/* anonymous memory */
		unsigned char *m = map_pages(64);
		for (size_t k = 0; k < 64; k++)
			m[k * pg] = 1;
		OK(munmap(m, 64 * pg));
	}
	for (int i = 0; i < 5; i++) {	/* file data */
		write_file("leak", big, 200 * 1024, 0644);
		OK(unlink("leak"));
	}
	for (int i = 0; i < 20; i++) {	/* pipes with data in them */
		OK(pipe(p));
		OK(write(p[1], big, 1024));
		OK(close(p[0]));
		OK(close(p[1]));
	}
	expect_exit(run_helper("threads-exit", NULL, NULL, NULL), 0, "thread churn");
	free(big);
}

/* processes, mappings, files, pipes and threads give their frames back */
static void test_no_frame_leak(void)
{
	use_scratch();
	CHECK(free_frames() > 0, "no free_frames figure in /proc/meminfo");
	leak_round();	/* warm-up: lets kernel caches reach their size */
	long before = free_frames();
	for (int i = 0; i < 3; i++)
		leak_round();
	long after = free_frames();
	CHECK(after >= before - 8, "free frames %ld -> %ld: %ld frames lost over 3 rounds", before, after,
	      before - after);
}

/* ====================================================== bad pointers */

#define MAX_BAD 24
static long bad_ptrs[MAX_BAD];
static int n_bad;

static void add_bad(long p)
{
	for (int i = 0; i < n_bad; i++)
		if (bad_ptrs[i] == p)
			return;
	if (n_bad < MAX_BAD)
		bad_ptrs[n_bad++] = p;
}

/* NULL, kernel-half addresses (fixed ones and any 0xffff... value
 * /proc/layout prints), addresses below the program, an unmapped page. */
static void collect_bad_pointers(void)
{
	static char layout[4096];
	int fd;

	add_bad(0);
	add_bad(0x1000);
	add_bad(0x3ff000);
	add_bad((long)0xffff800000000000UL);
	add_bad((long)0xffffffff80000000UL);
	add_bad((long)0xffffffc000000000UL);
	add_bad((long)0xffff000000000000UL);
	add_bad((long)0x8000000000000000UL);
	add_bad(-1L & ~0xfffL);
	add_bad(0x00007ffffffff000L);	/* top of a 47-bit lower half */
	unsigned char *gone = map_pages(1);
	OK(munmap(gone, getpagesize()));
	add_bad((long)gone);
	if ((fd = open("/proc/layout", O_RDONLY)) >= 0) {
		ssize_t n = read(fd, layout, sizeof(layout) - 1);
		close(fd);
		layout[n > 0 ? n : 0] = 0;
		for (char *p = layout; (p = strstr(p, "0x")) != NULL; p += 2) {
			unsigned long v = strtoul(p, NULL, 16);
			if (v >> 63)
				add_bad((long)v);
		}
	}
}

static void expect_efault(const char *what, long bad, long r)
{
	CHECK(r == -EFAULT, "%s with pointer %#lx: got %s, expected -EFAULT", what, bad, rawname(r));
}

#define SC(nr, a, b, c) syscall(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static void test_efault(void)
{
	struct ax_stat st;
	int status;

	use_scratch();
	collect_bad_pointers();
	write_file("f", "0123456789abcdef", 16, 0644);
	OK(mkdir("d", 0755));
	int file = (int)OK(open("f", O_RDWR));
	int zero = (int)OK(open("/dev/zero", O_RDONLY));
	int dir = (int)OK(open("/", O_RDONLY | O_DIRECTORY));
	char *argv[] = { "echo", NULL };

	for (int i = 0; i < n_bad; i++) {
		long b = bad_ptrs[i];
		char *bad_argv[] = { "echo", (char *)b, NULL };

		expect_efault("read /dev/zero", b, SC(SYS_read, zero, b, 16));
		OK(lseek(file, 0, SEEK_SET));
		expect_efault("read file", b, SC(SYS_read, file, b, 16));
		expect_efault("write file", b, SC(SYS_write, file, b, 16));
		expect_efault("open", b, SC(SYS_open, b, O_RDONLY, 0));
		expect_efault("open O_CREAT", b, SC(SYS_open, b, O_RDWR | O_CREAT, 0644));
		expect_efault("stat path", b, SC(SYS_stat, b, &st, 0));
		expect_efault("stat buf", b, SC(SYS_stat, "f", b, 0));
		expect_efault("fstat", b, SC(SYS_fstat, file, b, 0));
		expect_efault("getdents", b, SC(SYS_getdents, dir, b, 512));
		expect_efault("mkdir", b, SC(SYS_mkdir, b, 0755, 0));
		expect_efault("unlink", b, SC(SYS_unlink, b, 0, 0));
		expect_efault("rmdir", b, SC(SYS_rmdir, b, 0, 0));
		expect_efault("chdir", b, SC(SYS_chdir, b, 0, 0));
		expect_efault("getcwd", b, SC(SYS_getcwd, b, AX_PATH_MAX, 0));
		expect_efault("rename from", b, SC(SYS_rename, b, "g", 0));
		expect_efault("rename to", b, SC(SYS_rename, "f", b, 0));
		expect_efault("pipe", b, SC(SYS_pipe, b, 0, 0));
		expect_efault("spawn path", b, SC(SYS_spawn, b, argv, 0));
		expect_efault("execve path", b, SC(SYS_execve, b, argv, 0));
		if (b != 0) {	/* a NULL argv, envp or argv[1] means "empty" or "end" */
			expect_efault("spawn argv", b, SC(SYS_spawn, "/bin/echo", b, 0));
			expect_efault("spawn argv[1]", b, SC(SYS_spawn, "/bin/echo", bad_argv, 0));
			expect_efault("spawn envp", b, SC(SYS_spawn, "/bin/echo", argv, b));
			expect_efault("execve argv", b, SC(SYS_execve, "/bin/echo", b, 0));
			expect_efault("execve argv[1]", b, SC(SYS_execve, "/bin/echo", bad_argv, 0));
		}
		expect_efault("clock_gettime", b, SC(SYS_clock_gettime, CLOCK_MONOTONIC, b, 0));
		expect_efault("nanosleep", b, SC(SYS_nanosleep, b, 0, 0));
		expect_efault("uname", b, SC(SYS_uname, b, 0, 0));
		if (b != 0) {	/* a NULL status pointer is allowed */
			pid_t pid = spawn_helper("exit", "0", NULL, NULL);
			expect_efault("waitpid status", b, SC(SYS_waitpid, pid, b, 0));
			pid_t r = waitpid(pid, &status, 0);
			CHECK(r == pid || (r == -1 && errno == ECHILD), "waitpid after EFAULT: %s",
			      strerror(errno));
		}
		long br = SC(SYS_bpf, BPF_PROG_LOAD, b, 64);
		CHECK(br == -EFAULT || br == -ENOSYS, "bpf attr %#lx: got %s", b, rawname(br));
	}
	/* objects that run from a mapped page into an unmapped one */
	size_t pg = getpagesize();
	char *two = map_pages(2);
	OK(munmap(two + pg, pg));
	char *edge = two + pg - 8;
	memset(two, 'a', pg);	/* a path with no NUL before the hole */
	expect_efault("open unterminated path", (long)edge, SC(SYS_open, edge, O_RDONLY, 0));
	expect_efault("mkdir unterminated path", (long)edge, SC(SYS_mkdir, edge, 0755, 0));
	expect_efault("stat buf across the hole", (long)edge, SC(SYS_stat, "f", edge, 0));
	expect_efault("clock_gettime across the hole", (long)(two + pg - 8),
		      SC(SYS_clock_gettime, CLOCK_MONOTONIC, two + pg - 8, 0));
	char *slot = two + pg - sizeof(char *);
	*(char **)slot = "echo";	/* argv whose NULL terminator would be in the hole */
	expect_efault("spawn argv across the hole", (long)slot, SC(SYS_spawn, "/bin/echo", slot, 0));
	/* huge lengths: the whole range must be checked; a partial transfer of
	 * the mapped part is the only other acceptable answer */
	long huge[] = { 1L << 40, 1L << 62, -(long)(uintptr_t)two, -(long)pg };
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		long r = SC(SYS_read, zero, two, huge[i]);
		CHECK(r == -EFAULT || (r > 0 && (size_t)r <= pg), "read /dev/zero length %#lx into one page: %s",
		      huge[i], rawname(r));
		OK(lseek(file, 0, SEEK_SET));
		r = SC(SYS_write, file, two, huge[i]);
		CHECK(r == -EFAULT || (r > 0 && (size_t)r <= pg), "write length %#lx from one page: %s",
		      huge[i], rawname(r));
	}
	OK(munmap(two, pg));
	/* the process and its files are intact */
	OK(fstat(file, &st));
	OK(close(file));
	OK(close(zero));
	OK(close(dir));
}

static void test_enosys(void)
{
	const long nrs[] = { 0, NR_SYSCALLS, NR_SYSCALLS + 1, 1000, 4096, -1, -SYS_getpid,
			     0x7fffffff, (1L << 32) | SYS_getpid, (long)0x8000000000000000UL };

	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		long r = syscall(nrs[i], 1, 2, 3, 4, 5, 6);
		CHECK(r == -ENOSYS, "syscall %#lx returned %s, expected -ENOSYS", nrs[i], rawname(r));
	}
	CHECK(getpid() > 0, "process damaged by unknown syscalls");
}

/* ========================================================== ENOEXEC */

struct elf64_ehdr {
	unsigned char e_ident[16];
	uint16_t e_type, e_machine;
	uint32_t e_version;
	uint64_t e_entry, e_phoff, e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf64_phdr {
	uint32_t p_type, p_flags;
	uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

static unsigned char *good_elf;
static size_t good_size;

/* Writes a mutated copy of /bin/echo (first `len` bytes) and checks that
 * both spawn and execve refuse it with ENOEXEC. */
static void expect_enoexec(const char *what, const unsigned char *image, size_t len)
{
	char *argv[] = { "bad", NULL };

	write_file("bad", image, len, 0755);
	errno = 0;
	pid_t pid = spawn("bad", argv, NULL);
	if (pid >= 0) {
		int status = wait_child(pid, 10000);
		char d[48];
		describe_status(d, sizeof(d), status);
		FAIL("%s: spawn accepted it (child %s)", what, d);
	}
	CHECK(errno == ENOEXEC, "%s: spawn failed with %s, expected ENOEXEC", what, strerror(errno));
	CHECK(execve("bad", argv, NULL) == -1 && errno == ENOEXEC, "%s: execve failed with %s", what,
	      strerror(errno));
}

static void test_enoexec(void)
{
	struct ax_stat st;

	use_scratch();
	OK(stat("/bin/echo", &st));
	good_size = st.st_size;
	good_elf = malloc(good_size + 1);
	unsigned char *img = malloc(good_size);
	CHECK(good_elf && img, "malloc");
	CHECK(read_file("/bin/echo", (char *)good_elf, good_size + 1) == (ssize_t)good_size, "read /bin/echo");
	struct elf64_ehdr *eh = (struct elf64_ehdr *)img;
	struct elf64_phdr *ph;

	/* sanity: the unmodified copy runs */
	char *argv[] = { "echo", "-n", NULL };
	write_file("good", good_elf, good_size, 0755);
	pid_t pid = OK(spawn("good", argv, NULL));
	expect_exit(wait_child(pid, 10000), 0, "copy of /bin/echo");

	expect_enoexec("empty file", (const unsigned char *)"", 0);
	expect_enoexec("shell script", (const unsigned char *)"#!/bin/sh\necho hi\n", 18);
	for (size_t i = 0; i < 512; i++)
		img[i] = (unsigned char)(i * 151 + 7);
	expect_enoexec("random bytes", img, 512);
	expect_enoexec("truncated header", good_elf, 20);
	expect_enoexec("header only", good_elf, sizeof(struct elf64_ehdr));
	expect_enoexec("truncated in the program headers", good_elf, sizeof(struct elf64_ehdr) + 30);
	expect_enoexec("truncated segment data", good_elf, good_size / 2);

#define MUTATE(desc, stmt)                                   \
	do {                                                 \
		memcpy(img, good_elf, good_size);            \
		ph = (struct elf64_phdr *)(img + eh->e_phoff); \
		stmt;                                        \
		expect_enoexec(desc, img, good_size);        \
	} while (0)

	MUTATE("bad magic", img[1] = 'X');
	MUTATE("ELFCLASS32", img[4] = 1);
	MUTATE("big endian", img[5] = 2);
	MUTATE("relocatable (ET_REL)", eh->e_type = 1);
	MUTATE("core file (ET_CORE)", eh->e_type = 4);
	MUTATE("wrong machine", eh->e_machine = eh->e_machine == 62 ? 183 : 62);
	MUTATE("phentsize too small", eh->e_phentsize = 8);
	MUTATE("program headers past the end", eh->e_phoff = good_size + 4096);
	MUTATE("program header offset overflows", eh->e_phoff = 0xfffffffffffffff0UL);
	MUTATE("65535 program headers", eh->e_phnum = 0xffff);
	MUTATE("no program headers", eh->e_phnum = 0);
	MUTATE("segment offset past the end", ph[0].p_offset = good_size + 0x100000);
	MUTATE("segment filesz > memsz", ph[0].p_filesz = ph[0].p_memsz + 0x10000);
	MUTATE("segment filesz past the end", ph[0].p_filesz = good_size * 4; ph[0].p_memsz = good_size * 4);
	MUTATE("segment in the kernel half", ph[0].p_vaddr = 0xffff800000000000UL);
	MUTATE("segment at the top of memory", ph[0].p_vaddr = 0xfffffffffffff000UL);
	MUTATE("segment size overflows", ph[0].p_memsz = 0xfffffffffffff000UL);
	MUTATE("overlapping segments", ph[eh->e_phnum - 1].p_vaddr = ph[0].p_vaddr);
	MUTATE("entry in the kernel half", eh->e_entry = 0xffff800000001000UL);
#undef MUTATE
	/* a segment too big for memory: refused either way, without a crash */
	memcpy(img, good_elf, good_size);
	ph = (struct elf64_phdr *)(img + eh->e_phoff);
	ph[eh->e_phnum - 1].p_memsz = 1UL << 40;
	write_file("bad", img, good_size, 0755);
	errno = 0;
	pid = spawn("bad", argv, NULL);
	if (pid >= 0)
		wait_child(pid, 10000);
	CHECK(pid == -1 && (errno == ENOEXEC || errno == ENOMEM), "1 TiB segment: %s",
	      pid >= 0 ? "accepted" : strerror(errno));
	free(img);
	free(good_elf);
	CHECK(getpid() > 0, "still alive");
}

/* ============================================================ views */

static void test_proc_files(void)
{
	static const char *const files[] = { "/proc/processes", "/proc/threads", "/proc/meminfo",
					     "/proc/mounts", "/proc/cpus", "/proc/layout", "/proc/cmdline" };
	static char buf[16384];
	char path[64], pid[16];
	struct ax_stat st;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		OK(stat(files[i], &st));
		CHECK(S_ISREG(st.st_mode), "%s mode %o", files[i], st.st_mode);
		CHECK(read_file(files[i], buf, sizeof(buf)) > 0, "%s is empty", files[i]);
	}
	snprintf(pid, sizeof(pid), "%d", getpid());
	read_file("/proc/processes", buf, sizeof(buf));
	CHECK(strstr(buf, pid), "/proc/processes does not list this process (%s)", pid);
	CHECK(strstr(buf, "selftest"), "/proc/processes does not name selftest");
	read_file("/proc/mounts", buf, sizeof(buf));
	CHECK(strstr(buf, "/dev") && strstr(buf, "/proc"), "/proc/mounts lacks /dev or /proc: %s", buf);
	snprintf(path, sizeof(path), "/proc/%d/maps", getpid());
	read_file(path, buf, sizeof(buf));
	CHECK(strstr(buf, "400000"), "%s does not show the program at 0x400000:\n%s", path, buf);
	ERR(open("/proc/999999/maps", O_RDONLY), ENOENT);
	ERR(open("/proc/nonexistent", O_RDONLY), ENOENT);
	errno = 0;
	CHECK(open("/proc/meminfo", O_WRONLY) == -1, "/proc/meminfo opened for writing");
	/* reading in small pieces gives the same text */
	static char whole[16384], pieces[16384];
	ssize_t n = read_file("/proc/cmdline", whole, sizeof(whole));
	int fd = (int)OK(open("/proc/cmdline", O_RDONLY));
	ssize_t total = 0, r;
	while ((r = OK(read(fd, pieces + total, 3))) > 0 && total < (ssize_t)sizeof(pieces) - 4)
		total += r;
	OK(close(fd));
	pieces[total] = 0;
	CHECK(total == n && strcmp(whole, pieces) == 0, "/proc/cmdline read 3 bytes at a time differs");
}

/* each read of /dev/kmsg returns one record, oldest first, then 0; a
 * write logs a record */
static void test_kmsg(void)
{
	char rec[1100], marker[64];
	int records = 0, found = 0;
	ssize_t n;

	snprintf(marker, sizeof(marker), "selftest kmsg marker %d-%lld", getpid(), (long long)now_ns());
	int w = (int)OK(open("/dev/kmsg", O_WRONLY));
	CHECK(OK(write(w, marker, strlen(marker))) == (ssize_t)strlen(marker), "short write to /dev/kmsg");
	OK(close(w));
	int fd = (int)OK(open("/dev/kmsg", O_RDONLY));
	while (records < 100000 && (n = OK(read(fd, rec, sizeof(rec) - 1))) > 0) {
		rec[n] = 0;
		records++;
		if (strstr(rec, marker))
			found = 1;
	}
	OK(close(fd));
	CHECK(records > 1, "/dev/kmsg gave %d records", records);
	CHECK(found, "the record written to /dev/kmsg was not read back (%d records)", records);
}

static void test_bpf_errors(void)
{
	char attr[128];

	memset(attr, 0, sizeof(attr));
	long r = SC(SYS_bpf, 0x7fffffff, attr, sizeof(attr));
	CHECK(r == -EINVAL || r == -ENOSYS, "bpf unknown command: %s", rawname(r));
	r = SC(SYS_bpf, BPF_PROG_LOAD, attr, 1UL << 40);
	CHECK(r < 0 && r >= -4095, "bpf with a 1 TiB attr size: %s", rawname(r));
	r = SC(SYS_bpf, BPF_PROG_LOAD, attr, sizeof(attr));	/* no instructions */
	CHECK(r < 0 && r >= -4095, "bpf PROG_LOAD of an empty program: %s", rawname(r));
}

/* The kernel verifies, runs and attaches eBPF: a syscall-entry policy that
 * denies getppid with EPERM takes effect for this process and is lifted on
 * detach; a program reading an uninitialised register is refused with a log. */
static void test_bpf_policy(void)
{
	struct bpf_insn deny_getppid[] = {
		{ .code = 0x79, .dst_reg = 2, .src_reg = 1, .off = 0 },       /* r2 = ctx->nr */
		{ .code = 0x55, .dst_reg = 2, .off = 2, .imm = SYS_getppid }, /* if r2 != getppid goto allow */
		{ .code = 0xb7, .dst_reg = 0, .imm = -EPERM },                 /* r0 = -EPERM */
		{ .code = 0x95 },                                              /* exit */
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 },                      /* allow: r0 = 0 */
		{ .code = 0x95 },
	};
	struct bpf_insn uninit[] = {
		{ .code = 0xbf, .dst_reg = 0, .src_reg = 5 },                  /* r0 = r5 (never set) */
		{ .code = 0x95 },
	};
	union bpf_attr a;
	char log[512];

	long ppid = getppid();
	CHECK(ppid > 0, "getppid before: %ld", ppid);

	memset(&a, 0, sizeof(a));
	memset(log, 0, sizeof(log));
	a.prog_type = BPF_PROG_TYPE_AXIOM_SYSCALL_ENTER;
	a.insn_cnt = 2;
	a.insns = (uint64_t)(uintptr_t)uninit;
	a.log_level = 1;
	a.log_size = sizeof(log);
	a.log_buf = (uint64_t)(uintptr_t)log;
	long r = SC(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	CHECK(r < 0 && r >= -4095, "uninitialised-register program was accepted (%ld)", r);
	CHECK(log[0] != 0, "rejection left no verifier log");

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_AXIOM_SYSCALL_ENTER;
	a.insn_cnt = sizeof(deny_getppid) / sizeof(deny_getppid[0]);
	a.insns = (uint64_t)(uintptr_t)deny_getppid;
	long prog = SC(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (prog < 0) {
		FAIL("PROG_LOAD of the policy: %s", rawname(prog));
		return;
	}
	memset(&a, 0, sizeof(a));
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_AXIOM_SYSCALL_ENTER;
	r = SC(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof(a));
	CHECK(r == 0, "PROG_ATTACH: %s", rawname(r));
	long denied = SC(SYS_getppid, 0, 0, 0);
	long pid = SC(SYS_getpid, 0, 0, 0);
	r = SC(SYS_bpf, BPF_PROG_DETACH, &a, sizeof(a));   /* always lift the policy */
	CHECK(r == 0, "PROG_DETACH: %s", rawname(r));
	r = bpf_obj_close((uint32_t)prog);                /* and unload it */
	CHECK(r == 0, "OBJ_CLOSE: %s", rawname(r));
	CHECK(denied == -EPERM, "getppid under the policy gave %s, not EPERM", rawname(denied));
	CHECK(pid == getpid(), "getpid under the policy gave %ld", pid);
	CHECK(getppid() == ppid, "getppid after detach: %ld", (long)getppid());
}

/* ================================================== bpf from userspace */

/* Remember a bpf object for cleanup on failure (attach: its attach type or 0). */
static uint32_t bpf_own(long id, uint32_t attach)
{
	CHECK(id > 0, "bpf object creation failed: %s", rawname(id));
	CHECK(bpf_nowned < BPF_OWNED_MAX, "too many bpf objects");
	bpf_owned[bpf_nowned] = (uint32_t)id;
	bpf_owned_attach[bpf_nowned] = attach;
	bpf_nowned++;
	return (uint32_t)id;
}

static void bpf_own_object(struct bpf_object *obj)
{
	for (uint32_t i = 0; i < obj->nr_maps; i++)
		bpf_own(obj->maps[i].id, 0);
	for (uint32_t i = 0; i < obj->nr_progs; i++)
		bpf_own(obj->progs[i].id, obj->progs[i].attached ? obj->progs[i].type : 0);
}

#define BPF_EXPECT(expr, want)                                                                     \
	do {                                                                                       \
		long got_ = (long)(expr);                                                          \
		CHECK(got_ == (long)(want), "%s: got %s, expected %s", #expr, rawname(got_),       \
		      rawname((long)(want)));                                                      \
	} while (0)

/* The ids of a map's keys by get_next_key, starting from NULL; returns the count. */
static int bpf_keys(uint32_t map, uint32_t *keys, int max)
{
	uint32_t k, next;
	int n = 0;

	for (long r = bpf_map_get_next_key(map, NULL, &next); r != -ENOENT;
	     r = bpf_map_get_next_key(map, &k, &next)) {
		CHECK(r == 0, "get_next_key: %s", rawname(r));
		CHECK(n < max, "get_next_key returned more than %d keys", max);
		keys[n++] = next;
		k = next;
	}
	return n;
}

/* hash, array, per-CPU array and ring buffer maps through the syscall: every
 * command's success and its documented errors. */
static void test_bpf_maps(void)
{
	uint32_t k, keys[8];
	uint64_t v;

	uint32_t h = bpf_own(bpf_map_create(BPF_MAP_TYPE_HASH, 4, 8, 4, "st_hash"), 0);
	k = 1;
	BPF_EXPECT(bpf_map_lookup_elem(h, &k, &v), -ENOENT);
	v = 100;
	BPF_EXPECT(bpf_map_update_elem(h, &k, &v, BPF_NOEXIST), 0);
	BPF_EXPECT(bpf_map_update_elem(h, &k, &v, BPF_NOEXIST), -EEXIST);
	k = 2;
	BPF_EXPECT(bpf_map_update_elem(h, &k, &v, BPF_EXIST), -ENOENT);
	BPF_EXPECT(bpf_map_update_elem(h, &k, &v, 7), -EINVAL);
	for (k = 2; k <= 4; k++) {
		v = 100 * k;
		BPF_EXPECT(bpf_map_update_elem(h, &k, &v, BPF_ANY), 0);
	}
	k = 5;
	BPF_EXPECT(bpf_map_update_elem(h, &k, &v, BPF_ANY), -E2BIG); /* full */
	k = 1;
	v = 101;
	BPF_EXPECT(bpf_map_update_elem(h, &k, &v, BPF_EXIST), 0);
	v = 0;
	BPF_EXPECT(bpf_map_lookup_elem(h, &k, &v), 0);
	CHECK(v == 101, "hash value %llu after update, expected 101", (unsigned long long)v);
	int n = bpf_keys(h, keys, 8);
	unsigned seen = 0;
	for (int i = 0; i < n; i++)
		seen |= 1u << keys[i];
	CHECK(n == 4 && seen == 0x1e, "get_next_key walk gave %d keys (mask %#x), expected 1..4", n, seen);
	k = 3;
	BPF_EXPECT(bpf_map_delete_elem(h, &k), 0);
	BPF_EXPECT(bpf_map_delete_elem(h, &k), -ENOENT);
	BPF_EXPECT(bpf_map_lookup_elem(h, &k, &v), -ENOENT);
	CHECK(bpf_keys(h, keys, 8) == 3, "get_next_key after a delete: %d keys", bpf_keys(h, keys, 8));
	k = 5;   /* the deleted slot is free again */
	BPF_EXPECT(bpf_map_update_elem(h, &k, &v, BPF_NOEXIST), 0);

	struct bpf_map_info mi;
	memset(&mi, 0, sizeof(mi));
	BPF_EXPECT(bpf_obj_get_info(h, &mi, sizeof(mi)), BPF_OBJ_INFO_MAP);
	CHECK(mi.id == h && mi.type == BPF_MAP_TYPE_HASH && mi.key_size == 4 && mi.value_size == 8 &&
	      mi.max_entries == 4 && !strcmp(mi.name, "st_hash"),
	      "map info: id %u type %u key %u value %u max %u name %s", mi.id, mi.type, mi.key_size,
	      mi.value_size, mi.max_entries, mi.name);

	/* array: every element exists, no delete */
	uint8_t val[16], back[16];
	uint32_t a = bpf_own(bpf_map_create(BPF_MAP_TYPE_ARRAY, 4, 16, 3, "st_array"), 0);
	k = 0;
	memset(back, 0xee, sizeof(back));
	BPF_EXPECT(bpf_map_lookup_elem(a, &k, back), 0);
	for (int i = 0; i < 16; i++)
		CHECK(back[i] == 0, "a new array element is not zero (byte %d = %#x)", i, back[i]);
	for (int i = 0; i < 16; i++)
		val[i] = (uint8_t)(i * 7 + 1);
	k = 2;
	BPF_EXPECT(bpf_map_update_elem(a, &k, val, BPF_ANY), 0);
	BPF_EXPECT(bpf_map_lookup_elem(a, &k, back), 0);
	CHECK(!memcmp(val, back, 16), "array element 2 reads back different bytes");
	BPF_EXPECT(bpf_map_update_elem(a, &k, val, BPF_NOEXIST), -EEXIST);
	k = 3;
	BPF_EXPECT(bpf_map_update_elem(a, &k, val, BPF_ANY), -E2BIG);
	BPF_EXPECT(bpf_map_lookup_elem(a, &k, back), -ENOENT);
	k = 0;
	BPF_EXPECT(bpf_map_delete_elem(a, &k), -EINVAL);
	n = bpf_keys(a, keys, 8);
	CHECK(n == 3 && keys[0] == 0 && keys[1] == 1 && keys[2] == 2, "array keys: %d", n);

	/* per-CPU array: the syscall side sees every CPU's value */
	uint32_t pc = bpf_own(bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 2, "st_percpu"), 0);
	memset(&mi, 0, sizeof(mi));
	BPF_EXPECT(bpf_obj_get_info(pc, &mi, sizeof(mi)), BPF_OBJ_INFO_MAP);
	CHECK(mi.syscall_value_size >= 8 && mi.syscall_value_size % 8 == 0 && mi.syscall_value_size <= 8 * 64,
	      "per-CPU syscall value size %u", mi.syscall_value_size);
	uint8_t *pv = malloc(mi.syscall_value_size), *pb = malloc(mi.syscall_value_size);
	CHECK(pv && pb, "malloc");
	for (uint32_t i = 0; i < mi.syscall_value_size; i++)
		pv[i] = (uint8_t)(i % 8 < 4 ? i + 3 : 0); /* padding bytes stay zero */
	k = 1;
	BPF_EXPECT(bpf_map_update_elem(pc, &k, pv, BPF_ANY), 0);
	BPF_EXPECT(bpf_map_lookup_elem(pc, &k, pb), 0);
	for (uint32_t i = 0; i < mi.syscall_value_size; i += 8)
		CHECK(!memcmp(pv + i, pb + i, 4), "per-CPU value of cpu %u differs", i / 8);
	free(pv);
	free(pb);

	/* ring buffer: empty pop, lookup refused */
	uint32_t rb = bpf_own(bpf_map_create(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, "st_rb"), 0);
	BPF_EXPECT(bpf_ringbuf_pop(rb, back, sizeof(back)), -ENOENT);

	/* creation errors */
	BPF_EXPECT(bpf_map_create(BPF_MAP_TYPE_HASH, 0, 8, 4, NULL), -EINVAL);
	BPF_EXPECT(bpf_map_create(BPF_MAP_TYPE_ARRAY, 8, 8, 4, NULL), -EINVAL);
	BPF_EXPECT(bpf_map_create(BPF_MAP_TYPE_ARRAY, 4, 0, 4, NULL), -EINVAL);
	BPF_EXPECT(bpf_map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 0, NULL), -EINVAL);
	BPF_EXPECT(bpf_map_create(99, 4, 8, 4, NULL), -EINVAL);
	BPF_EXPECT(bpf_map_create(BPF_MAP_TYPE_RINGBUF, 0, 0, 100, NULL), -EINVAL);
	long big = bpf_map_create(BPF_MAP_TYPE_ARRAY, 4, 1u << 20, 1u << 12, NULL); /* 4 GiB */
	if (big > 0)
		bpf_own(big, 0);
	CHECK(big == -ENOMEM || big == -E2BIG, "a 4 GiB array map: %s", rawname(big));
	/* bad ids and pointers */
	k = 0;
	BPF_EXPECT(bpf_map_lookup_elem(0x7ffffff0, &k, &v), -EBADF);
	BPF_EXPECT(bpf_map_lookup_elem(h, (void *)16, &v), -EFAULT);
	BPF_EXPECT(bpf_map_lookup_elem(a, &k, (void *)16), -EFAULT);

	/* close: the ids are gone */
	bpf_release_all();
	BPF_EXPECT(bpf_map_lookup_elem(h, &k, &v), -EBADF);
	CHECK(bpf_obj_close(h) < 0, "closing map %u twice succeeded", h);
	memset(&mi, 0, sizeof(mi));
	CHECK(bpf_obj_get_info(a, &mi, sizeof(mi)) < 0, "info of a closed map succeeded");
}

/* PROG_TEST_RUN from userspace: a memory program (r1 = memory, r2 = its
 * length) and a syscall_enter program on a supplied context. */
static void test_bpf_test_run(void)
{
	struct bpf_insn mem_prog[] = {
		{ .code = 0x61, .dst_reg = 0, .src_reg = 1, .off = 0 },   /* r0 = *(u32 *)(r1 + 0) */
		{ .code = 0x27, .dst_reg = 0, .imm = 3 },                 /* r0 *= 3 */
		{ .code = 0x63, .dst_reg = 1, .src_reg = 0, .off = 4 },   /* *(u32 *)(r1 + 4) = r0 */
		{ .code = 0x0f, .dst_reg = 0, .src_reg = 2 },             /* r0 += r2 (the length) */
		{ .code = 0x95 },
	};
	struct bpf_insn oob_prog[] = {
		{ .code = 0x61, .dst_reg = 0, .src_reg = 1, .off = 8 },   /* r0 = *(u32 *)(r1 + 8): past 8 bytes */
		{ .code = 0x95 },
	};
	struct bpf_insn ctx_prog[] = {
		{ .code = 0x79, .dst_reg = 2, .src_reg = 1, .off = 0 },   /* r2 = ctx->nr */
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 },                 /* r0 = 0 */
		{ .code = 0x55, .dst_reg = 2, .off = 1, .imm = 39 },      /* if r2 != 39 goto +1 */
		{ .code = 0xb7, .dst_reg = 0, .imm = -1 },                /* r0 = -1 */
		{ .code = 0x95 },
	};
	char log[1024];
	struct bpf_load_opts o = { .name = "st_mem", .log_level = 1, .log_buf = log, .log_size = sizeof(log),
				   .mem_size = 8 };
	uint8_t mem[8] = { 7, 0, 0, 0, 0xaa, 0xaa, 0xaa, 0xaa }, big[16] = { 0 };
	uint64_t r0 = 0;

	uint32_t mp = bpf_own(bpf_prog_load(BPF_PROG_TYPE_AXIOM_MEM, mem_prog, 5, &o), 0);
	BPF_EXPECT(bpf_prog_test_run(mp, mem, sizeof(mem), NULL, 0, &r0), 0);
	CHECK(r0 == 21 + 8, "memory program returned %llu, expected 29", (unsigned long long)r0);
	CHECK(mem[4] == 21 && mem[5] == 0 && mem[6] == 0 && mem[7] == 0,
	      "memory after the run: %02x %02x %02x %02x, expected 15 00 00 00", mem[4], mem[5], mem[6], mem[7]);
	/* the memory size is part of what was verified */
	BPF_EXPECT(bpf_prog_test_run(mp, big, sizeof(big), NULL, 0, &r0), -EINVAL);
	BPF_EXPECT(bpf_prog_test_run(0x7ffffff0, mem, sizeof(mem), NULL, 0, &r0), -EBADF);

	struct bpf_prog_info pi;
	memset(&pi, 0, sizeof(pi));
	BPF_EXPECT(bpf_obj_get_info(mp, &pi, sizeof(pi)), BPF_OBJ_INFO_PROG);
	CHECK(pi.id == mp && pi.type == BPF_PROG_TYPE_AXIOM_MEM && pi.insn_cnt == 5 && pi.verified &&
	      pi.attach_type == 0 && !strcmp(pi.name, "st_mem"),
	      "prog info: id %u type %u insns %u verified %u attached %u name %s", pi.id, pi.type, pi.insn_cnt,
	      pi.verified, pi.attach_type, pi.name);
	uint32_t next = 0;
	int listed = 0;
	for (uint32_t id = 0; bpf_prog_get_next_id(id, &next) == 0; id = next)
		listed |= next == mp;
	CHECK(listed, "program %u missing from PROG_GET_NEXT_ID", mp);

	/* out of bounds: refused at load with the reason in the log */
	long r = bpf_prog_load(BPF_PROG_TYPE_AXIOM_MEM, oob_prog, 2, &o);
	if (r > 0)
		bpf_own(r, 0);
	CHECK(r == -EACCES || r == -EINVAL, "out-of-bounds memory read: %s", rawname(r));
	CHECK(strstr(log, "0:") != NULL, "no instruction index in the log: %s", log);

	/* a context program: the context is copied in, r0 comes back whole */
	o.name = "st_ctx";
	o.mem_size = 0;
	uint32_t cp = bpf_own(bpf_prog_load(BPF_PROG_TYPE_AXIOM_SYSCALL_ENTER, ctx_prog, 5, &o), 0);
	struct bpf_syscall_enter_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.nr = 39;
	BPF_EXPECT(bpf_prog_test_run(cp, NULL, 0, &ctx, sizeof(ctx), &r0), 0);
	CHECK(r0 == (uint64_t)-1, "ctx program with nr 39 returned %#llx", (unsigned long long)r0);
	ctx.nr = 40;
	BPF_EXPECT(bpf_prog_test_run(cp, NULL, 0, &ctx, sizeof(ctx), &r0), 0);
	CHECK(r0 == 0, "ctx program with nr 40 returned %#llx", (unsigned long long)r0);
	uint8_t huge[sizeof(ctx) + 8];
	memset(huge, 0, sizeof(huge));
	BPF_EXPECT(bpf_prog_test_run(cp, NULL, 0, huge, sizeof(huge), &r0), -EINVAL);
	/* wrong attach type for the program */
	BPF_EXPECT(bpf_prog_attach(cp, BPF_AXIOM_TIMER_TICK), -EINVAL);
	bpf_release_all();
}

static void *read_whole(const char *path, size_t *size)
{
	struct ax_stat st;
	int fd = (int)OK(open(path, O_RDONLY));
	OK(fstat(fd, &st));
	void *buf = malloc(st.st_size + 8);
	CHECK(buf, "malloc");
	size_t got = 0;
	while (got < st.st_size) {
		ssize_t n = OK(read(fd, (char *)buf + got, st.st_size - got));
		CHECK(n > 0, "short read of %s", path);
		got += (size_t)n;
	}
	OK(close(fd));
	*size = got;
	return buf;
}

/* The ELF loader on the clang-compiled demos and on broken objects. */
static void test_bpf_elf_loader(void)
{
	struct bpf_object *obj;
	char err[256];
	size_t size;

	BPF_EXPECT(bpf_object_open(&obj, "/lib/bpf/missing.o", err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "missing.o"), "error for a missing object: '%s'", err);

	uint64_t junk[8] = { 0x0102030405060708ull };
	BPF_EXPECT(bpf_object_open_mem(&obj, junk, sizeof(junk), "junk", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not an ELF"), "error for junk: '%s'", err);

	uint64_t *elf = read_whole("/lib/bpf/events.o", &size);
	CHECK(size > 256, "events.o is %zu bytes", size);
	/* truncated: the section table lies past the end */
	BPF_EXPECT(bpf_object_open_mem(&obj, elf, size / 2, "half", err, sizeof(err)), -EINVAL);
	CHECK(err[0], "no error text for a truncated object");
	/* an ELF for another machine */
	uint64_t *other = read_whole("/bin/echo", &size);
	BPF_EXPECT(bpf_object_open_mem(&obj, other, size, "echo", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "eBPF"), "error for a non-BPF ELF: '%s'", err);
	free(other);
	/* 300 mutated copies (1..4 random bytes each, a fixed xorshift seed): each one
	 * parses or is refused with a message, never crashes the loader */
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	size_t esize;
	free(elf);
	elf = read_whole("/lib/bpf/events.o", &esize);
	uint64_t *mut = malloc(esize + 8);
	CHECK(mut, "malloc");
	int refused = 0;
	for (int i = 0; i < 300; i++) {
		memcpy(mut, elf, esize);
		int flips = 1 + (int)(seed & 3);
		for (int f = 0; f < flips; f++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			((uint8_t *)mut)[seed % esize] = (uint8_t)(seed >> 32);
		}
		err[0] = 0;
		int r = bpf_object_open_mem(&obj, mut, esize, "mutant", err, sizeof(err));
		CHECK(r == 0 || (r == -EINVAL && err[0]), "mutant %d: %s with error '%s'", i, rawname(r), err);
		if (r == 0)
			bpf_object_close(obj, 1);
		else
			refused++;
	}
	CHECK(refused > 0, "no mutant was refused");
	free(mut);
	free(elf);

	/* events.o: 2 maps, 5 programs, one per attach point, relocated */
	CHECK(bpf_object_open(&obj, "/lib/bpf/events.o", err, sizeof(err)) == 0, "open events.o: %s", err);
	CHECK(obj->nr_maps == 2 && obj->nr_progs == 5, "events.o: %u maps %u progs", obj->nr_maps, obj->nr_progs);
	struct bpf_object_map *cnt = bpf_object_find_map(obj, "ev_counts"), *ev = bpf_object_find_map(obj, "events");
	CHECK(cnt && cnt->type == BPF_MAP_TYPE_ARRAY && cnt->value_size == 8 && cnt->max_entries == EV_NCOUNTS,
	      "ev_counts map definition");
	CHECK(ev && ev->type == BPF_MAP_TYPE_RINGBUF && ev->max_entries == 16384, "events map definition");
	static const struct { const char *name; uint32_t type; } want[] = {
		{ "on_switch", BPF_PROG_TYPE_AXIOM_SCHED_SWITCH }, { "on_fault", BPF_PROG_TYPE_AXIOM_PAGE_FAULT },
		{ "on_tick", BPF_PROG_TYPE_AXIOM_TIMER_TICK },    { "on_exec", BPF_PROG_TYPE_AXIOM_PROC_EXEC },
		{ "on_exit", BPF_PROG_TYPE_AXIOM_PROC_EXIT },
	};
	for (unsigned i = 0; i < 5; i++) {
		struct bpf_object_prog *p = bpf_object_find_prog(obj, want[i].name);
		CHECK(p && p->type == want[i].type, "program %s: %s", want[i].name, p ? bpf_prog_type_name(p->type) : "missing");
	}
	int r = bpf_object_load(obj, NULL, err, sizeof(err));
	CHECK(r == 0, "load events.o: %s", err);
	bpf_own_object(obj);
	/* each program's map ids are the maps just created */
	for (uint32_t i = 0; i < obj->nr_progs; i++) {
		struct bpf_prog_info pi;
		memset(&pi, 0, sizeof(pi));
		BPF_EXPECT(bpf_obj_get_info(obj->progs[i].id, &pi, sizeof(pi)), BPF_OBJ_INFO_PROG);
		CHECK(pi.nr_map_ids >= 1 && pi.map_ids[0] == cnt->id, "program %s uses map %u, not ev_counts %u",
		      obj->progs[i].name, pi.nr_map_ids ? pi.map_ids[0] : 0, cnt->id);
		CHECK(pi.verified && pi.attach_type == 0, "program %s: verified %u attached %u", obj->progs[i].name,
		      pi.verified, pi.attach_type);
	}
	uint32_t cnt_id = cnt->id;
	bpf_object_close(obj, 0);
	bpf_nowned = 0;
	uint64_t v;
	uint32_t k = 0;
	BPF_EXPECT(bpf_map_lookup_elem(cnt_id, &k, &v), -EBADF);   /* unloaded with the object */
}

/* policy.o: deny getppid (for this process only) with the errno from the map. */
static void test_bpf_elf_policy(void)
{
	struct bpf_object *obj;
	char err[256];
	long ppid = getppid();

	CHECK(bpf_object_open(&obj, "/lib/bpf/policy.o", err, sizeof(err)) == 0, "open policy.o: %s", err);
	CHECK(bpf_object_load(obj, NULL, err, sizeof(err)) == 0, "load policy.o: %s", err);
	bpf_own_object(obj);
	struct bpf_object_map *cfgm = bpf_object_find_map(obj, "policy_cfg");
	CHECK(cfgm, "policy_cfg map");
	struct policy_cfg cfg = { .nr = SYS_getppid, .pid = (uint32_t)getpid(), .err = EPERM };
	uint32_t key = 0;
	BPF_EXPECT(bpf_map_update_elem(cfgm->id, &key, &cfg, BPF_ANY), 0);
	CHECK(bpf_object_attach(obj, err, sizeof(err)) == 0, "attach: %s", err);
	bpf_nowned = 0;
	bpf_own_object(obj);

	errno = 0;
	long denied = getppid();
	int denied_errno = errno;
	long pid = getpid();
	cfg.err = ENOSPC;   /* a new errno takes effect at once */
	BPF_EXPECT(bpf_map_update_elem(cfgm->id, &key, &cfg, BPF_ANY), 0);
	errno = 0;
	long denied2 = getppid();
	int denied2_errno = errno;
	cfg.err = 0;        /* 0: allow */
	BPF_EXPECT(bpf_map_update_elem(cfgm->id, &key, &cfg, BPF_ANY), 0);
	long allowed = getppid();
	bpf_object_close(obj, 0);
	bpf_nowned = 0;
	CHECK(denied == -1 && denied_errno == EPERM, "getppid under the policy: %ld (%s)", denied,
	      strerror(denied_errno));
	CHECK(denied2 == -1 && denied2_errno == ENOSPC, "getppid with errno ENOSPC configured: %ld (%s)",
	      denied2, strerror(denied2_errno));
	CHECK(pid > 0 && allowed == ppid, "getpid %ld, getppid with err 0: %ld (expected %ld)", pid, allowed, ppid);
	CHECK(getppid() == ppid, "getppid after unload: %ld", (long)getppid());
}

/* syscount.o: the per-process counter counts exactly this process's calls. */
static void test_bpf_elf_syscount(void)
{
	struct bpf_object *obj;
	char err[256];
	uint32_t me = (uint32_t)getpid();
	uint64_t before = 0, after = 0;

	CHECK(bpf_object_open(&obj, "/lib/bpf/syscount.o", err, sizeof(err)) == 0, "open syscount.o: %s", err);
	CHECK(bpf_object_load(obj, NULL, err, sizeof(err)) == 0, "load syscount.o: %s", err);
	bpf_own_object(obj);
	uint32_t map = bpf_object_find_map(obj, "syscount")->id;
	CHECK(bpf_object_attach(obj, err, sizeof(err)) == 0, "attach: %s", err);
	bpf_nowned = 0;
	bpf_own_object(obj);
	/* the lookup is itself a counted call: it sees its own entry */
	BPF_EXPECT(bpf_map_lookup_elem(map, &me, &before), 0);
	for (int i = 0; i < 50; i++)
		getpid();
	BPF_EXPECT(bpf_map_lookup_elem(map, &me, &after), 0);
	CHECK(before >= 1 && after - before == 51,
	      "syscall count went from %llu to %llu over 50 getpid calls + 1 lookup",
	      (unsigned long long)before, (unsigned long long)after);
	bpf_object_close(obj, 0);
	bpf_nowned = 0;
	BPF_EXPECT(bpf_map_lookup_elem(map, &me, &after), -EBADF);
}

/* events.o on every other attach point: a child that exits with 3 and one
 * that faults must show up as exec/exit/page-fault events; sleeping lets
 * timer ticks and context switches happen. */
static void test_bpf_attach_points(void)
{
	struct bpf_object *obj;
	char err[256];
	uint64_t c0[EV_NCOUNTS], c1[EV_NCOUNTS];

	CHECK(bpf_object_open(&obj, "/lib/bpf/events.o", err, sizeof(err)) == 0, "open events.o: %s", err);
	CHECK(bpf_object_load(obj, NULL, err, sizeof(err)) == 0, "load events.o: %s", err);
	bpf_own_object(obj);
	uint32_t counts = bpf_object_find_map(obj, "ev_counts")->id;
	uint32_t events = bpf_object_find_map(obj, "events")->id;
	CHECK(bpf_object_attach(obj, err, sizeof(err)) == 0, "attach: %s", err);
	bpf_nowned = 0;
	bpf_own_object(obj);

	for (uint32_t i = 0; i < EV_NCOUNTS; i++)
		BPF_EXPECT(bpf_map_lookup_elem(counts, &i, &c0[i]), 0);
	pid_t exiter = spawn_helper("exit", "3", NULL, NULL);
	CHECK(exiter > 0, "spawn exit helper");
	expect_exit(wait_child(exiter, 10000), 3, "exit helper");
	pid_t faulter = spawn_helper("null-read", NULL, NULL, NULL);
	CHECK(faulter > 0, "spawn null-read helper");
	expect_signal(wait_child(faulter, 10000), SIGSEGV, "null-read helper");
	sleep_ms(50);
	for (uint32_t i = 0; i < EV_NCOUNTS; i++)
		BPF_EXPECT(bpf_map_lookup_elem(counts, &i, &c1[i]), 0);

	/* the ring buffer: exec and exit records of both children */
	uint8_t rec[128];
	long len;
	int exec_seen = 0, exit_seen = 0, fault_exit_seen = 0;
	while ((len = bpf_ringbuf_pop(events, rec, sizeof(rec))) > 0) {
		struct proc_event ev;
		CHECK(len == (long)sizeof(ev), "ring buffer record of %ld bytes", len);
		memcpy(&ev, rec, sizeof(ev));
		if (ev.kind == EV_PROC_EXEC && ev.pid == (uint32_t)exiter)
			exec_seen = !strncmp(ev.filename, self_path, sizeof(ev.filename) - 1);
		if (ev.kind == EV_PROC_EXIT && ev.pid == (uint32_t)exiter)
			exit_seen = ev.exit_code == W_EXITCODE(3, 0);
		if (ev.kind == EV_PROC_EXIT && ev.pid == (uint32_t)faulter)
			fault_exit_seen = ev.exit_code == W_EXITCODE(0, SIGSEGV);
	}
	BPF_EXPECT(len, -ENOENT);
	bpf_object_close(obj, 0);
	bpf_nowned = 0;

	CHECK(c1[EV_PROC_EXEC] >= c0[EV_PROC_EXEC] + 2, "proc_exec count %llu -> %llu for two spawns",
	      (unsigned long long)c0[EV_PROC_EXEC], (unsigned long long)c1[EV_PROC_EXEC]);
	CHECK(c1[EV_PROC_EXIT] >= c0[EV_PROC_EXIT] + 2, "proc_exit count %llu -> %llu for two exits",
	      (unsigned long long)c0[EV_PROC_EXIT], (unsigned long long)c1[EV_PROC_EXIT]);
	CHECK(c1[EV_PAGE_FAULT] >= c0[EV_PAGE_FAULT] + 1, "page_fault count %llu -> %llu for a NULL read",
	      (unsigned long long)c0[EV_PAGE_FAULT], (unsigned long long)c1[EV_PAGE_FAULT]);
	CHECK(c1[EV_TIMER_TICK] > c0[EV_TIMER_TICK], "timer_tick count stayed %llu over 50 ms",
	      (unsigned long long)c0[EV_TIMER_TICK]);
	CHECK(c1[EV_SCHED_SWITCH] > c0[EV_SCHED_SWITCH], "sched_switch count stayed %llu",
	      (unsigned long long)c0[EV_SCHED_SWITCH]);
	CHECK(exec_seen, "no exec record for pid %d with file %s", exiter, self_path);
	CHECK(exit_seen, "no exit record for pid %d with status 0x300", exiter);
	CHECK(fault_exit_seen, "no exit record for pid %d killed by SIGSEGV", faulter);
}


/* probe.o records the contexts themselves: switches to and from this thread
 * (it sleeps 5 times), the fault of a child writing to address 8, and ticks
 * from CPUs that exist, with counts that grow per CPU. */
static void test_bpf_attach_contexts(void)
{
	struct bpf_object *obj;
	char err[256], cpus[1024];
	uint64_t v[PROBE_N];

	CHECK(bpf_object_open(&obj, "/lib/bpf/probe.o", err, sizeof(err)) == 0, "open probe.o: %s", err);
	CHECK(bpf_object_load(obj, NULL, err, sizeof(err)) == 0, "load probe.o: %s", err);
	bpf_own_object(obj);
	uint32_t probe = bpf_object_find_map(obj, "probe")->id, cfg = bpf_object_find_map(obj, "probe_cfg")->id;
	uint64_t tid = (uint64_t)gettid();
	uint32_t zero = 0;
	BPF_EXPECT(bpf_map_update_elem(cfg, &zero, &tid, BPF_ANY), 0);
	CHECK(bpf_object_attach(obj, err, sizeof(err)) == 0, "attach: %s", err);
	bpf_nowned = 0;
	bpf_own_object(obj);

	for (int i = 0; i < 5; i++)
		sleep_ms(3);
	pid_t faulter = spawn_helper("null-write", NULL, NULL, NULL);
	CHECK(faulter > 0, "spawn null-write helper");
	expect_signal(wait_child(faulter, 10000), SIGSEGV, "null-write helper");
	sleep_ms(30);
	for (uint32_t i = 0; i < PROBE_N; i++)
		BPF_EXPECT(bpf_map_lookup_elem(probe, &i, &v[i]), 0);
	bpf_object_close(obj, 0);
	bpf_nowned = 0;

	CHECK(v[PROBE_IN] >= 5 && v[PROBE_OUT] >= 5, "switches to/from tid %llu: %llu in, %llu out over 5 sleeps",
	      (unsigned long long)tid, (unsigned long long)v[PROBE_IN], (unsigned long long)v[PROBE_OUT]);
	CHECK(v[PROBE_OUT_STATE] == 3 || v[PROBE_OUT_STATE] == 1, "state when leaving the CPU: %llu",
	      (unsigned long long)v[PROBE_OUT_STATE]);
	CHECK(v[PROBE_FAULT_ADDR] == 8 && v[PROBE_FAULT_PID] == (uint64_t)faulter,
	      "fault context addr %#llx pid %llu, expected 0x8 and %d", (unsigned long long)v[PROBE_FAULT_ADDR],
	      (unsigned long long)v[PROBE_FAULT_PID], faulter);
	CHECK((v[PROBE_FAULT_FLAGS] & (BPF_PF_WRITE | BPF_PF_USER)) == (BPF_PF_WRITE | BPF_PF_USER) &&
	      !(v[PROBE_FAULT_FLAGS] & BPF_PF_EXEC), "fault flags %#llx for a user write",
	      (unsigned long long)v[PROBE_FAULT_FLAGS]);
	ssize_t n = read_file("/proc/cpus", cpus, sizeof(cpus));
	int ncpus = -1;   /* lines after the header */
	for (ssize_t i = 0; i < n; i++)
		ncpus += cpus[i] == '\n';
	CHECK(v[PROBE_TICK_CPU_MAX] >= 1 && v[PROBE_TICK_CPU_MAX] <= (uint64_t)ncpus,
	      "ticks came from cpu up to %llu, /proc/cpus has %d", (unsigned long long)v[PROBE_TICK_CPU_MAX] - 1,
	      ncpus);
	CHECK(v[PROBE_TICK_BAD] == 0, "%llu ticks did not advance their CPU's count",
	      (unsigned long long)v[PROBE_TICK_BAD]);
}

/* ======================================================= inheritance */

/* a spawned child shares the open file description, and so the offset */
static void test_spawn_inherit_offset(void)
{
	char fdbuf[12];

	use_scratch();
	write_file("f", "0123456789", 10, 0644);
	int fd = (int)OK(open("f", O_RDONLY));
	OK(lseek(fd, 3, SEEK_SET));
	fd_str(fdbuf, sizeof(fdbuf), fd);
	expect_exit(run_helper("readat", fdbuf, "34", NULL), 0, "child reading the inherited fd at offset 3");
	CHECK(OK(lseek(fd, 0, SEEK_CUR)) == 5, "parent offset %ld after the child read 2 bytes",
	      lseek(fd, 0, SEEK_CUR));
	OK(close(fd));
	/* a closed fd is not inherited */
	expect_exit(run_helper("readat", fdbuf, "34", NULL), 1, "child reading a closed fd");
}

static void test_spawn_cwd(void)
{
	char want[AX_PATH_MAX];

	use_scratch();
	OK(mkdir("sub", 0755));
	OK(chdir("sub"));
	snprintf(want, sizeof(want), "%s/sub", scratch_dir);
	expect_exit(run_helper("cwd", want, NULL, NULL), 0, "child in the parent's cwd");
	OK(chdir("/"));
	expect_exit(run_helper("cwd", "/", NULL, NULL), 0, "child at /");
}

/* ========================================================== helpers */

static int atoi_arg(char **argv, int i)
{
	return argv[i] ? atoi(argv[i]) : -1;
}

static void spin_until_deadline(void)
{
	int64_t deadline = now_ns() + HELPER_DEADLINE_MS * 1000000LL;

	while (now_ns() < deadline)
		;
}

static volatile int keep_recursing = 1;

/* Eats the stack 1 KiB per call until it hits the guard. */
static int recurse(volatile char *prev)
{
	volatile char frame[1024];

	frame[0] = prev ? prev[0] + 1 : 0;
	if (!keep_recursing)
		return frame[0];
	return recurse(frame) + frame[1];
}

static void idle_thread(void *arg)
{
	(void)arg;
	spin_until_deadline();
}

static void blocked_thread(void *arg)
{
	char c;

	(void)arg;
	read(stress_pipe[0], &c, 1);	/* this process holds the write end: blocks forever */
}

static void counting_done_thread(void *arg)
{
	__atomic_fetch_add((volatile int *)arg, 1, __ATOMIC_SEQ_CST);
}

#if defined(__x86_64__)
static const unsigned char ret_code[] = { 0xc3 };				/* ret */
#elif defined(__aarch64__)
static const unsigned char ret_code[] = { 0xc0, 0x03, 0x5f, 0xd6 };	/* ret */
#else
static const unsigned char ret_code[] = { 0x67, 0x80, 0x00, 0x00 };	/* jalr x0, 0(ra) */
#endif
static unsigned char data_code[64] __attribute__((aligned(16))) = { 1 };

static void call_code(void *p)
{
	memcpy(p, ret_code, sizeof(ret_code));
	((void (*)(void))p)();
}

/* Child programs used by the tests ("selftest -h NAME ARGS"). The exit
 * status is the helper's answer; a helper that should have been killed
 * exits with 3. */
static int helper(int argc, char **argv)
{
	const char *name = argv[2];
	static char label[48];

	snprintf(label, sizeof(label), "(helper %s)", name);
	cur_test = label;
	int a1 = argc > 3 ? atoi_arg(argv, 3) : -1;
	int a2 = argc > 4 ? atoi_arg(argv, 4) : -1;
	size_t pg = getpagesize();

	if (strcmp(name, "exit") == 0)
		return a1;
	if (strcmp(name, "sleep") == 0)
		return sleep_ms(a1) == 0 ? 0 : 2;
	if (strcmp(name, "spin") == 0) {
		spin_until_deadline();
		return 3;
	}
	if (strcmp(name, "yield") == 0) {
		for (int i = 0; i < a1; i++)
			if (sched_yield() != 0)
				return 1;
		return 0;
	}
	if (strcmp(name, "ids") == 0 || strcmp(name, "ids-late") == 0) {	/* ids WFD [RFD] */
		int ids[2];
		if (a2 >= 0)
			close(a2);
		if (strcmp(name, "ids-late") == 0)
			sleep_ms(200);	/* let the parent exit first */
		ids[0] = getpid();
		ids[1] = getppid();
		return write(a1, ids, sizeof(ids)) == sizeof(ids) ? 0 : 1;
	}
	if (strcmp(name, "orphan") == 0) {	/* orphan WFD RFD */
		close(a2);
		char *gargv[] = { "selftest", "-h", "ids-late", argv[3], NULL };
		return spawn(self_path, gargv, environ) > 0 ? 0 : 1;
	}
	if (strcmp(name, "args") == 0) {
		const char *env = getenv("SELFTEST_ENV");
		return !(argc == 6 && strcmp(argv[3], "a") == 0 && strcmp(argv[4], "b c") == 0 &&
			 strcmp(argv[5], "") == 0 && env && strcmp(env, "yes") == 0 && getenv("OTHER") &&
			 !getenv("PATH"));
	}
	if (strcmp(name, "noenv") == 0)
		return !(argc == 3 && environ && environ[0] == NULL);
	if (strcmp(name, "readat") == 0) {	/* readat FD EXPECTED */
		char buf[32] = { 0 };
		size_t n = strlen(argv[4]);
		return read(a1, buf, n) == (ssize_t)n && memcmp(buf, argv[4], n) == 0 ? 0 : 1;
	}
	if (strcmp(name, "cwd") == 0) {		/* cwd EXPECTED */
		char buf[AX_PATH_MAX];
		return getcwd(buf, sizeof(buf)) && strcmp(buf, argv[3]) == 0 ? 0 : 1;
	}
	if (strcmp(name, "late-write") == 0) {	/* late-write WFD RFD MS */
		close(a2);
		sleep_ms(atoi_arg(argv, 5));
		return write(a1, "late", 4) == 4 ? 0 : 1;
	}
	if (strcmp(name, "pipe-check") == 0) {	/* pipe-check RFD WFD LEN */
		unsigned char buf[4096];
		long want = atoi_arg(argv, 5), got = 0;
		ssize_t n;
		close(a2);
		while ((n = read(a1, buf, sizeof(buf))) > 0) {
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != (unsigned char)((got + i) * 13 + 5))
					return 4;
			got += n;
		}
		return n < 0 ? 2 : got == want ? 0 : 1;
	}
	if (strcmp(name, "block-read") == 0) {	/* block-read RFD: nobody writes */
		char c;
		read(a1, &c, 1);
		return 3;
	}
	if (strcmp(name, "block-wait") == 0) {
		char *gargv[] = { "selftest", "-h", "sleep", "3000", NULL };
		pid_t pid = spawn(self_path, gargv, environ);
		waitpid(pid, NULL, 0);
		return 3;
	}
	if (strcmp(name, "exec-exit7") == 0) {
		char *eargv[] = { "selftest", "-h", "exit", "7", NULL };
		execve(self_path, eargv, environ);
		return 3;
	}
	if (strcmp(name, "exec-ids") == 0) {	/* exec-ids WFD RFD */
		char *eargv[] = { "selftest", "-h", "ids", argv[3], argv[4], NULL };
		execve(self_path, eargv, environ);
		return 3;
	}
	if (strcmp(name, "null-read") == 0)
		return *(volatile int *)0 + 3;
	if (strcmp(name, "null-write") == 0) {
		*(volatile int *)8 = 1;
		return 3;
	}
	if (strcmp(name, "kernel-read") == 0)
		return *(volatile int *)0xffff800000000000UL + 3;
	if (strcmp(name, "write-text") == 0) {
		*(volatile unsigned char *)(uintptr_t)&helper = 0;
		return 3;
	}
	if (strcmp(name, "write-rodata") == 0) {
		*(volatile unsigned char *)(uintptr_t)ret_code = 0;
		return 3;
	}
	if (strcmp(name, "exec-heap") == 0) {
		call_code(map_pages(1));
		return 3;
	}
	if (strcmp(name, "exec-data") == 0) {
		call_code(data_code);
		return 3;
	}
	if (strcmp(name, "exec-stack") == 0) {
		unsigned char code[64] __attribute__((aligned(16)));
		call_code(code);
		return 3;
	}
	if (strcmp(name, "recurse") == 0)
		return recurse(NULL) ? 3 : 4;
	if (strcmp(name, "illegal") == 0) {
#if defined(__x86_64__)
		__asm__ volatile("ud2");
#elif defined(__aarch64__)
		__asm__ volatile("udf #0");
#else
		__asm__ volatile("unimp");
#endif
		return 3;
	}
#if defined(__x86_64__)
	if (strcmp(name, "divide") == 0) {
		volatile int zero = 0;
		return 3 + 10 / zero;
	}
#endif
	if (strcmp(name, "munmap-access") == 0) {
		volatile unsigned char *p = map_pages(3);
		p[0] = p[pg] = p[2 * pg] = 1;
		if (munmap((void *)(p + pg), pg) != 0)
			return 4;
		p[0] = p[2 * pg] = 2;	/* the neighbours stay */
		p[pg] = 3;
		return 3;
	}
	if (strcmp(name, "readonly-write") == 0) {
		volatile unsigned char *p = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED || p[0] != 0)
			return 4;
		p[0] = 1;
		return 3;
	}
	if (strcmp(name, "prot-none") == 0) {
		volatile unsigned char *p = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 4;
		return p[0] + 3;
	}
	if (strcmp(name, "thread-exit") == 0) {
		void *stack = map_pages(4);
		if (thread_create(idle_thread, NULL, stack, 4 * pg) < 0)
			return 4;
		sleep_ms(20);
		exit(5);
	}
	if (strcmp(name, "thread-bad-entry") == 0) {
		void *stack = map_pages(4);
		long r = syscall(SYS_thread_create, 0, (long)stack + 4 * (long)pg, 0, 0, 0, 0);
		if (r < 0)
			return 0;	/* refused up front: fine */
		sleep_ms(2000);
		return 3;
	}
	if (strcmp(name, "fs-worker") == 0) {	/* fs-worker DIR ID */
		char a[32], b[32], buf[32];
		if (chdir(argv[3]) < 0)
			return 2;
		for (int i = 0; i < 100; i++) {
			snprintf(a, sizeof(a), "w%s-%d", argv[4], i);
			snprintf(b, sizeof(b), "w%s-%d.renamed", argv[4], i);
			int fd = open(a, O_RDWR | O_CREAT | O_EXCL, 0644);
			if (fd < 0 || write(fd, a, strlen(a)) != (ssize_t)strlen(a) || close(fd) < 0)
				return 3;
			if (rename(a, b) < 0)
				return 4;
			fd = open(b, O_RDONLY);
			ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
			if (n != (ssize_t)strlen(a) || memcmp(buf, a, (size_t)n) != 0 || close(fd) < 0)
				return 5;
			if (unlink(b) < 0)
				return 6;
		}
		return 0;
	}
	if (strcmp(name, "pipe-writer") == 0) {	/* pipe-writer WFD RFD ID */
		char chunk[512];
		close(a2);
		memset(chunk, atoi_arg(argv, 5), sizeof(chunk));
		for (int i = 0; i < 8192 / (int)sizeof(chunk); i++)
			for (size_t off = 0; off < sizeof(chunk);) {
				ssize_t n = write(a1, chunk + off, sizeof(chunk) - off);
				if (n <= 0)
					return 1;
				off += (size_t)n;
			}
		return 0;
	}
	if (strcmp(name, "thread-blocked-exit") == 0) {
		void *stack = map_pages(4);
		if (pipe(stress_pipe) < 0 || thread_create(blocked_thread, NULL, stack, 4 * pg) < 0)
			return 4;
		sleep_ms(50);	/* the thread is now asleep in read */
		exit(6);
	}
	if (strcmp(name, "thread-exec") == 0) {
		void *stack = map_pages(4);
		if (thread_create(idle_thread, NULL, stack, 4 * pg) < 0)
			return 4;
		sleep_ms(20);
		char *eargv[] = { "selftest", "-h", "exit", "9", NULL };
		execve(self_path, eargv, environ);
		return 100 + errno;
	}
	if (strcmp(name, "threads-exit") == 0) {	/* create and finish 20 threads */
		static volatile int finished;
		void *stack = map_pages(4);
		for (int i = 0; i < 20; i++) {
			int before = finished;
			if (thread_create(counting_done_thread, (void *)&finished, stack, 4 * pg) < 0)
				return 4;
			int64_t deadline = now_ns() + 10000000000LL;
			while (finished == before)
				if (now_ns() > deadline)
					return 5;
			sleep_ms(2);	/* let it leave the stack before it is reused */
		}
		return 0;
	}
	printf("selftest: unknown helper %s\n", name);
	return 126;
}

/* ============================================================= runner */

struct test {
	const char *name;
	void (*fn)(void);
};

#define T(name) { #name, test_##name }
static const struct test tests[] = {
	T(console_write), T(devnull), T(devzero), T(initramfs), T(file_rw), T(lseek),
	T(open_creat_excl), T(open_trunc), T(open_append), T(open_directory), T(open_accmode),
	T(dup_offset), T(dup2), T(spawn_inherit_offset), T(close), T(emfile), T(stat_modes),
	T(ftruncate), T(large_file), T(many_files),
	T(getdents_root), T(getdents_dev), T(getdents_proc), T(getdents_small),
	T(mkdir_rmdir), T(unlink), T(unlink_open), T(rename), T(paths), T(chdir_getcwd),
	T(spawn_cwd), T(name_too_long),
	T(pipe_basic), T(pipe_eof), T(pipe_epipe), T(pipe_block), T(pipe_big),
	T(spawn_exit_status), T(spawn_args_env), T(spawn_errors), T(getpid_getppid), T(waitpid),
	T(many_children), T(orphan_reparent), T(exec),
	T(fault_null), T(fault_kernel_addr), T(fault_write_text), T(fault_exec_data),
	T(fault_stack_overflow), T(fault_illegal),
#if defined(__x86_64__)
	T(fault_divide),
#endif
	T(kill), T(kill_blocked),
	T(mmap_anon), T(mmap_errors), T(mmap_protection), T(malloc),
	T(clock), T(nanosleep), T(sched_yield), T(uname), T(threads), T(poweroff_eperm),
	T(fs_concurrent), T(pipe_writers), T(threads_stress), T(no_frame_leak),
	T(efault), T(enosys), T(enoexec),
	T(proc_files), T(kmsg), T(bpf_errors), T(bpf_policy),
	T(bpf_maps), T(bpf_test_run), T(bpf_elf_loader), T(bpf_elf_policy), T(bpf_elf_syscount),
	T(bpf_attach_points), T(bpf_attach_contexts),
};
#define NTESTS ((int)(sizeof(tests) / sizeof(tests[0])))

static const struct test *find_test(const char *name)
{
	for (int i = 0; i < NTESTS; i++)
		if (strcmp(tests[i].name, name) == 0)
			return &tests[i];
	return NULL;
}

/* Runs one test in a child process; returns 1 if it passed. */
static int run_test(const struct test *t)
{
	char *argv[] = { "selftest", "-t", (char *)t->name, NULL };
	char scratch[AX_PATH_MAX], d[48];
	int status = 0;

	pid_t pid = spawn(self_path, argv, environ);
	if (pid < 0) {
		printf("selftest: %s FAILED: cannot spawn the test process: %s\n", t->name, strerror(errno));
		return 0;
	}
	int64_t deadline = now_ns() + TEST_TIMEOUT_MS * 1000000LL;
	long nap = 1;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0) {
			printf("selftest: %s FAILED: waitpid: %s\n", t->name, strerror(errno));
			return 0;
		}
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			printf("selftest: %s FAILED: timed out after %d s\n", t->name, TEST_TIMEOUT_MS / 1000);
			return 0;
		}
		sleep_ms(nap);
		if (nap < 16)
			nap *= 2;
	}
	snprintf(scratch, sizeof(scratch), "/tmp/st-%s", t->name);
	rm_rf(scratch);
	if (WIFEXITED(status) && WEXITSTATUS(status) == PASS_CODE) {
		printf("selftest: %s ok\n", t->name);
		return 1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		return 0;	/* the test printed its FAILED line */
	describe_status(d, sizeof(d), status);
	printf("selftest: %s FAILED: test process %s\n", t->name, d);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 0)
		return 2;	/* spawned without arguments: nothing sensible to do */
	if (argv[0][0] == '/')
		self_path = argv[0];
	if (argc >= 3 && strcmp(argv[1], "-h") == 0)
		return helper(argc, argv);
	if (argc == 3 && strcmp(argv[1], "-t") == 0) {
		const struct test *t = find_test(argv[2]);
		if (!t) {
			printf("selftest: unknown test %s\n", argv[2]);
			return 2;
		}
		cur_test = t->name;
		t->fn();
		return PASS_CODE;
	}
	if (argc == 2 && strcmp(argv[1], "-l") == 0) {
		for (int i = 0; i < NTESTS; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}

	int passed = 0, failed = 0;
	printf("selftest: running %d tests\n", argc > 1 ? argc - 1 : NTESTS);
	for (int i = 1; i < argc; i++) {
		const struct test *t = find_test(argv[i]);
		if (!t) {
			printf("selftest: %s FAILED: no such test\n", argv[i]);
			failed++;
		} else if (run_test(t)) {
			passed++;
		} else {
			failed++;
		}
	}
	for (int i = 0; argc == 1 && i < NTESTS; i++) {
		if (run_test(&tests[i]))
			passed++;
		else
			failed++;
	}
	printf("selftest: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

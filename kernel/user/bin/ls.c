/* ls [-l] [PATH...]: lists directories (getdents) and files (stat). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int long_format;

static char type_char(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return 'd';
	case S_IFCHR: return 'c';
	case S_IFIFO: return 'p';
	case S_IFREG: return '-';
	default: return '?';
	}
}

static void show(const char *path, const char *name)
{
	struct ax_stat st;

	if (!long_format) {
		printf("%s\n", name);
		return;
	}
	if (stat(path, &st) < 0) {
		printf("?????????? %10s %s (%s)\n", "?", name, strerror(errno));
		return;
	}
	char perm[11];
	perm[0] = type_char(st.st_mode);
	for (int i = 0; i < 9; i++)
		perm[1 + i] = (st.st_mode >> (8 - i)) & 1 ? "rwxrwxrwx"[i] : '-';
	perm[10] = 0;
	printf("%s %3u %10lu %s\n", perm, st.st_nlink, (unsigned long)st.st_size, name);
}

static int list(const char *path)
{
	struct ax_stat st;
	char buf[2048];
	char full[AX_PATH_MAX];

	if (stat(path, &st) < 0) {
		dprintf(2, "ls: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		show(path, path);
		return 0;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		dprintf(2, "ls: %s: %s\n", path, strerror(errno));
		return 1;
	}
	ssize_t n;
	while ((n = getdents(fd, (struct ax_dirent *)buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct ax_dirent *d = (struct ax_dirent *)(buf + off);
			if (d->d_reclen == 0)
				break;
			snprintf(full, sizeof(full), "%s%s%s", path,
				 path[strlen(path) - 1] == '/' ? "" : "/", d->d_name);
			show(full, d->d_name);
			off += d->d_reclen;
		}
	}
	if (n < 0)
		dprintf(2, "ls: %s: %s\n", path, strerror(errno));
	close(fd);
	return n < 0;
}

int main(int argc, char **argv)
{
	int i = 1, status = 0;

	if (i < argc && strcmp(argv[i], "-l") == 0) {
		long_format = 1;
		i++;
	}
	if (i == argc)
		return list(".");
	for (; i < argc; i++) {
		if (argc - i > 1 || i > 2)
			printf("%s:\n", argv[i]);
		status |= list(argv[i]);
	}
	return status;
}

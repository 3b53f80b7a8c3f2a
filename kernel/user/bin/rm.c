/* rm [-r] PATH...: removes files; with -r also directories and their contents. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int recursive;

static int remove_path(const char *path)
{
	struct ax_stat st;

	if (stat(path, &st) < 0) {
		dprintf(2, "rm: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0) {
			dprintf(2, "rm: %s: %s\n", path, strerror(errno));
			return 1;
		}
		return 0;
	}
	if (!recursive) {
		dprintf(2, "rm: %s: is a directory (use -r)\n", path);
		return 1;
	}
	/* Remove entries one getdents batch at a time, re-reading from the
	 * start each time since the directory changes under us. */
	int status = 0;
	for (;;) {
		char buf[1024], child[AX_PATH_MAX];
		int fd = open(path, O_RDONLY | O_DIRECTORY);
		if (fd < 0) {
			dprintf(2, "rm: %s: %s\n", path, strerror(errno));
			return 1;
		}
		ssize_t n = getdents(fd, (struct ax_dirent *)buf, sizeof(buf));
		close(fd);
		int removed = 0;
		for (ssize_t off = 0; off < n;) {
			struct ax_dirent *d = (struct ax_dirent *)(buf + off);
			if (d->d_reclen == 0)
				break;
			off += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			snprintf(child, sizeof(child), "%s/%s", path, d->d_name);
			if (remove_path(child) == 0)
				removed++;
			else
				status = 1;
		}
		if (n <= 0 || removed == 0)
			break;
	}
	if (rmdir(path) < 0) {
		dprintf(2, "rm: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return status;
}

int main(int argc, char **argv)
{
	int i = 1, status = 0;

	if (i < argc && strcmp(argv[i], "-r") == 0) {
		recursive = 1;
		i++;
	}
	if (i == argc) {
		dprintf(2, "usage: rm [-r] PATH...\n");
		return 2;
	}
	for (; i < argc; i++)
		status |= remove_path(argv[i]);
	return status;
}

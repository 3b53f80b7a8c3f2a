/* ps: prints the kernel's process list (/proc/processes). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char buf[1024];
	ssize_t n;
	int fd = open("/proc/processes", O_RDONLY);

	if (fd < 0) {
		dprintf(2, "ps: /proc/processes: %s\n", strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		write(1, buf, (size_t)n);
	close(fd);
	if (n < 0) {
		dprintf(2, "ps: read: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

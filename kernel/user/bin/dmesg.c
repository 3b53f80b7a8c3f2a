/* dmesg: prints the kernel log records available in /dev/kmsg. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char buf[1024];
	ssize_t n;
	int fd = open("/dev/kmsg", O_RDONLY);

	if (fd < 0) {
		dprintf(2, "dmesg: /dev/kmsg: %s\n", strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		write(1, buf, (size_t)n);
	if (n < 0) {
		dprintf(2, "dmesg: read: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

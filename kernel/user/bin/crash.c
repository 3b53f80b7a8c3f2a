/* crash KIND: asks the kernel to crash itself by writing KIND to /dev/crash
 * (null, write-text, stack-overflow, undefined, divide, assert, lockup, panic). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		dprintf(2, "usage: crash null|write-text|stack-overflow|undefined|divide|assert|lockup|panic\n");
		return 2;
	}
	int fd = open("/dev/crash", O_WRONLY);
	if (fd < 0) {
		dprintf(2, "crash: /dev/crash: %s\n", strerror(errno));
		return 1;
	}
	printf("crash: injecting %s\n", argv[1]);
	if (write(fd, argv[1], strlen(argv[1])) < 0) {
		dprintf(2, "crash: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* a crash that is not immediate (lockup) is caught by the watchdog */
	printf("crash: write returned; the kernel is still running\n");
	return 0;
}

/*
 * dmesg [-r]: prints the kernel log records in /dev/kmsg. Each read returns
 * one record "level,seq,usec,cpu,pid;text"; dmesg shows it as the console
 * does, "[    s.uuuuuu] text", or unchanged with -r.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void show(char *rec, int raw)
{
	char *semi = strchr(rec, ';');
	unsigned long field[5];
	char *p = rec;
	int i = 0;

	if (raw || !semi) {
		printf("%s", rec);
		return;
	}
	for (; i < 5 && p < semi; i++) {
		field[i] = strtoul(p, &p, 10);
		if (*p == ',')
			p++;
	}
	if (i < 3) {
		printf("%s", rec);
		return;
	}
	printf("[%5lu.%06lu] %s", field[2] / 1000000, field[2] % 1000000, semi + 1);
}

int main(int argc, char **argv)
{
	char rec[1100];
	ssize_t n;
	int raw = argc > 1 && strcmp(argv[1], "-r") == 0;
	int fd = open("/dev/kmsg", O_RDONLY);

	if (fd < 0) {
		dprintf(2, "dmesg: /dev/kmsg: %s\n", strerror(errno));
		return 1;
	}
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0) {
		rec[n] = 0;
		show(rec, raw);
	}
	if (n < 0) {
		dprintf(2, "dmesg: read: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

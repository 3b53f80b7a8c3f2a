/*
 * ps: the kernel's process list (/proc/processes) as aligned columns. The
 * file is whitespace-separated text with a header line; ps pads every
 * column to its widest entry (numbers right-aligned) without needing to
 * know which columns there are.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_COLS 16
#define MAX_ROWS 256

static char text[16384];
static char *cells[MAX_ROWS][MAX_COLS];
static int ncols[MAX_ROWS];

static int numeric(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit(*s))
			return 0;
	return 1;
}

int main(void)
{
	int fd = open("/proc/processes", O_RDONLY);
	ssize_t len = 0, n;

	if (fd < 0) {
		dprintf(2, "ps: /proc/processes: %s\n", strerror(errno));
		return 1;
	}
	while (len < (ssize_t)sizeof(text) - 1 && (n = read(fd, text + len, sizeof(text) - 1 - (size_t)len)) > 0)
		len += n;
	close(fd);
	text[len] = 0;

	int rows = 0, width[MAX_COLS] = { 0 };
	for (char *line = text; *line && rows < MAX_ROWS;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		int c = 0;
		for (char *p = line; *p && c < MAX_COLS;) {
			while (*p == ' ' || *p == '\t')
				*p++ = 0;
			if (!*p)
				break;
			/* the last column takes the rest of the line (names may have spaces) */
			cells[rows][c] = p;
			if (c == MAX_COLS - 1)
				break;
			while (*p && *p != ' ' && *p != '\t')
				p++;
			c++;
		}
		if (c > 0) {
			ncols[rows] = c;
			for (int i = 0; i < c; i++) {
				int w = (int)strlen(cells[rows][i]);
				if (w > width[i])
					width[i] = w;
			}
			rows++;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	/* a column is numeric if its first data row is: right-align it */
	int numeric_col[MAX_COLS] = { 0 };
	for (int i = 0; rows > 1 && i < ncols[1]; i++)
		numeric_col[i] = numeric(cells[1][i]);
	for (int r = 0; r < rows; r++) {
		for (int i = 0; i < ncols[r]; i++) {
			int last = i == ncols[r] - 1;
			if (numeric_col[i])
				printf("%*s", width[i], cells[r][i]);
			else
				printf("%-*s", last ? 0 : width[i], cells[r][i]);
			printf("%s", last ? "" : "  ");
		}
		printf("\n");
	}
	return 0;
}

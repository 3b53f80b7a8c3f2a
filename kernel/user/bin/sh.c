/*
 * sh: a small shell on the console. Reads a line, splits it into words
 * (with '...' and "..." quoting), runs the command with spawn and waits.
 * Builtins: cd, pwd, exit, help. Redirections: > FILE, >> FILE, < FILE.
 * A command without '/' is looked up in /bin. When standard input is the
 * console the shell echoes and edits the line itself (backspace, ^U, ^C).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX 4096
#define MAX_WORDS 64

static int interactive;
static int last_status;

/* Reads one line into buf (without the newline). Returns its length, or
 * -1 at end of input. */
static int read_line(char *buf, int size)
{
	int n = 0;

	for (;;) {
		char c;
		ssize_t r = read(0, &c, 1);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (n == 0)
				return -1;
			break;
		}
		if (c == '\r' || c == '\n') {
			if (interactive)
				write(1, "\n", 1);
			break;
		}
		if (!interactive) {
			if (n < size - 1)
				buf[n++] = c;
			continue;
		}
		if (c == 0x7f || c == '\b') {
			if (n > 0) {
				n--;
				write(1, "\b \b", 3);
			}
		} else if (c == 0x15) {		/* ^U: erase the line */
			for (; n > 0; n--)
				write(1, "\b \b", 3);
		} else if (c == 0x03) {		/* ^C: abandon the line */
			write(1, "^C\n", 3);
			n = 0;
			buf[0] = 0;
			return 0;
		} else if (c == 0x04) {		/* ^D on an empty line: end of input */
			if (n == 0)
				return -1;
		} else if (c >= 0x20 && n < size - 1) {
			buf[n++] = c;
			write(1, &c, 1);
		}
	}
	buf[n] = 0;
	return n;
}

/* Splits line in place into words. Returns the count, -1 on bad quoting. */
static int split(char *line, char **words, int max)
{
	int count = 0;
	char *in = line, *out = line;

	for (;;) {
		while (*in == ' ' || *in == '\t')
			in++;
		if (!*in || *in == '#')
			break;
		if (count == max - 1)
			return -1;
		words[count++] = out;
		while (*in && *in != ' ' && *in != '\t') {
			if (*in == '\'' || *in == '"') {
				char q = *in++;
				while (*in && *in != q)
					*out++ = *in++;
				if (*in != q)
					return -1;
				in++;
			} else {
				*out++ = *in++;
			}
		}
		if (*in)
			in++;
		*out++ = 0;
	}
	words[count] = NULL;
	return count;
}

/* Applies the redirections in words (removing them). Saves the original
 * descriptors in saved[0..2] (or -1) so restore() can put them back. */
static int redirect(char **words, int *count, int saved[3])
{
	int j = 0;

	for (int i = 0; i < *count; i++) {
		const char *w = words[i];
		int target, flags;
		if (strcmp(w, ">") == 0) {
			target = 1;
			flags = O_WRONLY | O_CREAT | O_TRUNC;
		} else if (strcmp(w, ">>") == 0) {
			target = 1;
			flags = O_WRONLY | O_CREAT | O_APPEND;
		} else if (strcmp(w, "<") == 0) {
			target = 0;
			flags = O_RDONLY;
		} else {
			words[j++] = words[i];
			continue;
		}
		if (i + 1 >= *count) {
			dprintf(2, "sh: %s: missing file name\n", w);
			return -1;
		}
		const char *file = words[++i];
		int fd = open(file, flags, 0644);
		if (fd < 0) {
			dprintf(2, "sh: %s: %s\n", file, strerror(errno));
			return -1;
		}
		if (saved[target] < 0)
			saved[target] = dup(target);
		dup2(fd, target);
		close(fd);
	}
	words[j] = NULL;
	*count = j;
	return 0;
}

static void restore(int saved[3])
{
	for (int fd = 0; fd < 3; fd++) {
		if (saved[fd] >= 0) {
			dup2(saved[fd], fd);
			close(saved[fd]);
			saved[fd] = -1;
		}
	}
}

static int builtin(char **words, int count)
{
	char cwd[AX_PATH_MAX];

	if (strcmp(words[0], "cd") == 0) {
		const char *dir = count > 1 ? words[1] : getenv("HOME") ? getenv("HOME") : "/";
		if (chdir(dir) < 0) {
			dprintf(2, "cd: %s: %s\n", dir, strerror(errno));
			last_status = 1;
		} else {
			last_status = 0;
		}
		return 1;
	}
	if (strcmp(words[0], "pwd") == 0) {
		if (getcwd(cwd, sizeof(cwd)))
			printf("%s\n", cwd);
		else
			dprintf(2, "pwd: %s\n", strerror(errno));
		return 1;
	}
	if (strcmp(words[0], "exit") == 0)
		exit(count > 1 ? atoi(words[1]) : last_status);
	if (strcmp(words[0], "help") == 0) {
		printf("builtins: cd [DIR], pwd, exit [N], help; redirections: > >> <\n"
		       "commands: ls /bin\n");
		return 1;
	}
	return 0;
}

static void run(char **words)
{
	char path[AX_PATH_MAX];
	int status;

	if (strchr(words[0], '/'))
		snprintf(path, sizeof(path), "%s", words[0]);
	else
		snprintf(path, sizeof(path), "/bin/%s", words[0]);
	pid_t pid = spawn(path, words, environ);
	if (pid < 0) {
		dprintf(2, "sh: %s: %s\n", words[0], strerror(errno));
		last_status = 127;
		return;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			dprintf(2, "sh: waitpid: %s\n", strerror(errno));
			return;
		}
	}
	if (WIFSIGNALED(status)) {
		dprintf(2, "sh: %s: killed by signal %d\n", words[0], WTERMSIG(status));
		last_status = 128 + WTERMSIG(status);
	} else {
		last_status = WEXITSTATUS(status);
	}
}

int main(void)
{
	struct ax_stat st;
	char line[LINE_MAX];
	char *words[MAX_WORDS];

	interactive = fstat(0, &st) == 0 && S_ISCHR(st.st_mode);
	for (;;) {
		if (interactive) {
			char cwd[AX_PATH_MAX];
			printf("%s$ ", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
		}
		int len = read_line(line, sizeof(line));
		if (len < 0)
			break;
		int count = split(line, words, MAX_WORDS);
		if (count < 0) {
			dprintf(2, "sh: syntax error\n");
			continue;
		}
		int saved[3] = { -1, -1, -1 };
		if (count > 0 && redirect(words, &count, saved) == 0 && count > 0 &&
		    !builtin(words, count))
			run(words);
		restore(saved);
	}
	return last_status;
}

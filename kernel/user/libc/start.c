/* Process start-up: _start (crt0.S) passes the initial stack pointer.
 * Layout: argc, argv[0..argc-1], NULL, envp[...], NULL, auxv pairs, AT_NULL. */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv, char **envp);

char **environ;
unsigned long __auxv[AT_ENTRY + 1];	/* the auxv values we understand, by type */

_Noreturn void __libc_start(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	char **p = envp;

	while (*p)
		p++;
	for (unsigned long *aux = (unsigned long *)(p + 1); aux[0] != AT_NULL; aux += 2)
		if (aux[0] <= AT_ENTRY)
			__auxv[aux[0]] = aux[1];
	environ = envp;
	exit(main(argc, argv, envp));
}

/* riscv64 process entry. The kernel enters with sp pointing at argc
 * (argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL). Programs are
 * linked without relaxation, so gp is not used. */
	.section .text.start, "ax"
	.global _start
	.type _start, @function
_start:
	li fp, 0			/* outermost frame: backtraces stop here */
	li ra, 0
	mv a0, sp			/* __libc_start(initial stack) */
	andi sp, sp, -16
	call __libc_start
	unimp
	.size _start, . - _start
	.section .note.GNU-stack, "", @progbits

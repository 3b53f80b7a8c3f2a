/* aarch64 process entry. The kernel enters with sp pointing at argc
 * (argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL). */
	.section .text.start, "ax"
	.global _start
	.type _start, %function
_start:
	mov x29, #0			/* outermost frame: backtraces stop here */
	mov x30, #0
	mov x0, sp			/* __libc_start(initial stack) */
	and x1, x0, #~15
	mov sp, x1
	bl __libc_start
	udf #0
	.size _start, . - _start
	.section .note.GNU-stack, "", %progbits

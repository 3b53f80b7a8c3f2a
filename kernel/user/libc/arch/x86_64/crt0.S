/* x86_64 process entry. The kernel enters with rsp pointing at argc
 * (argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL). */
	.section .text.start, "ax"
	.global _start
	.type _start, @function
_start:
	xor %ebp, %ebp			/* outermost frame: backtraces stop here */
	mov %rsp, %rdi			/* __libc_start(initial stack) */
	and $-16, %rsp
	call __libc_start
	ud2
	.size _start, . - _start
	.section .note.GNU-stack, "", @progbits

/* x86_64 system-call entry: number in rax, arguments in rdi rsi rdx r10 r8
 * r9, result in rax; the syscall instruction clobbers rcx and r11. */
#ifndef AXIOM_USER_SYSCALL_ARCH_H
#define AXIOM_USER_SYSCALL_ARCH_H

static inline long __syscall6(long n, long a0, long a1, long a2, long a3, long a4, long a5)
{
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	register long r9 __asm__("r9") = a5;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define ARCH_MACHINE "x86_64"

#endif

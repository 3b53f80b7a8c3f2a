/* riscv64 system-call entry: number in a7, arguments in a0..a5, result in
 * a0, via ecall. */
#ifndef AXIOM_USER_SYSCALL_ARCH_H
#define AXIOM_USER_SYSCALL_ARCH_H

static inline long __syscall6(long n, long a0, long a1, long a2, long a3, long a4, long a5)
{
	register long a7r __asm__("a7") = n;
	register long a0r __asm__("a0") = a0;
	register long a1r __asm__("a1") = a1;
	register long a2r __asm__("a2") = a2;
	register long a3r __asm__("a3") = a3;
	register long a4r __asm__("a4") = a4;
	register long a5r __asm__("a5") = a5;
	__asm__ volatile("ecall"
			 : "+r"(a0r)
			 : "r"(a7r), "r"(a1r), "r"(a2r), "r"(a3r), "r"(a4r), "r"(a5r)
			 : "memory");
	return a0r;
}

#define ARCH_MACHINE "riscv64"

#endif

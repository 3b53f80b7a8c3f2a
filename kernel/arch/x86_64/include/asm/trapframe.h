/*
 * asm/trapframe.h — the register frame every trap, interrupt and syscall
 * builds on the kernel stack (kernel/arch/x86_64/entry.S).
 *
 * The bottom five words (rip, cs, rflags, rsp, ss) are what the CPU pushes for an
 * interrupt or exception in 64-bit mode (Intel SDM vol. 3, 6.14.2, figure 6-9);
 * the syscall entry pushes the same five by hand so both paths share one frame
 * and one exit. `vector` is the IDT vector, or X86_VEC_SYSCALL for `syscall`.
 */
#ifndef AXIOM_ASM_TRAPFRAME_H
#define AXIOM_ASM_TRAPFRAME_H

#define X86_VEC_SYSCALL 0x100

#ifndef __ASSEMBLY__
#include <stdint.h>

struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error_code;
	/* pushed by the CPU (or by the syscall entry) */
	uint64_t rip, cs, rflags, rsp, ss;
};
#endif

/* byte offsets, used by entry.S */
#define TF_R11     (4 * 8)
#define TF_RBP     (8 * 8)
#define TF_RCX     (12 * 8)
#define TF_RAX     (14 * 8)
#define TF_VECTOR  (15 * 8)
#define TF_ERR     (16 * 8)
#define TF_RIP     (17 * 8)
#define TF_CS      (18 * 8)
#define TF_RFLAGS  (19 * 8)
#define TF_RSP     (20 * 8)
#define TF_SS      (21 * 8)
#define TF_SIZE    (22 * 8)

#endif

/*
 * asm/context.h — what arch_context_switch saves for a thread that is not
 * running: the SysV callee-saved registers, the stack pointer and the address
 * it resumes at. A debugger reads this to unwind a sleeping thread: start at
 * rip with frame pointer rbp.
 */
#ifndef AXIOM_ASM_CONTEXT_H
#define AXIOM_ASM_CONTEXT_H

#ifndef __ASSEMBLY__
#include <stdint.h>

struct arch_context {
	uint64_t rsp;
	uint64_t rbp;
	uint64_t rbx;
	uint64_t r12;
	uint64_t r13;
	uint64_t r14;
	uint64_t r15;
	uint64_t rip;
};
#endif

#define CTX_RSP 0
#define CTX_RBP 8
#define CTX_RBX 16
#define CTX_R12 24
#define CTX_R13 32
#define CTX_R14 40
#define CTX_R15 48
#define CTX_RIP 56

#endif

/*
 * asm/context.h — callee-saved registers kept across arch_context_switch
 * (RISC-V psABI: ra, sp, s0..s11).
 */
#ifndef ASM_CONTEXT_H
#define ASM_CONTEXT_H

#ifndef __ASSEMBLY__
#include <stdint.h>

struct arch_context {
	uint64_t ra;
	uint64_t sp;
	uint64_t s[12];               /* s0 is the frame pointer */
};
#endif

#endif

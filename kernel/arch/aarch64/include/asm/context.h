/*
 * asm/context.h — what arch_context_switch keeps for a thread that is not
 * running: the AAPCS64 callee-saved registers x19..x28, the frame pointer
 * x29, the link register x30 (where the switch returns to) and sp.
 * Offsets are used by entry.S.
 */
#ifndef ASM_CONTEXT_H
#define ASM_CONTEXT_H

#define CTX_X19 0
#define CTX_FP 80
#define CTX_LR 88
#define CTX_SP 96
#define CTX_SIZE 112

#ifndef __ASSEMBLY__
#include <stdint.h>

struct arch_context {
	uint64_t x19, x20, x21, x22, x23, x24, x25, x26, x27, x28;
	uint64_t fp;                  /* x29 */
	uint64_t lr;                  /* x30: resume address */
	uint64_t sp;
	uint64_t _pad;
};

_Static_assert(sizeof(struct arch_context) == CTX_SIZE, "arch_context layout");
#endif

#endif

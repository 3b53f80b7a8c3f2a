/*
 * asm/trapframe.h — registers saved by entry.S on every exception.
 *
 * Layout (offsets used by entry.S):
 *   x[0..30]   general registers (x29 = frame pointer, x30 = link register)
 *   sp         SP_EL0 when the exception came from EL0, else the
 *              interrupted SP_EL1
 *   pc         ELR_EL1: where the exception was taken (the faulting
 *              instruction for aborts, the instruction after an SVC)
 *   pstate     SPSR_EL1 (M[3:0] = 0 means the exception came from EL0t)
 *   esr, far   ESR_EL1 and FAR_EL1 at entry (Arm ARM D1.10, D17.2)
 *   frame[2]   an AAPCS64 frame record {fp, pc} that x29 points at while the
 *              handler runs, so frame-pointer unwinds continue through traps
 *              ({0, 0} for exceptions from EL0: the kernel chain ends there)
 */
#ifndef ASM_TRAPFRAME_H
#define ASM_TRAPFRAME_H

#define TF_X(n) ((n) * 8)
#define TF_SP (31 * 8)
#define TF_PC (32 * 8)
#define TF_PSTATE (33 * 8)
#define TF_ESR (34 * 8)
#define TF_FAR (35 * 8)
#define TF_FRAME (36 * 8)
#define TF_SIZE (38 * 8)              /* 304, a multiple of 16 */

#ifndef __ASSEMBLY__
#include <stdint.h>

struct trapframe {
	uint64_t x[31];
	uint64_t sp;
	uint64_t pc;
	uint64_t pstate;
	uint64_t esr;
	uint64_t far;
	uint64_t frame[2];
};

_Static_assert(sizeof(struct trapframe) == TF_SIZE, "trapframe layout");
#endif

#endif

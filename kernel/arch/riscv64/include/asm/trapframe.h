/*
 * asm/trapframe.h — registers saved by entry.S on every trap.
 * x[0] holds nothing (x0 is hard-wired zero); x[1] = ra, x[2] = sp, ...
 */
#ifndef ASM_TRAPFRAME_H
#define ASM_TRAPFRAME_H

#define TF_X(n) ((n) * 8)
#define TF_SEPC (32 * 8)
#define TF_SSTATUS (33 * 8)
#define TF_SCAUSE (34 * 8)
#define TF_STVAL (35 * 8)
#define TF_SIZE (36 * 8)              /* multiple of 16 */

#ifndef __ASSEMBLY__
#include <stdint.h>

struct trapframe {
	uint64_t x[32];               /* general registers; x[0] unused */
	uint64_t sepc;                /* pc of the trapping instruction */
	uint64_t sstatus;             /* SPP tells where we came from, SPIE the old SIE */
	uint64_t scause;
	uint64_t stval;
};

_Static_assert(sizeof(struct trapframe) == TF_SIZE, "trapframe layout");
#endif

#endif

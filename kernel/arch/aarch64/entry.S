/*
 * entry.S — aarch64 entry points: boot, secondary CPUs, exception vectors,
 * return to user, context switch.
 *
 * Boot: QEMU (-kernel with an ELF) starts the boot CPU at the physical
 * address of _start with the MMU off, x0 = physical address of the device
 * tree, at EL1 — or at EL2 with -M virt,virtualization=on, in which case we
 * configure EL2 just enough to run an AArch64 EL1 and drop there (Arm ARM
 * D1.6 "Exception return"; HCR_EL2 D19.2.46).
 *
 * Turning the MMU on (D8.2.12, "Enabling stage 1 translation"): TTBR0 holds
 * an identity map of the kernel text, TTBR1 the kernel tables, so the
 * instruction after the SCTLR_EL1 write is fetched through the identity map,
 * and an absolute branch then moves us to the higher half. TTBR0 is
 * replaced by an empty table once nothing runs at a physical address.
 */
#include <asm/config.h>
#include <asm/trapframe.h>
#include <asm/context.h>

	.cfi_sections .debug_frame

	.section .text.boot, "ax"
	.globl _start
_start:
	mov x19, x0                     /* DTB */
	bl el2_to_el1
	msr daifset, #0xf
	adrp x9, a64_boot_stacks        /* physical address here (PC-relative) */
	add x9, x9, :lo12:a64_boot_stacks
	add sp, x9, #A64_BOOT_STACK_SIZE
	mov x29, #0

	/* Zero .bss. */
	adrp x9, __bss_start
	add x9, x9, :lo12:__bss_start
	adrp x10, __bss_end
	add x10, x10, :lo12:__bss_end
1:	cmp x9, x10
	b.hs 2f
	str xzr, [x9], #8
	b 1b
2:
	mov x0, x19
	bl a64_early_init               /* parse the DTB, build the tables (MMU off) */
	bl mmu_on
	ldr x9, =boot_high
	br x9

/*
 * Secondary CPUs start here through PSCI CPU_ON: MMU off, physical address,
 * x0 = the context id = our logical CPU number.
 */
	.globl a64_secondary_entry
a64_secondary_entry:
	mov x19, x0
	bl el2_to_el1
	msr daifset, #0xf
	bl mmu_on
	ldr x9, =secondary_high
	br x9

/*
 * If we run at EL2, set it up for an AArch64 EL1 without stage 2 and eret
 * to the caller at EL1h with DAIF masked. Clobbers x9.
 */
el2_to_el1:
	mrs x9, CurrentEL
	ubfx x9, x9, #2, #2
	cmp x9, #2
	b.ne 1f
	mov x9, #(1 << 31)              /* HCR_EL2.RW: EL1 is AArch64; VM=0: no stage 2, no traps */
	msr hcr_el2, x9
	mrs x9, cnthctl_el2
	orr x9, x9, #3                  /* EL1PCTEN | EL1PCEN: EL1 may use the physical counter/timer */
	msr cnthctl_el2, x9
	msr cntvoff_el2, xzr            /* virtual count == physical count */
	mov x9, #0x33ff                 /* CPTR_EL2: RES1 bits, no FP/SIMD trap to EL2 */
	msr cptr_el2, x9
	msr hstr_el2, xzr
	mrs x9, midr_el1                /* what EL1 reads as MIDR/MPIDR */
	msr vpidr_el2, x9
	mrs x9, mpidr_el1
	msr vmpidr_el2, x9
	ldr x9, =0x30d00800             /* SCTLR_EL1: RES1 bits, MMU and caches off */
	msr sctlr_el1, x9
	mov x9, #0x3c5                  /* SPSR_EL2: EL1h, D A I F masked */
	msr spsr_el2, x9
	msr elr_el2, x30
	eret
1:	ret

/* Load MAIR/TCR/TTBR0/TTBR1 prepared by early.c and turn the MMU on. Clobbers x9-x11. */
mmu_on:
	adrp x9, a64_boot_regs
	add x9, x9, :lo12:a64_boot_regs
	ldp x10, x11, [x9]              /* mair, tcr */
	msr mair_el1, x10
	msr tcr_el1, x11
	ldp x10, x11, [x9, #16]         /* ttbr0 = identity map, ttbr1 = kernel */
	msr ttbr0_el1, x10
	msr ttbr1_el1, x11
	isb
	tlbi vmalle1                    /* nothing stale from before */
	dsb nsh
	isb
	ldr x10, [x9, #32]              /* sctlr */
	msr sctlr_el1, x10
	isb
	ret

	.section .text
boot_high:
	.cfi_startproc
	.cfi_undefined x30
	adrp x9, a64_boot_stacks        /* now a higher-half address */
	add x9, x9, :lo12:a64_boot_stacks
	add sp, x9, #A64_BOOT_STACK_SIZE
	adrp x9, a64_vectors
	add x9, x9, :lo12:a64_vectors
	msr vbar_el1, x9
	isb
	mov x29, #0
	mov x30, #0
	bl a64_boot_main
3:	wfi
	b 3b
	.cfi_endproc

secondary_high:
	.cfi_startproc
	.cfi_undefined x30
	adrp x9, a64_secondary_sp
	add x9, x9, :lo12:a64_secondary_sp
	ldr x10, [x9, x19, lsl #3]
	mov sp, x10
	adrp x9, a64_vectors
	add x9, x9, :lo12:a64_vectors
	msr vbar_el1, x9
	isb
	mov x29, #0
	mov x30, #0
	mov x0, x19
	bl a64_secondary_main
4:	wfi
	b 4b
	.cfi_endproc

/* ------------------------------------------------------------------------ */
/* Exception vectors (Arm ARM D1.10.2 "Exception vectors")                  */
/* ------------------------------------------------------------------------ */

/*
 * Frame building. The kernel always runs on SP_EL1 (SPSel = 1), so on entry
 * from EL0 the hardware has already switched to SP_EL1, which the exit path
 * left at the thread's kernel stack top; the user's stack pointer stays in
 * SP_EL0 and is saved in the frame. While the kernel runs, SP_EL0 is free:
 * the EL1 sync path uses it as a scratch register (it is reloaded from the
 * frame before every return to EL0).
 */
.macro SAVE_REGS el
	sub sp, sp, #TF_SIZE
	stp x0, x1, [sp, #TF_X(0)]
	stp x2, x3, [sp, #TF_X(2)]
	stp x4, x5, [sp, #TF_X(4)]
	stp x6, x7, [sp, #TF_X(6)]
	stp x8, x9, [sp, #TF_X(8)]
	stp x10, x11, [sp, #TF_X(10)]
	stp x12, x13, [sp, #TF_X(12)]
	stp x14, x15, [sp, #TF_X(14)]
	stp x16, x17, [sp, #TF_X(16)]
	stp x18, x19, [sp, #TF_X(18)]
	stp x20, x21, [sp, #TF_X(20)]
	stp x22, x23, [sp, #TF_X(22)]
	stp x24, x25, [sp, #TF_X(24)]
	stp x26, x27, [sp, #TF_X(26)]
	stp x28, x29, [sp, #TF_X(28)]
	.if \el == 0
	mrs x21, sp_el0
	.else
	add x21, sp, #TF_SIZE
	.endif
	stp x30, x21, [sp, #TF_X(30)]   /* x30, sp */
	mrs x22, elr_el1
	mrs x23, spsr_el1
	stp x22, x23, [sp, #TF_PC]
	mrs x24, esr_el1
	mrs x25, far_el1
	stp x24, x25, [sp, #TF_ESR]
	.if \el == 0
	stp xzr, xzr, [sp, #TF_FRAME]   /* the kernel's frame chain starts here */
	.else
	stp x29, x22, [sp, #TF_FRAME]   /* {interrupted fp, interrupted pc} */
	.endif
	add x29, sp, #TF_FRAME
.endm

.macro RESTORE_REGS el
	ldp x22, x23, [sp, #TF_PC]
	msr elr_el1, x22
	msr spsr_el1, x23
	.if \el == 0
	ldr x21, [sp, #TF_SP]
	msr sp_el0, x21
	.endif
	ldp x0, x1, [sp, #TF_X(0)]
	ldp x2, x3, [sp, #TF_X(2)]
	ldp x4, x5, [sp, #TF_X(4)]
	ldp x6, x7, [sp, #TF_X(6)]
	ldp x8, x9, [sp, #TF_X(8)]
	ldp x10, x11, [sp, #TF_X(10)]
	ldp x12, x13, [sp, #TF_X(12)]
	ldp x14, x15, [sp, #TF_X(14)]
	ldp x16, x17, [sp, #TF_X(16)]
	ldp x18, x19, [sp, #TF_X(18)]
	ldp x20, x21, [sp, #TF_X(20)]
	ldp x22, x23, [sp, #TF_X(22)]
	ldp x24, x25, [sp, #TF_X(24)]
	ldp x26, x27, [sp, #TF_X(26)]
	ldp x28, x29, [sp, #TF_X(28)]
	ldr x30, [sp, #TF_X(30)]
	add sp, sp, #TF_SIZE            /* to EL0: sp = the kernel stack top again */
	eret
.endm

/*
 * Call-frame information for debuggers (DWARF CFI), valid from the point
 * the frame is complete: for an exception from EL1 the interrupted code's
 * sp is the CFA (sp + TF_SIZE), its pc is ELR (TF_PC, described as the
 * return-address column x30) and its x29/x30 are in the frame, so GDB
 * backtraces continue through the exception into the interrupted code. From
 * EL0 there is no kernel caller: the return address is undefined.
 * EL1 vectors use DWARF column 32 (AADWARF64: PC) as their return-address
 * column, so x30 keeps its own saved value.
 */
.macro EL1_CFI_START
	.cfi_startproc
	.cfi_return_column 32
.endm
.macro CFI_FRAME el
	.if \el == 0
	.cfi_undefined x30
	.else
	.cfi_def_cfa sp, TF_SIZE
	.cfi_offset x29, TF_X(29) - TF_SIZE
	.cfi_offset x30, TF_X(30) - TF_SIZE
	.cfi_offset 32, TF_PC - TF_SIZE   /* the return-address column (see EL1_CFI_START) */
	.endif
.endm

.macro VENTRY target
	.balign 0x80
	b \target
.endm

	.section .text
	.balign 2048
	.globl a64_vectors
a64_vectors:
	/* current EL with SP_EL0: the kernel never runs on SP_EL0 */
	VENTRY el1t_sync
	VENTRY el1t_irq
	VENTRY el1t_fiq
	VENTRY el1t_serror
	/* current EL with SP_EL1 */
	VENTRY el1h_sync
	VENTRY el1h_irq
	VENTRY el1h_fiq
	VENTRY el1h_serror
	/* lower EL, AArch64 */
	VENTRY el0_sync
	VENTRY el0_irq
	VENTRY el0_fiq
	VENTRY el0_serror
	/* lower EL, AArch32: not supported */
	VENTRY el0_32_sync
	VENTRY el0_32_irq
	VENTRY el0_32_fiq
	VENTRY el0_32_serror

.macro BAD_VECTOR name, el, num
\name:
	SAVE_REGS \el
	mov x0, sp
	mov x1, #\num
	bl a64_bad_vector
	b .
.endm

	BAD_VECTOR el1t_sync, 1, 0
	BAD_VECTOR el1t_irq, 1, 1
	BAD_VECTOR el1t_fiq, 1, 2
	BAD_VECTOR el1t_serror, 1, 3
	BAD_VECTOR el1h_fiq, 1, 6
	BAD_VECTOR el1h_serror, 1, 7
	BAD_VECTOR el0_fiq, 0, 10
	BAD_VECTOR el0_serror, 0, 11
	BAD_VECTOR el0_32_sync, 0, 12
	BAD_VECTOR el0_32_irq, 0, 13
	BAD_VECTOR el0_32_fiq, 0, 14
	BAD_VECTOR el0_32_serror, 0, 15

/*
 * Synchronous exception taken from EL1. First make sure we can push a frame:
 * after a kernel stack overflow sp points into (or just above) the unmapped
 * guard page below the stack, and pushing there would fault again, forever.
 * AT S1E1W asks the MMU whether the lowest byte of the frame we are about
 * to push is writable (D8.13 "Address translation instructions"; the result
 * lands in PAR_EL1, bit 0 = F, the translation failed). If not, switch to
 * this CPU's emergency stack (struct cpu arch_scratch[CPU_EMERG_TOP]).
 */
el1h_sync:
	EL1_CFI_START
	msr sp_el0, x0                  /* scratch (see above) */
	sub x0, sp, #TF_SIZE
	at s1e1w, x0
	isb
	mrs x0, par_el1
	tbnz x0, #0, el1h_sync_overflow
	mrs x0, sp_el0
	SAVE_REGS 1
	CFI_FRAME 1
	mov x0, sp
	bl a64_el1_sync
	msr daifset, #0xf
	RESTORE_REGS 1
	.cfi_endproc

el1h_sync_overflow:
	mrs x0, tpidr_el1
	cbz x0, 1f
	ldr x0, [x0, #CPU_EMERG_TOP]
	cbnz x0, 2f
1:	adrp x0, a64_boot_emerg_stack   /* no per-CPU data yet: the boot one */
	add x0, x0, :lo12:a64_boot_emerg_stack
	add x0, x0, #A64_EMERG_STACK_SIZE
2:	/* swap sp and x0 without a third register */
	add sp, sp, x0                  /* sp = old + new */
	sub x0, sp, x0                  /* x0 = old */
	sub sp, sp, x0                  /* sp = new */
	sub sp, sp, #TF_SIZE
	stp x1, x2, [sp, #TF_X(1)]
	mov x1, x0                      /* old sp */
	mrs x0, sp_el0                  /* original x0 */
	str x0, [sp, #TF_X(0)]
	stp x3, x4, [sp, #TF_X(3)]
	stp x5, x6, [sp, #TF_X(5)]
	stp x7, x8, [sp, #TF_X(7)]
	stp x9, x10, [sp, #TF_X(9)]
	stp x11, x12, [sp, #TF_X(11)]
	stp x13, x14, [sp, #TF_X(13)]
	stp x15, x16, [sp, #TF_X(15)]
	stp x17, x18, [sp, #TF_X(17)]
	stp x19, x20, [sp, #TF_X(19)]
	stp x21, x22, [sp, #TF_X(21)]
	stp x23, x24, [sp, #TF_X(23)]
	stp x25, x26, [sp, #TF_X(25)]
	stp x27, x28, [sp, #TF_X(27)]
	stp x29, x30, [sp, #TF_X(29)]
	str x1, [sp, #TF_SP]
	mrs x22, elr_el1
	mrs x23, spsr_el1
	stp x22, x23, [sp, #TF_PC]
	mrs x24, esr_el1
	mrs x25, far_el1
	stp x24, x25, [sp, #TF_ESR]
	stp x29, x22, [sp, #TF_FRAME]
	add x29, sp, #TF_FRAME
	mov x0, sp
	bl a64_stack_overflow           /* never returns */
	b .

el1h_irq:
	EL1_CFI_START
	SAVE_REGS 1
	CFI_FRAME 1
	mov x0, sp
	bl a64_irq
	msr daifset, #0xf
	RESTORE_REGS 1
	.cfi_endproc

el0_sync:
	.cfi_startproc
	SAVE_REGS 0
	CFI_FRAME 0
	mov x0, sp
	bl a64_el0_sync
	b ret_to_user
	.cfi_endproc

el0_irq:
	.cfi_startproc
	SAVE_REGS 0
	CFI_FRAME 0
	mov x0, sp
	bl a64_el0_irq
	b ret_to_user
	.cfi_endproc

ret_to_user:
	msr daifset, #0xf
	RESTORE_REGS 0

/*
 * void a64_ret_to_user(struct trapframe *tf): tf sits at the top of the
 * current kernel stack (arch_enter_user put it there), so after the frame
 * is popped SP_EL1 is the stack top the next exception from EL0 needs.
 */
	.globl a64_ret_to_user
a64_ret_to_user:
	msr daifset, #0xf
	mov sp, x0
	b ret_to_user

/*
 * void arch_enter_user(struct trapframe *tf): copy *tf to the top of this
 * thread's kernel stack (cpu->arch_scratch[CPU_KSTACK_TOP]) with registers
 * only — the copy may overwrite the frames of our callers, never ours —
 * then leave through it.
 */
	.globl arch_enter_user
arch_enter_user:
	msr daifset, #0xf
	mrs x1, tpidr_el1
	ldr x1, [x1, #CPU_KSTACK_TOP]
	sub x1, x1, #TF_SIZE            /* destination */
	cmp x1, x0
	b.eq 3f
	b.hi 2f
	mov x2, #0                      /* destination below source: copy upwards */
1:	ldr x3, [x0, x2]
	str x3, [x1, x2]
	add x2, x2, #8
	cmp x2, #TF_SIZE
	b.lo 1b
	b 3f
2:	mov x2, #TF_SIZE                /* destination above source: copy downwards */
4:	sub x2, x2, #8
	ldr x3, [x0, x2]
	str x3, [x1, x2]
	cbnz x2, 4b
3:	mov sp, x1
	b ret_to_user

/* ------------------------------------------------------------------------ */
/* Context switch                                                           */
/* ------------------------------------------------------------------------ */

/* void arch_context_switch(struct arch_context *from, struct arch_context *to) */
	.globl arch_context_switch
arch_context_switch:
	stp x19, x20, [x0, #CTX_X19]
	stp x21, x22, [x0, #CTX_X19 + 16]
	stp x23, x24, [x0, #CTX_X19 + 32]
	stp x25, x26, [x0, #CTX_X19 + 48]
	stp x27, x28, [x0, #CTX_X19 + 64]
	stp x29, x30, [x0, #CTX_FP]
	mov x9, sp
	str x9, [x0, #CTX_SP]
	ldp x19, x20, [x1, #CTX_X19]
	ldp x21, x22, [x1, #CTX_X19 + 16]
	ldp x23, x24, [x1, #CTX_X19 + 32]
	ldp x25, x26, [x1, #CTX_X19 + 48]
	ldp x27, x28, [x1, #CTX_X19 + 64]
	ldp x29, x30, [x1, #CTX_FP]
	ldr x9, [x1, #CTX_SP]
	mov sp, x9
	ret

/* First switch to a new thread lands here: x19 = entry, x20 = arg. */
	.globl a64_thread_start
a64_thread_start:
	.cfi_startproc
	.cfi_undefined x30
	mov x29, #0
	mov x30, #0
	mov x0, x20
	blr x19
	brk #0x1                        /* entry returned: must not happen */
	.cfi_endproc

	.section .bss
	.balign 16
	.globl a64_boot_stacks
a64_boot_stacks:
	.space A64_BOOT_STACK_SIZE * A64_MAX_CPUS
	.globl a64_boot_emerg_stack
a64_boot_emerg_stack:
	.space A64_EMERG_STACK_SIZE

	.section .text
/* void a64_call_on_stack(void *arg, uintptr_t stack_top, void (*fn)(void *)): noreturn */
	.globl a64_call_on_stack
a64_call_on_stack:
	mov sp, x1
	stp x29, x30, [sp, #-16]!       /* keep the frame chain into the old stack */
	mov x29, sp
	blr x2
	b .

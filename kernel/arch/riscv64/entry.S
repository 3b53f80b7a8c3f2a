/*
 * entry.S — riscv64 entry points: boot, secondary harts, traps, context
 * switch.
 *
 * Boot (RISC-V Privileged Spec, "Supervisor-Level ISA"): OpenSBI enters
 * _start in S-mode with the MMU off (satp = Bare), a0 = hart id and
 * a1 = physical address of the device tree. We run at the physical load
 * address until paging is on; the C code called before that (boot.c) only
 * uses PC-relative addressing (-mcmodel=medany), so it works there.
 *
 * Turning paging on: the kernel is linked in the higher half and the boot
 * page tables have no identity mapping. We point stvec at the virtual address
 * of the next step and write satp: the very next instruction fetch (at a
 * physical address that is now unmapped) takes an instruction page fault,
 * which "jumps" to stvec — i.e. to the higher-half alias. (Same trick as
 * Linux's relocate_enable_mmu.)
 */
#include <asm/config.h>
#include <asm/trapframe.h>

	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	csrw sie, zero                  /* no interrupts until we are ready */
	csrw sscratch, zero             /* 0 = "trap came from the kernel" */
	li tp, 0                        /* no per-CPU data yet */
	li s0, 0                        /* end of the frame-pointer chain */
	mv s1, a0                       /* hart id */
	mv s2, a1                       /* DTB */

	/* Zero .bss (it holds the boot stack and boot page tables, untouched so far). */
	lla t0, __bss_start
	lla t1, __bss_end
1:	bgeu t0, t1, 2f
	sd zero, 0(t0)
	addi t0, t0, 8
	j 1b
2:
	/* Boot stack of CPU 0, still at its physical address. */
	lla sp, rv_boot_stacks
	li t0, RV_BOOT_STACK_SIZE
	add sp, sp, t0

	mv a0, s1
	mv a1, s2
	call rv_early_boot              /* builds the page tables, returns satp */

	lla t0, .Lhigh_va
	ld t0, 0(t0)
	csrw stvec, t0
	sfence.vma
	csrw satp, a0
	/* Not reached when paging came on (see above): satp rejected the mode. */
	j rv_paging_failed

	.balign 4
.Lhigh:
	/* Now at the higher-half address. */
	lla t0, rv_trap_entry
	csrw stvec, t0
	sfence.vma
	lla sp, rv_boot_stacks
	li t0, RV_BOOT_STACK_SIZE
	add sp, sp, t0
	li s0, 0
	mv a0, s1
	mv a1, s2
	call rv_boot_main
3:	wfi
	j 3b
	.size _start, . - _start

/*
 * Secondary harts start here through SBI HSM hart_start with a0 = hart id,
 * a1 = our CPU number, MMU off.
 */
	.globl rv_secondary_entry
	.type rv_secondary_entry, @function
rv_secondary_entry:
	csrw sie, zero
	csrw sscratch, zero
	li tp, 0
	li s0, 0
	mv s1, a1                       /* CPU number */
	lla t0, rv_satp
	ld t1, 0(t0)
	lla t0, .Lhigh2_va
	ld t0, 0(t0)
	csrw stvec, t0
	sfence.vma
	csrw satp, t1
	j rv_paging_failed

	.balign 4
.Lhigh2:
	lla t0, rv_trap_entry
	csrw stvec, t0
	sfence.vma
	/* sp = rv_boot_stacks + (cpu + 1) * RV_BOOT_STACK_SIZE */
	lla sp, rv_boot_stacks
	addi t0, s1, 1
	li t1, RV_BOOT_STACK_SIZE
	mul t0, t0, t1
	add sp, sp, t0
	li s0, 0
	mv a0, s1
	call rv_secondary_main
4:	wfi
	j 4b
	.size rv_secondary_entry, . - rv_secondary_entry

	.section .rodata
	.balign 8
.Lhigh_va:
	.dword .Lhigh
.Lhigh2_va:
	.dword .Lhigh2

/* ------------------------------------------------------------------------ */
/* Traps                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * sscratch protocol: while a hart runs in U-mode, sscratch holds its
 * struct cpu pointer (the kernel's tp); while in S-mode it holds 0. The
 * first instruction swaps tp and sscratch, so a non-zero tp afterwards means
 * "came from user": tp is then the kernel's per-CPU pointer and the user's
 * tp is parked in sscratch. The kernel stack for user traps is
 * cpu->arch_scratch[CPU_KSTACK_TOP] (set by arch_set_kernel_stack).
 */
.macro SAVE_GPRS
	sd x1, TF_X(1)(sp)
	sd x3, TF_X(3)(sp)
	sd x4, TF_X(4)(sp)
	sd x5, TF_X(5)(sp)
	sd x6, TF_X(6)(sp)
	sd x7, TF_X(7)(sp)
	sd x8, TF_X(8)(sp)
	sd x9, TF_X(9)(sp)
	sd x10, TF_X(10)(sp)
	sd x11, TF_X(11)(sp)
	sd x12, TF_X(12)(sp)
	sd x13, TF_X(13)(sp)
	sd x14, TF_X(14)(sp)
	sd x15, TF_X(15)(sp)
	sd x16, TF_X(16)(sp)
	sd x17, TF_X(17)(sp)
	sd x18, TF_X(18)(sp)
	sd x19, TF_X(19)(sp)
	sd x20, TF_X(20)(sp)
	sd x21, TF_X(21)(sp)
	sd x22, TF_X(22)(sp)
	sd x23, TF_X(23)(sp)
	sd x24, TF_X(24)(sp)
	sd x25, TF_X(25)(sp)
	sd x26, TF_X(26)(sp)
	sd x27, TF_X(27)(sp)
	sd x28, TF_X(28)(sp)
	sd x29, TF_X(29)(sp)
	sd x30, TF_X(30)(sp)
	sd x31, TF_X(31)(sp)
.endm

	.section .text
	.balign 4
	.globl rv_trap_entry
	.type rv_trap_entry, @function
rv_trap_entry:
	csrrw tp, sscratch, tp
	bnez tp, .Lfrom_user

	/* From S-mode: sscratch now holds our tp; put it back and sscratch = 0. */
	csrrw tp, sscratch, zero
	beqz tp, .Lkernel_frame         /* early boot: no per-CPU data */
	/*
	 * Kernel stack overflow check: if pushing a frame would go below the
	 * current thread's stack (sp already in or near the guard page), the
	 * fault we are handling is probably the overflow itself, and pushing
	 * on this stack would fault again forever. Switch to this CPU's
	 * emergency stack instead.
	 */
	sd t0, CPU_T0_SAVE(tp)
	ld t0, CPU_KSTACK_LO(tp)
	beqz t0, .Lrestore_t0
	addi t0, t0, TF_SIZE + 256
	bgeu sp, t0, .Lrestore_t0       /* comfortably above the bottom */
	ld t0, CPU_KSTACK_LO(tp)
	addi t0, t0, -2048                /* lo - PAGE_SIZE, in two steps (12-bit imm) */
	addi t0, t0, -2048
	bltu sp, t0, .Lrestore_t0       /* not on this stack at all */
	/* Overflow: use the emergency stack; park the old sp in sscratch briefly. */
	csrw sscratch, sp
	ld sp, CPU_EMERG_TOP(tp)
	addi sp, sp, -TF_SIZE
	ld t0, CPU_T0_SAVE(tp)
	SAVE_GPRS
	csrrw t0, sscratch, zero
	sd t0, TF_X(2)(sp)
	j .Ltrap_common
.Lrestore_t0:
	ld t0, CPU_T0_SAVE(tp)
.Lkernel_frame:
	addi sp, sp, -TF_SIZE
	SAVE_GPRS
	addi t0, sp, TF_SIZE
	sd t0, TF_X(2)(sp)
	j .Ltrap_common

.Lfrom_user:
	sd sp, CPU_USER_SP(tp)
	ld sp, CPU_KSTACK_TOP(tp)
	addi sp, sp, -TF_SIZE
	SAVE_GPRS
	ld t0, CPU_USER_SP(tp)
	sd t0, TF_X(2)(sp)
	csrrw t0, sscratch, zero        /* user tp; sscratch = 0 while in the kernel */
	sd t0, TF_X(4)(sp)
	li s0, 0                        /* the kernel backtrace ends here */

.Ltrap_common:
	csrr t0, sepc
	sd t0, TF_SEPC(sp)
	csrr t0, sstatus
	sd t0, TF_SSTATUS(sp)
	csrr t0, scause
	sd t0, TF_SCAUSE(sp)
	csrr t0, stval
	sd t0, TF_STVAL(sp)
	mv a0, sp
	call rv_trap
	/* fall through */
	.size rv_trap_entry, . - rv_trap_entry

/* Return through the trap frame at sp (also used by arch_enter_user). */
	.globl rv_trap_return
	.type rv_trap_return, @function
rv_trap_return:
	csrci sstatus, 2                /* SIE off until sret */
	ld t0, TF_SSTATUS(sp)
	andi t1, t0, 0x100              /* SPP: 1 = returning to S-mode */
	bnez t1, 1f
	csrw sscratch, tp               /* back to user: sscratch = our cpu */
	ld tp, TF_X(4)(sp)              /* the user's tp */
1:
	/*
	 * Returning to the kernel we keep the current tp: the thread may have
	 * been preempted and resumed on another CPU meanwhile.
	 */
	csrw sstatus, t0
	ld t0, TF_SEPC(sp)
	csrw sepc, t0
	ld x1, TF_X(1)(sp)
	ld x3, TF_X(3)(sp)
	ld x5, TF_X(5)(sp)
	ld x6, TF_X(6)(sp)
	ld x7, TF_X(7)(sp)
	ld x8, TF_X(8)(sp)
	ld x9, TF_X(9)(sp)
	ld x10, TF_X(10)(sp)
	ld x11, TF_X(11)(sp)
	ld x12, TF_X(12)(sp)
	ld x13, TF_X(13)(sp)
	ld x14, TF_X(14)(sp)
	ld x15, TF_X(15)(sp)
	ld x16, TF_X(16)(sp)
	ld x17, TF_X(17)(sp)
	ld x18, TF_X(18)(sp)
	ld x19, TF_X(19)(sp)
	ld x20, TF_X(20)(sp)
	ld x21, TF_X(21)(sp)
	ld x22, TF_X(22)(sp)
	ld x23, TF_X(23)(sp)
	ld x24, TF_X(24)(sp)
	ld x25, TF_X(25)(sp)
	ld x26, TF_X(26)(sp)
	ld x27, TF_X(27)(sp)
	ld x28, TF_X(28)(sp)
	ld x29, TF_X(29)(sp)
	ld x30, TF_X(30)(sp)
	ld x31, TF_X(31)(sp)
	ld x2, TF_X(2)(sp)
	sret
	.size rv_trap_return, . - rv_trap_return

/* void arch_enter_user(struct trapframe *tf): noreturn */
	.globl arch_enter_user
	.type arch_enter_user, @function
arch_enter_user:
	mv sp, a0
	j rv_trap_return
	.size arch_enter_user, . - arch_enter_user

/* ------------------------------------------------------------------------ */
/* Context switch                                                           */
/* ------------------------------------------------------------------------ */

/* void arch_context_switch(struct arch_context *from, struct arch_context *to) */
	.globl arch_context_switch
	.type arch_context_switch, @function
arch_context_switch:
	sd ra, 0(a0)
	sd sp, 8(a0)
	sd s0, 16(a0)
	sd s1, 24(a0)
	sd s2, 32(a0)
	sd s3, 40(a0)
	sd s4, 48(a0)
	sd s5, 56(a0)
	sd s6, 64(a0)
	sd s7, 72(a0)
	sd s8, 80(a0)
	sd s9, 88(a0)
	sd s10, 96(a0)
	sd s11, 104(a0)
	ld ra, 0(a1)
	ld sp, 8(a1)
	ld s0, 16(a1)
	ld s1, 24(a1)
	ld s2, 32(a1)
	ld s3, 40(a1)
	ld s4, 48(a1)
	ld s5, 56(a1)
	ld s6, 64(a1)
	ld s7, 72(a1)
	ld s8, 80(a1)
	ld s9, 88(a1)
	ld s10, 96(a1)
	ld s11, 104(a1)
	ret
	.size arch_context_switch, . - arch_context_switch

/* First switch to a new thread lands here: s1 = entry, s2 = arg. */
	.globl rv_thread_trampoline
	.type rv_thread_trampoline, @function
rv_thread_trampoline:
	li s0, 0
	li ra, 0
	mv a0, s2
	jr s1
	.size rv_thread_trampoline, . - rv_thread_trampoline

/*
 * entry.S — every way into and out of the x86_64 kernel after boot:
 * exception/interrupt stubs, the `syscall` entry, the common trap exit,
 * arch_enter_user, the context switch and the NMI path.
 *
 * GS discipline (SDM vol. 2B, SWAPGS): in the kernel, GS base = this CPU's
 * struct x86_cpu; in user mode the user's GS base is live and ours waits in
 * IA32_KERNEL_GS_BASE. Every entry from ring 3 executes swapgs first and every
 * exit to ring 3 executes it last. Entries decide by the RPL of the saved CS.
 */
#include <asm/config.h>
#include <asm/x86.h>
#include <asm/trapframe.h>
#include <asm/context.h>

	.text

/* Push the general registers in struct trapframe order (rax first, at the
 * highest address). */
.macro PUSH_REGS
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
.endm
.macro POP_REGS
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
.endm

/* Exceptions with no CPU-pushed error code push a 0 so every frame has the
 * same shape (SDM vol. 3, 6.13 lists which vectors push one). */
.macro ISR_NOERR n
	.balign 16
isr_\n:
	push $0
	push $\n
	jmp trap_common
.endm
.macro ISR_ERR n
	.balign 16
isr_\n:
	push $\n
	jmp trap_common
.endm

ISR_NOERR 0
ISR_NOERR 1
/* 2 = NMI: own entry below */
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR   8
ISR_NOERR 9
ISR_ERR   10
ISR_ERR   11
ISR_ERR   12
ISR_ERR   13
ISR_ERR   14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR   17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR   21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR   29
ISR_ERR   30
ISR_NOERR 31
/* hardware interrupts and IPIs we use */
ISR_NOERR 0x40
ISR_NOERR 0xf0
ISR_NOERR 0xff
/* legacy PIC vectors (masked; a spurious IRQ7/15 may still arrive) */
ISR_NOERR 0x27
ISR_NOERR 0x2f

	.section .rodata
	.balign 8
	.global x86_isr_table
x86_isr_table:             /* (vector, stub) pairs, ended by -1 */
	.irp n, 0,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,0x40,0xf0,0xff,0x27,0x2f
	.quad \n, isr_\n
	.endr
	.quad 2, nmi_entry
	.quad -1, 0
	.text

/*
 * Common body. On entry: vector and error code pushed above the CPU frame.
 * The CPU aligned %rsp to 16 bytes before pushing its 5 words (SDM vol. 3,
 * 6.14.2), so after 2 + 15 pushes %rsp is 16-byte aligned again.
 */
	.balign 16
trap_common:
	testb $3, 24(%rsp)                 /* saved CS: from ring 3? */
	jz 1f
	swapgs
1:	cld
	PUSH_REGS
	mov %rsp, %rdi                     /* struct trapframe * */
	/* A frame record linking the handler's frame-pointer chain to the
	 * interrupted code: [rbp] = interrupted rbp, [rbp+8] = interrupted rip.
	 * From user mode the chain ends here. */
	testb $3, TF_CS(%rsp)
	jnz 2f
	pushq TF_RIP(%rsp)
	pushq TF_RBP+8(%rsp)
	jmp 3f
2:	pushq $0
	pushq $0
3:	mov %rsp, %rbp
	call x86_trap
	add $16, %rsp
	.global trap_return
trap_return:
	POP_REGS
	add $16, %rsp                      /* vector, error code */
	testb $3, 8(%rsp)
	jz 1f
	cli
	swapgs
1:	iretq

/* void arch_enter_user(struct trapframe *tf): leave through tf (on this
 * CPU's kernel stack). */
	.global arch_enter_user
arch_enter_user:
	cli
	mov %rdi, %rsp
	jmp trap_return

/*
 * `syscall` (SDM vol. 2B, SYSCALL): rcx = user rip, r11 = user rflags,
 * CS/SS from STAR, rflags &= ~SFMASK (IF, TF, DF, AC cleared), and NO stack
 * switch: %rsp is still the user's. Save it in per-CPU scratch, load this
 * CPU's kernel stack, then build a struct trapframe identical to an
 * interrupt's. Interrupts stay masked (SFMASK) until the frame is complete;
 * an NMI in this window runs on its own IST stack. The exit is sysretq when
 * the frame is untouched, else the common iretq (see below).
 */
	.balign 16
	.global x86_syscall_entry
x86_syscall_entry:
	swapgs
	mov %rsp, %gs:GS_USER_RSP
	mov %gs:GS_KSTACK_TOP, %rsp
	pushq $USER_DS                      /* ss */
	pushq %gs:GS_USER_RSP                        /* rsp */
	push %r11                           /* rflags */
	pushq $USER_CS                      /* cs */
	push %rcx                           /* rip */
	pushq $0                            /* error code */
	pushq $X86_VEC_SYSCALL              /* vector */
	PUSH_REGS
	mov %rsp, %rdi
	pushq $0                            /* end of the frame-pointer chain */
	pushq $0
	mov %rsp, %rbp
	call x86_syscall
	add $16, %rsp
	/* Fast exit with sysretq (rip <- rcx, rflags <- r11, CS/SS from STAR)
	 * when the frame is still exactly what a syscall produced: user
	 * selectors, rcx == rip, r11 == rflags and a canonical user rip (a
	 * non-canonical rcx would make sysret fault in ring 0 on Intel CPUs,
	 * SDM vol. 2B SYSRET). Anything else (execve, edited frames) leaves
	 * through iretq. */
	cmpq $USER_CS, TF_CS(%rsp)
	jne trap_return
	cmpq $USER_DS, TF_SS(%rsp)
	jne trap_return
	mov TF_RCX(%rsp), %rcx
	cmp TF_RIP(%rsp), %rcx
	jne trap_return
	mov TF_R11(%rsp), %r11
	cmp TF_RFLAGS(%rsp), %r11
	jne trap_return
	movabs $USER_TOP, %rax
	cmp %rax, %rcx
	jae trap_return
	POP_REGS
	add $16, %rsp                       /* vector, error code: now at rip */
	cli
	swapgs
	mov 24(%rsp), %rsp                  /* user rsp from the frame */
	sysretq

/*
 * NMI: used for TLB shootdown and for stopping CPUs on panic. It runs on its
 * own IST stack and can arrive anywhere, even in the syscall entry before the
 * stack switch or between swapgs and iretq, so it never trusts GS: the C side
 * finds its CPU through the GS MSRs. NMIs stay blocked until the iretq.
 */
	.balign 16
nmi_entry:
	cld
	pushq $0
	pushq $2
	PUSH_REGS
	mov %rsp, %rdi
	pushq TF_RIP(%rsp)
	pushq TF_RBP+8(%rsp)
	mov %rsp, %rbp
	call x86_nmi
	add $16, %rsp
	POP_REGS
	add $16, %rsp
	iretq

/*
 * void arch_context_switch(struct arch_context *from, struct arch_context *to)
 * Saves the SysV callee-saved registers, %rsp and a resume address in *from and
 * continues *to. Everything else is caller-saved, so the compiler already
 * spilled what it needs.
 */
	.global arch_context_switch
arch_context_switch:
	mov %rsp, CTX_RSP(%rdi)
	mov %rbp, CTX_RBP(%rdi)
	mov %rbx, CTX_RBX(%rdi)
	mov %r12, CTX_R12(%rdi)
	mov %r13, CTX_R13(%rdi)
	mov %r14, CTX_R14(%rdi)
	mov %r15, CTX_R15(%rdi)
	lea 1f(%rip), %rax
	mov %rax, CTX_RIP(%rdi)
	mov CTX_RSP(%rsi), %rsp
	mov CTX_RBP(%rsi), %rbp
	mov CTX_RBX(%rsi), %rbx
	mov CTX_R12(%rsi), %r12
	mov CTX_R13(%rsi), %r13
	mov CTX_R14(%rsi), %r14
	mov CTX_R15(%rsi), %r15
	jmp *CTX_RIP(%rsi)
1:	ret

/* First switch to a new thread lands here: r12 = entry, r13 = arg.
 * Push a zero return address so entry() sees an ABI-conformant stack
 * (%rsp+8 16-byte aligned) and the unwinder a chain end. */
	.global x86_thread_start
	.type x86_thread_start, @function
x86_thread_start:
	mov %r13, %rdi
	xor %ebp, %ebp
	pushq $0
	jmp *%r12
	.size x86_thread_start, . - x86_thread_start

/* Crash injection helpers (typed and sized so symbolizers name them) */
	.global arch_crash_undefined
	.type arch_crash_undefined, @function
arch_crash_undefined:
	push %rbp
	mov %rsp, %rbp
	ud2
	pop %rbp
	ret
	.size arch_crash_undefined, . - arch_crash_undefined

	.global x86_divide_zero
	.type x86_divide_zero, @function
x86_divide_zero:                    /* uint64_t x86_divide_zero(uint64_t n, uint64_t d) */
	push %rbp
	mov %rsp, %rbp
	mov %rdi, %rax
	xor %edx, %edx
	div %rsi                        /* #DE when rsi == 0 */
	pop %rbp
	ret
	.size x86_divide_zero, . - x86_divide_zero

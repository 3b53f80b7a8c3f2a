/*
 * trampoline.S — where an application processor (AP) starts.
 *
 * A STARTUP IPI starts an AP in real mode at CS:IP = (vector << 8):0, i.e. at
 * physical address vector * 4 KiB (SDM vol. 3, 9.4.4 "MP Initialization
 * Example"). This code is copied to TRAMP_PA (0x8000, below 1 MiB as the SIPI
 * requires) and is therefore assembled for that address: T(x) gives the
 * physical address of label x in the copy. It walks the same path as the boot
 * CPU: real mode -> protected mode -> long mode with the boot page tables
 * (which identity-map this page and map the kernel image), then jumps to the
 * higher-half x86_ap_entry on the stack the boot CPU left in the parameters.
 * The code lives in .rodata: it is only ever executed from its copy.
 */
#include <asm/config.h>
#include <asm/x86.h>

#define TRAMP_PA 0x8000
#define T(x) (TRAMP_PA + (x) - x86_tramp_start)

	.section .rodata
	.balign 16
	.global x86_tramp_start
x86_tramp_start:
	.code16
	cli
	cld
	xor %ax, %ax
	mov %ax, %ds
	lgdtl T(tramp_gdtr)
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $0x08, $T(tramp32)

	.code32
tramp32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov T(tramp_cr4), %eax          /* PAE (+ LA57), before paging */
	mov %eax, %cr4
	mov T(tramp_cr3), %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or T(tramp_efer), %eax          /* LME, NXE, SCE */
	wrmsr
	mov %cr0, %eax
	or $(CR0_PG | CR0_WP | CR0_PE), %eax
	mov %eax, %cr0
	ljmp $0x18, $T(tramp64)

	.code64
tramp64:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov T(tramp_stack), %rsp
	mov T(tramp_entry), %rax
	xor %ebp, %ebp
	jmp *%rax

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff        /* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff        /* 0x10: data */
	.quad 0x00af9a000000ffff        /* 0x18: 64-bit code */
tramp_gdtr:
	.word 31
	.long T(tramp_gdt)

	.balign 8
	.global x86_tramp_params
x86_tramp_params:
tramp_cr3:   .quad 0
tramp_cr4:   .quad 0
tramp_efer:  .quad 0
tramp_stack: .quad 0
tramp_entry: .quad 0
	.global x86_tramp_end
x86_tramp_end:

/*
 * boot.S — x86_64 entry from QEMU's PVH boot protocol.
 *
 * QEMU (-kernel with an ELF that carries a XEN_ELFNOTE_PHYS32_ENTRY note) loads
 * the segments at their physical addresses and jumps to the 32-bit entry in
 * protected mode with paging off, flat 4 GiB CS/DS, and %ebx = physical address
 * of struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h).
 *
 * This stub, still running at physical addresses:
 *   1. clears .bss (QEMU zero-fills, but the protocol does not promise it);
 *   2. decides between 4- and 5-level paging: CPUID.(EAX=7,ECX=0):ECX[16]
 *      (LA57) says whether the CPU has it, and `paging=4level` on the command
 *      line forces 4 levels. CR4.LA57 can only change while paging is off
 *      (SDM vol. 3, 4.1.1), so the choice is made here, once;
 *   3. builds boot page tables: identity map of the first 4 GiB (2 MiB pages,
 *      so the 64-bit C code can still read the start info, ACPI tables and
 *      itself at its load address) and the kernel image window
 *      KERNEL_VMA -> 0..1 GiB;
 *   4. enables PAE (+LA57), loads CR3, sets EFER.LME and EFER.NXE, enables
 *      paging (this activates IA-32e mode, SDM vol. 3, 10.8.5) and far-jumps
 *      through a 64-bit code descriptor;
 *   5. jumps to the higher-half alias and calls x86_boot_main(start_info_pa).
 * x86_boot_main (boot.c) then builds the real page tables in C.
 */
#include <asm/config.h>
#include <asm/x86.h>

#define PA(x) ((x) - KERNEL_VMA)

/* ---- the PVH note ---------------------------------------------------------- */
	.section .note.pvh, "a", @note
	.balign 4
	.long 4                    /* namesz: "Xen\0" */
	.long 8                    /* descsz: 64-bit physical entry address */
	.long 18                   /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.quad PA(pvh_start32)
	.balign 4

/* ---- 32-bit entry ---------------------------------------------------------- */
	.section .text.boot32, "ax"
	.code32
	.global pvh_start32
pvh_start32:
	cli
	cld
	mov %ebx, %esi                        /* keep the start info address */

	/* 1. clear .bss */
	mov $PA(__bss_start), %edi
	mov $PA(__bss_end), %ecx
	sub %edi, %ecx
	xor %eax, %eax
	rep stosb

	mov $PA(boot_stack_top), %esp

	/* 2. LA57? */
	xor %ebp, %ebp                        /* ebp = 1 if 5-level */
	xor %eax, %eax
	cpuid
	cmp $7, %eax
	jb 3f
	mov $7, %eax
	xor %ecx, %ecx
	cpuid
	test $(1 << 16), %ecx
	jz 3f
	mov $1, %ebp
	/* scan the command line for "paging=4" (forces 4-level) */
	mov 24(%esi), %edi                    /* hvm_start_info.cmdline_paddr (low half) */
	test %edi, %edi
	jz 3f
1:	movb (%edi), %al
	test %al, %al
	jz 3f
	cmpl $0x69676170, (%edi)              /* "pagi" */
	jne 2f
	cmpl $0x343d676e, 4(%edi)             /* "ng=4" */
	jne 2f
	xor %ebp, %ebp
	jmp 3f
2:	inc %edi
	jmp 1b
3:	mov %ebp, PA(boot_la57)

	/* 3. boot page tables. boot_pd[0..3]: 2048 x 2 MiB pages = 0..4 GiB */
	mov $PA(boot_pd), %edi
	mov $(PTE_P | PTE_W | PTE_PS), %eax
	mov $2048, %ecx
1:	mov %eax, (%edi)
	movl $0, 4(%edi)
	add $0x200000, %eax
	add $8, %edi
	loop 1b
	/* identity PDPT: 4 entries */
	mov $PA(boot_pdpt_low), %edi
	mov $PA(boot_pd), %eax
	or $(PTE_P | PTE_W), %eax
	mov $4, %ecx
1:	mov %eax, (%edi)
	add $4096, %eax
	add $8, %edi
	loop 1b
	/* kernel window: 0xffffffff80000000 is PDPT index 510 of PML4 slot 511 */
	mov $PA(boot_pd), %eax
	or $(PTE_P | PTE_W), %eax
	mov %eax, PA(boot_pdpt_high) + 510 * 8
	mov $PA(boot_pdpt_low), %eax
	or $(PTE_P | PTE_W), %eax
	mov %eax, PA(boot_pml4)
	mov $PA(boot_pdpt_high), %eax
	or $(PTE_P | PTE_W), %eax
	mov %eax, PA(boot_pml4) + 511 * 8
	/* 5-level: PML5 slot 0 (identity) and slot 511 (kernel) share the PML4,
	 * whose slots 0 and 511 already point where each needs to go. */
	mov $PA(boot_pml4), %eax
	or $(PTE_P | PTE_W), %eax
	mov %eax, PA(boot_pml5)
	mov %eax, PA(boot_pml5) + 511 * 8

	/* 4. long mode */
	mov %cr4, %eax
	or $CR4_PAE, %eax
	test %ebp, %ebp
	jz 1f
	or $CR4_LA57, %eax
1:	mov %eax, %cr4
	mov $PA(boot_pml4), %eax
	test %ebp, %ebp
	jz 1f
	mov $PA(boot_pml5), %eax
1:	mov %eax, %cr3
	/* NX is only settable if CPUID.80000001h:EDX[20] says so */
	mov $0x80000001, %eax
	cpuid
	xor %ebx, %ebx
	test $(1 << 20), %edx
	jz 1f
	mov $EFER_NXE, %ebx
1:	mov $MSR_EFER, %ecx
	rdmsr
	or $(EFER_LME | EFER_SCE), %eax
	or %ebx, %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PG | CR0_WP | CR0_PE), %eax
	mov %eax, %cr0
	lgdt PA(boot_gdtr)
	ljmp $SEL_KCODE, $PA(start64_low)

	.code64
start64_low:
	mov $SEL_KDATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	/* 5. to the higher half */
	movabs $start64_high, %rax
	jmp *%rax

	.section .text.boot, "ax"
start64_high:
	movabs $boot_stack_top, %rsp
	xor %ebp, %ebp
	mov %esi, %edi                        /* zero-extends: start info PA */
	call x86_boot_main
1:	cli
	hlt
	jmp 1b

/* ---- boot GDT (replaced by the per-CPU GDT in cpu.c) ------------------------- */
	.section .rodata
	.balign 16
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff              /* 0x08: 64-bit code, DPL0 (L=1) */
	.quad 0x00cf92000000ffff              /* 0x10: data, DPL0 */
boot_gdt_end:
	.global boot_gdtr
boot_gdtr:
	.word boot_gdt_end - boot_gdt - 1
	.quad PA(boot_gdt)

/* ---- boot page tables and stack ------------------------------------------- */
	.section .bss
	.balign 4096
	.global boot_pml5, boot_pml4, boot_pdpt_low, boot_pdpt_high, boot_pd
boot_pml5:      .skip 4096
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4 * 4096
	.balign 16
boot_stack:     .skip 16384
	.global boot_stack_top
boot_stack_top:
	.balign 8
	.global boot_la57
boot_la57:      .long 0
	.long 0

/*
 * asm/config.h — riscv64 constants (usable from C and assembly).
 *
 * Virtual memory layout (Sv39 shown; Sv48/Sv57 only move the direct map
 * lower, see docs/kernel.md):
 *
 *   0x0000000000000000  unmapped (null page)
 *   0x0000000000010000  USER_BASE ... user programs, heap, mmap
 *   0x0000003fc0000000  USER_TOP (user stack just below)
 *   ....                non-canonical hole
 *   0xffffffc000000000  direct map of physical memory (Sv39; variable
 *                       direct_map_base: Sv48 0xffff800000000000,
 *                       Sv57 0xff00000000000000)
 *   0xffffffe000000000  KERNEL_VMAP: kernel stacks with guard pages (1 GiB)
 *   0xffffffff80200000  kernel image (text, rodata, data, bss), linked here,
 *                       loaded at physical 0x80200000
 */
#ifndef ASM_CONFIG_H
#define ASM_CONFIG_H

#ifdef __ASSEMBLY__
#define _UL(x) x
#else
#define _UL(x) x##UL
#endif

#define PAGE_SHIFT 12
#define PAGE_SIZE (_UL(1) << PAGE_SHIFT)

#define USER_BASE _UL(0x10000)
#define USER_TOP _UL(0x3fc0000000)

#define KERNEL_VMAP_BASE _UL(0xffffffe000000000)
#define KERNEL_VMAP_SIZE (_UL(1) << 30)

/* The kernel image: linked at KERNEL_VIRT_BASE + (pa - KERNEL_PHYS_BASE). */
#define KERNEL_PHYS_BASE _UL(0x80200000)
#define KERNEL_VIRT_BASE _UL(0xffffffff80200000)
#define KERNEL_VIRT_OFFSET (KERNEL_VIRT_BASE - KERNEL_PHYS_BASE)

#define ARCH_NAME "riscv64"
#define ARCH_ELF_MACHINE 243          /* EM_RISCV */

/* Boot/idle stacks of each hart (in .bss). */
#define RV_BOOT_STACK_SIZE (_UL(16) * 1024)
#define RV_MAX_HARTS 8

/* Offsets into struct cpu's arch_scratch[] used by entry.S. */
#define CPU_KSTACK_TOP 0              /* kernel stack top for traps from U-mode */
#define CPU_USER_SP 8                 /* user sp saved on entry */
#define CPU_T0_SAVE 16                /* t0 saved while checking the stack */
#define CPU_KSTACK_LO 24              /* mirror of cpu->kstack_lo for entry.S */
#define CPU_EMERG_TOP 32              /* emergency stack for kernel stack overflow */

#endif

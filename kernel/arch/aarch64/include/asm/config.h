/*
 * asm/config.h — aarch64 constants (usable from C and assembly).
 *
 * Translation (Arm ARM D8, VMSAv8-64): 48-bit virtual addresses in both
 * halves, TTBR0_EL1 for the user half [0, 2^48) and TTBR1_EL1 for the kernel
 * half [0xffff000000000000, 2^64). The granule (4/16/64 KiB) is a build
 * option; PAGE_SIZE follows it. The layout is the same for every granule:
 *
 *   0x0000000000000000  unmapped (null page)
 *   0x0000000000010000  USER_BASE ... user programs, heap, mmap
 *   0x0000800000000000  USER_TOP (user stack just below)
 *   ....                not translatable (neither TTBR0 nor TTBR1)
 *   0xffff000000000000  direct map: every RAM range (blocks) + MMIO (pages)
 *   0xffff800000000000  KERNEL_VMAP: kernel stacks with guard pages (512 GiB)
 *   0xffffff8000200000  kernel image, loaded at physical 0x40200000
 */
#ifndef ASM_CONFIG_H
#define ASM_CONFIG_H

#ifdef __ASSEMBLY__
#define _UL(x) x
#else
#define _UL(x) x##UL
#endif

#ifndef AXIOM_GRANULE_SHIFT
#define AXIOM_GRANULE_SHIFT 12
#endif
#ifndef AXIOM_GRANULE_NAME
#define AXIOM_GRANULE_NAME "4k"
#endif

#define PAGE_SHIFT AXIOM_GRANULE_SHIFT
#define PAGE_SIZE (_UL(1) << PAGE_SHIFT)

#define VA_BITS 48

#define USER_BASE _UL(0x10000)
#define USER_TOP _UL(0x0000800000000000)

#define DIRECT_MAP_BASE _UL(0xffff000000000000)
#define KERNEL_VMAP_BASE _UL(0xffff800000000000)
#define KERNEL_VMAP_SIZE _UL(0x0000008000000000)

/* The kernel image: virtual = physical + KIMAGE_VOFFSET (see linker.ld). */
#define RAM_BASE_PA _UL(0x40000000)
#define KIMAGE_VBASE _UL(0xffffff8000000000)
#define KIMAGE_VOFFSET (KIMAGE_VBASE - RAM_BASE_PA)
#define KERNEL_PHYS_BASE _UL(0x40200000)
#define KERNEL_VIRT_BASE (KERNEL_PHYS_BASE + KIMAGE_VOFFSET)

#define ARCH_NAME "aarch64"
#define ARCH_ELF_MACHINE 183          /* EM_AARCH64 */

#define A64_MAX_CPUS 8
#define A64_BOOT_STACK_SIZE (_UL(16) * 1024)   /* boot/idle stack of each CPU */
#define A64_EMERG_STACK_SIZE (_UL(8) * 1024)   /* per-CPU stack for kernel stack overflows */

/*
 * Offsets into struct cpu's arch_scratch[] (struct cpu is what TPIDR_EL1
 * points at), used by the trap entry code in entry.S.
 */
#define CPU_KSTACK_TOP 0              /* kernel stack top of the current thread */
#define CPU_EMERG_TOP 8               /* this CPU's emergency stack top */

#endif

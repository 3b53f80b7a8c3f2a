/*
 * asm/config.h — x86_64 constants shared by generic code, the arch code and
 * assembly. Layout (see docs/kernel.md, section "x86_64", for the ASCII map):
 *
 *   user      0x0000000000400000 .. 0x00007fffffe00000   (same in 4- and 5-level mode)
 *   direct    0xffff800000000000 (4-level) / 0xff00000000000000 (5-level): all RAM,
 *             chosen at boot, see the variable direct_map_base
 *   vmap      0xffffc00000000000 .. +512 GiB: kernel stacks with guard pages
 *   image     0xffffffff80000000 + physical address (loaded at 2 MiB)
 *
 * USER_TOP stops 2 MiB short of the canonical boundary (2^47): a `syscall` in the
 * last user page would return to a non-canonical rip, and `sysret` with a
 * non-canonical %rcx faults in ring 0 on Intel parts (SDM vol. 2B, SYSRET), so no
 * user mapping may sit in the last page below it. 2 MiB (not 4 KiB) keeps
 * USER_TOP / 4 (generic mmap base) page aligned.
 */
#ifndef AXIOM_ASM_CONFIG_H
#define AXIOM_ASM_CONFIG_H

#define ARCH_NAME         "x86_64"
#define ARCH_ELF_MACHINE  62            /* EM_X86_64 */

#define PAGE_SHIFT        12
#define PAGE_SIZE         4096
#define HUGE_PAGE_SIZE    0x200000      /* 2 MiB, used by the direct map */

#ifdef __ASSEMBLY__
#define _UL(x) x
#define _ULL(x) x
#define _U(x) x
#else
#define _UL(x) x##UL
#define _ULL(x) x##ULL
#define _U(x) x##U
#endif

#define USER_BASE         _UL(0x0000000000400000)
#define USER_TOP          _UL(0x00007fffffe00000)

#define KERNEL_VMAP_BASE  _UL(0xffffc00000000000)
#define KERNEL_VMAP_SIZE  _UL(0x0000000040000000)   /* 1 GiB (inside PML4 slot 384) */

#define KERNEL_VMA        _UL(0xffffffff80000000)   /* image virtual = phys + this */
#define KERNEL_LOAD_PA    _UL(0x200000)

#define DIRECT_MAP_BASE_4L _UL(0xffff800000000000)  /* PML4[256] */
#define DIRECT_MAP_BASE_5L _UL(0xff00000000000000)  /* PML5[256] */

/* Slots of struct cpu's arch_scratch[] (percpu.h), at %gs:offset in the kernel */
#define GS_KSTACK_TOP     0     /* kernel stack for syscall entry (= TSS.RSP0) */
#define GS_USER_RSP       8     /* scratch: user %rsp during syscall entry */
#define GS_X86_CPU        16    /* struct x86_cpu * of this CPU */
#define GS_SELF           24    /* the struct cpu * itself (arch_cpu_local) */

#endif

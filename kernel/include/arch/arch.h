/*
 * arch/arch.h — the one interface between generic axiom code and the hardware.
 *
 * Generic code (mm/, proc/, fs/, lib/, bpf/) includes this header and nothing
 * from kernel/arch/<arch>/ except the three sanctioned per-arch headers it pulls
 * in below: <asm/config.h> (constants: page size, address-space layout),
 * <asm/trapframe.h> (struct trapframe) and <asm/context.h> (struct arch_context).
 * Those live in kernel/arch/<arch>/include/asm/.
 *
 * Direction of calls:
 *   arch -> generic : kmain(), kmain_secondary(), the trap callbacks at the end
 *                     of this file, and pmm_alloc_page()/pmm_free_page() for
 *                     page-table pages.
 *   generic -> arch : every arch_* function declared here.
 *
 * Porting checklist (a new architecture implements all of these):
 *   [ ] asm/config.h: PAGE_SHIFT, PAGE_SIZE, USER_BASE, USER_TOP, KERNEL_VMAP_BASE,
 *       KERNEL_VMAP_SIZE, ARCH_NAME, ARCH_ELF_MACHINE
 *   [ ] asm/trapframe.h, asm/context.h
 *   [ ] boot: entry from firmware, early page tables (higher-half kernel with
 *       W^X and a direct map of all RAM using huge/block pages), fill
 *       struct boot_info, call kmain() on the boot CPU
 *   [ ] every arch_* function below
 *   [ ] trap entry/exit calling the generic callbacks
 *   [ ] kernel/arch/<arch>/arch.mk (compiler flags, linker script)
 *   [ ] QEMU launch line in axiomdbg/qemu.py and an Arch class in axiomdbg/core/arch/
 */
#ifndef AXIOM_ARCH_ARCH_H
#define AXIOM_ARCH_ARCH_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#include <asm/config.h>
#include <asm/trapframe.h>
#include <asm/context.h>

/* ------------------------------------------------------------------------ */
/* Boot                                                                     */
/* ------------------------------------------------------------------------ */

#define BOOT_MAX_REGIONS 32
#define BOOT_CMDLINE_MAX 256

struct mem_region {
	uint64_t base;
	uint64_t size;
};

/*
 * What the firmware told us, normalised by the arch's boot-protocol layer
 * (PVH start info on x86_64, the device tree on aarch64 and riscv64).
 * `usable` lists RAM the frame allocator may hand out, already minus the
 * kernel image, the boot page tables, the DTB and any firmware-reserved range.
 */
struct boot_info {
	struct mem_region usable[BOOT_MAX_REGIONS];
	unsigned nusable;
	uint64_t ram_top;             /* highest RAM physical address + 1 */
	char cmdline[BOOT_CMDLINE_MAX];
	unsigned ncpus;               /* CPUs the firmware reports */
	const char *protocol;         /* "pvh", "dtb", ... */
};

/* Generic entry points, called by the arch with the MMU on, running at the
 * kernel's higher-half address, interrupts disabled, a valid stack, and the
 * console usable. */
void kmain(struct boot_info *bi) __attribute__((noreturn));
void kmain_secondary(unsigned cpu) __attribute__((noreturn));

/* Name of the paging mode in use, e.g. "4-level", "sv39", "4k-48bit". */
const char *arch_paging_mode(void);

/* ------------------------------------------------------------------------ */
/* Console (polled UART)                                                    */
/* ------------------------------------------------------------------------ */

void arch_console_putc(char c);
int arch_console_getc(void);          /* -1 if no byte is waiting */

/* ------------------------------------------------------------------------ */
/* Physical memory and the direct map                                       */
/* ------------------------------------------------------------------------ */

/* Base of the direct map of all RAM. A variable because some arches choose
 * the paging mode (and thus the layout) at boot. */
extern uintptr_t direct_map_base;

static inline void *phys_to_virt(uint64_t pa) { return (void *)(direct_map_base + (uintptr_t)pa); }
static inline uint64_t virt_to_phys(const void *va) { return (uint64_t)((uintptr_t)va - direct_map_base); }

/* Physical address of a kernel image symbol (text/data/bss). */
uint64_t arch_kimage_to_phys(const void *va);

/* ------------------------------------------------------------------------ */
/* Address spaces                                                           */
/* ------------------------------------------------------------------------ */

/* Protection bits for arch_mmu_map and arch_mmu_query. */
#define MMU_READ   0x1u
#define MMU_WRITE  0x2u
#define MMU_EXEC   0x4u
#define MMU_USER   0x8u

/* A user address space: only the root table; the arch may add fields in
 * asm/context.h via ARCH_ASPACE_EXTRA if it must. */
struct arch_aspace {
	uint64_t root_pa;             /* physical address of the top-level table */
	uint64_t asid;
};

/* Create an address space whose kernel half is shared with every other
 * address space. Returns 0 or -ENOMEM. */
int arch_aspace_init(struct arch_aspace *as);
/* Free every page-table page of the user half and the root. Leaf frames
 * are NOT freed: the generic VM layer owns them and frees them first. */
void arch_aspace_destroy(struct arch_aspace *as);
/* Make `as` current on this CPU; NULL means the kernel-only address space. */
void arch_aspace_switch(struct arch_aspace *as);

/* Map one PAGE_SIZE page in the user half. W and X together are refused
 * (-EINVAL): W^X holds for user pages too. Returns 0, -ENOMEM or -EEXIST. */
int arch_mmu_map(struct arch_aspace *as, uintptr_t va, uint64_t pa, unsigned prot);
/* Unmap one page (flushing TLBs on every CPU that may cache it). Returns 0
 * and the old frame in *pa, or -ENOENT if nothing was mapped. */
int arch_mmu_unmap(struct arch_aspace *as, uintptr_t va, uint64_t *pa);
/* Look up `va` in software. Returns true and the frame/prot if mapped. */
bool arch_mmu_query(struct arch_aspace *as, uintptr_t va, uint64_t *pa, unsigned *prot);

/* Kernel virtual-map region [KERNEL_VMAP_BASE, +KERNEL_VMAP_SIZE): used for
 * kernel stacks with unmapped guard pages. Mappings here are visible in every
 * address space (the arch pre-populates the top-level entries at boot).
 * prot never contains MMU_USER; W^X is enforced. */
int arch_kmap(uintptr_t va, uint64_t pa, unsigned prot);
int arch_kunmap(uintptr_t va, uint64_t *pa);

/* ------------------------------------------------------------------------ */
/* Traps and interrupts                                                     */
/* ------------------------------------------------------------------------ */

unsigned long arch_irq_save(void);            /* disable, return old state */
void arch_irq_restore(unsigned long flags);
void arch_irq_enable(void);
void arch_irq_disable(void);
void arch_wait_for_interrupt(void);           /* enable interrupts and idle */
static inline void arch_cpu_relax(void) { __asm__ volatile("" ::: "memory"); }

/* Syscall ABI accessors (register use is documented in docs/kernel.md). */
unsigned long arch_tf_syscall_nr(const struct trapframe *tf);
unsigned long arch_tf_arg(const struct trapframe *tf, int n);   /* n = 0..5 */
void arch_tf_set_ret(struct trapframe *tf, long value);
uintptr_t arch_tf_pc(const struct trapframe *tf);
uintptr_t arch_tf_sp(const struct trapframe *tf);
uintptr_t arch_tf_fp(const struct trapframe *tf);
bool arch_tf_from_user(const struct trapframe *tf);
/* The hardware error code the exception pushed, if the arch has one (x86:
 * the #PF/#GP error code). False on arches whose cause register already says
 * it all (aarch64 ESR, riscv scause). Goes into the panic record verbatim. */
bool arch_tf_error_code(const struct trapframe *tf, uint64_t *code);
/* Prepare a trap frame that returns to user mode at `entry` with stack `sp`
 * and the first three argument registers set. Interrupts enabled in user. */
void arch_tf_init_user(struct trapframe *tf, uintptr_t entry, uintptr_t sp,
		       uintptr_t a0, uintptr_t a1, uintptr_t a2);

/* Fill *tf with the registers as they are now (every general register), then
 * set its pc, frame pointer and stack pointer to the given values (those of
 * panic()'s caller) and mark it as a kernel-mode frame: panic records made
 * without a trap (panic, assertions, lockups) show every register too. */
void arch_capture_regs(struct trapframe *tf, uintptr_t pc, uintptr_t fp, uintptr_t sp);

/* Name/value pairs of every register in a frame, for the panic record. */
struct reg_entry {
	const char *name;
	uint64_t value;
};
int arch_tf_regs(const struct trapframe *tf, struct reg_entry *out, int max);

/* Leave the kernel through `tf` (which must lie on the current kernel stack
 * or be copied there by the arch). */
void arch_enter_user(struct trapframe *tf) __attribute__((noreturn));

/* Kernel stack top used when a trap arrives from user mode on this CPU. */
void arch_set_kernel_stack(uintptr_t top);

/* ------------------------------------------------------------------------ */
/* Threads and CPUs                                                         */
/* ------------------------------------------------------------------------ */

/* Save callee-saved state in *from, restore *to. Returns when switched back. */
void arch_context_switch(struct arch_context *from, struct arch_context *to);
/* Prepare *ctx so that the first switch to it calls entry(arg) on the stack
 * whose top is kstack_top (16-byte aligned). entry must never return. */
void arch_context_init(struct arch_context *ctx, uintptr_t kstack_top,
		       void (*entry)(void *), void *arg);

struct cpu;                                   /* generic, kernel/include/percpu.h */
void arch_set_cpu_local(struct cpu *c);       /* gs_base / tpidr_el1 / tp */
struct cpu *arch_cpu_local(void);

/* Start every other CPU (up to max_cpus in total); each one calls
 * kmain_secondary(id) with ids 1..n-1. Returns the number of CPUs online
 * (including the boot CPU) once they have all reached kmain_secondary. */
unsigned arch_smp_start(unsigned max_cpus);
/* Ask every other CPU to stop (panic). Best effort; generic code also polls. */
void arch_halt_others(void);
/* Stop this CPU forever with interrupts off. */
void arch_halt_cpu(void) __attribute__((noreturn));
/* Power the machine off (QEMU exits). Falls back to arch_halt_cpu. */
void arch_poweroff(void) __attribute__((noreturn));

/* ------------------------------------------------------------------------ */
/* Time                                                                     */
/* ------------------------------------------------------------------------ */

/* Start the periodic tick on the calling CPU at `hz` interrupts/second. */
void arch_timer_init(unsigned hz);
/* Monotonic nanoseconds since boot (all CPUs agree). */
uint64_t arch_time_ns(void);

/* ------------------------------------------------------------------------ */
/* Debug support                                                            */
/* ------------------------------------------------------------------------ */

/* Frame-pointer unwinding. Given a frame pointer, fetch the caller's return
 * address and frame pointer. Returns false at the end of the chain or on a
 * pointer outside kernel memory (never faults). */
bool arch_unwind_step(uintptr_t *fp, uintptr_t *ret_addr);
uintptr_t arch_current_fp(void);

/* Crash injection: execute an undefined instruction; perform an integer
 * divide by zero that traps (returns false where division never traps). */
void arch_crash_undefined(void);
bool arch_crash_divide(void);

/* ------------------------------------------------------------------------ */
/* Callbacks into generic code (arch trap handlers call these)              */
/* ------------------------------------------------------------------------ */

#define FAULT_READ   0x1u
#define FAULT_WRITE  0x2u
#define FAULT_EXEC   0x4u
#define FAULT_USER   0x8u      /* the access was made in user mode */
#define FAULT_PRESENT 0x10u    /* a translation existed (protection fault) */

void syscall_handler(struct trapframe *tf);
void trap_page_fault(struct trapframe *tf, uintptr_t addr, unsigned fault,
		     uint64_t raw_cause);
/* Any other synchronous exception. `kind` is a short stable name such as
 * "undefined-instruction", "divide-error", "breakpoint", "alignment". */
void trap_exception(struct trapframe *tf, const char *kind, uint64_t raw_cause,
		    uint64_t code, uintptr_t addr);
void timer_interrupt(struct trapframe *tf);
/* Called just before returning to user mode (deliver kills, reschedule). */
void trap_exit_to_user(struct trapframe *tf);

#endif

/*
 * rv.h — private definitions of the riscv64 port (CSRs, PTE bits, SBI).
 * References: RISC-V Privileged Architecture (v1.12), chapter 4
 * "Supervisor-Level ISA"; RISC-V SBI specification v1.0.
 */
#ifndef RV_RV_H
#define RV_RV_H

#include <stdint.h>
#include <stdbool.h>
#include <arch/arch.h>

#define csr_read(csr) ({ uint64_t __v; __asm__ volatile("csrr %0, " #csr : "=r"(__v)); __v; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" ::"rK"((uint64_t)(v)) : "memory")
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" ::"rK"((uint64_t)(v)) : "memory")
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" ::"rK"((uint64_t)(v)) : "memory")

/* sstatus (4.1.1) */
#define SSTATUS_SIE (1ul << 1)
#define SSTATUS_SPIE (1ul << 5)
#define SSTATUS_SPP (1ul << 8)
#define SSTATUS_SUM (1ul << 18)
/* sie / sip (4.1.3) */
#define SIE_SSIE (1ul << 1)
#define SIE_STIE (1ul << 5)
#define SIE_SEIE (1ul << 9)
/* scause (4.1.9) */
#define SCAUSE_INTR (1ul << 63)
#define IRQ_S_SOFT 1
#define IRQ_S_TIMER 5
#define IRQ_S_EXT 9
#define EXC_INST_MISALIGNED 0
#define EXC_INST_ACCESS 1
#define EXC_ILLEGAL 2
#define EXC_BREAKPOINT 3
#define EXC_LOAD_MISALIGNED 4
#define EXC_LOAD_ACCESS 5
#define EXC_STORE_MISALIGNED 6
#define EXC_STORE_ACCESS 7
#define EXC_ECALL_U 8
#define EXC_ECALL_S 9
#define EXC_INST_PAGE 12
#define EXC_LOAD_PAGE 13
#define EXC_STORE_PAGE 15

/* satp (4.1.11) */
#define SATP_MODE_SV39 8ul
#define SATP_MODE_SV48 9ul
#define SATP_MODE_SV57 10ul
#define SATP_MODE_SHIFT 60

/* Page-table entries (4.3.1, 4.4.1) */
#define PTE_V (1ul << 0)
#define PTE_R (1ul << 1)
#define PTE_W (1ul << 2)
#define PTE_X (1ul << 3)
#define PTE_U (1ul << 4)
#define PTE_G (1ul << 5)
#define PTE_A (1ul << 6)
#define PTE_D (1ul << 7)
#define PTE_PPN_SHIFT 10
#define PTE_PPN_MASK ((1ul << 44) - 1)
#define PTE_LEAF (PTE_R | PTE_W | PTE_X)
#define PT_ENTRIES 512

static inline uint64_t pte_pa(uint64_t pte) { return ((pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK) << 12; }
static inline uint64_t pa_pte(uint64_t pa) { return (pa >> 12) << PTE_PPN_SHIFT; }
static inline unsigned vpn(uintptr_t va, int level) { return (va >> (12 + 9 * level)) & 511; }

/* Paging state chosen at boot (boot.c). */
extern unsigned rv_levels;                /* 3, 4 or 5 */
extern uint64_t rv_satp_mode;             /* SATP_MODE_* */
extern uint64_t rv_kernel_root;           /* PA of the kernel root table */
extern uint64_t rv_satp;                  /* satp value of the kernel address space */
extern uint64_t rv_timebase_hz;
extern uint64_t rv_hartids[];             /* cpu number -> hart id */
extern unsigned rv_nharts;

/* mmu.c: the kernel page-table walker (tables reached through the direct map). */
uint64_t *rv_walk(uint64_t root_pa, uintptr_t va, int level, bool alloc);
bool rv_kaddr_mapped(uintptr_t va, bool write);
void rv_flush_all_remote(uintptr_t va, size_t size);

void rv_timer_rearm(void);
bool rv_irq_enabled(void);
const char *rv_cause_name(uint64_t scause);

/* uart.c */
void rv_uart_init(uint64_t pa);

/* SBI (sbi.c) */
struct sbiret {
	long error;
	long value;
};
struct sbiret sbi_call(long ext, long fid, long a0, long a1, long a2, long a3);
void sbi_set_timer(uint64_t stime);
long sbi_hart_start(uint64_t hartid, uint64_t start_pa, uint64_t opaque);
long sbi_send_ipi(unsigned long mask, unsigned long base);
long sbi_remote_sfence_vma(unsigned long mask, unsigned long base, uintptr_t start, size_t size);
void sbi_shutdown(void);

/* entry.S */
extern char rv_trap_entry[], rv_secondary_entry[], rv_thread_trampoline[];
extern uint8_t rv_boot_stacks[];

#endif

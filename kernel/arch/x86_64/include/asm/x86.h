/*
 * asm/x86.h — private to kernel/arch/x86_64: instruction wrappers, MSR and
 * control-register bits, descriptor layouts and the per-CPU arch block.
 * Generic code never includes this file.
 */
#ifndef AXIOM_ASM_X86_H
#define AXIOM_ASM_X86_H

#include <asm/config.h>
#ifndef __ASSEMBLY__
#include <stdint.h>
#include <stdbool.h>
#include <percpu.h>
#endif

/* Control registers (SDM vol. 3, 2.5) */
#define CR0_PE   (_U(1) << 0)
#define CR0_WP   (_U(1) << 16)      /* supervisor writes honour R/O pages */
#define CR0_PG   (_U(1) << 31)
#define CR4_PAE  (_U(1) << 5)
#define CR4_PGE  (_U(1) << 7)       /* global pages survive CR3 loads */
#define CR4_LA57 (_U(1) << 12)      /* 5-level paging; only settable with paging off */

/* MSRs (SDM vol. 4) */
#define MSR_EFER           0xc0000080
#define MSR_STAR           0xc0000081
#define MSR_LSTAR          0xc0000082
#define MSR_SFMASK         0xc0000084
#define MSR_FS_BASE        0xc0000100
#define MSR_GS_BASE        0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_APIC_BASE      0x1b
#define EFER_SCE (_U(1) << 0)       /* syscall/sysret enable */
#define EFER_LME (_U(1) << 8)
#define EFER_NXE (_U(1) << 11)

/* RFLAGS */
#define RFLAGS_TF 0x100
#define RFLAGS_IF 0x200
#define RFLAGS_DF 0x400
#define RFLAGS_AC 0x40000
#define RFLAGS_RESERVED 0x2

/* GDT selectors. The order is dictated by syscall/sysret (SDM vol. 2B):
 * syscall loads CS=STAR[47:32], SS=CS+8; sysretq loads CS=STAR[63:48]+16 and
 * SS=STAR[63:48]+8, so user data must sit between a (dummy) 32-bit user code
 * descriptor and the 64-bit user code descriptor. */
#define SEL_KCODE   0x08
#define SEL_KDATA   0x10
#define SEL_UCODE32 0x18
#define SEL_UDATA   0x20
#define SEL_UCODE   0x28
#define SEL_TSS     0x30
#define USER_CS (SEL_UCODE | 3)
#define USER_DS (SEL_UDATA | 3)

/* Page-table entry bits (SDM vol. 3, 4.5, tables 4-14..4-20) */
#define PTE_P    (_ULL(1) << 0)
#define PTE_W    (_ULL(1) << 1)
#define PTE_U    (_ULL(1) << 2)
#define PTE_PWT  (_ULL(1) << 3)
#define PTE_PCD  (_ULL(1) << 4)
#define PTE_A    (_ULL(1) << 5)
#define PTE_D    (_ULL(1) << 6)
#define PTE_PS   (_ULL(1) << 7)     /* 2 MiB page in a PD entry */
#define PTE_G    (_ULL(1) << 8)
#define PTE_NX   (_ULL(1) << 63)
#define PTE_ADDR 0x000ffffffffff000ull

/* Interrupt vectors beyond the 32 exceptions */
#define VEC_PIC_BASE   0x20      /* legacy 8259s remapped here, then masked */
#define VEC_TIMER      0x40
#define VEC_WAKE       0xf0      /* IPI: just interrupt (wakes an idle CPU) */
#define VEC_SPURIOUS   0xff

#ifndef __ASSEMBLY__

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" :: "r"(v) : "memory"); }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" :: "r"(v) : "memory"); }
static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline void invlpg(uintptr_t va) { __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory"); }
static inline uint64_t read_rflags(void) { uint64_t v; __asm__ volatile("pushfq; popq %0" : "=r"(v)); return v; }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline void mmio_write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t mmio_read32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline uint64_t mmio_read64(uintptr_t a) { return *(volatile uint64_t *)a; }
static inline void mmio_write64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

/* 64-bit TSS (SDM vol. 3, 8.7, figure 8-11) */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct cpu;

/*
 * Per-CPU arch block, one per CPU, indexed by axiom CPU number. While in the
 * kernel, GS base points at this CPU's generic struct cpu (percpu.h), whose
 * arch_scratch[] slots entry.S uses at fixed offsets (GS_* in asm/config.h);
 * the user's GS base is parked in IA32_KERNEL_GS_BASE and exchanged by
 * `swapgs` on every ring change.
 */
struct x86_cpu {
	unsigned id;                  /* axiom CPU number 0..n-1 */
	unsigned apic_id;
	volatile int online;
	volatile uint64_t loaded_cr3; /* what this CPU's CR3 holds (for TLB shootdown) */
	volatile uint64_t flush_req;  /* shootdown generation asked of this CPU */
	volatile uint64_t flush_ack;  /* last generation it completed */
	volatile uint64_t nmi_count;  /* NMIs taken */
	uint64_t gdt[8];
	struct tss tss;
} __attribute__((aligned(64)));

extern struct x86_cpu x86_cpus[MAX_CPUS];
extern struct cpu cpus[MAX_CPUS];
extern unsigned x86_ncpus;           /* CPUs found in the MADT */
extern unsigned x86_cpu_apic_ids[MAX_CPUS];
extern unsigned x86_paging_levels;   /* 4 or 5 */
extern uint64_t x86_kernel_root;     /* physical address of the kernel-only top-level table */

static inline struct x86_cpu *this_x86_cpu(void)
{
	struct x86_cpu *c;
	__asm__ volatile("mov %%gs:16, %0" : "=r"(c));
	return c;
}

/* boot.c / cpu.c */
void x86_cpu_init(struct x86_cpu *c);          /* GDT, TSS, IDT, syscall MSRs, GS base */
void x86_uart_init(void);
void x86_early_puts(const char *s);
void x86_early_hex(uint64_t v);
/* mmu.c */
uint64_t x86_early_alloc_end(void);
uintptr_t x86_map_mmio(uint64_t pa);         /* 4 KiB uncached page, returns VA */
bool x86_kernel_va_mapped(uintptr_t va);
void x86_nmi_flush(struct x86_cpu *c);
/* apic.c */
void x86_apic_init_bsp(void);
void x86_apic_init_ap(void);
void x86_apic_eoi(void);
void x86_apic_send_ipi(unsigned apic_id, uint32_t lo);
unsigned x86_apic_id(void);
void x86_hpet_init(uint64_t pa);
/* acpi.c */
void x86_acpi_init(uint64_t rsdp_pa);
extern uint64_t x86_hpet_pa;
/* smp.c */
struct trapframe;
void x86_nmi(struct trapframe *tf);
void x86_trap(struct trapframe *tf);
void x86_syscall(struct trapframe *tf);
void x86_apic_map(void);
void x86_mmu_boot_begin(uint64_t kernel_end_pa);
void x86_mmu_boot_dmap(uint64_t base, uint64_t size);
void x86_mmu_boot_finish(void);
#endif /* !__ASSEMBLY__ */

#endif

/*
 * layout.h — the kernel describes itself to debuggers.
 *
 * `struct axiom_layout axiom_layout` (section .data.axiom_layout) is filled
 * at boot with everything a tool needs to find its way in a live kernel or a
 * memory dump without guessing: paging mode, where the direct map and the
 * kernel image are, the build id and the addresses of the key globals.
 * The ELF note `.note.axiom` (name "AXIOM", type AXIOM_NOTE_LAYOUT) carries
 * the link-time constants plus the virtual address of axiom_layout, so a tool
 * holding only the ELF (or a dump containing the image) can find it.
 */
#ifndef AXIOM_LAYOUT_H
#define AXIOM_LAYOUT_H

#include <stdint.h>

struct sbuf;

#define AXIOM_LAYOUT_MAGIC 0x54554f59414c5841ull  /* "AXLAYOUT" little endian */
#define AXIOM_LAYOUT_VERSION 1
#define AXIOM_NOTE_LAYOUT 0x41580001u

struct axiom_layout {
	uint64_t magic;               /* AXIOM_LAYOUT_MAGIC */
	uint32_t version;             /* AXIOM_LAYOUT_VERSION */
	uint32_t size;                /* sizeof(struct axiom_layout) */
	char arch[16];                /* "riscv64", "x86_64", "aarch64" */
	char paging_mode[16];         /* arch_paging_mode() */
	uint32_t paging_levels;       /* 3/4/5 */
	uint32_t va_bits;             /* 39/48/57 */
	uint64_t page_size;
	uint64_t direct_map_base;     /* VA of physical address 0 */
	uint64_t kernel_virt_base;    /* VA of __kernel_start */
	uint64_t kernel_phys_base;    /* PA of __kernel_start */
	uint64_t kernel_end;          /* VA of __kernel_end */
	uint64_t kernel_pt_root;      /* PA of the kernel-only top-level table */
	uint64_t kernel_vmap_base, kernel_vmap_size;
	uint64_t user_base, user_top;
	uint64_t ram_top;
	uint8_t build_id[20];
	uint32_t build_id_len;
	uint32_t ncpus;               /* CPUs online */
	/* addresses (kernel VAs) of the key globals */
	uint64_t process_list;        /* &process_list (struct process *, linked by ->next) */
	uint64_t thread_list;         /* &thread_list (struct thread *, linked by ->all_next) */
	uint64_t klog_ring;           /* &klog_ring (struct klog_ring) */
	uint64_t pmm_state;           /* &pmm (struct pmm_state) */
	uint64_t cpus;                /* &cpus[0] (struct cpu[MAX_CPUS]) */
	uint32_t cpus_count;          /* MAX_CPUS (entries in the array) */
	uint32_t cpu_size;            /* sizeof(struct cpu) */
	uint64_t boot_time_ns;        /* arch_time_ns() at kmain */
	uint64_t panic_in_progress;   /* &panic_in_progress */
	char cmdline[256];
};

extern struct axiom_layout axiom_layout;

/* Optional arch hook (weak): PA of the kernel-only top-level page table
 * (what satp/TTBR1/cr3 hold for the kernel address space). */
uint64_t arch_kernel_pt_root(void) __attribute__((weak));

/* Fill axiom_layout (called by kmain once the pmm and CPUs are up). */
void layout_init(const char *cmdline, uint64_t ram_top);
/* The build id as 40 hex characters (static buffer). */
const char *build_id_hex(void);
void layout_view(struct sbuf *sb);

#endif

/*
 * cpu.c — per-CPU descriptor tables and the C side of trap handling.
 *
 * Each CPU gets its own GDT (the TSS descriptor's busy bit is per descriptor,
 * so CPUs cannot share one, SDM vol. 3, 8.2.2) and its own TSS. One IDT is
 * shared. Stacks used by the CPU itself:
 *   - TSS.RSP0: the current thread's kernel stack, loaded on every ring 3 -> 0
 *     interrupt or exception (arch_set_kernel_stack);
 *   - IST1: #DF. A kernel stack overflow hits the guard page below the
 *     stack; the CPU then cannot push the #PF frame and raises #DF (SDM vol. 3,
 *     6.15, "Interrupt 8"). Without a known-good stack that would become a
 *     triple fault (reset); with IST the CPU switches to a separate stack
 *     unconditionally (SDM 6.14.5) and we can report the overflow;
 *   - IST2: NMI, which can arrive before the syscall entry switched stacks.
 */
#include <arch/arch.h>
#include <asm/x86.h>
#include <kernel.h>
#include <mm.h>

struct x86_cpu x86_cpus[MAX_CPUS];

#define IST_STACK 16384
static uint8_t df_stacks[MAX_CPUS][IST_STACK] __attribute__((aligned(16)));
static uint8_t nmi_stacks[MAX_CPUS][IST_STACK] __attribute__((aligned(16)));

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;        /* P | DPL | 0xE (64-bit interrupt gate: clears IF) */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
extern const uint64_t x86_isr_table[];
extern char x86_syscall_entry[];

struct __attribute__((packed)) dtr {
	uint16_t limit;
	uint64_t base;
};

static void idt_set(int vec, uint64_t handler, int ist, int dpl)
{
	idt[vec].off_lo = handler & 0xffff;
	idt[vec].sel = SEL_KCODE;
	idt[vec].ist = ist;
	idt[vec].type = 0x8e | (dpl << 5);
	idt[vec].off_mid = (handler >> 16) & 0xffff;
	idt[vec].off_hi = handler >> 32;
	idt[vec].zero = 0;
}

static void idt_build(void)
{
	for (int i = 0; x86_isr_table[i] != (uint64_t)-1; i += 2) {
		int vec = (int)x86_isr_table[i];
		int ist = vec == 8 ? 1 : vec == 2 ? 2 : 0;
		idt_set(vec, x86_isr_table[i + 1], ist, vec == 3 ? 3 : 0);
	}
}

void x86_cpu_init(struct x86_cpu *c)
{
	if (c->id == 0)
		idt_build();

	/* GDT: see asm/x86.h for why the order is fixed by syscall/sysret */
	c->gdt[0] = 0;
	c->gdt[1] = 0x00af9a000000ffffull;   /* kernel code: L=1, DPL0 */
	c->gdt[2] = 0x00cf92000000ffffull;   /* kernel data */
	c->gdt[3] = 0x00cffa000000ffffull;   /* user code 32 (unused, sysret layout) */
	c->gdt[4] = 0x00cff2000000ffffull;   /* user data, DPL3 */
	c->gdt[5] = 0x00affa000000ffffull;   /* user code 64, DPL3 */
	uint64_t base = (uint64_t)&c->tss, limit = sizeof(c->tss) - 1;
	c->gdt[6] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		    (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	c->gdt[7] = base >> 32;

	memset(&c->tss, 0, sizeof(c->tss));
	c->tss.ist[0] = (uint64_t)&df_stacks[c->id][IST_STACK];
	c->tss.ist[1] = (uint64_t)&nmi_stacks[c->id][IST_STACK];
	c->tss.iomap_base = sizeof(c->tss);   /* no I/O bitmap: ring 3 gets no ports */

	struct dtr g = { sizeof(c->gdt) - 1, (uint64_t)c->gdt };
	__asm__ volatile(
		"lgdt %0\n\t"
		"pushq %1\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"                  /* reload CS from the new GDT */
		"1:\n\t"
		"mov %2, %%ds\n\t"
		"mov %2, %%es\n\t"
		"mov %2, %%ss\n\t"
		"mov %3, %%fs\n\t"
		"mov %3, %%gs\n\t"         /* clears GS base: set it below */
		"ltr %w4\n\t"
		:: "m"(g), "i"(SEL_KCODE), "r"(SEL_KDATA), "r"(0), "r"(SEL_TSS)
		: "rax", "memory");
	struct dtr i = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" :: "m"(i));

	struct cpu *gc = &cpus[c->id];
	gc->arch_scratch[GS_X86_CPU / 8] = (uintptr_t)c;
	gc->arch_scratch[GS_SELF / 8] = (uintptr_t)gc;
	wrmsr(MSR_GS_BASE, (uint64_t)gc);

	/* SMEP/SMAP when the CPU has them (CPUID.(7,0):EBX bits 7 and 20; SDM
	 * vol. 3, 4.6.1): the kernel never executes user pages and never touches
	 * user memory through user addresses (uaccess copies through the direct
	 * map), so both can be on unconditionally. */
	uint32_t a, b, cc, d;
	cpuid(0, 0, &a, &b, &cc, &d);
	if (a >= 7) {
		cpuid(7, 0, &a, &b, &cc, &d);
		uint64_t cr4 = read_cr4();
		if (b & (1u << 7))
			cr4 |= 1u << 20;      /* CR4.SMEP */
		if (b & (1u << 20))
			cr4 |= 1u << 21;      /* CR4.SMAP */
		write_cr4(cr4);
	}
	wrmsr(MSR_KERNEL_GS_BASE, 0);
	wrmsr(MSR_FS_BASE, 0);

	/* syscall/sysret (SDM vol. 3, 5.8.8): STAR[47:32] = kernel CS (SS = +8),
	 * STAR[63:48] = base for sysret (CS = +16, SS = +8, RPL forced to 3);
	 * LSTAR = 64-bit entry; SFMASK = rflags bits cleared on entry. */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, ((uint64_t)(SEL_UCODE32 | 3) << 48) | ((uint64_t)SEL_KCODE << 32));
	wrmsr(MSR_LSTAR, (uint64_t)x86_syscall_entry);
	wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC | 0x4000 /* NT */);
}

/* ---- arch.h: per-CPU pointer, kernel stack ------------------------------- */

/* GS base = the generic struct cpu; x86_cpu_init already pointed it at
 * cpus[id], so this normally just re-asserts it. */
void arch_set_cpu_local(struct cpu *c)
{
	struct x86_cpu *xc = this_x86_cpu();
	struct cpu *old = arch_cpu_local();
	c->arch_scratch[GS_KSTACK_TOP / 8] = old->arch_scratch[GS_KSTACK_TOP / 8];
	c->arch_scratch[GS_X86_CPU / 8] = (uintptr_t)xc;
	c->arch_scratch[GS_SELF / 8] = (uintptr_t)c;
	c->hwid = xc->apic_id;
	wrmsr(MSR_GS_BASE, (uint64_t)c);
}

struct cpu *arch_cpu_local(void)
{
	struct cpu *c;
	__asm__ volatile("mov %%gs:" "24" ", %0" : "=r"(c));
	return c;
}

void arch_set_kernel_stack(uintptr_t top)
{
	this_x86_cpu()->tss.rsp[0] = top;
	arch_cpu_local()->arch_scratch[GS_KSTACK_TOP / 8] = top;
}

/* ---- interrupts ---------------------------------------------------------- */

unsigned long arch_irq_save(void)
{
	unsigned long f = read_rflags();
	__asm__ volatile("cli" ::: "memory");
	return f & RFLAGS_IF;
}

void arch_irq_restore(unsigned long flags)
{
	if (flags & RFLAGS_IF)
		__asm__ volatile("sti" ::: "memory");
}

void arch_irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
void arch_irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }

/* `sti` delays interrupt recognition by one instruction (SDM vol. 2B, STI), so
 * no interrupt can slip in between it and the hlt and be missed. */
void arch_wait_for_interrupt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

/* ---- trap frames --------------------------------------------------------- */

unsigned long arch_tf_syscall_nr(const struct trapframe *tf) { return tf->rax; }

unsigned long arch_tf_arg(const struct trapframe *tf, int n)
{
	switch (n) {
	case 0: return tf->rdi;
	case 1: return tf->rsi;
	case 2: return tf->rdx;
	case 3: return tf->r10;         /* rcx is taken by `syscall` (return rip) */
	case 4: return tf->r8;
	case 5: return tf->r9;
	default: return 0;
	}
}

void arch_tf_set_ret(struct trapframe *tf, long value) { tf->rax = (uint64_t)value; }
uintptr_t arch_tf_pc(const struct trapframe *tf) { return tf->rip; }
uintptr_t arch_tf_sp(const struct trapframe *tf) { return tf->rsp; }
uintptr_t arch_tf_fp(const struct trapframe *tf) { return tf->rbp; }
bool arch_tf_from_user(const struct trapframe *tf) { return (tf->cs & 3) == 3; }

/* The error code the CPU pushed for this vector (0 for vectors without one;
 * the entry stubs push a dummy), e.g. #PF bits P, W/R, U/S, RSVD, I/D (SDM 4.7). */
bool arch_tf_error_code(const struct trapframe *tf, uint64_t *code)
{
	*code = tf->error_code;
	return true;
}

/* Every general register as it is now, in trapframe order. */
void arch_capture_regs(struct trapframe *tf, uintptr_t pc, uintptr_t fp, uintptr_t sp)
{
	uint64_t flags, cs, ss;

	__asm__ volatile(
		"mov %%r15, 0(%0)\n"
		"mov %%r14, 8(%0)\n"
		"mov %%r13, 16(%0)\n"
		"mov %%r12, 24(%0)\n"
		"mov %%r11, 32(%0)\n"
		"mov %%r10, 40(%0)\n"
		"mov %%r9, 48(%0)\n"
		"mov %%r8, 56(%0)\n"
		"mov %%rbp, 64(%0)\n"
		"mov %%rdi, 72(%0)\n"
		"mov %%rsi, 80(%0)\n"
		"mov %%rdx, 88(%0)\n"
		"mov %%rcx, 96(%0)\n"
		"mov %%rbx, 104(%0)\n"
		"mov %%rax, 112(%0)\n"
		:: "r"(tf) : "memory");
	__asm__ volatile("pushfq; popq %0" : "=r"(flags));
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	__asm__ volatile("mov %%ss, %0" : "=r"(ss));
	tf->rbp = fp;
	tf->rsp = sp;
	tf->rip = pc;
	tf->rflags = flags;
	tf->cs = cs;                  /* ring 0: a kernel-mode frame */
	tf->ss = ss;
	tf->vector = 0;
	tf->error_code = 0;
}

void arch_tf_init_user(struct trapframe *tf, uintptr_t entry, uintptr_t sp,
		       uintptr_t a0, uintptr_t a1, uintptr_t a2)
{
	memset(tf, 0, sizeof(*tf));
	tf->rip = entry;
	tf->rsp = sp;
	tf->rdi = a0;
	tf->rsi = a1;
	tf->rdx = a2;
	tf->cs = USER_CS;
	tf->ss = USER_DS;
	tf->rflags = RFLAGS_IF | RFLAGS_RESERVED;
}

int arch_tf_regs(const struct trapframe *tf, struct reg_entry *out, int max)
{
	struct reg_entry r[] = {
		{ "rax", tf->rax }, { "rbx", tf->rbx }, { "rcx", tf->rcx }, { "rdx", tf->rdx },
		{ "rsi", tf->rsi }, { "rdi", tf->rdi }, { "rbp", tf->rbp }, { "rsp", tf->rsp },
		{ "r8", tf->r8 }, { "r9", tf->r9 }, { "r10", tf->r10 }, { "r11", tf->r11 },
		{ "r12", tf->r12 }, { "r13", tf->r13 }, { "r14", tf->r14 }, { "r15", tf->r15 },
		{ "rip", tf->rip }, { "rflags", tf->rflags }, { "cs", tf->cs }, { "ss", tf->ss },
		{ "vector", tf->vector }, { "error_code", tf->error_code },
		{ "cr0", read_cr0() }, { "cr2", read_cr2() }, { "cr3", read_cr3() }, { "cr4", read_cr4() },
		{ "efer", rdmsr(MSR_EFER) }, { "gs_base", rdmsr(MSR_GS_BASE) },
		{ "kernel_gs_base", rdmsr(MSR_KERNEL_GS_BASE) }, { "fs_base", rdmsr(MSR_FS_BASE) },
	};
	int n = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(r) && n < max; i++)
		out[n++] = r[i];
	return n;
}

/* ---- dispatch ------------------------------------------------------------ */

static const char *const exc_names[32] = {
	"divide-error", "debug", "nmi", "breakpoint", "overflow", "bound-range",
	"undefined-instruction", "device-not-available", "double-fault",
	"coprocessor-segment-overrun", "invalid-tss", "segment-not-present",
	"stack-segment-fault", "general-protection", "page-fault", "reserved-15",
	"x87-fp", "alignment", "machine-check", "simd-fp", "virtualization",
	"control-protection", "reserved-22", "reserved-23", "reserved-24",
	"reserved-25", "reserved-26", "reserved-27", "hypervisor-injection",
	"vmm-communication", "security", "reserved-31",
};

/* A kernel access to an unmapped page of the vmap region just below the
 * stack pointer is an overflow into a kernel stack's guard page. */
static bool is_guard_hit(const struct trapframe *tf, uintptr_t addr)
{
	if (arch_tf_from_user(tf))
		return false;
	if (kstack_is_guard(addr))
		return true;
	if (addr < KERNEL_VMAP_BASE || addr - KERNEL_VMAP_BASE >= KERNEL_VMAP_SIZE)
		return false;
	if (x86_kernel_va_mapped(addr))
		return false;
	return addr + 2 * PAGE_SIZE >= tf->rsp && addr < tf->rsp + PAGE_SIZE;
}

void x86_trap(struct trapframe *tf)
{
	uint64_t v = tf->vector;
	bool user = arch_tf_from_user(tf);

	if (v == VEC_TIMER) {
		x86_apic_eoi();           /* before: timer_interrupt may switch threads */
		timer_interrupt(tf);
	} else if (v == VEC_WAKE) {
		x86_apic_eoi();
	} else if (v == VEC_SPURIOUS || v == 0x27 || v == 0x2f) {
		/* spurious: no EOI (SDM vol. 3, 11.9) */
	} else if (v == 14) {
		/* #PF error code (SDM vol. 3, 4.7): bit 0 P (protection violation,
		 * not a missing page), 1 W/R, 2 U/S, 3 RSVD, 4 I/D (instruction fetch) */
		uintptr_t addr = read_cr2();
		uint64_t e = tf->error_code;
		unsigned f = 0;
		if (e & 0x10)
			f |= FAULT_EXEC;
		else if (e & 0x2)
			f |= FAULT_WRITE;
		else
			f |= FAULT_READ;
		if (e & 0x4)
			f |= FAULT_USER;
		if (e & 0x1)
			f |= FAULT_PRESENT;
		/* generic code reports a kernel fault in a guard page as kind
		 * "stack-overflow" (kstack_is_guard) */
		trap_page_fault(tf, addr, f, v);
	} else if (v == 8) {
		/* #DF on its IST stack. The pushed frame is the state at the
		 * instruction that started the failed delivery; CR2 still holds the
		 * address of the page fault that turned into the double fault. */
		uintptr_t addr = read_cr2();
		if (is_guard_hit(tf, addr))
			/* the #PF that could not be delivered was a stack push */
			trap_page_fault(tf, addr, FAULT_WRITE, v);
		else
			trap_exception(tf, "double-fault", v, tf->error_code, addr);
	} else if (v < 32) {
		trap_exception(tf, exc_names[v], v, tf->error_code, 0);
	} else {
		x86_apic_eoi();
	}

	if (user) {
		trap_exit_to_user(tf);
		arch_irq_disable();
	}
}

void x86_syscall(struct trapframe *tf)
{
	/* Interrupts were masked by SFMASK for the entry sequence; the stack
	 * is ours now, so let the timer in while the syscall runs. */
	arch_irq_enable();
	syscall_handler(tf);
	trap_exit_to_user(tf);
	arch_irq_disable();
}

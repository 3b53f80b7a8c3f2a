/*
 * trap.c — aarch64 synchronous exception dispatch, trap-frame accessors,
 * threads, unwinding, crash helpers.
 *
 * ESR_EL1 (Arm ARM D17.2.37) describes a synchronous exception: EC[31:26]
 * is the class, ISS[24:0] the class-specific syndrome. For aborts
 * (EC 0x20/0x21 instruction, 0x24/0x25 data; the odd value = taken from
 * EL1) DFSC/IFSC = ISS[5:0] gives the fault type and level, WnR = ISS[6]
 * says write, and FAR_EL1 holds the faulting address unless FnV = ISS[10].
 */
#include "a64.h"
#include <kernel.h>
#include <percpu.h>
#include <panic.h>
#include <mm.h>

void a64_call_on_stack(void *arg, uintptr_t stack_top, void (*fn)(void *)) __attribute__((noreturn));

#define EC_UNKNOWN 0x00
#define EC_WFX 0x01
#define EC_FP 0x07
#define EC_ILLEGAL 0x0e
#define EC_SVC64 0x15
#define EC_SYSREG 0x18
#define EC_IABT_LOW 0x20
#define EC_IABT_CUR 0x21
#define EC_PC_ALIGN 0x22
#define EC_DABT_LOW 0x24
#define EC_DABT_CUR 0x25
#define EC_SP_ALIGN 0x26
#define EC_SERROR 0x2f
#define EC_BRK64 0x3c

static const char *ec_kind(unsigned ec)
{
	switch (ec) {
	case EC_UNKNOWN:
		return "undefined-instruction";
	case EC_FP:
		return "fp-access";
	case EC_ILLEGAL:
		return "illegal-state";
	case EC_SVC64:
		return "svc";
	case EC_SYSREG:
		return "system-register";
	case EC_PC_ALIGN:
	case EC_SP_ALIGN:
		return "alignment";
	case EC_SERROR:
		return "serror";
	case EC_BRK64:
		return "breakpoint";
	case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35:
		return "debug";
	default:
		return "exception";
	}
}

/* Data or instruction abort: page fault, or an exception for other kinds. */
static void do_abort(struct trapframe *tf, bool user, bool exec)
{
	uint64_t esr = tf->esr;
	unsigned fsc = esr & 0x3f;
	unsigned fault = exec ? FAULT_EXEC : ((esr & (1u << 6)) ? FAULT_WRITE : FAULT_READ);
	uintptr_t addr = (esr & (1u << 10)) ? 0 : tf->far;     /* FnV: FAR not valid */

	if (user)
		fault |= FAULT_USER;
	switch (fsc & 0x3c) {
	case 0x00:                   /* address size fault, level n */
	case 0x04:                   /* translation fault, level n */
		break;
	case 0x08:                   /* access flag fault */
	case 0x0c:                   /* permission fault */
		fault |= FAULT_PRESENT;
		break;
	default:
		if (fsc == 0x21) {
			trap_exception(tf, "alignment", esr, fsc, addr);
			return;
		}
		trap_exception(tf, (fsc & 0x3c) == 0x10 ? "external-abort" : "abort", esr, fsc, addr);
		return;
	}
	trap_page_fault(tf, addr, fault, esr);
}

/* Synchronous exception from EL0 (entry.S). */
void a64_el0_sync(struct trapframe *tf)
{
	unsigned ec = (tf->esr >> 26) & 0x3f;

	arch_irq_enable();           /* syscalls and user faults run with interrupts on */
	if (ec == EC_SVC64) {
		syscall_handler(tf);
	} else if (ec == EC_DABT_LOW || ec == EC_IABT_LOW) {
		do_abort(tf, true, ec == EC_IABT_LOW);
	} else {
		trap_exception(tf, ec_kind(ec), tf->esr, tf->esr & 0x1ffffff, tf->far);
	}
	arch_irq_disable();
	trap_exit_to_user(tf);
}

void a64_stack_overflow(struct trapframe *tf) __attribute__((noreturn));

/* Synchronous exception from EL1: a kernel bug (or an injected crash). */
void a64_el1_sync(struct trapframe *tf)
{
	unsigned ec = (tf->esr >> 26) & 0x3f;

	if (ec == EC_DABT_CUR || ec == EC_IABT_CUR) {
		/* Overflow that entry.S could not see from sp alone (a large frame
		 * jumped over the frame-sized probe): the access hit a guard page. */
		if (ec == EC_DABT_CUR && !(tf->esr & (1u << 10)) && kstack_is_guard(tf->far)) {
			struct cpu *c = arch_cpu_local();
			if (c && c->arch_scratch[CPU_EMERG_TOP / 8])
				a64_call_on_stack(tf, c->arch_scratch[CPU_EMERG_TOP / 8],
						  (void (*)(void *))a64_stack_overflow);
			a64_stack_overflow(tf);
		}
		do_abort(tf, false, ec == EC_IABT_CUR);
	} else {
		trap_exception(tf, ec_kind(ec), tf->esr, tf->esr & 0x1ffffff, tf->far);
	}
}

/*
 * Running on this CPU's emergency stack after a kernel stack overflow
 * (entry.S found no room for a frame below sp, or a data abort hit a guard
 * page). A data abort in a guard page goes through trap_page_fault, which
 * recognises the guard (kstack_is_guard) and reports kind "stack-overflow";
 * anything else is reported as the exception "stack-overflow".
 */
void a64_stack_overflow(struct trapframe *tf)
{
	unsigned ec = (tf->esr >> 26) & 0x3f;

	if (ec == EC_DABT_CUR && !(tf->esr & (1u << 10)) && kstack_is_guard(tf->far))
		do_abort(tf, false, false);
	trap_exception(tf, "stack-overflow", tf->esr, tf->esr & 0x3f, tf->far);
	arch_halt_cpu();
}

void a64_bad_vector(struct trapframe *tf, uint64_t which)
{
	static const char *const names[16] = {
		"el1t-sync", "el1t-irq", "el1t-fiq", "el1t-serror",
		"el1h-sync", "el1h-irq", "el1h-fiq", "serror",
		"el0-sync", "el0-irq", "fiq", "serror",
		"aarch32", "aarch32", "aarch32", "aarch32",
	};
	trap_exception(tf, names[which & 15], tf->esr, which, tf->far);
	if (arch_tf_from_user(tf))
		trap_exit_to_user(tf);
	else
		arch_halt_cpu();
}

/* ------------------------------------------------------------------------ */
/* Trap frames. Syscall ABI (svc #0): x8 = number, x0..x5 = arguments,      */
/* x0 = result (Linux-style).                                               */
/* ------------------------------------------------------------------------ */

unsigned long arch_tf_syscall_nr(const struct trapframe *tf) { return tf->x[8]; }

unsigned long arch_tf_arg(const struct trapframe *tf, int n)
{
	return (n >= 0 && n < 6) ? tf->x[n] : 0;
}

void arch_tf_set_ret(struct trapframe *tf, long value) { tf->x[0] = (uint64_t)value; }
uintptr_t arch_tf_pc(const struct trapframe *tf) { return tf->pc; }
uintptr_t arch_tf_sp(const struct trapframe *tf) { return tf->sp; }
uintptr_t arch_tf_fp(const struct trapframe *tf) { return tf->x[29]; }
bool arch_tf_from_user(const struct trapframe *tf) { return (tf->pstate & 0xf) == 0; }   /* M[3:0] = EL0t */

/* No separate error code: ESR_EL1 (the panic record's raw_cause) holds the syndrome. */
bool arch_tf_error_code(const struct trapframe *tf, uint64_t *code) { (void)tf; (void)code; return false; }

/* Every general register as it is now (x[n] = register xn). */
void arch_capture_regs(struct trapframe *tf, uintptr_t pc, uintptr_t fp, uintptr_t sp)
{
	__asm__ volatile(
		"str x0, [%0, #0]\n"
		"str x1, [%0, #8]\n"
		"str x2, [%0, #16]\n"
		"str x3, [%0, #24]\n"
		"str x4, [%0, #32]\n"
		"str x5, [%0, #40]\n"
		"str x6, [%0, #48]\n"
		"str x7, [%0, #56]\n"
		"str x8, [%0, #64]\n"
		"str x9, [%0, #72]\n"
		"str x10, [%0, #80]\n"
		"str x11, [%0, #88]\n"
		"str x12, [%0, #96]\n"
		"str x13, [%0, #104]\n"
		"str x14, [%0, #112]\n"
		"str x15, [%0, #120]\n"
		"str x16, [%0, #128]\n"
		"str x17, [%0, #136]\n"
		"str x18, [%0, #144]\n"
		"str x19, [%0, #152]\n"
		"str x20, [%0, #160]\n"
		"str x21, [%0, #168]\n"
		"str x22, [%0, #176]\n"
		"str x23, [%0, #184]\n"
		"str x24, [%0, #192]\n"
		"str x25, [%0, #200]\n"
		"str x26, [%0, #208]\n"
		"str x27, [%0, #216]\n"
		"str x28, [%0, #224]\n"
		"str x29, [%0, #232]\n"
		"str x30, [%0, #240]\n"
		:: "r"(tf->x) : "memory");
	tf->x[29] = fp;
	tf->sp = sp;
	tf->pc = pc;
	tf->pstate = 0x3c5;           /* EL1h, DAIF masked: a kernel-mode frame */
	tf->esr = 0;
	tf->far = 0;
}

void arch_tf_init_user(struct trapframe *tf, uintptr_t entry, uintptr_t sp,
		       uintptr_t a0, uintptr_t a1, uintptr_t a2)
{
	memset(tf, 0, sizeof(*tf));
	tf->pc = entry;
	tf->sp = sp;
	tf->x[0] = a0;
	tf->x[1] = a1;
	tf->x[2] = a2;
	tf->pstate = 0;              /* EL0t, DAIF clear: interrupts on in user mode */
}

int arch_tf_regs(const struct trapframe *tf, struct reg_entry *out, int max)
{
	static const char *const names[31] = {
		"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10",
		"x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20",
		"x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30",
	};
	int n = 0;

	if (n < max)
		out[n++] = (struct reg_entry){ "pc", tf->pc };
	for (int i = 0; i < 31 && n < max; i++)
		out[n++] = (struct reg_entry){ names[i], tf->x[i] };
	struct reg_entry more[] = {
		{ "sp", tf->sp },
		{ "pstate", tf->pstate },
		{ "esr", tf->esr },
		{ "far", tf->far },
		{ "ttbr0", read_sysreg(ttbr0_el1) },
		{ "ttbr1", read_sysreg(ttbr1_el1) },
		{ "tpidr_el1", read_sysreg(tpidr_el1) },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(more) && n < max; i++)
		out[n++] = more[i];
	return n;
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                  */
/* ------------------------------------------------------------------------ */

void arch_context_init(struct arch_context *ctx, uintptr_t kstack_top,
		       void (*entry)(void *), void *arg)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->lr = (uint64_t)(uintptr_t)a64_thread_start;
	ctx->sp = kstack_top & ~15ul;
	ctx->x19 = (uint64_t)(uintptr_t)entry;
	ctx->x20 = (uint64_t)(uintptr_t)arg;
}

/* ------------------------------------------------------------------------ */
/* Debug                                                                    */
/* ------------------------------------------------------------------------ */

/* Is the kernel address va readable right now? AT S1E1R asks the MMU
 * (Arm ARM D8.13); PAR_EL1.F = 1 means the translation faults. */
bool a64_kaddr_readable(uintptr_t va)
{
	if (va < DIRECT_MAP_BASE)
		return false;
	unsigned long flags = arch_irq_save();
	__asm__ volatile("at s1e1r, %0\n\tisb" :: "r"(va) : "memory");
	uint64_t par = read_sysreg(par_el1);
	arch_irq_restore(flags);
	return !(par & 1);
}

/*
 * AAPCS64 frame records (with -fno-omit-frame-pointer): x29 points at
 * {caller's x29, return address}. The record of a trap frame (entry.S)
 * chains the interrupted code in.
 */
bool arch_unwind_step(uintptr_t *fp, uintptr_t *ret_addr)
{
	uintptr_t f = *fp;

	if (!f || (f & 7) || !a64_kaddr_readable(f) || !a64_kaddr_readable(f + 8))
		return false;
	uintptr_t next = ((uintptr_t *)f)[0];
	uintptr_t ra = ((uintptr_t *)f)[1];
	if (!ra)
		return false;
	*ret_addr = ra;
	*fp = next;
	return true;
}

uintptr_t arch_current_fp(void)
{
	return (uintptr_t)__builtin_frame_address(0);
}

void arch_crash_undefined(void)
{
	__asm__ volatile("udf #0");
}

bool arch_crash_divide(void)
{
	return false;   /* AArch64 SDIV/UDIV by zero return 0 (Arm ARM C3.4.8): no trap */
}

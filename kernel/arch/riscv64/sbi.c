/*
 * sbi.c — calls into the Supervisor Binary Interface (OpenSBI).
 *
 * RISC-V SBI spec v1.0, chapter 3 "Binary Encoding": a7 = extension id,
 * a6 = function id, a0..a5 arguments; the firmware returns an error code in
 * a0 and a value in a1.
 */
#include "rv.h"

#define SBI_EXT_TIME 0x54494D45      /* "TIME" */
#define SBI_EXT_IPI 0x735049         /* "sPI" */
#define SBI_EXT_RFENCE 0x52464E43    /* "RFNC" */
#define SBI_EXT_HSM 0x48534D         /* "HSM" */
#define SBI_EXT_SRST 0x53525354      /* "SRST" */

struct sbiret sbi_call(long ext, long fid, long a0, long a1, long a2, long a3)
{
	register long r_a0 __asm__("a0") = a0;
	register long r_a1 __asm__("a1") = a1;
	register long r_a2 __asm__("a2") = a2;
	register long r_a3 __asm__("a3") = a3;
	register long r_a6 __asm__("a6") = fid;
	register long r_a7 __asm__("a7") = ext;

	__asm__ volatile("ecall"
			 : "+r"(r_a0), "+r"(r_a1)
			 : "r"(r_a2), "r"(r_a3), "r"(r_a6), "r"(r_a7)
			 : "memory");
	return (struct sbiret){ .error = r_a0, .value = r_a1 };
}

/* Program the next timer interrupt (chapter 6); also clears a pending STIP. */
void sbi_set_timer(uint64_t stime)
{
	sbi_call(SBI_EXT_TIME, 0, (long)stime, 0, 0, 0);
}

/* Start a stopped hart at start_pa in S-mode with a0 = hartid, a1 = opaque
 * (chapter 9, "Hart State Management"). */
long sbi_hart_start(uint64_t hartid, uint64_t start_pa, uint64_t opaque)
{
	return sbi_call(SBI_EXT_HSM, 0, (long)hartid, (long)start_pa, (long)opaque, 0).error;
}

/* Raise a supervisor software interrupt on the harts in mask << base. */
long sbi_send_ipi(unsigned long mask, unsigned long base)
{
	return sbi_call(SBI_EXT_IPI, 0, (long)mask, (long)base, 0, 0).error;
}

/* sfence.vma on remote harts (chapter 8). base = -1 means "all harts". */
long sbi_remote_sfence_vma(unsigned long mask, unsigned long base, uintptr_t start, size_t size)
{
	return sbi_call(SBI_EXT_RFENCE, 1, (long)mask, (long)base, (long)start, (long)size).error;
}

/* System reset extension (chapter 10): type 0 = shutdown. */
void sbi_shutdown(void)
{
	sbi_call(SBI_EXT_SRST, 0, 0, 0, 0, 0);
	/* Legacy extension 0x08 as a fallback. */
	sbi_call(0x08, 0, 0, 0, 0, 0);
}

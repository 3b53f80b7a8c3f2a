/*
 * klog.h — the kernel log: a ring buffer of structured records.
 *
 * Every kprintf()/klog() call makes one record (a trailing newline is
 * dropped) and echoes it to the console as "[sec.usec] text". The ring is
 * a fixed array of fixed-size records so a debugger or a memory dump can
 * read it without running kernel code: record i of sequence s lives at
 * rec[s % KLOG_NRECORDS], and is valid while s >= next_seq - KLOG_NRECORDS.
 */
#ifndef AXIOM_KLOG_H
#define AXIOM_KLOG_H

#include <stdint.h>
#include <stddef.h>
#include <spinlock.h>

#define KLOG_NRECORDS 512
#define KLOG_TEXT_MAX 200

struct klog_record {
	uint64_t seq;                 /* sequence number, from 0 */
	uint64_t ts_ns;               /* arch_time_ns() when logged */
	int32_t pid;                  /* current process, 0 for the kernel */
	uint16_t cpu;                 /* CPU that logged it */
	uint8_t level;                /* KLOG_* (syslog levels) */
	uint8_t len;                  /* bytes of text, no NUL counted */
	char text[KLOG_TEXT_MAX];     /* NUL-terminated */
};

struct klog_ring {
	uint32_t magic;               /* KLOG_MAGIC */
	uint32_t nrecords;            /* KLOG_NRECORDS */
	uint32_t record_size;         /* sizeof(struct klog_record) */
	uint32_t reserved;
	uint64_t next_seq;            /* sequence the next record gets */
	struct spinlock lock;
	struct klog_record rec[KLOG_NRECORDS];
};

#define KLOG_MAGIC 0x474f4c4bu     /* "KLOG" */

extern struct klog_ring klog_ring;

/* Format the first record with sequence >= *seq into buf as
 * "<level>,<seq>,<ts_us>,<cpu>,<pid>;text\n" (Linux /dev/kmsg style),
 * set *seq past it; returns the length or 0 when there is none yet. */
size_t klog_read(uint64_t *seq, char *buf, size_t n);
/* The sequence number the next record will get. */
uint64_t klog_next_seq(void);
/* While true (panic), records are written to the ring without locks or echo. */
void klog_panic_mode(void);

#endif

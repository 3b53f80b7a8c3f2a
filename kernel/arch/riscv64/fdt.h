/*
 * fdt.h — the little the riscv64 boot needs from the flattened device tree
 * (Devicetree Specification v0.4, chapter 5 "Flattened Devicetree (DTB)
 * Format"). Private to kernel/arch/riscv64.
 */
#ifndef RV_FDT_H
#define RV_FDT_H

#include <stdint.h>
#include <stdbool.h>

#define FDT_MAX_MEM 16
#define FDT_MAX_RSV 16
#define FDT_MAX_HARTS 8

struct fdt_range {
	uint64_t base, size;
};

struct fdt_info {
	bool valid;
	uint32_t totalsize;
	struct fdt_range mem[FDT_MAX_MEM];
	unsigned nmem;
	struct fdt_range rsv[FDT_MAX_RSV];   /* /memreserve/ and /reserved-memory children */
	unsigned nrsv;
	uint64_t harts[FDT_MAX_HARTS];       /* hart ids of enabled cpu nodes, in tree order */
	unsigned nharts;
	uint64_t timebase_hz;                /* /cpus timebase-frequency */
	uint64_t uart_pa;                    /* first ns16550 compatible node, 0 if none */
	uint64_t plic_pa;                    /* riscv,plic0 / sifive,plic-1.0.0, 0 if none */
	char bootargs[256];                  /* /chosen bootargs */
};

/* Parse the DTB at `fdt` (any address the caller can read). Uses only
 * PC-relative code so it also works before paging is enabled. Returns false
 * if the header is not a valid DTB. */
bool fdt_parse(const void *fdt, struct fdt_info *out);

#endif

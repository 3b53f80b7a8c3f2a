/*
 * fdt.c — a minimal flattened-device-tree reader.
 *
 * A DTB is a header, a memory reservation block, a structure block (a token
 * stream: BEGIN_NODE name, PROP len nameoff value, END_NODE, ..., END) and a
 * strings block holding property names. Everything is big-endian. Properties
 * of a node come before its children, so a child's `reg` can be decoded with
 * the #address-cells / #size-cells its parent declared (default 2 / 1, DT
 * spec 2.3.5).
 *
 * This runs before paging (see entry.S): no global pointers, no switch
 * tables, nothing but stack and the `out` structure.
 */
#include "fdt.h"
#include <kernel.h>

#define FDT_MAGIC 0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9
#define FDT_MAX_DEPTH 16

static uint32_t be32(const void *p)
{
	const uint8_t *b = p;
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static uint64_t be64(const void *p)
{
	return ((uint64_t)be32(p) << 32) | be32((const uint8_t *)p + 4);
}

/* Read a number of `cells` 32-bit cells (1 or 2). */
static uint64_t read_cells(const uint8_t *p, uint32_t cells)
{
	return cells == 2 ? be64(p) : (cells == 1 ? be32(p) : 0);
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static bool str_prefix(const char *s, const char *prefix)
{
	while (*prefix) {
		if (*s++ != *prefix++)
			return false;
	}
	return true;
}

/* Does the stringlist (len bytes) contain `want`? */
static bool stringlist_has(const char *list, uint32_t len, const char *want)
{
	uint32_t i = 0;

	while (i < len) {
		const char *s = list + i;
		if (str_eq(s, want))
			return true;
		while (i < len && list[i])
			i++;
		i++;
	}
	return false;
}

/* What we learn about one node while walking its properties. */
struct node_state {
	const char *name;
	const uint8_t *reg;
	uint32_t reg_len;
	bool is_memory, is_cpu, disabled, is_uart, is_plic;
	uint32_t addr_cells, size_cells;   /* this node's #cells, for its children */
};

static void add_ranges(struct fdt_range *arr, unsigned *n, unsigned max,
		       const uint8_t *reg, uint32_t len, uint32_t ac, uint32_t sc)
{
	uint32_t step = (ac + sc) * 4;

	if (step == 0 || ac > 2 || sc > 2)
		return;
	for (uint32_t off = 0; off + step <= len && *n < max; off += step) {
		uint64_t base = read_cells(reg + off, ac);
		uint64_t size = read_cells(reg + off + ac * 4, sc);
		if (size) {
			arr[*n].base = base;
			arr[*n].size = size;
			(*n)++;
		}
	}
}

bool fdt_parse(const void *fdt, struct fdt_info *out)
{
	const uint8_t *base = fdt;
	struct node_state st[FDT_MAX_DEPTH];
	int depth = -1;

	memset(out, 0, sizeof(*out));
	if (!fdt || be32(base) != FDT_MAGIC)
		return false;
	uint32_t totalsize = be32(base + 4);
	uint32_t off_struct = be32(base + 8);
	uint32_t off_strings = be32(base + 12);
	uint32_t off_rsvmap = be32(base + 16);
	uint32_t size_struct = be32(base + 36);
	if (off_struct >= totalsize || off_strings >= totalsize || off_rsvmap >= totalsize)
		return false;
	out->totalsize = totalsize;

	/* Memory reservation block: (address, size) pairs ending with 0, 0. */
	for (const uint8_t *r = base + off_rsvmap; r + 16 <= base + totalsize; r += 16) {
		uint64_t a = be64(r), s = be64(r + 8);
		if (!a && !s)
			break;
		if (out->nrsv < FDT_MAX_RSV) {
			out->rsv[out->nrsv].base = a;
			out->rsv[out->nrsv].size = s;
			out->nrsv++;
		}
	}

	const uint8_t *p = base + off_struct;
	const uint8_t *end = p + size_struct;
	if (end > base + totalsize)
		end = base + totalsize;

	while (p + 4 <= end) {
		uint32_t tok = be32(p);
		p += 4;
		if (tok == FDT_BEGIN_NODE) {
			const char *name = (const char *)p;
			size_t n = strnlen(name, (size_t)(end - p));
			p += ALIGN_UP(n + 1, 4);
			if (++depth >= FDT_MAX_DEPTH)
				return false;
			struct node_state *ns = &st[depth];
			memset(ns, 0, sizeof(*ns));
			ns->name = name;
			ns->addr_cells = 2;       /* DT spec defaults */
			ns->size_cells = 1;
		} else if (tok == FDT_END_NODE) {
			if (depth < 0)
				return false;
			struct node_state *ns = &st[depth];
			struct node_state *parent = depth > 0 ? &st[depth - 1] : NULL;
			uint32_t ac = parent ? parent->addr_cells : 2;
			uint32_t sc = parent ? parent->size_cells : 1;
			if (ns->is_memory && ns->reg && !ns->disabled)
				add_ranges(out->mem, &out->nmem, FDT_MAX_MEM, ns->reg, ns->reg_len, ac, sc);
			if (depth == 2 && str_prefix(parent->name, "reserved-memory") && ns->reg)
				add_ranges(out->rsv, &out->nrsv, FDT_MAX_RSV, ns->reg, ns->reg_len, ac, sc);
			if (ns->is_cpu && !ns->disabled && ns->reg && ns->reg_len >= ac * 4 &&
			    out->nharts < FDT_MAX_HARTS)
				out->harts[out->nharts++] = read_cells(ns->reg, ac);
			if (ns->is_uart && !ns->disabled && !out->uart_pa && ns->reg)
				out->uart_pa = read_cells(ns->reg, ac);
			if (ns->is_plic && !out->plic_pa && ns->reg)
				out->plic_pa = read_cells(ns->reg, ac);
			depth--;
		} else if (tok == FDT_PROP) {
			if (p + 8 > end || depth < 0)
				return false;
			uint32_t len = be32(p);
			uint32_t nameoff = be32(p + 4);
			const uint8_t *val = p + 8;
			p = val + ALIGN_UP(len, 4);
			if (p > end || off_strings + nameoff >= totalsize)
				return false;
			const char *pname = (const char *)base + off_strings + nameoff;
			struct node_state *ns = &st[depth];
			if (str_eq(pname, "reg")) {
				ns->reg = val;
				ns->reg_len = len;
			} else if (str_eq(pname, "#address-cells") && len == 4) {
				ns->addr_cells = be32(val);
			} else if (str_eq(pname, "#size-cells") && len == 4) {
				ns->size_cells = be32(val);
			} else if (str_eq(pname, "device_type")) {
				ns->is_memory = stringlist_has((const char *)val, len, "memory");
				ns->is_cpu = stringlist_has((const char *)val, len, "cpu");
			} else if (str_eq(pname, "status")) {
				ns->disabled = !(stringlist_has((const char *)val, len, "okay") ||
						 stringlist_has((const char *)val, len, "ok"));
			} else if (str_eq(pname, "compatible")) {
				ns->is_uart = stringlist_has((const char *)val, len, "ns16550a") ||
					      stringlist_has((const char *)val, len, "ns16550");
				ns->is_plic = stringlist_has((const char *)val, len, "riscv,plic0") ||
					      stringlist_has((const char *)val, len, "sifive,plic-1.0.0");
			} else if (str_eq(pname, "bootargs") && depth == 1 && str_eq(ns->name, "chosen")) {
				uint32_t n = len < sizeof(out->bootargs) ? len : sizeof(out->bootargs) - 1;
				memcpy(out->bootargs, val, n);
				out->bootargs[n] = 0;
			} else if (str_eq(pname, "timebase-frequency") && depth == 1 &&
				   str_eq(ns->name, "cpus")) {
				out->timebase_hz = len == 8 ? be64(val) : be32(val);
			}
		} else if (tok == FDT_NOP) {
			continue;
		} else if (tok == FDT_END) {
			break;
		} else {
			return false;
		}
	}
	out->valid = true;
	return true;
}

/*
 * pt.c — the one translation-table builder of the aarch64 port, used both
 * by the early boot code (MMU off: a table's physical address is a usable
 * pointer) and later (tables reached through the direct map).
 *
 * VMSAv8-64 stage 1 (Arm ARM D8.2 "Translation table walk", D8.3
 * "Translation table descriptor formats"): with a 2^g byte granule every
 * table is one granule of 2^(g-3) eight-byte descriptors and resolves g-3
 * VA bits. For 48-bit VAs the walk starts at level 0 (4K, 16K: level 0 then
 * resolves 9 or 1 bits) or level 1 (64K: 6 bits). A descriptor at levels
 * 0-2 is a table (bits[1:0] = 0b11) or a block (0b01, only where
 * PT_BLOCK_OK); at level 3 it is a page (0b11).
 */
#include "a64.h"
#include <kernel.h>
#include <axiom/errno.h>

uintptr_t direct_map_base = DIRECT_MAP_BASE;
bool a64_pt_mmu_on;

uint64_t *a64_pt_table(uint64_t pa)
{
	return (uint64_t *)(uintptr_t)(a64_pt_mmu_on ? pa + direct_map_base : pa);
}

/*
 * Map [va, va+size) -> pa with `attrs` (lower and upper attributes of a
 * block/page descriptor). With `blocks`, the largest block the alignment of
 * va and pa and the remaining size allow is used at each step. New tables
 * come from alloc() (a zeroed granule, physical address, 0 when out of
 * memory). Returns 0, -ENOMEM, or -EEXIST if something is mapped already.
 * The caller orders the writes before their use (dsb ishst) and invalidates
 * TLBs where a valid entry changed.
 */
int a64_pt_map_range(uint64_t root, uint64_t va, uint64_t pa, uint64_t size,
		     uint64_t attrs, bool blocks, uint64_t (*alloc)(void))
{
	while (size) {
		int level = 3;
		if (blocks) {
			for (int l = PT_START_LEVEL + 1; l < 3; l++) {
				uint64_t bs = 1ul << PT_LEVEL_SHIFT(l);
				if (PT_BLOCK_OK(l) && !(va & (bs - 1)) && !(pa & (bs - 1)) && size >= bs) {
					level = l;
					break;
				}
			}
		}
		uint64_t *t = a64_pt_table(root);
		for (int l = PT_START_LEVEL; l < level; l++) {
			uint64_t *e = &t[PT_INDEX(va, l)];
			if (!(*e & PTE_VALID)) {
				uint64_t n = alloc();
				if (!n)
					return -ENOMEM;
				*e = n | PTE_VALID | PTE_TABLE;
			} else if (!(*e & PTE_TABLE)) {
				return -EEXIST;          /* a block covers it already */
			}
			t = a64_pt_table(*e & PTE_ADDR_MASK);
		}
		uint64_t *e = &t[PT_INDEX(va, level)];
		if (*e & PTE_VALID)
			return -EEXIST;
		*e = (pa & PTE_ADDR_MASK) | attrs | PTE_VALID | (level == 3 ? PTE_PAGE : 0);
		uint64_t bs = 1ul << PT_LEVEL_SHIFT(level);
		va += bs;
		pa += bs;
		size = size > bs ? size - bs : 0;
	}
	return 0;
}

/* The valid leaf (block or page descriptor) translating va, or NULL. */
uint64_t *a64_pt_lookup(uint64_t root, uint64_t va, int *level)
{
	uint64_t *t = a64_pt_table(root);
	for (int l = PT_START_LEVEL; l <= 3; l++) {
		uint64_t *e = &t[PT_INDEX(va, l)];
		if (!(*e & PTE_VALID))
			return NULL;
		if (l == 3 || !(*e & PTE_TABLE)) {
			if (l == 3 && !(*e & PTE_PAGE))
				return NULL;             /* reserved encoding at level 3 */
			if (level)
				*level = l;
			return e;
		}
		t = a64_pt_table(*e & PTE_ADDR_MASK);
	}
	return NULL;
}

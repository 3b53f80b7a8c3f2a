/*
 * pmm.c — the physical frame allocator (mm.h).
 *
 * One bit per frame between the lowest and highest usable address the boot
 * protocol reported (1 = free). The bitmap itself is carved from the first
 * usable region big enough. Allocation is next-fit from a hint; every frame
 * handed out is zeroed through the direct map, so page tables and user
 * pages never leak old contents.
 */
#include <kernel.h>
#include <mm.h>
#include <sbuf.h>
#include <panic.h>

struct pmm_state pmm = { .lock = SPINLOCK_INIT("pmm") };

static inline bool bit_free(uint64_t i) { return pmm.bitmap[i / 64] & (1ull << (i % 64)); }
static inline void bit_set_free(uint64_t i) { pmm.bitmap[i / 64] |= 1ull << (i % 64); }
static inline void bit_set_used(uint64_t i) { pmm.bitmap[i / 64] &= ~(1ull << (i % 64)); }

void pmm_init(struct boot_info *bi)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (unsigned i = 0; i < bi->nusable; i++) {
		uint64_t b = ALIGN_UP(bi->usable[i].base, PAGE_SIZE);
		uint64_t e = ALIGN_DOWN(bi->usable[i].base + bi->usable[i].size, PAGE_SIZE);
		if (e <= b)
			continue;
		lo = MIN(lo, b);
		hi = MAX(hi, e);
	}
	if (hi <= lo)
		panic("pmm: no usable memory");
	pmm.base_pa = lo;
	pmm.nframes = (hi - lo) / PAGE_SIZE;
	uint64_t bitmap_bytes = ALIGN_UP(ALIGN_UP(pmm.nframes, 64) / 8, PAGE_SIZE);

	/* Place the bitmap at the start of the first region that holds it. */
	uint64_t bitmap_pa = 0;
	for (unsigned i = 0; i < bi->nusable; i++) {
		uint64_t b = ALIGN_UP(bi->usable[i].base, PAGE_SIZE);
		uint64_t e = ALIGN_DOWN(bi->usable[i].base + bi->usable[i].size, PAGE_SIZE);
		if (e > b && e - b >= bitmap_bytes) {
			bitmap_pa = b;
			break;
		}
	}
	if (!bitmap_pa)
		panic("pmm: no room for the frame bitmap (%llu bytes)", (unsigned long long)bitmap_bytes);
	pmm.bitmap = phys_to_virt(bitmap_pa);
	memset(pmm.bitmap, 0, bitmap_bytes);

	for (unsigned i = 0; i < bi->nusable; i++) {
		uint64_t b = ALIGN_UP(bi->usable[i].base, PAGE_SIZE);
		uint64_t e = ALIGN_DOWN(bi->usable[i].base + bi->usable[i].size, PAGE_SIZE);
		for (uint64_t pa = b; pa < e; pa += PAGE_SIZE) {
			if (pa >= bitmap_pa && pa < bitmap_pa + bitmap_bytes)
				continue;
			uint64_t idx = (pa - lo) / PAGE_SIZE;
			if (!bit_free(idx)) {
				bit_set_free(idx);
				pmm.total_frames++;
			}
		}
	}
	pmm.free_frames = pmm.total_frames;
	pmm.reserved_frames = pmm.nframes - pmm.total_frames;
	pmm.next_hint = 0;
}

/* Find `n` consecutive free frames, mark them used; returns the index or -1. */
static int64_t find_run(uint64_t n)
{
	for (int pass = 0; pass < 2; pass++) {
		uint64_t start = pass == 0 ? pmm.next_hint : 0;
		uint64_t end = pass == 0 ? pmm.nframes : MIN(pmm.next_hint + n, pmm.nframes);
		uint64_t run = 0;
		for (uint64_t i = start; i < end; i++) {
			/* Skip whole used words quickly. */
			if (run == 0 && (i % 64) == 0 && pmm.bitmap[i / 64] == 0) {
				i += 63;
				continue;
			}
			run = bit_free(i) ? run + 1 : 0;
			if (run == n) {
				uint64_t first = i + 1 - n;
				for (uint64_t j = first; j <= i; j++)
					bit_set_used(j);
				pmm.next_hint = i + 1 < pmm.nframes ? i + 1 : 0;
				return (int64_t)first;
			}
		}
	}
	return -1;
}

uint64_t pmm_alloc_pages(uint64_t n)
{
	if (n == 0)
		return 0;
	spin_lock(&pmm.lock);
	int64_t idx = n <= pmm.free_frames ? find_run(n) : -1;
	if (idx >= 0) {
		pmm.free_frames -= n;
		pmm.alloc_calls++;
	}
	spin_unlock(&pmm.lock);
	if (idx < 0)
		return 0;
	uint64_t pa = pmm.base_pa + (uint64_t)idx * PAGE_SIZE;
	memset(phys_to_virt(pa), 0, n * PAGE_SIZE);
	return pa;
}

uint64_t pmm_alloc_page(void)
{
	return pmm_alloc_pages(1);
}

void pmm_free_pages(uint64_t pa, uint64_t n)
{
	if ((pa & (PAGE_SIZE - 1)) || pa < pmm.base_pa ||
	    (pa - pmm.base_pa) / PAGE_SIZE + n > pmm.nframes)
		panic("pmm_free: bad frame 0x%llx", (unsigned long long)pa);
	uint64_t idx = (pa - pmm.base_pa) / PAGE_SIZE;
	spin_lock(&pmm.lock);
	for (uint64_t i = idx; i < idx + n; i++) {
		if (bit_free(i)) {
			spin_unlock(&pmm.lock);
			panic("pmm_free: double free of frame 0x%llx",
			      (unsigned long long)(pmm.base_pa + i * PAGE_SIZE));
		}
		bit_set_free(i);
	}
	pmm.free_frames += n;
	pmm.free_calls++;
	spin_unlock(&pmm.lock);
}

void pmm_free_page(uint64_t pa)
{
	pmm_free_pages(pa, 1);
}

uint64_t pmm_free_count(void)
{
	return __atomic_load_n(&pmm.free_frames, __ATOMIC_RELAXED);
}

void pmm_view(struct sbuf *sb)
{
	spin_lock(&pmm.lock);
	uint64_t total = pmm.total_frames, free = pmm.free_frames, reserved = pmm.reserved_frames;
	spin_unlock(&pmm.lock);
	sbuf_printf(sb, "page_size %lu\n", (unsigned long)PAGE_SIZE);
	sbuf_printf(sb, "total_frames %llu\n", (unsigned long long)total);
	sbuf_printf(sb, "free_frames %llu\n", (unsigned long long)free);
	sbuf_printf(sb, "used_frames %llu\n", (unsigned long long)(total - free));
	sbuf_printf(sb, "reserved_frames %llu\n", (unsigned long long)reserved);
	sbuf_printf(sb, "base_pa 0x%llx\n", (unsigned long long)pmm.base_pa);
	sbuf_printf(sb, "span_frames %llu\n", (unsigned long long)pmm.nframes);
	extern uint64_t heap_bytes_in_use, heap_objects_live, heap_slab_pages, kstacks_live;
	sbuf_printf(sb, "heap_bytes %llu\n", (unsigned long long)heap_bytes_in_use);
	sbuf_printf(sb, "heap_objects %llu\n", (unsigned long long)heap_objects_live);
	sbuf_printf(sb, "heap_slab_pages %llu\n", (unsigned long long)heap_slab_pages);
	sbuf_printf(sb, "kernel_stacks %llu\n", (unsigned long long)kstacks_live);
	sbuf_printf(sb, "MemTotal: %llu kB\n", (unsigned long long)(total * PAGE_SIZE / 1024));
	sbuf_printf(sb, "MemFree: %llu kB\n", (unsigned long long)(free * PAGE_SIZE / 1024));
}

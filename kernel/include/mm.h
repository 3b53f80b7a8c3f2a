/*
 * mm.h — physical frames, kernel stacks and user address spaces.
 */
#ifndef AXIOM_MM_H
#define AXIOM_MM_H

#include <kernel.h>
#include <spinlock.h>
#include <arch/arch.h>

struct boot_info;
struct sbuf;

/* ---- physical frame allocator (kernel/mm/pmm.c) ---- */

/*
 * A bitmap allocator over the usable RAM regions of boot_info. One bit per
 * frame of [base_pa, base_pa + nframes * PAGE_SIZE); 1 = free. Frames that are
 * not usable RAM (holes, the kernel image, firmware) are never free and count
 * as reserved.
 */
struct pmm_state {
	struct spinlock lock;
	uint64_t base_pa;             /* first frame covered by the bitmap */
	uint64_t nframes;             /* frames covered by the bitmap */
	uint64_t total_frames;        /* usable frames handed to the allocator at boot */
	uint64_t free_frames;
	uint64_t reserved_frames;     /* nframes - total_frames: holes, kernel, firmware */
	uint64_t next_hint;           /* where the next search starts */
	uint64_t *bitmap;             /* in the direct map */
	uint64_t alloc_calls, free_calls;
};
extern struct pmm_state pmm;

void pmm_init(struct boot_info *bi);
/* A zeroed frame's physical address, or 0 when memory is exhausted. */
uint64_t pmm_alloc_page(void);
void pmm_free_page(uint64_t pa);
/* n physically contiguous zeroed frames (kmalloc's large objects). */
uint64_t pmm_alloc_pages(uint64_t n);
void pmm_free_pages(uint64_t pa, uint64_t n);
uint64_t pmm_free_count(void);
void pmm_view(struct sbuf *sb);

/* ---- kernel stacks in KERNEL_VMAP (kernel/mm/kstack.c) ---- */

/* KSTACK_PAGES mapped pages above one unmapped guard page. */
#define KSTACK_PAGES 4
#define KSTACK_SIZE (KSTACK_PAGES * PAGE_SIZE)
#define KSTACK_SLOT (KSTACK_SIZE + PAGE_SIZE)

struct kstack {
	uintptr_t base;               /* lowest mapped byte (guard page is just below) */
	uintptr_t top;                /* base + KSTACK_SIZE */
};
int kstack_alloc(struct kstack *ks);
void kstack_free(struct kstack *ks);
/* Is addr inside some kernel stack's guard page? */
bool kstack_is_guard(uintptr_t addr);

/* ---- user address spaces (kernel/mm/vm.c) ---- */

#define VMR_READ  MMU_READ
#define VMR_WRITE MMU_WRITE
#define VMR_EXEC  MMU_EXEC

enum vmr_kind { VMR_ELF = 1, VMR_STACK, VMR_ANON };

/* One mapped range [start, end) of a user address space; every page of it is
 * backed by a frame (mappings are populated eagerly). */
struct vm_region {
	struct vm_region *next;       /* sorted by start */
	uintptr_t start, end;
	unsigned prot;                /* VMR_* (MMU_* bits without MMU_USER) */
	int kind;                     /* enum vmr_kind */
};

struct vm {
	struct arch_aspace as;        /* page tables */
	struct spinlock lock;         /* regions and page tables */
	struct vm_region *regions;
	uint64_t pages;               /* frames mapped */
};

/* Lowest address mmap hands out without MAP_FIXED, and the user stack. */
#define USER_MMAP_BASE (USER_TOP / 4)
#define USER_STACK_PAGES 32
#define USER_STACK_TOP (USER_TOP - PAGE_SIZE)   /* one unmapped page above the stack */
#define MMAP_MAX_LEN (64ul << 20)                /* largest single mmap */

struct vm *vm_create(void);
void vm_destroy(struct vm *vm);
/* Map [start, start+len) (page aligned) with fresh zeroed frames. */
int vm_map_anon(struct vm *vm, uintptr_t start, size_t len, unsigned prot, int kind);
int vm_unmap(struct vm *vm, uintptr_t start, size_t len);
/* Find a free range of len bytes at or above USER_MMAP_BASE, 0 if none. Lock held. */
uintptr_t vm_find_free(struct vm *vm, size_t len);
/* Copy into / out of user memory of vm ignoring user permissions but
 * honouring mapping (for the loader): 0 or -EFAULT. */
int vm_write(struct vm *vm, uintptr_t va, const void *src, size_t n);

#endif

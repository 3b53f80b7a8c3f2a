/*
 * uaccess.c — copy_from_user / copy_to_user / strncpy_from_user (uaccess.h).
 *
 * Each page is translated in software with arch_mmu_query under the vm lock
 * (so a concurrent munmap cannot free the frame mid-copy), its user and
 * read/write bits are checked, and the bytes move through the direct map.
 */
#include <kernel.h>
#include <uaccess.h>
#include <proc.h>
#include <mm.h>
#include <axiom/errno.h>

static struct vm *cur_vm(void)
{
	struct process *p = current_process();
	return p ? p->vm : NULL;
}

static bool range_ok(uintptr_t u, size_t n)
{
	return u >= USER_BASE && u < USER_TOP && n <= USER_TOP - u;
}

/* Copy n bytes between kernel buffer k and user address u; to_user selects
 * the direction and the permission that must be present. */
static int copy_user(struct vm *vm, uintptr_t u, void *k, size_t n, bool to_user)
{
	uint8_t *kb = k;

	while (n) {
		size_t chunk = MIN(n, PAGE_SIZE - (u & (PAGE_SIZE - 1)));
		uint64_t pa;
		unsigned prot;
		spin_lock(&vm->lock);
		bool ok = arch_mmu_query(&vm->as, u, &pa, &prot) && (prot & MMU_USER) &&
			  (prot & (to_user ? MMU_WRITE : MMU_READ));
		if (ok) {
			if (to_user)
				memcpy(phys_to_virt(pa), kb, chunk);
			else
				memcpy(kb, phys_to_virt(pa), chunk);
		}
		spin_unlock(&vm->lock);
		if (!ok)
			return -EFAULT;
		u += chunk;
		kb += chunk;
		n -= chunk;
	}
	return 0;
}

int copy_from_user(void *dst, uintptr_t usrc, size_t n)
{
	struct vm *vm = cur_vm();

	if (n == 0)
		return 0;
	if (!vm || !dst || !range_ok(usrc, n))
		return -EFAULT;
	return copy_user(vm, usrc, dst, n, false);
}

int copy_to_user(uintptr_t udst, const void *src, size_t n)
{
	struct vm *vm = cur_vm();

	if (n == 0)
		return 0;
	if (!vm || !src || !range_ok(udst, n))
		return -EFAULT;
	return copy_user(vm, udst, (void *)src, n, true);
}

long strncpy_from_user(char *dst, uintptr_t usrc, size_t max)
{
	struct vm *vm = cur_vm();
	size_t done = 0;

	if (max == 0)
		return -ENAMETOOLONG;
	if (!vm || !dst || usrc < USER_BASE || usrc >= USER_TOP)
		return -EFAULT;
	while (done < max) {
		uintptr_t u = usrc + done;
		if (u >= USER_TOP)
			return -EFAULT;
		size_t chunk = MIN(max - done, PAGE_SIZE - (u & (PAGE_SIZE - 1)));
		uint64_t pa;
		unsigned prot;
		long found = -1;
		spin_lock(&vm->lock);
		bool ok = arch_mmu_query(&vm->as, u, &pa, &prot) && (prot & MMU_USER) && (prot & MMU_READ);
		if (ok) {
			const char *src = phys_to_virt(pa);
			for (size_t i = 0; i < chunk; i++) {
				dst[done + i] = src[i];
				if (!src[i]) {
					found = (long)(done + i);
					break;
				}
			}
		}
		spin_unlock(&vm->lock);
		if (!ok)
			return -EFAULT;
		if (found >= 0)
			return found;
		done += chunk;
	}
	dst[max - 1] = 0;
	return -ENAMETOOLONG;
}

/*
 * sys_mm.c — mmap and munmap (anonymous private mappings only).
 */
#include <kernel.h>
#include <syscalls.h>
#include <proc.h>
#include <mm.h>
#include <axiom/syscall.h>
#include <axiom/errno.h>

long sys_mmap(long addr, long len, long prot, long flags, long fd, long off)
{
	struct process *p = current_process();
	unsigned mprot = 0;

	if (!p || !p->vm)
		return -EINVAL;
	if (len <= 0)
		return -EINVAL;
	if ((unsigned long)len > MMAP_MAX_LEN)
		return -ENOMEM;
	if (prot & ~(long)(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (flags & ~(long)(MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS))
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS) || !(flags & MAP_PRIVATE))
		return -EINVAL;                 /* only anonymous private memory */
	if (fd != -1 && fd != 0)
		return -EINVAL;
	if (off != 0)
		return -EINVAL;
	if ((prot & PROT_WRITE) && (prot & PROT_EXEC))
		return -EINVAL;                 /* W^X */
	if (prot & PROT_READ)
		mprot |= MMU_READ;
	if (prot & PROT_WRITE)
		mprot |= MMU_READ | MMU_WRITE;
	if (prot & PROT_EXEC)
		mprot |= MMU_READ | MMU_EXEC;

	size_t size = ALIGN_UP((size_t)len, PAGE_SIZE);
	uintptr_t start;
	if (flags & MAP_FIXED) {
		start = (uintptr_t)addr;
		if ((start & (PAGE_SIZE - 1)) || start < USER_BASE || start >= USER_TOP ||
		    size > USER_TOP - start)
			return -EINVAL;
		/* MAP_FIXED replaces whatever was there. */
		int err = vm_unmap(p->vm, start, size);
		if (err)
			return err;
	} else {
		spin_lock(&p->vm->lock);
		start = vm_find_free(p->vm, size);
		spin_unlock(&p->vm->lock);
		if (!start)
			return -ENOMEM;
	}
	int err = vm_map_anon(p->vm, start, size, mprot, VMR_ANON);
	/*
	 * -EEXIST means another thread mapped into the range between the free-
	 * range search (or, for MAP_FIXED, our vm_unmap) and vm_map_anon. It is
	 * not part of mmap's documented errors (uapi/axiom/syscall.h), so report
	 * it as -ENOMEM in both cases; `prove syscalls` (errno check) found the
	 * MAP_FIXED case leaking -EEXIST to user space.
	 */
	if (err == -EEXIST)
		return -ENOMEM;
	return err ? err : (long)start;
}

long sys_munmap(long addr, long len)
{
	struct process *p = current_process();

	if (!p || !p->vm)
		return -EINVAL;
	if (len <= 0 || ((uintptr_t)addr & (PAGE_SIZE - 1)))
		return -EINVAL;
	uintptr_t start = (uintptr_t)addr;
	if (start < USER_BASE || start >= USER_TOP || (size_t)len > USER_TOP - start)
		return -EINVAL;
	return vm_unmap(p->vm, start, (size_t)len);
}

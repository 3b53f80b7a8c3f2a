/*
 * elf.c — the program loader: static ELF64 executables (ET_EXEC) for this
 * architecture. Every field is checked before use; anything malformed or
 * unsupported gives -ENOEXEC and never a crash. Segments are copied into
 * freshly mapped zeroed pages (no file-backed mappings), so the bss tail of
 * a segment is zero for free.
 */
#include <kernel.h>
#include <elf.h>
#include <mm.h>
#include <file.h>
#include <axiom/errno.h>

#define LOAD_CHUNK 4096

static int read_exact(struct file *f, void *buf, size_t n, uint64_t off)
{
	long got = vfs_pread(f, buf, n, off);
	if (got < 0)
		return got == -EISDIR ? -EACCES : -ENOEXEC;
	return (size_t)got == n ? 0 : -ENOEXEC;
}

static int check_header(const Elf64_Ehdr *eh)
{
	if (eh->e_ident[0] != 0x7f || eh->e_ident[1] != 'E' || eh->e_ident[2] != 'L' ||
	    eh->e_ident[3] != 'F')
		return -ENOEXEC;
	if (eh->e_ident[4] != ELFCLASS64 || eh->e_ident[5] != ELFDATA2LSB ||
	    eh->e_ident[6] != EV_CURRENT)
		return -ENOEXEC;
	if (eh->e_type != ET_EXEC || eh->e_machine != ARCH_ELF_MACHINE || eh->e_version != EV_CURRENT)
		return -ENOEXEC;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHNUM)
		return -ENOEXEC;
	if (eh->e_phoff > (1ull << 32))
		return -ENOEXEC;
	return 0;
}

static int check_load(const Elf64_Phdr *ph)
{
	if (ph->p_filesz > ph->p_memsz || ph->p_memsz == 0)
		return -ENOEXEC;
	if (ph->p_vaddr < USER_BASE || ph->p_memsz > USER_MMAP_BASE ||
	    ph->p_vaddr > USER_MMAP_BASE - ph->p_memsz)
		return -ENOEXEC;              /* programs live below the mmap area */
	if (ph->p_offset > (1ull << 32) || ph->p_filesz > (1ull << 32))
		return -ENOEXEC;
	if ((ph->p_flags & PF_W) && (ph->p_flags & PF_X))
		return -ENOEXEC;              /* W^X: no writable code */
	return 0;
}

int elf_load(struct vm *vm, const char *path, struct elf_image *out)
{
	struct file *f;
	Elf64_Ehdr eh;
	Elf64_Phdr ph[ELF_MAX_PHNUM];
	uint8_t *buf = NULL;
	int err = vfs_open_kernel(path, &f);

	if (err)
		return err;
	if ((err = read_exact(f, &eh, sizeof(eh), 0)) || (err = check_header(&eh)))
		goto out;
	if ((err = read_exact(f, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff)))
		goto out;

	out->entry = eh.e_entry;
	out->phnum = eh.e_phnum;
	out->phdr_va = 0;
	bool entry_ok = false;
	int nload = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_PHDR)
			out->phdr_va = ph[i].p_vaddr;
		if (ph[i].p_type != PT_LOAD)
			continue;
		if ((err = check_load(&ph[i])))
			goto out;
		nload++;
		if ((ph[i].p_flags & PF_X) && eh.e_entry >= ph[i].p_vaddr &&
		    eh.e_entry < ph[i].p_vaddr + ph[i].p_memsz)
			entry_ok = true;
		if (!out->phdr_va && eh.e_phoff >= ph[i].p_offset &&
		    eh.e_phoff - ph[i].p_offset < ph[i].p_filesz)
			out->phdr_va = ph[i].p_vaddr + (eh.e_phoff - ph[i].p_offset);
	}
	if (!nload || !entry_ok) {
		err = -ENOEXEC;
		goto out;
	}

	buf = kmalloc(LOAD_CHUNK);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD)
			continue;
		uintptr_t start = ALIGN_DOWN(p->p_vaddr, PAGE_SIZE);
		uintptr_t end = ALIGN_UP(p->p_vaddr + p->p_memsz, PAGE_SIZE);
		unsigned prot = 0;
		if (p->p_flags & PF_R)
			prot |= MMU_READ;
		if (p->p_flags & PF_W)
			prot |= MMU_READ | MMU_WRITE;
		if (p->p_flags & PF_X)
			prot |= MMU_READ | MMU_EXEC;
		err = vm_map_anon(vm, start, end - start, prot, VMR_ELF);
		if (err) {
			err = err == -ENOMEM ? -ENOMEM : -ENOEXEC;   /* overlapping segments */
			goto out;
		}
		for (uint64_t done = 0; done < p->p_filesz;) {
			size_t n = MIN(LOAD_CHUNK, p->p_filesz - done);
			if ((err = read_exact(f, buf, n, p->p_offset + done)))
				goto out;
			if (vm_write(vm, p->p_vaddr + done, buf, n)) {
				err = -ENOEXEC;
				goto out;
			}
			done += n;
		}
	}
	err = 0;
out:
	kfree(buf);
	file_put(f);
	return err;
}

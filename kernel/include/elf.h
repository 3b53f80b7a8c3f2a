/*
 * elf.h — ELF64 structures for the program loader (static ET_EXEC only).
 */
#ifndef AXIOM_ELF_H
#define AXIOM_ELF_H

#include <stdint.h>

#define EI_NIDENT 16
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define PT_NULL 0
#define PT_LOAD 1
#define PT_NOTE 4
#define PT_PHDR 6
#define PT_GNU_STACK 0x6474e551
#define PF_X 1
#define PF_W 2
#define PF_R 4

typedef struct {
	unsigned char e_ident[EI_NIDENT];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
} Elf64_Ehdr;

typedef struct {
	uint32_t p_type;
	uint32_t p_flags;
	uint64_t p_offset;
	uint64_t p_vaddr;
	uint64_t p_paddr;
	uint64_t p_filesz;
	uint64_t p_memsz;
	uint64_t p_align;
} Elf64_Phdr;

typedef struct {
	uint32_t n_namesz;
	uint32_t n_descsz;
	uint32_t n_type;
} Elf64_Nhdr;

#define ELF_MAX_PHNUM 16

struct vm;
struct elf_image {
	uintptr_t entry;
	uintptr_t phdr_va;            /* user address of the program headers (0 if not loaded) */
	unsigned phnum;
};

/* Load the static executable at `path` into the (empty) address space vm.
 * Returns 0, -ENOENT/-EACCES... from the VFS, -ENOEXEC for anything
 * malformed, or -ENOMEM. On failure vm may hold partial mappings; the caller
 * destroys it. */
int elf_load(struct vm *vm, const char *path, struct elf_image *out);

#endif

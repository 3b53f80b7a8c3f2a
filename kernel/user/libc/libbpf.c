/*
 * libbpf.c — bpf(2) wrappers and the eBPF ELF object loader (libbpf.h).
 *
 * The loader reads a relocatable ELF64 little-endian object for EM_BPF, as
 * `clang -target bpf -O2 -c` writes it:
 *   - section headers give the sections; ".symtab" names functions (program
 *     names) and the map variables; ".strtab"/".shstrtab" hold the names;
 *   - each executable section "axiom/<type>" is one program (all its code;
 *     static helper functions are inlined by clang at -O2, and bpf-to-bpf calls
 *     inside one section are already resolved by the assembler);
 *   - "maps" holds `struct bpf_map_def` records, one per map symbol;
 *   - ".relaxiom/<type>" (SHT_REL) lists the program's relocations: type
 *     R_BPF_64_64 (1) at a `lddw` whose symbol lies in "maps" becomes
 *     src_reg = BPF_PSEUDO_MAP_FD, imm = map id once the maps exist.
 * Every offset and size is checked against the file before use.
 */
#include <errno.h>
#include <libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ bpf(2) */

long bpf_sys(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, (long)attr, sizeof(*attr), 0, 0, 0);
}

long bpf_map_create(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
		    const char *name)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = key_size;
	a.value_size = value_size;
	a.max_entries = max_entries;
	if (name)
		strlcpy(a.map_name, name, sizeof(a.map_name));
	return bpf_sys(BPF_MAP_CREATE, &a);
}

static int map_op(int cmd, uint32_t map, const void *key, const void *value, uint64_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = map;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;
	a.flags = flags;
	return (int)bpf_sys(cmd, &a);
}

int bpf_map_lookup_elem(uint32_t map, const void *key, void *value)
{
	return map_op(BPF_MAP_LOOKUP_ELEM, map, key, value, 0);
}

int bpf_map_update_elem(uint32_t map, const void *key, const void *value, uint64_t flags)
{
	return map_op(BPF_MAP_UPDATE_ELEM, map, key, value, flags);
}

int bpf_map_delete_elem(uint32_t map, const void *key)
{
	return map_op(BPF_MAP_DELETE_ELEM, map, key, NULL, 0);
}

int bpf_map_get_next_key(uint32_t map, const void *key, void *next_key)
{
	return map_op(BPF_MAP_GET_NEXT_KEY, map, key, next_key, 0);
}

long bpf_ringbuf_pop(uint32_t map, void *buf, uint32_t cap)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = map;
	a.value = (uint64_t)(uintptr_t)buf;
	a.flags = cap;
	return bpf_sys(BPF_MAP_LOOKUP_AND_DELETE_ELEM, &a);
}

long bpf_prog_load(uint32_t type, const struct bpf_insn *insns, uint32_t insn_cnt,
		   const struct bpf_load_opts *o)
{
	union bpf_attr a;
	static const char license[] = "GPL";

	memset(&a, 0, sizeof(a));
	a.prog_type = type;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = insn_cnt;
	a.license = (uint64_t)(uintptr_t)license;
	if (o) {
		if (o->name)
			strlcpy(a.prog_name, o->name, sizeof(a.prog_name));
		if (o->log_buf && o->log_size) {
			o->log_buf[0] = 0;
			a.log_level = o->log_level;
			a.log_buf = (uint64_t)(uintptr_t)o->log_buf;
			a.log_size = o->log_size;
		}
		a.profile = o->profile;
		a.mem_size = o->mem_size;
	}
	return bpf_sys(BPF_PROG_LOAD, &a);
}

static int attach_op(int cmd, uint32_t prog, uint32_t attach_type)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.attach_bpf_fd = prog;
	a.attach_type = attach_type;
	return (int)bpf_sys(cmd, &a);
}

int bpf_prog_attach(uint32_t prog, uint32_t attach_type)
{
	return attach_op(BPF_PROG_ATTACH, prog, attach_type);
}

int bpf_prog_detach(uint32_t prog, uint32_t attach_type)
{
	return attach_op(BPF_PROG_DETACH, prog, attach_type);
}

int bpf_prog_test_run(uint32_t prog, void *data, uint32_t data_size, const void *ctx,
		      uint32_t ctx_size, uint64_t *r0)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.test.prog_fd = prog;
	a.test.data_in = (uint64_t)(uintptr_t)data;
	a.test.data_out = (uint64_t)(uintptr_t)data;
	a.test.data_size_in = data_size;
	a.test.ctx_in = (uint64_t)(uintptr_t)ctx;
	a.test.ctx_size_in = ctx_size;
	long r = bpf_sys(BPF_PROG_TEST_RUN, &a);
	if (r == 0 && r0)
		*r0 = a.test.retval64;
	return (int)r;
}

static int next_id(int cmd, uint32_t start, uint32_t *next)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.start_id = start;
	long r = bpf_sys(cmd, &a);
	if (r == 0)
		*next = a.next_id;
	return (int)r;
}

int bpf_prog_get_next_id(uint32_t start, uint32_t *next)
{
	return next_id(BPF_PROG_GET_NEXT_ID, start, next);
}

int bpf_map_get_next_id(uint32_t start, uint32_t *next)
{
	return next_id(BPF_MAP_GET_NEXT_ID, start, next);
}

int bpf_obj_get_info(uint32_t id, void *info, uint32_t info_len)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = id;
	a.info.info_len = info_len;
	a.info.info = (uint64_t)(uintptr_t)info;
	return (int)bpf_sys(BPF_OBJ_GET_INFO_BY_FD, &a);
}

int bpf_obj_close(uint32_t id)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.start_id = id;
	return (int)bpf_sys(BPF_OBJ_CLOSE, &a);
}

/* ------------------------------------------------------------- names */

static const char *const prog_types[] = {
	"mem", "syscall_enter", "syscall_exit", "sched_switch",
	"page_fault", "proc_exec", "proc_exit", "timer_tick",
};
#define NPROG_TYPES (sizeof(prog_types) / sizeof(prog_types[0]))

const char *bpf_prog_type_name(uint32_t type)
{
	if (type >= BPF_PROG_TYPE_AXIOM_MEM && type - BPF_PROG_TYPE_AXIOM_MEM < NPROG_TYPES)
		return prog_types[type - BPF_PROG_TYPE_AXIOM_MEM];
	return "?";
}

uint32_t bpf_prog_type_by_name(const char *name)
{
	for (uint32_t i = 0; i < NPROG_TYPES; i++)
		if (!strcmp(name, prog_types[i]))
			return BPF_PROG_TYPE_AXIOM_MEM + i;
	return 0;
}

const char *bpf_map_type_name(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_HASH:
		return "hash";
	case BPF_MAP_TYPE_ARRAY:
		return "array";
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return "percpu_array";
	case BPF_MAP_TYPE_RINGBUF:
		return "ringbuf";
	default:
		return "?";
	}
}

/* ------------------------------------------------------- ELF loader */

/* ELF64 structures (the System V gABI), only what a relocatable object needs. */
struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf64_shdr {
	uint32_t name, type;
	uint64_t flags, addr, offset, size;
	uint32_t link, info;
	uint64_t addralign, entsize;
};
struct elf64_sym {
	uint32_t name;
	uint8_t info, other;
	uint16_t shndx;
	uint64_t value, size;
};
struct elf64_rel {
	uint64_t offset, info;
};

#define ET_REL 1
#define EM_BPF 247
#define SHT_PROGBITS 1
#define SHT_SYMTAB 2
#define SHT_REL 9
#define SHF_EXECINSTR 4
#define STT_FUNC 2
#define STT_SECTION 3
#define R_BPF_NONE 0
#define R_BPF_64_64 1
#define R_BPF_64_ABS64 2
#define R_BPF_64_ABS32 3
#define R_BPF_64_32 10
#define SHN_UNDEF 0
#define SHN_LORESERVE 0xff00

/* The legacy map definition of the "maps" section (as Linux's old
 * bpf_helpers.h): five u32 fields. */
struct bpf_map_def_elf {
	uint32_t type, key_size, value_size, max_entries, map_flags;
};

struct elf_file {
	const uint8_t *buf;
	size_t size;
	const struct elf64_shdr *sh;
	uint16_t shnum;
	const char *shstr;
	uint64_t shstr_size;
	char *err;
	size_t errsz;
};

static int fail(struct elf_file *f, const char *fmt, const char *a, long b)
{
	if (f->err && f->errsz)
		snprintf(f->err, f->errsz, fmt, a, b);
	return -EINVAL;
}

/* Is [off, off + len) inside the file? */
static int in_file(const struct elf_file *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

static const char *str_at(const struct elf_file *f, const char *tab, uint64_t tab_size, uint32_t off)
{
	(void)f;
	if (!tab || off >= tab_size || !memchr(tab + off, 0, tab_size - off))
		return NULL;
	return tab + off;
}

static const char *sec_name(const struct elf_file *f, uint32_t i)
{
	const char *n = i < f->shnum ? str_at(f, f->shstr, f->shstr_size, f->sh[i].name) : NULL;
	return n ? n : "";
}

/* Program type of a section name "axiom/<type>[/...]", or 0. */
static uint32_t section_type(const char *name)
{
	char t[32];
	size_t n;

	if (strncmp(name, "axiom/", 6))
		return 0;
	name += 6;
	for (n = 0; name[n] && name[n] != '/' && n < sizeof(t) - 1; n++)
		t[n] = name[n];
	t[n] = 0;
	return bpf_prog_type_by_name(t);
}

static int parse(struct elf_file *f, struct bpf_object *obj)
{
	const struct elf64_ehdr *eh = (const void *)f->buf;
	const struct elf64_sym *syms = NULL;
	const char *strtab = NULL;
	uint64_t nsyms = 0, strtab_size = 0;
	int maps_sec = -1;

	if (f->size < sizeof(*eh) || memcmp(eh->ident, "\177ELF", 4))
		return fail(f, "%snot an ELF file", "", 0);
	if (eh->ident[4] != 2 || eh->ident[5] != 1)
		return fail(f, "%snot a 64-bit little-endian ELF object", "", 0);
	if (eh->type != ET_REL || eh->machine != EM_BPF)
		return fail(f, "%snot a relocatable eBPF object (e_machine %ld)", "", eh->machine);
	if (eh->shentsize != sizeof(struct elf64_shdr) || eh->shnum == 0 ||
	    !in_file(f, eh->shoff, (uint64_t)eh->shnum * sizeof(struct elf64_shdr)) || (eh->shoff & 7))
		return fail(f, "%sbad section header table", "", 0);
	f->sh = (const void *)(f->buf + eh->shoff);
	f->shnum = eh->shnum;
	if (eh->shstrndx >= f->shnum || !in_file(f, f->sh[eh->shstrndx].offset, f->sh[eh->shstrndx].size))
		return fail(f, "%sbad section name table", "", 0);
	f->shstr = (const char *)f->buf + f->sh[eh->shstrndx].offset;
	f->shstr_size = f->sh[eh->shstrndx].size;

	for (uint32_t i = 1; i < f->shnum; i++) {
		const struct elf64_shdr *s = &f->sh[i];
		const char *name = sec_name(f, i);

		if (s->type != 8 /* NOBITS */ && !in_file(f, s->offset, s->size))
			return fail(f, "section %s lies outside the file (%ld)", name, (long)i);
		if (s->type == SHT_SYMTAB) {
			if (s->entsize != sizeof(struct elf64_sym) || (s->offset & 7) || s->link >= f->shnum ||
			    !in_file(f, f->sh[s->link].offset, f->sh[s->link].size))
				return fail(f, "%sbad symbol table", "", 0);
			syms = (const void *)(f->buf + s->offset);
			nsyms = s->size / sizeof(*syms);
			strtab = (const char *)f->buf + f->sh[s->link].offset;
			strtab_size = f->sh[s->link].size;
		} else if (!strcmp(name, "maps")) {
			maps_sec = (int)i;
		} else if (!strcmp(name, ".maps")) {
			return fail(f, "%sBTF-style .maps are not supported: use SEC(\"maps\") bpf_map_def",
				    "", 0);
		}
	}
	if (!syms)
		return fail(f, "%sno symbol table", "", 0);

	/* maps: one per symbol defined in the maps section */
	if (maps_sec >= 0) {
		const struct elf64_shdr *ms = &f->sh[maps_sec];
		for (uint64_t i = 1; i < nsyms; i++) {
			const struct elf64_sym *sy = &syms[i];
			if (sy->shndx != maps_sec || (sy->info & 15) == STT_SECTION)
				continue;
			const char *n = str_at(f, strtab, strtab_size, sy->name);
			if (!n || sy->value > ms->size || ms->size - sy->value < sizeof(struct bpf_map_def_elf))
				return fail(f, "map symbol %s outside the maps section (%ld)", n ? n : "?",
					    (long)i);
			if (obj->nr_maps == BPF_OBJ_MAX_MAPS)
				return fail(f, "%stoo many maps (at most %ld)", "", BPF_OBJ_MAX_MAPS);
			struct bpf_map_def_elf d;
			memcpy(&d, f->buf + ms->offset + sy->value, sizeof(d));
			struct bpf_object_map *m = &obj->maps[obj->nr_maps++];
			strlcpy(m->name, n, sizeof(m->name));
			m->type = d.type;
			m->key_size = d.key_size;
			m->value_size = d.value_size;
			m->max_entries = d.max_entries;
			m->flags = d.map_flags;
			m->sym_off = sy->value;
		}
	}

	/* programs: executable sections named axiom/<type> */
	for (uint32_t i = 1; i < f->shnum; i++) {
		const struct elf64_shdr *s = &f->sh[i];
		const char *name = sec_name(f, i);

		if (s->type != SHT_PROGBITS || !(s->flags & SHF_EXECINSTR) || s->size == 0)
			continue;
		uint32_t type = section_type(name);
		if (!type)
			return fail(f, "code section %s has no axiom/<attach point> name (%ld)", name, (long)i);
		if (s->size % sizeof(struct bpf_insn) || s->size / sizeof(struct bpf_insn) > 1000000)
			return fail(f, "code section %s: bad size %ld", name, (long)s->size);
		if (obj->nr_progs == BPF_OBJ_MAX_PROGS)
			return fail(f, "%stoo many programs (at most %ld)", "", BPF_OBJ_MAX_PROGS);
		struct bpf_object_prog *p = &obj->progs[obj->nr_progs++];
		strlcpy(p->section, name, sizeof(p->section));
		strlcpy(p->name, name, sizeof(p->name));
		p->type = type;
		p->insn_cnt = (uint32_t)(s->size / sizeof(struct bpf_insn));
		p->insns = malloc(s->size);
		if (!p->insns)
			return fail(f, "%sout of memory (%ld)", "", (long)s->size);
		memcpy(p->insns, f->buf + s->offset, s->size);
		/* the program's name: the function symbol at offset 0 */
		for (uint64_t k = 1; k < nsyms; k++) {
			if (syms[k].shndx == i && (syms[k].info & 15) == STT_FUNC && syms[k].value == 0) {
				const char *n = str_at(f, strtab, strtab_size, syms[k].name);
				if (n)
					strlcpy(p->name, n, sizeof(p->name));
			}
		}
		/* its relocations: the SHT_REL section whose sh_info is this section */
		for (uint32_t r = 1; r < f->shnum; r++) {
			const struct elf64_shdr *rs = &f->sh[r];
			if (rs->type != SHT_REL || rs->info != i)
				continue;
			if (rs->entsize != sizeof(struct elf64_rel) || (rs->offset & 7))
				return fail(f, "bad relocation section %s (%ld)", sec_name(f, r), (long)r);
			const struct elf64_rel *rel = (const void *)(f->buf + rs->offset);
			for (uint64_t k = 0; k < rs->size / sizeof(*rel); k++) {
				uint32_t rtype = (uint32_t)rel[k].info, symi = (uint32_t)(rel[k].info >> 32);
				uint64_t off = rel[k].offset;
				if (rtype == R_BPF_NONE)
					continue;
				if (symi >= nsyms)
					return fail(f, "%s: relocation %ld names no symbol", name, (long)k);
				const struct elf64_sym *sy = &syms[symi];
				const char *sn = str_at(f, strtab, strtab_size, sy->name);
				if (!sn || !*sn)
					sn = sy->shndx < f->shnum ? sec_name(f, sy->shndx) : "?";
				if (off % sizeof(struct bpf_insn) || off / sizeof(struct bpf_insn) + 1 >= p->insn_cnt + 1u)
					return fail(f, "relocation against %s at a bad offset %ld", sn, (long)off);
				struct bpf_insn *in = &p->insns[off / sizeof(struct bpf_insn)];
				if (rtype == R_BPF_64_32 && sy->shndx == i)
					continue; /* call inside this section: already resolved */
				if (rtype != R_BPF_64_64 || maps_sec < 0 || sy->shndx != maps_sec)
					return fail(f, "unsupported reference to %s (relocation type %ld): only maps "
						    "from SEC(\"maps\") may be referenced; global variables and calls "
						    "into other sections are not supported",
						    sn, (long)rtype);
				if (in->code != (BPF_LD | BPF_IMM | BPF_DW) ||
				    off / sizeof(struct bpf_insn) + 1 >= p->insn_cnt)
					return fail(f, "relocation against map %s is not at a lddw (%ld)", sn,
						    (long)(off / 8));
				uint64_t map_off = sy->value + (uint64_t)(uint32_t)in->imm;
				uint32_t m;
				for (m = 0; m < obj->nr_maps; m++)
					if (obj->maps[m].sym_off == map_off)
						break;
				if (m == obj->nr_maps)
					return fail(f, "lddw refers to %s, which is not a map definition (%ld)", sn,
						    (long)map_off);
				/* Remember the map index; bpf_object_load patches the id in. */
				in->src_reg = BPF_PSEUDO_MAP_FD;
				in->imm = (int32_t)m;
				in[1].imm = 0;
			}
		}
	}
	if (obj->nr_progs == 0)
		return fail(f, "%sno program sections (axiom/<attach point>)", "", 0);
	return 0;
}

int bpf_object_open_mem(struct bpf_object **out, const void *buf, size_t size, const char *name,
			char *err, size_t errsz)
{
	struct elf_file f = { .buf = buf, .size = size, .err = err, .errsz = errsz };
	struct bpf_object *obj = calloc(1, sizeof(*obj));

	if (err && errsz)
		err[0] = 0;
	*out = NULL;
	if (!obj)
		return -ENOMEM;
	strlcpy(obj->path, name ? name : "", sizeof(obj->path));
	if (((uintptr_t)buf & 7) != 0)
		return fail(&f, "%sobject buffer must be 8-byte aligned", "", 0);
	int r = parse(&f, obj);
	if (r) {
		bpf_object_close(obj, 0);
		return r;
	}
	*out = obj;
	return 0;
}

int bpf_object_open(struct bpf_object **out, const char *path, char *err, size_t errsz)
{
	struct ax_stat st;
	int fd = open(path, O_RDONLY);

	*out = NULL;
	if (fd < 0) {
		int e = errno;
		if (err && errsz)
			snprintf(err, errsz, "%s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > (16 << 20)) {
		close(fd);
		if (err && errsz)
			snprintf(err, errsz, "%s: empty or too large", path);
		return -EINVAL;
	}
	size_t size = (size_t)st.st_size;
	uint64_t *buf = malloc(size + 8); /* malloc is 16-byte aligned */
	size_t got = 0;
	while (buf && got < size) {
		ssize_t n = read(fd, (char *)buf + got, size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!buf || got != size) {
		free(buf);
		if (err && errsz)
			snprintf(err, errsz, "%s: read failed", path);
		return buf ? -EIO : -ENOMEM;
	}
	const char *base = strrchr(path, '/');
	int r = bpf_object_open_mem(out, buf, size, base ? base + 1 : path, err, errsz);
	free(buf);
	return r;
}

static void unload(struct bpf_object *obj)
{
	for (uint32_t i = 0; i < obj->nr_progs; i++) {
		struct bpf_object_prog *p = &obj->progs[i];
		if (p->attached)
			bpf_prog_detach(p->id, p->type);
		p->attached = 0;
		if (p->id)
			bpf_obj_close(p->id);
		p->id = 0;
	}
	for (uint32_t i = 0; i < obj->nr_maps; i++) {
		if (obj->maps[i].id)
			bpf_obj_close(obj->maps[i].id);
		obj->maps[i].id = 0;
	}
}

int bpf_object_load(struct bpf_object *obj, const struct bpf_load_opts *opts, char *err, size_t errsz)
{
	if (err && errsz)
		err[0] = 0;
	for (uint32_t i = 0; i < obj->nr_maps; i++) {
		struct bpf_object_map *m = &obj->maps[i];
		long id = bpf_map_create(m->type, m->key_size, m->value_size, m->max_entries, m->name);
		if (id < 0) {
			if (err && errsz)
				snprintf(err, errsz, "map %s: create failed: %s", m->name, strerror((int)-id));
			unload(obj);
			return (int)id;
		}
		m->id = (uint32_t)id;
	}
	for (uint32_t i = 0; i < obj->nr_progs; i++) {
		struct bpf_object_prog *p = &obj->progs[i];
		struct bpf_load_opts o;
		struct bpf_insn *ins = malloc((size_t)p->insn_cnt * sizeof(*ins));

		if (!ins) {
			unload(obj);
			return -ENOMEM;
		}
		memcpy(ins, p->insns, (size_t)p->insn_cnt * sizeof(*ins));
		for (uint32_t k = 0; k + 1 < p->insn_cnt; k++) {
			if (ins[k].code == (BPF_LD | BPF_IMM | BPF_DW)) {
				if (ins[k].src_reg == BPF_PSEUDO_MAP_FD && (uint32_t)ins[k].imm < obj->nr_maps &&
				    p->insns[k].src_reg == BPF_PSEUDO_MAP_FD)
					ins[k].imm = (int32_t)obj->maps[ins[k].imm].id;
				k++;
			}
		}
		memset(&o, 0, sizeof(o));
		if (opts)
			o = *opts;
		o.name = p->name;
		long id = bpf_prog_load(p->type, ins, p->insn_cnt, &o);
		free(ins);
		if (id < 0) {
			if (err && errsz)
				snprintf(err, errsz, "program %s (%s): load failed: %s", p->name, p->section,
					 strerror((int)-id));
			unload(obj);
			return (int)id;
		}
		p->id = (uint32_t)id;
	}
	return 0;
}

int bpf_object_attach(struct bpf_object *obj, char *err, size_t errsz)
{
	for (uint32_t i = 0; i < obj->nr_progs; i++) {
		struct bpf_object_prog *p = &obj->progs[i];
		if (!p->id || p->attached || p->type == BPF_PROG_TYPE_AXIOM_MEM)
			continue;
		int r = bpf_prog_attach(p->id, p->type);
		if (r < 0) {
			if (err && errsz)
				snprintf(err, errsz, "program %s: attach to %s failed: %s", p->name,
					 bpf_prog_type_name(p->type), strerror(-r));
			return r;
		}
		p->attached = 1;
	}
	return 0;
}

struct bpf_object_map *bpf_object_find_map(struct bpf_object *obj, const char *name)
{
	for (uint32_t i = 0; i < obj->nr_maps; i++)
		if (!strcmp(obj->maps[i].name, name))
			return &obj->maps[i];
	return NULL;
}

struct bpf_object_prog *bpf_object_find_prog(struct bpf_object *obj, const char *name)
{
	for (uint32_t i = 0; i < obj->nr_progs; i++)
		if (!strcmp(obj->progs[i].name, name) || !strcmp(obj->progs[i].section, name))
			return &obj->progs[i];
	return NULL;
}

void bpf_object_close(struct bpf_object *obj, int keep)
{
	if (!obj)
		return;
	if (!keep)
		unload(obj);
	for (uint32_t i = 0; i < obj->nr_progs; i++)
		free(obj->progs[i].insns);
	free(obj);
}

/*
 * layout.c — the layout note and struct axiom_layout (layout.h), the build id.
 */
#include <kernel.h>
#include <layout.h>
#include <elf.h>
#include <klog.h>
#include <mm.h>
#include <percpu.h>
#include <proc.h>
#include <panic.h>
#include <sbuf.h>

extern char __kernel_start[], __kernel_end[];
extern const uint8_t __build_id_note_start[], __build_id_note_end[];

struct axiom_layout axiom_layout __attribute__((section(".data.axiom_layout"), used)) = {
	.magic = AXIOM_LAYOUT_MAGIC,
	.version = AXIOM_LAYOUT_VERSION,
	.size = sizeof(struct axiom_layout),
	.arch = ARCH_NAME,
};

/*
 * The ELF note: link-time facts plus the address of axiom_layout. A tool
 * with only the ELF reads it with `readelf -n`; the runtime fields (paging
 * mode, direct map) are in axiom_layout itself.
 */
struct __attribute__((packed)) axiom_note_desc {
	uint32_t version;
	uint32_t desc_size;
	uint64_t layout_addr;         /* VA of axiom_layout */
	uint64_t kernel_virt_base;    /* VA of __kernel_start */
	uint64_t kernel_phys_base;    /* PA it is loaded at */
	uint64_t page_size;
	uint64_t kernel_vmap_base;
	uint64_t user_top;
	char arch[16];
};

/* Packed: ELF notes are 4-byte aligned, the descriptor follows the name
 * padding directly (offset 20), not at the next 8-byte boundary. */
static const struct __attribute__((packed)) {
	Elf64_Nhdr nhdr;
	char name[8];                 /* "AXIOM\0" padded to 4-byte multiple */
	struct axiom_note_desc desc;
} axiom_note __attribute__((section(".note.axiom"), used, aligned(4))) = {
	.nhdr = { .n_namesz = 6, .n_descsz = sizeof(struct axiom_note_desc), .n_type = AXIOM_NOTE_LAYOUT },
	.name = "AXIOM",
	.desc = {
		.version = AXIOM_LAYOUT_VERSION,
		.desc_size = sizeof(struct axiom_note_desc),
		.layout_addr = (uint64_t)(uintptr_t)&axiom_layout,
		.kernel_virt_base = (uint64_t)(uintptr_t)__kernel_start,
#ifdef KERNEL_PHYS_BASE
		.kernel_phys_base = KERNEL_PHYS_BASE,
#endif
		.page_size = PAGE_SIZE,
		.kernel_vmap_base = KERNEL_VMAP_BASE,
		.user_top = USER_TOP,
		.arch = ARCH_NAME,
	},
};

/* The GNU build-id note: namesz 4 "GNU\0", type 3, desc = the id bytes. */
static const uint8_t *build_id(uint32_t *len)
{
	const uint8_t *p = __build_id_note_start;

	*len = 0;
	while (p + sizeof(Elf64_Nhdr) <= __build_id_note_end) {
		const Elf64_Nhdr *nh = (const Elf64_Nhdr *)p;
		const uint8_t *name = p + sizeof(*nh);
		const uint8_t *desc = name + ALIGN_UP(nh->n_namesz, 4);
		if (nh->n_type == 3 && nh->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
			*len = nh->n_descsz;
			return desc;
		}
		p = desc + ALIGN_UP(nh->n_descsz, 4);
	}
	return NULL;
}

const char *build_id_hex(void)
{
	static char hex[2 * 32 + 1];
	uint32_t len;
	const uint8_t *id = build_id(&len);

	if (!id)
		return "unknown";
	if (len > 32)
		len = 32;
	for (uint32_t i = 0; i < len; i++) {
		hex[2 * i] = "0123456789abcdef"[id[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[id[i] & 15];
	}
	hex[2 * len] = 0;
	return hex;
}

void layout_init(const char *cmdline, uint64_t ram_top)
{
	struct axiom_layout *l = &axiom_layout;
	const char *mode = arch_paging_mode();
	uint32_t len;
	const uint8_t *id = build_id(&len);

	strlcpy(l->paging_mode, mode, sizeof(l->paging_mode));
	/* VA width from the mode name (riscv "sv48", x86 "5-level", arm
	 * "16k-48bit"); the number of levels then follows from the page size:
	 * each level resolves PAGE_SHIFT-3 bits (a table is one page of 8-byte
	 * entries) above the PAGE_SHIFT offset bits, on all three arches. */
	l->va_bits = 0;
	if (!strncmp(mode, "sv", 2))
		l->va_bits = (uint32_t)((mode[2] - '0') * 10 + (mode[3] - '0'));
	else if (!strcmp(mode, "4-level"))
		l->va_bits = 48;
	else if (!strcmp(mode, "5-level"))
		l->va_bits = 57;
	else {
		const char *dash = strchr(mode, '-');
		if (dash && dash[1] >= '0' && dash[1] <= '9' && dash[2] >= '0' && dash[2] <= '9')
			l->va_bits = (uint32_t)((dash[1] - '0') * 10 + (dash[2] - '0'));
	}
	if (l->va_bits > PAGE_SHIFT) {
		uint32_t per_level = PAGE_SHIFT - 3;
		l->paging_levels = (l->va_bits - PAGE_SHIFT + per_level - 1) / per_level;
	}
	l->page_size = PAGE_SIZE;
	l->direct_map_base = direct_map_base;
	l->kernel_virt_base = (uint64_t)(uintptr_t)__kernel_start;
	l->kernel_phys_base = arch_kimage_to_phys(__kernel_start);
	l->kernel_end = (uint64_t)(uintptr_t)__kernel_end;
	l->kernel_vmap_base = KERNEL_VMAP_BASE;
	l->kernel_vmap_size = KERNEL_VMAP_SIZE;
	l->user_base = USER_BASE;
	l->user_top = USER_TOP;
	l->ram_top = ram_top;
	if (arch_kernel_pt_root)
		l->kernel_pt_root = arch_kernel_pt_root();
	if (id) {
		l->build_id_len = len > 20 ? 20 : len;
		memcpy(l->build_id, id, l->build_id_len);
	}
	l->process_list = (uint64_t)(uintptr_t)&process_list;
	l->thread_list = (uint64_t)(uintptr_t)&thread_list;
	l->klog_ring = (uint64_t)(uintptr_t)&klog_ring;
	l->pmm_state = (uint64_t)(uintptr_t)&pmm;
	l->cpus = (uint64_t)(uintptr_t)&cpus[0];
	l->cpus_count = MAX_CPUS;
	l->cpu_size = sizeof(struct cpu);
	l->panic_in_progress = (uint64_t)(uintptr_t)&panic_in_progress;
	l->boot_time_ns = arch_time_ns();
	strlcpy(l->cmdline, cmdline, sizeof(l->cmdline));
}


void layout_view(struct sbuf *sb)
{
	const struct axiom_layout *l = &axiom_layout;

	sbuf_printf(sb, "version %u\n", l->version);
	sbuf_printf(sb, "arch %s\n", l->arch);
	sbuf_printf(sb, "paging_mode %s\n", l->paging_mode);
	sbuf_printf(sb, "paging_levels %u\n", l->paging_levels);
	sbuf_printf(sb, "va_bits %u\n", l->va_bits);
	sbuf_printf(sb, "page_size 0x%llx\n", (unsigned long long)l->page_size);
	sbuf_printf(sb, "direct_map_base 0x%llx\n", (unsigned long long)l->direct_map_base);
	sbuf_printf(sb, "kernel_virt_base 0x%llx\n", (unsigned long long)l->kernel_virt_base);
	sbuf_printf(sb, "kernel_phys_base 0x%llx\n", (unsigned long long)l->kernel_phys_base);
	sbuf_printf(sb, "kernel_end 0x%llx\n", (unsigned long long)l->kernel_end);
	sbuf_printf(sb, "kernel_pt_root 0x%llx\n", (unsigned long long)l->kernel_pt_root);
	sbuf_printf(sb, "kernel_vmap_base 0x%llx\n", (unsigned long long)l->kernel_vmap_base);
	sbuf_printf(sb, "kernel_vmap_size 0x%llx\n", (unsigned long long)l->kernel_vmap_size);
	sbuf_printf(sb, "user_base 0x%llx\n", (unsigned long long)l->user_base);
	sbuf_printf(sb, "user_top 0x%llx\n", (unsigned long long)l->user_top);
	sbuf_printf(sb, "ram_top 0x%llx\n", (unsigned long long)l->ram_top);
	sbuf_printf(sb, "build_id %s\n", build_id_hex());
	sbuf_printf(sb, "ncpus %u\n", l->ncpus);
	sbuf_printf(sb, "process_list 0x%llx\n", (unsigned long long)l->process_list);
	sbuf_printf(sb, "thread_list 0x%llx\n", (unsigned long long)l->thread_list);
	sbuf_printf(sb, "klog_ring 0x%llx\n", (unsigned long long)l->klog_ring);
	sbuf_printf(sb, "pmm_state 0x%llx\n", (unsigned long long)l->pmm_state);
	sbuf_printf(sb, "cpus 0x%llx\n", (unsigned long long)l->cpus);
	sbuf_printf(sb, "cpus_count %u\n", l->cpus_count);
	sbuf_printf(sb, "cpu_size %u\n", l->cpu_size);
}

/*
 * acpi.c — just enough ACPI (spec 6.x, chapter 5.2) to count CPUs and find
 * the HPET: RSDP -> RSDT/XSDT -> "APIC" (MADT) and "HPET".
 *
 * The PVH start info hands us the RSDP's physical address (QEMU's PVH option
 * ROM finds it in the BIOS area); we also scan 0xe0000..0xfffff as a fallback.
 * Runs once on the boot CPU while the boot identity map is live, so physical
 * addresses below 4 GiB are directly readable.
 */
#include <arch/arch.h>
#include <asm/x86.h>
#include <kernel.h>

unsigned x86_ncpus;
unsigned x86_cpu_apic_ids[MAX_CPUS];

struct sdt_header {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem[6];
	char oem_table[8];
	uint32_t oem_rev;
	uint32_t creator;
	uint32_t creator_rev;
} __attribute__((packed));

static bool checksum_ok(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return s == 0;
}

static const uint8_t *find_rsdp(uint64_t hint)
{
	if (hint && !memcmp(phys_to_virt(hint), "RSD PTR ", 8))
		return phys_to_virt(hint);
	for (uint64_t pa = 0xe0000; pa < 0x100000; pa += 16) {
		const uint8_t *p = phys_to_virt(pa);
		if (!memcmp(p, "RSD PTR ", 8) && checksum_ok(p, 20))
			return p;
	}
	return NULL;
}

static void parse_madt(const struct sdt_header *h)
{
	const uint8_t *p = (const uint8_t *)h + 44, *end = (const uint8_t *)h + h->length;
	while (p + 2 <= end && p[1] >= 2) {
		/* type 0: processor local APIC {acpi id, apic id, flags}; flags bit 0
		 * enabled, bit 1 online-capable */
		if (p[0] == 0 && (*(const uint32_t *)(p + 4) & 3) && x86_ncpus < MAX_CPUS)
			x86_cpu_apic_ids[x86_ncpus++] = p[3];
		p += p[1];
	}
}

void x86_acpi_init(uint64_t rsdp_pa)
{
	const uint8_t *rsdp = find_rsdp(rsdp_pa);
	if (!rsdp)
		return;
	uint64_t root;
	int entsz;
	if (rsdp[15] >= 2 && *(const uint64_t *)(rsdp + 24)) {
		root = *(const uint64_t *)(rsdp + 24);      /* XSDT: 64-bit pointers */
		entsz = 8;
	} else {
		root = *(const uint32_t *)(rsdp + 16);      /* RSDT: 32-bit pointers */
		entsz = 4;
	}
	const struct sdt_header *rt = phys_to_virt(root);
	unsigned n = (rt->length - sizeof(*rt)) / entsz;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = (const uint8_t *)(rt + 1) + i * entsz;
		uint64_t pa = entsz == 8 ? *(const uint64_t *)e : *(const uint32_t *)e;
		const struct sdt_header *h = phys_to_virt(pa);
		if (!memcmp(h->sig, "APIC", 4))
			parse_madt(h);
		else if (!memcmp(h->sig, "HPET", 4))
			x86_hpet_pa = *(const uint64_t *)((const uint8_t *)h + 44 + 4);
	}
}

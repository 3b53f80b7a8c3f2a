"""Classify a fault address: null page, user, kernel image, direct map, guard page...

Sources of the layout, best first:

1. the kernel ELF's linker-script symbols (docs/kernel-contracts.md):
   ``__text_start``/``__text_end``, ``__rodata_*``, ``__data_*``, ``__bss_*``,
   ``__kernel_start``/``__kernel_end``;
2. the initial values of the ``axiom_layout`` variable (``.data.axiom_layout``)
   read through its DWARF type, for members that are link-time constants
   (members are matched by name: ``direct_map_base``/``direct_map_size``,
   ``kernel_vmap_base``/``kernel_vmap_size`` (kernel stacks with guard pages),
   ``kstack_size``, ``page_size``, ``user_top``/``user_end``, ``va_bits``);
   members that are zero in the file (filled at boot) are ignored;
3. the paging mode printed in the boot banner (``axiom: <arch> <mode> ...``);
4. architecture defaults (:data:`ARCH_DEFAULTS`).

Classes (``AddressClass.kind``): ``null``, ``user``, ``kernel-text``,
``kernel-rodata``, ``kernel-data``, ``kernel-image``, ``guard-page``,
``kernel-stack``, ``direct-map``, ``vmap``, ``non-canonical``, ``unmapped``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

NULL_PAGE = 4096
NULL_REGION = 64 * 1024
STACK_OVERFLOW_WINDOW = 2  # pages below the stack pointer that count as its guard


@dataclass(frozen=True)
class ArchDefaults:
    user_top: int                 # user addresses are [0, user_top)
    kernel_bottom: int            # lowest canonical kernel-half address
    direct_map: tuple[int, int]   # (base, size)
    vmap: tuple[int, int]         # kernel stacks: slots of (guard page + KSTACK_PAGES pages)


# axiom's own layout (kernel/arch/<arch>/include/asm/config.h, kernel/include/mm.h) for when neither
# the ELF nor the log says better. Keyed by (arch, paging mode).
_X86_VMAP = (0xFFFF_C000_0000_0000, 0x80_0000_0000)
_A64_VMAP = (0xFFFF_8000_0000_0000, 0x80_0000_0000)
_RV_VMAP = (0xFFFF_FFE0_0000_0000, 1 << 30)
ARCH_DEFAULTS: dict[tuple[str, str], ArchDefaults] = {
    ("x86_64", "4level"): ArchDefaults(1 << 47, 0xFFFF_8000_0000_0000, (0xFFFF_8000_0000_0000, 0x4000_0000_0000), _X86_VMAP),
    ("x86_64", "5level"): ArchDefaults(1 << 56, 0xFF00_0000_0000_0000, (0xFF00_0000_0000_0000, 1 << 55), _X86_VMAP),
    ("aarch64", "48bit"): ArchDefaults(1 << 47, 0xFFFF_0000_0000_0000, (0xFFFF_0000_0000_0000, 0x8000_0000_0000), _A64_VMAP),
    ("riscv64", "sv39"): ArchDefaults(0x3F_C000_0000, 0xFFFF_FFC0_0000_0000, (0xFFFF_FFC0_0000_0000, 0x20_0000_0000), _RV_VMAP),
    ("riscv64", "sv48"): ArchDefaults(1 << 47, 0xFFFF_8000_0000_0000, (0xFFFF_8000_0000_0000, 0x7FC0_0000_0000), _RV_VMAP),
    ("riscv64", "sv57"): ArchDefaults(1 << 56, 0xFF00_0000_0000_0000, (0xFF00_0000_0000_0000, 0xFF_FFC0_0000_0000), _RV_VMAP),
}
DEFAULT_MODE = {"x86_64": "4level", "aarch64": "48bit", "riscv64": "sv39"}
KSTACK_PAGES = 4   # kernel/include/mm.h: a slot is one guard page + KSTACK_PAGES pages
_MODE_ALIASES = {"4-level": "4level", "5-level": "5level", "la57": "5level", "4lvl": "4level",
                 "5lvl": "5level", "va48": "48bit", "48-bit": "48bit", "4k": "48bit", "16k": "48bit",
                 "64k": "48bit"}


def normalize_mode(arch: str, mode: str | None) -> str:
    m = (mode or "").strip().lower().rstrip(",")
    m = _MODE_ALIASES.get(m, m)
    if (arch, m) in ARCH_DEFAULTS:
        return m
    return DEFAULT_MODE.get(arch, "4level")


@dataclass
class Layout:
    arch: str
    paging_mode: str = ""
    page_size: int = 4096
    user_top: int = 0
    kernel_bottom: int = 0
    direct_map: tuple[int, int] | None = None
    vmap: tuple[int, int] | None = None           # kernel stacks live here with guard pages
    kstack_size: int | None = None                 # size of one vmap stack slot (guard page first)
    regions: dict[str, tuple[int, int]] = field(default_factory=dict)  # text, rodata, data, bss, image
    stacks: list[tuple[int, int]] = field(default_factory=list)        # known kernel stacks [lo, hi)
    sources: list[str] = field(default_factory=list)

    @classmethod
    def defaults(cls, arch: str, paging_mode: str | None = None) -> "Layout":
        mode = normalize_mode(arch, paging_mode)
        d = ARCH_DEFAULTS.get((arch, mode)) or ARCH_DEFAULTS[("x86_64", "4level")]
        return cls(arch=arch, paging_mode=mode, user_top=d.user_top, kernel_bottom=d.kernel_bottom,
                   direct_map=d.direct_map, vmap=d.vmap, kstack_size=(KSTACK_PAGES + 1) * 4096,
                   sources=[f"{arch} {mode} defaults"])

    def with_mode(self, paging_mode: str | None) -> "Layout":
        """The same layout with the arch defaults of another paging mode (from a boot banner)."""
        if not paging_mode:
            return self
        mode = normalize_mode(self.arch, paging_mode)
        if mode == self.paging_mode:
            return self
        d = ARCH_DEFAULTS.get((self.arch, mode))
        if d is None:
            return self
        lay = replace(self, paging_mode=mode, user_top=d.user_top, kernel_bottom=d.kernel_bottom,
                      regions=dict(self.regions), stacks=list(self.stacks), sources=list(self.sources))
        if "direct_map" not in " ".join(self.sources):
            lay.direct_map = d.direct_map
        lay.sources.append(f"paging mode {mode} from the boot banner")
        return lay

    @classmethod
    def from_symbols(cls, arch: str, symbols: dict[str, int], paging_mode: str | None = None) -> "Layout":
        lay = cls.defaults(arch, paging_mode)
        pairs = {"text": ("__text_start", "__text_end"), "rodata": ("__rodata_start", "__rodata_end"),
                 "data": ("__data_start", "__data_end"), "bss": ("__bss_start", "__bss_end"),
                 "image": ("__kernel_start", "__kernel_end")}
        found = False
        for name, (a, b) in pairs.items():
            lo, hi = symbols.get(a), symbols.get(b)
            if lo is not None and hi is not None and hi > lo:
                lay.regions[name] = (lo, hi)
                found = True
        if found:
            lay.sources.append("kernel ELF section symbols")
        return lay

    @classmethod
    def from_elf(cls, path, symbols: dict[str, int] | None = None, arch: str | None = None,
                 paging_mode: str | None = None) -> "Layout":
        """Layout from a kernel ELF (symbols + ``axiom_layout`` initial values). Never raises
        for a readable ELF; missing parts fall back to defaults."""
        from ..core.symbolize import Symbolizer
        if symbols is None or arch is None:
            sym = Symbolizer.open(path, require_dwarf=False)
            symbols = sym.symbol_names() if symbols is None else symbols
            arch = arch or sym.arch or "x86_64"
        lay = cls.from_symbols(arch, symbols, paging_mode)
        try:
            note = read_axiom_note(path)
        except Exception:
            note = {}
        if note:
            lay.apply_values(note, ".note.axiom")
        try:
            values = read_layout_variable(path)
        except Exception:
            values = {}
        if values:
            lay.apply_values(values, "axiom_layout initial values")
        return lay

    def apply_values(self, values: dict[str, int], source: str) -> None:
        """Take layout values by member name (zeros are ignored: filled at boot)."""
        v = {k.lower(): x for k, x in values.items() if isinstance(x, int) and x}
        used = False

        def pick(*names):
            for n in names:
                if n in v:
                    return v[n]
            return None

        base = pick("direct_map_base", "dmap_base", "physmap_base", "page_offset")
        size = pick("direct_map_size", "dmap_size", "physmap_size", "ram_size", "mem_size")
        if base is not None:
            self.direct_map = (base, size or (self.direct_map[1] if self.direct_map else 1 << 40))
            used = True
        vb, vs = pick("kernel_vmap_base", "vmap_base"), pick("kernel_vmap_size", "vmap_size")
        if vb is not None:
            self.vmap = (vb, vs or (1 << 30))
            used = True
        ks = pick("kstack_size", "kernel_stack_size", "stack_size")
        if ks is not None:
            self.kstack_size = ks
            used = True
        ps = pick("page_size")
        if ps is not None and ps & (ps - 1) == 0:
            self.page_size = ps
            if ks is None:
                self.kstack_size = (KSTACK_PAGES + 1) * ps
            used = True
        ut = pick("user_top", "user_end", "user_va_end")
        if ut is not None:
            self.user_top = ut
            used = True
        vabits = pick("va_bits")
        if vabits is not None and 32 <= vabits <= 57 and ut is None:
            self.user_top = 1 << (vabits - (1 if self.arch != "aarch64" else 0))
            used = True
        if used:
            self.sources.append(source)

    def to_dict(self) -> dict:
        return {"arch": self.arch, "paging_mode": self.paging_mode, "page_size": self.page_size,
                "user_top": self.user_top, "kernel_bottom": self.kernel_bottom,
                "direct_map": list(self.direct_map) if self.direct_map else None,
                "vmap": list(self.vmap) if self.vmap else None,
                "regions": {k: list(v) for k, v in self.regions.items()}, "sources": list(self.sources)}


@dataclass(frozen=True)
class AddressClass:
    kind: str
    description: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "description": self.description}


def classify(addr: int | None, layout: Layout, *, kind: str | None = None, sp: int | None = None,
             access: str | None = None) -> AddressClass | None:
    """Classify a fault address. `kind` is the record's kind (``stack-overflow`` wins),
    `sp` the stack pointer at the fault (for guard pages below the current stack)."""
    if addr is None:
        return None
    addr &= (1 << 64) - 1
    ps = layout.page_size or 4096
    if kind == "stack-overflow":
        return AddressClass("guard-page", f"stack overflow: {addr:#x} is in a kernel stack guard page")
    if addr < NULL_PAGE:
        return AddressClass("null", f"null pointer dereference ({addr:#x} is in the null page)")
    if addr < NULL_REGION:
        return AddressClass("null", f"null pointer dereference at offset {addr:#x} (first 64 KiB)")
    for name, (lo, hi) in layout.regions.items():
        if name == "image":
            continue
        if lo <= addr < hi:
            what = {"text": "kernel-text", "rodata": "kernel-rodata"}.get(name, "kernel-data")
            return AddressClass(what, f"{addr:#x} is in the kernel's .{name}")
    img = layout.regions.get("image")
    if img and img[0] <= addr < img[1]:
        return AddressClass("kernel-image", f"{addr:#x} is in the kernel image")
    # guard pages: just below a known stack, or just below the faulting stack pointer
    for lo, hi in layout.stacks:
        if lo - STACK_OVERFLOW_WINDOW * ps <= addr < lo:
            return AddressClass("guard-page", f"stack overflow: {addr:#x} is just below the kernel stack {lo:#x}")
        if lo <= addr < hi:
            return AddressClass("kernel-stack", f"{addr:#x} is on a kernel stack")
    if sp is not None and addr >= layout.kernel_bottom and sp >= layout.kernel_bottom:
        if addr < sp + 256 and sp - addr <= STACK_OVERFLOW_WINDOW * ps and \
                (addr // ps) < ((sp + 256) // ps) + 1 and (sp - addr) >= 0:
            if layout.kstack_size is None or (sp % layout.kstack_size) < ps or addr // ps < sp // ps:
                return AddressClass("guard-page",
                                    f"stack overflow: {addr:#x} is just below the stack pointer {sp:#x}")
    if addr < layout.user_top:
        return AddressClass("user", f"{addr:#x} is a user-space address")
    if addr < layout.kernel_bottom:
        return AddressClass("non-canonical", f"{addr:#x} is outside the canonical address ranges")
    if layout.direct_map:
        b, s = layout.direct_map
        if b <= addr < b + s:
            return AddressClass("direct-map", f"{addr:#x} is in the direct map (physical {addr - b:#x})")
    if layout.vmap:
        b, s = layout.vmap
        if b <= addr < b + s:
            if layout.kstack_size:
                slot = (addr - b) % layout.kstack_size
                if slot < ps:
                    return AddressClass("guard-page", f"stack overflow: {addr:#x} is in a vmap guard page")
            return AddressClass("vmap", f"{addr:#x} is in the kernel vmap area")
    return AddressClass("unmapped", f"{addr:#x} is a kernel address outside every known region")


AXIOM_NOTE_LAYOUT = 0x41580001
_NOTE_FIELDS = ("layout_addr", "kernel_virt_base", "kernel_phys_base", "page_size", "kernel_vmap_base", "user_top")


def read_axiom_note(path) -> dict[str, int]:
    """The link-time layout note (kernel/lib/layout.c): section ``.note.axiom``, name "AXIOM",
    type AXIOM_NOTE_LAYOUT; desc = u32 version, u32 desc_size, then u64 layout_addr,
    kernel_virt_base, kernel_phys_base, page_size, kernel_vmap_base, user_top, char arch[16]."""
    import struct

    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        elf = ELFFile(f)
        sec = elf.get_section_by_name(".note.axiom")
        if sec is None:
            return {}
        data = sec.data()
    off = 0
    while off + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from("<III", data, off)
        name = data[off + 12: off + 12 + namesz].rstrip(b"\0")
        doff = off + 12 + ((namesz + 3) & ~3)
        desc = data[doff: doff + descsz]
        off = doff + ((descsz + 3) & ~3)
        if name == b"AXIOM" and ntype == AXIOM_NOTE_LAYOUT and len(desc) >= 8 + 8 * len(_NOTE_FIELDS):
            vals = struct.unpack_from("<II" + "Q" * len(_NOTE_FIELDS), desc, 0)
            out = dict(zip(("version", "desc_size") + _NOTE_FIELDS, vals))
            return out
    return {}


def read_layout_variable(path) -> dict[str, int]:
    """Initial values of the integer members of ``axiom_layout`` in the ELF file."""
    from elftools.elf.elffile import ELFFile

    from ..core.dwarf import TypeIndex

    types = TypeIndex.from_elf(path)
    var = types.variable("axiom_layout")
    t = var.type.strip() if hasattr(var, "type") else None
    addr = var.address if hasattr(var, "address") else None
    if t is None or addr is None or t.kind != "struct":
        return {}
    with open(path, "rb") as f:
        elf = ELFFile(f)
        blob = None
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= addr < seg["p_vaddr"] + seg["p_filesz"]:
                off = addr - seg["p_vaddr"]
                blob = seg.data()[off:off + t.size]
                break
    if not blob:
        return {}
    out: dict[str, int] = {}
    for m in t.members:
        mt = m.type.strip()
        if mt.kind in ("base", "pointer", "enum") and 1 <= mt.size <= 8 and m.offset + mt.size <= len(blob):
            out[m.name] = int.from_bytes(blob[m.offset:m.offset + mt.size], "little")
    return out

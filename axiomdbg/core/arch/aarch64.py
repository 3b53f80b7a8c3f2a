"""AArch64: VMSAv8-64 stage 1 translation for the EL1&0 regime (TTBR0_EL1 / TTBR1_EL1).

Reference: Arm Architecture Reference Manual (DDI 0487), chapter D8 "The AArch64 Virtual Memory
System Architecture": "Translation table walk" (VA ranges selected by VA[55], TnSZ, TGn,
start level, EPDn, TBIn), "Translation table descriptor formats" (table/block/page
descriptors), "Memory access control" (AP[2:1], PXN/UXN, hierarchical APTable/PXNTable/UXNTable,
TCR_EL1.HPDn, SCTLR_EL1.WXN), "Memory region attributes" (AttrIndx into MAIR_EL1), and the
register descriptions of TCR_EL1, TTBRn_EL1 and SCTLR_EL1 in chapter D19.

Descriptor (8 bytes): bit 0 valid, bit 1 type (levels 0-2: 1 = table, 0 = block; level 3:
1 = page, 0 = reserved). Table: next-level address bits 47:granule, PXNTable(59) UXNTable(60)
APTable(62:61) NSTable(63). Block/page: AttrIndx(4:2) NS(5) AP(7:6) SH(9:8) AF(10) nG(11)
output address(47:block size) DBM(51) Contiguous(52) PXN(53) UXN(54).

Blocks exist with the 4 KiB granule at level 1 (1 GiB) and level 2 (2 MiB), with 16 KiB at level 2
(32 MiB) and with 64 KiB at level 2 (512 MiB). Level-0 (4K) and level-1 (16K/64K) blocks need
52-bit addresses (FEAT_LPA/LPA2) and are rejected here, as are VAs wider than 48 bits.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from typing import Any

from ..errors import PagingDisabledError, RegisterUnavailableError, UnsupportedPagingModeError
from ..memory import RegisterReader, as_register_reader, read_first
from ..paging import (
    Decoded,
    EntryKind,
    FaultKind,
    LevelGeometry,
    PageFlags,
    PagingConfig,
    PagingRegion,
    RegionKind,
    size_str,
)
from . import register_arch
from .base import Arch

SCTLR_M = 1 << 0
SCTLR_WXN = 1 << 19

# TCR_EL1 fields.
TCR_EPD0 = 1 << 7
TCR_EPD1 = 1 << 23
TCR_TBI0 = 1 << 37
TCR_TBI1 = 1 << 38
TCR_HA = 1 << 39
TCR_HD = 1 << 40
TCR_HPD0 = 1 << 41
TCR_HPD1 = 1 << 42
_TG0 = {0b00: 12, 0b01: 16, 0b10: 14}   # TG0 encoding: 4K, 64K, 16K
_TG1 = {0b10: 12, 0b11: 16, 0b01: 14}   # TG1 encoding differs: 16K=01, 4K=10, 64K=11
_IPS_BITS = {0: 32, 1: 36, 2: 40, 3: 42, 4: 44, 5: 48, 6: 52}

# Descriptor bits.
VALID = 1 << 0
TYPE = 1 << 1
NS = 1 << 5
AP1 = 1 << 6   # AP[1]: EL0 access
AP2 = 1 << 7   # AP[2]: read-only
AF = 1 << 10
NG = 1 << 11
DBM = 1 << 51
CONT = 1 << 52
PXN = 1 << 53
UXN = 1 << 54
PXN_TABLE = 1 << 59
UXN_TABLE = 1 << 60
AP_TABLE0 = 1 << 61  # APTable[0]: no EL0 access below
AP_TABLE1 = 1 << 62  # APTable[1]: no write access below
OA_MASK = (1 << 48) - 1

#: Block sizes allowed without FEAT_LPA/LPA2, per granule (log2): level numbers with blocks.
BLOCK_LEVELS = {12: (1, 2), 14: (2,), 16: (2,)}


def granule_geometry(granule_shift: int, va_bits: int) -> tuple[LevelGeometry, ...]:
    """Levels for a granule of ``1 << granule_shift`` bytes and a ``va_bits``-bit range.

    Each level resolves ``granule_shift - 3`` bits; the walk starts at the level that leaves the
    remaining top bits for the root (D8 "Translation table walk": initial lookup level).
    """
    stride = granule_shift - 3
    if va_bits <= granule_shift:
        raise UnsupportedPagingModeError(f"{va_bits}-bit VA is too small for a {size_str(1 << granule_shift)} granule")
    nlevels = -(-(va_bits - granule_shift) // stride)
    if nlevels > 4:
        raise UnsupportedPagingModeError(f"{va_bits}-bit VA needs a level -1 (FEAT_LPA2), not supported")
    levels = []
    for number in range(4 - nlevels, 4):
        shift = granule_shift + (3 - number) * stride
        bits = min(stride, va_bits - shift)
        levels.append(LevelGeometry(f"L{number}", number, shift, bits,
                                    number == 3 or number in BLOCK_LEVELS[granule_shift]))
    return tuple(levels)


def decode_mair_attr(attr: int) -> str:
    """Name a MAIR_EL1 attribute byte (D19 MAIR_EL1: Attr<n> encodings)."""
    if attr & 0xF0 == 0:
        dev = {0x00: "nGnRnE", 0x04: "nGnRE", 0x08: "nGRE", 0x0C: "GRE"}.get(attr)
        return f"Device-{dev}" if dev else f"Device?{attr:#04x}"
    if attr == 0xF0:
        return "Normal-Tagged"

    def cache(nibble: int) -> str:
        if nibble == 0b0100:
            return "NC"
        if nibble >> 2 == 0b00:
            return "WTt" if nibble & 3 else "?"
        if nibble >> 2 == 0b10:
            return "WT"
        if nibble >> 2 == 0b01:
            return "WBt"
        return "WB"

    outer, inner = cache(attr >> 4), cache(attr & 0xF)
    return f"Normal-{inner}" if outer == inner else f"Normal-I{inner}O{outer}"


@register_arch
class AArch64(Arch):
    """AArch64 EL1&0 stage 1 with 4K/16K/64K granules and up to 48-bit VA/PA."""

    name = "aarch64"
    aliases = ("arm64", "armv8", "armv8-a", "aarch64-le")
    elf_machine = 183  # EM_AARCH64
    gdb_arch = "aarch64"
    qemu_system = "qemu-system-aarch64"
    pc_register = "pc"
    sp_register = "sp"
    paging_registers = ("SCTLR", "TCR_EL1", "TTBR0_EL1", "TTBR1_EL1", "MAIR_EL1")
    paging_modes = ("4k", "16k", "64k")

    def paging_from_registers(self, regs: RegisterReader | AbcMapping[str, int], **unused: Any) -> PagingConfig:
        """Decode SCTLR(_EL1), TCR_EL1, TTBR0_EL1, TTBR1_EL1 and (optionally) MAIR_EL1.

        QEMU 7.2's gdbstub names SCTLR_EL1 just ``SCTLR``; both spellings are accepted.
        """
        regs = as_register_reader(regs)
        sctlr = read_first(regs, "SCTLR", "SCTLR_EL1")
        if not sctlr & SCTLR_M:
            raise PagingDisabledError(f"MMU is off (SCTLR_EL1.M=0, SCTLR={sctlr:#x})")
        tcr = read_first(regs, "TCR_EL1", "TCR")
        ttbr0 = read_first(regs, "TTBR0_EL1", "TTBR0")
        ttbr1 = read_first(regs, "TTBR1_EL1", "TTBR1")
        try:
            mair: int | None = read_first(regs, "MAIR_EL1", "MAIR")
        except RegisterUnavailableError:
            mair = None  # optional: memory types are then shown as attr<n>
        pa_bits = min(_IPS_BITS.get((tcr >> 32) & 7, 48), 48)

        regions = []
        for half, ttbr, tsz_shift, tg_shift, tg_table, epd, tbi, hpd, kind in (
            (0, ttbr0, 0, 14, _TG0, TCR_EPD0, TCR_TBI0, TCR_HPD0, RegionKind.LOW),
            (1, ttbr1, 16, 30, _TG1, TCR_EPD1, TCR_TBI1, TCR_HPD1, RegionKind.HIGH),
        ):
            name = f"TTBR{half}_EL1"
            tsz = (tcr >> tsz_shift) & 0x3F
            tg = (tcr >> tg_shift) & 3
            disabled = bool(tcr & epd)
            if tg not in tg_table:
                if not disabled:
                    raise UnsupportedPagingModeError(f"reserved TCR_EL1.TG{half} encoding {tg:#b}")
                tg_table = {tg: 12}
            gshift = tg_table[tg]
            va_bits = 64 - tsz
            if va_bits > 48:
                if not disabled:
                    raise UnsupportedPagingModeError(
                        f"T{half}SZ={tsz} gives a {va_bits}-bit VA range (FEAT_LVA, not supported)")
                va_bits = 48
            if va_bits < 16:
                if not disabled:
                    raise UnsupportedPagingModeError(f"T{half}SZ={tsz} is larger than 48 (invalid)")
                va_bits = 16
            levels = granule_geometry(gshift, va_bits)
            root_align = max(64, levels[0].table_size)
            root = ttbr & OA_MASK & ~(root_align - 1)  # drop ASID (63:48), CnP (0) and RES0 bits
            regions.append(PagingRegion(
                name, root, va_bits, kind, levels, 1 << gshift, enabled=not disabled,
                disabled_reason=f"TCR_EL1.EPD{half}=1" if disabled else "",
                ignore_top_byte=bool(tcr & tbi)))
        options = {
            "pa_bits": pa_bits,
            "mair": mair,
            "wxn": bool(sctlr & SCTLR_WXN),
            "ha": bool(tcr & TCR_HA),
            "hd": bool(tcr & TCR_HD),
            "hpd": {"TTBR0_EL1": bool(tcr & TCR_HPD0), "TTBR1_EL1": bool(tcr & TCR_HPD1)},
            "asid": (ttbr1 if tcr & (1 << 22) else ttbr0) >> 48,  # TCR_EL1.A1 selects the ASID
        }
        live = [r.granule for r in regions if r.enabled] or [regions[0].granule]
        mode = "/".join(dict.fromkeys(f"{g >> 10}k" for g in live))
        return PagingConfig(self.name, mode, tuple(regions), options)

    def initial_inherited(self, cfg: PagingConfig, region: PagingRegion) -> Any:
        # (no write below, no EL0 access below, PXN below, UXN below)
        return (False, False, False, False)

    def _memtype(self, cfg: PagingConfig, index: int) -> str:
        mair = cfg.options.get("mair")
        if mair is None:
            return f"attr{index}"
        return decode_mair_attr((mair >> (8 * index)) & 0xFF)

    def decode_entry(self, cfg: PagingConfig, region: PagingRegion, level_index: int, raw: int,
                     inherited: Any) -> Decoded:
        if not raw & VALID:
            return Decoded(EntryKind.INVALID, reason="valid bit clear")
        level = region.levels[level_index]
        last = level_index == len(region.levels) - 1
        pa_bits = cfg.options.get("pa_bits", 48)
        granule_mask = region.granule - 1
        if raw & TYPE and not last:
            address = raw & OA_MASK & ~granule_mask
            if address >> pa_bits:
                return Decoded(EntryKind.FAULT, fault=FaultKind.RESERVED_BITS,
                               reason=f"table address {address:#x} exceeds the {pa_bits}-bit PA size (address size fault)")
            no_write, no_el0, pxn, uxn = inherited
            if not cfg.options.get("hpd", {}).get(region.name, False):
                no_write = no_write or bool(raw & AP_TABLE1)
                no_el0 = no_el0 or bool(raw & AP_TABLE0)
                pxn = pxn or bool(raw & PXN_TABLE)
                uxn = uxn or bool(raw & UXN_TABLE)
            flags = PageFlags(present=True, readable=True, writable=not raw & AP_TABLE1,
                              executable=not raw & PXN_TABLE, user=not raw & AP_TABLE0)
            return Decoded(EntryKind.TABLE, address, flags, inherited=(no_write, no_el0, pxn, uxn))
        if last and not raw & TYPE:
            return Decoded(EntryKind.FAULT, fault=FaultKind.MALFORMED,
                           reason="descriptor type 0b01 is reserved at level 3 (translation fault)")
        if not last and not level.leaf_ok:
            return Decoded(EntryKind.FAULT, fault=FaultKind.BLOCK_NOT_ALLOWED,
                           reason=f"block descriptor at {level.name} not allowed with a "
                                  f"{size_str(region.granule)} granule (translation fault)")
        address = raw & OA_MASK & ~(level.page_size - 1)
        if address >> pa_bits:
            return Decoded(EntryKind.FAULT, fault=FaultKind.RESERVED_BITS,
                           reason=f"output address {address:#x} exceeds the {pa_bits}-bit PA size (address size fault)")
        no_write, no_el0, pxn_t, uxn_t = inherited
        opts = cfg.options
        user = bool(raw & AP1) and not no_el0
        dbm = bool(raw & DBM)
        writable = (not raw & AP2 or (dbm and opts.get("hd", False))) and not no_write
        pxn = bool(raw & PXN) or pxn_t
        uxn = bool(raw & UXN) or uxn_t
        if raw & AP1 and not raw & AP2:
            pxn = True  # EL0-writable memory is never executable at EL1
        if opts.get("wxn") and writable:
            pxn = uxn = True
        executable = not uxn if user else not pxn
        extra = []
        if user and not pxn:
            extra.append("el1x")
        if raw & NS:
            extra.append("ns")
        if dbm:
            extra.append("dbm")
        flags = PageFlags(
            present=True, readable=True, writable=writable, executable=executable, user=user,
            global_=not raw & NG, accessed=bool(raw & AF), dirty=dbm and not raw & AP2,
            huge=not last, contiguous=bool(raw & CONT),
            memtype=self._memtype(cfg, (raw >> 2) & 7), extra=tuple(extra))
        return Decoded(EntryKind.LEAF, address, flags)

    def noncanonical_reason(self, cfg: PagingConfig, va: int) -> str:
        half = (va >> 55) & 1
        region = cfg.regions[half]
        return (f"VA[55]={half} selects {region.name}, whose range is "
                f"{region.va_low:#x}-{region.va_high:#x} ({region.va_bits}-bit, T{half}SZ={64 - region.va_bits})")

    def privilege_level(self, regs: RegisterReader | AbcMapping[str, int]) -> str:
        """CurrentEL is not exposed by the gdbstub: use PSTATE.EL = cpsr[3:2] (cpsr is sign-extended)."""
        cpsr = read_first(as_register_reader(regs), "cpsr") & 0xFFFFFFFF
        return f"EL{(cpsr >> 2) & 3}"


__all__ = ["AArch64", "granule_geometry", "decode_mair_attr"]

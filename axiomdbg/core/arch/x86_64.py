"""x86_64: 4-level and 5-level (LA57) paging.

Reference: Intel SDM Vol. 3A, chapter 4 "Paging":
  4.1.1 (CR0.PG, CR4.PAE, CR4.LA57, IA32_EFER.LME/LMA select the paging mode),
  4.5 "4-Level Paging and 5-Level Paging" (tables 4-14 .. 4-20 give the entry formats),
  4.6 "Access Rights" (R/W and U/S are ANDed, XD ORed over all levels),
  4.9.2 (PAT/PCD/PWT select the memory type), 4.10.1 (PCID in CR3 bits 11:0).

Entries (8 bytes): P(0) R/W(1) U/S(2) PWT(3) PCD(4) A(5) D(6, leaf) PS(7, PDPTE/PDE; PAT in a
PTE) G(8, leaf) PAT(12, huge leaf) address(M-1:12) reserved(51:M) protection key(62:59) XD(63).
PS=1 in a PDPTE maps 1 GiB (needs CPUID pdpe1gb), in a PDE 2 MiB; in a PML4E/PML5E bit 7 is
reserved. XD (bit 63) is reserved unless IA32_EFER.NXE=1.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from typing import Any

from ..errors import PagingDisabledError, UnsupportedPagingModeError
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

# Control-register bits (SDM Vol. 3A 2.5 "Control Registers", 2.2.1 "Extended Feature Enable Register").
CR0_WP = 1 << 16
CR0_PG = 1 << 31
CR4_PAE = 1 << 5
CR4_PGE = 1 << 7
CR4_LA57 = 1 << 12
CR4_PCIDE = 1 << 17
CR4_SMEP = 1 << 20
CR4_SMAP = 1 << 21
CR4_PKE = 1 << 22
CR4_PKS = 1 << 24
EFER_LME = 1 << 8
EFER_LMA = 1 << 10
EFER_NXE = 1 << 11

# Paging-structure entry bits (SDM Vol. 3A tables 4-15 .. 4-20).
P = 1 << 0
RW = 1 << 1
US = 1 << 2
PWT = 1 << 3
PCD = 1 << 4
A = 1 << 5
D = 1 << 6
PS = 1 << 7
PAT_PTE = 1 << 7
G = 1 << 8
PAT_HUGE = 1 << 12
XD = 1 << 63
PKEY_SHIFT = 59

#: IA32_PAT at reset (SDM Vol. 3A 11.12.4): PAT0..7 = WB WT UC- UC WB WT UC- UC.
DEFAULT_PAT = 0x0007040600070406
_PAT_TYPES = {0: "UC", 1: "WC", 4: "WT", 5: "WP", 6: "WB", 7: "UC-"}

_LEVELS = (
    # name, number, shift, leaf allowed (the PDPT entry depends on 1 GiB page support)
    ("PML5", 5, 48, False),
    ("PML4", 4, 39, False),
    ("PDPT", 3, 30, True),
    ("PD", 2, 21, True),
    ("PT", 1, 12, True),
)


def _memtype(pat: int, index: int) -> str:
    """Memory type selected by PAT index ``index`` = PAT*4 + PCD*2 + PWT (SDM 11.12.3)."""
    kind = (pat >> (8 * index)) & 0x7
    return _PAT_TYPES.get(kind, f"PAT{index}?")


@register_arch
class X86_64(Arch):
    """x86_64 long mode with 4-level (48-bit) or 5-level (57-bit) paging."""

    name = "x86_64"
    aliases = ("x86-64", "amd64", "x64", "i386:x86-64", "x86")
    elf_machine = 62  # EM_X86_64
    gdb_arch = "i386:x86-64"
    qemu_system = "qemu-system-x86_64"
    pc_register = "rip"
    sp_register = "rsp"
    paging_registers = ("cr0", "cr3", "cr4", "efer")
    paging_modes = ("4level", "5level")

    def paging_from_registers(self, regs: RegisterReader | AbcMapping[str, int], *, pa_bits: int = 52,
                              huge_1g: bool = True, pat: int | None = None, **unused: Any) -> PagingConfig:
        """Decode CR0/CR3/CR4/EFER.

        ``pa_bits`` is MAXPHYADDR (CPUID 80000008h:EAX[7:0]; GDB cannot read it, QEMU's qemu64
        reports 40, but 52 accepts every address); ``huge_1g`` says whether PS=1 in a PDPTE is
        legal (CPUID pdpe1gb, absent on qemu64); ``pat`` is IA32_PAT if known.
        """
        regs = as_register_reader(regs)
        cr0 = read_first(regs, "cr0")
        if not cr0 & CR0_PG:
            raise PagingDisabledError(f"paging is off (CR0.PG=0, cr0={cr0:#x})")
        cr4 = read_first(regs, "cr4")
        efer = read_first(regs, "efer")
        cr3 = read_first(regs, "cr3")
        if not efer & EFER_LMA:
            kind = "PAE" if cr4 & CR4_PAE else "32-bit"
            raise UnsupportedPagingModeError(
                f"{kind} paging (EFER.LMA=0) is not supported; only 4-level and 5-level paging")
        if not 32 <= pa_bits <= 52:
            raise ValueError("pa_bits must be in 32..52")
        la57 = bool(cr4 & CR4_LA57)
        levels = _LEVELS if la57 else _LEVELS[1:]
        geometry = tuple(
            LevelGeometry(name, number, shift, 9, leaf_ok and (number != 3 or huge_1g))
            for name, number, shift, leaf_ok in levels)
        va_bits = 57 if la57 else 48
        root = cr3 & ((1 << pa_bits) - 1) & ~0xFFF  # bits 11:0 are PCID or PWT/PCD
        region = PagingRegion("CR3", root, va_bits, RegionKind.SIGN_EXTENDED, geometry, 4096)
        options = {
            "pa_bits": pa_bits,
            "nxe": bool(efer & EFER_NXE),
            "wp": bool(cr0 & CR0_WP),
            "pge": bool(cr4 & CR4_PGE),
            "pcid": (cr3 & 0xFFF) if cr4 & CR4_PCIDE else None,
            "pke": bool(cr4 & CR4_PKE),
            "pks": bool(cr4 & CR4_PKS),
            "smep": bool(cr4 & CR4_SMEP),
            "smap": bool(cr4 & CR4_SMAP),
            "huge_1g": huge_1g,
            "pat": DEFAULT_PAT if pat is None else pat,
        }
        return PagingConfig(self.name, "5level" if la57 else "4level", (region,), options)

    def initial_inherited(self, cfg: PagingConfig, region: PagingRegion) -> Any:
        # (R/W at every level so far, U/S at every level so far, XD at any level so far)
        return (True, True, False)

    def decode_entry(self, cfg: PagingConfig, region: PagingRegion, level_index: int, raw: int,
                     inherited: Any) -> Decoded:
        if not raw & P:
            return Decoded(EntryKind.INVALID, reason="P=0")
        level = region.levels[level_index]
        last = level_index == len(region.levels) - 1
        opts = cfg.options
        pa_bits = opts["pa_bits"]
        nxe = opts["nxe"]
        leaf = last or bool(raw & PS)
        if leaf and not last and not level.leaf_ok:
            if level.number == 3:
                why = "PS=1 in a PDPTE but 1 GiB pages are not supported (CPUID pdpe1gb absent)"
            else:
                why = f"PS=1 in a {level.name}E: bit 7 is reserved at this level (no {size_str(level.page_size)} pages)"
            return Decoded(EntryKind.FAULT, fault=FaultKind.BLOCK_NOT_ALLOWED, reason=why)
        # Reserved: bits 51:MAXPHYADDR; XD when NXE=0; in a huge leaf the address bits below
        # the page size except the PAT bit 12 (bits 20:13 for 2 MiB, 29:13 for 1 GiB).
        reserved = ((1 << 52) - 1) & ~((1 << pa_bits) - 1)
        if not nxe:
            reserved |= XD
        if leaf and not last:
            reserved |= ((1 << level.shift) - 1) & ~((1 << 13) - 1)
        bad = raw & reserved
        if bad:
            why = f"reserved bits {bad:#x} set"
            if bad & XD and not nxe:
                why += " (XD with EFER.NXE=0)"
            elif bad >> pa_bits:
                why += f" (above MAXPHYADDR={pa_bits})"
            return Decoded(EntryKind.FAULT, fault=FaultKind.RESERVED_BITS, reason=why)

        rw_all, us_all, xd_any = inherited
        rw_all = rw_all and bool(raw & RW)
        us_all = us_all and bool(raw & US)
        xd_any = xd_any or (nxe and bool(raw & XD))
        extra: tuple[str, ...] = ()
        if opts.get("pke") or opts.get("pks"):
            pkey = (raw >> PKEY_SHIFT) & 0xF
            if pkey and leaf:
                extra = (f"pk={pkey}",)
        if leaf:
            pat_bit = bool(raw & (PAT_PTE if last else PAT_HUGE))
            pat_index = (pat_bit << 2) | (bool(raw & PCD) << 1) | bool(raw & PWT)
            address = raw & ((1 << pa_bits) - 1) & ~((1 << level.shift) - 1)
            flags = PageFlags(
                present=True, readable=True, writable=rw_all, executable=not xd_any, user=us_all,
                global_=bool(raw & G), accessed=bool(raw & A), dirty=bool(raw & D), huge=not last,
                memtype=_memtype(opts.get("pat", DEFAULT_PAT), pat_index), extra=extra)
            return Decoded(EntryKind.LEAF, address, flags)
        address = raw & ((1 << pa_bits) - 1) & ~0xFFF
        flags = PageFlags(present=True, readable=True, writable=bool(raw & RW),
                          executable=not (nxe and raw & XD), user=bool(raw & US), accessed=bool(raw & A))
        return Decoded(EntryKind.TABLE, address, flags, inherited=(rw_all, us_all, xd_any))

    def privilege_level(self, regs: RegisterReader | AbcMapping[str, int]) -> str:
        """CPL is CS[1:0] (SDM Vol. 3A 5.5)."""
        cs = read_first(as_register_reader(regs), "cs")
        return f"ring{cs & 3}"


__all__ = ["X86_64"]

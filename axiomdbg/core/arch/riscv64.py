"""RISC-V 64: Sv39, Sv48 and Sv57 page-based virtual memory.

Reference: The RISC-V Instruction Set Manual, Volume II: Privileged Architecture,
"Supervisor-Level ISA" chapter (chapter 12 in v1.13, chapter 4 in 20211203/v1.12):
"Supervisor Address Translation and Protection (satp) Register" (MODE 63:60, ASID 59:44,
PPN 43:0; MODE 0 Bare, 8 Sv39, 9 Sv48, 10 Sv57), "Virtual Address Translation Process" (the
algorithm followed in :meth:`RiscV64.decode_entry`), "Sv39", "Sv48", "Sv57" (VA/PA/PTE layouts),
and the "Svpbmt" / "Svnapot" extension chapters.

PTE (8 bytes): V(0) R(1) W(2) X(3) U(4) G(5) A(6) D(7) RSW(9:8) PPN(53:10) reserved(60:54)
PBMT(62:61) N(63). R=W=X=0 is a pointer to the next level; any of R/X set makes a leaf, which
may appear at ANY level (a superpage at a non-last level: 2 MiB, 1 GiB, 512 GiB, 256 TiB). The
walk page-faults on: V=0; W=1 with R=0; reserved bits 60:54 set; a non-leaf PTE with D, A or U
set (reserved for future use); a pointer at the last level; a misaligned superpage (PPN bits
below the superpage size not zero). PBMT and N are decoded as information but, as agreed for
this toolkit, do not change the translation (NAPOT 64 KiB pages are treated as 4 KiB pages).
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
)
from . import register_arch
from .base import Arch

V = 1 << 0
R = 1 << 1
W = 1 << 2
X = 1 << 3
U = 1 << 4
G = 1 << 5
A = 1 << 6
D = 1 << 7
PPN_SHIFT = 10
PPN_MASK = (1 << 44) - 1
RESERVED = ((1 << 61) - 1) & ~((1 << 54) - 1)  # bits 60:54
PBMT_SHIFT = 61
N = 1 << 63
_PBMT = {0: "PMA", 1: "NC", 2: "IO", 3: "PBMT3?"}

SATP_MODES = {8: ("sv39", 3), 9: ("sv48", 4), 10: ("sv57", 5)}


def sv_geometry(levels: int) -> tuple[LevelGeometry, ...]:
    """VPN[levels-1]..VPN[0], 9 bits each above the 12-bit page offset; leaves at every level."""
    return tuple(LevelGeometry(f"VPN[{i}]", i, 12 + 9 * i, 9, True) for i in range(levels - 1, -1, -1))


@register_arch
class RiscV64(Arch):
    """RV64 supervisor mode with Sv39/Sv48/Sv57."""

    name = "riscv64"
    aliases = ("riscv", "rv64", "riscv64gc", "riscv:rv64")
    elf_machine = 243  # EM_RISCV
    gdb_arch = "riscv:rv64"
    qemu_system = "qemu-system-riscv64"
    pc_register = "pc"
    sp_register = "sp"
    paging_registers = ("satp",)
    paging_modes = ("sv39", "sv48", "sv57")

    def paging_from_registers(self, regs: RegisterReader | AbcMapping[str, int], **unused: Any) -> PagingConfig:
        """Decode satp: MODE (63:60), ASID (59:44), root PPN (43:0)."""
        regs = as_register_reader(regs)
        satp = read_first(regs, "satp")
        mode = satp >> 60
        if mode == 0:
            raise PagingDisabledError(f"satp.MODE=Bare: no translation (satp={satp:#x})")
        if mode not in SATP_MODES:
            raise UnsupportedPagingModeError(f"satp.MODE={mode} is not Sv39/Sv48/Sv57")
        name, nlevels = SATP_MODES[mode]
        root = (satp & PPN_MASK) << 12
        va_bits = 12 + 9 * nlevels
        region = PagingRegion("satp", root, va_bits, RegionKind.SIGN_EXTENDED, sv_geometry(nlevels), 4096)
        return PagingConfig(self.name, name, (region,), {"asid": (satp >> 44) & 0xFFFF, "pa_bits": 56})

    def initial_inherited(self, cfg: PagingConfig, region: PagingRegion) -> Any:
        return False  # "global" set by a non-leaf PTE applies to everything below it

    def decode_entry(self, cfg: PagingConfig, region: PagingRegion, level_index: int, raw: int,
                     inherited: Any) -> Decoded:
        if not raw & V:
            return Decoded(EntryKind.INVALID, reason="V=0")
        # Step 3 of the translation process: reserved encodings fault.
        if raw & RESERVED:
            return Decoded(EntryKind.FAULT, fault=FaultKind.RESERVED_BITS,
                           reason=f"reserved bits {raw & RESERVED:#x} (60:54) set")
        if raw & W and not raw & R:
            return Decoded(EntryKind.FAULT, fault=FaultKind.MALFORMED, reason="W=1 with R=0 is reserved")
        level = region.levels[level_index]
        last = level_index == len(region.levels) - 1
        ppn = (raw >> PPN_SHIFT) & PPN_MASK
        address = ppn << 12
        global_ = inherited or bool(raw & G)
        if not raw & (R | X):
            # Step 4: a pointer to the next level.
            if last:
                return Decoded(EntryKind.FAULT, fault=FaultKind.MALFORMED,
                               reason="pointer PTE (R=W=X=0) at the last level")
            if raw & (A | D | U):
                names = "".join(n for bit, n in ((D, "D"), (A, "A"), (U, "U")) if raw & bit)
                return Decoded(EntryKind.FAULT, fault=FaultKind.MALFORMED,
                               reason=f"non-leaf PTE with {names} set (reserved)")
            flags = PageFlags(present=True, readable=False, writable=False, executable=False,
                              global_=bool(raw & G))
            return Decoded(EntryKind.TABLE, address, flags, inherited=global_)
        # Step 6: a superpage's PPN must be aligned to its size.
        if address & (level.page_size - 1):
            return Decoded(EntryKind.FAULT, fault=FaultKind.MALFORMED,
                           reason=f"misaligned superpage: PA {address:#x} not aligned to {level.page_size:#x}")
        extra = ("napot",) if raw & N else ()
        flags = PageFlags(
            present=True, readable=bool(raw & R), writable=bool(raw & W), executable=bool(raw & X),
            user=bool(raw & U), global_=global_, accessed=bool(raw & A), dirty=bool(raw & D),
            huge=not last, memtype=_PBMT[(raw >> PBMT_SHIFT) & 3], extra=extra)
        return Decoded(EntryKind.LEAF, address, flags)

    def privilege_level(self, regs: RegisterReader | AbcMapping[str, int]) -> str:
        """QEMU's gdbstub exposes the current privilege mode as the virtual register ``priv``."""
        priv = read_first(as_register_reader(regs), "priv")
        return {0: "U", 1: "S", 3: "M"}.get(priv & 3, f"priv{priv}")


__all__ = ["RiscV64", "sv_geometry"]

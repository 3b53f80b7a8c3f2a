"""Synthesise real page-table bytes from a mapping model (for tests, benchmarks, fixtures).

:class:`PageTableSynth` subclasses build x86_64, aarch64 and riscv64 tables into a
:class:`~axiomdbg.core.memory.SnapshotMemory` from ``map(va, pa, size, perms)`` calls and hand back
the control-register values that describe them, plus the *expected* decoded mappings.

The encoders here are deliberately written from the manuals independently of the decoders in
:mod:`axiomdbg.core.arch` (own bit constants, own level geometry), so that tests comparing the
two catch mistakes on either side instead of sharing them.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from .memory import SnapshotMemory
from .paging import Mapping, PageFlags

M64 = (1 << 64) - 1


@dataclass(frozen=True)
class Perms:
    """Abstract permissions of a mapping; each synthesiser normalises them to what it can encode.

    ``memtype`` is an arch-specific index (x86 PAT index 0..7, aarch64 AttrIndx 0..7, riscv
    PBMT 0..2). ``contiguous`` sets the aarch64 contiguous hint.
    """

    r: bool = True
    w: bool = False
    x: bool = False
    u: bool = False
    g: bool = False
    a: bool = True
    d: bool = False
    memtype: int = 0
    contiguous: bool = False


@dataclass
class _Half:
    """One root table and its geometry: ``shifts`` from the root down; ``root_bits`` index bits at the root."""

    lo: int
    hi: int
    root: int
    shifts: list[int]
    stride: int
    root_bits: int
    leaf_shifts: set[int]
    tree: dict


class PageTableSynth(abc.ABC):
    """Common tree building; subclasses encode entries and registers."""

    arch_name: str
    pa_bits: int

    def __init__(self, table_base: int = 0x100000) -> None:
        self.mem = SnapshotMemory()
        self._next = table_base
        self.tables: list[tuple[int, int]] = []  # (address, size) of every table
        self.model: dict[int, Mapping] = {}
        self.halves: list[_Half] = []          # halves that translate (enabled)
        self.disabled_halves: list[_Half] = []  # aarch64 halves with TCR_EL1.EPDn=1
        self.config_kwargs: dict = {}           # extra arguments for paging_from_registers

    # -- allocation ----------------------------------------------------------------------------
    def alloc_table(self, size: int) -> int:
        align = max(size, 4096)
        addr = (self._next + align - 1) & ~(align - 1)
        self._next = addr + max(size, 4096)
        self.mem.write_phys(addr, bytes(max(size, 4096)))
        self.tables.append((addr, size))
        return addr

    def _add_half(self, lo: int, hi: int, shifts: list[int], stride: int, root_bits: int,
                  leaf_shifts: set[int]) -> _Half:
        root = self.alloc_table(8 << root_bits)
        half = _Half(lo, hi, root, shifts, stride, root_bits, leaf_shifts, {})
        self.halves.append(half)
        return half

    def half_for(self, va: int) -> _Half | None:
        for h in self.halves:
            if h.lo <= va <= h.hi:
                return h
        return None

    def leaf_sizes(self, half: _Half) -> list[int]:
        return sorted(1 << s for s in half.leaf_shifts)

    # -- building ------------------------------------------------------------------------------
    def map(self, va: int, pa: int, size: int, perms: Perms = Perms()) -> bool:
        """Install one leaf; False (and nothing changed) if it conflicts with the tree."""
        half = self.half_for(va)
        if half is None or size & (size - 1) or va % size or pa % size:
            raise ValueError(f"cannot map {va:#x} -> {pa:#x} size {size:#x}")
        shift = size.bit_length() - 1
        if shift not in half.leaf_shifts:
            raise ValueError(f"size {size:#x} not allowed")
        perms = self.normalise(perms)
        # Check first, then build (so a conflict changes nothing).
        node = half.tree
        depth = 0
        for depth, s in enumerate(half.shifts):
            idx = self._index(half, depth, va)
            child = node.get(idx)
            if s == shift:
                if child is not None:
                    return False
                break
            if child is None:
                break
            if child[0] == "leaf":
                return False
            node = child[2]
        node = half.tree
        table = half.root
        for depth, s in enumerate(half.shifts):
            idx = self._index(half, depth, va)
            last = depth == len(half.shifts) - 1
            if s == shift:
                self.mem.write_u64(table + 8 * idx, self.encode_leaf(half, depth, last, pa, perms))
                node[idx] = ("leaf", pa)
                break
            child = node.get(idx)
            if child is None:
                nxt = self.alloc_table(8 << half.stride)
                self.mem.write_u64(table + 8 * idx, self.encode_table(half, depth, nxt))
                child = node[idx] = ("table", nxt, {})
            table, node = child[1], child[2]
        self.model[va] = Mapping(va, pa, size, self.expected_flags(half, perms, size != (1 << half.shifts[-1])))
        return True

    def _index(self, half: _Half, depth: int, va: int) -> int:
        bits = half.root_bits if depth == 0 else half.stride
        return (va >> half.shifts[depth]) & ((1 << bits) - 1)

    @property
    def live_tables(self) -> list[tuple[int, int]]:
        """Tables a full walk must read: all but the roots of disabled halves."""
        dead = {h.root for h in self.disabled_halves}
        return [t for t in self.tables if t[0] not in dead]

    def expected_mappings(self) -> list[Mapping]:
        return [self.model[va] for va in sorted(self.model)]

    def lookup(self, va: int) -> tuple[Mapping, int] | None:
        """Model translation: the mapping containing ``va`` and the PA, or None."""
        for size in {m.size for m in self.model.values()}:
            m = self.model.get(va & ~(size - 1) & M64)
            if m is not None and m.size == size:
                return m, m.pa + (va - m.va)
        return None

    # -- per arch --------------------------------------------------------------------------------
    @abc.abstractmethod
    def normalise(self, perms: Perms) -> Perms: ...

    @abc.abstractmethod
    def encode_table(self, half: _Half, depth: int, next_table: int) -> int: ...

    @abc.abstractmethod
    def encode_leaf(self, half: _Half, depth: int, last: bool, pa: int, perms: Perms) -> int: ...

    @abc.abstractmethod
    def expected_flags(self, half: _Half, perms: Perms, huge: bool) -> PageFlags: ...

    @abc.abstractmethod
    def registers(self) -> dict[str, int]: ...


class X86Synth(PageTableSynth):
    """x86_64 4-/5-level tables (SDM Vol. 3A 4.5): table entries P|RW|US, leaves as asked."""

    arch_name = "x86_64"
    PAT_NAMES = ("WB", "WT", "UC-", "UC", "WB", "WT", "UC-", "UC")

    def __init__(self, levels: int = 4, nxe: bool = True, huge_1g: bool = True, table_base: int = 0x100000) -> None:
        super().__init__(table_base)
        self.levels, self.nxe, self.huge_1g = levels, nxe, huge_1g
        self.config_kwargs = {"huge_1g": huge_1g}
        self.pa_bits = 52
        top = 12 + 9 * levels  # 48 or 57
        shifts = [12 + 9 * i for i in range(levels - 1, -1, -1)]
        leaf = {12, 21} | ({30} if huge_1g else set())
        root = self.alloc_table(4096)
        tree: dict = {}
        # One root table serves both canonical halves.
        lower = _Half(0, (1 << (top - 1)) - 1, root, shifts, 9, 9, leaf, tree)
        upper = _Half(M64 - ((1 << (top - 1)) - 1), M64, root, shifts, 9, 9, leaf, tree)
        self.halves = [lower, upper]

    def normalise(self, p: Perms) -> Perms:
        return Perms(True, p.w, p.x or not self.nxe, p.u, p.g, p.a, p.d, p.memtype & 7, False)

    def encode_table(self, half, depth, next_table):
        return next_table | 0b111 | (0x20 if next_table & 0x1000 else 0)  # P RW US, A on some

    def encode_leaf(self, half, depth, last, pa, p):
        e = pa | 1
        e |= 2 if p.w else 0
        e |= 4 if p.u else 0
        e |= 8 if p.memtype & 1 else 0            # PWT
        e |= 16 if p.memtype & 2 else 0           # PCD
        e |= 32 if p.a else 0
        e |= 64 if p.d else 0
        e |= 256 if p.g else 0
        if last:
            e |= 128 if p.memtype & 4 else 0      # PAT in a PTE
        else:
            e |= 128                               # PS
            e |= 4096 if p.memtype & 4 else 0     # PAT in a huge leaf
        if self.nxe and not p.x:
            e |= 1 << 63
        return e

    def expected_flags(self, half, p, huge):
        return PageFlags(True, True, p.w, p.x, p.u, p.g, p.a, p.d, huge, False, self.PAT_NAMES[p.memtype])

    def registers(self):
        root = self.halves[0].root
        return {
            "cr0": (1 << 31) | (1 << 16) | 1,
            "cr4": (1 << 5) | (1 << 7) | ((1 << 12) if self.levels == 5 else 0),
            "efer": (1 << 8) | (1 << 10) | ((1 << 11) if self.nxe else 0) | 1,
            "cr3": root | 0x8,  # PWT bit in CR3: must be masked off
            "cs": 0x10,
        }


class AArch64Synth(PageTableSynth):
    """AArch64 stage-1 tables for TTBR0/TTBR1 with any granule and VA size (Arm ARM D8)."""

    arch_name = "aarch64"
    MAIR = 0x00_00_00_BB_00_04_44_FF  # attr0 WB, attr1 NC, attr2 Device-nGnRE, attr3 nGnRnE, attr4 WT
    MAIR_NAMES = ("Normal-WB", "Normal-NC", "Device-nGnRE", "Device-nGnRnE", "Normal-WT",
                  "Device-nGnRnE", "Device-nGnRnE", "Device-nGnRnE")
    _BLOCKS = {4096: {30, 21}, 16384: {25}, 65536: {29}}

    def __init__(self, granule0: int = 4096, va_bits0: int = 48, granule1: int | None = None,
                 va_bits1: int | None = None, disable0: bool = False, disable1: bool = False,
                 table_base: int = 0x100000) -> None:
        super().__init__(table_base)
        self.pa_bits = 48
        granule1 = granule0 if granule1 is None else granule1
        va_bits1 = va_bits0 if va_bits1 is None else va_bits1
        self.cfg = (granule0, va_bits0, granule1, va_bits1, disable0, disable1)
        self.disabled = (disable0, disable1)
        h0 = self._make_half(granule0, va_bits0, 0, (1 << va_bits0) - 1)
        h1 = self._make_half(granule1, va_bits1, M64 - ((1 << va_bits1) - 1), M64)
        self.roots = (h0.root, h1.root)
        self.halves = [h for h, off in ((h0, disable0), (h1, disable1)) if not off]
        self.disabled_halves = [h for h, off in ((h0, disable0), (h1, disable1)) if off]

    def _make_half(self, granule: int, va_bits: int, lo: int, hi: int) -> _Half:
        g = granule.bit_length() - 1
        stride = g - 3
        shifts = []
        s = g
        while s < va_bits:            # level 3 upwards until the VA is covered
            shifts.insert(0, s)
            s += stride
        root_bits = va_bits - shifts[0]
        # Blocks: 4K granule level 1 (1 GiB, shift 30) and level 2 (2 MiB, shift 21); 16K level 2
        # (32 MiB, shift 25); 64K level 2 (512 MiB, shift 29) -- whenever that level exists.
        leaf = {g} | {b for b in self._BLOCKS[granule] if b in shifts}
        half = self._add_half(lo, hi, shifts, stride, root_bits, leaf)
        return half

    def normalise(self, p: Perms) -> Perms:
        return Perms(True, p.w, p.x, p.u, p.g, p.a, p.d and p.w, p.memtype & 7, p.contiguous)

    def encode_table(self, half, depth, next_table):
        return next_table | 0b11

    def encode_leaf(self, half, depth, last, pa, p):
        e = pa | (0b11 if last else 0b01)
        e |= p.memtype << 2
        e |= (1 << 6) if p.u else 0          # AP[1]
        e |= 0 if p.w else (1 << 7)          # AP[2]
        e |= (3 << 8)                         # inner shareable
        e |= (1 << 10) if p.a else 0         # AF
        e |= 0 if p.g else (1 << 11)         # nG
        e |= (1 << 51) if p.d else 0         # DBM (with AP[2]=0: writable-dirty)
        e |= (1 << 52) if p.contiguous else 0
        if p.u:
            e |= 1 << 53                      # PXN
            e |= 0 if p.x else (1 << 54)     # UXN
        else:
            e |= 1 << 54                      # UXN
            e |= 0 if p.x else (1 << 53)     # PXN
        return e

    def expected_flags(self, half, p, huge):
        extra = ("dbm",) if p.d else ()
        return PageFlags(True, True, p.w, p.x, p.u, p.g, p.a, p.d, huge, p.contiguous,
                         self.MAIR_NAMES[p.memtype], extra)

    def registers(self):
        g0, n0, g1, n1, d0, d1 = self.cfg
        tg0 = {4096: 0b00, 65536: 0b01, 16384: 0b10}[g0]
        tg1 = {16384: 0b01, 4096: 0b10, 65536: 0b11}[g1]
        tcr = (64 - n0) | (tg0 << 14) | ((64 - n1) << 16) | (tg1 << 30) | (5 << 32)
        tcr |= (1 << 7) if d0 else 0
        tcr |= (1 << 23) if d1 else 0
        tcr |= (1 << 8) | (1 << 10) | (3 << 12) | (1 << 24) | (1 << 26) | (3 << 28)  # cacheability bits
        return {
            "SCTLR": 0x30D0199D,            # M=1 plus the usual C/I/SA bits
            "TCR_EL1": tcr,
            "TTBR0_EL1": self.roots[0] | (0x42 << 48),   # ASID in 63:48
            "TTBR1_EL1": self.roots[1] | 1,              # CnP
            "MAIR_EL1": self.MAIR,
            "cpsr": (-0x3FB) & M64 | 0x5,                # sign-extended as GDB shows it; EL1h
        }


class RiscVSynth(PageTableSynth):
    """RISC-V Sv39/Sv48/Sv57 tables (privileged spec, Supervisor-Level ISA)."""

    arch_name = "riscv64"
    PBMT_NAMES = ("PMA", "NC", "IO")

    def __init__(self, levels: int = 3, table_base: int = 0x80100000) -> None:
        super().__init__(table_base)
        self.levels = levels
        self.pa_bits = 56
        top = 12 + 9 * levels
        shifts = [12 + 9 * i for i in range(levels - 1, -1, -1)]
        root = self.alloc_table(4096)
        tree: dict = {}
        self.halves = [
            _Half(0, (1 << (top - 1)) - 1, root, shifts, 9, 9, set(shifts), tree),
            _Half(M64 - ((1 << (top - 1)) - 1), M64, root, shifts, 9, 9, set(shifts), tree),
        ]

    def normalise(self, p: Perms) -> Perms:
        r = p.r or p.w or not p.x
        return Perms(r, p.w, p.x, p.u, p.g, p.a, p.d, p.memtype % 3, False)

    def encode_table(self, half, depth, next_table):
        return ((next_table >> 12) << 10) | 1

    def encode_leaf(self, half, depth, last, pa, p):
        e = ((pa >> 12) << 10) | 1
        for bit, on in ((1, p.r), (2, p.w), (3, p.x), (4, p.u), (5, p.g), (6, p.a), (7, p.d)):
            if on:
                e |= 1 << bit
        return e | (p.memtype << 61)

    def expected_flags(self, half, p, huge):
        return PageFlags(True, p.r, p.w, p.x, p.u, p.g, p.a, p.d, huge, False, self.PBMT_NAMES[p.memtype])

    def registers(self):
        mode = {3: 8, 4: 9, 5: 10}[self.levels]
        return {"satp": (mode << 60) | (7 << 44) | (self.halves[0].root >> 12), "priv": 1}


__all__ = ["Perms", "PageTableSynth", "X86Synth", "AArch64Synth", "RiscVSynth"]

"""The abstract :class:`Arch` and the generic radix-tree walker shared by all architectures.

Adding an architecture (the checklist; also in docs/arch-checklist.md)
=====================================================================

Like drgn's ``platform.h`` or archinfo's ``Arch``, a new architecture is one module in this
package with one subclass of :class:`Arch`, registered with ``@register_arch``. It must fill in:

1. Identity: ``name`` (canonical, e.g. ``"riscv64"``), ``aliases`` (lower-case alternatives, GDB's
   ``show architecture`` name), ``elf_machine`` (``e_machine``), ``gdb_arch``, ``qemu_system``
   (the QEMU binary), ``pointer_size``, ``endian``.
2. Registers: ``pc_register``, ``sp_register`` and ``paging_registers`` -- the GDB names of the
   registers :meth:`Arch.paging_from_registers` reads. Check the names against the real gdbstub
   (``/work/shared/notes/platform.md``): QEMU 7.2 calls aarch64's SCTLR_EL1 just ``SCTLR``.
3. ``paging_modes``: the mode names the arch can report (``4level``/``5level``, ``sv39``...).
4. :meth:`Arch.paging_from_registers` -- decode the control registers into a
   :class:`~axiomdbg.core.paging.PagingConfig`: raise PagingDisabledError when the MMU is off
   and UnsupportedPagingModeError for modes not decoded; build one
   :class:`~axiomdbg.core.paging.PagingRegion` per root with its level geometry (index bits per
   level, which levels may hold a leaf), its VA size and how it extends to 64 bits (sign,
   low, high); mask ASID/PCID/CnP bits out of the root; put decoded switches that change
   entry meaning (NX enable, hierarchical-permission disable, PA size, memory attributes)
   into ``options``.
5. :meth:`Arch.decode_entry` -- decode ONE raw 64-bit entry at one level into a
   :class:`~axiomdbg.core.paging.Decoded`: INVALID, TABLE (next table address + the inherited
   hierarchical attributes), LEAF (output address + effective :class:`PageFlags`) or FAULT
   (with a :class:`FaultKind` and a one-line reason: reserved bits, forbidden encodings,
   block/huge page where the level does not allow it, misaligned superpage...). It must never
   return TABLE at the last level. It must not read memory.
6. :meth:`Arch.initial_inherited` if permissions are hierarchical (x86, aarch64).
7. :meth:`Arch.privilege_level` -- the current privilege level from the registers.
8. Tests: a synthesiser in :mod:`axiomdbg.core.synth` that encodes entries independently of the
   decoder, then the model/property tests of ``tests/unit/test_pt_properties.py`` pick the new
   arch up by adding it to the parameter lists, plus known-answer and hostile-table tests.
9. Documentation: the support matrix in docs/debugging.md.

Translation, whole-space walks, range merging and virtual reads are generic and live here.
Every architecture uses bit 0 of an entry as its valid bit, which the walker uses to skip
empty slots quickly.
"""

from __future__ import annotations

import abc
import struct
from collections.abc import Iterator, Mapping as AbcMapping
from typing import Any, ClassVar

from ..errors import MemoryReadError, NonCanonicalError
from ..memory import PhysicalMemory, RegisterReader
from ..paging import (
    MASK64,
    Decoded,
    EntryKind,
    FaultKind,
    IssueKind,
    MappedRange,
    Mapping,
    PagingConfig,
    PagingRegion,
    RegionKind,
    Translation,
    TranslationStep,
    WalkIssue,
    ranges as merge_ranges,
)

VALID_BIT = 1  # bit 0 is valid/present on x86_64, aarch64 and riscv


class Arch(abc.ABC):
    """One CPU architecture: identity, register names, paging decode (see module docstring)."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    elf_machine: ClassVar[int]
    gdb_arch: ClassVar[str]
    qemu_system: ClassVar[str]
    pointer_size: ClassVar[int] = 8
    endian: ClassVar[str] = "little"
    pc_register: ClassVar[str]
    sp_register: ClassVar[str]
    paging_registers: ClassVar[tuple[str, ...]]
    paging_modes: ClassVar[tuple[str, ...]]

    # ----------------------------------------------------------------- per-arch hooks
    @abc.abstractmethod
    def paging_from_registers(self, regs: RegisterReader | AbcMapping[str, int], **overrides: Any) -> PagingConfig:
        """Decode the control registers into a PagingConfig (see the checklist, item 4)."""

    @abc.abstractmethod
    def decode_entry(self, cfg: PagingConfig, region: PagingRegion, level_index: int, raw: int,
                     inherited: Any) -> Decoded:
        """Decode one raw entry at ``region.levels[level_index]`` (checklist, item 5)."""

    def initial_inherited(self, cfg: PagingConfig, region: PagingRegion) -> Any:
        """Hierarchical attribute state at the root (None when the arch has none)."""
        return None

    @abc.abstractmethod
    def privilege_level(self, regs: RegisterReader | AbcMapping[str, int]) -> str:
        """The current privilege level, e.g. ``"ring0"``, ``"EL1"``, ``"S"``."""

    def noncanonical_reason(self, cfg: PagingConfig, va: int) -> str:
        """One-line explanation of why ``va`` is in no region."""
        parts = []
        for region in cfg.regions:
            if region.kind is RegionKind.SIGN_EXTENDED:
                n = region.va_bits
                return f"bits 63:{n - 1} must all equal bit {n - 1} ({n}-bit {cfg.mode} addresses)"
            parts.append(f"{region.name} {region.va_low:#x}-{region.va_high:#x}")
        return "outside " + " and ".join(parts)

    # ----------------------------------------------------------------- generic machinery
    def __repr__(self) -> str:
        return f"<Arch {self.name}>"

    @staticmethod
    def read_table(mem: PhysicalMemory, table: int, entries: int) -> tuple[int, ...]:
        """Read a whole table with ONE request and unpack its little-endian entries."""
        size = entries * 8
        data = mem.read_phys(table, size)
        if len(data) != size:
            raise MemoryReadError(table, size, f"short read ({len(data)} bytes)")
        return struct.unpack(f"<{entries}Q", data)

    def translate(self, mem: PhysicalMemory, cfg: PagingConfig, va: int) -> Translation:
        """Translate ``va`` the way the MMU would, recording every level.

        Reads one 8-byte entry per level (wrap ``mem`` in a PageCache to translate many
        addresses cheaply). The walk depth is bounded by the number of levels, so a cyclic or
        self-referencing table cannot make it loop; a table met twice on the path (a recursive
        mapping) is followed as the hardware would and noted in the step.
        """
        va &= MASK64
        result = Translation(va)
        region = cfg.region_for(va)
        if region is None:
            result.fault = FaultKind.NON_CANONICAL
            result.reason = self.noncanonical_reason(cfg, va)
            return result
        result.region = region.name
        if not region.enabled:
            result.fault = FaultKind.WALK_DISABLED
            result.fault_level = region.name
            result.reason = region.disabled_reason
            return result
        table = region.root
        inherited = self.initial_inherited(cfg, region)
        path: list[tuple[int, str]] = []
        for li, level in enumerate(region.levels):
            index = level.index(va)
            entry_address = table + 8 * index
            note = ""
            for seen_table, seen_level in path:
                if seen_table == table:
                    note = f"table {table:#x} already used at {seen_level}: recursive or cyclic table"
                    break
            path.append((table, level.name))
            try:
                raw = int.from_bytes(mem.read_phys(entry_address, 8), "little")
            except MemoryReadError as err:
                result.steps.append(TranslationStep(level.name, table, index, entry_address, None,
                                                    EntryKind.INVALID, Decoded(EntryKind.INVALID).flags, note))
                result.fault = FaultKind.TABLE_UNREADABLE
                result.fault_level = level.name
                result.reason = str(err)
                result.cause = err
                return result
            d = self.decode_entry(cfg, region, li, raw, inherited)
            if d.kind is EntryKind.FAULT and d.reason:
                note = f"{note}; {d.reason}" if note else d.reason
            result.steps.append(TranslationStep(level.name, table, index, entry_address, raw, d.kind, d.flags, note))
            if d.kind is EntryKind.INVALID:
                result.fault = FaultKind.NOT_PRESENT
                result.fault_level = level.name
                result.reason = d.reason or "entry not present"
                return result
            if d.kind is EntryKind.FAULT:
                result.fault = d.fault or FaultKind.MALFORMED
                result.fault_level = level.name
                result.reason = d.reason
                return result
            if d.kind is EntryKind.LEAF:
                offset = va & (level.page_size - 1)
                result.pa = d.address + offset
                result.page_size = level.page_size
                result.flags = d.flags
                return result
            if li == len(region.levels) - 1:  # defensive: decode_entry must not do this
                result.fault = FaultKind.MALFORMED
                result.fault_level = level.name
                result.reason = "table pointer at the last level"
                return result
            table = d.address
            inherited = d.inherited
        raise AssertionError("unreachable: every level returns")  # pragma: no cover

    def virt_to_phys(self, mem: PhysicalMemory, cfg: PagingConfig, va: int) -> int:
        """Translate or raise the matching AxiomError (UnmappedError, NonCanonicalError...)."""
        return self.translate(mem, cfg, va).require()

    def read_virt(self, mem: PhysicalMemory, cfg: PagingConfig, va: int, size: int) -> bytes:
        """Read virtual memory by translating page by page (MemoryReadError on a hole)."""
        out = bytearray()
        pos = va & MASK64
        end = pos + size
        while pos < end:
            t = self.translate(mem, cfg, pos & MASK64)
            if not t.mapped:
                err = t.error()
                raise MemoryReadError(va, size, str(err), space="virtual")
            assert t.pa is not None and t.page_size is not None
            n = min(t.page_size - (pos & (t.page_size - 1)), end - pos)
            out += mem.read_phys(t.pa, n)
            pos += n
        return bytes(out)

    def walk(self, mem: PhysicalMemory, cfg: PagingConfig, va_start: int | None = None,
             va_end: int | None = None, *, follow_shared: bool = False) -> "PageTableWalk":
        """Iterate over the leaf mappings overlapping ``[va_start, va_end)`` in ascending VA order.

        Returns a :class:`PageTableWalk` (iterable of :class:`Mapping`; its ``issues`` list
        collects cycles, shared tables, unreadable tables and faulting entries met on the way).
        Each table is read with exactly one request and at most once per walk.
        """
        return PageTableWalk(self, mem, cfg, va_start, va_end, follow_shared=follow_shared)

    def ranges(self, mem: PhysicalMemory, cfg: PagingConfig, va_start: int | None = None,
               va_end: int | None = None, *, ignore_accessed_dirty: bool = False,
               follow_shared: bool = False) -> list[MappedRange]:
        """The walk's mappings merged into ranges (see :func:`axiomdbg.core.paging.ranges`)."""
        return list(merge_ranges(self.walk(mem, cfg, va_start, va_end, follow_shared=follow_shared),
                                 ignore_accessed_dirty=ignore_accessed_dirty))

    def check_canonical(self, cfg: PagingConfig, va: int) -> None:
        """Raise NonCanonicalError if no region translates ``va``."""
        if cfg.region_for(va & MASK64) is None:
            raise NonCanonicalError(va, self.noncanonical_reason(cfg, va))


class PageTableWalk:
    """A depth-first walk of all page tables of a :class:`PagingConfig`.

    Iterating yields :class:`Mapping` objects in ascending virtual-address order. Guarantees:

    * every table is fetched with ONE ``read_phys`` of the whole table, and at most once per
      iteration (``tables_read`` counts them);
    * the walk terminates on hostile tables: its depth is bounded by the number of levels, an
      entry pointing to a table on the current path (a cycle, e.g. a self-referencing root) is
      reported as a CYCLE issue and not followed, and a table already walked elsewhere is
      reported as SHARED_TABLE and not followed again unless ``follow_shared`` is true (then it
      is re-walked from the already-read copy, never re-read);
    * unreadable tables and faulting entries become issues; the walk continues with the rest.

    ``issues`` is filled while iterating; iterating again starts a fresh walk.
    """

    def __init__(self, arch: Arch, mem: PhysicalMemory, cfg: PagingConfig, va_start: int | None = None,
                 va_end: int | None = None, *, follow_shared: bool = False) -> None:
        self.arch = arch
        self.mem = mem
        self.cfg = cfg
        self.va_start = 0 if va_start is None else max(0, min(va_start, 1 << 64))
        self.va_end = (1 << 64) if va_end is None else max(0, min(va_end, 1 << 64))
        self.follow_shared = follow_shared
        self.issues: list[WalkIssue] = []
        self.tables_read = 0
        self._tables: dict[int, tuple[int, ...] | None] = {}
        self._walked: dict[int, str] = {}

    def __iter__(self) -> Iterator[Mapping]:
        self.issues = []
        self.tables_read = 0
        self._tables = {}
        self._walked = {}
        for region in self.cfg.regions:
            if not region.enabled:
                continue
            if not any(lo < self.va_end and hi >= self.va_start for lo, hi in region.halves()):
                continue
            inherited = self.arch.initial_inherited(self.cfg, region)
            root = region.root
            if root in self._walked and not self.follow_shared:
                self.issues.append(WalkIssue(IssueKind.SHARED_TABLE, region.levels[0].name, region.va_low, root, 0,
                                             None, f"root already walked as {self._walked[root]}"))
                continue
            yield from self._walk_table(region, 0, root, 0, inherited, [root])

    def _load(self, region: PagingRegion, li: int, table: int, va: int) -> tuple[int, ...] | None:
        if table in self._tables:
            return self._tables[table]
        level = region.levels[li]
        try:
            entries = Arch.read_table(self.mem, table, level.entries)
        except MemoryReadError as err:
            entries = None
            self.issues.append(WalkIssue(IssueKind.UNREADABLE, level.name, va, table, 0, None, str(err)))
        self.tables_read += 1
        self._tables[table] = entries
        return entries

    def _walk_table(self, region: PagingRegion, li: int, table: int, prefix: int, inherited: Any,
                    path: list[int]) -> Iterator[Mapping]:
        level = region.levels[li]
        self._walked.setdefault(table, f"{level.name} of {region.name} at VA {region.make_va(prefix):#x}")
        entries = self._load(region, li, table, region.make_va(prefix))
        if entries is None:
            return
        size = level.page_size
        shift = level.shift
        start, end = self.va_start, self.va_end
        decode = self.arch.decode_entry
        cfg = self.cfg
        last = li == len(region.levels) - 1
        for index, raw in enumerate(entries):
            if not raw & VALID_BIT:
                continue
            bits = prefix | (index << shift)
            va = region.make_va(bits)
            if va >= end or va + size <= start:
                continue
            d = decode(cfg, region, li, raw, inherited)
            kind = d.kind
            if kind is EntryKind.LEAF:
                yield Mapping(va, d.address, size, d.flags, level.name)
            elif kind is EntryKind.TABLE and not last:
                nxt = d.address
                if nxt in path:
                    self.issues.append(WalkIssue(IssueKind.CYCLE, level.name, va, table, index, raw,
                                                 f"points back to table {nxt:#x} on the current path"))
                    continue
                if nxt in self._walked and not self.follow_shared:
                    self.issues.append(WalkIssue(IssueKind.SHARED_TABLE, level.name, va, table, index, raw,
                                                 f"table {nxt:#x} already walked as {self._walked[nxt]}"))
                    continue
                path.append(nxt)
                yield from self._walk_table(region, li + 1, nxt, bits, d.inherited, path)
                path.pop()
            elif kind is EntryKind.FAULT or kind is EntryKind.TABLE:
                detail = d.reason if kind is EntryKind.FAULT else "table pointer at the last level"
                fault = d.fault.value if d.fault else "fault"
                self.issues.append(WalkIssue(IssueKind.FAULT, level.name, va, table, index, raw,
                                             f"{fault}: {detail}"))

    def collect(self) -> list[Mapping]:
        """Run the walk and return all mappings (``issues`` is filled afterwards)."""
        return list(self)


__all__ = ["Arch", "PageTableWalk", "VALID_BIT"]

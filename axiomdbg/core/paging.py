"""Architecture-neutral data types of address translation.

All three supported MMUs are radix trees of 8-byte little-endian entries in which bit 0 is the
valid/present bit:

* x86_64 4-/5-level paging (Intel SDM Vol. 3A, chapter 4 "Paging", 4.5);
* AArch64 VMSAv8-64 stage 1 (Arm ARM DDI 0487, chapter D8 "The AArch64 Virtual Memory System
  Architecture");
* RISC-V Sv39/Sv48/Sv57 (RISC-V Privileged Architecture, "Supervisor-Level ISA" chapter,
  sections "Virtual Address Translation Process", "Sv39", "Sv48", "Sv57"; chapter 12 in v1.13).

So one description fits them all: a :class:`PagingConfig` holds one or more
:class:`PagingRegion` (a root table and the VA range it translates), each with a tuple of
:class:`LevelGeometry` from the root down. The per-arch code only decodes single entries; the
walk itself lives in :mod:`axiomdbg.core.arch.base`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import (
    AxiomError,
    MalformedPageTableError,
    MemoryReadError,
    NonCanonicalError,
    PagingError,
    UnmappedError,
)

MASK64 = (1 << 64) - 1


def size_str(size: int) -> str:
    """Human-readable power-of-two size: 4K, 2M, 1G, 512G, 256T."""
    for unit, shift in (("P", 50), ("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return f"{size}B"


@dataclass(frozen=True, slots=True)
class PageFlags:
    """Decoded permissions and attributes of one entry (or the effective ones of a mapping).

    Common fields mean the same thing on every architecture:

    ``present``     the entry is valid (x86 P, arm valid bit, riscv V)
    ``readable``    data reads allowed (always true on x86 and aarch64 when present)
    ``writable``    data writes allowed at the page's privilege level
    ``executable``  instruction fetch allowed at the page's privilege level
                    (x86: not XD; riscv: X; aarch64: not UXN for EL0 pages, not PXN otherwise)
    ``user``        accessible from user mode (x86 U/S, riscv U, aarch64 AP[1])
    ``global_``     not tagged with an ASID/PCID (x86 G, riscv G, aarch64 not nG)
    ``accessed``    accessed flag (x86 A, riscv A, aarch64 AF)
    ``dirty``       dirty flag (x86 D, riscv D, aarch64 DBM and writable)
    ``huge``        a leaf above the last level (x86 PS, aarch64 block, riscv superpage)
    ``contiguous``  aarch64 contiguous hint (a TLB hint; translation is unchanged)
    ``memtype``     memory type/attribute string (x86 PAT type, aarch64 MAIR attribute,
                    riscv PBMT)
    ``extra``       arch-specific notes such as ``pk=3``, ``pxn``, ``ns``, ``napot``
    """

    present: bool = True
    readable: bool = True
    writable: bool = False
    executable: bool = False
    user: bool = False
    global_: bool = False
    accessed: bool = False
    dirty: bool = False
    huge: bool = False
    contiguous: bool = False
    memtype: str = ""
    extra: tuple[str, ...] = ()

    def perms(self) -> str:
        """The ``rwx`` triple, with ``-`` for a missing permission."""
        return ("r" if self.readable else "-") + ("w" if self.writable else "-") + (
            "x" if self.executable else "-")

    def __str__(self) -> str:
        """Short form ``rwx u g a d`` with ``-`` placeholders, then huge/contig/memtype/extras."""
        if not self.present:
            return "not-present"
        parts = [
            self.perms(),
            "u" if self.user else "-",
            "g" if self.global_ else "-",
            "a" if self.accessed else "-",
            "d" if self.dirty else "-",
        ]
        if self.huge:
            parts.append("huge")
        if self.contiguous:
            parts.append("contig")
        if self.memtype:
            parts.append(self.memtype)
        parts.extend(self.extra)
        return " ".join(parts)

    def merge_key(self, ignore_accessed_dirty: bool = False) -> "PageFlags":
        """Flags used to decide if two neighbouring mappings merge into one range (huge ignored)."""
        key = replace(self, huge=False)
        if ignore_accessed_dirty:
            key = replace(key, accessed=False, dirty=False)
        return key


NOT_PRESENT = PageFlags(present=False, readable=False)


@dataclass(frozen=True, slots=True)
class LevelGeometry:
    """One level of a radix tree.

    ``name``     how the manuals call it (``PML4``, ``L1``, ``VPN[2]``...)
    ``number``   the architectural level number (x86 5..1, aarch64 0..3, riscv LEVELS-1..0)
    ``shift``    the lowest VA bit indexed at this level; a leaf here maps ``1 << shift`` bytes
    ``bits``     the number of index bits, so the table has ``1 << bits`` entries of 8 bytes
    ``leaf_ok``  whether a leaf (huge page / block) may appear at this level
    """

    name: str
    number: int
    shift: int
    bits: int
    leaf_ok: bool

    @property
    def entries(self) -> int:
        return 1 << self.bits

    @property
    def table_size(self) -> int:
        return 8 << self.bits

    @property
    def page_size(self) -> int:
        """Bytes mapped by one leaf entry at this level."""
        return 1 << self.shift

    def index(self, va: int) -> int:
        return (va >> self.shift) & ((1 << self.bits) - 1)


class RegionKind(enum.Enum):
    """How a region's translated VA bits extend to 64 bits."""

    SIGN_EXTENDED = "sign"  # x86_64 and riscv: bits above va_bits copy bit va_bits-1
    LOW = "low"             # aarch64 TTBR0: bits above va_bits are zero
    HIGH = "high"           # aarch64 TTBR1: bits above va_bits are one


@dataclass(frozen=True, slots=True)
class PagingRegion:
    """A root table and the virtual-address range it translates.

    x86_64 and riscv have one sign-extended region (the upper canonical half is the upper half
    of the root table). AArch64 has two: TTBR0_EL1 for the low range and TTBR1_EL1 for the high
    range, each with its own size (T0SZ/T1SZ) and granule (TG0/TG1).
    """

    name: str
    root: int
    va_bits: int
    kind: RegionKind
    levels: tuple[LevelGeometry, ...]
    granule: int
    enabled: bool = True
    disabled_reason: str = ""
    ignore_top_byte: bool = False  # aarch64 TCR_EL1.TBIx

    @property
    def va_low(self) -> int:
        """Lowest VA of the region (for a sign-extended region: of its lower half)."""
        if self.kind is RegionKind.HIGH:
            return MASK64 ^ ((1 << self.va_bits) - 1)
        return 0

    @property
    def va_high(self) -> int:
        """Highest VA of the region, inclusive."""
        if self.kind is RegionKind.LOW:
            return (1 << self.va_bits) - 1
        return MASK64

    def halves(self) -> list[tuple[int, int]]:
        """The inclusive VA intervals this region translates."""
        n = self.va_bits
        if self.kind is RegionKind.SIGN_EXTENDED:
            return [(0, (1 << (n - 1)) - 1), (MASK64 ^ ((1 << (n - 1)) - 1), MASK64)]
        return [(self.va_low, self.va_high)]

    def contains(self, va: int) -> bool:
        """Whether ``va`` is canonical for this region (honouring top-byte-ignore)."""
        n = self.va_bits
        top_bits = 64 - n
        if self.ignore_top_byte:
            top_bits -= 8
        upper = (va >> n) & ((1 << top_bits) - 1) if top_bits > 0 else 0
        ones = (1 << top_bits) - 1 if top_bits > 0 else 0
        if self.kind is RegionKind.LOW:
            return upper == 0
        if self.kind is RegionKind.HIGH:
            return upper == ones
        sign = (va >> (n - 1)) & 1
        return upper == (ones if sign else 0)

    def make_va(self, bits: int) -> int:
        """Turn the ``va_bits`` translated bits into the full 64-bit virtual address."""
        n = self.va_bits
        if self.kind is RegionKind.HIGH or (self.kind is RegionKind.SIGN_EXTENDED and bits >> (n - 1) & 1):
            return (MASK64 ^ ((1 << n) - 1)) | bits
        return bits

    def describe(self) -> str:
        lo, hi = self.va_low, self.va_high
        if self.kind is RegionKind.SIGN_EXTENDED:
            (a, b), (c, d) = self.halves()
            rng = f"{a:#x}-{b:#x} and {c:#x}-{d:#x}"
        else:
            rng = f"{lo:#x}-{hi:#x}"
        state = "" if self.enabled else f" (disabled: {self.disabled_reason})"
        return (f"{self.name}: root {self.root:#x}, {self.va_bits}-bit VA {rng}, "
                f"{len(self.levels)} levels, {size_str(self.granule)} granule{state}")


@dataclass(slots=True)
class PagingConfig:
    """Everything needed to translate: built by ``Arch.paging_from_registers``.

    ``mode``     mode name (``4level``, ``5level``, ``sv39``, ``sv48``, ``sv57``, ``4k``, ``16k``,
                 ``64k``)
    ``levels``   number of levels of the first enabled region
    ``granule``  smallest page size of the first enabled region
    ``va_bits``  translated VA bits of the first enabled region
    ``regions``  the roots: one for x86/riscv, TTBR0 and TTBR1 for aarch64
    ``options``  arch-specific switches decoded from registers (``nxe``, ``pa_bits``, ``mair``...)
    """

    arch: str
    mode: str
    regions: tuple[PagingRegion, ...]
    options: dict[str, Any] = field(default_factory=dict)

    def _first(self) -> PagingRegion:
        for r in self.regions:
            if r.enabled:
                return r
        return self.regions[0]

    @property
    def levels(self) -> int:
        return len(self._first().levels)

    @property
    def granule(self) -> int:
        return self._first().granule

    @property
    def va_bits(self) -> int:
        return self._first().va_bits

    @property
    def lower_root(self) -> int:
        """Root of the lower half (x86 CR3, riscv satp.PPN, aarch64 TTBR0_EL1 base)."""
        return self.regions[0].root

    @property
    def upper_root(self) -> int:
        """Root of the upper half (the same table on x86/riscv, TTBR1_EL1 base on aarch64)."""
        return self.regions[-1].root

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def region_for(self, va: int) -> PagingRegion | None:
        """The region that translates ``va``, or None if it is non-canonical."""
        for region in self.regions:
            if region.contains(va):
                return region
        return None

    def describe(self) -> str:
        return f"{self.arch} {self.mode}: " + "; ".join(r.describe() for r in self.regions)


class EntryKind(enum.Enum):
    """What a single page-table entry is."""

    INVALID = "invalid"  # valid/present bit clear: translation stops, nothing mapped
    TABLE = "table"      # points to the next-level table
    LEAF = "leaf"        # maps a page/block/superpage
    FAULT = "fault"      # valid bit set but the encoding makes the hardware fault


class FaultKind(enum.Enum):
    """Why a translation did not produce a physical address."""

    NON_CANONICAL = "non-canonical address"
    WALK_DISABLED = "walks disabled for this range"
    NOT_PRESENT = "entry not present"
    RESERVED_BITS = "reserved bits set"
    MALFORMED = "malformed entry"
    BLOCK_NOT_ALLOWED = "huge page/block not allowed at this level"
    TABLE_UNREADABLE = "page table not readable"


@dataclass(slots=True)
class Decoded:
    """Result of decoding one entry (produced by ``Arch.decode_entry``).

    ``address`` is the next table's physical address for TABLE, the output (page base)
    physical address for LEAF. ``inherited`` is the arch's hierarchical-attribute state to pass
    down from a TABLE entry (x86 R/W, U/S, XD; aarch64 APTable/PXNTable/UXNTable; riscv G).
    """

    kind: EntryKind
    address: int = 0
    flags: PageFlags = NOT_PRESENT
    fault: FaultKind | None = None
    reason: str = ""
    inherited: Any = None


@dataclass(frozen=True, slots=True)
class TranslationStep:
    """One level of a translation: where the entry was read and what it said."""

    level: str
    table: int        # physical address of the table
    index: int        # index of the entry in the table
    entry_address: int
    raw: int | None   # None when the table could not be read
    kind: EntryKind
    flags: PageFlags
    note: str = ""

    def __str__(self) -> str:
        raw = "unreadable" if self.raw is None else f"{self.raw:#018x}"
        text = f"{self.level:<7} table {self.table:#x}[{self.index}] @{self.entry_address:#x} = {raw} {self.kind.value}"
        if self.kind in (EntryKind.TABLE, EntryKind.LEAF):
            text += f" [{self.flags}]"
        if self.note:
            text += f" ({self.note})"
        return text


@dataclass(slots=True)
class Translation:
    """The result of translating one virtual address, mapped or not.

    When mapped: ``pa``, ``page_size``, ``page_va`` (the base of the page/block) and the
    effective ``flags``. When not: ``fault``, ``fault_level`` (level name, None for a VA
    rejected before the walk) and ``reason``. ``steps`` is the chain from the root down in
    both cases.
    """

    va: int
    steps: list[TranslationStep] = field(default_factory=list)
    region: str | None = None
    pa: int | None = None
    page_size: int | None = None
    flags: PageFlags | None = None
    fault: FaultKind | None = None
    fault_level: str | None = None
    reason: str = ""
    cause: AxiomError | None = None  # the MemoryReadError behind TABLE_UNREADABLE

    @property
    def mapped(self) -> bool:
        return self.pa is not None

    @property
    def page_va(self) -> int | None:
        return None if self.page_size is None else self.va & ~(self.page_size - 1) & MASK64

    @property
    def page_pa(self) -> int | None:
        return None if self.pa is None or self.page_size is None else self.pa & ~(self.page_size - 1)

    def error(self) -> AxiomError | None:
        """The exception that describes why the translation failed (None when mapped)."""
        if self.mapped:
            return None
        fault = self.fault
        if fault is FaultKind.NON_CANONICAL:
            return NonCanonicalError(self.va, self.reason)
        if fault is FaultKind.NOT_PRESENT or fault is FaultKind.WALK_DISABLED:
            return UnmappedError(self.va, self.fault_level, self.reason)
        if fault is FaultKind.TABLE_UNREADABLE:
            if self.cause is not None:
                return self.cause
            last = self.steps[-1] if self.steps else None
            return MemoryReadError(last.table if last else 0, 8, f"{self.fault_level} table: {self.reason}")
        step = self.steps[-1] if self.steps else None
        return MalformedPageTableError(
            f"{fault.value if fault else 'fault'}: {self.reason}", va=self.va, level=self.fault_level,
            entry=step.raw if step else None, entry_address=step.entry_address if step else None)

    def require(self) -> int:
        """Return the physical address or raise the matching AxiomError."""
        err = self.error()
        if err is not None:
            raise err
        assert self.pa is not None
        return self.pa

    def __str__(self) -> str:
        lines = [f"VA {self.va:#018x}" + (f" via {self.region}" if self.region else "")]
        lines += [f"  {s}" for s in self.steps]
        if self.mapped:
            lines.append(f"  -> PA {self.pa:#x} ({size_str(self.page_size or 0)} page, {self.flags})")
        else:
            where = f" at {self.fault_level}" if self.fault_level else ""
            lines.append(f"  -> unmapped{where}: {self.fault.value if self.fault else '?'}: {self.reason}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Mapping:
    """One leaf mapping found by a walk: ``size`` bytes at ``va`` map to ``pa``."""

    va: int
    pa: int
    size: int
    flags: PageFlags
    level: str = field(default="", compare=False)

    @property
    def va_end(self) -> int:
        return self.va + self.size

    def __str__(self) -> str:
        return f"{self.va:#018x}-{self.va + self.size:#018x} -> {self.pa:#x} {size_str(self.size):>5} {self.flags}"


@dataclass(frozen=True, slots=True)
class MappedRange:
    """Consecutive mappings merged: same flags, contiguous in VA and in PA."""

    va: int
    pa: int
    size: int
    flags: PageFlags
    count: int

    @property
    def va_end(self) -> int:
        return self.va + self.size

    def __str__(self) -> str:
        return (f"{self.va:#018x}-{self.va + self.size:#018x} -> {self.pa:#x}-{self.pa + self.size:#x} "
                f"{size_str(self.size):>6} {self.flags.merge_key()} ({self.count} entries)")


class IssueKind(enum.Enum):
    """Problems a walk reports instead of following (or crashing on) them."""

    CYCLE = "cycle"                    # a table entry points to a table on the current path
    SHARED_TABLE = "shared table"      # a table already walked elsewhere (not followed again)
    UNREADABLE = "unreadable table"    # the table's memory could not be read
    FAULT = "faulting entry"           # reserved bits, malformed or forbidden block


@dataclass(frozen=True, slots=True)
class WalkIssue:
    """Something odd a walk met; the subtree under it was skipped."""

    kind: IssueKind
    level: str
    va: int
    table: int
    index: int
    raw: int | None
    detail: str

    def __str__(self) -> str:
        raw = "" if self.raw is None else f" = {self.raw:#018x}"
        return f"{self.kind.value} at {self.level} {self.table:#x}[{self.index}]{raw} (VA {self.va:#x}): {self.detail}"


def ranges(mappings: Iterable[Mapping], *, ignore_accessed_dirty: bool = False) -> Iterator[MappedRange]:
    """Merge consecutive mappings into ranges.

    Two neighbours merge when the second starts where the first ends in virtual *and* physical
    address space and their flags agree (ignoring the page size, and optionally A/D). The input
    is expected in ascending VA order, as walks produce it.
    """
    cur: list[Any] | None = None  # [va, pa, size, key, count]
    for m in mappings:
        key = m.flags.merge_key(ignore_accessed_dirty)
        if cur is not None and cur[0] + cur[2] == m.va and cur[1] + cur[2] == m.pa and cur[3] == key:
            cur[2] += m.size
            cur[4] += 1
            continue
        if cur is not None:
            yield MappedRange(cur[0], cur[1], cur[2], cur[3], cur[4])
        cur = [m.va, m.pa, m.size, key, 1]
    if cur is not None:
        yield MappedRange(cur[0], cur[1], cur[2], cur[3], cur[4])


__all__ = [
    "PageFlags",
    "NOT_PRESENT",
    "LevelGeometry",
    "RegionKind",
    "PagingRegion",
    "PagingConfig",
    "EntryKind",
    "FaultKind",
    "Decoded",
    "TranslationStep",
    "Translation",
    "Mapping",
    "MappedRange",
    "IssueKind",
    "WalkIssue",
    "ranges",
    "size_str",
    "PagingError",
]

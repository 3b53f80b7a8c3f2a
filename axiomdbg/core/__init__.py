"""Debugger-agnostic core of axiomdbg: never imports ``gdb``.

Memory and registers come in through :class:`~axiomdbg.core.memory.PhysicalMemory` and
:class:`~axiomdbg.core.memory.RegisterReader`; architectures live in
:mod:`axiomdbg.core.arch` (``get_arch("x86_64")``); translation results and mappings are the
types of :mod:`axiomdbg.core.paging`.
"""

from .arch import Arch, PageTableWalk, all_arches, arch_for_elf_machine, get_arch, register_arch
from .errors import (
    AxiomError,
    MalformedPageTableError,
    MemoryReadError,
    NonCanonicalError,
    PagingDisabledError,
    RegisterUnavailableError,
    TargetError,
    UnknownArchError,
    UnmappedError,
    UnsupportedPagingModeError,
)
from .memory import CountingMemory, DictRegisters, PageCache, PhysicalMemory, RegisterReader, SnapshotMemory
from .paging import (
    FaultKind,
    MappedRange,
    Mapping,
    PageFlags,
    PagingConfig,
    Translation,
    WalkIssue,
    ranges,
)

__all__ = [
    "Arch", "PageTableWalk", "all_arches", "arch_for_elf_machine", "get_arch", "register_arch",
    "AxiomError", "MalformedPageTableError", "MemoryReadError", "NonCanonicalError",
    "PagingDisabledError", "RegisterUnavailableError", "TargetError", "UnknownArchError",
    "UnmappedError", "UnsupportedPagingModeError",
    "CountingMemory", "DictRegisters", "PageCache", "PhysicalMemory", "RegisterReader", "SnapshotMemory",
    "FaultKind", "MappedRange", "Mapping", "PageFlags", "PagingConfig", "Translation", "WalkIssue", "ranges",
]

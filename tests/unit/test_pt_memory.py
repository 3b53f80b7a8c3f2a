"""Memory/register interfaces, errors and the architecture registry."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axiomdbg.core import (
    AxiomError,
    CountingMemory,
    DictRegisters,
    MemoryReadError,
    PageCache,
    SnapshotMemory,
    all_arches,
    arch_for_elf_machine,
    get_arch,
)
from axiomdbg.core.errors import (
    MalformedPageTableError,
    NonCanonicalError,
    RegisterUnavailableError,
    UnknownArchError,
    UnmappedError,
)
from axiomdbg.core.memory import PhysicalMemory, RegisterReader, read_first
from axiomdbg.core.paging import Mapping, PageFlags, ranges


def make_mem(pages=(0x1000, 0x2000, 0x4000)):
    mem = SnapshotMemory()
    for p in pages:
        mem.add_page(p, bytes((p >> 12) + i & 0xFF for i in range(4096)))
    return mem


def test_snapshot_reads_across_pages_and_fails_on_holes():
    mem = make_mem()
    assert isinstance(mem, PhysicalMemory)
    data = mem.read_phys(0x1FFE, 4)
    assert data == bytes([(1 + 0xFFE) & 0xFF, (1 + 0xFFF) & 0xFF, 2, 3])
    with pytest.raises(MemoryReadError) as exc:
        mem.read_phys(0x2FF0, 0x20)
    assert exc.value.address == 0x2FF0 and exc.value.size == 0x20 and "0x3000" in str(exc.value)
    with pytest.raises(MemoryReadError):
        mem.read_phys(-1, 1)
    mem.write_u64(0x9008, 0x1122334455667788)
    assert mem.read_u64(0x9008) == 0x1122334455667788 and 0x9000 in mem
    with pytest.raises(ValueError):
        mem.add_page(0x1234)


@settings(max_examples=50, deadline=None)
@given(reads=st.lists(st.tuples(st.integers(0x800, 0x5800), st.integers(0, 0x2100)), max_size=30))
def test_page_cache_is_transparent_and_reads_each_page_once(reads):
    backing = make_mem()
    counting = CountingMemory(backing)
    cache = PageCache(counting)
    for addr, size in reads:
        try:
            want = backing.read_phys(addr, size)
        except MemoryReadError:
            with pytest.raises(MemoryReadError):
                cache.read_phys(addr, size)
            continue
        assert cache.read_phys(addr, size) == want
    successful = []
    for a, n in counting.log:
        try:
            backing.read_phys(a, n)
            successful += range(a, a + n, 4096)
        except MemoryReadError:
            pass
    assert len(successful) == len(set(successful))  # no page fetched twice
    assert all(a % 4096 == 0 and n % 4096 == 0 for a, n in counting.log)


def test_page_cache_batches_a_table_and_invalidates():
    backing = SnapshotMemory()
    backing.write_phys(0x10000, bytes(range(256)) * 256)  # a 64 KiB table
    counting = CountingMemory(backing)
    cache = PageCache(counting)
    assert cache.read_phys(0x10000, 0x10000) == backing.read_phys(0x10000, 0x10000)
    assert counting.requests == 1 and counting.bytes == 0x10000
    cache.read_phys(0x14008, 8)
    assert counting.requests == 1
    backing.write_u64(0x14008, 42)
    assert cache.read_phys(0x14008, 8) != (42).to_bytes(8, "little")
    cache.invalidate()
    assert cache.read_phys(0x14008, 8) == (42).to_bytes(8, "little")
    assert counting.requests == 2


def test_registers():
    regs = DictRegisters({"SCTLR": 5, "cpsr": -0x3FB})
    assert isinstance(regs, RegisterReader)
    assert regs.read_reg("sctlr") == 5
    assert regs.read_reg("cpsr") == (1 << 64) - 0x3FB
    with pytest.raises(RegisterUnavailableError, match=r"\$TTBR0_EL1"):
        regs.read_reg("TTBR0_EL1")
    assert read_first(regs, "SCTLR_EL1", "SCTLR") == 5
    assert read_first(regs, "nope", default=7) == 7
    with pytest.raises(RegisterUnavailableError, match=r"\$a or \$b"):
        read_first(regs, "a", "b")


def test_errors_are_one_line():
    errors = [
        MemoryReadError(0x1000, 8, "line one\nline two"),
        UnmappedError(0xFFFF800000000000, "PML4", "P=0"),
        NonCanonicalError(0x800000000000, "bits 63:47"),
        MalformedPageTableError("reserved bits", va=1, level="PT", entry=3, entry_address=0x1000),
        AxiomError("a\nb"),
    ]
    for err in errors:
        assert isinstance(err, AxiomError)
        assert "\n" not in str(err) and str(err)


def test_registry():
    names = [a.name for a in all_arches()]
    assert names == ["aarch64", "riscv64", "x86_64"]
    for alias, name in [("x86-64", "x86_64"), ("AMD64", "x86_64"), ("i386:x86-64", "x86_64"),
                        ("arm64", "aarch64"), ("riscv", "riscv64"), ("riscv:rv64", "riscv64"), ("rv64", "riscv64")]:
        assert get_arch(alias).name == name
    assert get_arch(get_arch("arm64")) is get_arch("aarch64")
    assert arch_for_elf_machine(243).name == "riscv64" and arch_for_elf_machine(62).name == "x86_64"
    with pytest.raises(UnknownArchError, match="mips"):
        get_arch("mips")
    with pytest.raises(UnknownArchError):
        arch_for_elf_machine(8)
    for arch in all_arches():
        assert arch.paging_modes and arch.paging_registers and arch.qemu_system.startswith("qemu-system-")


def test_core_never_imports_gdb():
    import pathlib
    import re
    root = pathlib.Path(__file__).resolve().parents[2] / "axiomdbg" / "core"
    for path in root.rglob("*.py"):
        assert not re.search(r"^\s*(import gdb|from gdb)", path.read_text(), re.M), path


def test_ranges_merging_rules():
    f = PageFlags(writable=True)
    g = PageFlags(writable=True, accessed=True)
    maps = [
        Mapping(0x0, 0x10000, 0x1000, f), Mapping(0x1000, 0x11000, 0x1000, f),   # merge
        Mapping(0x2000, 0x13000, 0x1000, f),                                     # PA gap
        Mapping(0x200000, 0x200000, 0x200000, PageFlags(writable=True, huge=True)),
        Mapping(0x400000, 0x400000, 0x1000, f),                                  # huge ignored
        Mapping(0x401000, 0x401000, 0x1000, g),                                  # A differs
    ]
    rs = list(ranges(maps))
    assert [(r.va, r.size, r.count) for r in rs] == [(0, 0x2000, 2), (0x2000, 0x1000, 1),
                                                     (0x200000, 0x201000, 2), (0x401000, 0x1000, 1)]
    rs = list(ranges(maps, ignore_accessed_dirty=True))
    assert rs[-1].va == 0x200000 and rs[-1].count == 3
    assert "2 entries" in str(list(ranges(maps))[0])

"""Hostile and broken page tables: every walk terminates, reads each table at most once, and
reports the problem (cycle, shared table, reserved bits, forbidden huge page, truncated memory)
instead of looping or crashing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from axiomdbg.core import CountingMemory, SnapshotMemory, get_arch
from axiomdbg.core.errors import MalformedPageTableError, MemoryReadError, NonCanonicalError
from axiomdbg.core.paging import EntryKind, FaultKind, IssueKind
from axiomdbg.core.synth import Perms, X86Synth

M64 = (1 << 64) - 1
X86 = get_arch("x86_64")
ARM = get_arch("aarch64")
RV = get_arch("riscv64")

X86_REGS = {"cr0": 1 << 31, "cr4": 1 << 5, "efer": (1 << 10) | (1 << 11), "cr3": 0x1000}
RV_SV39 = {"satp": (8 << 60) | 0x1}  # root at 0x1000


def table(mem: SnapshotMemory, base: int, entries: dict[int, int], size: int = 4096) -> None:
    mem.write_phys(base, bytes(size))
    for idx, val in entries.items():
        mem.write_u64(base + 8 * idx, val)


def x86_cfg(**kw):
    return X86.paging_from_registers(X86_REGS, **kw)


def assert_each_table_read_once(mem: CountingMemory) -> None:
    addrs = [a for a, _ in mem.log]
    assert len(addrs) == len(set(addrs))


# ----------------------------------------------------------------------------- cycles and sharing
def test_x86_self_referencing_root_is_reported_and_translated_like_hardware():
    mem = SnapshotMemory()
    # PML4[0] -> PML4 itself (a "recursive" slot); PML4[1] -> PDPT -> PD with a 2 MiB page.
    table(mem, 0x1000, {0: 0x1000 | 3, 1: 0x2000 | 3})
    table(mem, 0x2000, {0: 0x3000 | 3})
    table(mem, 0x3000, {0: 0x200000 | 0x83})
    cfg = x86_cfg()
    counting = CountingMemory(mem)
    walk = X86.walk(counting, cfg)
    got = list(walk)
    assert [(m.va, m.pa, m.size) for m in got] == [(1 << 39, 0x200000, 2 << 20)]
    assert [i.kind for i in walk.issues] == [IssueKind.CYCLE]
    assert "0x1000" in str(walk.issues[0])
    assert_each_table_read_once(counting)
    # The MMU would follow the recursive slot at every level: VA 0 maps the root itself.
    t = X86.translate(mem, cfg, 0)
    assert t.mapped and t.pa == 0x1000 and t.page_size == 4096
    assert [s.index for s in t.steps] == [0, 0, 0, 0]
    assert "recursive" in t.steps[1].note


def test_aarch64_two_table_cycle_terminates():
    mem = SnapshotMemory()
    tcr = 16 | (16 << 16) | (2 << 30) | (5 << 32)  # 4K, 48-bit both halves
    regs = {"SCTLR": 1, "TCR_EL1": tcr, "TTBR0_EL1": 0x1000, "TTBR1_EL1": 0x4000}
    table(mem, 0x1000, {0: 0x2000 | 3})
    table(mem, 0x2000, {0: 0x1000 | 3, 1: 0x3000 | 3})   # L1[0] back to L0
    table(mem, 0x3000, {5: 0x40000000 | 0x401})          # 2 MiB block at L2
    table(mem, 0x4000, {})
    cfg = ARM.paging_from_registers(regs)
    counting = CountingMemory(mem)
    walk = ARM.walk(counting, cfg)
    got = list(walk)
    assert [(m.va, m.pa, m.size) for m in got] == [((1 << 30) + 5 * (2 << 20), 0x40000000, 2 << 20)]
    assert [i.kind for i in walk.issues] == [IssueKind.CYCLE]
    assert_each_table_read_once(counting)


def test_shared_table_reported_once_or_followed_without_rereading():
    mem = SnapshotMemory()
    # Two PML4 entries share one PDPT (KASAN-style aliasing).
    table(mem, 0x1000, {0: 0x2000 | 7, 3: 0x2000 | 7})
    table(mem, 0x2000, {0: 0x3000 | 7})
    table(mem, 0x3000, {0: 0x4000 | 7})
    table(mem, 0x4000, {i: (0x100000 + i * 4096) | 0x3 for i in range(4)})
    cfg = x86_cfg()
    counting = CountingMemory(mem)
    walk = X86.walk(counting, cfg)
    assert [m.va for m in walk] == [0, 4096, 8192, 12288]
    assert [i.kind for i in walk.issues] == [IssueKind.SHARED_TABLE]
    assert counting.requests == 4
    counting.reset()
    both = list(X86.walk(counting, cfg, follow_shared=True))
    assert [m.va for m in both] == [0, 4096, 8192, 12288] + [(3 << 39) + i * 4096 for i in range(4)]
    assert counting.requests == 4  # the shared subtree is re-walked from memory, not re-read


def test_exponential_fan_in_stays_linear():
    """Every entry of each level points to the same next table: 512**4 leaves for the MMU."""
    mem = SnapshotMemory()
    table(mem, 0x1000, {i: 0x2000 | 3 for i in range(512)})
    table(mem, 0x2000, {i: 0x3000 | 3 for i in range(512)})
    table(mem, 0x3000, {i: 0x4000 | 3 for i in range(512)})
    table(mem, 0x4000, {i: 0x5000 | 3 for i in range(512)})
    counting = CountingMemory(mem)
    walk = X86.walk(counting, x86_cfg())
    got = list(walk)
    assert len(got) == 512 and counting.requests == 4
    assert all(i.kind is IssueKind.SHARED_TABLE for i in walk.issues)
    assert len(walk.issues) == 3 * 511


def test_every_entry_points_to_root():
    mem = SnapshotMemory()
    table(mem, 0x1000, {i: 0x1000 | 3 for i in range(512)})
    counting = CountingMemory(mem)
    walk = X86.walk(counting, x86_cfg(), follow_shared=True)
    assert list(walk) == []
    assert len(walk.issues) == 512 and counting.requests == 1


def test_aarch64_same_root_for_both_halves():
    mem = SnapshotMemory()
    table(mem, 0x1000, {})
    regs = {"SCTLR": 1, "TCR_EL1": 16 | (16 << 16) | (2 << 30), "TTBR0_EL1": 0x1000, "TTBR1_EL1": 0x1000}
    walk = ARM.walk(mem, ARM.paging_from_registers(regs))
    assert list(walk) == [] and walk.issues[0].kind is IssueKind.SHARED_TABLE


# ----------------------------------------------------------------------------- malformed entries
def test_x86_reserved_bits():
    mem = SnapshotMemory()
    table(mem, 0x1000, {0: 0x2000 | 3, 1: (1 << 50) | 0x3000 | 3})
    table(mem, 0x2000, {0: 0x3000 | 3})
    table(mem, 0x3000, {0: 0x4000 | 3, 1: 0x400000 | 0x83 | (1 << 13)})  # 2M page with bit 13 set
    table(mem, 0x4000, {0: 0x5000 | 3 | (1 << 63)})
    cfg = x86_cfg(pa_bits=46)
    t = X86.translate(mem, cfg, 1 << 39)
    assert t.fault is FaultKind.RESERVED_BITS and t.fault_level == "PML4" and "MAXPHYADDR" in t.reason
    with pytest.raises(MalformedPageTableError):
        t.require()
    assert X86.translate(mem, cfg, 2 << 20).fault is FaultKind.RESERVED_BITS
    assert X86.translate(mem, cfg, 0).mapped  # XD is fine with NXE=1
    no_nx = X86.paging_from_registers(dict(X86_REGS, efer=1 << 10), pa_bits=46)
    t = X86.translate(mem, no_nx, 0)
    assert t.fault is FaultKind.RESERVED_BITS and "NXE=0" in t.reason and t.fault_level == "PT"
    walk = X86.walk(mem, cfg)
    assert [m.va for m in walk] == [0]
    assert sorted(i.level for i in walk.issues) == ["PD", "PML4"]


def test_x86_huge_page_where_not_allowed():
    mem = SnapshotMemory()
    table(mem, 0x1000, {0: 0x2000 | 3, 1: 0x83})  # PS in a PML4E
    table(mem, 0x2000, {0: 0x40000000 | 0x83})    # 1 GiB page in the PDPT
    assert X86.translate(mem, x86_cfg(), 1 << 39).fault is FaultKind.BLOCK_NOT_ALLOWED
    assert X86.translate(mem, x86_cfg(), 5).pa == 0x40000005
    t = X86.translate(mem, x86_cfg(huge_1g=False), 5)
    assert t.fault is FaultKind.BLOCK_NOT_ALLOWED and "pdpe1gb" in t.reason


def _arm(granule_tg0: int, t0sz: int, ips: int = 5):
    regs = {"SCTLR": 1, "TCR_EL1": t0sz | (granule_tg0 << 14) | (1 << 23) | (ips << 32),
            "TTBR0_EL1": 0x10000, "TTBR1_EL1": 0}
    return ARM.paging_from_registers(regs)


def test_aarch64_block_not_allowed_and_reserved_descriptor():
    mem = SnapshotMemory()
    # 4K granule, 48-bit: L0 block is not allowed (needs LPA2).
    table(mem, 0x10000, {0: 0x0 | 1, 1: 0x11000 | 3})
    table(mem, 0x11000, {0: 0x12000 | 3})
    table(mem, 0x12000, {0: 0x13000 | 3})
    table(mem, 0x13000, {0: 0x80000000 | 0x401, 1: 0x80001000 | 0x403})  # L3 type 0b01 reserved
    cfg = _arm(0b00, 16)
    t = ARM.translate(mem, cfg, 0x1234)
    assert t.fault is FaultKind.BLOCK_NOT_ALLOWED and t.fault_level == "L0"
    t = ARM.translate(mem, cfg, (1 << 39))
    assert t.fault is FaultKind.MALFORMED and t.fault_level == "L3"
    assert ARM.translate(mem, cfg, (1 << 39) + 0x1008).pa == 0x80001008
    # 16K granule, 47-bit: start at L1 (11 bits); an L1 block needs 52-bit addresses.
    mem16 = SnapshotMemory()
    table(mem16, 0x10000, {0: 0x1 | (1 << 36)}, size=16384)
    t = ARM.translate(mem16, _arm(0b10, 17), 0x42)
    assert t.fault is FaultKind.BLOCK_NOT_ALLOWED and "16K" in t.reason
    # 64K granule: L1 blocks (4 TiB) need FEAT_LPA; L2 512 MiB blocks are fine.
    mem64 = SnapshotMemory()
    table(mem64, 0x10000, {0: 0x1, 1: 0x20000 | 3}, size=65536)
    table(mem64, 0x20000, {3: 0x60000000 | 0x401}, size=65536)
    cfg64 = _arm(0b01, 16)
    assert ARM.translate(mem64, cfg64, 5).fault is FaultKind.BLOCK_NOT_ALLOWED
    t = ARM.translate(mem64, cfg64, (1 << 42) + 3 * (512 << 20) + 9)
    assert t.pa == 0x60000009 and t.page_size == 512 << 20 and t.flags.huge


def test_aarch64_address_size_fault():
    mem = SnapshotMemory()
    table(mem, 0x10000, {0: (1 << 40) | 3})  # next table above a 32-bit IPS
    t = ARM.translate(mem, _arm(0b00, 16, ips=0), 0)
    assert t.fault is FaultKind.RESERVED_BITS and "address size" in t.reason


def test_riscv_malformed_entries():
    mem = SnapshotMemory()
    table(mem, 0x1000, {
        0: (0x2 << 10) | 1,                 # -> 0x2000
        1: (0x3 << 10) | 1 | (1 << 6),      # non-leaf with A set
        2: (0x40000 << 10) | 0b101,         # W without R
        3: (0x40001 << 10) | 0b11,          # misaligned 1 GiB gigapage
        4: (0x40000 << 10) | 0b11 | (1 << 55),  # reserved bit 55
        5: (0x40000 << 10) | 0b1011 | (1 << 62) | (1 << 63),  # PBMT=IO and N: decoded, ignored
    })
    table(mem, 0x2000, {0: (0x3 << 10) | 1})
    table(mem, 0x3000, {0: (0x4 << 10) | 1})  # pointer at the last level
    cfg = RV.paging_from_registers(RV_SV39)
    gib = 1 << 30
    expect = {0: ("VPN[0]", FaultKind.MALFORMED), gib: ("VPN[2]", FaultKind.MALFORMED),
              2 * gib: ("VPN[2]", FaultKind.MALFORMED), 3 * gib: ("VPN[2]", FaultKind.MALFORMED),
              4 * gib: ("VPN[2]", FaultKind.RESERVED_BITS)}
    for va, (level, fault) in expect.items():
        t = RV.translate(mem, cfg, va)
        assert (t.fault_level, t.fault) == (level, fault), str(t)
    t = RV.translate(mem, cfg, 5 * gib + 77)
    assert t.pa == 0x40000000 + 77 and t.flags.memtype == "IO" and "napot" in t.flags.extra
    walk = RV.walk(mem, cfg)
    assert [m.va for m in walk] == [5 * gib]
    assert len(walk.issues) == 5 and all(i.kind is IssueKind.FAULT for i in walk.issues)


# ----------------------------------------------------------------------------- canonical addresses
@pytest.mark.parametrize("regs,arch,va,ok", [
    (X86_REGS, X86, 0x0000_7FFF_FFFF_F000, True),
    (X86_REGS, X86, 0x0000_8000_0000_0000, False),
    (X86_REGS, X86, 0xFFFF_8000_0000_0000, True),
    (X86_REGS, X86, 0xFFFE_FFFF_FFFF_0000, False),
    (dict(X86_REGS, cr4=X86_REGS["cr4"] | (1 << 12)), X86, 0x0000_8000_0000_0000, True),
    (dict(X86_REGS, cr4=X86_REGS["cr4"] | (1 << 12)), X86, 0x0100_0000_0000_0000, False),
    (RV_SV39, RV, 0x3F_FFFF_FFFF, True),
    (RV_SV39, RV, 0x40_0000_0000, False),
    (RV_SV39, RV, 0xFFFF_FFC0_0000_0000, True),
    ({"satp": (9 << 60) | 1}, RV, 0x40_0000_0000, True),
    ({"satp": (10 << 60) | 1}, RV, 0x00FF_FFFF_FFFF_FFFF, True),
    ({"satp": (10 << 60) | 1}, RV, 0x01FF_FFFF_FFFF_FFFF, False),
])
def test_canonical(regs, arch, va, ok):
    cfg = arch.paging_from_registers(regs)
    mem = SnapshotMemory()
    table(mem, 0x1000, {})
    t = arch.translate(mem, cfg, va)
    assert (t.fault is not FaultKind.NON_CANONICAL) == ok
    if not ok:
        with pytest.raises(NonCanonicalError, match="non-canonical"):
            arch.check_canonical(cfg, va)


def test_aarch64_ranges_and_top_byte_ignore():
    mem = SnapshotMemory()
    table(mem, 0x10000, {0: 0x11000 | 3})
    table(mem, 0x11000, {0: 0x40000000 | 0x401})  # 1 GiB block at L1 (39-bit, root is L1)
    table(mem, 0x20000, {})
    base = {"SCTLR": 1, "TTBR0_EL1": 0x10000, "TTBR1_EL1": 0x20000}
    tcr = 25 | (25 << 16) | (2 << 30)
    cfg = ARM.paging_from_registers(dict(base, TCR_EL1=tcr))
    assert ARM.translate(mem, cfg, 0x123).pa == 0x40000123
    assert ARM.translate(mem, cfg, 1 << 39).fault is FaultKind.NON_CANONICAL
    assert ARM.translate(mem, cfg, 0xFFFF_FF80_0000_0000).fault is FaultKind.NOT_PRESENT
    t = ARM.translate(mem, cfg, 0xFFFF_FF7F_FFFF_FFFF)
    assert t.fault is FaultKind.NON_CANONICAL and "TTBR1_EL1" in t.reason
    tagged = 0xAB00_0000_0000_0123
    assert ARM.translate(mem, cfg, tagged).fault is FaultKind.NON_CANONICAL
    cfg_tbi = ARM.paging_from_registers(dict(base, TCR_EL1=tcr | (1 << 37)))
    assert ARM.translate(mem, cfg_tbi, tagged).pa == 0x40000123


# ----------------------------------------------------------------------------- truncated memory
def test_truncated_memory_gives_clear_errors():
    syn = X86Synth(4)
    for i in range(3):
        syn.map(i << 30, 0x1_0000_0000 + (i << 12), 4096, Perms(w=True))
    cfg = X86.paging_from_registers(syn.registers())
    # Remove the PT of the second mapping.
    t = X86.translate(syn.mem, cfg, 1 << 30)
    pt = t.steps[-1].table
    syn.mem.remove_page(pt)
    t = X86.translate(syn.mem, cfg, (1 << 30) + 8)
    assert t.fault is FaultKind.TABLE_UNREADABLE and t.fault_level == "PT" and t.steps[-1].raw is None
    with pytest.raises(MemoryReadError, match=f"{pt:#x}"):
        t.require()
    assert "unreadable" in str(t)
    counting = CountingMemory(syn.mem)
    walk = X86.walk(counting, cfg)
    assert [m.va for m in walk] == [0, 2 << 30]
    assert [(i.kind, i.table) for i in walk.issues] == [(IssueKind.UNREADABLE, pt)]
    assert_each_table_read_once(counting)
    # A missing root.
    empty = SnapshotMemory()
    walk = X86.walk(empty, cfg)
    assert list(walk) == [] and walk.issues[0].kind is IssueKind.UNREADABLE


# ----------------------------------------------------------------------------- random garbage
FUZZ_CONFIGS = {
    "x86": (X86, X86_REGS, 4096),
    "x86-5level": (X86, dict(X86_REGS, cr4=X86_REGS["cr4"] | (1 << 12)), 4096),
    "arm-4k": (ARM, {"SCTLR": 1, "TCR_EL1": 16 | (16 << 16) | (2 << 30) | (5 << 32),
                     "TTBR0_EL1": 0x1000, "TTBR1_EL1": 0x2000}, 4096),
    "arm-16k": (ARM, {"SCTLR": 1, "TCR_EL1": 17 | (2 << 14) | (17 << 16) | (1 << 30) | (5 << 32),
                      "TTBR0_EL1": 0x4000, "TTBR1_EL1": 0x8000}, 16384),
    "riscv-sv48": (RV, {"satp": (9 << 60) | 1}, 4096),
}


@pytest.mark.parametrize("name", sorted(FUZZ_CONFIGS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_tables_terminate_and_agree_with_translate(name, data):
    arch, regs, tsize = FUZZ_CONFIGS[name]
    ntables = data.draw(st.integers(2, 8), label="tables")
    bases = [tsize * (i + 1) for i in range(ntables)]
    low = st.integers(0, 0xFFF).map(lambda v: v | 1)  # valid bit set, other flags random
    high = st.integers(0, 0xFFF).map(lambda v: v << 52)
    entry = st.one_of(
        st.just(0),
        st.builds(lambda t, lo, hi: bases[t] | lo | hi, st.integers(0, ntables - 1), low, high),
        st.builds(lambda t, lo: (bases[t] >> 2) | lo, st.integers(0, ntables - 1), low),
        st.builds(lambda pa, lo, hi: (pa << 12) | lo | hi, st.integers(0, (1 << 36) - 1), low, high),
        st.builds(lambda pa, lo: (pa << 10) | lo, st.integers(0, (1 << 44) - 1), low),
        st.integers(0, M64),
    )
    mem = SnapshotMemory()
    for b in bases:
        mem.write_phys(b, bytes(tsize))
        for idx, val in data.draw(st.dictionaries(st.integers(0, tsize // 8 - 1), entry, max_size=64), label="t").items():
            mem.write_u64(b + 8 * idx, val)
    cfg = arch.paging_from_registers(regs)
    for follow in (False, True):
        counting = CountingMemory(mem)
        walk = arch.walk(counting, cfg, follow_shared=follow)
        got = []
        for m in walk:
            got.append(m)
            if len(got) > 20000:  # follow_shared may legitimately be huge; stop early
                break
        assert_each_table_read_once(counting)
        event(f"follow_shared={follow}: {'some' if got else 'no'} mappings, {'some' if walk.issues else 'no'} issues")
        for m in got[:200]:
            t = arch.translate(mem, cfg, m.va)
            assert t.mapped and (t.pa, t.page_size, t.flags) == (m.pa, m.size, m.flags)
            assert t.steps[-1].kind is EntryKind.LEAF
    for va in data.draw(st.lists(st.integers(0, M64), max_size=10), label="vas"):
        t = arch.translate(mem, cfg, va)
        assert t.mapped or t.error() is not None
        str(t)

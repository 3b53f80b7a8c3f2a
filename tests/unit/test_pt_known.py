"""Known-answer tests: hand-encoded entries (values worked out from the manuals) and the exact
decode expected, including hierarchical permissions and memory types."""

from __future__ import annotations

import pytest

from axiomdbg.core import SnapshotMemory, get_arch
from axiomdbg.core.arch.aarch64 import decode_mair_attr, granule_geometry
from axiomdbg.core.paging import EntryKind, FaultKind, PageFlags

X86 = get_arch("x86_64")
ARM = get_arch("aarch64")
RV = get_arch("riscv64")


def put(mem, base, entries, size=4096):
    mem.write_phys(base, bytes(size))
    for i, v in entries.items():
        mem.write_u64(base + 8 * i, v)


# ----------------------------------------------------------------------------- x86_64
def x86_tables(pml4e=0x2007, pdpte=0x3007, pde=0x4007, pte=0x0000_0000_1234_5163):
    """VA 0xffff800000201abc: PML4[256] PDPT[0] PD[1] PT[1], offset 0xabc."""
    mem = SnapshotMemory()
    put(mem, 0x1000, {256: pml4e})
    put(mem, 0x2000, {0: pdpte})
    put(mem, 0x3000, {1: pde})
    put(mem, 0x4000, {1: pte})
    return mem


X86_REGS = {"cr0": 0x80050033, "cr3": 0x1000, "cr4": 0x3606A0, "efer": 0xD01, "cs": 0x10}
VA = 0xFFFF_8000_0020_1ABC


def test_x86_chain_and_flags():
    cfg = X86.paging_from_registers(X86_REGS)
    assert (cfg.mode, cfg.levels, cfg.va_bits, cfg.lower_root, cfg.upper_root) == ("4level", 4, 48, 0x1000, 0x1000)
    assert cfg.options["nxe"] and cfg.options["wp"]
    t = X86.translate(x86_tables(), cfg, VA)
    assert [(s.level, s.index, s.entry_address) for s in t.steps] == [
        ("PML4", 256, 0x1800), ("PDPT", 0, 0x2000), ("PD", 1, 0x3008), ("PT", 1, 0x4008)]
    assert [s.kind for s in t.steps] == [EntryKind.TABLE] * 3 + [EntryKind.LEAF]
    # PTE 0x12345163: P RW A D G, PWT=PCD=PAT=0 -> WB, no XD
    assert t.pa == 0x12345ABC and t.page_size == 4096 and t.page_va == 0xFFFF_8000_0020_1000
    assert t.flags == PageFlags(True, True, True, True, False, True, True, True, False, False, "WB")
    assert str(t.flags) == "rwx - g a d WB"
    assert "0x12345abc" in str(t)
    assert X86.privilege_level(X86_REGS) == "ring0"


def test_x86_hierarchical_permissions_and_nx():
    cfg = X86.paging_from_registers(X86_REGS)
    user_pte = 0x12345000 | 0x67 | (1 << 63)  # P RW US A D, XD
    t = X86.translate(x86_tables(pte=user_pte), cfg, VA)
    assert (t.flags.writable, t.flags.user, t.flags.executable) == (True, True, False)
    # R/W clear in the PDPTE removes write access below it; U/S clear in the PDE makes it supervisor.
    t = X86.translate(x86_tables(pdpte=0x3005, pde=0x4003, pte=user_pte & ~(1 << 63)), cfg, VA)
    assert (t.flags.writable, t.flags.user, t.flags.executable) == (False, False, True)
    # XD in the PML4E forbids execution everywhere below.
    t = X86.translate(x86_tables(pml4e=0x2007 | (1 << 63), pte=0x12345003), cfg, VA)
    assert t.flags.executable is False
    assert t.steps[0].flags.executable is False
    # With EFER.NXE=0 XD is reserved, and nothing is execute-protected.
    no_nx = X86.paging_from_registers(dict(X86_REGS, efer=0x501))
    assert X86.translate(x86_tables(pte=0x12345003), no_nx, VA).flags.executable is True


@pytest.mark.parametrize("bits,memtype", [(0, "WB"), (0x8, "WT"), (0x10, "UC-"), (0x18, "UC"), (0x80, "WB")])
def test_x86_pat_memory_types(bits, memtype):
    cfg = X86.paging_from_registers(X86_REGS)
    assert X86.translate(x86_tables(pte=0x12345003 | bits), cfg, VA).flags.memtype == memtype


def test_x86_huge_pages_and_5level():
    mem = SnapshotMemory()
    put(mem, 0x1000, {0: 0x2003})
    put(mem, 0x2000, {1: 0x8000_0000 | 0x83 | (1 << 12), 2: 0x3003})   # 1 GiB, PAT=1
    put(mem, 0x3000, {3: 0x4060_0000 | 0x183})                        # 2 MiB, global
    cfg = X86.paging_from_registers(X86_REGS)
    t = X86.translate(mem, cfg, (1 << 30) + 0x1234_5678)
    assert (t.pa, t.page_size, t.flags.huge, t.flags.memtype) == (0x8000_0000 + 0x1234_5678, 1 << 30, True, "WB")
    t = X86.translate(mem, cfg, (2 << 30) + (3 << 21) + 0x1F_FFFF)
    assert (t.pa, t.page_size, t.flags.global_) == (0x407F_FFFF, 2 << 20, True)
    la57 = X86.paging_from_registers(dict(X86_REGS, cr4=X86_REGS["cr4"] | (1 << 12)))
    assert la57.mode == "5level" and la57.levels == 5 and la57.va_bits == 57
    put(mem, 0x5000, {0: 0x1003})  # PML5[0] -> the old PML4
    la57 = X86.paging_from_registers(dict(X86_REGS, cr3=0x5000, cr4=X86_REGS["cr4"] | (1 << 12)))
    t = X86.translate(mem, la57, (1 << 30) + 5)
    assert t.pa == 0x8000_0005 and [s.level for s in t.steps] == ["PML5", "PML4", "PDPT"]


# ----------------------------------------------------------------------------- aarch64
def test_aarch64_granule_geometry():
    def shape(g, n):
        return [(lv.name, lv.shift, lv.bits, lv.leaf_ok) for lv in granule_geometry(g, n)]
    assert shape(12, 48) == [("L0", 39, 9, False), ("L1", 30, 9, True), ("L2", 21, 9, True), ("L3", 12, 9, True)]
    assert shape(12, 39) == [("L1", 30, 9, True), ("L2", 21, 9, True), ("L3", 12, 9, True)]
    assert shape(12, 36) == [("L1", 30, 6, True), ("L2", 21, 9, True), ("L3", 12, 9, True)]
    assert shape(14, 48) == [("L0", 47, 1, False), ("L1", 36, 11, False), ("L2", 25, 11, True), ("L3", 14, 11, True)]
    assert shape(14, 47) == [("L1", 36, 11, False), ("L2", 25, 11, True), ("L3", 14, 11, True)]
    assert shape(16, 48) == [("L1", 42, 6, False), ("L2", 29, 13, True), ("L3", 16, 13, True)]
    assert shape(16, 42) == [("L2", 29, 13, True), ("L3", 16, 13, True)]


def test_aarch64_registers():
    regs = {"SCTLR": 0x30D0199D, "TCR_EL1": 0x0000_0005_B510_3510 | (1 << 37),
            "TTBR0_EL1": 0x0042_0000_4008_3001, "TTBR1_EL1": 0x4009_0000, "MAIR_EL1": 0x44FF, "cpsr": -0x3FB}
    cfg = ARM.paging_from_registers(regs)
    assert cfg.mode == "4k" and cfg.options["pa_bits"] == 48 and cfg.options["asid"] == 0x42
    r0, r1 = cfg.regions
    assert (r0.root, r0.va_bits, r0.ignore_top_byte) == (0x4008_3000, 48, True)  # ASID and CnP masked
    assert (r1.root, r1.va_bits, r1.ignore_top_byte) == (0x4009_0000, 48, False)
    assert ARM.privilege_level(regs) == "EL1"
    other_spelling = {("SCTLR_EL1" if k == "SCTLR" else k): v for k, v in regs.items()}
    assert ARM.paging_from_registers(other_spelling).regions == cfg.regions


def test_aarch64_permissions():
    mem = SnapshotMemory()
    regs = {"SCTLR": 1, "TCR_EL1": 25 | (25 << 16) | (2 << 30) | (5 << 32), "TTBR0_EL1": 0x1000,
            "TTBR1_EL1": 0x9000, "MAIR_EL1": 0x0004_44FF}
    # L1 root (39-bit); L1[0] -> L2 with APTable/XNTable variations; pages in L3.
    put(mem, 0x1000, {0: 0x2003, 1: 0x2003 | (1 << 62), 2: 0x2003 | (1 << 61) | (1 << 59), 3: 0x40000000 | 0x0070_0000_0000_0701})
    put(mem, 0x2000, {0: 0x3003})
    put(mem, 0x3000, {
        0: 0x8000_0000 | 0x0040_0000_0000_0743,   # AttrIdx0 WB, AP=01 (EL0 RW), AF, SH=11, UXN
        1: 0x8000_1000 | 0x0020_0000_0000_07C3,   # AP=11 (RO all), PXN -> user r-x, EL1 no exec
        2: 0x8000_2000 | 0x0040_0000_0000_0F07,   # AttrIdx1 NC, AP=00, nG, UXN -> kernel rwx
        3: 0x8000_3000 | 0x0010_0000_0000_040B,   # AttrIdx2 Device-nGnRE, contiguous, AP=00
        4: 0x8000_4000 | 0x0000_0000_0000_04C3,   # AP=11, no XN: user r-x that EL1 can execute
    })
    put(mem, 0x9000, {})
    cfg = ARM.paging_from_registers(regs)

    def flags(va):
        t = ARM.translate(mem, cfg, va)
        assert t.mapped, str(t)
        return t.flags

    f = flags(0x0)
    assert (f.user, f.writable, f.executable, f.memtype, f.global_, f.accessed) == (True, True, False, "Normal-WB", True, True)
    f = flags(0x1000)
    assert (f.user, f.writable, f.executable) == (True, False, True) and "el1x" not in f.extra
    f = flags(0x2000)
    assert (f.user, f.writable, f.executable, f.global_, f.memtype) == (False, True, True, False, "Normal-NC")
    f = flags(0x3000)
    assert f.contiguous and f.memtype == "Device-nGnRE" and str(f).startswith("rwx - g a - contig")
    assert "el1x" in flags(0x4000).extra
    # APTable[1] (bit 62): read-only below; APTable[0]+PXNTable: no EL0, no EL1 execution.
    f = flags((1 << 30) + 0x2000)
    assert (f.writable, f.executable) == (False, True)
    f = flags((2 << 30) + 0x0)
    assert (f.user, f.executable) == (False, False)
    # HPD0 disables the hierarchical controls.
    hpd = ARM.paging_from_registers(dict(regs, TCR_EL1=regs["TCR_EL1"] | (1 << 41)))
    assert ARM.translate(mem, hpd, (1 << 30) + 0x2000).flags.writable
    # 1 GiB block with PXN+UXN at L1[3].
    t = ARM.translate(mem, cfg, (3 << 30) + 0x1234)
    assert t.pa == 0x4000_1234 and t.page_size == 1 << 30 and t.flags.huge and not t.flags.executable
    # WXN: writable kernel memory is never executable.
    wxn = ARM.paging_from_registers(dict(regs, SCTLR=1 | (1 << 19)))
    assert not ARM.translate(mem, wxn, 0x2000).flags.executable
    # Without MAIR_EL1 the attribute index is shown.
    no_mair = ARM.paging_from_registers({k: v for k, v in regs.items() if k != "MAIR_EL1"})
    assert ARM.translate(mem, no_mair, 0x2000).flags.memtype == "attr1"


def test_aarch64_disabled_half():
    regs = {"SCTLR": 1, "TCR_EL1": 16 | (16 << 16) | (2 << 30) | (1 << 23), "TTBR0_EL1": 0x1000, "TTBR1_EL1": 0}
    cfg = ARM.paging_from_registers(regs)
    t = ARM.translate(SnapshotMemory(), cfg, 0xFFFF_0000_0000_0000)
    assert t.fault is FaultKind.WALK_DISABLED and "EPD1" in t.reason


@pytest.mark.parametrize("attr,name", [(0x00, "Device-nGnRnE"), (0x04, "Device-nGnRE"), (0x0C, "Device-GRE"),
                                       (0xFF, "Normal-WB"), (0x44, "Normal-NC"), (0xBB, "Normal-WT"),
                                       (0x4F, "Normal-IWBONC"), (0xF0, "Normal-Tagged")])
def test_mair_decode(attr, name):
    assert decode_mair_attr(attr) == name


# ----------------------------------------------------------------------------- riscv64
def test_riscv_sv39_chain_global_inheritance_and_pbmt():
    mem = SnapshotMemory()
    # satp: Sv39, ASID 5, root PPN 0x80001 (0x80001000).
    regs = {"satp": (8 << 60) | (5 << 44) | 0x80001, "priv": 1}
    put(mem, 0x8000_1000, {2: (0x80002 << 10) | 0x21, 511: (0x80003 << 10) | 0x01})  # [2] non-leaf G
    put(mem, 0x8000_2000, {0: (0x80400 << 10) | 0xCB | (1 << 62)})   # 2 MiB R X A D (+PBMT=IO)
    put(mem, 0x8000_3000, {511: (0x80004 << 10) | 0x01})
    put(mem, 0x8000_4000, {3: (0x87654 << 10) | 0xD7})                # 4K R W U A D
    cfg = RV.paging_from_registers(regs)
    assert (cfg.mode, cfg.levels, cfg.lower_root, cfg.options["asid"]) == ("sv39", 3, 0x8000_1000, 5)
    t = RV.translate(mem, cfg, (2 << 30) + 0x12345)
    assert (t.pa, t.page_size) == (0x8040_0000 + 0x12345, 2 << 20)
    assert str(t.flags) == "r-x - g a d huge IO"
    t = RV.translate(mem, cfg, 0xFFFF_FFFF_FFE0_3ABC)
    assert [s.index for s in t.steps] == [511, 511, 3]
    assert t.pa == 0x8765_4ABC and str(t.flags) == "rw- u - a d PMA"
    assert RV.privilege_level(regs) == "S"


def test_paging_off_and_unsupported_modes():
    from axiomdbg.core.errors import PagingDisabledError, UnsupportedPagingModeError
    with pytest.raises(PagingDisabledError, match="CR0.PG=0"):
        X86.paging_from_registers(dict(X86_REGS, cr0=0x11))
    with pytest.raises(UnsupportedPagingModeError, match="PAE"):
        X86.paging_from_registers(dict(X86_REGS, efer=0))
    with pytest.raises(PagingDisabledError, match="SCTLR_EL1.M=0"):
        ARM.paging_from_registers({"SCTLR": 0x30D00800, "TCR_EL1": 0, "TTBR0_EL1": 0, "TTBR1_EL1": 0})
    with pytest.raises(UnsupportedPagingModeError, match="FEAT_LVA"):
        ARM.paging_from_registers({"SCTLR_EL1": 1, "TCR_EL1": 12 | (16 << 16) | (2 << 30),
                                   "TTBR0_EL1": 0, "TTBR1_EL1": 0})
    with pytest.raises(UnsupportedPagingModeError, match="TG0"):
        ARM.paging_from_registers({"SCTLR": 1, "TCR_EL1": 16 | (3 << 14) | (16 << 16) | (2 << 30),
                                   "TTBR0_EL1": 0, "TTBR1_EL1": 0})
    with pytest.raises(PagingDisabledError, match="Bare"):
        RV.paging_from_registers({"satp": 0})
    with pytest.raises(UnsupportedPagingModeError):
        RV.paging_from_registers({"satp": 11 << 60})

"""Model-based property tests: synthesised page tables vs. translate / walk / ranges.

A reference model (``PageTableSynth.model``: VA page -> Mapping with the expected PA and flags) is
turned into real page-table bytes by the independent encoders of ``axiomdbg.core.synth``; the
decoders must reproduce the model exactly, for every supported arch and mode.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axiomdbg.core import CountingMemory, PageCache, get_arch
from axiomdbg.core.errors import MalformedPageTableError, NonCanonicalError, UnmappedError
from axiomdbg.core.paging import FaultKind
from axiomdbg.core.synth import AArch64Synth, Perms, RiscVSynth, X86Synth

M64 = (1 << 64) - 1

CONFIGS = {
    "x86-4level": lambda: X86Synth(4),
    "x86-4level-nonxe": lambda: X86Synth(4, nxe=False),
    "x86-4level-no1g": lambda: X86Synth(4, huge_1g=False),
    "x86-5level": lambda: X86Synth(5),
    "arm-4k-48": lambda: AArch64Synth(4096, 48),
    "arm-4k-39": lambda: AArch64Synth(4096, 39),
    "arm-4k-25/48": lambda: AArch64Synth(4096, 25, 4096, 48),
    "arm-16k-48/47": lambda: AArch64Synth(16384, 48, 16384, 47),
    "arm-16k-36": lambda: AArch64Synth(16384, 36),
    "arm-64k-48": lambda: AArch64Synth(65536, 48),
    "arm-64k-42": lambda: AArch64Synth(65536, 42),
    "arm-mixed-4k39/64k48": lambda: AArch64Synth(4096, 39, 65536, 48),
    "arm-epd1": lambda: AArch64Synth(4096, 48, disable1=True),
    "arm-epd0-16k": lambda: AArch64Synth(16384, 47, disable0=True),
    "riscv-sv39": lambda: RiscVSynth(3),
    "riscv-sv48": lambda: RiscVSynth(4),
    "riscv-sv57": lambda: RiscVSynth(5),
}

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

perms_st = st.builds(
    Perms, r=st.booleans(), w=st.booleans(), x=st.booleans(), u=st.booleans(), g=st.booleans(),
    a=st.booleans(), d=st.booleans(), memtype=st.integers(0, 7), contiguous=st.booleans())


def build(data, name):
    """Draw a random mapping plan (clusters of mappings, random sizes) and synthesise it."""
    syn = CONFIGS[name]()
    placed: list[tuple[object, int, int]] = []  # (half, slot, size)
    for _ in range(data.draw(st.integers(1, 6), label="clusters")):
        half = data.draw(st.sampled_from(syn.halves), label="half")
        size = data.draw(st.sampled_from(syn.leaf_sizes(half)), label="size")
        nslots = (half.hi - half.lo + 1) // size
        count = min(data.draw(st.integers(1, 8), label="count"), nslots)
        near = [p for p in placed if p[0] is half]
        if near and data.draw(st.booleans(), label="near"):
            ph, pslot, psize = data.draw(st.sampled_from(near), label="neighbour")
            slot = pslot * psize // size + data.draw(st.integers(-40, 40), label="delta")
        else:
            slot = data.draw(st.integers(0, nslots - 1), label="slot")
        slot = max(0, min(slot, nslots - count))
        va = half.lo + slot * size
        pa_slots = (1 << syn.pa_bits) // size
        pa = data.draw(st.integers(0, pa_slots - count), label="pa") * size
        perms = data.draw(perms_st, label="perms")
        contiguous_pa = data.draw(st.booleans(), label="contiguous")
        for k in range(count):
            if not contiguous_pa:
                pa = data.draw(st.integers(0, pa_slots - 1), label="pa_k") * size
            if data.draw(st.integers(0, 4), label="vary") == 0:
                perms = data.draw(perms_st, label="perms_k")
            syn.map(va + k * size, pa + (k * size if contiguous_pa else 0), size, perms)
        placed.append((half, slot, size))
    arch = get_arch(syn.arch_name)
    cfg = arch.paging_from_registers(syn.registers(), **syn.config_kwargs)
    return syn, arch, cfg


names = pytest.mark.parametrize("name", sorted(CONFIGS))


@names
@SETTINGS
@given(data=st.data())
def test_walk_reproduces_model_and_reads_each_table_once(name, data):
    syn, arch, cfg = build(data, name)
    mem = CountingMemory(syn.mem)
    walk = arch.walk(mem, cfg)
    got = list(walk)
    assert got == syn.expected_mappings()
    assert walk.issues == []
    # One request per table, each for the whole table, no table twice.
    tables = dict(syn.live_tables)
    assert mem.requests == len(tables) == walk.tables_read
    assert sorted(a for a, _ in mem.log) == sorted(tables)
    assert all(tables[a] == size for a, size in mem.log)


@names
@SETTINGS
@given(data=st.data())
def test_ranges_merge_exactly_the_model(name, data):
    syn, arch, cfg = build(data, name)
    rs = arch.ranges(syn.mem, cfg)
    model = syn.expected_mappings()
    assert sum(r.size for r in rs) == sum(m.size for m in model)
    assert sum(r.count for r in rs) == len(model)
    # Every mapping lies in exactly one range, at the right physical offset and with its flags.
    it = iter(rs)
    r = next(it, None)
    for m in model:
        while r is not None and r.va_end <= m.va:
            r = next(it, None)
        assert r is not None and r.va <= m.va and m.va_end <= r.va_end
        assert r.pa + (m.va - r.va) == m.pa
        assert r.flags == m.flags.merge_key()
    # Ranges are sorted, disjoint and maximal.
    for a, b in zip(rs, rs[1:]):
        assert a.va_end <= b.va
        assert not (a.va_end == b.va and a.pa + a.size == b.pa and a.flags == b.flags)


def _addresses(data, syn, label):
    """Random VAs biased to interesting places: inside/just outside mappings, half edges, anywhere."""
    model = syn.expected_mappings()
    edges = []
    for h in syn.halves + syn.disabled_halves:
        edges += [h.lo, h.hi, (h.lo - 1) & M64, (h.hi + 1) & M64]
    choices = [st.integers(0, M64), st.sampled_from(edges)]
    if model:
        m_st = st.sampled_from(model)
        choices.append(st.builds(lambda m, d: (m.va + d) & M64, m_st, st.integers(-4096, 4096)))
        choices.append(st.builds(lambda m, d: (m.va + m.size + d) & M64, m_st, st.integers(-4096, 4096)))
    return data.draw(st.lists(st.one_of(*choices), min_size=1, max_size=20), label=label)


@names
@SETTINGS
@given(data=st.data())
def test_translate_agrees_with_model(name, data):
    syn, arch, cfg = build(data, name)
    cached = PageCache(syn.mem)
    for m in syn.expected_mappings():
        off = data.draw(st.integers(0, m.size - 1), label="offset")
        t = arch.translate(syn.mem, cfg, m.va + off)
        assert t.mapped, str(t)
        assert (t.pa, t.page_size, t.page_va, t.flags) == (m.pa + off, m.size, m.va, m.flags)
        assert t.steps[-1].kind.value == "leaf"
        assert arch.virt_to_phys(cached, cfg, m.va + off) == m.pa + off
    for va in _addresses(data, syn, "vas"):
        t = arch.translate(syn.mem, cfg, va)
        assert arch.translate(cached, cfg, va) == t
        hit = syn.lookup(va)
        if hit is not None:
            m, pa = hit
            assert t.mapped and t.pa == pa and t.flags == m.flags and t.page_size == m.size
            continue
        assert not t.mapped
        if any(h.lo <= va <= h.hi for h in syn.halves):
            assert t.fault is FaultKind.NOT_PRESENT, str(t)
            with pytest.raises(UnmappedError):
                t.require()
        elif any(h.lo <= va <= h.hi for h in syn.disabled_halves):
            assert t.fault is FaultKind.WALK_DISABLED
            with pytest.raises(UnmappedError):
                t.require()
        else:
            assert t.fault is FaultKind.NON_CANONICAL and t.steps == []
            with pytest.raises(NonCanonicalError):
                t.require()
        with pytest.raises((UnmappedError, NonCanonicalError, MalformedPageTableError)):
            arch.virt_to_phys(syn.mem, cfg, va)


@names
@SETTINGS
@given(data=st.data())
def test_walk_subrange(name, data):
    syn, arch, cfg = build(data, name)
    bounds = _addresses(data, syn, "bounds") + [0, 1 << 64]
    start = data.draw(st.sampled_from(bounds), label="start")
    end = data.draw(st.sampled_from(bounds), label="end")
    mem = CountingMemory(syn.mem)
    got = list(arch.walk(mem, cfg, start, end))
    want = [m for m in syn.expected_mappings() if m.va < end and m.va + m.size > start]
    assert got == want
    assert len({a for a, _ in mem.log}) == mem.requests <= len(syn.live_tables)

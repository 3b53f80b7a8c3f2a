"""Soundness of the verifier's abstract operators, run concretely.

Each test builds abstract states whose members are known (joins of sampled
values, unsigned/signed ranges, tnums), applies a C operator from
kernel/bpf/range_*.c through the host library, applies the RFC 9669 concrete
operation to the members, and checks every concrete result is a member of the
output state. This is the property `axiomdbg prove verifier` proves for all
inputs; here hypothesis samples it.
"""

from __future__ import annotations

import ctypes

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from axiomdbg.bpf import lib
from axiomdbg.bpf.lib import Scalar

from .gen_data import M32, M64, alu, bswap, cond, sext

INTERESTING = [0, 1, 2, 3, 7, 8, 63, 64, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF,
               0x80000000, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000,
               M64, M64 - 1, M64 - 7]

u64 = st.one_of(st.sampled_from(INTERESTING), st.integers(0, M64), st.integers(0, 300),
                st.integers(0, 300).map(lambda v: (-v) & M64),
                st.integers(0, M32))


def state_from_samples(values: list[int]) -> Scalar:
    s = lib.scalar_const(values[0])
    f = lib.load_library().bpf_range_join
    for v in values[1:]:
        c = lib.scalar_const(v)
        f(ctypes.byref(s), ctypes.byref(s), ctypes.byref(c))
    return lib.range_sync(s)


@st.composite
def abstract(draw):
    """(state, members): members are guaranteed to be in the state."""
    kind = draw(st.sampled_from(["samples", "urange", "srange", "tnum", "const"]))
    if kind in ("samples", "const"):
        vals = draw(st.lists(u64, min_size=1, max_size=1 if kind == "const" else 4))
        return state_from_samples(vals), vals
    if kind == "urange":
        a, b = sorted((draw(u64), draw(u64)))
        s = lib.scalar_unknown()
        s.umin, s.umax = a, b
        s = lib.range_sync(s)
        inner = draw(st.lists(st.integers(a, b), max_size=3))
        return s, [a, b] + inner
    if kind == "srange":
        a, b = sorted((draw(st.integers(-(1 << 63), (1 << 63) - 1)),
                       draw(st.one_of(st.integers(-300, 300), st.integers(-(1 << 63), (1 << 63) - 1)))))
        s = lib.scalar_unknown()
        s.smin, s.smax = a, b
        s = lib.range_sync(s)
        inner = draw(st.lists(st.integers(a, b), max_size=3))
        return s, [v & M64 for v in [a, b] + inner]
    value, mask = draw(u64), draw(st.one_of(st.sampled_from([0, 1, 0xFF, 0xF0, 0xFFFFFFFF,
                                                              0xFFFFFFFF00000000, 1 << 63, M64]),
                                            st.integers(0, M64)))
    value &= ~mask & M64
    s = lib.scalar_unknown()
    s.t.value, s.t.mask = value, mask
    s = lib.range_sync(s)
    extra = draw(st.lists(st.integers(0, M64), max_size=3))
    return s, [value] + [value | (e & mask) for e in extra] + [value | mask]


def check_member(s: Scalar, x: int, what: str) -> None:
    assert lib.range_contains(s, x), f"{what}: 0x{x & M64:x} not in {s!r}"


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

BINOPS = ["add", "sub", "mul", "div", "mod", "sdiv", "smod", "and", "or", "xor", "lsh", "rsh", "arsh"]


@pytest.mark.parametrize("width", [64, 32])
@pytest.mark.parametrize("op", BINOPS)
@SETTINGS
@given(a=abstract(), b=abstract())
def test_binop_sound(op, width, a, b):
    sa, xs = a
    sb, ys = b
    for x in xs:
        assert lib.range_contains(sa, x)
    out = lib.range_op(f"{op}{width}", sa, sb)
    for x in xs:
        for y in ys:
            check_member(out, alu(op, width, x, y), f"{op}{width}(0x{x:x}, 0x{y:x})")


UNARY = {
    "neg64": lambda x: (-x) & M64,
    "neg32": lambda x: (-x) & M32,
    "mov64": lambda x: x,
    "mov32": lambda x: x & M32,
    "le16": lambda x: x & 0xFFFF,
    "le32": lambda x: x & M32,
    "le64": lambda x: x,
    "be16": lambda x: bswap(x, 16),
    "be32": lambda x: bswap(x, 32),
    "be64": lambda x: bswap(x, 64),
    "bswap16": lambda x: bswap(x, 16),
    "bswap32": lambda x: bswap(x, 32),
    "bswap64": lambda x: bswap(x, 64),
    "movsx64_s8": lambda x: sext(x, 8) & M64,
    "movsx64_s16": lambda x: sext(x, 16) & M64,
    "movsx64_s32": lambda x: sext(x, 32) & M64,
    "movsx32_s8": lambda x: sext(x, 8) & M32,
    "movsx32_s16": lambda x: sext(x, 16) & M32,
}


@pytest.mark.parametrize("op", sorted(UNARY))
@SETTINGS
@given(a=abstract())
def test_unary_sound(op, a):
    sa, xs = a
    out = lib.range_op(op, sa)
    for x in xs:
        check_member(out, UNARY[op](x), f"{op}(0x{x:x})")


JMPS = {"jeq": 0x10, "jgt": 0x20, "jge": 0x30, "jset": 0x40, "jne": 0x50, "jsgt": 0x60,
        "jsge": 0x70, "jlt": 0xA0, "jle": 0xB0, "jslt": 0xC0, "jsle": 0xD0}


@pytest.mark.parametrize("width", [64, 32])
@pytest.mark.parametrize("op", sorted(JMPS))
@SETTINGS
@given(a=abstract(), b=abstract())
def test_jmp_refine_sound(op, width, a, b):
    sd, xs = a
    ss, ys = b
    mask, dt, st_, df, sf = lib.range_jmp(JMPS[op], width == 32, sd, ss)
    for x in xs:
        for y in ys:
            if cond(op, width, x, y):
                assert mask & 1, f"{op}{width}: taken edge pruned for 0x{x:x}, 0x{y:x}"
                check_member(dt, x, f"{op}{width} taken dst")
                check_member(st_, y, f"{op}{width} taken src")
            else:
                assert mask & 2, f"{op}{width}: fall-through pruned for 0x{x:x}, 0x{y:x}"
                check_member(df, x, f"{op}{width} fall-through dst")
                check_member(sf, y, f"{op}{width} fall-through src")


@SETTINGS
@given(a=abstract())
def test_sync_keeps_members(a):
    s, xs = a
    out = lib.range_sync(s)
    for x in xs:
        check_member(out, x, "sync")


# ---- precision: the domain must be good enough for real programs ----

def test_const_folding_exact():
    for op, x, y in [("add64", 3, 4), ("mul64", 6, 7), ("sdiv64", -9 & M64, 2), ("smod64", -9 & M64, 4),
                     ("lsh32", 1, 31), ("xor64", 0xF0, 0xFF), ("div32", 7, 0), ("mod64", 7, 0)]:
        out = lib.range_op(op, lib.scalar_const(x), lib.scalar_const(y))
        w = 32 if op.endswith("32") else 64
        want = alu(op[:-2], w, x, y)
        assert out.umin == out.umax == want, (op, out)


def test_and_mask_bounds():
    out = lib.range_op("and64", lib.scalar_unknown(), lib.scalar_const(7))
    assert (out.umin, out.umax, out.smin, out.smax) == (0, 7, 0, 7)


def test_branch_refines_both_edges():
    mask, dt, _, df, _ = lib.range_jmp(JMPS["jgt"], False, lib.scalar_unknown(), lib.scalar_const(10))
    assert mask == 3
    assert dt.umin == 11 and df.umax == 10


def test_jmp32_refines_low_half_only():
    mask, dt, _, df, _ = lib.range_jmp(JMPS["jle"], True, lib.scalar_unknown(), lib.scalar_const(8))
    assert df.u32min == 9 and dt.u32max == 8
    assert dt.umax >= 0xFFFFFFFF00000000  # upper half unknown: the 64-bit range stays open


def test_infeasible_branch_detected():
    mask, *_ = lib.range_jmp(JMPS["jeq"], False, lib.scalar_const(3), lib.scalar_const(4))
    assert mask == 2


@st.composite
def raw_state_around(draw):
    """An unsynced state built around a member x: every component is a random
    constraint that x satisfies, so sync must keep x."""
    x = draw(u64)
    s = lib.scalar_unknown()
    mask = draw(st.integers(0, M64))
    s.t.value, s.t.mask = x & ~mask & M64, mask
    if draw(st.booleans()):
        s.umin = max(0, x - draw(st.integers(0, 1 << 40)))
        s.umax = min(M64, x + draw(st.integers(0, 1 << 40)))
    sx = x - (1 << 64) if x >> 63 else x
    if draw(st.booleans()):
        s.smin = max(-(1 << 63), sx - draw(st.integers(0, 1 << 40)))
        s.smax = min((1 << 63) - 1, sx + draw(st.integers(0, 1 << 40)))
    lo = x & M32
    if draw(st.booleans()):
        s.u32min = max(0, lo - draw(st.integers(0, 1 << 20)))
        s.u32max = min(M32, lo + draw(st.integers(0, 1 << 20)))
    slo = lo - (1 << 32) if lo >> 31 else lo
    if draw(st.booleans()):
        s.s32min = max(-(1 << 31), slo - draw(st.integers(0, 1 << 20)))
        s.s32max = min((1 << 31) - 1, slo + draw(st.integers(0, 1 << 20)))
    return s, x


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_state_around())
def test_sync_keeps_members_of_raw_states(sx):
    s, x = sx
    assert lib.range_contains(s, x)
    out = lib.range_sync(s)
    check_member(out, x, f"sync of {s!r}")
    assert not lib.load_library().bpf_range_is_empty(ctypes.byref(out))

"""bpf_tnum_shift_union (kernel/bpf/tnum.c) against the loop it replaced.

The verifier's shift operators used to fold bpf_tnum_union over the shifted
tnum for every amount k in [lo, hi] (up to 64 iterations). The C function now
computes the same union in a fixed number of doubling steps. The oracle here is
a Python transcription of that old loop and of the tnum primitives it called
(bpf_tnum_lshift/rshift/arshift/union, tnum.c); the host build of the real C
function must give the identical (value, mask) for every input the callers can
pass (hi <= width-1; lo <= hi, or lo > hi when the shift amount's state is empty),
including ill-formed tnums (value & mask != 0).
"""

from __future__ import annotations

import ctypes

import pytest
from hypothesis import given, settings, strategies as st

from axiomdbg.bpf import lib
from axiomdbg.bpf.lib import Tnum

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1
LSH, RSH, ARSH = 0, 1, 2


# --- the old loop, transcribed (range_alu.c before bpf_tnum_shift_union) ---

def _sar(x: int, k: int, bits: int) -> int:
    m = (1 << bits) - 1
    x &= m
    if x >> (bits - 1):
        x -= 1 << bits
    return (x >> k) & m


def _shift(t: tuple[int, int], k: int, kind: int, width: int) -> tuple[int, int]:
    v, m = t
    if kind == LSH:
        k &= 63
        return (v << k) & M64, (m << k) & M64
    if kind == RSH:
        k &= 63
        return v >> k, m >> k
    if width == 32:
        k &= 31
        return _sar(v, k, 32), _sar(m, k, 32)
    k &= 63
    return _sar(v, k, 64), _sar(m, k, 64)


def _union(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    mu = a[1] | b[1] | (a[0] ^ b[0])
    return a[0] & ~mu & M64, mu


def old_shift_union(t, lo: int, hi: int, kind: int, width: int) -> tuple[int, int]:
    acc = _shift(t, lo, kind, width)
    k = lo + 1
    while k <= hi and k < 64:
        acc = _union(acc, _shift(t, k, kind, width))
        k += 1
    return acc


# --- the C function through the host library ---

def _fn():
    f = lib.load_library().bpf_tnum_shift_union
    f.argtypes = [Tnum, ctypes.c_uint, ctypes.c_uint, ctypes.c_int, ctypes.c_uint]
    f.restype = Tnum
    return f


def c_shift_union(t, lo, hi, kind, width) -> tuple[int, int]:
    r = _fn()(Tnum(t[0], t[1]), lo, hi, kind, width)
    return r.value, r.mask


u64 = st.one_of(st.integers(0, M64), st.sampled_from([0, 1, M64, 1 << 63, 1 << 31, M32, M32 << 32]),
                st.integers(0, 64).map(lambda n: (1 << n) - 1), st.integers(0, 300))


@st.composite
def call(draw):
    kind = draw(st.sampled_from([LSH, RSH, ARSH]))
    width = draw(st.sampled_from([32, 64]))
    v, m = draw(u64), draw(u64)
    if draw(st.booleans()):
        v &= ~m  # well formed (what the verifier holds); otherwise ill-formed
    if width == 32:
        v, m = (v & M32, m & M32) if draw(st.booleans()) else (v, m)  # callers cast to 4 bytes first
    hi = draw(st.integers(0, width - 1))
    lo = draw(st.one_of(st.integers(0, hi), st.integers(0, M32)))  # lo > hi: empty amount state
    return (v, m), lo, hi, kind, width


@settings(max_examples=3000, deadline=None)
@given(call())
def test_identical_to_the_old_loop(c):
    assert c_shift_union(*c) == old_shift_union(*c), c


@pytest.mark.parametrize("kind", [LSH, RSH, ARSH])
@pytest.mark.parametrize("width", [32, 64])
def test_every_range_of_amounts(kind, width):
    """Every (lo, hi) the callers can produce, for a few tnums with known
    ones, unknown bits and a sign bit of each kind."""
    tnums = [(0x8000_0000_0000_0001, 0x0F00), (0x0000_0000_8000_0010, 0x7000_0000_0000_0000),
             (0, M64), (0x5A5A_5A5A_A5A5_A5A5, 0), (0x1234, 0x8000_0000_8000_0000)]
    for t in tnums:
        for hi in range(width):
            for lo in range(hi + 2):
                assert c_shift_union(t, lo, hi, kind, width) == old_shift_union(t, lo, hi, kind, width), \
                    (t, lo, hi, kind, width)


def test_oracle_is_the_set_union():
    """The transcription itself: for small cases the old loop's result is the
    smallest tnum containing every shifted member (the union is exact), so the
    oracle is not vacuous."""
    t = (0b1000_0100, 0b0000_0011)  # members 0x84..0x87
    members = [0x84 | e for e in range(4)]
    for kind in (LSH, RSH):
        for lo, hi in ((0, 3), (2, 5), (1, 1)):
            v, m = old_shift_union(t, lo, hi, kind, 64)
            outs = {(x << k if kind == LSH else x >> k) & M64 for x in members for k in range(lo, hi + 1)}
            common_ones = M64
            common_zeros = M64
            for o in outs:
                common_ones &= o
                common_zeros &= ~o & M64
            assert v == common_ones and m == M64 & ~(common_ones | common_zeros), (kind, lo, hi)

"""bpf_sdiv_bounds (kernel/bpf/range_alu.c) against the inline helper it replaced,
and against its contract.

sdiv64/sdiv32 used to compute their signed quotient bounds with the static
inline sdiv_bounds/sdiv_corners; the same code is now the separately compiled
(noinline) bpf_sdiv_bounds so that `axiomdbg prove verifier` can prove it on
its own and the operators through its contract. The oracle for "identical" is
a Python transcription of the old helper (C truncating division, the ISA's
x/0 = 0 and x/-1 = -x); the host build of the real C function must return the
same bool and, when true, the same bounds, and must leave *lo/*hi alone when
false. The contract (range_alu.c) is checked by enumerating every (x, y) of
small boxes, including boxes at INT_MIN and around -1/0/1.
"""

from __future__ import annotations

import ctypes

from hypothesis import given, settings, strategies as st

from axiomdbg.bpf import lib

I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


def _wrap(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


def _trunc_div(x: int, y: int) -> int:
    q = abs(x) // abs(y)
    return -q if (x < 0) != (y < 0) else q


# --- the old helper, transcribed (range_alu.c before bpf_sdiv_bounds) ---

def sdiv64c(x: int, y: int) -> int:
    if y == 0:
        return 0
    if y == -1:
        return _wrap(-x)
    return _trunc_div(x, y)


def _corners(xmin, xmax, ymin, ymax, lo, hi):
    c = [sdiv64c(xmin, ymin), sdiv64c(xmin, ymax), sdiv64c(xmax, ymin), sdiv64c(xmax, ymax)]
    return min(lo, *c), max(hi, *c)


def old_sdiv_bounds(xmin, xmax, ymin, ymax, mn):
    if xmin == mn and ymin <= -1 and ymax >= -1:
        return False, None, None
    lo, hi = I64_MAX, I64_MIN
    if ymax >= 1:
        lo, hi = _corners(xmin, xmax, max(ymin, 1), ymax, lo, hi)
    if ymin <= -1:
        lo, hi = _corners(xmin, xmax, ymin, min(ymax, -1), lo, hi)
    if ymin <= 0 and ymax >= 0:
        lo, hi = min(lo, 0), max(hi, 0)
    return True, lo, hi


# --- the C function through the host library ---

SENTINEL = 0x5A5A5A5A5A5A5A5A


def c_sdiv_bounds(xmin, xmax, ymin, ymax, mn):
    f = lib.load_library().bpf_sdiv_bounds
    f.argtypes = [ctypes.c_int64] * 5 + [ctypes.POINTER(ctypes.c_int64)] * 2
    f.restype = ctypes.c_bool
    lo, hi = ctypes.c_int64(SENTINEL), ctypes.c_int64(SENTINEL)
    ok = f(xmin, xmax, ymin, ymax, mn, ctypes.byref(lo), ctypes.byref(hi))
    if not ok:
        assert lo.value == hi.value == SENTINEL, "returned false but wrote the bounds"
        return False, None, None
    return True, lo.value, hi.value


def _interesting(lo, hi):
    edges = [lo, lo + 1, lo + 2, -2, -1, 0, 1, 2, hi - 1, hi]
    return st.one_of(st.integers(lo, hi), st.sampled_from(edges), st.integers(-300, 300))


i64 = _interesting(I64_MIN, I64_MAX)
i32 = _interesting(I32_MIN, I32_MAX)


@st.composite
def call(draw):
    """Any arguments for min = INT64_MIN; 32-bit ranges for min = INT32_MIN
    (what sdiv32 passes). Ordered boxes mostly, unordered ones too (the
    function is total)."""
    mn = draw(st.sampled_from([I64_MIN, I32_MIN]))
    v = i64 if mn == I64_MIN else i32
    a, b, c, d = draw(v), draw(v), draw(v), draw(v)
    if draw(st.integers(0, 4)):
        a, b, c, d = min(a, b), max(a, b), min(c, d), max(c, d)
    return a, b, c, d, mn


@settings(max_examples=4000, deadline=None)
@given(call())
def test_identical_to_the_old_inline_helper(c):
    assert c_sdiv_bounds(*c) == old_sdiv_bounds(*c), c


def _contract_holds(xmin, xmax, ymin, ymax, mn):
    """Enumerate the box; check range_alu.c's contract for the C function."""
    ok, lo, hi = c_sdiv_bounds(xmin, xmax, ymin, ymax, mn)
    if not ok:
        return False
    assert mn <= lo and hi <= -(mn + 1), (xmin, xmax, ymin, ymax, mn, lo, hi)
    for x in range(xmin, xmax + 1):
        for y in range(ymin, ymax + 1):
            assert (x, y) != (mn, -1)
            q = sdiv64c(x, y) if mn == I64_MIN else (_wrap(-x) if y == -1 else sdiv64c(x, y))
            assert lo <= q <= hi, (xmin, xmax, ymin, ymax, mn, x, y, q, lo, hi)
    return True


def test_contract_on_small_boxes():
    """Every point of boxes anchored at 0, INT_MIN and INT_MAX, with divisors
    around -1/0/1 and at the extremes; also the cases that must return false."""
    n_true = 0
    for mn, mx in ((I64_MIN, I64_MAX), (I32_MIN, I32_MAX)):
        xs = [(-5, 5), (-7, -3), (3, 9), (mn, mn + 3), (mn + 1, mn + 4), (mx - 3, mx), (-1, 0)]
        ys = [(-3, 3), (-3, -1), (1, 4), (-2, 0), (0, 2), (0, 0), (-1, -1), (mn, mn + 2), (mx - 2, mx), (-4, -2)]
        for xb in xs:
            for yb in ys:
                n_true += _contract_holds(*xb, *yb, mn)
        # min / -1 in the box: unknown
        assert not c_sdiv_bounds(mn, mn + 2, -2, 1, mn)[0]
        assert not c_sdiv_bounds(mn, 0, -1, -1, mn)[0]
    assert n_true > 100


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([I64_MIN, I32_MIN]), st.integers(-6, 6), st.integers(0, 6), st.integers(-6, 6),
       st.integers(0, 6), st.sampled_from([0, 1, 2]), st.sampled_from([0, 1, 2]))
def test_contract_on_random_boxes(mn, x0, dx, y0, dy, xa, ya):
    """Small boxes shifted towards INT_MIN / INT_MAX (anchors 0, min, max)."""
    anchor = {0: 0, 1: mn + 6, 2: -(mn + 1) - 12}
    xmin, ymin = x0 + anchor[xa], y0 + anchor[ya]
    _contract_holds(xmin, xmin + dx, ymin, ymin + dy, mn)

"""Proof obligations over extracted semantics, discharged with Z3 (and
Bitwuzla for the bit-vector queries Z3 does not finish quickly: `solve`).

Every obligation is the negation of a soundness property, asserted per
extracted path; UNSAT on every path = PROVED, SAT = UNSOUND (the model is the
counterexample), solver timeout = UNKNOWN.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import claripy
import z3

from . import model, nonlinear
from .extract import Extraction, Path_
from .model import FIELDS, member, member_parts

X = claripy.BVS("x", 64, explicit_name=True)
Y = claripy.BVS("y", 64, explicit_name=True)

PROVED, UNSOUND, UNKNOWN = "PROVED", "UNSOUND", "UNKNOWN"


@dataclass
class Outcome:
    status: str
    detail: str = ""
    counterexample: dict[str, Any] | None = None
    seconds: float = 0.0


def to_z3(e):
    return claripy.backends.z3.convert(e)


def _model_int(m: z3.ModelRef, e) -> int:
    v = m.eval(to_z3(e), model_completion=True)
    return v.as_long() if hasattr(v, "as_long") else int(str(v))


ABSTRACT_MS = 15_000   # time for the abstracted query before the precise one


# Which solver answered the precise queries (per process; bench and docs):
# "z3", "bitwuzla", "abstraction" (UNSAT of nonlinear.abstract), "unknown".
SOLVER_STATS: Counter = Counter()

# The precise query goes to Z3 for Z3_FIRST_MS first (most queries take well
# under a second there, and need no translation); what is left goes to
# Bitwuzla with the rest of the time. AXIOMDBG_SOLVER=z3 keeps Z3 alone
# (comparisons; docs/proofs.md "Solvers").
Z3_FIRST_MS = 2_000
# ALU soundness (interval bounds through add/sub/mul overflow): Z3 was the
# faster solver there (sub64 x86_64, queries over 0.5 s: Z3 34 s in all,
# Bitwuzla 72 s; add64 aarch64: 9 s and 19 s), while on the jumps and
# agreement Bitwuzla was (jeq64: 40 s and 18 s; jset64: 56 s and 25 s), so
# ALU obligations give Z3 this long before handing over (runner.prove_on).
Z3_FIRST_MS_ALU = 20_000


@contextlib.contextmanager
def z3_first(ms: int):
    """Give Z3 `ms` before Bitwuzla, for the queries asked inside."""
    global Z3_FIRST_MS
    old, Z3_FIRST_MS = Z3_FIRST_MS, ms
    try:
        yield
    finally:
        Z3_FIRST_MS = old


def solver_mode() -> str:
    m = os.environ.get("AXIOMDBG_SOLVER", "portfolio")
    if m not in ("portfolio", "z3"):
        raise ValueError(f"AXIOMDBG_SOLVER={m!r}: expected 'portfolio' or 'z3'")
    return m


def _bitwuzla(fmls: list, timeout_ms: int) -> tuple[str, dict | None, str]:
    """Ask Bitwuzla the same question, handed over as SMT-LIB 2 (Z3's own
    printer, Bitwuzla's parser: no hand-written translation). On SAT the
    model is the values of the declared constants, {name: (sort, int)}."""
    import bitwuzla as bw

    s = z3.Solver()
    s.add(*fmls)
    text = s.to_smt2()
    tm = bw.TermManager()
    opts = bw.Options()
    opts.set(bw.Option.PRODUCE_MODELS, True)
    opts.set(bw.Option.TIME_LIMIT_PER, max(1, int(timeout_ms)))
    p = bw.Parser(tm, opts)
    p.parse(text, True, False)
    solver = p.bitwuzla()
    r = solver.check_sat()
    if r == bw.Result.UNSAT:
        return "unsat", None, ""
    if r == bw.Result.SAT:
        vals = {}
        for f in p.get_declared_funs():
            srt = f.sort()
            if srt.is_bool():
                vals[f.symbol()] = ("bool", int(bool(solver.get_value(f).value())))
            elif srt.is_bv():
                vals[f.symbol()] = (srt.bv_size(), int(solver.get_value(f).value(10)))
        return "sat", vals, ""
    return "unknown", None, f"bitwuzla: time limit {timeout_ms} ms"


def _z3_model_at(fmls: list, vals: dict, timeout_ms: int) -> z3.ModelRef | None:
    """A Z3 model of `fmls` with every constant fixed to Bitwuzla's value (so
    callers evaluate claripy terms in it as usual); None if Z3 disagrees."""
    pins = [z3.Bool(n) == bool(v) if w == "bool" else z3.BitVec(n, w) == v for n, (w, v) in vals.items()]
    s = z3.SolverFor("QF_BV")
    s.set("timeout", timeout_ms)
    s.add(*fmls, *pins)
    return s.model() if s.check() == z3.sat else None


def _precise(fmls: list, timeout_ms: int) -> tuple[str, z3.ModelRef | None, str]:
    portfolio = solver_mode() == "portfolio"
    s = z3.SolverFor("QF_BV")
    s.set("timeout", min(timeout_ms, Z3_FIRST_MS) if portfolio else timeout_ms)
    s.add(*fmls)
    t0 = time.monotonic()
    r = s.check()
    if r == z3.unsat:
        SOLVER_STATS["z3"] += 1
        return "unsat", None, ""
    if r == z3.sat:
        SOLVER_STATS["z3"] += 1
        return "sat", s.model(), ""
    why = s.reason_unknown()
    left = timeout_ms - int((time.monotonic() - t0) * 1000)
    if not portfolio or left <= 0:
        SOLVER_STATS["unknown"] += 1
        return "unknown", None, why
    r2, vals, why2 = _bitwuzla(fmls, left)
    if r2 == "unsat":
        SOLVER_STATS["bitwuzla"] += 1
        return "unsat", None, ""
    if r2 == "sat":
        m = _z3_model_at(fmls, vals, max(1000, left))
        if m is not None:
            SOLVER_STATS["bitwuzla"] += 1
            return "sat", m, ""
        # the two solvers disagree: report it, claim nothing
        SOLVER_STATS["unknown"] += 1
        return "unknown", None, "bitwuzla found a model that z3 rejects"
    SOLVER_STATS["unknown"] += 1
    return "unknown", None, f"z3: {why}; {why2}"


def solve(assertions: list, timeout_ms: int) -> tuple[str, z3.ModelRef | None, str]:
    fmls = [to_z3(a) for a in assertions]
    if nonlinear.has_nonlinear(fmls):
        # sound: UNSAT of the abstraction (valid axioms) is UNSAT of the query.
        # The cheaper abstraction first (nonlinear.LEVELS), with a plain
        # bit-blast + SAT pipeline (faster than the QF_BV default on the
        # signed corner lemmas), then the full one with the QF_BV default.
        for i, kw in enumerate(nonlinear.LEVELS):
            abst, ab = nonlinear.abstract(fmls, **kw)
            last = i == len(nonlinear.LEVELS) - 1 or not ab.partial
            for j, s in enumerate([nonlinear.sat_solver()] + ([z3.SolverFor("QF_BV")] if last else [])):
                # the first attempt carries the signed corner proofs: half the budget
                s.set("timeout", min(timeout_ms, max(ABSTRACT_MS, timeout_ms // 2) if i == j == 0 else ABSTRACT_MS))
                s.add(*abst)
                if s.check() == z3.unsat:
                    SOLVER_STATS["abstraction"] += 1
                    return "unsat", None, ""
            if last:
                break
    return _precise(fmls, timeout_ms)


def _state_values(m, st: dict) -> dict[str, int]:
    return {f: _model_int(m, st[f]) for f in st}


def mul_assumptions(p: Path_, pairs: Iterable[tuple]) -> list:
    """bpf_tnum_mul's contract (proved separately) instantiated at `pairs`."""
    out = []
    for (av, am, bv, bm, rv, rm) in p.mul_calls:
        for (xx, yy) in pairs:
            out.append(claripy.Or(claripy.Not(claripy.And((xx & ~am) == av, (yy & ~bm) == bv)),
                                  ((xx * yy) & ~rm) == rv))
    return out


def shift_sem(x, k, kind: int, width: int):
    """The concrete shift of bpf_tnum_shift_union's contract: x (64-bit) by k
    (32-bit, < width): logical left (kind 0), logical right (1), arithmetic
    right of the width-bit quantity, zero-extended (2)."""
    k64 = k.zero_extend(32)
    if kind == 0:
        return x << k64
    if kind == 1:
        return x.LShR(k64)
    if width == 32:
        return model.zx(model.lo32(x) >> k)   # claripy >> is arithmetic
    return x >> k64


def shift_union_contract(call: tuple, x, k) -> claripy.ast.Bool:
    """x in t and lo <= k <= hi <= width-1  =>  sh(x, k) in R."""
    tv, tm, lo, hi, kind, width, rv, rm = call
    pre = claripy.And((x & ~tm) == tv, lo.ULE(k), k.ULE(hi), hi.ULE(width - 1))
    return claripy.Or(claripy.Not(pre), (shift_sem(x, k, kind, width) & ~rm) == rv)


def shift_assumptions(p: Path_, pairs: Iterable[tuple]) -> list:
    """bpf_tnum_shift_union's contract (the `tnum_shift_union` obligation)
    instantiated at each (operand, shift operand) pair, the amount masked to
    the call's width."""
    out = []
    for call in p.shift_calls:
        for (xx, yy) in pairs:
            out.append(shift_union_contract(call, xx, (yy & (call[5] - 1))[31:0]))
    return out


def shift_range_lemmas(p: Path_, asrt: list, timeout_ms: int) -> list:
    """For each bpf_tnum_shift_union call: lo <= y & (width-1) <= hi <= width-1,
    if Z3 proves it from `asrt` (the path and the inputs' membership). A proved
    lemma is then assumed by the component queries (sound: it is implied), which
    spares Z3 re-deriving the amount's range inside each of them (arsh64's s64
    bound: 63 s -> 25 s)."""
    out = []
    for call in p.shift_calls:
        lo, hi, width = call[2], call[3], call[5]
        k = (Y & (width - 1))[31:0]
        lemma = claripy.And(lo.ULE(k), k.ULE(hi), hi.ULE(width - 1))
        if solve(asrt + [claripy.Not(lemma)], timeout_ms)[0] == "unsat":
            out.append(lemma)
    return out


def shift_union_sound(ex: Extraction, kind: int, width: int | None, timeout_ms: int) -> Outcome:
    """bpf_tnum_shift_union against its contract: for all t, lo <= hi <= width-1,
    x in t and lo <= k <= hi: sh(x, k) is in the result R.

    Asked directly, Z3 times out (a union over a range of amounts has to relate
    the code's shift by lo with the query's shift by k). The obligation is
    therefore split into three queries about the code, with KO = t.value &
    ~t.mask, M1 = t.value | t.mask, j = k - lo, for a well-formed t:
      (wf)    R.value & R.mask == 0
      (value) R.value is within sh(sh(KO, j), lo)
      (mask)  sh(sh(M1, j), lo) is within R.value | R.mask
    and two facts about the shifts alone, proved for every kind and width in
    tests/prove/test_shift_union.py (they do not depend on the code):
    sh(sh(y, j), lo) == sh(y, lo + j) while lo + j <= width-1, and x in t =>
    sh(KO, k) within sh(x, k) within sh(M1, k). x in t makes t well formed,
    so together: R.value within sh(x, k) within R.value | R.mask, with R.value
    and R.mask disjoint, which is sh(x, k) & ~R.mask == R.value."""
    t, amt = ex.inputs["a"], ex.inputs["amount"]
    j = claripy.BVS("j", 32, explicit_name=True)
    widths = [width] if width is not None else [32, 64]
    ko = t["t.value"] & ~t["t.mask"]
    m1 = t["t.value"] | t["t.mask"]
    lo, hi = amt["lo"], amt["hi"]

    def build(p: Path_):
        out = p.outs["out"]
        rv, rm = out["t.value"], out["t.mask"]
        qs = []
        for w in widths:
            pre = [p.cond, amt["width"] == w, (t["t.value"] & t["t.mask"]) == 0, lo.ULE(hi), hi.ULE(w - 1),
                   j.ULE(hi - lo)]
            lo_k = shift_sem(shift_sem(ko, j, kind, w), lo, kind, w)
            hi_k = shift_sem(shift_sem(m1, j, kind, w), lo, kind, w)
            for part, bad in (("wf", (rv & rm) != 0), ("value", (rv & ~lo_k) != 0),
                              ("mask", (hi_k & ~(rv | rm)) != 0)):
                def explain(m, part=part, w=w, lo_k=lo_k, hi_k=hi_k):
                    return {"a": _state_values(m, t), "lo": _model_int(m, lo), "hi": _model_int(m, hi),
                            "kind": kind, "width": w, "k": _model_int(m, lo + j), "violated": part,
                            "known_ones_shifted": _model_int(m, lo_k), "maybe_ones_shifted": _model_int(m, hi_k),
                            "out": _state_values(m, out)}
                qs.append((pre + [bad], explain))
        return qs
    return _run_paths(ex, build, timeout_ms)


# --- bpf_sdiv_bounds: the signed quotient bounds of sdiv64/sdiv32 -------------

INT64_MIN, INT32_MIN = -(1 << 63), -(1 << 31)
_M64 = (1 << 64) - 1


def _signed(v: int) -> int:
    v &= _M64
    return v - (1 << 64) if v >> 63 else v


def sdiv_q(x, y, minv: int):
    """The eBPF quotient of x by y at the width of `min` (INT64_MIN: sdiv64 of
    the 64-bit values; INT32_MIN: sdiv32 of their low words, sign-extended), as
    a 64-bit term: 0 for y == 0, -x (wrapping) for y == -1. The same terms as
    model.ALU2's, so an operator's goal and the contract share them."""
    if _signed(minv) == INT64_MIN:
        return model.ALU2["sdiv64"](x, y)
    return model.sx(model.lo32(model.ALU2["sdiv32"](x, y)))


def _in32(v):
    return v == model.sx(model.lo32(v))


def sdiv_contract(call: tuple, x, y) -> claripy.ast.Bool:
    """bpf_sdiv_bounds's contract (range_alu.c) at the point (x, y): it returned
    true and x in [xmin, xmax], y in [ymin, ymax] (for min = INT32_MIN also
    every argument in [INT32_MIN, INT32_MAX])  =>  (x, y) != (min, -1) and
    lo <= q(x, y) <= hi. (That lo, hi fit 32 bits for min = INT32_MIN is true
    but not part of it: sdiv32 checks it before its casts.)"""
    xmin, xmax, ymin, ymax, minv, ret, lo, hi = call
    m = _signed(minv)
    mn = claripy.BVV(m & _M64, 64)
    pre = [ret != 0, xmin.SLE(x), x.SLE(xmax), ymin.SLE(y), y.SLE(ymax)]
    if m != INT64_MIN:
        pre += [_in32(v) for v in (xmin, xmax, ymin, ymax)]
    q = sdiv_q(x, y, m)
    concl = claripy.And(claripy.Not(claripy.And(x == mn, y == claripy.BVV(_M64, 64))), lo.SLE(q), q.SLE(hi))
    return claripy.Or(claripy.Not(claripy.And(*pre)), concl)


def sdiv_assumptions(p: Path_) -> list:
    """bpf_sdiv_bounds's contract (the `sdiv_bounds` obligation) at the
    operator's operands: X, Y for min = INT64_MIN (sdiv64); their low words
    sign-extended for min = INT32_MIN (sdiv32)."""
    out = []
    for call in p.sdiv_calls:
        if _signed(call[4]) == INT64_MIN:
            out.append(sdiv_contract(call, X, Y))
        else:
            out.append(sdiv_contract(call, model.sx(model.lo32(X)), model.sx(model.lo32(Y))))
    return out


def sdiv_corner_lemma(x, y, xmin, xmax, ymin, ymax) -> claripy.ast.Bool:
    """The division corner lemma at the width n of its terms, in the form the
    `sdiv_bounds` obligation uses: a fact about truncating division alone
    (q = model's sdiv at n bits: x/0 = 0, x/-1 = -x), proved for every value at
    small widths in tests/prove/test_sdiv_bounds.py. For x in [xmin, xmax] and
    y in [ymin, ymax]:
      ymin >= 1:                  min(q(xmin, ymin), q(xmin, ymax)) <= q(x, y)
                                  <= max(q(xmax, ymin), q(xmax, ymax))
      ymax <= -1, (INT_MIN, -1) not in the box:
                                  min(q(xmax, ymin), q(xmax, ymax)) <= q(x, y)
                                  <= max(q(xmin, ymin), q(xmin, ymax))
    (truncating division is monotone in x for y of one sign, and in y for x of
    one sign, so the extremes are at these corners). Used at n = 64 for
    min = INT64_MIN and at n = 32 on the low words for min = INT32_MIN
    (sign extension keeps the order)."""
    n = x.size()
    mn = claripy.BVV(1 << (n - 1), n)
    one, neg1 = claripy.BVV(1, n), claripy.BVV(-1 & ((1 << n) - 1), n)
    box = claripy.And(xmin.SLE(x), x.SLE(xmax), ymin.SLE(y), y.SLE(ymax))
    q = model._sdiv

    def between(xl, xh):
        v = q(x, y)
        a, b, c, d = q(xl, ymin), q(xl, ymax), q(xh, ymin), q(xh, ymax)
        return claripy.And(claripy.Or(a.SLE(v), b.SLE(v)), claripy.Or(v.SLE(c), v.SLE(d)))
    pos = claripy.Or(claripy.Not(ymin.SGE(one)), between(xmin, xmax))
    neg = claripy.Or(claripy.Not(claripy.And(ymax.SLE(neg1), claripy.Not(claripy.And(xmin == mn, ymax == neg1)))),
                     between(xmax, xmin))
    return claripy.Or(claripy.Not(box), claripy.And(pos, neg))


def sdiv_narrow_lemma(x, y) -> claripy.ast.Bool:
    """For x, y of width 2n whose values fit n bits (signed) and (x, y) not
    (INT_MIN of n bits, -1): the 2n-bit eBPF quotient equals the sign-extended
    n-bit one (x / 0 = 0, x / -1 = -x at either width). Used at n = 32 by the
    `sdiv_bounds` obligation for min = INT32_MIN; proved for every value at
    small widths in tests/prove/test_sdiv_bounds.py."""
    w = x.size()
    n = w // 2

    def fits(v):
        return v == v[n - 1:0].sign_extend(n)
    mn = claripy.BVV(((1 << w) - 1) ^ ((1 << (n - 1)) - 1), w)   # INT_MIN of n bits, sign-extended
    pre = claripy.And(fits(x), fits(y), claripy.Not(claripy.And(x == mn, y == claripy.BVV((1 << w) - 1, w))))
    return claripy.Or(claripy.Not(pre), model._sdiv(x, y) == model._sdiv(x[n - 1:0], y[n - 1:0]).sign_extend(n))


def sdiv_bounds_sound(ex: Extraction, minv: int, timeout_ms: int) -> Outcome:
    """bpf_sdiv_bounds against its contract (sdiv_contract), for the given
    `min`. Asked directly ("lo <= q(x, y) <= hi for all x, y of the box") Z3
    times out at 64 bits: the code's bounds are a min/max over eight corner
    quotients and the claim needs chains of 64-bit signed comparisons through
    them. The obligation is therefore split into small queries about the code,
    for a non-empty box (the contract only speaks of points of the box) where it
    returned true (and, for min = INT32_MIN, arguments in 32-bit range):
      guard   no x in [xmin, xmax], y in [ymin, ymax] is (min, -1); then the
              same for the corners of [xmin, xmax] x [ymin, min(ymax, -1)],
              assumed by the queries below (a cut)
      corners with y1 = max(ymin, 1), y2 = min(ymax, -1), q as in sdiv_q:
              ymax >= 1:  lo <= q(xmin, y1), q(xmin, ymax);  hi >= q(xmax, y1), q(xmax, ymax)
              ymin <= -1: lo <= q(xmax, ymin), q(xmax, y2);  hi >= q(xmin, ymin), q(xmin, y2)
              ymin <= 0 <= ymax: lo <= 0 <= hi  (q(x, 0) = 0)
    The corner lemma (sdiv_corner_lemma, on the boxes [xmin,xmax] x [y1,ymax]
    and [xmin,xmax] x [ymin,y2]) turns "corners" into lo <= q(x, y) <= hi for
    every point of the box: y >= 1 lies in the first, y <= -1 in the second
    (which holds no (min, -1) by `guard`), and y = 0 is the third case.

    The corner queries use the 64-bit quotient (the code's) for both mins:
    with the 32-bit quotient of the contract (min = INT32_MIN) two of them
    timed out. For min = INT32_MIN the narrowing lemma (sdiv_narrow_lemma: for
    32-bit-range x, y, not (INT32_MIN, -1), the 64-bit quotient is the
    sign-extended 32-bit one, also a fact about division alone proved at small
    widths) turns lo <= q64(x, y) <= hi into the contract's lo <= q32 <= hi at
    every point of the box (which holds no (INT32_MIN, -1) by `guard`)."""
    box = ex.inputs["box"]
    xmin, xmax, ymin, ymax = (box[k] for k in ("xmin", "xmax", "ymin", "ymax"))
    m = _signed(minv)
    mn = claripy.BVV(m & _M64, 64)
    one, neg1, zero = claripy.BVV(1, 64), claripy.BVV(_M64, 64), claripy.BVV(0, 64)
    y1 = claripy.If(ymin.SGT(one), ymin, one)
    y2 = claripy.If(ymax.SLT(neg1), ymax, neg1)

    def q(a, b):   # the 64-bit quotient, for both mins (see above)
        return sdiv_q(a, b, INT64_MIN)

    def build(p: Path_):
        lo, hi = p.outs["out"]["lo"], p.outs["out"]["hi"]
        pre = [p.cond, p.ret != 0, xmin.SLE(xmax), ymin.SLE(ymax)]
        if m != INT64_MIN:
            pre += [_in32(v) for v in (xmin, xmax, ymin, ymax)]
        goals = [("guard", [xmin.SLE(X), X.SLE(xmax), ymin.SLE(Y), Y.SLE(ymax)],
                  claripy.Not(claripy.And(X == mn, Y == neg1)))]
        # the same for the negative box's corners, proved here and then assumed
        # by the other queries (a cut: Z3 otherwise re-derives xmax == min ->
        # xmin == min inside each of them, which made lo <= q(xmax, .) time out)
        nc = claripy.Or(claripy.Not(ymin.SLE(neg1)),
                        claripy.And(*[claripy.Not(claripy.And(a == mn, b == neg1))
                                      for a in (xmin, xmax) for b in (ymin, y2)]))
        goals.append(("no corner of the negative box is (min, -1)", [], nc))
        pre2 = [nc]
        pos, neg = [ymax.SGE(one)], [ymin.SLE(neg1)]
        negs = [("lo <= q(xmax, ymin)", neg, lo.SLE(q(xmax, ymin)), ymin),
                ("lo <= q(xmax, min(ymax, -1))", neg, lo.SLE(q(xmax, y2)), y2),
                ("hi >= q(xmin, ymin)", neg, q(xmin, ymin).SLE(hi), ymin),
                ("hi >= q(xmin, min(ymax, -1))", neg, q(xmin, y2).SLE(hi), y2)]
        goals += [("lo <= q(xmin, max(ymin, 1))", pos, lo.SLE(q(xmin, y1))),
                  ("lo <= q(xmin, ymax)", pos, lo.SLE(q(xmin, ymax))),
                  ("hi >= q(xmax, max(ymin, 1))", pos, q(xmax, y1).SLE(hi)),
                  ("hi >= q(xmax, ymax)", pos, q(xmax, ymax).SLE(hi))]
        goals += [g[:3] for g in negs]
        goals += [("lo <= 0 <= hi", [ymin.SLE(zero), zero.SLE(ymax)], claripy.And(lo.SLE(zero), zero.SLE(hi)))]
        qs = []
        for i, (name, case, goal) in enumerate(goals):
            if i >= 2:
                case = pre2 + case

            def explain(mdl, name=name):
                return {"box": _state_values(mdl, box), "min": m, "violated": name,
                        "x": _model_int(mdl, X), "y": _model_int(mdl, Y),
                        "ret": _model_int(mdl, p.ret), "lo": _model_int(mdl, lo), "hi": _model_int(mdl, hi)}
            qs.append((pre + case + [claripy.Not(goal)], explain))
        return qs
    return _run_paths(ex, build, timeout_ms)


def _run_paths(ex: Extraction, build: Callable[[Path_], tuple[list, Callable]], timeout_ms: int) -> Outcome:
    t0 = time.monotonic()
    reasons = []
    for i, p in enumerate(ex.paths):
        built = build(p)
        queries = built if isinstance(built, list) else [built]
        for assertions, explain in queries:
            r, m, why = solve(assertions, timeout_ms)
            if r == "sat":
                return Outcome(UNSOUND, f"path {i + 1}/{len(ex.paths)}", explain(m), time.monotonic() - t0)
            if r == "unknown":
                reasons.append(f"path {i + 1}: solver {why or 'unknown'} after {timeout_ms} ms")
    if reasons:
        return Outcome(UNKNOWN, "; ".join(reasons), None, time.monotonic() - t0)
    return Outcome(PROVED, f"{len(ex.paths)} path(s)", None, time.monotonic() - t0)


def alu_sound(ex: Extraction, op: str, synced: bool, timeout_ms: int) -> Outcome:
    """For all inputs a (,b) and members x (,y): op(x, y) is a member of out."""
    binary = op in model.ALU2
    z = model.ALU2[op](X, Y) if binary else model.ALU1[op](X)
    a = ex.inputs["a"]
    b = ex.inputs.get("b")
    pairs = [(X, Y), (model.zx(model.lo32(X)), model.zx(model.lo32(Y)))]

    def build(p: Path_):
        out = p.outs["out"]
        asrt = [p.cond, member(a, X)]
        if binary:
            asrt.append(member(b, Y))
        if synced:
            asrt.append(model.invariant(a))
            if binary:
                asrt.append(model.invariant(b))
        asrt += mul_assumptions(p, pairs)
        asrt += shift_assumptions(p, pairs)
        asrt += shift_range_lemmas(p, asrt, timeout_ms)
        asrt += sdiv_assumptions(p)

        def explain(m):
            ce = {"a": _state_values(m, a), "x": _model_int(m, X)}
            if binary:
                ce["b"] = _state_values(m, b)
                ce["y"] = _model_int(m, Y)
            ce["result"] = _model_int(m, z)
            ce["out"] = _state_values(m, out)
            ce["violated"] = [k for k, c in member_parts(out, z).items() if not _model_true(m, c)]
            return ce
        # one query per component: smaller problems for Z3
        return [(asrt + [claripy.Not(c)], explain) for c in member_parts(out, z).values()]
    return _run_paths(ex, build, timeout_ms)


def _model_true(m, c) -> bool:
    return z3.is_true(m.eval(to_z3(c), model_completion=True))


def nonempty_facts(s: dict) -> list:
    """What membership of any value in state s implies about s itself: its
    tnum is well formed, every interval is ordered, and the tnum's least
    member lies below the unsigned maxima -- the negation of each test of
    bpf_range_is_empty. Valid by ``member_implies_nonempty`` (checked before
    the facts are used)."""
    member_implies_nonempty()
    return _nonempty_facts(s)


def _nonempty_facts(s: dict) -> list:
    v = s["t.value"]
    return [(v & s["t.mask"]) == 0, s["umin"].ULE(s["umax"]), s["smin"].SLE(s["smax"]),
            s["u32min"].ULE(s["u32max"]), s["s32min"].SLE(s["s32max"]), v.ULE(s["umax"]),
            model.lo32(v).ULE(s["u32max"])]


@functools.cache
def member_implies_nonempty() -> None:
    """Prove, once per process, that for every state s and value x,
    member(s, x) implies every fact of nonempty_facts(s) (Z3, all 64-bit
    fields symbolic; one query per fact, under a second each). A failure
    raises, and is not cached."""
    st = {f: claripy.BVS(f"lemma.{f}", model.FIELD_BITS[f], explicit_name=True) for f in FIELDS}
    x = claripy.BVS("lemma.x", 64, explicit_name=True)
    for fact in _nonempty_facts(st):
        r, _, why = solve([member(st, x), claripy.Not(fact)], 120_000)
        if r != "unsat":
            raise RuntimeError(f"lemma member => nonempty failed ({r} {why}) for {fact}")


def jmp_sound(ex: Extraction, cond: str, is32: bool, edge: str, timeout_ms: int, synced: bool = False) -> Outcome:
    """taken edge: cond(x,y) -> bit0 set and x in dst_t and y in src_t; fall-through likewise."""
    a, b = ex.inputs["a"], ex.inputs["b"]
    c = model.COND[cond](X, Y, is32)
    taken = edge == "taken"
    bit = 1 if taken else 2

    def build(p: Path_):
        d, s = (p.outs["dst_t"], p.outs["src_t"]) if taken else (p.outs["dst_f"], p.outs["src_f"])
        goods = [(p.ret & bit) != 0] + list(member_parts(d, X).values()) + list(member_parts(s, Y).values())
        asrt = [p.cond, member(a, X), member(b, Y), c if taken else claripy.Not(c)]
        if synced:
            asrt += [model.invariant(a), model.invariant(b)]

        def explain(m):
            ce = {"dst": _state_values(m, a), "src": _state_values(m, b), "x": _model_int(m, X),
                  "y": _model_int(m, Y), "is32": int(is32), "edge": edge, "ret": _model_int(m, p.ret),
                  "dst_out": _state_values(m, d), "src_out": _state_values(m, s)}
            v = []
            if not _model_true(m, (p.ret & bit) != 0):
                v.append("feasibility bit")
            v += ["dst." + k for k, cc in member_parts(d, X).items() if not _model_true(m, cc)]
            v += ["src." + k for k, cc in member_parts(s, Y).items() if not _model_true(m, cc)]
            ce["violated"] = v
            return ce
        # one query per conjunct of the refinement: each membership component,
        # then the feasibility bit. The bit's query may assume the memberships
        # (proved on this path from the same assumptions by the other queries;
        # PROVED needs every query UNSAT) and what membership implies about a
        # state (``member_implies_nonempty``, proved by Z3 once): the bit is
        # "not bpf_range_is_empty" of both refined states, and without these
        # facts Z3 re-derived them inside every bit query (10-35 s each).
        mem = goods[1:]
        facts = mem + nonempty_facts(d) + nonempty_facts(s)
        return [(asrt + [claripy.Not(g)], explain) for g in mem] + \
            [(asrt + facts + [claripy.Not(goods[0])], explain)]
    return _run_paths(ex, build, timeout_ms)


def wf_or_empty(st: dict) -> claripy.ast.Bool:
    """The tnum is well formed (value & mask == 0) or the state is marked empty."""
    return claripy.Or((st["t.value"] & st["t.mask"]) == 0, st["umin"].UGT(st["umax"]))


def inv_or_empty(st: dict) -> claripy.ast.Bool:
    return claripy.Or(model.invariant(st), st["umin"].UGT(st["umax"]))


def contract_assumptions(p: Path_, x) -> list:
    """What each hooked sync step was proved to guarantee (step_preserves and
    step_wf below), instantiated at its recorded call."""
    out = []
    for name, before, after in p.calls:
        out.append(claripy.Or(claripy.Not(member(before, x)), member(after, x)))
        out.append(claripy.Or(claripy.Not(wf_or_empty(before)), wf_or_empty(after)))
        if name == "bpf_sync_tnum_to_bounds":
            out.append(claripy.Or(claripy.Not(wf_or_empty(before)), inv_or_empty(after)))
    return out


def sync_sound(ex: Extraction, timeout_ms: int) -> Outcome:
    """Every member of s before the function (bpf_range_sync or one of its
    steps) is a member after it."""
    a = ex.inputs["a"]

    def build(p: Path_):
        out = p.outs["out"]
        asrt = [p.cond, member(a, X)] + contract_assumptions(p, X)

        def explain(m):
            return {"a": _state_values(m, a), "x": _model_int(m, X), "out": _state_values(m, out),
                    "violated": [k for k, cc in member_parts(out, X).items() if not _model_true(m, cc)]}
        # one query per membership component: smaller problems for Z3
        return [(asrt + [claripy.Not(c)], explain) for c in member_parts(out, X).values()]
    return _run_paths(ex, build, timeout_ms)


def step_wf(ex: Extraction, timeout_ms: int, establishes_invariant: bool = False) -> Outcome:
    """A sync step keeps the tnum well formed (or the state empty); the final
    step tnum_to_bounds also establishes the sync invariant."""
    a = ex.inputs["a"]

    def build(p: Path_):
        out = p.outs["out"]
        goal = inv_or_empty(out) if establishes_invariant else wf_or_empty(out)
        return [p.cond, wf_or_empty(a), claripy.Not(goal)], \
            lambda m: {"a": _state_values(m, a), "out": _state_values(m, out)}
    return _run_paths(ex, build, timeout_ms)


def sync_establishes_invariant(ex: Extraction, timeout_ms: int) -> Outcome:
    """bpf_range_sync's result satisfies the invariant assumed by *_synced checks,
    unless it reports the state empty (umin > umax)."""
    def build(p: Path_):
        out = p.outs["out"]
        asrt = [p.cond, claripy.Not(inv_or_empty(out))] + contract_assumptions(p, X)
        return asrt, lambda m: {"a": _state_values(m, ex.inputs["a"]), "out": _state_values(m, out)}
    return _run_paths(ex, build, timeout_ms)


def is_empty_sound(ex: Extraction, timeout_ms: int) -> Outcome:
    """bpf_range_is_empty(s) == true implies s has no member."""
    a = ex.inputs["a"]

    def build(p: Path_):
        asrt = [p.cond, p.ret != 0, member(a, X)]
        return asrt, lambda m: {"a": _state_values(m, a), "x": _model_int(m, X)}
    return _run_paths(ex, build, timeout_ms)


def tnum_sound(ex: Extraction, fn: Callable, timeout_ms: int, width: int | None = None) -> Outcome:
    """x in a, y in b -> fn(x, y) in out (tnum only). `width` bounds the operands:
    a's and b's value|mask fit in `width` bits (the reduced-width proof of mul)."""
    a, b = ex.inputs["a"], ex.inputs["b"]

    def build(p: Path_):
        out = p.outs["out"]
        r = fn(X, Y)
        asrt = [p.cond, (X & ~a["t.mask"]) == a["t.value"], (Y & ~b["t.mask"]) == b["t.value"],
                (r & ~out["t.mask"]) != out["t.value"]]

        def explain(m):
            return {"a": _state_values(m, a), "b": _state_values(m, b), "x": _model_int(m, X),
                    "y": _model_int(m, Y), "result": _model_int(m, r), "out": _state_values(m, out)}
        return asrt, explain
    return _run_paths(ex, build, timeout_ms)


def width_pre(width: int):
    """Precondition: both tnum operands' value|mask fit in `width` bits."""
    def pre(inputs):
        cs = []
        if width < 64:
            for k in ("a", "b"):
                cs.append(((inputs[k]["t.value"] | inputs[k]["t.mask"]) >> width) == 0)
        return claripy.And(*cs) if cs else claripy.true()
    return pre


AGREE_FIRST_MS = 60_000   # split queries (agree's `cases`): the unsplit attempt first


def _agree_pair(p: Path_, q: Path_) -> tuple[list, list]:
    """(diffs, assumptions) for one pair of paths of two arches: diffs are the
    (name, value here, value there) that must be equal -- every output field,
    the return value, and the arguments of every summarised call -- and the
    assumptions are the path conditions and what the summaries allow."""
    diffs = []
    for sname, fields_ in p.outs.items():
        for f in fields_:
            diffs.append((f"{sname}.{f}", p.outs[sname][f], q.outs[sname][f]))
    if p.ret is not None:
        diffs.append(("ret", p.ret, q.ret))
    asrt = [p.cond, q.cond]
    # tnum_mul summaries (fresh results per arch), like shift_union's: a
    # difference in the arguments (or in the number of calls) is a
    # disagreement; with equal arguments the results are equal (tnum_mul
    # is one function, proved separately). Constraining the arguments to be
    # equal instead would hide exactly the disagreements that matter.
    if len(p.mul_calls) != len(q.mul_calls):
        diffs.append(("tnum_mul calls", claripy.BVV(len(p.mul_calls), 8),
                      claripy.BVV(len(q.mul_calls), 8)))
    for n, (c1, c2) in enumerate(zip(p.mul_calls, q.mul_calls)):
        for k, nm in enumerate(("a.value", "a.mask", "b.value", "b.mask")):
            diffs.append((f"tnum_mul{n}.{nm}", c1[k], c2[k]))
        same_args = claripy.And(*[u == v for u, v in zip(c1[:4], c2[:4])])
        asrt.append(claripy.Or(claripy.Not(same_args),
                               claripy.And(c1[4] == c2[4], c1[5] == c2[5])))
    # shift_union summaries: a difference in the arguments is a
    # disagreement; with equal arguments the results are equal (the
    # function itself agrees across arches: tnum_shift_union agree).
    # Equating the results unconditionally is the same here: a model with
    # different arguments already is a disagreement.
    if len(p.shift_calls) != len(q.shift_calls):
        diffs.append(("shift_union calls", claripy.BVV(len(p.shift_calls), 8),
                      claripy.BVV(len(q.shift_calls), 8)))
    for n, (c1, c2) in enumerate(zip(p.shift_calls, q.shift_calls)):
        for k, nm in enumerate(("t.value", "t.mask", "lo", "hi", "kind", "width")):
            u, v = c1[k], c2[k]
            if isinstance(u, int):
                u, v = claripy.BVV(u, 32), claripy.BVV(v, 32)
            diffs.append((f"shift_union{n}.{nm}", u, v))
        asrt += [c1[6] == c2[6], c1[7] == c2[7]]
    # bpf_sdiv_bounds summaries: the same rule as tnum_mul's (a difference in
    # the arguments, `min` included, is a disagreement; with equal arguments the
    # fresh results are equal: the function's own cross-arch agreement is the
    # sdiv_bounds `agree` obligation)
    if len(p.sdiv_calls) != len(q.sdiv_calls):
        diffs.append(("sdiv_bounds calls", claripy.BVV(len(p.sdiv_calls), 8),
                      claripy.BVV(len(q.sdiv_calls), 8)))
    for n, (c1, c2) in enumerate(zip(p.sdiv_calls, q.sdiv_calls)):
        args = []
        for k, nm in enumerate(("xmin", "xmax", "ymin", "ymax", "min")):
            u, v = c1[k], c2[k]
            if isinstance(u, int):
                u, v = claripy.BVV(u & _M64, 64), claripy.BVV(v & _M64, 64)
            diffs.append((f"sdiv_bounds{n}.{nm}", u, v))
            args.append(u == v)
        asrt.append(claripy.Or(claripy.Not(claripy.And(*args)),
                               claripy.And(c1[5] == c2[5], c1[6] == c2[6], c1[7] == c2[7])))
    # sync steps replaced by contracts (extract's `contracts`): the same rule.
    # A different sequence of steps, or a different state handed to one, is a
    # disagreement; with equal states the fresh results are equal (each step's
    # own cross-arch agreement is a part of sync's agree: runner.agree_on)
    if [c[0] for c in p.calls] != [c[0] for c in q.calls]:
        diffs.append(("sync steps", claripy.BVV(0, 1), claripy.BVV(1, 1)))   # differ whatever the inputs
    else:
        for n, ((name, b1, a1), (_, b2, a2)) in enumerate(zip(p.calls, q.calls)):
            for f in b1:
                diffs.append((f"step{n}.{name}.{f}", b1[f], b2[f]))
            asrt.append(claripy.Or(claripy.Not(claripy.And(*[b1[f] == b2[f] for f in b1])),
                                   claripy.And(*[a1[f] == a2[f] for f in a1])))
    return diffs, asrt


def agree(exs: dict[str, Extraction], timeout_ms: int, per_field: bool = False,
          cases: Callable[[dict], list] | None = None) -> Outcome:
    """The extracted semantics of every arch are equal for all inputs: for each
    pair of arches and each pair of their paths, where both path conditions
    hold every output field (and the return value) is equal.

    per_field: one query per field (and summarised call argument) instead of
    one for their disjunction. cases(inputs): constraints on the reference
    arch's inputs whose disjunction is valid (a case split); a query that does
    not finish unsplit within AGREE_FIRST_MS is asked once per case, and is
    proved when every case is. Both only change how the same claim is put to
    Z3 (bpf_tnum_shift_union at width 64: unsplit, the mask word timed out)."""
    t0 = time.monotonic()
    arches = sorted(exs)
    ref = arches[0]
    reasons = []
    split = cases(exs[ref].inputs) if cases is not None else None
    n_split = 0
    for other in arches[1:]:
        for i, p in enumerate(exs[ref].paths):
            for j, q in enumerate(exs[other].paths):
                diffs, asrt = _agree_pair(p, q)
                groups = [[d] for d in diffs] if per_field else [diffs]
                for grp in groups:
                    ne = claripy.Or(*[u != v for _, u, v in grp])
                    first = None
                    if split is not None:
                        first = solve(asrt + [ne], min(timeout_ms, AGREE_FIRST_MS))
                    attempts = [[]] if first is None or first[0] == "sat" else \
                        [] if first[0] == "unsat" else [[c] for c in split]
                    n_split += len(attempts) > 1
                    for extra in attempts:
                        r, m, why = first if first is not None and first[0] == "sat" else \
                            solve(asrt + extra + [ne], timeout_ms)
                        if r == "sat":
                            ce = {"inputs": {k: _state_values(m, v) for k, v in exs[ref].inputs.items()},
                                  "differs": {n: {ref: _model_int(m, u), other: _model_int(m, v)}
                                              for n, u, v in diffs if not _model_true(m, u == v)}}
                            return Outcome(UNSOUND, f"{ref} and {other} disagree", ce, time.monotonic() - t0)
                        if r == "unknown":
                            what = "" if not per_field else f" {grp[0][0]}"
                            what += f" case {extra[0]}" if extra else ""
                            reasons.append(f"{ref}/{other} paths {i + 1},{j + 1}{what}: {why}")
    if reasons:
        return Outcome(UNKNOWN, "; ".join(reasons[:3]), None, time.monotonic() - t0)
    how = " (per field" + (f", {n_split} queries split into {len(split)} cases)" if n_split else ")") \
        if per_field or n_split else ""
    return Outcome(PROVED, f"{', '.join(arches)} agree{how}", None, time.monotonic() - t0)

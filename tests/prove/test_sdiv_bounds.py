"""bpf_sdiv_bounds: sdiv64/sdiv32 through its contract, the contract itself, and
the code-independent facts that make the `sdiv_bounds` obligation's split
queries add up to the contract.

checks.sdiv_bounds_sound proves facts about the compiled code (the guard, the
bounds' fit, lo/hi against the corner quotients, 0); the division corner lemma
(checks.sdiv_corner_lemma) turns them into the contract. The lemma is a fact
about truncating division alone: proved here for every value at small widths
(the argument does not depend on the width), like nonlinear.py's axioms; and
the composition "facts + lemma -> contract" is proved here too.
"""

from __future__ import annotations

import claripy
import pytest
import z3

from axiomdbg.prove import checks, model, runner
from axiomdbg.prove.targets import ARCHES

from .test_prove import _mutant, _run, cache  # noqa: F401  (fixture)


def _bvs(names, n):
    return [claripy.BVS(f"{v}{n}", n, explicit_name=True) for v in names.split()]


def _valid(f, timeout_ms=120_000) -> bool:
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    s.add(checks.to_z3(claripy.Not(f)))
    return s.check() == z3.unsat


@pytest.mark.parametrize("n", [4, 6, 8])
def test_corner_lemma_holds_for_every_value(n):
    x, y, xmin, xmax, ymin, ymax = _bvs("x y xmin xmax ymin ymax", n)
    assert _valid(checks.sdiv_corner_lemma(x, y, xmin, xmax, ymin, ymax))


@pytest.mark.parametrize("n", [4, 6, 8])
def test_narrow_lemma_holds_for_every_value(n):
    """The 2n-bit quotient of n-bit values is the sign-extended n-bit one,
    except INT_MIN / -1 (which the guard excludes)."""
    x, y = _bvs("x y", 2 * n)
    assert _valid(checks.sdiv_narrow_lemma(x, y))
    # ... and the exception is real: without it the claim is false
    mn = claripy.BVV(((1 << 2 * n) - 1) ^ ((1 << (n - 1)) - 1), 2 * n)
    bad = claripy.And(x == mn, y == claripy.BVV((1 << 2 * n) - 1, 2 * n))
    assert not _valid(claripy.Or(claripy.Not(bad), model._sdiv(x, y) ==
                                 model._sdiv(x[n - 1:0], y[n - 1:0]).sign_extend(n)))


def test_corner_lemma_is_not_vacuous():
    """Without 'y of one sign' (a box across 0 or -1) the corners do not bound
    the quotient: the lemma's side conditions matter."""
    n = 6
    x, y, xmin, xmax, ymin, ymax = _bvs("x y xmin xmax ymin ymax", n)
    q = model._sdiv
    box = claripy.And(xmin.SLE(x), x.SLE(xmax), ymin.SLE(y), y.SLE(ymax))
    cs = [q(a, b) for a in (xmin, xmax) for b in (ymin, ymax)]
    claim = claripy.Or(claripy.Not(box), claripy.Or(*[c.SLE(q(x, y)) for c in cs]))
    assert not _valid(claim)


@pytest.mark.parametrize("n", [6, 8])
def test_split_queries_and_lemma_give_the_contract(n):
    """checks.sdiv_bounds_sound's queries (as facts about arbitrary lo, hi) and
    the corner lemma on the two one-signed sub-boxes imply lo <= q(x, y) <= hi
    at every point of the box: the split loses nothing."""
    x, y, xmin, xmax, ymin, ymax, lo, hi = _bvs("x y xmin xmax ymin ymax lo hi", n)
    q = model._sdiv
    mn = claripy.BVV(1 << (n - 1), n)
    one, neg1, zero = claripy.BVV(1, n), claripy.BVV((1 << n) - 1, n), claripy.BVV(0, n)
    y1 = claripy.If(ymin.SGT(one), ymin, one)
    y2 = claripy.If(ymax.SLT(neg1), ymax, neg1)
    box = claripy.And(xmin.SLE(x), x.SLE(xmax), ymin.SLE(y), y.SLE(ymax))

    def case(c, *goals):
        return claripy.Or(claripy.Not(c), claripy.And(*goals))
    facts = claripy.And(
        # guard: no point of the box is (min, -1) (the obligation proves it for
        # all points; for a non-empty box that is this)
        claripy.Not(claripy.And(xmin == mn, ymin.SLE(neg1), neg1.SLE(ymax))),
        case(ymax.SGE(one), lo.SLE(q(xmin, y1)), lo.SLE(q(xmin, ymax)), q(xmax, y1).SLE(hi), q(xmax, ymax).SLE(hi)),
        case(ymin.SLE(neg1), lo.SLE(q(xmax, ymin)), lo.SLE(q(xmax, y2)), q(xmin, ymin).SLE(hi), q(xmin, y2).SLE(hi)),
        case(claripy.And(ymin.SLE(zero), zero.SLE(ymax)), lo.SLE(zero), zero.SLE(hi)))
    lemmas = claripy.And(checks.sdiv_corner_lemma(x, y, xmin, xmax, y1, ymax),
                         checks.sdiv_corner_lemma(x, y, xmin, xmax, ymin, y2))
    goal = claripy.Or(claripy.Not(claripy.And(box, facts, lemmas)), claripy.And(lo.SLE(q(x, y)), q(x, y).SLE(hi)))
    assert _valid(goal)


def test_sdiv_operators_prove_through_the_contract(cache):  # noqa: F811
    """sdiv64/sdiv32 (UNKNOWN while they inlined the corner computation) prove
    on x86_64 with bpf_sdiv_bounds replaced by its contract."""
    rows = _run(["x86_64"], ["sdiv64", "sdiv32"])
    assert len(rows) == 4 and all(r["status"] == "PROVED" for r in rows), rows


@pytest.mark.slow
def test_operator_rests_on_the_contract(cache):  # noqa: F811
    """The operators' proofs use the contract and nothing else about
    bpf_sdiv_bounds (its result is fresh): without the lower bound lo <= q the
    sdiv64 proof must fail on its s64 component."""
    def weak(call, x, y):
        xmin, xmax, ymin, ymax, minv, ret, lo, hi = call
        pre = claripy.And(ret != 0, xmin.SLE(x), x.SLE(xmax), ymin.SLE(y), y.SLE(ymax))
        return claripy.Or(claripy.Not(pre), checks.sdiv_q(x, y, minv).SLE(hi))
    mp = pytest.MonkeyPatch()
    mp.setattr(checks, "sdiv_contract", weak)
    try:
        rows = _run(["x86_64"], ["sdiv64"], use_cache=False)
    finally:
        mp.undo()
    assert any(r["status"] == "UNSOUND" and "s64" in r["counterexample"]["violated"] for r in rows), rows


@pytest.mark.slow
def test_sdiv_bounds_mutant_is_caught(cache):  # noqa: F811
    """Leaving the divisor corner y = 1 out breaks the contract sdiv64/sdiv32
    rest on: the sdiv_bounds obligation must fail (UNSOUND) for both mins."""
    ops, ov = _mutant("sdiv-bounds-corner")
    rows = _run(["x86_64"], ops, overrides=ov, use_cache=False)
    assert rows and all(r["status"] == "UNSOUND" for r in rows), rows


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHES)
def test_sdiv_bounds_contract_proves(arch, cache):  # noqa: F811
    rows = _run([arch], ["sdiv_bounds"])
    assert [r["check"] for r in rows] == list(runner.SDIV_BOUNDS_CHECKS), rows
    assert all(r["status"] == "PROVED" for r in rows), rows

"""The non-linear abstraction, the angr lifting fixes and the eBPF reproducers."""

import itertools
import json
from pathlib import Path

import claripy
import pytest
import z3

from axiomdbg.prove import nonlinear
from axiomdbg.prove.extract import _fixed_pc_actions_UMUL, rv_divrem

ROOT = Path(__file__).resolve().parents[2]


def _valid(fml) -> bool:
    s = z3.Solver()
    s.add(z3.Not(fml))
    return s.check() == z3.unsat


def _bitwise_sext(x, k):
    """x sign-extended by k bits, spelt bit by bit like the lifters' output."""
    e = x
    for _ in range(k):
        e = z3.Concat(z3.Extract(x.size() - 1, x.size() - 1, x), e)
    return e


def _terms(w):
    """One term of every shape the abstraction handles, at width w."""
    a1, b1, a2, b2, c = (z3.BitVec(n, w) for n in ("a1", "b1", "a2", "b2", "c"))
    one = z3.BitVecVal(1, w)
    A1, B1 = z3.SignExt(w, a1), _bitwise_sext(b1, w)      # x86 idiv: 2w-bit operands
    return [
        # unsigned
        z3.UDiv(a1, b1), z3.UDiv(a2, b2), z3.UDiv(c, a1), z3.URem(a1, b1), z3.URem(a2, b2),
        a1 * b1, a2 * b2, z3.ZeroExt(w, a1) * z3.ZeroExt(w, b2),
        z3.UDiv(z3.ZeroExt(w, a1), z3.ZeroExt(w, b1)), z3.URem(z3.ZeroExt(w, a2), z3.ZeroExt(w, b1)),
        # signed division / remainder / modulo (z3: / is bvsdiv, % is bvsmod)
        a1 / b1, z3.SRem(a1, b2), a2 % b2, a2 / z3.If(b2 == 0, one, b2), a1 / z3.BitVecVal(-3, w),
        z3.Extract(w - 1, 0, A1 / B1), z3.Extract(w - 1, 0, z3.SRem(A1, B1)),
        # msub: a - (a / b) * b, also on low halves (AArch64)
        (a1 / b1) * b1, z3.Extract(w // 2 - 1, 0, a1 / b2) * z3.Extract(w // 2 - 1, 0, b2),
        z3.UDiv(a2, b1) * b1,
        # signed products: 32x32->64 corners and the wrapping ones
        z3.SignExt(w, a1) * z3.SignExt(w, b1), z3.SignExt(w, a2) * z3.SignExt(w, b2),
    ]


def _abstraction(terms, **kw):
    ab = nonlinear.Abstraction(**kw)
    for t in terms:
        r = ab.rewrite(t)
        # the rewrite is an equivalence: with every fresh variable bound to its
        # operation it is the original term
        assert _valid(ab.concrete(r) == t), t
    return ab


@pytest.mark.parametrize("w", [4, pytest.param(6, marks=pytest.mark.slow)])
def test_every_axiom_is_a_theorem(w):
    """Each axiom the abstraction adds, with its fresh variables bound to the
    real operation, holds for all values (Z3, at 4 and, slow, 6 bits); each
    exact rewrite (signed -> unsigned magnitudes, narrowing, msub) is an
    equivalence."""
    terms = _terms(w)
    ab = _abstraction(terms)
    assert ab.udiv and ab.urem and ab.mul and ab.sdivs and ab.sterms
    for ax in ab.axioms():
        assert _valid(ab.concrete(ax)), ax


@pytest.mark.parametrize("w", [4, pytest.param(5, marks=pytest.mark.slow)])
def test_corner_lemmas_are_theorems(w):
    """The interval corner lemmas, instantiated on boxes of both shapes (w-bit
    wrapping products with bounded operands, exact 2w-bit products of
    sign-extended operands, and truncating division with INT_MIN / -1), hold
    for all values."""
    x, y, a, b, c, d = (z3.BitVec(n, w) for n in "xyabcd")
    S = lambda v: z3.SignExt(w, v)  # noqa: E731
    lo = lambda v: z3.Extract(w - 1, 0, v)  # noqa: E731
    terms = [x * y, a * c, a * d, b * c, b * d,                    # wrapping, bounded operands
             S(a) * S(c), S(a) * S(d), S(b) * S(c), S(b) * S(d),  # exact corners
             lo(x) * lo(y),
             x / y] + [lo(S(p) / S(q)) for p in (a, b) for q in (c, d)]
    ab = _abstraction(terms)
    lemmas = ab._bilinear() + ab._div_box()
    assert len(ab._bilinear()) >= 2 and len(ab._div_box()) >= 1
    for ax in lemmas:
        assert _valid(ab.concrete(ax)), ax


def test_sign_extension_detection():
    """Sign extensions are recognised in the lifters' bit-by-bit form and a
    term that only looks alike is not."""
    x, y = z3.BitVec("x", 8), z3.BitVec("y", 8)
    assert nonlinear._sext_core(_bitwise_sext(x, 8)).eq(x)
    assert nonlinear._sext_core(z3.Concat(x >> 7, x)).eq(x)          # x86 cqo: ashr then concat
    assert nonlinear._sext_core(z3.Concat(z3.BitVecVal(0, 8), x)) is None
    assert nonlinear._sext_core(z3.Concat(z3.Extract(7, 7, y), z3.Extract(7, 7, x), z3.Extract(7, 1, x),
                                          z3.Extract(0, 0, x))) is None


def _prove64(fmls, **kw):
    abst, ab = nonlinear.abstract(fmls, unsigned_view=False)
    s = nonlinear.sat_solver()
    s.set("timeout", 60000)
    s.add(*abst)
    return s.check()


def _box64():
    x, y, a, b, c, d = (z3.BitVec(n, 64) for n in "xyabcd")
    return x, y, a, b, c, d, [a <= x, x <= b, c <= y, y <= d]


def _smin4(ps):
    m = lambda p, q: z3.If(p <= q, p, q)  # noqa: E731
    return m(m(ps[0], ps[1]), m(ps[2], ps[3]))


def test_abstraction_proves_signed_product_corners():
    """The kernel's mul64 argument at 64 bits: operands below 2^31 in magnitude,
    the least corner product bounds x*y from below."""
    x, y, a, b, c, d, box = _box64()
    small = [z3.ULT(z3.If(v < 0, -v, v), 1 << 31) for v in (a, b, c, d)]
    claim = _smin4([a * c, a * d, b * c, b * d]) <= x * y
    assert _prove64(box + small + [z3.Not(claim)]) == z3.unsat
    # without the magnitude guard the products may wrap: not provable
    assert _prove64(box + [z3.Not(claim)]) == z3.sat


def test_abstraction_proves_signed_division_corners():
    """sdiv corners as x86 computes them (128-bit idiv of sign-extended
    operands), for a divisor range of one sign; with INT_MIN / -1 possible the
    claim is false and stays satisfiable."""
    x, y, a, b, c, d, box = _box64()
    S = lambda v: z3.SignExt(64, v)  # noqa: E731
    corner = lambda p, q: z3.Extract(63, 0, S(p) / S(q))  # noqa: E731
    cs = [corner(a, c), corner(a, d), corner(b, c), corner(b, d)]
    m = lambda p, q: z3.If(p <= q, q, p)  # noqa: E731
    assert _prove64(box + [c >= 1, z3.Not(_smin4(cs) <= x / y)]) == z3.unsat
    # a divisor range across 0 (6 / 1 = 6 > 6 / 2): false, and not proved
    claim = x / y <= m(m(cs[0], cs[1]), m(cs[2], cs[3]))
    assert _prove64(box + [c == -1, d == 2, z3.Not(claim)]) == z3.sat


def test_abstraction_proves_division_monotonicity_fast():
    x, y, lo, hi, ylo = (z3.BitVec(n, 64) for n in ("x", "y", "lo", "hi", "ylo"))
    # x in [lo, hi], y >= ylo >= 1  ->  x / y <= hi / ylo
    neg = [z3.ULE(lo, x), z3.ULE(x, hi), z3.UGE(y, ylo), z3.UGE(ylo, 1), z3.UGT(z3.UDiv(x, y), z3.UDiv(hi, ylo))]
    abst, ab = nonlinear.abstract(neg)
    s = z3.Solver()
    s.set("timeout", 20000)
    s.add(*abst)
    assert s.check() == z3.unsat and ab.count == 2


def test_abstraction_is_not_a_proof_of_false_claims():
    x, y = z3.BitVec("x", 64), z3.BitVec("y", 64)
    # x / y <= y is false in general: the abstraction must not make it UNSAT
    abst, _ = nonlinear.abstract([z3.UGT(z3.UDiv(x, y), y), y != 0])
    s = z3.Solver()
    s.add(*abst)
    assert s.check() == z3.sat


@pytest.mark.parametrize("name", ["div", "divu", "rem", "remu", "divw", "divuw", "remw", "remuw"])
def test_riscv_divrem_hook_semantics(name):
    """The corrected RV64 M semantics against a direct reading of the ISA manual."""
    def ref(a, b):
        n = 32 if name.endswith("w") else 64
        m = (1 << n) - 1
        a, b = a & m, b & m
        sa, sb = (a - (1 << n) if a >> (n - 1) else a), (b - (1 << n) if b >> (n - 1) else b)
        if name.startswith("divu"):
            r = m if b == 0 else a // b
        elif name.startswith("remu"):
            r = a if b == 0 else a % b
        elif name.startswith("div"):
            r = -1 if sb == 0 else (sa if (sa == -(1 << (n - 1)) and sb == -1) else int(sa / sb) if False else
                                    (abs(sa) // abs(sb)) * (1 if (sa < 0) == (sb < 0) else -1))
        else:
            r = sa if sb == 0 else (0 if sb == -1 else (abs(sa) % abs(sb)) * (1 if sa >= 0 else -1))
        r &= m
        if n == 32 and r >> 31:
            r |= 0xFFFFFFFF00000000
        return r
    vals = [0, 1, 2, 7, 2304, 0x9013A351, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFF80000000,
            0x8000000000000000, 0xFFFFFFFFFFFFFFFF, 0x123456789ABCDEF0]
    for a, b in itertools.product(vals, vals):
        got = claripy.Solver().eval(rv_divrem(name, claripy.BVV(a, 64), claripy.BVV(b, 64)), 1)[0]
        assert got == ref(a, b), (name, hex(a), hex(b), hex(got), hex(ref(a, b)))


def test_x86_umul_flags_fixed():
    from angr.engines.vex.claripy import ccall as cc

    for nbits, a, b in ((32, 0xCBF2A0A9, 0xC0000002), (32, 3, 5), (64, 1 << 40, 1 << 30), (64, 7, 9)):
        rd = _fixed_pc_actions_UMUL(None, nbits, claripy.BVV(a, 64), claripy.BVV(b, 64), claripy.BVV(0, 64),
                                    platform="AMD64")
        rd = rd[0] if isinstance(rd, tuple) else rd
        cf = z3.simplify(claripy.backends.z3.convert(rd)).as_long() & 1
        assert cf == int((a * b) >> nbits != 0), (nbits, a, b)
    assert cc.pc_actions_UMUL is _fixed_pc_actions_UMUL


def _seeded(name):
    spec = json.loads((ROOT / "fixtures" / "prove" / "seeded.json").read_text())[name]
    src = (ROOT / "kernel" / "bpf" / spec["file"]).read_text()
    assert spec["old"] in src, f"seeded bug {name} no longer applies"
    return spec["op"], {spec["file"]: src.replace(spec["old"], spec["new"], 1)}, spec


@pytest.mark.parametrize("name", ["and32_lowbound", "add64_nooverflow"])
def test_seeded_counterexample_program_escapes_on_host(name, tmp_path, monkeypatch):
    """The proof's counterexample becomes an eBPF program that the (patched)
    verifier accepts and whose run escapes; the real verifier rejects it."""
    from axiomdbg.prove import bpfprog, runner

    monkeypatch.setattr(runner, "CACHE_DIR", tmp_path / "cache")
    op, ov, spec = _seeded(name)
    rows = runner.run_jobs(runner.make_jobs(["x86_64"], ["embedded"], [op], agree=False, overrides=ov,
                                            use_cache=False), 1)
    bad = [r for r in rows if r["status"] == "UNSOUND"]
    assert bad, rows
    prog = bpfprog.synthesize(op, bad[0]["counterexample"], ov)
    run = bpfprog.run_host(prog, ov)
    assert run["accepted"] and run["escaped"], (prog["asm"], run)
    assert run["stored"] == prog["expect"]["escaped_value"]
    real = bpfprog.run_host(prog, None)
    assert not real["accepted"] and "R5" in real["error"], real


def test_jump_mutant_counterexample_program_escapes_on_host(tmp_path, monkeypatch):
    """A jump-refinement mutant (off-by-one in jge's umax) becomes a program the
    mutated verifier accepts and that follows the edge it pruned."""
    from axiomdbg.prove import bpfprog, mutants, runner

    monkeypatch.setattr(runner, "CACHE_DIR", tmp_path / "cache")
    m = next(m for m in mutants.CATALOGUE if m.name == "jgt-offbyone")
    ov = mutants.apply(m)
    assert ov is not None, "mutant no longer applies"
    rows = runner.run_jobs(runner.make_jobs(["x86_64"], ["embedded"], ["jge64"], agree=False, overrides=ov,
                                            use_cache=False, timeout_ms=20_000), 1)
    bad = [r for r in rows if r["status"] == "UNSOUND"]
    assert bad, rows
    prog = bpfprog.synthesize("jge64", bad[0]["counterexample"], ov)
    run = bpfprog.run_host(prog, ov)
    assert run["accepted"] and run["escaped"], (prog["asm"], run)
    assert not bpfprog.run_host(prog, None)["accepted"]

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


@pytest.mark.parametrize("w", [4, pytest.param(6, marks=pytest.mark.slow)])
def test_every_axiom_is_a_theorem(w):
    """Each axiom the abstraction adds, with its fresh variables bound to the
    real operation, holds for all values (Z3, at 4 and, slow, 6 bits)."""
    a1, b1, a2, b2, c = (z3.BitVec(n, w) for n in ("a1", "b1", "a2", "b2", "c"))
    q = [z3.UDiv(a1, b1), z3.UDiv(a2, b2), z3.UDiv(c, a1)]
    r = [z3.URem(a1, b1), z3.URem(a2, b2)]
    p = [a1 * b1, a2 * b2, z3.ZeroExt(w, a1) * z3.ZeroExt(w, b2)]
    ab = nonlinear.Abstraction()
    for t in q + r + p:
        ab.rewrite(t)
    assert ab.count == len(q) + len(r) + len(p)
    # bind every fresh variable to the real operation: each axiom must be valid
    subst = [(v, z3.UDiv(a, b)) for a, b, v in ab.udiv] + [(v, z3.URem(a, b)) for a, b, v in ab.urem]
    for (a, b, v, ca, cb, E) in ab.mul:
        subst.append((v, a * b))
        if E is not v:  # the exact double-width product of a wrapping multiplication
            subst.append((E, z3.ZeroExt(ca.size(), ca) * z3.ZeroExt(cb.size(), cb)))
    for ax in ab.axioms():
        assert _valid(z3.substitute(ax, *subst)), ax


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

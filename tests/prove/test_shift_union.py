"""The facts that turn checks.shift_union_sound's three queries about the code
into bpf_tnum_shift_union's contract. They are about the shifts alone (no
machine code), so they are proved here once, with Z3 at full width, for every
(kind, width) the shift operators use:

  for any tnum t, any result R, lo <= hi <= width-1, x in t, lo <= k <= hi,
  j = k - lo: if t well formed implies
      R.value & R.mask == 0,
      R.value within sh(sh(KO, j), lo), and
      sh(sh(M1, j), lo) within R.value | R.mask
  (KO = t.value & ~t.mask, M1 = t.value | t.mask: what the obligation proves
  of the code), then sh(x, k) & ~R.mask == R.value (the contract).

The semantics of sh (checks.shift_sem) are checked against Python's own
shifts, so the contract means the eBPF shift.
"""

from __future__ import annotations

import claripy
import pytest
import z3
from hypothesis import given, settings, strategies as st

from axiomdbg.prove import checks, runner
from axiomdbg.prove.checks import shift_sem, to_z3

M64 = (1 << 64) - 1
COMBOS = sorted({(kind, w) for kind, width in runner.SHIFT_UNION_CHECKS.values()
                 for w in ([width] if width is not None else [32, 64])})


# the right shifts' composition takes Z3 5-20 s each (more on a loaded machine)
@pytest.mark.parametrize("kind,width", [pytest.param(kd, w, marks=pytest.mark.slow) if kd != 0 else (kd, w)
                                        for kd, w in COMBOS])
def test_decomposition_implies_contract(kind, width):
    tv, tm, rv, rm, x = (claripy.BVS(n, 64) for n in ("tv", "tm", "rv", "rm", "x"))
    lo, hi, k = (claripy.BVS(n, 32) for n in ("lo", "hi", "k"))
    j = k - lo
    ko, m1 = tv & ~tm, tv | tm
    lo_k = shift_sem(shift_sem(ko, j, kind, width), lo, kind, width)
    hi_k = shift_sem(shift_sem(m1, j, kind, width), lo, kind, width)
    wf = (tv & tm) == 0
    proved = claripy.And((rv & rm) == 0, (rv & ~lo_k) == 0, (hi_k & ~(rv | rm)) == 0)
    hyp = [lo.ULE(hi), hi.ULE(width - 1), lo.ULE(k), k.ULE(hi), (x & ~tm) == tv,
           claripy.Or(claripy.Not(wf), proved)]
    goal = (shift_sem(x, k, kind, width) & ~rm) == rv
    s = z3.SolverFor("QF_BV")
    s.add(*[to_z3(h) for h in hyp + [claripy.Not(goal)]])
    assert s.check() == z3.unsat


def test_decomposition_is_not_vacuous():
    """Dropping the value query's fact leaves a counterexample: the facts are
    what carries the contract, not contradictory hypotheses."""
    kind, width = 0, 64
    tv, tm, rv, rm, x = (claripy.BVS(n, 64) for n in ("tv", "tm", "rv", "rm", "x"))
    lo, hi, k = (claripy.BVS(n, 32) for n in ("lo", "hi", "k"))
    hi_k = shift_sem(shift_sem(tv | tm, k - lo, kind, width), lo, kind, width)
    hyp = [lo.ULE(hi), hi.ULE(width - 1), lo.ULE(k), k.ULE(hi), (x & ~tm) == tv,
           (rv & rm) == 0, (hi_k & ~(rv | rm)) == 0]
    s = z3.SolverFor("QF_BV")
    s.add(*[to_z3(h) for h in hyp + [(shift_sem(x, k, kind, width) & ~rm) != rv]])
    assert s.check() == z3.sat


def _py_shift(x: int, k: int, kind: int, width: int) -> int:
    if kind == 0:
        return (x << k) & M64
    if kind == 1:
        return x >> k
    bits = width
    v = x & ((1 << bits) - 1)
    if v >> (bits - 1):
        v -= 1 << bits
    return (v >> k) & ((1 << bits) - 1)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, M64), st.integers(0, 63), st.sampled_from(COMBOS))
def test_shift_sem_is_the_ebpf_shift(x, k, combo):
    kind, width = combo
    k %= width
    got = claripy.Solver().eval(shift_sem(claripy.BVV(x, 64), claripy.BVV(k, 32), kind, width), 1)[0]
    assert got == _py_shift(x, k, kind, width)


# --- RISC-V register shifts (extract.rv_shift): VEX shifted by the whole rs2
# register; the ISA (RV64I) uses its low 6 bits (5 for the 32-bit *w forms)

def _isa_shift(name: str, a: int, b: int) -> int:
    """A direct reading of the RISC-V unprivileged ISA manual, RV64I."""
    def sext32(v):
        v &= 0xFFFFFFFF
        return (v - (1 << 32) if v >> 31 else v) & M64
    if name == "sll":
        return (a << (b & 63)) & M64
    if name == "srl":
        return a >> (b & 63)
    if name == "sra":
        sa = a - (1 << 64) if a >> 63 else a
        return (sa >> (b & 63)) & M64
    lo = a & 0xFFFFFFFF
    if name == "sllw":
        return sext32(lo << (b & 31))
    if name == "srlw":
        return sext32(lo >> (b & 31))
    slo = lo - (1 << 32) if lo >> 31 else lo
    return sext32(slo >> (b & 31))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["sll", "srl", "sra", "sllw", "srlw", "sraw"]), st.integers(0, M64),
       st.one_of(st.integers(0, 200), st.integers(0, M64)))
def test_riscv_shift_semantics(name, a, b):
    from axiomdbg.prove.extract import rv_shift

    got = claripy.Solver().eval(rv_shift(name, claripy.BVV(a, 64), claripy.BVV(b, 64)), 1)[0]
    assert got == _isa_shift(name, a, b)


def test_riscv_sll_hooked_in_the_kernel_binary():
    """bpf_tnum_lshift's `shift &= 63` compiles to a bare `sll` on riscv64:
    executed through the hooks, a shift by 65 is a shift by 1."""
    from axiomdbg.prove.extract import RET_ADDR, _prepare, func_addr
    from axiomdbg.prove.targets import resolve

    p = _prepare(str(resolve("riscv64", "embedded").elf), {})
    st_ = p.factory.call_state(func_addr(p, "bpf_tnum_lshift"), claripy.BVV(5, 64), claripy.BVV(3, 64),
                               claripy.BVV(65, 64), ret_addr=RET_ADDR)
    sm = p.factory.simulation_manager(st_)
    sm.run(until=lambda m: all(s.addr == RET_ADDR for s in m.active))
    s = (sm.active + sm.deadended)[0]
    assert (s.solver.eval(s.regs.a0), s.solver.eval(s.regs.a1)) == (10, 6)

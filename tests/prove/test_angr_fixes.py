"""angr_fixes: AArch64 `ccmp` with a symbolic flag operation is lifted exactly.

The code under test is the list walk of the kernel's `proc_wait` as clang
compiles it for aarch64 (`while (*lp && *lp != c) lp = &(*lp)->next; if (*lp)
*lp = c->next;`), copied byte for byte (position-independent):

    0x00 mov  x8, x9            ; lp
    0x04 ldr  x10, [x9]         ; *lp
    0x08 add  x9, x10, #80      ; &(*lp)->next
    0x0c cmp  x10, #0
    0x10 ccmp x10, x23, #4, ne  ; flags of x10 - c if *lp != NULL, else Z
    0x14 b.ne 0x00
    0x18 cbz  x10, 0x24
    0x1c ldr  x9, [x23, #80]
    0x20 str  x9, [x8]          ; *lp = c->next
    0x24                        ; (end)

The list is pl -> A -> B -> C of a symbolic length n; one link also holds an
annotated symbol, as angr's uninitialised memory is, which stops
`claripy.excavate_ite` from splitting the flag operation: the case where stock
angr evaluates the branch from bit 30 of the pointer instead.
"""

from __future__ import annotations

import pytest

angr = pytest.importorskip("angr")
import claripy  # noqa: E402

from axiomdbg.prove import angr_fixes  # noqa: E402

CODE = bytes.fromhex("e80309aa2a0140f9494101915f0100f1441157fa61ffff546a0000b4e92a40f9090100f9")
BASE = 0x10000
END = BASE + 0x24
PL = 0x200000
A, B, C = 0xFFFFE00000500000, 0xFFFFE00000600000, 0xFFFFE00000700000
NEXT = 80


class Sticky(claripy.Annotation):
    """Like angr's uninitialised-memory annotation: kept and propagated."""

    @property
    def eliminatable(self):
        return False

    @property
    def relocatable(self):
        return True


def _walk():
    p = angr.load_shellcode(CODE, arch="aarch64", start_offset=0, load_address=BASE)
    s = p.factory.blank_state(addr=BASE, add_options={angr.options.SYMBOL_FILL_UNCONSTRAINED_MEMORY})
    n = claripy.BVS("n", 8)
    junk = claripy.BVS("junk", 64).annotate(Sticky())
    bv = lambda v: claripy.BVV(v, 64)  # noqa: E731
    link = lambda i, v: claripy.If(n > i, bv(v), bv(0))  # noqa: E731
    s.memory.store(PL, link(0, A), endness="Iend_LE")
    s.memory.store(A + NEXT, link(1, B), endness="Iend_LE")
    # B's link: C if n > 2; the annotated junk is only reachable for n == 200 (excluded)
    s.memory.store(B + NEXT, claripy.If(n == 200, junk, link(2, C)), endness="Iend_LE")
    s.memory.store(C + NEXT, bv(0), endness="Iend_LE")
    s.add_constraints(claripy.ULE(n, 3))
    s.regs.x9 = PL
    s.regs.x23 = link(2, C)     # c: the last element, when there are three
    sm = p.factory.simgr(s)
    sm.run(until=lambda m: not m.active, n=40, filter_func=lambda st: "done" if st.addr == END else None)
    return sm, n


def _assert_exact(sm, n):
    assert sm.done and not sm.errored
    for st in sm.done:
        x10 = st.regs.x10
        # the loop stops exactly at NULL or at c
        assert not st.solver.satisfiable(extra_constraints=[x10 != 0, x10 != st.regs.x23])
        # with three elements, c is found and unlinked: B's link becomes C's (NULL)
        if st.solver.satisfiable(extra_constraints=[n == 3]):
            assert not st.solver.satisfiable(extra_constraints=[n == 3, x10 == 0])
            b_next = st.memory.load(B + NEXT, 8, endness="Iend_LE")
            assert not st.solver.satisfiable(extra_constraints=[n == 3, b_next != 0])
    assert any(st.solver.satisfiable(extra_constraints=[n == 3]) for st in sm.done)


def test_ccmp_list_walk_is_exact():
    sm, n = _walk()
    _assert_exact(sm, n)


def test_stock_angr_walks_past_the_element():
    """The defect the module corrects (remove the module when this fails)."""
    with angr_fixes.unpatched():
        sm, n = _walk()
    with pytest.raises(AssertionError):
        _assert_exact(sm, n)


def test_const_cases_split_an_annotated_or():
    c = claripy.BVS("c", 64).annotate(Sticky())
    op = claripy.If(c != 0, claripy.BVV(4, 64), claripy.BVV(0, 64)) | 0x10
    assert claripy.excavate_ite(op).op != "If"   # why the direct split is needed
    cases = angr_fixes._const_cases(op)
    assert sorted(v.concrete_value for _, v in cases) == [0x10, 0x14]
    s = claripy.Solver()
    for cond, v in cases:
        # each case's condition implies the operand has that value
        assert not s.satisfiable(extra_constraints=[cond, op != v])

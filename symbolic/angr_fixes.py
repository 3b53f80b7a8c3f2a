"""Corrections to angr that the proofs depend on, applied once on import.

**Condition codes with a symbolic operation (AArch64 `ccmp`/`ccmn`, ARM).**
VEX lifts flag-setting instructions lazily: it stores the operation kind in the
`cc_op` pseudo-register and its operands in `cc_dep1..3`, and a conditional
branch calls a helper (`arm64g_calculate_condition(cond << 4 | cc_op, ...)`)
that computes the flag. `ccmp x10, x23, #4, ne` sets the flags either from the
comparison (cc_op = SUB64) or from the immediate (cc_op = COPY), so `cc_op`
becomes `If(x10 != 0, SUB64, COPY)`. angr's `op_concretize` handles such an
operand by splitting on the if-then-else -- but only when `claripy.excavate_ite`
brings the If to the top. When it does not (excavation skips annotated terms,
and angr's uninitialised-memory annotation propagates to every term built on
a value read from memory), its fallback for `X | const` returns the
constant alone: the condition is then evaluated as if cc_op were COPY, i.e.
from bit 30 of the compared pointer, on every path. That is unsound. The
kernel's `proc_wait` (a list walk `while (*lp && *lp != c)`, compiled into a
`ccmp` loop on aarch64) then ran past the child it was looking for, and
`prove syscalls` reported a false spec violation for waitpid (session 6).

The fix replaces `op_concretize` with an exact version: a concrete operand is
returned; an if-then-else of constants (after excavation) is split as angr does;
anything else is split on the values the path condition allows -- computed
with the state's solver in the ccall dispatcher, which has the state -- and
never guessed. More than MAX_CASES values is an error, not a guess.
"""

from __future__ import annotations

import contextlib

import claripy

MAX_CASES = 16


class NeedSolver(Exception):
    """An operand of a flag helper is symbolic and not an if-then-else of
    constants: the dispatcher splits it with the path's solver."""

    def __init__(self, op):
        super().__init__(op)
        self.op = op


def _const_cases(op):
    """[(condition, BVV)] covering every value of `op` read off its syntax, or None.
    excavate_ite leaves an annotated AST alone (angr annotates uninitialised
    memory, and annotations propagate to every term built on it), so
    `If(c, a, b) | k` is also split directly."""
    for e in (claripy.excavate_ite(op), op):
        if e.op == "If":
            cases = list(claripy.reverse_ite_cases(e))
        elif e.op == "__or__" and len(e.args) == 2 and e.args[0].op == "If" and not e.args[1].symbolic:
            # VEX's Or64(cc_op, cond << 4): the only shape the flag helpers are given
            ite, k = e.args
            cases = [(c, v | k) for c, v in claripy.reverse_ite_cases(ite)]
        else:
            continue
        if all(not c.symbolic for _, c in cases):
            return cases
    return None


def exact_op_concretize(op):
    from angr.engines.vex.claripy.ccall import CCallMultivaluedException

    if type(op) is int:
        return op
    if not op.symbolic:
        return op.concrete_value
    cases = _const_cases(op)
    if cases is not None:
        raise CCallMultivaluedException(cases, op)
    raise NeedSolver(op)


ORIGINAL = {}


def _apply() -> None:
    from angr import errors
    from angr.engines.vex.claripy import ccall
    from angr.engines.vex.claripy.datalayer import ClaripyDataMixin

    if getattr(ccall, "_axiomdbg_exact", False):
        return
    ORIGINAL.update(op_concretize=ccall.op_concretize, ccall=ClaripyDataMixin._perform_vex_expr_CCall)
    ccall.op_concretize = exact_op_concretize   # the helpers look it up as a module global
    original = ClaripyDataMixin._perform_vex_expr_CCall

    def ccall_exact(self, func_name, ty, args, func=None):
        try:
            return original(self, func_name, ty, args, func)
        except NeedSolver as ns:
            f = func if func is not None else getattr(ccall, func_name)
            i = next((k for k, a in enumerate(args) if a is ns.op), None)
            if i is None:
                raise errors.UnsupportedCCallError(
                    f"{func_name}: a symbolic operation operand that is not an argument") from None
            vals = self.state.solver.eval_upto(ns.op, MAX_CASES + 1)
            if len(vals) > MAX_CASES:
                raise errors.UnsupportedCCallError(
                    f"{func_name}: operation operand takes more than {MAX_CASES} values") from None
            n = ns.op.size()
            cases = [(ns.op == v, func_or_multi(self, f, ty, args, i, claripy.BVV(v, n))) for v in vals]
            return claripy.ite_cases(cases, claripy.BVV(0, cases[0][1].size()))

    def func_or_multi(self, f, ty, args, i, value):
        # with the operand constant, the helper may still split another operand
        return original(self, f.__name__, ty, [*args[:i], value, *args[i + 1:]], f)

    ClaripyDataMixin._perform_vex_expr_CCall = ccall_exact
    ccall._axiomdbg_exact = True


@contextlib.contextmanager
def unpatched():
    """angr as shipped, for the block (tests show the defect this module fixes)."""
    from angr.engines.vex.claripy import ccall
    from angr.engines.vex.claripy.datalayer import ClaripyDataMixin

    mine = ccall.op_concretize, ClaripyDataMixin._perform_vex_expr_CCall
    ccall.op_concretize, ClaripyDataMixin._perform_vex_expr_CCall = ORIGINAL["op_concretize"], ORIGINAL["ccall"]
    try:
        yield
    finally:
        ccall.op_concretize, ClaripyDataMixin._perform_vex_expr_CCall = mine


_apply()

"""Sound abstraction of non-linear bit-vector terms for the proof queries.

Z3 proves a query by bit-blasting it; a 64-bit (or, from x86's `div`, 128-bit)
divider or multiplier becomes thousands of adders, and facts such as "x / y
grows with x" then cost CDCL minutes. The obligations of div/mod/mul do not
need the circuits, only a few arithmetic facts about them. So, before the
precise query, every product / quotient / remainder whose operands are not
constants is replaced by a fresh variable, and *valid theorems* about the
operator, instantiated at the terms of the query, are added:

  all            :  a1 = a2 and b1 = b2 -> op(a1, b1) = op(a2, b2)
  udiv  q = a / b :  b = 0 -> q = ~0 (SMT-LIB);  b != 0 -> q <= a;  b = 1 -> q = a;
                     b != 0 and a < b -> q = 0;
                     pairwise: b1, b2 != 0, a1 <= a2, b1 >= b2 -> q1 <= q2
  urem  r = a % b :  b = 0 -> r = a;  b != 0 -> r < b;  r <= a;  a < b -> r = a
  mul   p = a * b :  a or b = 0 -> p = 0;  a = 1 -> p = b;  b = 1 -> p = a;
                     its exact double-width value E (p itself when both operands
                     are zero-extended from half the width, else a fresh E whose
                     low half is p): pairwise monotonicity of E, and the link to
                     division: d != 0, d = a -> (b <= c / d  <->  a * b <= c)

Every axiom holds for all values of its variables (tests/prove/test_nonlinear.py
proves each one exhaustively at 8 bits and with Z3 at 64 bits where it is
quick), so the abstracted query has every model of the original one (plus
maybe more): UNSAT of the abstraction is UNSAT of the original. A SAT or
unknown answer proves nothing and the precise query is run.
"""

from __future__ import annotations

import itertools

import z3

_UDIV = {z3.Z3_OP_BUDIV, z3.Z3_OP_BUDIV_I}
_UREM = {z3.Z3_OP_BUREM, z3.Z3_OP_BUREM_I}
_SIGNED = {z3.Z3_OP_BSDIV, z3.Z3_OP_BSDIV_I, z3.Z3_OP_BSREM, z3.Z3_OP_BSREM_I, z3.Z3_OP_BSMOD,
           z3.Z3_OP_BSMOD_I}
_MUL = {z3.Z3_OP_BMUL}


def _zext_core(e: z3.BitVecRef) -> z3.BitVecRef | None:
    """`e` without its zero extension, if at least half of e's width is a
    zero extension (ZeroExt(k, x) or Concat(0, x)), else None."""
    w = e.size()
    if z3.is_app_of(e, z3.Z3_OP_ZERO_EXT):
        x = e.arg(0)
        return x if x.size() <= w // 2 else None
    if z3.is_app_of(e, z3.Z3_OP_CONCAT) and e.num_args() == 2 and z3.is_bv_value(e.arg(0)) \
            and e.arg(0).as_long() == 0 and e.arg(1).size() <= w // 2:
        return e.arg(1)
    if z3.is_bv_value(e) and e.as_long() < (1 << (w // 2)):
        return z3.Extract(w // 2 - 1, 0, e)
    return None


def _ule(a, b):
    w = max(a.size(), b.size())
    a = z3.ZeroExt(w - a.size(), a) if a.size() < w else a
    b = z3.ZeroExt(w - b.size(), b) if b.size() < w else b
    return z3.ULE(a, b)


def _eq(a, b):
    w = max(a.size(), b.size())
    a = z3.ZeroExt(w - a.size(), a) if a.size() < w else a
    b = z3.ZeroExt(w - b.size(), b) if b.size() < w else b
    return a == b


class Abstraction:
    def __init__(self) -> None:
        self.memo: dict[int, z3.ExprRef] = {}
        self.udiv: list[tuple] = []
        self.urem: list[tuple] = []
        self.mul: list[tuple] = []      # (a, b, p, core_a, core_b, exact product)
        self.links: list[z3.BoolRef] = []
        self.n = 0

    def _fresh(self, w: int) -> z3.BitVecRef:
        self.n += 1
        return z3.BitVec(f"__nl{self.n}", w)

    def rewrite(self, root: z3.ExprRef) -> z3.ExprRef:
        # iterative post-order over the DAG
        stack = [(root, False)]
        while stack:
            e, done = stack.pop()
            k = e.get_id()
            if k in self.memo:
                continue
            if not z3.is_app(e) or e.num_args() == 0:
                self.memo[k] = e
                continue
            if not done:
                stack.append((e, True))
                for c in e.children():
                    if c.get_id() not in self.memo:
                        stack.append((c, False))
                continue
            kids = [self.memo[c.get_id()] for c in e.children()]
            kind = e.decl().kind()
            new = None
            if kind in _UDIV | _UREM | _MUL and len(kids) == 2:
                a, b = kids
                linear = z3.is_bv_value(b) if kind not in _MUL else (z3.is_bv_value(a) or z3.is_bv_value(b))
                if not linear:
                    v = self._fresh(e.size())
                    if kind in _UDIV:
                        self.udiv.append((a, b, v))
                    elif kind in _UREM:
                        self.urem.append((a, b, v))
                    else:
                        ca, cb = _zext_core(a), _zext_core(b)
                        if ca is None or cb is None:
                            # wrapping product: its exact double-width value E,
                            # of which v is the low half
                            ca, cb = a, b
                            E = self._fresh(2 * e.size())
                            self.links.append(z3.Extract(e.size() - 1, 0, E) == v)
                        else:
                            E = v
                        self.mul.append((a, b, v, ca, cb, E))
                    new = v
            if new is None:
                new = e.decl()(*kids) if kids else e
            self.memo[k] = new
        return self.memo[root.get_id()]

    def axioms(self) -> list[z3.BoolRef]:
        ax: list[z3.BoolRef] = []
        for a, b, q in self.udiv:
            w = q.size()
            ax += [z3.Implies(b == 0, q == z3.BitVecVal(-1, w)), z3.Implies(b != 0, z3.ULE(q, a)),
                   z3.Implies(b == 1, q == a), z3.Implies(z3.And(b != 0, z3.ULT(a, b)), q == 0)]
        for (a1, b1, q1), (a2, b2, q2) in itertools.permutations(self.udiv, 2):
            if q1.size() == q2.size():
                ax.append(z3.Implies(z3.And(b1 != 0, b2 != 0, z3.ULE(a1, a2), z3.UGE(b1, b2)), z3.ULE(q1, q2)))
        # functional consistency: equal operands give equal results
        for terms in (self.udiv, self.urem, [(t[0], t[1], t[2]) for t in self.mul]):
            for (a1, b1, v1), (a2, b2, v2) in itertools.combinations(terms, 2):
                if v1.size() == v2.size() and a1.size() == a2.size() and b1.size() == b2.size():
                    ax.append(z3.Implies(z3.And(a1 == a2, b1 == b2), v1 == v2))
        for a, b, r in self.urem:
            ax += [z3.Implies(b == 0, r == a), z3.Implies(b != 0, z3.ULT(r, b)), z3.ULE(r, a),
                   z3.Implies(z3.ULT(a, b), r == a)]
        ax += self.links
        for a, b, p, _, _, _ in self.mul:
            w = p.size()
            ax += [z3.Implies(z3.Or(a == 0, b == 0), p == 0), z3.Implies(a == 1, p == b),
                   z3.Implies(b == 1, p == a)]
        exact = [(ca, cb, E) for a, b, p, ca, cb, E in self.mul]
        for (a1, b1, p1), (a2, b2, p2) in itertools.permutations(exact, 2):
            ax.append(z3.Implies(z3.And(_ule(a1, a2), _ule(b1, b2)), _ule(p1, p2)))
            ax.append(z3.Implies(z3.And(_ule(a1, b2), _ule(b1, a2)), _ule(p1, p2)))
        for (a1, b1, p1), (a2, b2, p2) in itertools.combinations(exact, 2):
            # the exact product depends on the operands' values only
            if a1.size() == a2.size() and b1.size() == b2.size():
                ax.append(z3.Implies(z3.And(a1 == a2, b1 == b2), _eq(p1, p2)))
            if a1.size() == b2.size() and b1.size() == a2.size():
                ax.append(z3.Implies(z3.And(a1 == b2, b1 == a2), _eq(p1, p2)))
        for ca, cb, p in exact:
            # a product of non-zero factors is at least each factor
            ax.append(z3.Implies(cb != 0, _ule(ca, p)))
            ax.append(z3.Implies(ca != 0, _ule(cb, p)))
            for c, d, q in self.udiv:
                for x, y in ((ca, cb), (cb, ca)):
                    if x.size() == d.size() and y.size() == q.size():
                        ax.append(z3.Implies(z3.And(d != 0, x == d), _ule(y, q) == _ule(p, c)))
        return ax

    @property
    def count(self) -> int:
        return len(self.udiv) + len(self.urem) + len(self.mul)


def has_nonlinear(fmls: list[z3.ExprRef]) -> bool:
    seen = set()
    stack = list(fmls)
    while stack:
        e = stack.pop()
        if e.get_id() in seen or not z3.is_app(e):
            continue
        seen.add(e.get_id())
        k = e.decl().kind()
        if k in _UDIV | _UREM | _MUL | _SIGNED and e.num_args() == 2:
            a, b = e.children()
            if not (z3.is_bv_value(b) or (k in _MUL and z3.is_bv_value(a))):
                return True
        stack.extend(e.children())
    return False


def abstract(fmls: list[z3.ExprRef]) -> tuple[list[z3.ExprRef], Abstraction]:
    ab = Abstraction()
    out = [ab.rewrite(f) for f in fmls]
    return out + ab.axioms(), ab

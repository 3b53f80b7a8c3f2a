"""Sound abstraction of non-linear bit-vector terms for the proof queries.

Z3 proves a query by bit-blasting it; a 64-bit (or, from x86's `div`, 128-bit)
divider or multiplier becomes thousands of adders, and facts such as "x / y
grows with x" then cost CDCL minutes. The obligations of div/mod/mul do not
need the circuits, only a few arithmetic facts about them. So, before the
precise query, the query is rewritten in three steps.

1. Exact rewrites (equivalences; nothing is lost):

  signed -> unsigned  the SMT-LIB definitions of bvsdiv / bvsrem / bvsmod in
                      terms of bvudiv / bvurem of the magnitudes
                      |a| = (a <s 0 ? -a : a); e.g.
                      a sdiv b = (a <s 0) xor (b <s 0) ? -(|a| / |b|) : |a| / |b|
  magnitudes          |SignExt(k, a)| = ZeroExt(k, |a|) (|a| at a's own width:
                      |INT_MIN| = 2^(n-1) fits). A sign extension is found
                      syntactically or, for the bit-by-bit Concat/ITE forms the
                      lifters produce, by a Z3 validity check of
                      e == SignExt(w/2, Extract(w/2-1, 0, e)).
  narrowing           udiv_w(ZeroExt a, ZeroExt b) = b = 0 ? ~0 : ZeroExt(udiv_n(a, b)),
                      urem_w(ZeroExt a, ZeroExt b) = ZeroExt(urem_n(a, b))
                      (x86's 128/64-bit idiv of sign-extended operands ends up
                      a 64-bit unsigned division of magnitudes).
  msub                (a / b) * b = a - a % b, signed or unsigned, for every b
                      (b = 0: 0 = a - a), also on low halves: AArch64 has no
                      remainder instruction (sdiv + msub).

2. Every remaining product / unsigned quotient / remainder whose operands are
   not constants is replaced by a fresh variable, and *valid theorems* about the
   operation, instantiated at the terms of the query, are added:

  all             :  a1 = a2 and b1 = b2 -> op(a1, b1) = op(a2, b2)
                     (across widths, values compared as naturals, divisor != 0)
  udiv  q = a / b :  b = 0 -> q = ~0 (SMT-LIB);  b != 0 -> q <= a;  b = 1 -> q = a;
                     b != 0 and a < b -> q = 0;
                     pairwise: b1, b2 != 0, a1 <= a2, b1 >= b2 -> q1 <= q2
  urem  r = a % b :  b = 0 -> r = a;  b != 0 -> r < b;  r <= a;  a < b -> r = a
  mul   p = a * b :  a or b = 0 -> p = 0;  a = 1 -> p = b;  b = 1 -> p = a;
                     its exact double-width value E (p itself when both operands
                     are zero-extended from half the width, else a fresh E whose
                     low half is p): pairwise monotonicity of E, a product of
                     non-zero factors is at least each factor, and the link to
                     division: d != 0, d = a -> (b <= c / d  <->  a * b <= c)

3. Interval corner lemmas (the argument the kernel's signed bounds rest on),
   instantiated on every box the query's terms form:

  signed products :  x*y and four "corner" products l1*r1, l1*r2, l2*r1, l2*r2
                     of the same shape (operands compared by their
                     sign-extension cores): l1 <= x <= l2, r1 <= y <= r2 ->
                     min(corners) <= x*y <= max(corners), (a) on the w-bit terms
                     when the corners' operands are bounded, |l| < 2^i,
                     |r| < 2^(w-1-i), i = (w-1)/2 or its mirror (nothing in the box
                     wraps), or (b) on exact values when the corners are exact
                     (32x32 -> 64 of sign-extended operands); x*y then gets a
                     fresh exact value P = SignExt(x) * SignExt(y) of which it is
                     the low part.
  signed division :  x / y and four corner quotients over [l1, l2] x [r1, r2]:
                     r1, r2 of one sign and no INT_MIN / -1 in the box ->
                     x / y between the least and the greatest corner (truncating
                     division is monotone in x for y of one sign and in y for x
                     of one sign).

Every axiom holds for all values of its variables and every rewrite is an
equivalence (tests/prove/test_nonlinear.py binds each fresh variable back to its
operation and proves each generated axiom, and each rewrite, with Z3 at small
widths), so the abstracted query has every model of the original one (plus
maybe more): UNSAT of the abstraction is UNSAT of the original. A SAT or
unknown answer proves nothing and the precise query is run.
"""

from __future__ import annotations

import itertools

import z3

# Only the total SMT-LIB operators are abstracted (the "_I" variants are Z3's
# internal ones whose value at divisor 0 is unspecified; they stay precise).
_UDIV = {z3.Z3_OP_BUDIV}
_UREM = {z3.Z3_OP_BUREM}
_SDIV = {z3.Z3_OP_BSDIV}
_SREM = {z3.Z3_OP_BSREM}
_SMOD = {z3.Z3_OP_BSMOD}
_DIVS = _UDIV | _SDIV
_SIGNED_ABS = _SDIV | _SREM | _SMOD
_SIGNED = {z3.Z3_OP_BSDIV, z3.Z3_OP_BSDIV_I, z3.Z3_OP_BSREM, z3.Z3_OP_BSREM_I, z3.Z3_OP_BSMOD,
           z3.Z3_OP_BSMOD_I}
_MUL = {z3.Z3_OP_BMUL}
_ALL_DETECT = {z3.Z3_OP_BUDIV, z3.Z3_OP_BUDIV_I, z3.Z3_OP_BUREM, z3.Z3_OP_BUREM_I} | _SIGNED | _MUL

SEM_CHECK_MS = 2000   # validity check that a term is a sign/zero extension

# Semantic extension checks, cached across queries. The key is the AST id; the
# entry keeps the AST alive (so the id cannot be reused by another term) and is
# compared with eq() before use.
_ext_cache: dict[tuple[int, str], tuple[z3.ExprRef, z3.ExprRef | None]] = {}


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


def _sext_core(e: z3.BitVecRef) -> z3.BitVecRef | None:
    """`e` without its sign extension, if its upper half (at least) copies the
    sign bit of the lower half: syntactically (SignExt) or proved by Z3."""
    w = e.size()
    if w < 2:
        return None
    if z3.is_app_of(e, z3.Z3_OP_SIGN_EXT):
        return e.arg(0)
    if z3.is_bv_value(e):
        v, m = e.as_long(), w // 2
        lo = v & ((1 << m) - 1)
        sx = lo - (1 << m) if lo >> (m - 1) else lo
        return z3.BitVecVal(lo, m) if (sx & ((1 << w) - 1)) == v else None
    key = (e.get_id(), "s")
    hit = _ext_cache.get(key)
    if hit is not None and hit[0].eq(e):
        return hit[1]
    m = w // 2
    lo = z3.simplify(z3.Extract(m - 1, 0, e))
    s = z3.SolverFor("QF_BV")
    s.set("timeout", SEM_CHECK_MS)
    s.add(e != z3.SignExt(w - m, lo))
    core = lo if s.check() == z3.unsat else None
    if len(_ext_cache) > 20000:
        _ext_cache.clear()
    _ext_cache[key] = (e, core)
    return core


def _same(x: z3.BitVecRef, y: z3.BitVecRef) -> bool:
    """x and y are the same term: structurally, after simplification, or
    proved equal by Z3 (lifters push Extract into ITE branches)."""
    if x.size() != y.size():
        return False
    if x.eq(y) or z3.simplify(x).eq(z3.simplify(y)):
        return True
    key = (x.get_id(), "=" + str(y.get_id()))
    hit = _ext_cache.get(key)
    if hit is not None and hit[0].eq(x) and hit[1][0].eq(y):
        return hit[1][1]
    s = z3.SolverFor("QF_BV")
    s.set("timeout", SEM_CHECK_MS)
    s.add(x != y)
    same = s.check() == z3.unsat
    _ext_cache[key] = (x, (y, same))
    return same


def _ule(a, b):
    w = max(a.size(), b.size())
    a = z3.ZeroExt(w - a.size(), a) if a.size() < w else a
    b = z3.ZeroExt(w - b.size(), b) if b.size() < w else b
    return z3.ULE(a, b)


def _ult(a, b):
    w = max(a.size(), b.size())
    a = z3.ZeroExt(w - a.size(), a) if a.size() < w else a
    b = z3.ZeroExt(w - b.size(), b) if b.size() < w else b
    return z3.ULT(a, b)


def _eq(a, b):
    w = max(a.size(), b.size())
    a = z3.ZeroExt(w - a.size(), a) if a.size() < w else a
    b = z3.ZeroExt(w - b.size(), b) if b.size() < w else b
    return a == b


def _widen(e, w):
    """e zero-extended to w bits (w >= e's width)."""
    return z3.ZeroExt(w - e.size(), e) if e.size() < w else e


def _uniq(xs):
    """xs without structural duplicates, in order."""
    return [u for k, u in enumerate(xs) if not any(u.eq(v) for v in xs[:k])]


def _strip_low(e):
    """(inner, k) with e == Extract(k-1, 0, inner), or (e, width)."""
    if z3.is_app_of(e, z3.Z3_OP_EXTRACT) and e.params()[1] == 0:
        return e.arg(0), e.params()[0] + 1
    return e, e.size()


class Abstraction:
    def __init__(self, signed: bool = True, unsigned_view: bool = True) -> None:
        self.signed = signed                # rewrite signed operations, corner lemmas
        self.unsigned_view = unsigned_view  # exact unsigned value of wrapping products
        self.sdivs: list[tuple] = []    # (dividend core, divisor core, quotient at the cores' width)
        self.sterms: list[tuple] = []   # (signed core a, signed core b, p) of products that may be signed
        self.memo: dict[int, z3.ExprRef] = {}
        self.udiv: list[tuple] = []
        self.urem: list[tuple] = []
        self.mul: list[tuple] = []      # (a, b, p, core_a, core_b, exact unsigned product)
        self.links: list[z3.BoolRef] = []
        self.defs: list[tuple] = []     # (fresh variable, the term it stands for)
        self.n = 0
        self._keep: list[z3.ExprRef] = []   # keeps memo keys alive
        self._ops: dict[tuple, z3.ExprRef] = {}

    def _fresh(self, w: int) -> z3.BitVecRef:
        self.n += 1
        return z3.BitVec(f"__nl{self.n}", w)

    # -- exact rewrites ------------------------------------------------------
    def mag(self, e: z3.BitVecRef) -> z3.BitVecRef:
        """|e| as an unsigned number, through sign extensions: ZeroExt(k, |core|)."""
        if z3.is_bv_value(e):
            v = e.as_long()
            return z3.BitVecVal(((1 << e.size()) - v) if v >> (e.size() - 1) else v, e.size())
        core = _sext_core(e)
        if core is not None and core.size() < e.size():
            return _widen(self.mag(core), e.size())
        return z3.If(e < 0, -e, e)

    def _udiv(self, a, b):
        """a / b (SMT-LIB, b = 0 -> ~0), narrowed and abstracted."""
        w = a.size()
        if z3.is_bv_value(b):
            return z3.UDiv(a, b)
        ca, cb = _zext_core(a), _zext_core(b)
        if ca is not None and cb is not None:
            n = max(ca.size(), cb.size())
            ca, cb = _widen(ca, n), _widen(cb, n)
            return z3.If(cb == 0, z3.BitVecVal(-1, w), _widen(self._udiv(ca, cb), w))
        return self._op("udiv", a, b)

    def _urem(self, a, b):
        w = a.size()
        if z3.is_bv_value(b):
            return z3.URem(a, b)
        ca, cb = _zext_core(a), _zext_core(b)
        if ca is not None and cb is not None:
            n = max(ca.size(), cb.size())
            return _widen(self._urem(_widen(ca, n), _widen(cb, n)), w)
        return self._op("urem", a, b)

    def _op(self, kind, a, b):
        key = (kind, a.get_id(), b.get_id())
        hit = self._ops.get(key)
        if hit is not None:
            return hit
        v = self._fresh(a.size())
        if kind == "udiv":
            self.udiv.append((a, b, v))
            self.defs.append((v, z3.UDiv(a, b)))
        else:
            self.urem.append((a, b, v))
            self.defs.append((v, z3.URem(a, b)))
        self._keep += [a, b]
        self._ops[key] = v
        return v

    def _signed(self, kind, a, b):
        """The SMT-LIB definitions of bvsdiv / bvsrem / bvsmod (a, b rewritten)."""
        na, nb = a < 0, b < 0
        ma, mb = self.mag(a), self.mag(b)
        if kind in _SDIV:
            u = self._udiv(ma, mb)
            q = z3.If(z3.Xor(na, nb), -u, u)
            ca, cb = self.score(a), self.score(b)
            if ca.size() == cb.size():
                self.sdivs.append((ca, cb, z3.Extract(ca.size() - 1, 0, q)))
            return q
        u = self._urem(ma, mb)
        if kind in _SREM:
            return z3.If(na, -u, u)
        # bvsmod: the remainder takes the divisor's sign
        return z3.If(u == 0, u, z3.If(z3.And(z3.Not(na), z3.Not(nb)), u,
                                      z3.If(z3.And(na, z3.Not(nb)), -u + b,
                                            z3.If(z3.And(z3.Not(na), nb), u + b, -u))))

    def _msub(self, c0, c1):
        """(a / b) * b, or its low halves, as a - a % b (original children).
        The second factor must be b (or its low half): structurally, after
        simplification, or proved equal by Z3."""
        for q, y in ((c0, c1), (c1, c0)):
            qi, k = _strip_low(q)
            if k != y.size() or not z3.is_app(qi) or qi.num_args() != 2 or qi.decl().kind() not in _DIVS:
                continue
            a, b = qi.children()
            lb = b if k == b.size() else z3.Extract(k - 1, 0, b)
            if not _same(y, lb):
                continue
            rem = z3.URem(a, b) if qi.decl().kind() in _UDIV else z3.SRem(a, b)
            t = a - rem
            if k < t.size():
                t = z3.Extract(k - 1, 0, t)
            return t
        return None

    # -- the rewrite ---------------------------------------------------------
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
                self._keep.append(e)
                continue
            kind = e.decl().kind()
            if not done and kind in _MUL and e.num_args() == 2 and self.signed:
                t = self._msub(*e.children())
                if t is not None:
                    self.memo[k] = self.rewrite(t)
                    self._keep.append(e)
                    continue
            if not done:
                stack.append((e, True))
                for c in e.children():
                    if c.get_id() not in self.memo:
                        stack.append((c, False))
                continue
            kids = [self.memo[c.get_id()] for c in e.children()]
            new = None
            if len(kids) == 2 and kind in _UDIV | _UREM:
                new = self._udiv(*kids) if kind in _UDIV else self._urem(*kids)
            elif len(kids) == 2 and kind in _SIGNED_ABS and self.signed:
                new = self._signed(kind, *kids)
            elif len(kids) == 2 and kind in _MUL:
                a, b = kids
                if not (z3.is_bv_value(a) or z3.is_bv_value(b)):
                    new = self._mul(a, b)
            if new is None:
                new = e.decl()(*kids) if kids else e
            self.memo[k] = new
            self._keep.append(e)
        return self.memo[root.get_id()]

    def _mul(self, a, b):
        w = a.size()
        v = self._fresh(w)
        self.defs.append((v, a * b))
        ca, cb = _zext_core(a), _zext_core(b)
        if ca is None or cb is None:
            # wrapping product: its exact double-width value E, of which v is
            # the low half
            ca, cb = a, b
            E = self._fresh(2 * w)
            self.defs.append((E, z3.ZeroExt(w, a) * z3.ZeroExt(w, b)))
            self.links.append(z3.Extract(w - 1, 0, E) == v)
            if self.signed:
                self.sterms.append((self.score(a), self.score(b), v))
        else:
            E = v
        self.mul.append((a, b, v, ca, cb, E))
        return v

    def score(self, e):
        """e without its sign extensions (the same signed value)."""
        while True:
            c = _sext_core(e)
            if c is None or c.size() >= e.size():
                return e
            e = c

    def _bilinear(self) -> list[z3.BoolRef]:
        """The interval corner lemma for the signed products of the query: for
        a product x*y and products of the same shape over l1, l2 and r1, r2
        (the corners), l1 <= x <= l2 and r1 <= y <= r2 (signed) put x*y
        between the least and the greatest corner, as integers. Stated
          * on the w-bit terms themselves when none can wrap: the corners'
            operands are bounded, |l| < 2^i, |r| < 2^(w-1-i) (i = (w-1)/2 and
            the mirror), so every product in the box fits in w signed bits;
          * on exact values when the corners are exact (operands sign-extended
            from at most half the width: 32x32 -> 64); x*y then gets its exact
            value P (fresh, P = SignExt(x) * SignExt(y)) whose low half it is."""
        ax: list[z3.BoolRef] = []
        terms = self.sterms

        def find(l, r):   # products commute: the compiler may swap operands
            return [t for t in terms if (t[0].eq(l) and t[1].eq(r)) or (t[0].eq(r) and t[1].eq(l))]

        def exact(t):
            return t[0].size() + t[1].size() <= t[2].size()

        cores = _uniq([u[0] for u in terms] + [u[1] for u in terms])
        for t in terms:
            l, r, v = t
            w = v.size()
            Ls = [u for u in cores if u.size() == l.size() and not u.eq(l) and not u.eq(r)]
            Rs = [u for u in cores if u.size() == r.size() and not u.eq(l) and not u.eq(r)]
            for l1, l2 in itertools.combinations(Ls, 2):
                for r1, r2 in itertools.combinations(Rs, 2):
                    if any(p.eq(q) for p in (l1, l2) for q in (r1, r2)):
                        continue
                    cs = [find(a, b) for a, b in ((l1, r1), (l1, r2), (l2, r1), (l2, r2))]
                    if not all(cs):
                        continue
                    # l between l1 and l2, r between r1 and r2 (either order)
                    box = [z3.Or(z3.And(l1 <= l, l <= l2), z3.And(l2 <= l, l <= l1)),
                           z3.Or(z3.And(r1 <= r, r <= r2), z3.And(r2 <= r, r <= r1))]
                    same = [c for c in cs if any(x[2].size() == w and not exact(x) for x in c)]
                    if not exact(t) and len(same) == 4:
                        cv = [next(x[2] for x in c if x[2].size() == w) for c in cs]
                        h = (w - 1) // 2
                        for i, j in {(h, w - 1 - h), (w - 1 - h, h)}:
                            if i >= l.size() or j >= r.size():
                                continue
                            # |v| < 2^k as two signed comparisons with constants
                            # (no negation circuit): -2^k < v < 2^k
                            bnd = [z3.And(e > -(1 << k), e < (1 << k))
                                   for e, k in ((l1, i), (l2, i), (r1, j), (r2, j))]
                            ax.append(z3.Implies(z3.And(*box, *bnd),
                                                 z3.And(z3.Or(*[c <= v for c in cv]),
                                                        z3.Or(*[v <= c for c in cv]))))
                    elif all(any(exact(x) for x in c) for c in cs):
                        W = l.size() + r.size()
                        cv = [z3.Extract(W - 1, 0, next(x[2] for x in c if exact(x))) for c in cs]
                        if exact(t):
                            q = z3.Extract(W - 1, 0, v)
                        else:
                            q = self._sexact(l, r, v)
                        ax.append(z3.Implies(z3.And(*box), z3.And(z3.Or(*[c <= q for c in cv]),
                                                                  z3.Or(*[q <= c for c in cv]))))
        return ax

    def _div_box(self) -> list[z3.BoolRef]:
        """The corner lemma of truncating signed division: for x in [l1, l2]
        and y in [r1, r2] with y of one sign (r1 >= 1 or r2 <= -1) and no
        INT_MIN / -1 in the box, x / y lies between the least and the greatest
        of the four corner quotients (it is monotone in x for y of one sign,
        and in y for x of one sign)."""
        ax: list[z3.BoolRef] = []
        ds = self.sdivs

        for l, r, q in ds:
            n = q.size()
            Ls = _uniq([d[0] for d in ds if d[0].size() == n and not d[0].eq(l)])
            Rs = _uniq([d[1] for d in ds if d[1].size() == n and not d[1].eq(r)])
            smin, one, m1 = z3.BitVecVal(1 << (n - 1), n), z3.BitVecVal(1, n), z3.BitVecVal(-1, n)
            for l1, l2 in itertools.combinations(Ls, 2):
                for r1, r2 in itertools.combinations(Rs, 2):
                    cs = []
                    for a, b in ((l1, r1), (l1, r2), (l2, r1), (l2, r2)):
                        c = next((d[2] for d in ds if d[0].eq(a) and d[1].eq(b)), None)
                        if c is None:
                            break
                        cs.append(c)
                    if len(cs) < 4:
                        continue
                    # l between l1 and l2, r between r1 and r2 (either order),
                    # r1, r2 of one sign, and not (l = INT_MIN, r = -1)
                    box = z3.And(z3.Or(z3.And(l1 <= l, l <= l2), z3.And(l2 <= l, l <= l1)),
                                 z3.Or(z3.And(r1 <= r, r <= r2), z3.And(r2 <= r, r <= r1)))
                    sign = z3.Or(z3.And(r1 >= one, r2 >= one),
                                 z3.And(r1 <= m1, r2 <= m1,
                                        z3.Or(z3.And(l1 != smin, l2 != smin), z3.And(r1 != m1, r2 != m1))))
                    ax.append(z3.Implies(z3.And(box, sign), z3.And(z3.Or(*[c <= q for c in cs]),
                                                                    z3.Or(*[q <= c for c in cs]))))
        return ax

    def _sexact(self, l, r, v):
        """A fresh exact signed product of l and r; v is its low part."""
        key = ("sx", l.get_id(), r.get_id(), v.size())
        q = self._ops.get(key)
        if q is None:
            W = l.size() + r.size()
            q = self._fresh(W)
            self.defs.append((q, z3.SignExt(W - l.size(), l) * z3.SignExt(W - r.size(), r)))
            self._ops[key] = q
            self._keep += [l, r]
            w = v.size()
            self.links.append(v == (z3.Extract(w - 1, 0, q) if W >= w else z3.SignExt(w - W, q)))
        return q

    # -- the axioms ----------------------------------------------------------
    def axioms(self) -> list[z3.BoolRef]:
        ax: list[z3.BoolRef] = []
        if self.sterms:
            ax += self._bilinear()
        if len(self.sdivs) > 4:
            ax += self._div_box()
        for a, b, q in self.udiv:
            w = q.size()
            ax += [z3.Implies(b == 0, q == z3.BitVecVal(-1, w)), z3.Implies(b != 0, z3.ULE(q, a)),
                   z3.Implies(b == 1, q == a), z3.Implies(z3.And(b != 0, z3.ULT(a, b)), q == 0)]
        for (a1, b1, q1), (a2, b2, q2) in itertools.permutations(self.udiv, 2):
            # as naturals, at any widths
            ax.append(z3.Implies(z3.And(b1 != 0, b2 != 0, _ule(a1, a2), _ule(b2, b1)), _ule(q1, q2)))
        # functional consistency: equal operands give equal results
        for terms in (self.udiv, self.urem, [(t[0], t[1], t[2]) for t in self.mul]):
            for (a1, b1, v1), (a2, b2, v2) in itertools.combinations(terms, 2):
                if v1.size() == v2.size() and a1.size() == a2.size() and b1.size() == b2.size():
                    ax.append(z3.Implies(z3.And(a1 == a2, b1 == b2), v1 == v2))
        for (a1, b1, q1), (a2, b2, q2) in itertools.combinations(self.udiv, 2):
            if q1.size() != q2.size():   # across widths: the same natural quotient
                ax.append(z3.Implies(z3.And(_eq(a1, a2), _eq(b1, b2), b1 != 0), _eq(q1, q2)))
        for (a1, b1, r1), (a2, b2, r2) in itertools.combinations(self.urem, 2):
            if r1.size() != r2.size():
                ax.append(z3.Implies(z3.And(_eq(a1, a2), _eq(b1, b2)), _eq(r1, r2)))
        for a, b, r in self.urem:
            ax += [z3.Implies(b == 0, r == a), z3.Implies(b != 0, z3.ULT(r, b)), z3.ULE(r, a),
                   z3.Implies(z3.ULT(a, b), r == a)]
        ax += self.links
        for a, b, p, _, _, _ in self.mul:
            ax += [z3.Implies(z3.Or(a == 0, b == 0), p == 0), z3.Implies(a == 1, p == b),
                   z3.Implies(b == 1, p == a)]
        exact = [(ca, cb, E) for a, b, p, ca, cb, E in self.mul if self.unsigned_view or E is p]
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

    def concrete(self, e: z3.ExprRef) -> z3.ExprRef:
        """`e` with every fresh variable replaced by the term it stands for
        (repeatedly: operands may contain other fresh variables)."""
        for _ in range(self.n + 1):
            new = z3.substitute(e, *self.defs) if self.defs else e
            if new.eq(e):
                return e
            e = new
        return e

    @property
    def partial(self) -> bool:
        """Whether some facts were left out (the unsigned view)."""
        return not self.unsigned_view and any(E is not p for _, _, p, _, _, E in self.mul)

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
        if k in _ALL_DETECT and e.num_args() == 2:
            a, b = e.children()
            if not (z3.is_bv_value(b) or (k in _MUL and z3.is_bv_value(a))):
                return True
        stack.extend(e.children())
    return False


# The abstractions tried in turn (checks.solve): the signed lemmas without the
# unsigned view of wrapping products (its 2w-bit monotonicity axioms slow the
# signed corner proofs down about five times), then everything.
LEVELS = ({"unsigned_view": False}, {})


def sat_solver() -> z3.Solver:
    """Bit-blasting straight to SAT (no word-level preprocessing beyond
    simplification): proves the corner lemmas' consequences several times
    faster than the QF_BV default, which times out on some."""
    return z3.Then("simplify", "propagate-values", "solve-eqs", "bit-blast", "sat").solver()


def abstract(fmls: list[z3.ExprRef], **kw) -> tuple[list[z3.ExprRef], Abstraction]:
    ab = Abstraction(**kw)
    out = [ab.rewrite(f) for f in fmls]
    return out + ab.axioms(), ab

"""Precision of the compiled tristate-number (tnum) operators.

`axiomdbg prove precision` compares, for every well-formed pair of W-bit
tnums, the result of a *compiled* ``bpf_tnum_*`` function (its semantics
extracted with angr by extract.py, one Z3 term per arch) with the most
precise tnum that contains every concrete result (computed with Z3).

What is compared, exactly (docs/proofs.md, "Precision"):

* **Inputs.** Each W-bit tnum t = (v, m) with v & m == 0 (3^W of them) is
  *embedded* into a 64-bit tnum by placing its W bits at fixed positions and
  making every other bit known 0: ``low`` = bits W-1..0 (add, sub, mul, and,
  or, xor, lshift, union, intersect), ``high64`` = bits 63..64-W (rshift,
  arshift64: so that the sign bit is one of the W bits), ``high32`` = bits
  31..32-W (arshift32); the *_union operators (bpf_tnum_shift_union, when
  tnum.c has it) like their shift. The embedding is a bit placement, so
  gamma(embed(t)) = embed(gamma_W(t)). Binary operators get every pair (9^W);
  shifts get every tnum with every shift amount of `shift_amounts(W)`;
  shift unions every tnum with every range of `shift_ranges(W)`.
* **Concrete operation.** RFC 9669 semantics of model.ALU2 on the embedded
  64-bit values (add64, sub64, ...; arsh32 for arshift32), so carries beyond
  bit W-1 (add), borrows into the high bits (sub), the double-width product
  (mul), bits shifted out... are all part of the 64-bit result. union: the set
  gamma(a) U gamma(b); intersect: gamma(a) n gamma(b) (pairs whose
  intersection is empty are counted apart: the C function's result is then
  documented as meaningless).
* **Optimal result** opt(a, b): the bitwise join of all concrete results,
  over all 64 output bits: bit i is known iff every result agrees on it.
  Computed with Z3 per input pair: one model gives a result r1, then
  "exists x in a, y in b: (op(x, y) ^ r1) & ~V != 0" is asked repeatedly,
  V accumulating the bits that were seen to differ; UNSAT means every bit
  outside V is constant (= r1's bit), so opt = (r1 & ~V, V).
* **Implementation's result** impl(a, b): the extracted term (every angr path,
  combined as if-then-else over the path conditions) evaluated on the
  embedded inputs; every input must be covered by some path.
* **Verdicts per pair**: sound iff gamma(opt) is a subset of gamma(impl)
  (equivalently: every concrete result is in impl); optimal iff sound and
  impl == opt; bits lost = popcount(impl.mask & ~opt.mask) over 64 bits.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

import claripy
import z3

from . import model
from .targets import ROOT, Target, resolve

DEFAULT_WIDTH = 4     # 9^4 = 6561 pairs; mul's extraction is ~1 min per arch at 4, ~4 min at 5
MAX_WIDTH = 6
M64 = (1 << 64) - 1
CACHE_DIR = ROOT / ".axiomdbg-cache" / "precision"
VERSION = "precision-1"   # bump when the meaning of a report changes


@dataclass(frozen=True)
class OpSpec:
    name: str
    func: str                 # the C function in kernel/bpf/tnum.c
    kind: str                 # "binary" (tnum, tnum), "shift" (tnum, unsigned[, width]),
                              # "range" (bpf_tnum_shift_union: tnum, lo, hi, kind, width)
    embed: str                # "low", "high64", "high32"
    alu: str | None = None    # model.ALU2 name of the concrete operation (None: set operation)
    width_arg: int = 0        # the `width` argument of bpf_tnum_arshift
    eager: bool = False       # extract path by path with feasibility checks (loops over the operand's bits)
    shift_kind: int = 0       # bpf_tnum_shift_union's `kind`: 0 lshift, 1 rshift, 2 arshift
    optional: bool = False    # left out (not an error) when the ELF lacks the function


OPS: dict[str, OpSpec] = {o.name: o for o in (
    OpSpec("add", "bpf_tnum_add", "binary", "low", "add64"),
    OpSpec("sub", "bpf_tnum_sub", "binary", "low", "sub64"),
    OpSpec("mul", "bpf_tnum_mul", "binary", "low", "mul64", eager=True),
    OpSpec("and", "bpf_tnum_and", "binary", "low", "and64"),
    OpSpec("or", "bpf_tnum_or", "binary", "low", "or64"),
    OpSpec("xor", "bpf_tnum_xor", "binary", "low", "xor64"),
    OpSpec("lshift", "bpf_tnum_lshift", "shift", "low", "lsh64"),
    OpSpec("rshift", "bpf_tnum_rshift", "shift", "high64", "rsh64"),
    OpSpec("arshift64", "bpf_tnum_arshift", "shift", "high64", "arsh64", width_arg=64),
    OpSpec("arshift32", "bpf_tnum_arshift", "shift", "high32", "arsh32", width_arg=32),
    OpSpec("lshift_union", "bpf_tnum_shift_union", "range", "low", "lsh64", width_arg=64, shift_kind=0,
           optional=True),
    OpSpec("rshift_union", "bpf_tnum_shift_union", "range", "high64", "rsh64", width_arg=64, shift_kind=1,
           optional=True),
    OpSpec("arshift64_union", "bpf_tnum_shift_union", "range", "high64", "arsh64", width_arg=64, shift_kind=2,
           optional=True),
    OpSpec("arshift32_union", "bpf_tnum_shift_union", "range", "high32", "arsh32", width_arg=32, shift_kind=2,
           optional=True),
    OpSpec("union", "bpf_tnum_union", "binary", "low"),
    OpSpec("intersect", "bpf_tnum_intersect", "binary", "low"),
)}


class PrecisionError(RuntimeError):
    pass


def shift_amounts(width: int, spec: OpSpec) -> list[int]:
    """0..W+1 (every amount that moves the W bits partly or wholly out of
    place) and the largest amount (63, 31 for arshift32)."""
    top = 31 if spec.width_arg == 32 else 63
    return sorted(set(range(0, width + 2)) | {top})


def shift_ranges(width: int, spec: OpSpec) -> list[tuple[int, int]]:
    """Every (lo, hi), lo <= hi, of shift_amounts(W) (bpf_tnum_shift_union)."""
    ks = shift_amounts(width, spec)
    return [(lo, hi) for lo in ks for hi in ks if lo <= hi]


def tnums(width: int):
    """Every well-formed W-bit tnum (value, mask), 3^W of them."""
    for trits in itertools.product((0, 1, 2), repeat=width):
        v = sum(1 << i for i, t in enumerate(trits) if t == 1)
        m = sum(1 << i for i, t in enumerate(trits) if t == 2)
        yield v, m


def embed_int(v: int, width: int, how: str) -> int:
    if how == "low":
        return v
    if how == "high64":
        return v << (64 - width)
    if how == "high32":
        return v << (32 - width)
    raise ValueError(how)


def _embed_z3(xw, width: int, how: str):
    if how == "low":
        return z3.ZeroExt(64 - width, xw)
    if how == "high64":
        return xw if width == 64 else z3.Concat(xw, z3.BitVecVal(0, 64 - width))
    if how == "high32":
        return z3.ZeroExt(32, xw if width == 32 else z3.Concat(xw, z3.BitVecVal(0, 32 - width)))
    raise ValueError(how)


def trits(v: int, m: int, nbits: int) -> str:
    """MSB-first rendering: 0, 1 or x per bit."""
    return "".join("x" if m >> i & 1 else "1" if v >> i & 1 else "0" for i in reversed(range(nbits)))


def trits64(v: int, m: int) -> str:
    """A 64-bit tnum in trits, its leading run of equal trits compressed
    ("x*59 01x1x")."""
    s = trits(v, m, 64)
    run = len(s) - len(s.lstrip(s[0]))
    if run == 64:
        return f"{s[0]}*64"
    if run > 8:
        return f"{s[0]}*{run} {s[run:]}"
    return s


# ---------------------------------------------------------------------------
# the implementation's semantics, extracted from the ELF

@dataclass
class Impl:
    """impl(a, b) as Z3 terms over the z3 constants a.t.value, a.t.mask,
    b.t.value, b.t.mask (for shifts: b.t.value = shift, b.t.mask = width)."""
    value: z3.BitVecRef
    mask: z3.BitVecRef
    cover: z3.BoolRef        # some extracted path applies
    paths: int
    seconds: float


def _width_pre(width: int, spec: OpSpec):
    """The extraction's precondition: the inputs are embedded W-bit tnums
    (only needed for operators whose paths depend on the operand bits)."""
    def pre(inputs):
        cs = []
        names = ("a", "b") if spec.kind == "binary" else ("a",)
        for k in names:
            vm = inputs[k]["t.value"] | inputs[k]["t.mask"]
            if spec.embed == "low":
                cs.append(vm >> width == 0)
            elif spec.embed == "high64":
                cs.append(vm & claripy.BVV((1 << (64 - width)) - 1, 64) == 0)
            else:
                cs.append(vm & claripy.BVV(M64 ^ (((1 << width) - 1) << (32 - width)), 64) == 0)
        if spec.kind == "shift":
            cs.append(inputs["b"]["t.mask"] == spec.width_arg)
        return claripy.And(*cs)
    return pre


def extract_impl(elf: str, spec: OpSpec, width: int) -> Impl:
    """The compiled function's result as one Z3 term per output field.

    Extracted with extract.extract(kind="tnum2"): the four argument registers
    carry a.value, a.mask, b.value, b.mask -- for bpf_tnum_{l,r,ar}shift the
    third and fourth registers are the `shift` and `width` arguments, so
    b.t.value is the shift amount and b.t.mask the width."""
    from .extract import extract

    t0 = time.monotonic()
    pre = _width_pre(width, spec)
    if spec.kind == "range":
        ex = extract(elf, spec.func, "shiftu", shift=(spec.shift_kind, spec.width_arg), pre=pre)
    elif spec.eager:
        ex = extract(elf, spec.func, "tnum2", pre=pre, merge=False, lazy=False, max_active=4 * 3 ** width + 64,
                     max_steps=400 * 3 ** width + 2000, time_budget=1800.0)
    else:
        ex = extract(elf, spec.func, "tnum2", pre=pre)
    to_z3 = claripy.backends.z3.convert
    conds = [to_z3(p.cond) for p in ex.paths]
    vals = [to_z3(p.outs["out"]["t.value"]) for p in ex.paths]
    masks = [to_z3(p.outs["out"]["t.mask"]) for p in ex.paths]
    v, m = vals[-1], masks[-1]
    for c, pv, pm in zip(reversed(conds[:-1]), reversed(vals[:-1]), reversed(masks[:-1])):
        v, m = z3.If(c, pv, v), z3.If(c, pm, m)
    return Impl(v, m, z3.Or(*conds) if len(conds) > 1 else conds[0], len(ex.paths),
                time.monotonic() - t0)


def synthetic_impl(fn: Callable) -> Impl:
    """An Impl from a Python function of z3 terms (av, am, bv, bm) -> (v, m):
    a stand-in for a compiled function, used to test the comparison itself."""
    av, am, bv, bm = (z3.BitVec(n, 64) for n in ("a.t.value", "a.t.mask", "b.t.value", "b.t.mask"))
    v, m = fn(av, am, bv, bm)
    return Impl(v, m, z3.BoolVal(True), 1, 0.0)


# ---------------------------------------------------------------------------
# optimal results with Z3

AV, AM, BV_, BM = (z3.BitVec(n, 64) for n in ("a.t.value", "a.t.mask", "b.t.value", "b.t.mask"))
LO, HI = z3.BitVec("amount.lo", 32), z3.BitVec("amount.hi", 32)
# extract.py's "shiftu": the unspecified upper halves of the 32-bit argument
# registers (x86_64, aarch64) are fixed to 0 here
UPPER = [z3.BitVec(f"{n}.upper", 32) for n in ("lo", "hi", "kind", "width")]


class Oracle:
    """opt(a, b) -- and, given an Impl, impl(a, b) -- for one operator at one
    width, from one Z3 solver.

    The members x, y are W-bit variables; R = op(embed(x), embed(y)) is
    defined once. Each input pair is a push/pop frame with gamma's
    constraints (x & ~a.mask) == a.value for the constants of the pair and
    IV, IM = the extracted term applied to the embedded constants, so the
    first model gives both a concrete result r1 and impl(a, b).
    (Measured alternative: the input tnums as symbolic parameters fixed by
    assumptions, so that Z3 bit-blasts everything once: about 30x slower per
    query, Z3 then leaves its bit-vector preprocessing out.)"""

    def __init__(self, spec: OpSpec, width: int, impl: Impl | None = None):
        self.spec, self.width, self.impl = spec, width, impl
        w = width
        self.xw, self.yw = z3.BitVec("xw", w), z3.BitVec("yw", w)
        self.k = z3.BitVec("shift", 64)
        pick = z3.Bool("pick_a")
        x = _embed_z3(self.xw, w, spec.embed)
        y = self.k if spec.kind in ("shift", "range") else _embed_z3(self.yw, w, spec.embed)
        if spec.alu is not None:
            r = claripy.backends.z3.convert(model.ALU2[spec.alu](claripy.BVS("x", 64, explicit_name=True),
                                                                 claripy.BVS("y", 64, explicit_name=True)))
            r = z3.substitute(r, (z3.BitVec("x", 64), x), (z3.BitVec("y", 64), y))
        elif spec.name == "union":
            r = z3.If(pick, x, y)                # a member of a, or a member of b
        elif spec.name == "intersect":
            r = x                                # ... constrained below to be a member of b too
        else:
            raise PrecisionError(f"no concrete semantics for {spec.name}")
        self.R = z3.BitVec("R", 64)
        self.IV, self.IM, self.COV = z3.BitVec("IV", 64), z3.BitVec("IM", 64), z3.Bool("covered")
        self.solver = z3.Solver()
        self.solver.add(self.R == r)
        if spec.name == "intersect":
            self.solver.add(x == y)
        self._mem: dict[tuple, z3.BoolRef] = {}
        self._val: dict[int, z3.BitVecRef] = {}
        self.queries = 0

    def _member(self, var, t: tuple[int, int]):
        key = (str(var), t)
        e = self._mem.get(key)
        if e is None:
            w = self.width
            e = self._mem[key] = (var & z3.BitVecVal(~t[1] & ((1 << w) - 1), w)) == t[0]
        return e

    def _bvv(self, v: int):
        e = self._val.get(v)
        if e is None:
            e = self._val[v] = z3.BitVecVal(v, 64)
        return e

    def _check(self, *assumptions):
        self.queries += 1
        r = self.solver.check(*assumptions)
        if r == z3.unknown:
            raise PrecisionError(f"Z3 returned unknown for {self.spec.name}: {self.solver.reason_unknown()}")
        return r

    def evaluate(self, a: tuple[int, int], b: tuple[int, int]):
        """(impl, opt) on one input: impl = (value, mask), None without an
        Impl or when op(gamma(a), gamma(b)) is empty (then opt is None too).
        `b` is (shift, 0) for shifts; a, b are W-bit (not embedded)."""
        spec, w, s = self.spec, self.width, self.solver
        s.push()
        try:
            s.add(self._member(self.xw, a))
            if spec.kind == "shift":
                s.add(self.k == b[0])
            elif spec.kind == "range":
                s.add(z3.ULE(b[0], self.k), z3.ULE(self.k, b[1]))
            else:
                s.add(self._member(self.yw, b))
            if self.impl is not None:
                ea = (embed_int(a[0], w, spec.embed), embed_int(a[1], w, spec.embed))
                sub = [(AV, self._bvv(ea[0])), (AM, self._bvv(ea[1]))]
                if spec.kind == "range":
                    sub += [(LO, z3.BitVecVal(b[0], 32)), (HI, z3.BitVecVal(b[1], 32))]
                    sub += [(u, z3.BitVecVal(0, 32)) for u in UPPER]
                else:
                    eb = (b[0], spec.width_arg) if spec.kind == "shift" else \
                        (embed_int(b[0], w, spec.embed), embed_int(b[1], w, spec.embed))
                    sub += [(BV_, self._bvv(eb[0])), (BM, self._bvv(eb[1]))]
                s.add(self.IV == z3.substitute(self.impl.value, *sub),
                      self.IM == z3.substitute(self.impl.mask, *sub),
                      self.COV == z3.substitute(self.impl.cover, *sub))
            if self._check() == z3.unsat:
                return None, None     # no member (intersect of disjoint tnums): nothing to compare
            m = s.model()
            r1 = m.eval(self.R, model_completion=True).as_long()
            impl = None
            if self.impl is not None:
                if not z3.is_true(m.eval(self.COV, model_completion=True)):
                    raise PrecisionError(f"{spec.func}: no extracted path covers a={a} b={b}")
                impl = (m.eval(self.IV, model_completion=True).as_long(),
                        m.eval(self.IM, model_completion=True).as_long())
            varying = 0
            while True:
                if self._check((self.R ^ r1) & (~varying & M64) != 0) == z3.unsat:
                    return impl, (r1 & ~varying & M64, varying)
                varying |= s.model().eval(self.R, model_completion=True).as_long() ^ r1
        finally:
            s.pop()

    def optimal(self, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int] | None:
        return self.evaluate(a, b)[1]


# ---------------------------------------------------------------------------
# comparison

def _inputs(spec: OpSpec, width: int):
    if spec.kind == "shift":
        for a in tnums(width):
            for k in shift_amounts(width, spec):
                yield a, (k, 0)
    elif spec.kind == "range":
        for a in tnums(width):
            for lo_hi in shift_ranges(width, spec):
                yield a, lo_hi
    else:
        for a in tnums(width):
            for b in tnums(width):
                yield a, b


def contains(outer: tuple[int, int], inner: tuple[int, int]) -> bool:
    """gamma(inner) is a subset of gamma(outer) (inner well formed, non-empty)."""
    ov, om = outer
    iv, im = inner
    return (im & ~om) == 0 and (iv & ~om & M64) == ov


@dataclass
class Report:
    arch: str
    profile: str
    op: str
    func: str
    width: int
    embed: str
    target: str = ""
    examined: int = 0
    empty: int = 0                 # intersect: pairs with no common member (not compared)
    optimal: int = 0
    imprecise: int = 0
    unsound: int = 0
    bits_lost: int = 0
    max_bits_lost: int = 0
    examples: list[dict] = field(default_factory=list)
    unsound_examples: list[dict] = field(default_factory=list)
    paths: int = 0
    extract_seconds: float = 0.0
    seconds: float = 0.0
    z3_queries: int = 0
    cached: bool = False
    error: str = ""
    shifts: list[int] | None = None

    @property
    def share_optimal(self) -> float:
        n = self.examined - self.empty
        return self.optimal / n if n else 1.0

    def to_json(self) -> dict:
        d = asdict(self)
        d["share_optimal"] = round(self.share_optimal, 6)
        d["status"] = status(self)
        return d


def status(r: Report) -> str:
    if r.error:
        return "ERROR"
    if r.unsound:
        return "UNSOUND"
    return "OPTIMAL" if r.imprecise == 0 else "IMPRECISE"


def _example(spec: OpSpec, width: int, a, b, impl, opt) -> dict:
    d = {"a": {"value": hex(a[0]), "mask": hex(a[1]), "trits": trits(a[0], a[1], width)}}
    if spec.kind == "shift":
        d["shift"] = b[0]
    elif spec.kind == "range":
        d["shifts"] = [b[0], b[1]]
    else:
        d["b"] = {"value": hex(b[0]), "mask": hex(b[1]), "trits": trits(b[0], b[1], width)}
    d["impl"] = {"value": hex(impl[0]), "mask": hex(impl[1]), "trits": trits64(*impl)}
    d["optimal"] = {"value": hex(opt[0]), "mask": hex(opt[1]), "trits": trits64(*opt)}
    d["bits_lost"] = bin(impl[1] & ~opt[1]).count("1")
    return d


def compare(spec: OpSpec, impl: Impl, width: int, report: Report, n_examples: int = 3,
            on_progress: Callable[[int, int], None] | None = None) -> Report:
    """Fill `report` with the comparison of impl against the optimal result on
    every input of `_inputs(spec, width)`."""
    oracle = Oracle(spec, width, impl)
    t0 = time.monotonic()
    inputs = list(_inputs(spec, width))
    total = len(inputs)
    worst: list[tuple[int, int, dict]] = []
    for i, (a, b) in enumerate(inputs):
        got, opt = oracle.evaluate(a, b)
        report.examined += 1
        if on_progress and (i % 256 == 0 or i == total - 1):
            on_progress(i + 1, total)
        if opt is None:
            report.empty += 1
            continue
        if not contains(got, opt):
            report.unsound += 1
            if len(report.unsound_examples) < n_examples:
                report.unsound_examples.append(_example(spec, width, a, b, got, opt))
            continue
        lost = bin(got[1] & ~opt[1]).count("1")
        if lost == 0:
            report.optimal += 1
            continue
        report.imprecise += 1
        report.bits_lost += lost
        report.max_bits_lost = max(report.max_bits_lost, lost)
        # keep the examples losing the most bits (first found on ties)
        worst.append((-lost, i, _example(spec, width, a, b, got, opt)))
        worst.sort(key=lambda t: (t[0], t[1]))
        del worst[n_examples:]
    report.examples = [e for _, _, e in worst]
    report.z3_queries = oracle.queries
    report.seconds += time.monotonic() - t0
    if spec.kind in ("shift", "range"):
        report.shifts = shift_amounts(width, spec)
    return report


# ---------------------------------------------------------------------------
# driver

def _cache_key(tgt: Target, spec: OpSpec, width: int) -> str:
    from .extract import code_digest

    h = hashlib.sha256(f"{VERSION}|{spec.name}|{width}|{tgt.arch}".encode())
    h.update(code_digest(str(tgt.elf), spec.func).encode())
    return h.hexdigest()[:32]


def has_function(elf: str, func: str) -> bool:
    from .extract import project

    return project(elf).loader.find_symbol(func) is not None


def run_one(tgt: Target, op: str, width: int = DEFAULT_WIDTH, use_cache: bool = True,
            on_progress: Callable[[int, int], None] | None = None) -> Report:
    spec = OPS[op]
    rep = Report(tgt.arch, tgt.profile, op, spec.func, width, spec.embed, tgt.label)
    elf = str(tgt.elf)
    if not has_function(elf, spec.func):
        rep.error = f"{spec.func} not found in {elf}"
        return rep
    key = _cache_key(tgt, spec, width) if use_cache else None
    if key:
        f = CACHE_DIR / f"{key}.json"
        if f.exists():
            try:
                d = json.loads(f.read_text())
                d.pop("share_optimal", None)
                d.pop("status", None)
                d.update(arch=tgt.arch, profile=tgt.profile, target=tgt.label, cached=True)
                return Report(**d)
            except (OSError, ValueError, TypeError):
                pass
    from .extract import ExtractError

    try:
        impl = extract_impl(elf, spec, width)
    except ExtractError as e:
        rep.error = f"extraction: {e}"
        return rep
    rep.paths, rep.extract_seconds = impl.paths, round(impl.seconds, 3)
    rep.seconds = impl.seconds
    try:
        compare(spec, impl, width, rep, on_progress=on_progress)
    except PrecisionError as e:
        rep.error = str(e)
        return rep
    rep.seconds = round(rep.seconds, 3)
    if key:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = CACHE_DIR / f".{key}.tmp"
        tmp.write_text(json.dumps({k: v for k, v in asdict(rep).items()}))
        tmp.replace(CACHE_DIR / f"{key}.json")
    return rep


def run(arches: list[str], ops: list[str] | None = None, width: int = DEFAULT_WIDTH, profile: str = "embedded",
        use_cache: bool = True, overrides: dict[str, str] | None = None,
        on_start: Callable[[str, str], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None) -> list[Report]:
    """Reports for every (arch, op); `overrides` patches kernel/bpf sources
    (a standalone build, as targets.build_standalone)."""
    if not 1 <= width <= MAX_WIDTH:
        raise PrecisionError(f"width must be between 1 and {MAX_WIDTH}, not {width}")
    explicit = ops
    ops = list(ops or OPS)
    for o in ops:
        if o not in OPS:
            raise PrecisionError(f"unknown operator {o!r}; known: {', '.join(OPS)}")
    explicit = bool(explicit)
    out = []
    for arch in arches:
        tgt = resolve(arch, profile, overrides)
        for op in ops:
            if not explicit and OPS[op].optional and not has_function(str(tgt.elf), OPS[op].func):
                continue
            if on_start:
                on_start(arch, op)
            out.append(run_one(tgt, op, width, use_cache, on_progress))
    return out


# ---------------------------------------------------------------------------
# command line: `axiomdbg prove precision` (registered on the prove app by cli.py)

def _text(reports: list[Report], console) -> None:
    from rich.table import Table

    arches = []
    for r in reports:
        if r.arch not in arches:
            arches.append(r.arch)
    ops = []
    for r in reports:
        if r.op not in ops:
            ops.append(r.op)
    w = reports[0].width
    t = Table(title=f"tnum precision at width {w} (compiled bpf_tnum_* vs the best tnum, Z3)")
    t.add_column("operator")
    t.add_column("inputs", justify="right")
    for a in arches:
        t.add_column(a, justify="left")
    style = {"OPTIMAL": "green", "IMPRECISE": "yellow", "UNSOUND": "bold red", "ERROR": "red"}
    for op in ops:
        rs = {r.arch: r for r in reports if r.op == op}
        first = next(iter(rs.values()))
        n = f"{first.examined}" + (f" ({first.empty} empty)" if first.empty else "")
        cells = []
        for a in arches:
            r = rs.get(a)
            if r is None:
                cells.append("")
                continue
            st = status(r)
            c = f"[{style[st]}]{st}[/]"
            if st == "IMPRECISE":
                c += f" {100 * r.share_optimal:.1f}% optimal, {r.bits_lost} bits lost (max {r.max_bits_lost})"
            elif st == "UNSOUND":
                c += f" on {r.unsound} inputs"
            elif st == "ERROR":
                c += " " + r.error[:60]
            c += " ⟲" if r.cached else f" {r.seconds:.0f}s"
            cells.append(c)
        t.add_row(op, n, *cells)
    console.print(t)
    for r in reports:
        st = status(r)
        if st == "ERROR":
            console.print(f"[red]ERROR[/] {r.op} {r.arch}: {r.error}")
        for kind, exs in (("UNSOUND", r.unsound_examples), ("imprecise", r.examples)):
            if not exs:
                continue
            head = "[bold red]SOUNDNESS BUG[/]" if kind == "UNSOUND" else "[yellow]imprecise[/]"
            console.print(f"{head} {r.func} ({r.op}) on {r.arch}, e.g.:")
            for e in exs:
                b = f"shift {e['shift']}" if "shift" in e else \
                    f"shifts {e['shifts'][0]}..{e['shifts'][1]}" if "shifts" in e else f"b={e['b']['trits']}"
                console.print(f"    a={e['a']['trits']} {b}: impl {e['impl']['trits']} "
                              f"optimal {e['optimal']['trits']} ({e['bits_lost']} bits lost)"
                              if kind != "UNSOUND" else
                              f"    a={e['a']['trits']} {b}: impl {e['impl']['trits']} misses results of "
                              f"optimal {e['optimal']['trits']}")
    console.print(f"[dim]inputs: every well-formed {w}-bit tnum (pair), embedded in 64 bits "
                  f"(low bits; rshift, arshift64 and their unions: bits 63..{64 - w}; arshift32 and its "
                  f"union: bits 31..{32 - w}); shift amounts {{0..{w + 1}, 63 (31)}}; "
                  "outputs compared on all 64 bits. Targets: " + "; ".join(sorted({r.target for r in reports})) + "[/]")


def register(app) -> None:
    import typer

    from .targets import ARCHES, PROFILES, BuildError

    @app.command("precision")
    def precision(
        arch: str = typer.Option("all", "--arch", help="x86_64, aarch64, riscv64 or all (comma-separated ok)"),
        profile: str = typer.Option("embedded", "--profile", help="embedded or cloud"),
        op: Optional[list[str]] = typer.Option(None, "--op", help=f"operator(s): {', '.join(OPS)}"),
        width: int = typer.Option(DEFAULT_WIDTH, "--width", "-w",
                                  help=f"operand width in bits, 1..{MAX_WIDTH} (9^W pairs per binary operator)"),
        fmt: str = typer.Option("text", "--format", help="text or json"),
        no_cache: bool = typer.Option(False, "--no-cache", help="ignore .axiomdbg-cache/precision"),
    ) -> None:
        """Compare the compiled tnum operators with the most precise result (Z3, small width)."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        if fmt not in ("text", "json"):
            raise typer.BadParameter(f"unknown format {fmt!r} (text or json)", param_hint="--format")
        arches = list(ARCHES) if arch == "all" else [a.strip() for a in arch.split(",") if a.strip()]
        for a in arches:
            if a not in ARCHES:
                raise typer.BadParameter(f"unknown arch {a!r} (choose from {', '.join(ARCHES)} or all)",
                                         param_hint="--arch")
        if profile not in PROFILES:
            raise typer.BadParameter(f"unknown profile {profile!r} ({', '.join(PROFILES)})", param_hint="--profile")
        for o in op or []:
            if o not in OPS:
                raise typer.BadParameter(f"unknown operator {o!r}; known: {', '.join(OPS)}", param_hint="--op")
        if not 1 <= width <= MAX_WIDTH:
            raise typer.BadParameter(f"must be between 1 and {MAX_WIDTH}", param_hint="--width")
        console = Console(stderr=fmt != "text")
        try:
            with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                          MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True) as prog:
                task = prog.add_task("extracting", total=None)

                def start(a, o):
                    prog.update(task, description=f"{o} {a}", completed=0, total=None)

                def progress(i, n):
                    prog.update(task, completed=i, total=n)
                reports = run(arches, op, width, profile, use_cache=not no_cache, on_start=start,
                              on_progress=progress)
        except (BuildError, PrecisionError) as e:
            console.print(f"[red]error:[/] {str(e).splitlines()[0]}")
            raise typer.Exit(2)
        if fmt == "json":
            print(json.dumps([r.to_json() for r in reports], indent=2))
        else:
            _text(reports, console)
        bad = [r for r in reports if status(r) in ("UNSOUND", "ERROR")]
        raise typer.Exit(1 if bad else 0)

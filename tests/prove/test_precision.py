"""`axiomdbg prove precision`: the compiled tnum operators against the best tnum.

Oracles: a brute-force Python enumeration of every concrete result (written
here, independent of symbolic/model.py and of Z3), the published facts about
Linux's tnum algorithms (Vishwanathan et al., CGO 2022: add/sub/and/or/xor are
optimal, mul is not), a Python transcription of the paper's tnum_mul, and
deliberately imprecise / unsound variants (a patched and rebuilt tnum.c, and
synthetic Z3 terms).
"""

from __future__ import annotations

import itertools
import json
import random

import pytest

from axiomdbg.prove import precision as P
from axiomdbg.prove.targets import BPF_DIR, resolve

M = (1 << 64) - 1
M32 = (1 << 32) - 1


# ---------------------------------------------------------------------------
# independent oracle: enumerate every member, join every result

def _s64(v):
    return v - (1 << 64) if v >> 63 else v


def _s32(v):
    v &= M32
    return v - (1 << 32) if v >> 31 else v


CONCRETE = {
    "add": lambda x, y: (x + y) & M,
    "sub": lambda x, y: (x - y) & M,
    "mul": lambda x, y: (x * y) & M,
    "and": lambda x, y: x & y,
    "or": lambda x, y: x | y,
    "xor": lambda x, y: x ^ y,
    "lshift": lambda x, k: (x << k) & M,
    "rshift": lambda x, k: x >> k,
    "arshift64": lambda x, k: (_s64(x) >> k) & M,
    "arshift32": lambda x, k: (_s32(x) >> k) & M32,
}
PLACE = {"low": lambda v, w: v, "high64": lambda v, w: v << (64 - w), "high32": lambda v, w: v << (32 - w)}


def members(t, w, embed):
    v, m = t
    bits = [i for i in range(w) if m >> i & 1]
    for k in range(1 << len(bits)):
        x = v | sum(1 << b for j, b in enumerate(bits) if k >> j & 1)
        yield PLACE[embed](x, w)


def join(results):
    results = list(results)
    if not results:
        return None
    all1, any1 = M, 0
    for r in results:
        all1 &= r
        any1 |= r
    return all1, all1 ^ any1


def brute_optimal(op, a, b, w):
    spec = P.OPS[op]
    xs = list(members(a, w, spec.embed))
    if spec.kind == "shift":
        return join(CONCRETE[op](x, b[0]) for x in xs)
    if spec.kind == "range":      # bpf_tnum_shift_union: every amount in [lo, hi]
        base = op[:-len("_union")]
        return join(CONCRETE[base](x, k) for x in xs for k in range(b[0], b[1] + 1))
    ys = list(members(b, w, spec.embed))
    if op == "union":
        return join(xs + ys)
    if op == "intersect":
        return join(set(xs) & set(ys))
    return join(CONCRETE[op](x, y) for x in xs for y in ys)


def all_tnums(w):
    for trits in itertools.product((0, 1, 2), repeat=w):
        yield (sum(1 << i for i, t in enumerate(trits) if t == 1), sum(1 << i for i, t in enumerate(trits) if t == 2))


def test_tnum_enumeration_is_all_well_formed_tnums():
    ts = list(P.tnums(3))
    assert len(ts) == len(set(ts)) == 27
    assert all(v & m == 0 and (v | m) < 8 for v, m in ts)


@pytest.mark.parametrize("op", list(P.OPS))
def test_z3_optimal_equals_brute_force(op):
    """Every pair at W=2, a seeded sample at W=3."""
    spec = P.OPS[op]
    for w, sample in ((2, None), (3, 40)):
        orc = P.Oracle(spec, w)
        inputs = list(P._inputs(spec, w))
        if sample:
            inputs = random.Random(op).sample(inputs, min(sample, len(inputs)))
        for a, b in inputs:
            assert orc.optimal(a, b) == brute_optimal(op, a, b, w), (op, w, a, b)


# ---------------------------------------------------------------------------
# the compiled functions

def _paper_tnum_mul(a, b):
    """Vishwanathan et al. (CGO 2022), our_mul / Linux tnum_mul, transcribed
    from the paper to count the published algorithm's imprecision."""
    def add(p, q):
        sm, sv = (p[1] + q[1]) & M, (p[0] + q[0]) & M
        mu = (((sm + sv) & M) ^ sv) | p[1] | q[1]
        return sv & ~mu & M, mu
    (av, am), (bv, bm) = a, b
    acc_v, acc_m = (av * bv) & M, (0, 0)
    while av or am:
        if av & 1:
            acc_m = add(acc_m, (0, bm))
        elif am & 1:
            acc_m = add(acc_m, (0, bv | bm))
        av, am, bv, bm = av >> 1, am >> 1, (bv << 1) & M, (bm << 1) & M
    return add((acc_v, 0), acc_m)


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "CACHE_DIR", tmp_path / "precision")
    return tmp_path / "precision"


def _check_examples(rep: P.Report):
    """Every example's optimal result is the brute-force one and the
    implementation's result strictly contains it."""
    for e in rep.examples:
        a = (int(e["a"]["value"], 16), int(e["a"]["mask"], 16))
        b = (e["shift"], 0) if "shift" in e else tuple(e["shifts"]) if "shifts" in e else \
            (int(e["b"]["value"], 16), int(e["b"]["mask"], 16))
        opt = brute_optimal(rep.op, a, b, rep.width)
        assert (int(e["optimal"]["value"], 16), int(e["optimal"]["mask"], 16)) == opt
        got = (int(e["impl"]["value"], 16), int(e["impl"]["mask"], 16))
        assert P.contains(got, opt) and got != opt
        assert e["bits_lost"] == bin(got[1] & ~opt[1]).count("1") > 0


ARCH_PARAMS = [pytest.param("x86_64"), pytest.param("aarch64", marks=pytest.mark.slow),
               pytest.param("riscv64", marks=pytest.mark.slow)]


@pytest.mark.parametrize("arch", ARCH_PARAMS)
def test_literature_facts_hold_for_compiled_functions(arch, cache):
    """add/sub/and/or/xor optimal; mul sound but imprecise, on exactly the
    inputs where the paper's algorithm is (W = 3: every one of the 729 pairs)."""
    w = 3
    reps = {r.op: r for r in P.run([arch], ["add", "sub", "and", "or", "xor", "mul"], w)}
    for op, r in reps.items():
        assert not r.error, (op, r.error)
        assert r.unsound == 0 and r.examined == 729, (op, r.unsound_examples)
        if op != "mul":
            assert P.status(r) == "OPTIMAL", (op, r.examples)
    mul = reps["mul"]
    assert P.status(mul) == "IMPRECISE"
    lost = []
    for a in all_tnums(w):
        for b in all_tnums(w):
            got = _paper_tnum_mul(a, b)
            opt = brute_optimal("mul", a, b, w)
            lost.append(bin(got[1] & ~opt[1]).count("1"))
    assert mul.imprecise == sum(1 for n in lost if n) and mul.bits_lost == sum(lost)
    assert mul.max_bits_lost == max(lost)
    assert mul.optimal + mul.imprecise == 729
    _check_examples(mul)


@pytest.mark.parametrize("arch", ARCH_PARAMS)
def test_other_tnum_operators_optimal(arch, cache):
    """Shifts (fixed amount and, when tnum.c has it, the union over a range),
    union and intersect: optimal at W = 2, with the exact input counts."""
    w = 2
    elf = str(resolve(arch, "embedded").elf)
    ops = [o for o, spec in P.OPS.items() if o not in ("add", "sub", "and", "or", "xor", "mul")
           and (not spec.optional or P.has_function(elf, spec.func))]
    reps = {r.op: r for r in P.run([arch], ops, w)}
    assert {"lshift", "rshift", "arshift64", "arshift32", "union", "intersect"} <= set(reps)
    for op, r in reps.items():
        spec = P.OPS[op]
        assert not r.error, (op, r.error)
        assert P.status(r) == "OPTIMAL", (op, r.unsound_examples, r.examples)
        assert r.examined == (9 * len(P.shift_amounts(w, spec)) if spec.kind == "shift" else
                              9 * len(P.shift_ranges(w, spec)) if spec.kind == "range" else 81)
    assert reps["intersect"].empty == sum(1 for a in all_tnums(w) for b in all_tnums(w)
                                          if (a[0] ^ b[0]) & ~(a[1] | b[1]))


def test_patched_imprecise_source_is_reported(cache):
    """bpf_tnum_or without `& ~v`: a bit known 1 in one operand but unknown in
    the other becomes unknown -- sound, but imprecise, e.g. a=1, b=x."""
    src = (BPF_DIR / "tnum.c").read_text()
    old = "return TNUM(v, mu & ~v);"
    assert old in src, "bpf_tnum_or changed: update this test"
    patched = src.replace(old, "return TNUM(v & ~mu, mu);", 1)
    reps = P.run(["x86_64"], ["or", "and"], 2, overrides={"tnum.c": patched})
    r = {x.op: x for x in reps}
    assert "patched" in r["or"].target
    assert P.status(r["and"]) == "OPTIMAL"
    assert P.status(r["or"]) == "IMPRECISE" and r["or"].unsound == 0
    # brute force over the same patched formula: the pairs where a known 1 meets an unknown bit
    expect = 0
    for a in all_tnums(2):
        for b in all_tnums(2):
            if (a[0] & b[1]) | (b[0] & a[1]):
                expect += 1
    assert r["or"].imprecise == expect
    _check_examples(r["or"])
    e = r["or"].examples[0]
    a, b = int(e["a"]["value"], 16), int(e["b"]["value"], 16)
    am, bm = int(e["a"]["mask"], 16), int(e["b"]["mask"], 16)
    assert (a & bm) | (b & am), e   # the example is one of those pairs


def test_synthetic_imprecise_and_unsound_terms():
    """The comparison itself, on Z3 terms standing in for a compiled function."""
    w = 3
    spec = P.OPS["add"]

    def add_widened(av, am, bv, bm):     # sound: every carry bit one position further unknown
        sm, sv = am + bm, av + bv
        mu = ((sm + sv) ^ sv) | am | bm
        mu = mu | (mu << 1)
        return sv & ~mu, mu
    rep = P.compare(spec, P.synthetic_impl(add_widened), w, P.Report("synthetic", "-", "add", "add_widened", w, "low"))
    assert rep.unsound == 0 and rep.imprecise > 0
    # exact count by brute force of the synthetic formula
    n = 0
    for a in all_tnums(w):
        for b in all_tnums(w):
            sm, sv = a[1] + b[1], a[0] + b[0]
            mu = ((sm + sv) ^ sv) | a[1] | b[1]
            mu |= mu << 1
            if mu & M != brute_optimal("add", a, b, w)[1]:
                n += 1
    assert rep.imprecise == n
    _check_examples(rep)
    # the first example has the most bits lost: nothing loses more
    assert rep.examples[0]["bits_lost"] == rep.max_bits_lost

    def xor_unsound(av, am, bv, bm):     # forgets b's unknown bits
        return (av ^ bv) & ~am, am
    rep = P.compare(P.OPS["xor"], P.synthetic_impl(xor_unsound), w,
                    P.Report("synthetic", "-", "xor", "xor_unsound", w, "low"))
    assert P.status(rep) == "UNSOUND"
    assert rep.unsound == sum(1 for a in all_tnums(w) for b in all_tnums(w) if b[1] & ~a[1])
    e = rep.unsound_examples[0]
    b_mask, a_mask = int(e["b"]["mask"], 16), int(e["a"]["mask"], 16)
    assert b_mask & ~a_mask
    # some concrete result lies outside the reported tnum
    a = (int(e["a"]["value"], 16), a_mask)
    b = (int(e["b"]["value"], 16), b_mask)
    impl = (int(e["impl"]["value"], 16), int(e["impl"]["mask"], 16))
    assert any((x ^ y) & ~impl[1] != impl[0] for x in members(a, w, "low") for y in members(b, w, "low"))


def test_cache_and_bad_input(cache):
    first = P.run(["x86_64"], ["xor"], 2)
    second = P.run(["x86_64"], ["xor"], 2)
    assert not first[0].cached and second[0].cached
    assert first[0].to_json()["share_optimal"] == second[0].to_json()["share_optimal"] == 1.0
    assert (first[0].examined, first[0].optimal) == (second[0].examined, second[0].optimal) == (81, 81)
    with pytest.raises(P.PrecisionError):
        P.run(["x86_64"], ["xor"], 0)
    with pytest.raises(P.PrecisionError):
        P.run(["x86_64"], ["nand"], 2)


def test_cli_json_and_errors(cache):
    from typer.testing import CliRunner

    from axiomdbg.prove.cli import prove_app

    r = CliRunner().invoke(prove_app, ["precision", "--arch", "x86_64", "--op", "mul", "--width", "2",
                                       "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout[r.stdout.index("["):])
    assert len(rows) == 1 and rows[0]["op"] == "mul" and rows[0]["status"] == "IMPRECISE"
    # width 2: the paper's algorithm loses one bit on 3 of the 81 pairs (e.g. 3 * {1,3})
    assert (rows[0]["examined"], rows[0]["imprecise"], rows[0]["bits_lost"]) == (81, 3, 3)
    bad = CliRunner().invoke(prove_app, ["precision", "--width", "9"])
    assert bad.exit_code == 2 and "between 1 and" in bad.output and "Traceback" not in bad.output

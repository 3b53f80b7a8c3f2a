"""checks.agree on hand-built extractions (no angr: cheap): what counts as a
cross-arch disagreement, the summarised tnum_mul calls, and the per-field /
case-split form used for bpf_tnum_shift_union."""

import claripy
import pytest

from axiomdbg.prove import checks
from axiomdbg.prove.extract import Extraction, Path_


def _inputs():
    t = {"t.value": claripy.BVS("t.value", 64, explicit_name=True),
         "t.mask": claripy.BVS("t.mask", 64, explicit_name=True)}
    amt = {"lo": claripy.BVS("amount.lo", 32, explicit_name=True),
           "hi": claripy.BVS("amount.hi", 32, explicit_name=True)}
    return {"a": t, "amount": amt}


def _ex(inputs, paths):
    return Extraction("f", paths, inputs, 0.0, 0)


def _path(v, m, cond=None, **kw):
    return Path_(cond if cond is not None else claripy.true(), {"out": {"t.value": v, "t.mask": m}}, **kw)


def _shl(x, lo):
    return x << lo.zero_extend(32)


def test_equal_semantics_written_differently_agree():
    inp = _inputs()
    t, lo = inp["a"], inp["amount"]["lo"]
    # one arch: a single path; the other: split on lo < 64 (different terms, same function)
    a = _ex(inp, [_path(_shl(t["t.value"], lo), _shl(t["t.mask"], lo))])
    small = lo.ULT(64)
    b = _ex(inp, [_path(t["t.value"] << lo[5:0].zero_extend(58), t["t.mask"] << lo[5:0].zero_extend(58), small),
                  _path(claripy.BVV(0, 64), claripy.BVV(0, 64), claripy.Not(small))])
    for kw in ({}, {"per_field": True}):
        o = checks.agree({"x86_64": a, "aarch64": b}, 10_000, **kw)
        assert o.status == checks.PROVED, o


@pytest.mark.parametrize("per_field", [False, True])
def test_one_field_one_input_differs(per_field):
    inp = _inputs()
    t, lo = inp["a"], inp["amount"]["lo"]
    v, m = _shl(t["t.value"], lo), _shl(t["t.mask"], lo)
    bad_m = claripy.If(lo == 37, m | 1, m)
    o = checks.agree({"x86_64": _ex(inp, [_path(v, m)]), "riscv64": _ex(inp, [_path(v, bad_m)])}, 10_000,
                     per_field=per_field)
    assert o.status == checks.UNSOUND, o
    assert o.counterexample["inputs"]["amount"]["lo"] == 37
    assert set(o.counterexample["differs"]) == {"out.t.mask"}


def test_case_split_covers_every_case(monkeypatch):
    """When the unsplit query does not finish, each case is asked: a
    disagreement that exists in one case only is still found, and PROVED needs
    every case proved."""
    inp = _inputs()
    t, lo = inp["a"], inp["amount"]["lo"]
    v, m = _shl(t["t.value"], lo), _shl(t["t.mask"], lo)
    real = checks.solve
    asked = []

    def solve(asrt, timeout_ms):   # the unsplit query "times out"
        asked.append(len(asrt))
        if timeout_ms == min(10_000, checks.AGREE_FIRST_MS) and not any(c is case for c in asrt for case in cases):
            return "unknown", None, "timeout"
        return real(asrt, timeout_ms)
    cases = [lo == k for k in range(64)] + [lo.UGE(64)]
    monkeypatch.setattr(checks, "solve", solve)
    monkeypatch.setattr(checks, "AGREE_FIRST_MS", 5_000)

    good = {"x86_64": _ex(inp, [_path(v, m)]), "aarch64": _ex(inp, [_path(v, m)])}
    o = checks.agree(good, 10_000, per_field=True, cases=lambda _i: cases)
    assert o.status == checks.PROVED and "65 cases" in o.detail, o
    assert len(asked) == 2 * (1 + 65)   # two fields, each: unsplit attempt + every case

    for bad_lo in (0, 63, 200):   # first, last, and the lo >= 64 case
        bad_m = claripy.If(lo == bad_lo, m | 2, m)
        bad = {"x86_64": _ex(inp, [_path(v, m)]), "aarch64": _ex(inp, [_path(v, bad_m)])}
        o = checks.agree(bad, 10_000, per_field=True, cases=lambda _i: cases)
        assert o.status == checks.UNSOUND, o
        assert o.counterexample["inputs"]["amount"]["lo"] == bad_lo

    # a case that does not finish leaves the claim UNKNOWN, never PROVED
    def solve_unknown_case(asrt, timeout_ms):
        if any(c is cases[5] for c in asrt):
            return "unknown", None, "timeout"
        return solve(asrt, timeout_ms)
    monkeypatch.setattr(checks, "solve", solve_unknown_case)
    o = checks.agree(good, 10_000, per_field=True, cases=lambda _i: cases)
    assert o.status == checks.UNKNOWN and "case" in o.detail, o


def _mul_path(inp, args, r):
    return Path_(claripy.true(), {"out": {"t.value": r[0], "t.mask": r[1]}}, mul_calls=[tuple(args) + tuple(r)])


def test_tnum_mul_arguments_must_agree():
    """Each arch's tnum_mul summary has a fresh result: with equal arguments the
    results are equal, but a difference in what is multiplied is a disagreement
    (not an assumption away)."""
    inp = {"a": {"t.value": claripy.BVS("a.v", 64, explicit_name=True),
                 "t.mask": claripy.BVS("a.m", 64, explicit_name=True)},
           "b": {"t.value": claripy.BVS("b.v", 64, explicit_name=True),
                 "t.mask": claripy.BVS("b.m", 64, explicit_name=True)}}
    a, b = inp["a"], inp["b"]
    args = [a["t.value"], a["t.mask"], b["t.value"], b["t.mask"]]

    def fresh(tag):
        return [claripy.BVS(f"r.v.{tag}", 64, explicit_name=True), claripy.BVS(f"r.m.{tag}", 64, explicit_name=True)]
    same = {"x86_64": _ex(inp, [_mul_path(inp, args, fresh("x"))]),
            "aarch64": _ex(inp, [_mul_path(inp, args, fresh("a"))])}
    assert checks.agree(same, 10_000).status == checks.PROVED

    # the other arch multiplies by a's mask where b's was meant, when b.value == 5
    wrong = args[:3] + [claripy.If(b["t.value"] == 5, a["t.mask"], b["t.mask"])]
    for kw in ({}, {"per_field": True}):
        o = checks.agree({"x86_64": _ex(inp, [_mul_path(inp, args, fresh("x"))]),
                          "aarch64": _ex(inp, [_mul_path(inp, wrong, fresh("a"))])}, 10_000, **kw)
        assert o.status == checks.UNSOUND, o
        assert "tnum_mul0.b.mask" in o.counterexample["differs"]
        assert o.counterexample["inputs"]["b"]["t.value"] == 5

    # a different number of calls is a disagreement too
    no_call = Path_(claripy.true(), {"out": {"t.value": claripy.BVV(0, 64), "t.mask": claripy.BVV(0, 64)}})
    o = checks.agree({"x86_64": _ex(inp, [_mul_path(inp, args, fresh("x"))]), "aarch64": _ex(inp, [no_call])},
                     10_000)
    assert o.status == checks.UNSOUND


@pytest.mark.slow
def test_compiled_mul64_with_swapped_tnum_mul_operands_disagrees():
    """On real binaries: mul64 whose tnum_mul call takes (b, a) instead of
    (a, b) (the product is the same, tnum_mul's result is not in general)
    disagrees with the real mul64, through the summarised call's arguments;
    the real mul64 of two arches agrees."""
    from axiomdbg.prove import runner
    from axiomdbg.prove.targets import BPF_DIR, resolve

    src = (BPF_DIR / "range_alu.c").read_text()
    call = "r.t = bpf_tnum_mul(a->t, b->t);"
    assert src.count(call) == 1, "mul64's tnum_mul call changed: update this test"
    swapped = resolve("x86_64", "embedded", {"range_alu.c": src.replace(call, "r.t = bpf_tnum_mul(b->t, a->t);")})
    real = {a: resolve(a, "embedded") for a in ("x86_64", "riscv64")}
    ex = {a: runner._extract_alu(str(t.elf), "bpf_range_mul64", "binop") for a, t in real.items()}
    assert checks.agree(ex, 60_000).status == checks.PROVED
    bad = runner._extract_alu(str(swapped.elf), "bpf_range_mul64", "binop")
    o = checks.agree({"x86_64": ex["x86_64"], "zz-swapped": bad}, 60_000)
    assert o.status == checks.UNSOUND, o
    assert any(k.startswith("tnum_mul0.") for k in o.counterexample["differs"]), o.counterexample


def _sdiv_path(args, minv, tag, cond=None):
    ret = claripy.BVS(f"sd.ret.{tag}", 8, explicit_name=True)
    lo = claripy.BVS(f"sd.lo.{tag}", 64, explicit_name=True)
    hi = claripy.BVS(f"sd.hi.{tag}", 64, explicit_name=True)
    return Path_(cond if cond is not None else claripy.true(), {"out": {"smin": lo, "smax": hi}},
                 sdiv_calls=[tuple(args) + (minv, ret, lo, hi)])


def test_sdiv_bounds_arguments_must_agree():
    """bpf_sdiv_bounds summaries (sdiv64/sdiv32's agree): equal arguments give
    equal (fresh) results; a different argument, or a different `min`, is a
    disagreement with the input that shows it."""
    names = ("a.smin", "a.smax", "b.smin", "b.smax")
    v = {n: claripy.BVS(n, 64, explicit_name=True) for n in names}
    inp = {"a": {"smin": v["a.smin"], "smax": v["a.smax"]}, "b": {"smin": v["b.smin"], "smax": v["b.smax"]}}
    args = [v[n] for n in names]
    mn = -(1 << 63)
    same = {"x86_64": _ex(inp, [_sdiv_path(args, mn, "x")]), "riscv64": _ex(inp, [_sdiv_path(args, mn, "r")])}
    assert checks.agree(same, 10_000).status == checks.PROVED

    # the other arch passes smax where smin was meant for the divisor, when a.smin == 7
    wrong = args[:2] + [claripy.If(v["a.smin"] == 7, v["b.smax"], v["b.smin"]), args[3]]
    o = checks.agree({"x86_64": _ex(inp, [_sdiv_path(args, mn, "x")]),
                      "riscv64": _ex(inp, [_sdiv_path(wrong, mn, "r")])}, 10_000)
    assert o.status == checks.UNSOUND, o
    assert "sdiv_bounds0.ymin" in o.counterexample["differs"]
    assert o.counterexample["inputs"]["a"]["smin"] == 7

    o = checks.agree({"x86_64": _ex(inp, [_sdiv_path(args, mn, "x")]),
                      "riscv64": _ex(inp, [_sdiv_path(args, -(1 << 31), "r")])}, 10_000)
    assert o.status == checks.UNSOUND and "sdiv_bounds0.min" in o.counterexample["differs"], o


def _sync_path(inp, calls, out):
    return Path_(claripy.true(), {"out": out}, calls=calls)


def test_sync_step_summaries_must_agree():
    """sync's agree over its steps as summaries: the same steps on the same
    states give the same (fresh) results; a different state handed to a step,
    or a different sequence of steps, is a disagreement."""
    u = claripy.BVS("s.umin", 64, explicit_name=True)
    m = claripy.BVS("s.umax", 64, explicit_name=True)
    inp = {"a": {"umin": u, "umax": m}}

    def after(tag, n):
        return {"umin": claripy.BVS(f"call{n}.{tag}.umin", 64, explicit_name=True),
                "umax": claripy.BVS(f"call{n}.{tag}.umax", 64, explicit_name=True)}

    def arch(tag, before0, steps=("st_a", "st_b")):
        a0 = after(tag, 0)
        calls = [(steps[0], before0, a0)]
        a1 = after(tag, 1)
        calls.append((steps[1], {"umin": a0["umin"], "umax": a0["umax"]}, a1))
        return _ex(inp, [_sync_path(inp, calls, a1)])
    same = checks.agree({"x86_64": arch("x", {"umin": u, "umax": m}),
                         "riscv64": arch("r", {"umin": u, "umax": m})}, 10_000)
    assert same.status == checks.PROVED, same

    # the other arch hands st_a umax | 1 for umax when umin == 9
    o = checks.agree({"x86_64": arch("x", {"umin": u, "umax": m}),
                      "riscv64": arch("r", {"umin": u, "umax": claripy.If(u == 9, m | 1, m)})}, 10_000)
    assert o.status == checks.UNSOUND, o
    assert "step0.st_a.umax" in o.counterexample["differs"]
    assert o.counterexample["inputs"]["a"]["umin"] == 9

    o = checks.agree({"x86_64": arch("x", {"umin": u, "umax": m}),
                      "riscv64": arch("r", {"umin": u, "umax": m}, steps=("st_b", "st_a"))}, 10_000)
    assert o.status == checks.UNSOUND and "sync steps" in o.counterexample["differs"], o


def test_compiled_sync_agrees_and_a_changed_step_input_disagrees():
    """On real binaries: bpf_range_sync of two arches agrees (compositional:
    each step, then sync over the steps); a build that clears u32min between
    two steps hands the next step a different state, which is a disagreement."""
    from axiomdbg.prove import runner
    from axiomdbg.prove.extract import SYNC_STEPS, extract
    from axiomdbg.prove.targets import BPF_DIR, resolve

    real = [resolve(a, "embedded") for a in ("x86_64", "riscv64")]
    r = runner.agree_on(real, "sync", 60_000)
    assert r.status == checks.PROVED and r.arch == "x86_64+riscv64", r

    src = (BPF_DIR / "range_sync.c").read_text()
    seq = "\t\tbpf_sync_64_to_32(s);\n\t\tbpf_sync_32_to_64(s);\n"
    assert src.count(seq) == 1, "bpf_range_sync's step sequence changed: update this test"
    bad = resolve("x86_64", "embedded",
                  {"range_sync.c": src.replace(seq, "\t\tbpf_sync_64_to_32(s);\n\t\ts->u32min = 0;\n"
                                                    "\t\tbpf_sync_32_to_64(s);\n")})
    ex = {"aa-real": extract(str(real[1].elf), "bpf_range_sync", "sync", contracts=SYNC_STEPS),
          "zz-patched": extract(str(bad.elf), "bpf_range_sync", "sync", contracts=SYNC_STEPS)}
    o = checks.agree(ex, 60_000)
    assert o.status == checks.UNSOUND, o
    assert any(k.endswith("bpf_sync_32_to_64.u32min") for k in o.counterexample["differs"]), o.counterexample

"""End-to-end proofs from the compiled operators (angr + Z3)."""

from pathlib import Path

import pytest

from axiomdbg.prove import reproduce, runner
from axiomdbg.prove.targets import ARCHES

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "fixtures" / "prove"


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "CACHE_DIR", tmp_path / "cache")
    return tmp_path / "cache"


def _run(arches, ops, overrides=None, use_cache=True, agree=False):
    jobs = runner.make_jobs(arches, ["embedded"], ops, agree=agree, overrides=overrides, timeout_ms=60_000,
                            use_cache=use_cache)
    return runner.run_jobs(jobs, 1)


@pytest.mark.parametrize("arch", ARCHES)
def test_real_operators_prove(arch, cache):
    rows = _run([arch], ["and32", "xor64", "mov32", "be16", "movsx64_s8", "is_empty"])
    bad = [r for r in rows if r["status"] != "PROVED"]
    assert not bad, bad


def test_jump_refinement_proves_everywhere(cache):
    rows = _run(list(ARCHES), ["jgt64"])
    assert all(r["status"] == "PROVED" for r in rows), rows


def test_cross_arch_agreement(cache):
    rows = _run(list(ARCHES), ["xor32"], agree=True)
    agree = [r for r in rows if r["check"] == "agree"]
    assert agree and agree[0]["status"] == "PROVED", agree


def test_cache_hit_on_rerun(cache):
    first = _run(["riscv64"], ["or32"])
    assert not any(r.get("cached") for r in first)
    second = _run(["riscv64"], ["or32"])
    assert second and all(r.get("cached") for r in second)
    assert [r["status"] for r in first] == [r["status"] for r in second]


def seeded(name: str) -> tuple[str, dict[str, str]]:
    """(op, source overrides) for a seeded bug of fixtures/prove/seeded.json,
    patched into the CURRENT kernel/bpf source; fails loudly if it no longer applies."""
    import json
    spec = json.loads((FIX / "seeded.json").read_text())[name]
    src = (ROOT / "kernel" / "bpf" / spec["file"]).read_text()
    assert spec["old"] in src, f"seeded bug {name} no longer applies to kernel/bpf/{spec['file']}"
    return spec["op"], {spec["file"]: src.replace(spec["old"], spec["new"], 1)}


@pytest.mark.parametrize("name", ["and32_lowbound", "add64_nooverflow"])
def test_seeded_bug_is_unsound_with_a_real_counterexample(name, cache):
    op, ov = seeded(name)
    rows = _run(["riscv64"], [op], overrides=ov, use_cache=False)
    unsound = [r for r in rows if r["status"] == "UNSOUND"]
    assert unsound, rows
    for r in unsound:
        rep = reproduce.replay(op, r["counterexample"], ov)
        # the C code, run for real on the host, excludes the concrete result
        assert rep["confirmed"], (r, rep)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHES)
def test_seeded_bug_caught_on_every_arch(arch, cache):
    op, ov = seeded("and32_lowbound")
    rows = _run([arch], [op], overrides=ov, use_cache=False)
    assert any(r["status"] == "UNSOUND" for r in rows)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHES)
def test_add_sub_prove(arch, cache):
    rows = _run([arch], ["add64", "sub64", "add32", "sync"])
    assert all(r["status"] == "PROVED" for r in rows), rows


def test_unsigned_division_proves_on_riscv64(cache):
    """div/mod through the non-linear abstraction, and riscv64's 32-bit
    divisions through the corrected remuw/divuw hooks (they were falsely
    UNSOUND with VEX's lifting)."""
    rows = _run(["riscv64"], ["div32", "mod32"])
    assert rows and all(r["status"] == "PROVED" for r in rows), rows


def test_api_rejects_bad_selection():
    from axiomdbg.prove import api

    with pytest.raises(ValueError, match="unknown arch"):
        api.run(["sparc"], ["embedded"])
    with pytest.raises(ValueError, match="unknown operator"):
        api.run(["x86_64"], ["embedded"], ops=["frobnicate"])


@pytest.mark.slow
def test_sync_proves_compositionally_everywhere(cache):
    rows = _run(list(ARCHES), ["sync"])
    assert rows and all(r["status"] == "PROVED" for r in rows), rows


@pytest.mark.slow
def test_full_matrix_without_slow_ops(cache):
    """Every operator outside runner.SLOW_OPS proves on every arch (embedded)."""
    from axiomdbg.prove import api

    rows = api.run(ARCHES, ["embedded"], jobs=2, skip_slow=True)
    bad = [(r["op"], r["arch"], r["check"], r["status"], r.get("detail", "")[:120]) for r in rows
           if r["status"] != "PROVED"]
    assert not bad, bad


# --- shifts: operators through bpf_tnum_shift_union's contract, and the contract itself

def _mutant(name: str) -> tuple[list[str], dict[str, str]]:
    from axiomdbg.prove import mutants

    m = next(m for m in mutants.CATALOGUE if m.name == name)
    ov = mutants.apply(m)
    assert ov is not None, f"mutant {name} no longer applies"
    return list(m.ops), ov


def test_shift_operators_prove_with_the_union_contract(cache):
    """The shift operators' tnum comes from bpf_tnum_shift_union, replaced by
    its contract (the extraction records the call; before, the inlined
    64-iteration loop exhausted the symbolic execution budget)."""
    rows = _run(["x86_64"], ["rsh64", "lsh32", "rsh32"])
    assert rows and all(r["status"] == "PROVED" for r in rows), rows


def test_arsh64_smin_mutant_is_caught(cache):
    ops, ov = _mutant("arsh64-smin")
    rows = _run(["x86_64"], ops, overrides=ov, use_cache=False)
    assert any(r["status"] == "UNSOUND" and "s64" in r["counterexample"]["violated"] for r in rows), rows


def test_shift_union_range_mutant_is_caught(cache):
    """An off-by-one in the union's range of amounts breaks the contract the
    shift operators rest on: the tnum_shift_union obligation must fail."""
    ops, ov = _mutant("shift-union-range")
    rows = _run(["x86_64"], ops, overrides=ov, use_cache=False)
    assert rows and all(r["status"] == "UNSOUND" for r in rows), rows


@pytest.mark.slow
def test_shift_union_sext32_mutant_is_caught_on_arsh32_only(cache):
    ops, ov = _mutant("shift-union-sext32")
    rows = _run(["riscv64"], ops, overrides=ov, use_cache=False)
    assert {r["check"]: r["status"] for r in rows} == {"lsh": "PROVED", "rsh": "PROVED", "arsh64": "PROVED",
                                                       "arsh32": "UNSOUND"}, rows


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHES)
def test_shift_union_contract_proves(arch, cache):
    rows = _run([arch], ["tnum_shift_union"])
    assert [r["check"] for r in rows] == list(runner.SHIFT_UNION_CHECKS), rows
    assert all(r["status"] == "PROVED" for r in rows), rows


@pytest.mark.slow
def test_all_shift_operators_prove_and_agree(cache):
    rows = _run(list(ARCHES), ["tnum_shift_union", "lsh64", "lsh32", "rsh64", "rsh32", "arsh64", "arsh32"],
                agree=True)
    # every row PROVED, bpf_tnum_shift_union's own cross-arch agreement included
    # (per field, split on lo where the whole query does not finish: docs/proofs.md)
    bad = [(r["op"], r["arch"], r["check"], r["status"], r.get("detail", "")[:120]) for r in rows
           if r["status"] != "PROVED"]
    assert not bad, bad
    agree = {r["op"] for r in rows if r["check"].startswith("agree")}
    assert agree == {"tnum_shift_union", "lsh64", "lsh32", "rsh64", "rsh32", "arsh64", "arsh32"}, agree
    # bpf_tnum_shift_union's agree runs as one job per kind/width and arch pair
    # through the reference arch; together they cover all three arches
    su = {(r["check"], r["arch"]) for r in rows if r["op"] == "tnum_shift_union" and r["check"].startswith("agree")}
    ref, *others = sorted(ARCHES)
    assert su == {(f"agree:{p}", f"{ref}+{o}") for p in ("lsh@64", "lsh@32", "rsh@64", "rsh@32", "arsh64", "arsh32")
                  for o in others}, su

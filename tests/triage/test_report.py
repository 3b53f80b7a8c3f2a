"""Decoding, address classes, titles, bucketing, kernel matching, output formats and the CLI."""
from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from axiomdbg.triage import KernelSet, Layout, classify, decode, render, triage_paths, triage_texts
from axiomdbg.triage.cli import triage_app
from axiomdbg.triage.synth import format_record

from .helpers import ARCHES
from .scenarios import KINDS, scenario

# --------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("code,access,fault,user", [
    (0x0, "read", "not-present", False), (0x2, "write", "not-present", False), (0x3, "write", "protection", False),
    (0x4, "read", "not-present", True), (0x11, "exec", "protection", False), (0x9, "read", "reserved-bit", False),
])
def test_x86_page_fault_error_code(code, access, fault, user):
    d = decode("x86_64", 14, code)
    assert d.is_page_fault and (d.access, d.fault, d.user) == (access, fault, user)
    assert any(b.startswith("P=") for b in d.bits) and any(b.startswith("W/R=") for b in d.bits)
    assert ("RSVD=1 (reserved bit set in a paging entry)" in d.bits) == bool(code & 8)
    assert ("I/D=1 (instruction fetch)" in d.bits) == bool(code & 0x10)


@pytest.mark.parametrize("vector,name", [(0, "divide error"), (6, "undefined instruction"), (13, "general protection fault"),
                                         (3, "breakpoint"), (8, "double fault"), (18, "machine check")])
def test_x86_vectors(vector, name):
    assert decode("x86_64", vector, 0).name == name


@pytest.mark.parametrize("esr,name,access,fault,level", [
    (0x96000045, "page fault", "write", "translation", 1),
    (0x96000006, "page fault", "read", "translation", 2),
    (0x9600004F, "page fault", "write", "permission", 3),
    (0x8600000F, "page fault", "exec", "permission", 3),
    (0x9600000B, "page fault", "read", "access-flag", 3),
    (0x96000021, "alignment fault", "read", "alignment", None),
    (0x92000010, "synchronous external abort", "read", "synchronous-external-abort", None),
])
def test_aarch64_aborts(esr, name, access, fault, level):
    d = decode("aarch64", esr)
    assert (d.name, d.access, d.fault, d.level) == (name, access, fault, level)


@pytest.mark.parametrize("esr,name", [(0x02000000, "undefined instruction"), (0xF2000800, "breakpoint"),
                                      (0x8A000000, "PC alignment fault"), (0x5600000A, "SVC in AArch64"),
                                      (0xBE000000, "SError")])
def test_aarch64_other_classes(esr, name):
    d = decode("aarch64", esr)
    assert d.name == name or name in d.description
    assert d.bits[0].startswith(f"EC={esr >> 26:#04x}")


@pytest.mark.parametrize("scause,name,access", [(13, "page fault", "read"), (15, "page fault", "write"),
                                                (12, "page fault", "exec"), (2, "undefined instruction", None),
                                                (5, "access fault", "read"), (6, "alignment fault", "write"),
                                                (3, "breakpoint", None)])
def test_riscv_exceptions(scause, name, access):
    d = decode("riscv64", scause)
    assert (d.name, d.access, d.interrupt) == (name, access, False)


def test_riscv_interrupt_bit():
    d = decode("riscv64", (1 << 63) | 5)
    assert d.interrupt and d.name == "supervisor timer interrupt"


def test_decode_from_text_only_and_software_kinds():
    assert decode("riscv64", None, None, "load page fault").access == "read"
    assert decode("x86_64", None, None, "assertion failed", "assertion").name == "assertion"
    assert decode("aarch64", None, None, None).name == "unknown cause"


# --------------------------------------------------------------------------- address classes

def test_address_classes_with_symbols():
    lay = Layout.from_symbols("riscv64", {"__text_start": 0xFFFFFFFF80200000, "__text_end": 0xFFFFFFFF80300000,
                                          "__rodata_start": 0xFFFFFFFF80300000, "__rodata_end": 0xFFFFFFFF80400000,
                                          "__data_start": 0xFFFFFFFF80400000, "__data_end": 0xFFFFFFFF80500000,
                                          "__kernel_start": 0xFFFFFFFF80200000, "__kernel_end": 0xFFFFFFFF80600000})
    c = lambda a, **k: classify(a, lay, **k).kind  # noqa: E731
    assert c(0) == c(0xFFF) == c(0xFFFF) == "null"
    assert c(0x10000) == "user" and c(0x3F_BFFF_FFFF) == "user"
    assert c(0x40_0000_0000) == "non-canonical"
    assert c(0xFFFFFFFF80200010) == "kernel-text" and c(0xFFFFFFFF80300010) == "kernel-rodata"
    assert c(0xFFFFFFFF80400010) == "kernel-data"
    assert c(0xFFFFFFD800001000) == "direct-map"
    assert c(0xFFFFFFF000000000) == "unmapped"
    assert c(0xFFFFFFE000000010) == "guard-page" and c(0xFFFFFFE000001010) == "vmap"
    assert c(0x1234, kind="stack-overflow") == "guard-page"
    sp = 0xFFFFFFC000104010
    assert c(sp - 0x30, sp=sp) == "guard-page"
    lay.stacks.append((0xFFFFFFC000200000, 0xFFFFFFC000204000))
    assert c(0xFFFFFFC0001FFFF8) == "guard-page" and c(0xFFFFFFC000201000) == "kernel-stack"


def test_layout_defaults_and_banner_mode():
    assert Layout.defaults("x86_64").user_top == 1 << 47
    assert Layout.defaults("x86_64", "5level").user_top == 1 << 56
    lay = Layout.defaults("riscv64").with_mode("sv48")
    assert lay.paging_mode == "sv48" and classify(0x7F_0000_0000, lay).kind == "user"
    lay.apply_values({"direct_map_base": 0xFFFF_A000_0000_0000, "direct_map_size": 1 << 30, "kstack_size": 0x4000,
                      "kernel_vmap_base": 0xFFFF_C000_0000_0000, "kernel_vmap_size": 1 << 30}, "test")
    assert classify(0xFFFF_A000_0000_1000, lay).kind == "direct-map"
    assert classify(0xFFFF_C000_0000_4010, lay).kind == "guard-page"
    assert classify(0xFFFF_C000_0000_5010, lay).kind == "vmap"


# --------------------------------------------------------------------------- bucketing

@pytest.fixture(scope="module")
def many(elf5):
    """Three logs per arch with repeated crashes."""
    logs = []
    for arch in ARCHES:
        for i in range(3):
            recs = [scenario(elf5[arch], arch, k, seed=i).text for k in ("null", "undefined", "null")]
            logs.append((f"ci/{arch}-{i}.log", "boot\n" + "noise\n".join(recs)))
    return triage_texts(logs, KernelSet(elf5.values()))


def test_buckets_count_first_last(many):
    assert len(many.crashes) == 27 and len(many.buckets) == 6
    for b in many.buckets:
        assert b.count in (3, 6)
        assert b.first.log.endswith("-0.log") and b.last.log.endswith("-2.log")
        assert b.first.line < 40
        assert all(c.bucket is b for c in b.crashes)
    ids = [b.id for b in many.buckets]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)


def test_bucket_ids_are_stable(many, elf5):
    again = triage_texts([("x.log", scenario(elf5["x86_64"], "x86_64", "null", seed=9).text)], KernelSet(elf5.values()))
    assert again.buckets[0].id in {b.id for b in many.buckets}


def test_different_top_frames_split_buckets(elf5):
    arch = "aarch64"
    a = scenario(elf5[arch], arch, "undefined").text
    b = a.replace(f"bt {scenario(elf5[arch], arch, 'undefined').backtrace[1]:#018x}", "bt 0xffffffff80200030")
    rep = triage_texts([("a", a), ("b", b)], KernelSet([elf5[arch]]))
    assert len(rep.buckets) == 2 and rep.buckets[0].title == rep.buckets[1].title


# --------------------------------------------------------------------------- kernels and build ids

def test_build_id_selects_the_right_kernel(elf5, fixture_elfs):
    ks = KernelSet([fixture_elfs[("riscv64", 4)], elf5["riscv64"]])
    rep = triage_texts([("r", scenario(elf5["riscv64"], "riscv64", "null").text)], ks)
    assert rep.crashes[0].kernel == str(elf5["riscv64"]) and not rep.warnings


def test_build_id_mismatch_warns(elf5, fixture_elfs):
    text = scenario(elf5["riscv64"], "riscv64", "null").text
    rep = triage_texts([("r.log", text)], KernelSet([fixture_elfs[("riscv64", 4)]]))
    assert any("build id mismatch" in w for w in rep.warnings)
    rep = triage_texts([("r.log", re.sub(r"build_id: \w+\n", "", text))], KernelSet([elf5["riscv64"]]))
    assert any("no build id" in w for w in rep.warnings)
    rep = triage_texts([("r.log", text)], KernelSet([elf5["x86_64"]]))
    assert any("no kernel ELF for riscv64" in w for w in rep.warnings)
    assert rep.crashes[0].title.startswith("page fault in 0xffffffff")


def test_kernel_directory(elf5, tmp_path):
    ks = KernelSet([elf5["x86_64"].parent])
    assert {k.arch for k in ks.kernels} == set(ARCHES)


# --------------------------------------------------------------------------- formats

def test_json_format(many):
    data = json.loads(render(many, "json"))
    assert isinstance(data, list) and len(data) == 27
    for c in data:
        for key in ("title", "arch", "kind", "cause", "frames", "bucket"):
            assert key in c
        assert c["arch"] in ARCHES and isinstance(c["title"], str)
        for f in c["frames"]:
            assert set(("function", "file", "line", "inlined")) <= set(f)
            assert isinstance(f["line"], int) and isinstance(f["inlined"], bool)
        assert c["bucket"]["count"] >= 1 and {"log", "line"} <= set(c["bucket"]["first"])


def test_sarif_format(many):
    s = json.loads(render(many, "sarif"))
    assert s["version"] == "2.1.0" and s["$schema"].endswith("sarif-2.1.0.json")
    (run,) = s["runs"]
    assert run["tool"]["driver"]["name"]
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(many.buckets)
    for r in run["results"]:
        assert r["message"]["text"] and r["level"] in ("error", "warning", "note", "none")
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        (loc,) = r["locations"]
        phys = loc["physicalLocation"]
        assert phys["artifactLocation"]["uri"].endswith((".c", ".h"))
        assert "region" not in phys or phys["region"]["startLine"] >= 1
        assert r["partialFingerprints"]["axiomCrashBucket/v1"]


def test_markdown_and_text(many):
    md = render(many, "markdown")
    assert md.startswith("# Crash triage: 27 crashes in 6 buckets")
    assert md.count("\n## ") == 6 and "| # | title |" in md
    text = render(many, "text")
    assert "27 crashes in 6 buckets from 9 logs" in text and "undefined instruction in crash_undefined" in text
    assert "\x1b[" not in text


# --------------------------------------------------------------------------- CLI

def test_cli_exit_codes_and_formats(elf5, tmp_path):
    runner = CliRunner()
    logs = tmp_path / "logs"
    (logs / "sub").mkdir(parents=True)
    (logs / "clean.log").write_text("axiom: build-id " + "0" * 40 + "\ninit: ready\n")
    r = runner.invoke(triage_app, [str(logs)])
    assert r.exit_code == 0, r.output
    for k in KINDS[:3]:
        (logs / "sub" / f"{k}.log").write_text(scenario(elf5["aarch64"], "aarch64", k).text)
    out = tmp_path / "r.sarif"
    r = runner.invoke(triage_app, [str(logs), "--kernel", str(elf5["aarch64"]), "--kernel", str(elf5["x86_64"]),
                                   "--format", "sarif", "-o", str(out)])
    assert r.exit_code == 1, r.output
    assert len(json.loads(out.read_text())["runs"][0]["results"]) == 3
    r = runner.invoke(triage_app, [str(logs / "sub" / "null.log"), "-k", str(elf5["aarch64"]), "-f", "json"])
    assert r.exit_code == 1 and json.loads(r.stdout)[0]["title"].endswith("(null dereference)")
    assert runner.invoke(triage_app, [str(tmp_path / "missing.log")]).exit_code == 2
    assert runner.invoke(triage_app, [str(logs), "-f", "xml"]).exit_code == 2
    assert runner.invoke(triage_app, [str(logs), "-k", str(logs / "clean.log")]).exit_code == 2
    assert runner.invoke(triage_app, []).exit_code == 2


def test_triage_paths_walks_directories(elf5, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.log").write_text(scenario(elf5["riscv64"], "riscv64", "lockup").text)
    (tmp_path / "a" / "y.txt").write_text(format_record("riscv64", kind="panic", cause="panic", message="boom"))
    (tmp_path / "a" / "kernel.elf").write_bytes(elf5["riscv64"].read_bytes())
    rep = triage_paths([tmp_path], [tmp_path / "a" / "kernel.elf"])
    assert [c.title for c in rep.crashes] == ["watchdog: lockup on cpu 1", "panic in ??: boom"]


def test_mounted_as_a_sub_application(elf5, tmp_path):
    """How the lead mounts it: app.add_typer(triage_app, name="triage") -> `axiomdbg triage LOG...`."""
    import typer
    app = typer.Typer()

    @app.command()
    def other() -> None:  # a second command, so `app` is a group like the real CLI
        pass

    app.add_typer(triage_app, name="triage")
    log = tmp_path / "x.log"
    log.write_text(scenario(elf5["x86_64"], "x86_64", "undefined").text)
    r = CliRunner().invoke(app, ["triage", str(log), "--kernel", str(elf5["x86_64"]), "--format", "markdown"])
    assert r.exit_code == 1, r.output
    assert "undefined instruction in crash_undefined" in r.stdout
    assert CliRunner().invoke(app, ["triage", str(tmp_path / "none.log")]).exit_code == 2

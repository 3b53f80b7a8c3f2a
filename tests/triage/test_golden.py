"""Golden reports of synthetic records for every arch and injection kind, built from the real
addresses of the fixture ELFs, in the style of syzkaller's report tests.

fixtures/crashes/synthetic/golden.json holds, per "<arch>/<kind>", the expected title, kind,
cause, address class and frames (function, file name, line, inlined). Regenerate with
AXIOM_UPDATE_GOLDEN=1 after an intended change. Independently of the golden file, every frame is
checked against llvm-symbolizer on the same address (pc for frame 0, pc-1 for return addresses)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from axiomdbg.triage import KernelSet, triage_texts

from .helpers import ARCHES, ROOT, llvm_symbolize, normalize_oracle
from .scenarios import KINDS, scenario

GOLDEN = ROOT / "fixtures" / "crashes" / "synthetic" / "golden.json"
CASES = [(a, k) for a in ARCHES for k in KINDS]


def summarize(crash) -> dict:
    return {
        "title": crash.title,
        "kind": crash.kind,
        "cause": crash.decoded.name,
        "address_class": crash.address_class.kind if crash.address_class else None,
        "frames": [[f.function, Path(f.file).name if f.file else None, f.line, f.inlined] for f in crash.frames],
    }


@pytest.fixture(scope="module")
def reports(elf5):
    out = {}
    for arch, kind in CASES:
        sc = scenario(elf5[arch], arch, kind)
        rep = triage_texts([(f"{arch}/{kind}.log", sc.text)], KernelSet([elf5[arch]]))
        out[(arch, kind)] = (sc, rep)
    return out


def test_golden_file(reports):
    got = {f"{a}/{k}": summarize(rep.crashes[0]) for (a, k), (_, rep) in reports.items()}
    if os.environ.get("AXIOM_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert set(expected) == set(got)
    for key in sorted(got):
        assert got[key] == expected[key], key


@pytest.mark.parametrize("arch,kind", CASES, ids=[f"{a}-{k}" for a, k in CASES])
def test_frames_agree_with_llvm_symbolizer(reports, elf5, arch, kind):
    sc, rep = reports[(arch, kind)]
    assert len(rep.crashes) == 1 and not rep.warnings
    crash = rep.crashes[0]
    first_ret = kind in ("assert", "panic")  # records without a trap frame start with a return address
    lookups = [pc - 1 if (i or first_ret) else pc for i, pc in enumerate(sc.backtrace)]
    oracle = normalize_oracle(elf5[arch], lookups, llvm_symbolize(elf5[arch], lookups))
    for i, expected in enumerate(oracle):
        got = [(f.function, f.file, f.line) for f in crash.frames if f.index == i]
        assert got == expected, (i, hex(lookups[i]))


@pytest.mark.parametrize("arch", ARCHES)
def test_titles(reports, arch):
    t = {k: reports[(arch, k)][1].crashes[0].title for k in KINDS}
    assert t["null"].startswith("page fault in ") and t["null"].endswith("(null dereference)")
    assert t["write-text"] == "page fault in walk (write to kernel text)"
    assert t["stack-overflow"] == "stack overflow in fib"
    assert t["undefined"] == "undefined instruction in crash_undefined"
    assert t["assert"] == "assertion failed in pmm_free: page <addr> not allocated"
    assert t["lockup"] == "watchdog: lockup on cpu 1"
    assert t["panic"] == "panic in crash_panic: crash injected: panic"
    if arch == "x86_64":
        assert t["divide"] == "divide error in crash_undefined"

"""Golden files from REAL crashes (fixtures/crashes/<arch>/<kind>.log + <kind>.expected.json),
written by scripts/regen_crash_fixtures.py. Skipped while none exist (the kernel cannot crash on
demand yet). With the kernel build whose build id the fixture records, every frame is compared
with llvm-symbolizer; with another build only what does not depend on symbols is compared."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from axiomdbg.qemu import kernel_path
from axiomdbg.triage import KernelSet, parse_log, triage_texts

from .helpers import ROOT, llvm_symbolize, normalize_oracle

FIXTURES = sorted((ROOT / "fixtures" / "crashes").glob("*/*.expected.json"))
FIXTURES = [p for p in FIXTURES if p.parent.name != "synthetic"]


@pytest.mark.skipif(not FIXTURES, reason="no real crash fixtures yet: run scripts/regen_crash_fixtures.py")
@pytest.mark.parametrize("expected_path", FIXTURES, ids=[f"{p.parent.name}-{p.name.split('.')[0]}" for p in FIXTURES])
def test_real_crash_fixture(expected_path: Path):
    arch, kind = expected_path.parent.name, expected_path.name.split(".")[0]
    expected = json.loads(expected_path.read_text())
    log = (expected_path.parent / f"{kind}.log").read_bytes()
    if expected.get("skipped"):
        assert parse_log(log).records == []
        return
    (rec,) = parse_log(log).records
    assert rec.arch == arch and rec.kind == expected["kind"] and not rec.truncated
    elf = kernel_path(arch)
    same_build = elf.exists() and KernelSet([elf]).kernels[0].build_id == rec.effective_build_id
    if not same_build:
        rep = triage_texts([(kind, log)])
        assert rep.crashes[0].decoded.name == expected["decoded"]
        # classes that need the crashing ELF's symbols (kernel text, stacks) are checked only
        # with that ELF; the rest (null page, user, direct map) must hold without it
        if expected["address_class"] not in ("kernel-text", "kernel-rodata", "kernel-data", "kernel-image",
                                             "kernel-stack"):
            assert (rep.crashes[0].address_class.kind if rep.crashes[0].address_class else None) \
                == expected["address_class"]
        pytest.skip(f"build/{arch}-embedded/axiom.elf is not the kernel that crashed: symbols not compared")
    rep = triage_texts([(kind, log)], KernelSet([elf]))
    (crash,) = rep.crashes
    assert crash.title == expected["title"]
    assert [[f.function, f.line, f.inlined] for f in crash.frames] == [[f[0], f[2], f[3]] for f in expected["frames"]]
    lookups = sorted({f.lookup for f in crash.frames})
    oracle = dict(zip(lookups, normalize_oracle(elf, lookups, llvm_symbolize(elf, lookups))))
    for idx in sorted({f.index for f in crash.frames}):
        frames = [f for f in crash.frames if f.index == idx]
        assert [(f.function, f.file, f.line) for f in frames] == oracle[frames[0].lookup]

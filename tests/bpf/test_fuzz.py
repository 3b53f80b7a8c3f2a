"""Bounded verifier fuzzing: random and mutated programs; every accepted program
runs unchecked in the ASan+UBSan build without an out-of-bounds access.
bench/bpf_fuzz.py runs the same driver much longer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .fuzzgen import batch, write_batch

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "build" / "host" / "bpf-fuzz-asan"


@pytest.fixture(scope="module")
def driver():
    from axiomdbg.bpf.lib import build
    return build(FUZZ)          # serialised across xdist workers


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_accepted_programs_stay_in_bounds(driver, tmp_path, seed):
    progs = tmp_path / "progs.bin"
    write_batch(progs, batch(seed, 4000))   # bench/bpf_fuzz.py runs far more
    r = subprocess.run([str(driver), str(progs)], capture_output=True, text=True,
                       env={"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    counts = dict(zip(r.stdout.split()[0::2], map(int, r.stdout.split()[1::2])))
    assert counts["programs"] == 4000
    assert counts["accepted"] > 200, "the generator should produce accepted programs"
    assert counts["run_errors"] == 0

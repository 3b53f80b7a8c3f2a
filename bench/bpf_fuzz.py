"""Long verifier fuzzing run (tests/bpf/test_fuzz.py runs a bounded version).

Generates random and mutated programs in batches and feeds them to the
ASan+UBSan driver build/host/bpf-fuzz-asan; stops at the first batch that
reports an error and keeps it in build/host/fuzz-failure.bin.

    .venv/bin/python bench/bpf_fuzz.py [--batches 50] [--size 20000] [--seed 1]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.bpf.fuzzgen import batch, write_batch  # noqa: E402

DRIVER = ROOT / "build/host/bpf-fuzz-asan"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=50)
    ap.add_argument("--size", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    subprocess.run(["make", "-s", "-f", "kernel/bpf/host.mk", str(DRIVER)], cwd=ROOT, check=True)
    work = ROOT / "build/host/fuzz-batch.bin"
    total = accepted = 0
    t0 = time.time()
    for b in range(args.batches):
        write_batch(work, batch(args.seed * 100003 + b, args.size))
        r = subprocess.run([str(DRIVER), str(work)], capture_output=True, text=True)
        if r.returncode != 0:
            shutil.copy(work, ROOT / "build/host/fuzz-failure.bin")
            print(r.stdout + r.stderr[-4000:])
            print(f"batch {b}: FAILURE kept in build/host/fuzz-failure.bin")
            return 1
        f = r.stdout.split()
        total += int(f[1])
        accepted += int(f[3])
        print(f"batch {b}: {r.stdout.strip()}")
    print(f"{total} programs, {accepted} accepted loads ran cleanly in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Triage benchmark: log scan throughput and symbolization rate against llvm-symbolizer.

    .venv/bin/python bench/triage_scan.py [--mb 32] [--kernel ELF] [--addresses 20000]

1. Scan: a generated serial log of about --mb MiB (boot noise, ANSI colours, CRLF, one panic
   record every ~200 lines, some truncated) is parsed with axiomdbg.triage.parse_log: MB/s.
2. Symbolize: --addresses addresses of the kernel's text (the fixture program built for riscv64
   when no --kernel is given), looked up with axiomdbg.core.symbolize (index build counted
   separately) and with one batch run of `llvm-symbolizer --inlining` on the same addresses in the
   same run: addresses/s of each and the ratio. Results are checked to agree.
"""
from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from axiomdbg.core.symbolize import Symbolizer  # noqa: E402
from axiomdbg.triage import parse_log  # noqa: E402
from axiomdbg.triage.synth import ARCH_CAUSES, NOISE, format_record  # noqa: E402


def make_log(mib: float, seed: int = 1) -> tuple[bytes, int]:
    rng = random.Random(seed)
    target = int(mib * 1024 * 1024)
    parts: list[str] = []
    size = 0
    records = 0
    while size < target:
        chunk = [f"\x1b[32m[{rng.random() * 1000:12.6f}]\x1b[0m {rng.choice(NOISE)}" for _ in range(200)]
        arch = rng.choice(sorted(ARCH_CAUSES))
        kind, cause, raw, err = ARCH_CAUSES[arch][rng.choice(sorted(ARCH_CAUSES[arch]))]
        rec = format_record(arch, kind=kind, cause=cause, raw_cause=raw, error_code=err, fault_addr=rng.getrandbits(48),
                            registers={f"x{i}": rng.getrandbits(64) for i in range(31)},
                            backtrace=[0xFFFFFFFF80200000 + rng.randrange(1 << 20) for _ in range(12)],
                            build_id=f"{rng.getrandbits(160):040x}", newline="\r\n")
        if rng.random() < 0.1:
            rec = rec[: rng.randrange(len(rec))]
        text = "\r\n".join(chunk) + "\r\n" + rec
        parts.append(text)
        size += len(text)
        records += 1
    return "".join(parts).encode(), records


def text_addresses(sym: Symbolizer, n: int, seed: int = 2) -> list[int]:
    lo, hi = sym.address_of("__text_start"), sym.address_of("__text_end")
    if lo is None or hi is None:
        ranges = list(sym.function_ranges())
        lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    rng = random.Random(seed)
    return [rng.randrange(lo, hi) for _ in range(n)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=32.0, help="size of the generated log in MiB")
    ap.add_argument("--kernel", type=Path, help="ELF to symbolize against (default: the riscv64 fixture)")
    ap.add_argument("--addresses", type=int, default=20000)
    args = ap.parse_args()

    data, nrec = make_log(args.mb)
    t0 = time.perf_counter()
    res = parse_log(data, "bench.log")
    dt = time.perf_counter() - t0
    mb = len(data) / 1e6
    print(f"scan: {mb:.1f} MB, {nrec} records written, {len(res.records)} found "
          f"({sum(r.truncated for r in res.records)} truncated) in {dt:.2f} s = {mb / dt:.1f} MB/s")

    tmp = None
    elf = args.kernel
    if elf is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from triage.helpers import build_fixture  # noqa: E402
        tmp = tempfile.TemporaryDirectory(prefix="axiomdbg-bench-")
        elf = build_fixture("riscv64", Path(tmp.name), 5)
    t0 = time.perf_counter()
    Symbolizer._cache.clear()
    sym = Symbolizer(elf)
    addrs = text_addresses(sym, args.addresses)
    sym.symbolize(addrs[0])
    t_index = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = [sym.symbolize(a) for a in addrs]
    t_ours = time.perf_counter() - t0
    print(f"symbolize (axiomdbg): index {t_index * 1000:.0f} ms, {len(addrs)} addresses in {t_ours:.3f} s "
          f"= {len(addrs) / t_ours:,.0f} addresses/s")
    if shutil.which("llvm-symbolizer"):
        t0 = time.perf_counter()
        out = subprocess.run(["llvm-symbolizer", f"--obj={elf}", "--inlining"],
                             input="\n".join(hex(a) for a in addrs), capture_output=True, text=True, check=True).stdout
        t_llvm = time.perf_counter() - t0
        blocks = out.strip("\n").split("\n\n")
        agree = sum(1 for b, o in zip(blocks, ours) if len(b.splitlines()) == 2 * len(o))
        print(f"symbolize (llvm-symbolizer, one batch process): {t_llvm:.3f} s = {len(addrs) / t_llvm:,.0f} addresses/s")
        print(f"ratio axiomdbg/llvm-symbolizer: {t_llvm / t_ours:.2f}x the rate "
              f"(same frame count for {agree}/{len(addrs)} addresses)")
    else:
        print("llvm-symbolizer not found: no comparison")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Interpreter speed: nanoseconds per executed eBPF instruction.

Runs a verified loop (cloud profile) through PROG_TEST_RUN with many repeats and
divides the mean run time by the instructions it executes. Baselines measured
in the same run: an empty program (the fixed cost of a run, subtracted) and
the same loop loaded unverified (checked mode: every access bounds-checked).

    .venv/bin/python bench/bpf_interp.py [--iterations 1000] [--repeat 2000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from axiomdbg.bpf import lib  # noqa: E402
from axiomdbg.bpf.asm import assemble  # noqa: E402

LOOP = """
    mov %r0, 0
    mov %r2, 0
    stdw [%r10-8], 0
loop:
    ldxdw %r3, [%r10-8]
    add %r3, %r2
    stxdw [%r10-8], %r3
    xor %r0, %r3
    add %r2, 1
    jlt %r2, {n}, loop
    exit
"""
PER_ITER = 6


def mean_ns(bpf: lib.Bpf, prog: bytes, verify: bool, repeat: int) -> float:
    pid, _ = bpf.prog_load(prog, "mem", "cloud", mem_size=8, verify=verify, log_level=0)
    try:
        best = None
        for _ in range(5):
            a = lib.Attr().u32(0, pid).u32(8, 8).u32(32, repeat)
            a.ptr(16, b"\0" * 8)
            assert bpf.cmd("PROG_TEST_RUN", a) == 0, bpf.last_error()
            d = a.get32(36)
            best = d if best is None else min(best, d)
        return float(best)
    finally:
        bpf.close(pid)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=2000)
    args = ap.parse_args()
    bpf = lib.Bpf()
    loop = assemble(LOOP.format(n=args.iterations))
    empty = assemble("mov %r0, 0\nexit")
    insns = 4 + PER_ITER * args.iterations
    base = mean_ns(bpf, empty, True, args.repeat * 10)
    verified = mean_ns(bpf, loop, True, args.repeat)
    checked = mean_ns(bpf, loop, False, args.repeat)
    print(f"empty program (baseline run cost): {base:8.1f} ns/run")
    print(f"verified loop:  {verified:10.1f} ns/run  {(verified - base) / insns:6.2f} ns/insn  ({insns} insns)")
    print(f"checked loop:   {checked:10.1f} ns/run  {(checked - base) / insns:6.2f} ns/insn  "
          f"(unverified, {checked / verified:.2f}x verified)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

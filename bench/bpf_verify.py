"""Verification time against program size (kernel verifier, host build).

Three program shapes: straight-line ALU code, a chain of data-dependent
diamonds (if/else joining again: without state pruning this is exponential),
and map lookups with null checks. The baseline, measured in the same run, is
the smallest program of each shape: the report shows ns per instruction and how
that compares to the baseline (1.0x = perfectly linear).

    .venv/bin/python bench/bpf_verify.py [--sizes 100,1000,10000,30000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from axiomdbg.bpf import lib  # noqa: E402
from axiomdbg.bpf.asm import assemble  # noqa: E402


def straight(n: int) -> str:
    body = ["mov %r0, 0", "mov %r1, 1"]
    ops = ["add %r0, %r1", "xor %r0, 0x55", "lsh %r0, 1", "and %r0, 0xffff", "mul %r1, 3"]
    body += [ops[i % len(ops)] for i in range(n - 3)]
    return "\n".join(body + ["exit"])


def diamonds(n: int) -> str:
    """if/else on fresh data joining again; r0 differs on the two sides, so only
    precision tracking lets the join prune (it is not used in a safety check)."""
    body = ["mov %r0, 0"]
    i = 0
    while len(body) < n - 1:
        body += [f"ldxb %r6, [%r1+{i % 8}]", "jset %r6, 1, +2", "add %r0, 1", "ja +1", "add %r0, 2",
                 "and %r0, 0xff"]
        i += 1
    return "\n".join(body + ["exit"])


def lookups(n: int) -> str:
    body = ["stw [%r10-4], 0"]
    while len(body) < n - 2:
        body += ["lddw %r1, map_idx(0)", "mov %r2, %r10", "add %r2, -4", "call 1",
                 "jeq %r0, 0, +1", "ldxdw %r3, [%r0+0]"]
    return "\n".join(body + ["mov %r0, 0", "exit"])


def measure(prog: bytes, shape: str, bpf: lib.Bpf, maps: list[int]) -> tuple[float, int]:
    best = float("inf")
    processed = 0
    for _ in range(3):
        t0 = time.perf_counter_ns()
        if shape == "lookups":
            pid, _ = bpf.prog_load(prog, "mem", "cloud", mem_size=8, fd_array=maps, log_level=0)
            processed = bpf.info(pid)["verified_insns"]
            bpf.close(pid)
        else:
            v = lib.verify(prog, "mem", "cloud", 0, 8)
            assert v.ok, v.reason
            processed = v.processed
        best = min(best, time.perf_counter_ns() - t0)
    return best, processed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000,10000,30000")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    bpf = lib.Bpf()
    m = bpf.map_create("array", 4, 8, 1)
    print(f"{'shape':10} {'insns':>7} {'processed':>10} {'ms':>9} {'ns/insn':>9} {'vs baseline':>11}")
    for shape, gen in (("straight", straight), ("diamonds", diamonds), ("lookups", lookups)):
        base = None
        for n in sizes:
            prog = assemble(gen(n))
            ns, processed = measure(prog, shape, bpf, [m])
            per = ns / (len(prog) // 8)
            base = base or per
            print(f"{shape:10} {len(prog) // 8:7} {processed:10} {ns / 1e6:9.3f} {per:9.1f} {per / base:10.2f}x")
    bpf.close(m)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

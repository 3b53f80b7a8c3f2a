"""Kernel benchmarks per architecture (issue 2): boot-to-init time, spawn+exit
per second, null-syscall round trip.

Times inside the guest come from its CLOCK_MONOTONIC (/bin/kbench), so serial
latency does not count. Each figure is also given as a ratio to a baseline
measured in the same run: the syscall against a plain function call, boot-to-init
against boot-to-first-kernel-line (firmware + early boot). Under TCG everything is
emulated, so compare ratios across machines, not absolute times.

    .venv/bin/python bench/kernel_bench.py [--arch A,...] [--runs N] [--out docs/benchmarks-kernel.md]
"""
import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from axiomdbg import qemu  # noqa: E402


def one_run(arch: str, kernel: Path) -> dict:
    cfg = qemu.MachineConfig(arch=arch, kernel=kernel, cmdline="selftest=0 init=/bin/kbench")
    t0 = time.monotonic()
    with qemu.Machine(cfg) as m:
        m.read_until(rb"axiom: build-id", timeout=120)
        t_first = time.monotonic() - t0
        m.read_until(rb"axiom: started /bin/kbench", timeout=120)
        t_init = time.monotonic() - t0
        log = m.read_until(rb"kbench: spawn_exit_per_s \d+", timeout=300)
    vals = {k.decode(): int(v) for k, v in re.findall(rb"kbench: (\w+) (\d+)", log)}
    vals["boot_first_line_ms"] = t_first * 1000
    vals["boot_to_init_ms"] = t_init * 1000
    return vals


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="all")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    arches = list(qemu.ARCHES) if a.arch == "all" else a.arch.split(",")
    rows = []
    for arch in arches:
        kernel = qemu.build_kernel(arch)
        runs = [one_run(arch, kernel) for _ in range(a.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        rows.append((arch, med))
    lines = ["| arch | boot to init (ms) | ÷ boot to first line | null syscall (ns) | ÷ plain call | spawn+exit /s |",
             "|---|---|---|---|---|---|"]
    for arch, m in rows:
        lines.append(f"| {arch} | {m['boot_to_init_ms']:.0f} | {m['boot_to_init_ms'] / m['boot_first_line_ms']:.2f} | "
                     f"{m['null_syscall_ns']:.0f} | {m['null_syscall_ns'] / max(m['call_ns'], 1):.0f}× | "
                     f"{m['spawn_exit_per_s']:.0f} |")
    text = "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).write_text("# Kernel benchmarks\n\nMedian of %d runs under QEMU TCG, measured by "
                               "`bench/kernel_bench.py`.\n\n%s\n" % (a.runs, text))


if __name__ == "__main__":
    main()

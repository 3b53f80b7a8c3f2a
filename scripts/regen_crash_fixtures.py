#!/usr/bin/env python3
"""Regenerate the golden crash fixtures from REAL crashes of the current kernel.

For every arch and every crash-injection kind (kernel/include/crash.h) this builds the kernel,
boots it under QEMU (axiomdbg.qemu.Machine) with ``crash=KIND`` on the command line, reads the
serial console until the panic record's END marker, and writes

    fixtures/crashes/<arch>/<kind>.log            the raw serial log
    fixtures/crashes/<arch>/<kind>.expected.json  the expected triage report (see below)
    fixtures/crashes/<arch>/kernel.build-id       the build id of the kernel that crashed

The expected report is the triage of the log against that kernel, reduced to what must stay
stable: title, kind, cause, decoded cause name, address class, and frames (function, file name
relative to the repository, line, inlined). tests/triage/test_crash_fixtures.py checks it; when
the current build has the same build id it also re-symbolizes every frame and compares with
llvm-symbolizer.

Kinds that cannot crash on an arch (``divide`` on aarch64/riscv64: integer division never traps,
the kernel prints "crash: integer division never traps" and carries on) are recorded as skipped.

    .venv/bin/python scripts/regen_crash_fixtures.py [--arch riscv64] [--kind null] [--no-build]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from axiomdbg import qemu  # noqa: E402
from axiomdbg.errors import AxiomError, GuestError  # noqa: E402
from axiomdbg.triage import KernelSet, triage_texts  # noqa: E402

from axiomdbg.crashrun import KINDS  # noqa: E402  (one list of crash kinds)
OUT = ROOT / "fixtures" / "crashes"


def summarize(crash) -> dict:
    def rel(path):
        if not path:
            return None
        p = Path(path)
        try:
            return p.resolve().relative_to(ROOT).as_posix()
        except (ValueError, OSError):
            return p.name
    return {
        "title": crash.title,
        "arch": crash.arch,
        "kind": crash.kind,
        "cause": crash.record.cause,
        "decoded": crash.decoded.name,
        "address_class": crash.address_class.kind if crash.address_class else None,
        "frames": [[f.function, rel(f.file), f.line, f.inlined] for f in crash.frames],
    }


def run_one(arch: str, kind: str, kernel: Path, timeout: float, smp: int) -> tuple[bytes, str]:
    from axiomdbg.crashrun import capture
    log, crashed, _ = capture(arch, kind, kernel, smp=smp, timeout=timeout, selftest=True)
    return log, "crashed" if crashed else "no-crash"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", action="append", choices=qemu.ARCHES, help="default: all")
    ap.add_argument("--kind", action="append", choices=KINDS, help="default: all")
    ap.add_argument("--no-build", action="store_true", help="use the existing build/<arch>-embedded/axiom.elf")
    ap.add_argument("--timeout", type=float, default=90.0)
    ap.add_argument("--smp", type=int, default=2, help="CPUs (the lockup watchdog needs another CPU to notice)")
    args = ap.parse_args()
    failures = 0
    for arch in args.arch or qemu.ARCHES:
        try:
            kernel = qemu.kernel_path(arch) if args.no_build else qemu.build_kernel(arch)
        except AxiomError as e:
            print(f"{arch}: cannot build the kernel: {e}", file=sys.stderr)
            if isinstance(e, GuestError) and e.detail:
                print(e.detail, file=sys.stderr)
            failures += 1
            continue
        ks = KernelSet([kernel])
        outdir = OUT / arch
        outdir.mkdir(parents=True, exist_ok=True)
        (outdir / "kernel.build-id").write_text((ks.kernels[0].build_id or "") + "\n")
        for kind in args.kind or KINDS:
            try:
                log, status = run_one(arch, kind, kernel, args.timeout, args.smp)
            except AxiomError as e:
                print(f"{arch}/{kind}: {e}", file=sys.stderr)
                if isinstance(e, GuestError) and e.detail:
                    print(e.detail, file=sys.stderr)
                failures += 1
                continue
            (outdir / f"{kind}.log").write_bytes(log)
            if status != "crashed":
                expected = {"skipped": True, "reason": re.sub(r"\s+", " ", log.decode("utf-8", "replace")[-200:])}
                print(f"{arch}/{kind}: no crash (recorded as skipped)")
            else:
                report = triage_texts([(f"{arch}/{kind}.log", log)], ks)
                if len(report.crashes) != 1:
                    print(f"{arch}/{kind}: expected 1 crash, triage found {len(report.crashes)}", file=sys.stderr)
                    failures += 1
                    continue
                expected = summarize(report.crashes[0])
                print(f"{arch}/{kind}: {expected['title']}")
            (outdir / f"{kind}.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

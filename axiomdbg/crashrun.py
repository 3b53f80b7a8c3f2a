"""`axiomdbg crash`: boot, inject a crash, capture the serial log and a memory
dump taken while the kernel sits in its halt function, and triage the log
against the same kernel ELF.

The dump (a QEMU ELF core) opens with every inspection command:
`axiomdbg ps --arch A --dump FILE --kernel ELF`, `... dmesg`, `... pt`.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import qemu
from .errors import AxiomError

KINDS = ("null", "write-text", "stack-overflow", "undefined", "divide", "assert", "lockup", "panic")
END = rb"=== AXIOM PANIC END ===|integer division never traps"


@dataclass
class CrashRun:
    arch: str
    kind: str
    crashed: bool
    log: bytes
    kernel: Path
    dump: Path | None


def run_crash(arch: str, kind: str, outdir: Path, profile: str = "embedded", smp: int = 2,
              dump: bool = True, timeout: float = 180) -> CrashRun:
    """Boot `arch`, inject `kind` through the kernel's crash device (boot option
    crash=KIND), wait for the panic record (or the kernel's refusal), and write
    <arch>-<kind>.log, the kernel ELF copy and, if it crashed, <arch>-<kind>.core."""
    if kind not in KINDS:
        raise AxiomError(f"unknown crash kind {kind!r} (choose from {', '.join(KINDS)})")
    kernel = qemu.build_kernel(arch, profile)
    outdir.mkdir(parents=True, exist_ok=True)
    # keep the exact ELF beside the dump: a later rebuild must not orphan it
    elf = outdir / f"{arch}-axiom.elf"
    shutil.copyfile(kernel, elf)
    core_path = outdir / f"{arch}-{kind}.core" if dump else None
    log, crashed, core = capture(arch, kind, elf, smp=smp, timeout=timeout, selftest=False, core=core_path)
    (outdir / f"{arch}-{kind}.log").write_bytes(log)
    return CrashRun(arch, kind, crashed, log, elf, core)


def capture(arch: str, kind: str, kernel: Path, smp: int = 2, timeout: float = 180, selftest: bool = False,
            core: Path | None = None) -> tuple[bytes, bool, Path | None]:
    """Boot `kernel` with crash=KIND, wait for the panic record (or the kernel's
    refusal), and return (serial log, crashed?, dump path). With `core`, a
    memory dump is written there while every CPU is parked in axiom_halt."""
    cmdline = f"crash={kind}" if selftest else f"selftest=0 crash={kind}"
    cfg = qemu.MachineConfig(arch=arch, kernel=kernel, smp=smp, cmdline=cmdline)
    dumped = None
    with qemu.Machine(cfg) as m:   # the Machine owns QEMU and kills it on exit
        m.read_until(END, timeout=timeout, fail_on_panic=False)
        m.drain(0.3)
        log = bytes(m.log)
        crashed = b"=== AXIOM PANIC END ===" in log
        if crashed and core is not None:
            m.stop()   # freeze the moment of the crash
            dumped = m.dump_guest_memory(core)
    return log, crashed, dumped


def triage_runs(runs: list[CrashRun]):
    from .triage import KernelSet, triage_texts

    kernels = KernelSet(sorted({str(r.kernel) for r in runs}))
    return triage_texts([(f"{r.arch}-{r.kind}.log", r.log) for r in runs if r.crashed], kernels)


def default_outdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="axiomdbg-crash-"))

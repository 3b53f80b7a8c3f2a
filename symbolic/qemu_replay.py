"""Counterexample programs replayed inside QEMU through the bpf syscall.

bpfprog.synthesize() turns an UNSOUND counterexample into an eBPF program that
the host build of the (patched) verifier accepts and whose run escapes the
verifier's bounds. Here the same program, in its map-value form
(bpfprog.qemu_form: x and y in a 24-byte array-map value, `lddw src_reg=2`),
is fed to the guest's `bpftool prog run -m 24:HEX -` (kernel/user/bin/bpftool.c,
docs/bpf.md "bpftool prog run"), which makes the map, loads the program with
BPF_PROG_LOAD (the kernel's own verifier), test-runs it with BPF_PROG_TEST_RUN
and prints one result line plus the map value after the run.

The kernel that runs it is built from the same sources the proof ran on: for
the seeded bugs and the mutants (source overrides of kernel/bpf/*.c), the
patched file is compiled with the kernel's CFLAGS and linked with the other
objects of build/<arch>-embedded/obj into build/prove/qemu/<arch>-patched-<hash>/
(symbolic/syscalls/mutants.build_patched; the real build directory is never
written). Without overrides it is build/<arch>-embedded/axiom.elf itself.

A replay escapes when the guest kernel ACCEPTS the program, r0 is 0xbad and
the escaped value the program stored is the concrete result the proof found.
QEMU is always torn down (Machine.close in a finally); every failure becomes
one QemuReplayError line.
"""

from __future__ import annotations

import fcntl
import re
from pathlib import Path

from . import bpfprog
from .targets import ROOT

QEMU_DIR = ROOT / "build" / "prove" / "qemu"
BOOT_TIMEOUT = 300.0   # guards against a hung guest, not a performance limit
RUN_TIMEOUT = 300.0
_READY = rb"init: ready"
_PROMPT = re.compile(rb"\n/\$ ")
_RESULT = re.compile(r"^bpftool: (?:accepted r0=0x(?P<r0>[0-9a-f]+)|rejected errno=(?P<rej>\d+)"
                     r"|run-error errno=(?P<run>\d+))$", re.M)
_MAP = re.compile(r"^bpftool: map\[(\d+)\]=([0-9a-f]*)$", re.M)
_KLOG = re.compile(r"^\[\s*\d+\.\d+\] ")


class QemuReplayError(RuntimeError):
    """A replay that could not be done (build, boot, console, malformed program):
    one line."""


def _one_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return s[0] if s else type(e).__name__


def base_kernel(arch: str) -> Path:
    """build/<arch>-embedded/axiom.elf, (re)built with make if its sources
    changed; serialised with the test plugin's lock so parallel builds of the
    same tree do not collide."""
    from axiomdbg import qemu

    lockdir = ROOT / "build"
    lockdir.mkdir(exist_ok=True)
    try:
        with open(lockdir / f".lock-{arch}-embedded-default", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return qemu.build_kernel(arch, "embedded")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    except Exception as e:
        raise QemuReplayError(f"building the {arch} kernel failed: {_one_line(e)}") from None


def kernel_for(arch: str, overrides: dict[str, str] | None = None) -> Path:
    """The kernel image whose kernel/bpf is the proved one: the real build, or a
    separate link with the patched file(s) of `overrides` (name in kernel/bpf ->
    source)."""
    from .syscalls.mutants import MutantError, build_patched

    base = base_kernel(arch)
    if not overrides:
        return base
    if len(overrides) != 1:
        # build_patched links one replaced object; every seeded bug and mutant patches one file
        raise QemuReplayError(f"a patched kernel can replace one kernel/bpf file, not {len(overrides)}")
    (name, text), = overrides.items()
    try:
        return build_patched(arch, f"bpf/{name}", text, "patched", out_root=QEMU_DIR)
    except MutantError as e:
        raise QemuReplayError(f"building the patched {arch} kernel failed: {_one_line(e)}") from None


def parse_output(out: str) -> dict:
    """The result of one `bpftool prog run` from its console output: accepted,
    r0 / errno, the map values, and for a rejection the verifier's last log
    line (its reason)."""
    lines = [ln for ln in out.replace("\r", "").split("\n") if not _KLOG.match(ln)]
    text = "\n".join(lines)
    res = list(_RESULT.finditer(text))
    if len(res) != 1:
        err = [ln for ln in lines if ln.startswith("bpftool: ") and not _MAP.match(ln)]
        raise QemuReplayError(err[-1] if err else
                              f"no result line from bpftool ({len(res)} found); last output: "
                              f"{' | '.join(ln for ln in lines[-3:] if ln.strip())!r}")
    m = res[0]
    maps = {int(i): h for i, h in _MAP.findall(text)}
    r = {"maps": [maps[i] for i in sorted(maps)]}
    if m["r0"] is not None:
        r.update(accepted=True, r0=int(m["r0"], 16))
    elif m["rej"] is not None:
        # the verifier's reason is its last log line before the summary
        # ("rejected: processed N insns ...") and bpftool's truncation note
        before = [ln.strip() for ln in text[:m.start()].split("\n") if ln.strip()
                  and not ln.startswith(("rejected: processed", "bpftool: log truncated"))]
        r.update(accepted=False, errno=int(m["rej"]), reason=before[-1] if before else "")
    else:
        r.update(accepted=True, run_error=int(m["run"]))
    return r


def guest_form(repro: dict) -> dict:
    """bpfprog.qemu_form, with a malformed reproducer as a QemuReplayError."""
    try:
        return bpfprog.qemu_form(repro)
    except bpfprog.NotReproducible as e:
        raise QemuReplayError(f"not a replayable program: {_one_line(e)}") from None
    except KeyError as e:
        raise QemuReplayError(f"not a replayable program: no {e} in the reproducer") from None
    except Exception as e:  # the assembler's or bytes.fromhex's complaint
        raise QemuReplayError(f"not a replayable program: {_one_line(e)}") from None


class Guest:
    """One booted kernel (`selftest=0`, up to `init: ready`) that replays
    programs over its serial console. A context manager: QEMU is killed on exit."""

    def __init__(self, arch: str, kernel: Path, smp: int = 1) -> None:
        from axiomdbg import qemu

        self.arch = arch
        self.kernel = Path(kernel)
        self.machine = qemu.Machine(qemu.MachineConfig(arch=arch, kernel=self.kernel, smp=smp,
                                                       cmdline="selftest=0"))

    def __enter__(self) -> "Guest":
        try:
            self.machine.start()
            self.machine.read_until(_READY, timeout=BOOT_TIMEOUT)
            self.machine.drain(0.3)
        except BaseException as e:
            self.machine.close()
            if isinstance(e, Exception):
                raise QemuReplayError(f"booting {self.kernel} ({self.arch}) failed: {_one_line(e)}") from None
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.machine.close()

    def command(self, line: str, stdin: str = "", timeout: float = RUN_TIMEOUT) -> str:
        """Run `line` in the guest shell, typing `stdin` after it; the console
        output (echo included) up to the next prompt."""
        m = self.machine
        if not m.alive:
            raise QemuReplayError(f"QEMU ({self.arch}) is not running")
        start = len(m.log)
        try:
            m.send(line + "\n" + (stdin + "\n" if stdin else ""))
            m.read_until(_PROMPT, timeout=timeout)
        except Exception as e:
            raise QemuReplayError(f"guest console ({self.arch}): {_one_line(e)}") from None
        raw = bytes(m.log[start:])
        end = _PROMPT.search(raw)
        return (raw[:end.start()] if end else raw).decode("utf-8", "replace")

    def run(self, repro: dict) -> dict:
        """Replay one bpfprog reproducer (the dict synthesize() returns)."""
        q = guest_form(repro)
        r = parse_output(self.command(q["argv"], q["stdin"]))
        exp = repro.get("expect", {})
        stored = None
        if r["maps"] and len(r["maps"][0]) == 2 * bpfprog.QEMU_MAP_SIZE:
            stored = int.from_bytes(bytes.fromhex(r["maps"][0])[16:24], "little")
        r.update(arch=self.arch, kernel=str(self.kernel), stored=stored,
                 escaped=bool(r["accepted"] and r.get("r0") == bpfprog.ESCAPED
                              and stored == exp.get("escaped_value", stored)))
        return r


def replay(repro: dict, arch: str, overrides: dict[str, str] | None = None) -> dict:
    """Build (or reuse) the kernel for `overrides`, boot it, replay `repro`,
    tear QEMU down. Returns Guest.run's dict; raises QemuReplayError."""
    guest_form(repro)  # a malformed reproducer fails before anything is built or booted
    with Guest(arch, kernel_for(arch, overrides)) as g:
        return g.run(repro)


def replay_rows(rows: list[dict], programs: dict[int, dict], overrides: dict[str, str] | None = None) -> None:
    """Add `qemu_replay` to the rows (index -> bpfprog reproducer in `programs`):
    one boot per arch; a failure is recorded as {"error": one line}."""
    by_arch: dict[str, list[int]] = {}
    for i in programs:
        by_arch.setdefault(rows[i]["arch"], []).append(i)
    for arch, idxs in by_arch.items():
        try:
            with Guest(arch, kernel_for(arch, overrides)) as g:
                for i in idxs:
                    try:
                        rows[i]["qemu_replay"] = _summary(g.run(programs[i]))
                    except QemuReplayError as e:
                        rows[i]["qemu_replay"] = {"arch": arch, "escaped": False, "error": str(e)}
        except QemuReplayError as e:
            for i in idxs:
                rows[i].setdefault("qemu_replay", {"arch": arch, "escaped": False, "error": str(e)})


def _summary(r: dict) -> dict:
    keys = ("arch", "accepted", "r0", "escaped", "stored", "errno", "reason", "run_error", "kernel")
    return {k: r[k] for k in keys if k in r}

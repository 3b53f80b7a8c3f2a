"""The GDB extension inside a real gdb-multiarch (driven through pygdbmi), on all
three arches, plus the `axiomdbg gdb --batch` launcher. Errors print one line
and GDB keeps working afterwards."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from axiomdbg.transport.gdbmi import GdbMi, GdbMiError

pytestmark = pytest.mark.qemu
ROOT = Path(__file__).resolve().parents[2]


def run(g: GdbMi, cli: str) -> tuple[str, str]:
    """(console output, error/log output) of one CLI command."""
    try:
        recs = g.command(f'-interpreter-exec console "{cli}"', timeout=120)
    except GdbMiError as e:
        return "", str(e)
    out = "".join(r["payload"] for r in recs if r.get("type") in ("console", "target") and r.get("payload"))
    err = "".join(r["payload"] for r in recs if r.get("type") == "log" and r.get("payload"))
    return out, err


@pytest.mark.axiom(ready=rb"init: ready[^\n]*\n(.|\n)*/\$ ")
def test_gdb_extension(axiom_target, monkeypatch):
    """One test per arch (axiom_target: built, booted with a gdbstub, torn down after)."""
    m = axiom_target.machine
    m.stop()
    monkeypatch.setenv("AXIOMDBG_QEMU_PID", str(m.proc.pid))
    with GdbMi(axiom_target.arch, str(axiom_target.elf)) as g:
        out, err = run(g, f"source {ROOT / 'gdb_scripts' / 'axiomdbg.py'}")
        assert "could not load" not in out + err, out + err
        g.connect("127.0.0.1", axiom_target.gdb_port)

        out, err = run(g, "ax ps")
        assert not err, err
        rows = [ln.split() for ln in out.splitlines()[1:] if ln.strip()]
        assert {(r[0], r[-1]) for r in rows} >= {("1", "init"), ("2", "sh")}, out

        out, err = run(g, "ax dmesg")
        assert "axiom: started /bin/init as pid 1" in out, err
        out, err = run(g, "ax mounts")
        assert out.splitlines()[:3] == ["initramfs / ramfs rw 0 0", "devfs /dev devfs rw 0 0",
                                        "proc /proc procfs ro 0 0"], out + err
        out, err = run(g, "ax pt --kernel")
        assert "kernel text" in out and "direct map" in out, out[-500:] + err
        base = int(re.search(r"kernel_virt_base\s+(0x[0-9a-f]+)", run(g, "ax layout")[0]).group(1), 16)
        out, err = run(g, f"ax vtop {base:#x}")
        assert "-> PA" in out, out + err
        out, err = run(g, "ax ls /bin")
        assert "init" in out and "sh" in out, out + err
        # sh sleeps in read() once idle; a stop can still land while it runs (finishing
        # the prompt, or inside firmware on riscv): resume and re-stop through GDB itself
        # (its stop/cont events invalidate the extension's caches) until it sleeps.
        for _ in range(20):
            out, err = run(g, "ax bt --pid 2")
            if "syscall_handler" in out:
                break
            g.command("-exec-continue")
            time.sleep(0.3)
            g.interrupt()
        assert "syscall_handler" in out, out + err

        # convenience functions return typed pointers
        out, err = run(g, "p $ax_proc(1)->pid")
        assert out.strip().endswith("= 1"), out + err
        out, err = run(g, "p $ax_proc(2)->name")
        assert '"sh"' in out, out + err
        out, err = run(g, f"p/x $ax_vtop({base:#x})")
        assert "0x" in out, out + err

        # errors: one line, no traceback, GDB stays alive
        for bad in ("ax maps --pid 4242", "ax vtop not-an-address", "ax bt --tid 999999",
                    "ax ls /no/such", "ax ps --bogus", "ax nosuchcommand"):
            out, err = run(g, bad)
            text = (out + err).strip()
            assert text, bad
            assert "Traceback" not in text and len(text.splitlines()) == 1, (bad, text)
            assert "error" in text or "unknown" in text, (bad, text)
        out, err = run(g, "p $ax_proc(4242)")
        assert "no process with pid 4242" in out + err
        out, err = run(g, "p 1+1")
        assert out.strip().endswith("= 2")


def test_gdb_launcher_batch_paging_off():
    """`axiomdbg gdb --batch` boots halted: paging is still off, so `ax ps` says so in
    one line, and the next command still runs; QEMU is gone afterwards."""
    exe = Path(sys.executable).with_name("axiomdbg")
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "axiomdbg.cli"]
    proc = subprocess.run(argv + ["gdb", "--arch", "riscv64", "--batch", "--ex", "ax vtop 0x80200000",
                                  "--ex", "ax ps", "--ex", "p 40+2"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text, text
    errs = [ln for ln in text.splitlines() if ln.startswith("ax: error:")]
    assert len(errs) == 2 and all("paging is off" in e for e in errs), text
    assert "$1 = 42" in text, text

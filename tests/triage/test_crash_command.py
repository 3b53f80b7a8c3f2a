"""`axiomdbg crash`: boots, injects, dumps at the halt function and triages. The
JSON report names the crashing function on every arch, the exit status says
crashes were found, and each memory dump opens post-mortem with `ps`, whose
process list must contain init (pid 1) as the kernel itself recorded it."""
import json
import subprocess
import sys

import pytest

from axiomdbg import qemu

pytestmark = pytest.mark.qemu


def axiomdbg(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "axiomdbg.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_crash_command_reports_and_dumps(tmp_path):
    r = axiomdbg("crash", "--arch", "all", "--inject", "null", "--format", "json", "-o", str(tmp_path))
    assert r.returncode == 1, r.stderr[-2000:]
    crashes = json.loads(r.stdout)
    assert sorted(c["arch"] for c in crashes) == sorted(qemu.ARCHES)
    for c in crashes:
        assert c["title"] == "page fault in crash_null (null dereference)", c["title"]
        assert c["frames"][0]["function"] == "crash_null" and c["frames"][0]["line"]
    for arch in qemu.ARCHES:
        core, elf = tmp_path / f"{arch}-null.core", tmp_path / f"{arch}-axiom.elf"
        assert core.exists() and elf.exists()
        ps = axiomdbg("ps", "--arch", arch, "--dump", str(core), "--kernel", str(elf), "--json")
        assert ps.returncode == 0, ps.stderr[-2000:]
        procs = {p["pid"]: p for p in json.loads(ps.stdout)}
        assert procs[1]["name"] == "init"


def test_crash_command_needs_a_kind():
    r = axiomdbg("crash", "--arch", "riscv64")
    assert r.returncode == 1 and "--inject KIND or --all" in r.stderr and "Traceback" not in r.stderr

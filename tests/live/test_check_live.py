"""`axiomdbg check` for real: build and boot riscv64/embedded, the kernel's own
selftest verdict is the oracle; the reports agree with it; a boot that cannot
reach its verdict in time fails the run with a non-zero exit and leaves no QEMU."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.qemu
ROOT = Path(__file__).resolve().parents[2]


def axiomdbg(*argv: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("axiomdbg")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "axiomdbg.cli"]
    return subprocess.run(cmd + list(argv), capture_output=True, text=True, cwd=ROOT, timeout=1800)


def qemu_pids() -> set[int]:
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().startswith("qemu-system"):
                    out.add(int(d.name))
            except OSError:
                pass
    return out


def test_check_build_and_selftest_riscv64(tmp_path):
    p = axiomdbg("check", "--only", "build,selftest", "--arch", "riscv64", "--profile", "embedded",
                 "--sarif", str(tmp_path / "r.sarif"), "--junit", str(tmp_path / "r.xml"))
    text = p.stdout + p.stderr
    assert p.returncode == 0, text
    assert "Traceback" not in text
    row = re.search(r"selftest\s*│\s*riscv64\s*│\s*embedded\s*│\s*PASS\s*│[^│]*│\s*(\d+) passed, 0 failed", text)
    assert row and int(row.group(1)) >= 30, text
    junit = ET.parse(tmp_path / "r.xml").getroot()
    cases = {(tc.get("classname"), tc.get("name")): tc for tc in junit.iter("testcase")}
    assert set(cases) == {("check.build", "riscv64-embedded"), ("check.selftest", "riscv64-embedded")}
    assert all(len(tc) == 0 or tc[0].tag == "system-out" for tc in cases.values())
    assert cases[("check.selftest", "riscv64-embedded")].find("system-out").text == f"{row.group(1)} passed, 0 failed"
    sarif = json.loads((tmp_path / "r.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"] == []
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_check_hung_boot_fails_and_kills_qemu(tmp_path):
    before = qemu_pids()
    # the riscv64 selftest needs seconds: a 1 s budget is a "hang" for check
    p = axiomdbg("check", "--only", "selftest", "--arch", "riscv64", "--profile", "embedded",
                 "--selftest-timeout", "1", "--junit", str(tmp_path / "r.xml"), "--sarif", str(tmp_path / "r.sarif"))
    text = p.stdout + p.stderr
    assert p.returncode == 1, text
    assert "timed out after 1s" in text and "Traceback" not in text
    fail = ET.parse(tmp_path / "r.xml").getroot().find(".//testcase/failure")
    assert fail is not None and "timed out" in fail.get("message")
    [res] = json.loads((tmp_path / "r.sarif").read_text())["runs"][0]["results"]
    assert res["properties"]["stage"] == "selftest" and res["level"] == "error"
    assert "outlived" not in text                 # check's own guard found no QEMU child left over
    # and none was orphaned (a QEMU whose owner died is re-parented to init): no new riscv64 QEMU
    # running this tree's image with parent 1 — other tests' QEMUs have live parents
    assert not [pid for pid in qemu_pids() - before if orphan_of_tree(pid)]


def orphan_of_tree(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_text(errors="replace").replace("\0", " ")
    except OSError:
        return False
    return "PPid:\t1\n" in status and str(ROOT / "build" / "riscv64-embedded" / "axiom.elf") in cmdline

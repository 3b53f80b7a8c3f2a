"""The installed pytest plugin as a kernel developer meets it: a test file of their
own (in a directory outside this repository, so no conftest of ours helps) that
asks for `axiom_target`.

* collection: one test per selected arch, `--axiom-arch` and the `axiom` marker
  narrow it (no boot);
* live (riscv64): the Target's view of the processes agrees with the kernel's own
  /proc over the pwntools console, its translation agrees with QEMU's gva2gpa; and
  whatever happens to a test — pass, assertion failure, setup timeout, Ctrl-C —
  every QEMU it started is dead by the end of the session (checked inside the
  session, before the PR_SET_PDEATHSIG/atexit backstops could act) and after it.
"""
from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = '''
import pytest

@pytest.mark.axiom(arches=["aarch64", "riscv64"])
def test_marked(axiom_target):
    pass

def test_every_arch(axiom_target):
    pass

def test_no_target():
    pass
'''


def _collected(pytester, *args) -> list[str]:
    res = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider", *args)
    return sorted(ln.strip() for ln in res.stdout.lines if "::" in ln)


def test_parametrised_by_selected_arches(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    assert _collected(pytester, "--axiom-arch=all") == [
        "test_user.py::test_every_arch[aarch64]", "test_user.py::test_every_arch[riscv64]",
        "test_user.py::test_every_arch[x86_64]",
        "test_user.py::test_marked[aarch64]", "test_user.py::test_marked[riscv64]",
        "test_user.py::test_no_target"]
    assert _collected(pytester, "--axiom-arch=x86_64,rv64") == [
        "test_user.py::test_every_arch[riscv64]", "test_user.py::test_every_arch[x86_64]",
        "test_user.py::test_marked[riscv64]", "test_user.py::test_no_target"]


def test_no_matching_arch_is_a_skip(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    res = pytester.runpytest("-p", "no:cacheprovider", "--axiom-arch=x86_64", "-k", "marked", "-rs")
    res.assert_outcomes(skipped=1)
    res.stdout.fnmatch_lines(["*no selected architecture*"])


def test_bad_arch_option_is_one_clear_error(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    res = pytester.runpytest("-p", "no:cacheprovider", "--axiom-arch=sparc")
    assert res.ret != 0
    assert "unknown architecture 'sparc'" in res.stdout.str() + res.stderr.str()


LIVE_CONFTEST = '''
import json, os
from pathlib import Path
import pytest
from axiomdbg import qemu

STARTED = []
_start = qemu.Machine.start

def _recording_start(self):
    m = _start(self)
    STARTED.append(self.proc.pid)
    return m

qemu.Machine.start = _recording_start

def _alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return "State:\\tZ" not in f.read()
    except FileNotFoundError:
        return False

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    # runs after pytest's own teardown of every fixture, before interpreter exit
    Path(os.environ["QEMU_REPORT"]).write_text(json.dumps(
        {"started": STARTED, "alive": [p for p in STARTED if _alive(p)]}))
'''

LIVE_TESTS = '''
import pytest
from axiomdbg.core.kernel import for_each_process, translate

def test_target_agrees_with_the_kernel(axiom_target):
    table = axiom_target.shell("cat /proc/processes").strip().splitlines()
    assert table[0].split()[0] == "pid"
    theirs = {(int(r.split()[0]), r.split()[-1]) for r in table[1:]} - {(3, "cat")}
    t = axiom_target.target                      # stops the CPUs, attaches GDB
    ours = {(p.pid.value_(), p.name.string_()) for p in for_each_process(t)}
    assert theirs and theirs <= ours, (theirs, ours)
    lay = t.kernel.layout_dict()
    va = lay["kernel_virt_base"] + 0x1000
    assert translate(t, va).pa == axiom_target.machine.gva2gpa(va)
    assert "hello" in axiom_target.shell("echo hello")   # resumes the guest
    assert axiom_target.target.kernel.find_process(1).pid.value_() == 1

def test_failing_test(axiom_target):
    assert axiom_target.machine.alive
    assert False, "deliberate failure"

@pytest.mark.axiom(ready=rb"this never appears", timeout=3)
def test_setup_timeout(axiom_target):
    pass

def test_zz_interrupt(axiom_target):
    axiom_target.target
    raise KeyboardInterrupt
'''


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "State:\tZ" not in f.read()
    except FileNotFoundError:
        return False


@pytest.mark.qemu
def test_live_target_and_no_qemu_survives(pytester, monkeypatch):
    report = pytester.path / "qemu.json"
    monkeypatch.setenv("QEMU_REPORT", str(report))
    pytester.makeconftest(LIVE_CONFTEST)
    pytester.makepyfile(test_live=LIVE_TESTS)
    res = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--axiom-arch=riscv64", "-v",
                                        timeout=900)
    out = res.stdout.str()
    assert "test_target_agrees_with_the_kernel[riscv64] PASSED" in out, out[-3000:]
    assert "test_failing_test[riscv64] FAILED" in out, out[-3000:]
    assert "test_setup_timeout[riscv64] ERROR" in out, out[-3000:]
    assert "timed out after 3s waiting for 'this never appears'" in out
    assert "KeyboardInterrupt" in out and res.ret == pytest.ExitCode.INTERRUPTED
    seen = json.loads(report.read_text())
    assert len(seen["started"]) == 4, seen            # one QEMU per test, the interrupted one included
    assert seen["alive"] == [], f"QEMU outlived its test inside the session: {seen}"
    assert not any(_alive(p) for p in seen["started"])


GUEST_FAILS = '''
from axiomdbg.errors import GuestError

def test_guest_fails():
    raise GuestError("kernel panicked", "selftest: rename\\n=== AXIOM PANIC END ===")

def test_other_failure():
    assert 0, "plain"
'''


def test_guest_error_report_shows_serial_tail(pytester):
    """A test failing on a GuestError shows the guest's serial tail (where the kernel
    stopped); other failures get no such section."""
    pytester.makepyfile(test_user=GUEST_FAILS)
    res = pytester.runpytest("-p", "no:cacheprovider")
    res.assert_outcomes(failed=2)
    out = res.stdout.str()
    assert out.count("axiom serial console (tail)") == 1
    res.stdout.fnmatch_lines(["*axiom serial console (tail)*", "selftest: rename", "=== AXIOM PANIC END ==="])

"""Suite-wide checks. The axiomdbg pytest plugin (axiomdbg/pytest_plugin.py) provides the fixtures."""
import os
from pathlib import Path

import pytest


def qemu_children(ppid: int) -> list[int]:
    """PIDs of live qemu-system-* processes whose parent is `ppid`."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            status = (d / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("Name", "").startswith("qemu-system") and int(fields.get("PPid", "0")) == ppid \
                and not fields.get("State", "").startswith("Z"):
            found.append(int(d.name))
    return found


def pytest_sessionfinish(session, exitstatus):
    """No QEMU started by this test process may outlive the session."""
    leaked = qemu_children(os.getpid())
    if leaked:
        for pid in leaked:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nERROR: QEMU processes outlived their tests: {leaked}")

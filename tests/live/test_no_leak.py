"""No QEMU outlives the command that started it, even when that command is
killed with SIGKILL (no finally/atexit runs): QEMU is started with
PR_SET_PDEATHSIG, so the kernel kills it when its parent dies."""
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.qemu

CHILD = r"""
import sys, time
from axiomdbg import qemu
m = qemu.Machine(qemu.MachineConfig(arch="riscv64", kernel=None, mem="64M")).start()
m.read_until(rb"OpenSBI", timeout=60)
print(m.proc.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "State:\tZ" not in f.read()
    except FileNotFoundError:
        return False


def test_qemu_dies_with_a_killed_owner():
    owner = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        qemu_pid = int(owner.stdout.readline())
        assert alive(qemu_pid)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        for _ in range(200):
            if not alive(qemu_pid):
                break
            time.sleep(0.05)
        assert not alive(qemu_pid), "QEMU outlived its killed owner"
    finally:
        owner.kill()

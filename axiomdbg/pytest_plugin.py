"""pytest plugin for kernel developers (installed with axiomdbg, loaded automatically).

Fixtures:

``axiom_build``
    A function ``axiom_build(arch, profile="embedded", variant="") -> Path`` that
    builds a kernel configuration once per session (safe under pytest-xdist: a
    file lock serialises concurrent builds of the same configuration).

``axiom_machine``
    A factory ``axiom_machine(arch, smp=1, cmdline="", ...) -> Machine`` that
    boots a kernel under QEMU and ALWAYS kills it at teardown, even when the
    test fails. ``machine.serial`` is a pwntools tube on the serial console.

Options: ``--axiom-arch=x86_64,riscv64`` limits parametrised tests to some arches.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from . import qemu

_built: dict[tuple[str, str, str], Path] = {}


def pytest_addoption(parser):
    group = parser.getgroup("axiomdbg")
    group.addoption("--axiom-arch", default=os.environ.get("AXIOM_ARCHES", "all"),
                    help="comma-separated architectures for axiom tests (default: all)")


def selected_arches(config) -> list[str]:
    val = config.getoption("--axiom-arch", default="all") if config else "all"
    if val == "all":
        return list(qemu.ARCHES)
    return [qemu.canonical_arch(a) for a in val.split(",")]


def build_once(arch: str, profile: str = "embedded", variant: str = "") -> Path:
    """Build a configuration at most once per process; serialise across processes."""
    key = (arch, profile, variant)
    if key in _built:
        return _built[key]
    lockdir = qemu.ROOT / "build"
    lockdir.mkdir(exist_ok=True)
    with open(lockdir / f".lock-{arch}-{profile}-{variant or 'default'}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            path = qemu.build_kernel(arch, profile, variant)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    _built[key] = path
    return path


@pytest.fixture(scope="session")
def axiom_build():
    return build_once


@pytest.fixture
def axiom_machine():
    machines: list[qemu.Machine] = []

    def boot(arch: str, smp: int = 1, cmdline: str = "", profile: str = "embedded", variant: str = "",
             mem: str = "256M", cpu: str | None = None, machine_opts: str = "", gdb: bool = False,
             halted: bool = False) -> qemu.Machine:
        kernel = build_once(arch, profile, variant)
        cfg = qemu.MachineConfig(arch=arch, kernel=kernel, smp=smp, cmdline=cmdline, mem=mem, cpu=cpu or qemu.default_cpu(arch, variant),
                                 machine_opts=machine_opts, halted=halted,
                                 gdb_port=qemu.free_tcp_port() if gdb else None)
        m = qemu.Machine(cfg)
        machines.append(m)
        return m.start()

    yield boot
    for m in machines:
        m.close()

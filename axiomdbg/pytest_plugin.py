"""pytest plugin for kernel developers (installed with axiomdbg, loaded automatically
through the ``pytest11`` entry point: no conftest needed).

Fixtures:

``axiom_target``
    One booted kernel per test, parametrised by architecture (one test per arch
    of ``--axiom-arch``; test ids ``[x86_64]``, ``[aarch64]``, ``[riscv64]``). It
    builds the image if needed (once per session, file-locked), boots a private
    copy under QEMU with a gdbstub, waits for ``init: ready`` on the console and
    yields an :class:`AxiomTarget`:

    * ``t.serial`` – a pwntools tube on the serial console (``t.shell("cat /proc/mounts")``
      runs a shell command and returns its output);
    * ``t.target`` – a live :class:`axiomdbg.core.kernel.Target` (the drgn-style
      debugger API: ``for_each_process(t.target)``, ``translate(t.target, va)``,
      ``mappings(t.target, pid)``, ``t.target["kernel_layout"]`` ...). Touching it
      stops the CPUs (QEMU monitor) and attaches gdb-multiarch for registers;
      memory is read straight from QEMU's RAM (gpa2hva + /proc/PID/mem);
    * ``t.resume()`` lets the guest run again (the next ``t.target`` re-stops it);
    * ``t.machine`` – the :class:`axiomdbg.qemu.Machine` (``gva2gpa``, ``hmp``,
      ``gdb_port``), ``t.elf`` – the ELF that is running, ``t.arch``, ``t.profile``.

    QEMU and GDB are ALWAYS torn down after the test: on success, failure, error
    during setup, and Ctrl-C (pytest runs fixture finalizers before exiting; QEMU
    also dies with its parent through PR_SET_PDEATHSIG).

    Per-test options go in a marker::

        @pytest.mark.axiom(profile="cloud", cmdline="selftest=0 smp=2", smp=2,
                           arches=["riscv64"], variant="", cpu=None,
                           ready=rb"init: ready", timeout=300)
        def test_something(axiom_target): ...

    The defaults are profile ``embedded``, one CPU and ``cmdline="selftest=0"``.
    :func:`axiom_session` is the same thing as a context manager (for module-scoped
    fixtures of your own).

``axiom_build``
    A function ``axiom_build(arch, profile="embedded", variant="") -> Path`` that
    builds a kernel configuration once per session (safe under pytest-xdist: a
    file lock serialises concurrent builds of the same configuration).

``axiom_machine``
    A factory ``axiom_machine(arch, smp=1, cmdline="", ...) -> Machine`` that
    boots a kernel under QEMU and ALWAYS kills it at teardown, even when the
    test fails. ``machine.serial`` is a pwntools tube on the serial console.

Options: ``--axiom-arch=x86_64,riscv64`` (or ``AXIOM_ARCHES``) limits the
architectures of ``axiom_target`` and of the project's parametrised tests.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from . import qemu

_built: dict[tuple[str, str, str], Path] = {}


def pytest_addoption(parser):
    group = parser.getgroup("axiomdbg")
    group.addoption("--axiom-arch", default=os.environ.get("AXIOM_ARCHES", "all"),
                    help="comma-separated architectures for axiom tests (default: all)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "axiom(profile, cmdline, smp, mem, arches, variant, cpu, ready, timeout): "
                   "options of the axiom_target fixture (axiomdbg plugin)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that fails on a GuestError (panic, hang, QEMU gone) shows the guest's
    serial tail in its report: the exception's one-line message alone does not say
    where the kernel stopped, and a flaky failure in CI cannot be re-run to find out."""
    outcome = yield
    report = outcome.get_result()
    exc = call.excinfo.value if call.excinfo is not None else None
    detail = getattr(exc, "detail", "") if exc is not None else ""
    if report.failed and detail and isinstance(detail, str):
        report.sections.append(("axiom serial console (tail)", detail))


def pytest_generate_tests(metafunc):
    """Parametrise every test that uses axiom_target over the selected arches."""
    if "axiom_arch" not in metafunc.fixturenames:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        if "axiom_arch" in (names.replace(" ", "").split(",") if isinstance(names, str) else names):
            return                        # the test chose its arches itself
    arches = selected_arches(metafunc.config)
    mark = metafunc.definition.get_closest_marker("axiom")
    if mark is not None and mark.kwargs.get("arches"):
        wanted = [qemu.canonical_arch(a) for a in mark.kwargs["arches"]]
        arches = [a for a in arches if a in wanted]
    if not arches:
        metafunc.parametrize("axiom_arch", [pytest.param(None, marks=pytest.mark.skip(
            reason="no selected architecture (see --axiom-arch)"))], ids=["none"])
        return
    metafunc.parametrize("axiom_arch", arches, ids=arches)


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


# ---------------------------------------------------------------------------
# axiom_target

PROMPT = re.compile(rb"\n/\$ ")
_TARGET_OPTS = ("profile", "cmdline", "smp", "variant", "cpu", "ready", "timeout", "mem")


class AxiomTarget:
    """A booted axiom kernel with its serial console and (on demand) a live debugger Target."""

    def __init__(self, arch: str, profile: str = "embedded", cmdline: str = "selftest=0", smp: int = 1,
                 variant: str = "", cpu: str | None = None, ready: bytes | str = rb"init: ready",
                 timeout: float = 300.0, mem: str = "256M"):
        self.arch = qemu.canonical_arch(arch)
        self.profile, self.variant = profile, variant
        self.cmdline, self.smp, self.mem = cmdline, smp, mem
        self.cpu = cpu if cpu is not None else qemu.default_cpu(self.arch, variant)
        self.ready, self.timeout = ready, timeout
        self.machine: qemu.Machine | None = None
        self.elf: Path | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._gdb = None
        self._mem = None
        self._session = None
        self._types = None

    # -- lifecycle -------------------------------------------------------
    def start(self) -> "AxiomTarget":
        built = build_once(self.arch, self.profile, self.variant)
        # boot a private copy: a rebuild in the tree must not change the ELF whose
        # DWARF describes the running kernel
        self._tmp = tempfile.TemporaryDirectory(prefix="axiomdbg-target-")
        self.elf = Path(self._tmp.name) / "axiom.elf"
        shutil.copyfile(built, self.elf)
        cfg = qemu.MachineConfig(arch=self.arch, kernel=self.elf, smp=self.smp, mem=self.mem,
                                 cmdline=self.cmdline, cpu=self.cpu, gdb_port=qemu.free_tcp_port())
        self.machine = qemu.Machine(cfg)
        self.machine.start()
        self.machine.read_until(self.ready, timeout=self.timeout)
        return self

    def close(self) -> None:
        """Detach GDB, kill QEMU, remove the private ELF. Idempotent; never raises."""
        self._detach()
        if self.machine is not None:
            try:
                self.machine.close()
            except Exception:
                pass
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "AxiomTarget":
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()

    # -- console ---------------------------------------------------------
    @property
    def serial(self):
        """The pwntools tube on the serial console (what the guest prints, what you send)."""
        return self.machine.serial

    @property
    def gdb_port(self) -> int:
        return self.machine.config.gdb_port

    def shell(self, cmd: str, timeout: float = 60.0) -> str:
        """Run `cmd` in the guest's shell and return its output (without echo, prompt and
        interleaved kernel log lines). Resumes the guest if the debugger stopped it."""
        self.resume()
        return shell(self.machine, cmd, timeout)

    # -- debugger ----------------------------------------------------------
    @property
    def stopped(self) -> bool:
        return self._session is not None

    def stop(self):
        """Stop the CPUs and attach the debugger; return the Session (idempotent)."""
        if self._session is not None:
            return self._session
        from .commands import Session
        from .errors import AxiomError
        from .oneshot import CachedRegisters
        from .transport.gdbmi import GdbMi
        from .transport.qemu_direct import QemuPhysicalMemory

        m = self.machine
        if m is None or not m.alive:
            raise AxiomError("QEMU is not running: nothing to inspect")
        m.stop()
        self._gdb = GdbMi(self.arch, str(self.elf))
        self._gdb.connect("127.0.0.1", self.gdb_port)
        self._mem = QemuPhysicalMemory(m.proc.pid, m.hmp)

        def liveness() -> None:
            if not m.alive:
                raise AxiomError(f"QEMU (pid {m.proc.pid}) has exited: nothing to inspect")
        self._session = Session(self.arch, self._mem, CachedRegisters(self._gdb), elf=str(self.elf),
                                types=self._types, liveness=liveness)
        return self._session

    @property
    def session(self):
        """The axiomdbg.commands.Session of the stopped kernel (stops it if running)."""
        return self.stop()

    @property
    def target(self):
        """A live :class:`axiomdbg.core.kernel.Target` on the stopped kernel (stops it if running)."""
        from .core.kernel import Target
        return Target(self.stop())

    def resume(self) -> None:
        """Let the guest run again; the next `target` access stops it and re-attaches."""
        if self._session is None:
            return
        self._detach()
        if self.machine is not None and self.machine.alive:
            self.machine.cont()

    def _detach(self) -> None:
        if self._session is not None and self._session._types is not None:
            self._types = self._session._types       # keep the parsed DWARF across stops
        self._session = None
        if self._gdb is not None:
            try:
                self._gdb.close()
            except Exception:
                pass
            self._gdb = None
        if self._mem is not None:
            try:
                self._mem.close()
            except Exception:
                pass
            self._mem = None


def shell(m: qemu.Machine, cmd: str, timeout: float = 60.0) -> str:
    """Run a command in the guest shell over the serial console and return its output
    (without the echoed command, the prompt and kernel log lines)."""
    start = len(m.log)
    m.send(cmd + "\n")
    deadline = time.monotonic() + timeout
    while not PROMPT.search(m.log, start):
        if time.monotonic() > deadline or not m.alive:
            raise AssertionError(f"no prompt after {cmd!r}: {bytes(m.log[start:])[-500:]!r}")
        m.drain(0.1)
    text = bytes(m.log[start:]).decode("utf-8", "replace").replace("\r", "")
    lines = text.split("\n")
    body = [ln for ln in lines[1:] if not ln.startswith("/$")]
    return "\n".join(ln for ln in body if not re.match(r"^\[\s*\d+\.\d+\] ", ln))


@contextlib.contextmanager
def axiom_session(arch: str, **opts) -> Iterator[AxiomTarget]:
    """Boot a target as a context manager (what axiom_target does per test); QEMU is
    killed when the block exits, however it exits."""
    t = AxiomTarget(arch, **opts)
    with t:
        yield t


@pytest.fixture
def axiom_arch(request):
    """The architecture of this test instance (parametrised by pytest_generate_tests)."""
    return request.param


@pytest.fixture
def axiom_target(request, axiom_arch):
    mark = request.node.get_closest_marker("axiom")
    opts = {k: v for k, v in (mark.kwargs if mark else {}).items() if k in _TARGET_OPTS}
    t = AxiomTarget(axiom_arch, **opts)
    try:
        t.start()
        yield t
    finally:
        t.close()

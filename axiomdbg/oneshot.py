"""One-shot inspection: boot (or attach to, or open a dump of) a kernel, run one
inspection command from :mod:`axiomdbg.commands`, print, and clean up.

Three ways to get a stopped target:
  * fresh boot (default): build if needed, boot under QEMU, let it run until
    init prints `init: ready`, stop it, inspect, kill QEMU;
  * `--attach HOST:PORT`: a running gdbstub (QEMU started elsewhere);
  * `--dump FILE --kernel ELF`: a memory dump (post-mortem).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from . import qemu
from .commands import COMMANDS, Session
from .errors import AxiomError
from .transport.gdbmi import GdbMi
from .transport.qemu_direct import QemuPhysicalMemory

READY = rb"init: ready"


class CachedRegisters:
    """Read each register once per stop (registers don't change while stopped)."""

    def __init__(self, inner):
        self.inner = inner
        self._c: dict[str, int] = {}

    def read_reg(self, name: str) -> int:
        if name not in self._c:
            self._c[name] = self.inner.read_reg(name)
        return self._c[name]

    def invalidate(self) -> None:
        self._c.clear()


default_cpu = qemu.default_cpu   # kept importable from here for existing callers


@contextlib.contextmanager
def live_session(arch: str, smp: int = 1, profile: str = "embedded", variant: str = "", cmdline: str = "",
                 cpu: str | None = None, ready: bytes = READY, timeout: float = 300,
                 before_stop=None) -> Iterator[tuple[Session, qemu.Machine]]:
    """Boot a fresh kernel, wait for `ready`, stop it, and yield a Session on it.

    ``before_stop(machine)`` runs after `ready` and before the CPUs are stopped
    (tests use it to read the kernel's own /proc views over the serial shell)."""
    built = qemu.build_kernel(arch, profile, variant)
    if cpu is None:
        cpu = default_cpu(arch, variant)
    # Boot a private copy: a rebuild in the tree while we inspect must not change the
    # ELF under our feet (its DWARF would no longer match the running kernel).
    tmp = tempfile.TemporaryDirectory(prefix="axiomdbg-elf-")
    kernel = Path(tmp.name) / "axiom.elf"
    shutil.copyfile(built, kernel)
    cfg = qemu.MachineConfig(arch=arch, kernel=kernel, smp=smp, cmdline=cmdline, cpu=cpu,
                             gdb_port=qemu.free_tcp_port())
    with tmp, qemu.Machine(cfg) as m:
        m.read_until(ready, timeout=timeout)
        if before_stop is not None:
            before_stop(m)
        m.stop()
        with GdbMi(arch, str(kernel)) as g:
            g.connect("127.0.0.1", cfg.gdb_port)
            mem = QemuPhysicalMemory(m.proc.pid, m.hmp)

            def liveness() -> None:
                if not m.alive:
                    raise AxiomError(f"QEMU (pid {m.proc.pid}) has exited: nothing to inspect")
            try:
                yield Session(arch, mem, CachedRegisters(g), elf=str(kernel), liveness=liveness), m
            finally:
                mem.close()


@contextlib.contextmanager
def attach_session(arch: str, address: str, elf: str | None) -> Iterator[Session]:
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise AxiomError(f"--attach wants HOST:PORT, got {address!r}")
    with GdbMi(arch, elf) as g:
        g.connect(host or "127.0.0.1", int(port))
        yield Session(arch, g, CachedRegisters(g), elf=elf)


def open_dump(arch: str, dump: str, elf: str, registers: dict[str, int] | None = None) -> Session:
    """A Session on a memory dump (QEMU ELF core, or a compact snapshot from
    fixtures/dumps/, possibly .xz/.gz).

    Paging registers: ``registers`` if given (a snapshot records the CPU's real
    ones), else synthesised from the layout note. General registers (pc, sp,
    frame pointer, the CPU-local tp/gs_base) come from the dump's NT_PRSTATUS
    notes: those of the CPU that panicked, else CPU 0; every CPU's set is kept in
    ``session.cpu_regs`` for the post-mortem backtrace. Close with
    ``session.raw_mem.close()``."""
    from .core.kernel import registers_from_layout
    from .core.memory import DictRegisters
    from .transport.dump import DumpMemory

    mem = DumpMemory(dump)
    try:
        s = Session(arch, mem, None, elf=elf)
        s.cpu_regs = mem.cpu_registers()
        s.regs = DictRegisters(registers) if registers else registers_from_layout(s)
        if s.cpu_regs:
            try:
                cpu = s.kernel.panic_cpu() or 0
            except AxiomError:
                cpu = 0
            for k, v in s.cpu_regs[min(cpu, len(s.cpu_regs) - 1)].items():
                if k not in s.regs:
                    s.regs[k] = v
        return s
    except BaseException:
        mem.close()
        raise


@contextlib.contextmanager
def dump_session(arch: str, dump: str, elf: str, registers: dict[str, int] | None = None) -> Iterator[Session]:
    s = open_dump(arch, dump, elf, registers)
    try:
        yield s
    finally:
        s.raw_mem.close()


def run_command(session: Session, name: str, argv: list[str]) -> str:
    cmd = COMMANDS[name]
    try:
        ns = cmd.parser().parse_args(argv)
    except Exception as e:   # argparse.ArgumentError with exit_on_error=False
        raise AxiomError(f"{name}: {e}") from None
    buf = io.StringIO()
    session.check()
    cmd.run(session, ns, buf)
    return buf.getvalue()


def oneshot(name: str, argv: list[str], arch: str, attach: str | None = None, dump: str | None = None,
            kernel: str | None = None, smp: int = 1, profile: str = "embedded", variant: str = "") -> str:
    arch = qemu.canonical_arch(arch)
    if dump:
        if not kernel:
            raise AxiomError("--dump needs --kernel ELF (the kernel that produced the dump)")
        with dump_session(arch, dump, kernel) as s:
            return run_command(s, name, argv)
    if attach:
        elf = kernel or str(qemu.kernel_path(arch, profile, variant))
        with attach_session(arch, attach, elf if Path(elf).exists() else None) as s:
            return run_command(s, name, argv)
    with live_session(arch, smp=smp, profile=profile, variant=variant) as (s, _m):
        return run_command(s, name, argv)

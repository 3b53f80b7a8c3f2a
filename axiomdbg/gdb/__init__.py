"""The GDB side of axiomdbg — the only package that imports `gdb`.

Loaded by `gdb -x gdb_scripts/axiomdbg.py`. It adapts GDB to the core's
interfaces (physical memory, registers), registers one prefix command `ax`
whose subcommands are the shared handlers of :mod:`axiomdbg.commands`, and
convenience functions `$ax_vtop(addr)`, `$ax_proc(pid)`, `$ax_current()`.

Every error is printed as one line; a Python traceback never reaches the user
and an error never ends the GDB session.
"""

from __future__ import annotations

import io
import os
import shlex

import gdb  # noqa: F401  (only this package may import it)

from ..errors import AxiomError, MemoryReadError, TargetError
from ..transport.qemu_direct import QemuPhysicalMemory


def _arch_name() -> str:
    name = gdb.selected_inferior().architecture().name()
    if "x86-64" in name:
        return "x86_64"
    if "aarch64" in name:
        return "aarch64"
    if "riscv" in name:
        return "riscv64"
    raise AxiomError(f"unsupported GDB architecture {name!r} (axiomdbg handles x86_64, aarch64, riscv64)")


class GdbRegisters:
    """RegisterReader over the selected thread's registers."""

    def read_reg(self, name: str) -> int:
        try:
            v = gdb.parse_and_eval(f"${name}")
            if v.type.code == gdb.TYPE_CODE_VOID:
                raise gdb.error("void")
            return int(v.cast(gdb.lookup_type("unsigned long long")))
        except gdb.error as e:
            raise TargetError(f"register ${name} is not available ({e})") from None


class GdbPhysicalMemory:
    """Physical reads through QEMU's gdbstub physical mode.

    Switches the stub with `maint packet Qqemu.PhyMemMode:1` around each batch
    and always switches back, so the user's own `x` commands keep seeing
    virtual addresses. Reads are split at 4 KiB boundaries (QEMU refuses a read
    that straddles a hole). Note: in physical mode QEMU returns zeros for
    non-existent RAM rather than an error; callers that care check the RAM map."""

    def __init__(self):
        self.requests = 0

    def read_phys(self, addr: int, size: int) -> bytes:
        self.requests += 1
        inf = gdb.selected_inferior()
        gdb.execute("maint packet Qqemu.PhyMemMode:1", to_string=True)
        try:
            out = bytearray()
            pa = addr
            while len(out) < size:
                n = min(size - len(out), 4096 - (pa & 0xFFF))
                try:
                    out += bytes(inf.read_memory(pa, n))
                except gdb.MemoryError as e:
                    raise MemoryReadError(addr, size, str(e)) from None
                pa += n
            return bytes(out)
        finally:
            gdb.execute("maint packet Qqemu.PhyMemMode:0", to_string=True)


def _monitor(cmd: str) -> str:
    return gdb.execute(f"monitor {cmd}", to_string=True)


def best_physical_memory():
    """The fastest physical transport available: QEMU's process memory when
    axiomdbg launched QEMU on this host (AXIOMDBG_QEMU_PID), else the stub."""
    pid = os.environ.get("AXIOMDBG_QEMU_PID")
    if pid and pid.isdigit() and os.access(f"/proc/{pid}/mem", os.R_OK):
        return QemuPhysicalMemory(int(pid), _monitor)
    return GdbPhysicalMemory()


_session = None


def session():
    """The lazily created debugging session (Target + caches) for this GDB."""
    global _session
    from ..commands import Session

    if _session is None:
        elf = None
        objf = gdb.current_progspace().filename
        if objf:
            elf = objf
        _session = Session(arch=_arch_name(), mem=best_physical_memory(), regs=GdbRegisters(), elf=elf,
                           liveness=_liveness)
    return _session


def _liveness() -> None:
    """One clear line when there is nothing to inspect: QEMU gone, no connection, or the target running."""
    pid = os.environ.get("AXIOMDBG_QEMU_PID")
    if pid and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
        raise TargetError(f"QEMU (pid {pid}) has exited: nothing to inspect")
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0 or not inf.threads():
        raise TargetError("not connected to a target (use `target remote HOST:PORT`)")
    th = gdb.selected_thread()
    if th is not None and th.is_running():
        raise TargetError("the target is running: stop it first (Ctrl-C or `interrupt`)")


def _invalidate(_event=None) -> None:
    if _session is not None:
        _session.invalidate()


def _write(text: str) -> None:
    gdb.write(text if text.endswith("\n") else text + "\n")


def run_guarded(fn, *args):
    """Run a handler; print AxiomErrors (and anything unexpected) as one line."""
    try:
        return fn(*args)
    except AxiomError as e:
        gdb.write(f"ax: error: {e}\n", gdb.STDERR)
    except gdb.error as e:
        gdb.write(f"ax: error: {e}\n", gdb.STDERR)
    except KeyboardInterrupt:
        gdb.write("ax: interrupted\n", gdb.STDERR)
    except SystemExit:  # argparse --help / usage errors already printed
        pass
    except Exception as e:  # a bug in axiomdbg: still one line, details on request
        gdb.write(f"ax: internal error: {type(e).__name__}: {e} (set AXIOMDBG_DEBUG=1 for a traceback)\n",
                  gdb.STDERR)
        if os.environ.get("AXIOMDBG_DEBUG"):
            import traceback
            traceback.print_exc()
    return None


class AxPrefix(gdb.Command):
    """axiomdbg commands for the axiom kernel. Type `ax help` for the list."""

    def __init__(self):
        super().__init__("ax", gdb.COMMAND_USER, gdb.COMPLETE_COMMAND, prefix=True)

    def invoke(self, arg, from_tty):
        from ..commands import COMMANDS
        if arg.strip():
            gdb.write(f"ax: unknown subcommand {arg.split()[0]!r}; try `ax help`\n", gdb.STDERR)
            return
        _write(_help_text(COMMANDS))


def _help_text(commands) -> str:
    lines = ["axiomdbg commands (ax SUBCOMMAND --help for options):"]
    for name, cmd in sorted(commands.items()):
        lines.append(f"  ax {name:<10} {cmd.summary}")
    return "\n".join(lines)


class AxSub(gdb.Command):
    def __init__(self, name, cmd):
        self.cmd = cmd
        self.__doc__ = cmd.summary + "\n\n" + cmd.parser().format_help()
        super().__init__(f"ax {name}", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        def go():
            argv = shlex.split(arg)
            ns = self.cmd.parser().parse_args(argv)
            buf = io.StringIO()
            s = session()
            s.check()
            self.cmd.run(s, ns, buf)
            out = buf.getvalue()
            if out:
                gdb.write(out)
        run_guarded(go)

    def complete(self, text, word):
        opts = [a for a in self.cmd.parser()._option_string_actions if a.startswith("--")]
        return [o for o in opts if o.startswith(word or "")]


class _AxFunction(gdb.Function):
    def __init__(self, name, fn):
        super().__init__(name)
        self.fn = fn

    def invoke(self, *args):
        try:
            s = session()
            s.check()
            v = self.fn(s, *[int(a) for a in args])
        except AxiomError as e:
            raise gdb.GdbError(f"ax: {e}") from None
        except gdb.error as e:
            raise gdb.GdbError(f"ax: {e}") from None
        ctype = getattr(self.fn, "ctype", None)
        if ctype:
            try:   # a typed pointer, so `p *$ax_proc(1)` works
                return gdb.parse_and_eval(f"({ctype}) {v:#x}")
            except gdb.error:
                pass
        return v


def register() -> None:
    from ..commands import COMMANDS, FUNCTIONS

    AxPrefix()
    AxHelp()
    for name, cmd in COMMANDS.items():
        AxSub(name, cmd)
    for name, fn in FUNCTIONS.items():
        _AxFunction(name, fn)
    gdb.events.cont.connect(_invalidate)
    gdb.events.stop.connect(_invalidate)
    gdb.events.new_objfile.connect(lambda e: _reset())
    gdb.events.exited.connect(lambda e: _reset())


def _reset() -> None:
    global _session
    _session = None


class AxHelp(gdb.Command):
    """List the axiomdbg commands."""

    def __init__(self):
        super().__init__("ax help", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        from ..commands import COMMANDS
        _write(_help_text(COMMANDS))

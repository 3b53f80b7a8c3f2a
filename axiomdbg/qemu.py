"""Launch and own QEMU instances running the axiom kernel.

Every QEMU process started here is owned by a :class:`Machine`: it is killed
when the machine is closed, when the Python process exits (``atexit``), and —
because the child asks the kernel for ``PR_SET_PDEATHSIG`` — even when the
Python process is killed outright. No QEMU may outlive the command or test
that started it.

The serial console is a pwntools tube (``machine.serial``); the QEMU monitor
is reached over QMP (``machine.hmp("gva2gpa 0x...")``); a gdbstub can be opened
on a free TCP port.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AxiomError, GuestError

ROOT = Path(__file__).resolve().parent.parent

ARCHES = ("x86_64", "aarch64", "riscv64")
ARCH_ALIASES = {
    "x86-64": "x86_64", "amd64": "x86_64", "x64": "x86_64",
    "arm64": "aarch64", "armv8": "aarch64",
    "riscv": "riscv64", "rv64": "riscv64",
}

_live: "weakref.WeakSet[Machine]" = weakref.WeakSet()


def canonical_arch(name: str) -> str:
    """Map a user-supplied architecture name to one of :data:`ARCHES`."""
    n = name.strip().lower()
    n = ARCH_ALIASES.get(n, n)
    if n not in ARCHES:
        raise AxiomError(f"unknown architecture {name!r} (choose from {', '.join(ARCHES)})")
    return n


def build_dir(arch: str, profile: str = "embedded", variant: str = "") -> Path:
    """Where ``make -C kernel`` puts the image for this configuration."""
    suffix = f"-{variant}" if variant else ""
    return ROOT / "build" / f"{arch}-{profile}{suffix}"


def kernel_path(arch: str, profile: str = "embedded", variant: str = "") -> Path:
    return build_dir(arch, profile, variant) / "axiom.elf"


def variant_make_args(arch: str, variant: str) -> list[str]:
    """Translate a variant name (16k, 64k, sv48, sv57) into make variables."""
    if not variant:
        return []
    if arch == "aarch64" and variant in ("16k", "64k"):
        return [f"GRANULE={variant}"]
    if arch == "riscv64" and variant in ("sv48", "sv57"):
        return [f"SATP={variant}"]
    raise AxiomError(f"variant {variant!r} does not apply to {arch}")


def build_kernel(arch: str, profile: str = "embedded", variant: str = "", quiet: bool = True) -> Path:
    """Build one kernel configuration with make; return the ELF path."""
    if shutil.which("clang") is None or shutil.which("ld.lld") is None:
        raise AxiomError("clang and ld.lld are required: run scripts/bootstrap.sh")
    cmd = ["make", "-C", str(ROOT / "kernel"), f"ARCH={arch}", f"PROFILE={profile}",
           f"-j{os.cpu_count() or 2}", *variant_make_args(arch, variant)]
    proc = subprocess.run(cmd, capture_output=quiet, text=True)
    if proc.returncode != 0:
        tail = "\n".join(((proc.stdout or "") + (proc.stderr or "")).strip().splitlines()[-25:])
        raise GuestError(f"kernel build failed for {arch}/{profile}{'/' + variant if variant else ''}", tail)
    return kernel_path(arch, profile, variant)


def default_cpu(arch: str, variant: str = "") -> str | None:
    """A -cpu that supports the build: cortex-a72 has no 16 KiB granule
    (QEMU 7.2 enforces ID_AA64MMFR0_EL1.TGran16), cortex-a76 does."""
    if arch == "aarch64" and variant == "16k":
        return "cortex-a76"
    return None


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _set_pdeathsig() -> None:
    """In the child: die with SIGKILL when the parent dies (Linux prctl)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:  # pragma: no cover - best effort
        pass
    os.setpgrp()


def _set_pdeathsig_keep_tty() -> None:
    """Like _set_pdeathsig, but stay in the terminal's process group (interactive QEMU)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)
    except Exception:  # pragma: no cover
        pass


@dataclass
class MachineConfig:
    arch: str
    kernel: Path | None               # None: firmware only (riscv64 OpenSBI)
    smp: int = 1
    mem: str = "256M"
    cmdline: str = ""
    gdb_port: int | None = None      # open a gdbstub on this TCP port
    halted: bool = False              # start with CPUs stopped (-S)
    cpu: str | None = None            # override -cpu (e.g. qemu64,+la57)
    machine_opts: str = ""           # extra -M options (e.g. virtualization=on)
    extra: list[str] = field(default_factory=list)

    def argv(self, qmp_path: str | None = None) -> list[str]:
        a = self.arch
        if a == "riscv64":
            cmd = ["qemu-system-riscv64", "-M", "virt" + self.machine_opts, "-bios", "default"]
            if self.cpu:
                cmd += ["-cpu", self.cpu]
        elif a == "aarch64":
            cmd = ["qemu-system-aarch64", "-M", "virt" + self.machine_opts, "-cpu", self.cpu or "cortex-a72"]
        elif a == "x86_64":
            cmd = ["qemu-system-x86_64", "-M", "q35" + self.machine_opts, "-cpu", self.cpu or "qemu64",
                   "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
        else:  # pragma: no cover - canonical_arch guards this
            raise AxiomError(f"unknown arch {a}")
        if self.kernel is not None:
            cmd += ["-kernel", str(self.kernel)]
        cmd += ["-m", self.mem, "-smp", str(self.smp),
                "-display", "none", "-serial", "stdio", "-monitor", "none", "-nodefaults"]
        if self.cmdline:
            cmd += ["-append", self.cmdline]
        if qmp_path:
            cmd += ["-qmp", f"unix:{qmp_path},server=on,wait=off"]
        if self.gdb_port is not None:
            cmd += ["-gdb", f"tcp:127.0.0.1:{self.gdb_port}"]
        if self.halted:
            cmd += ["-S"]
        cmd += self.extra
        return cmd


class QMP:
    """A minimal synchronous QMP client (QEMU Machine Protocol, JSON lines)."""

    def __init__(self, path: str, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError as e:  # socket not there yet
                last = e
                self.sock.close()
                time.sleep(0.02)
        else:
            raise AxiomError(f"could not connect to QEMU's QMP socket: {last}")
        self.sock.settimeout(timeout)
        self._buf = b""
        self._read_msg()  # greeting
        self.execute("qmp_capabilities")

    def _read_msg(self) -> dict:
        while b"\n" not in self._buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AxiomError("QEMU closed its monitor connection (did QEMU exit?)")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, cmd: str, **args) -> object:
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        try:
            self.sock.sendall(json.dumps(msg).encode() + b"\n")
            while True:
                reply = self._read_msg()
                if "return" in reply:
                    return reply["return"]
                if "error" in reply:
                    raise AxiomError(f"QEMU refused {cmd}: {reply['error'].get('desc')}")
                # asynchronous events are skipped
        except (OSError, socket.timeout) as e:
            raise AxiomError(f"QEMU monitor did not answer {cmd}: {e}") from None

    def hmp(self, command_line: str) -> str:
        return str(self.execute("human-monitor-command", **{"command-line": command_line}))

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class Machine:
    """One running QEMU guest. Use as a context manager."""

    def __init__(self, config: MachineConfig):
        self.config = config
        self._tmp = tempfile.TemporaryDirectory(prefix="axiomdbg-qemu-")
        self.qmp_path = os.path.join(self._tmp.name, "qmp.sock")
        self.proc: subprocess.Popen | None = None
        self.serial = None
        self._qmp: QMP | None = None
        self.log = bytearray()

    # -- lifecycle -------------------------------------------------------
    def start(self) -> "Machine":
        if self.config.kernel is not None and not self.config.kernel.exists():
            raise AxiomError(f"kernel image {self.config.kernel} does not exist (run `axiomdbg build`)")
        exe = self.config.argv()[0]
        if shutil.which(exe) is None:
            raise AxiomError(f"{exe} is not installed: run scripts/bootstrap.sh")
        os.environ.setdefault("PWNLIB_NOTERM", "1")
        from pwnlib.tubes.process import process  # pwntools tube on the serial console
        import pwnlib.context
        pwnlib.context.context.log_level = "error"
        argv = self.config.argv(self.qmp_path)
        self.serial = process(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, preexec_fn=_set_pdeathsig)
        self.proc = self.serial.proc
        _live.add(self)
        return self

    def close(self) -> None:
        if self._qmp is not None:
            self._qmp.close()
            self._qmp = None
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        if self.serial is not None:
            try:
                self.serial.close()
            except Exception:
                pass
        self._tmp.cleanup()

    def __enter__(self) -> "Machine":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- serial ----------------------------------------------------------
    def read_until(self, pattern: str | bytes, timeout: float = 60.0, fail_on_panic: bool = True) -> bytes:
        """Read serial output until the regex `pattern` matches; return all output so far.

        Raises AxiomError on a timeout (hang), on QEMU exiting first, or — if
        fail_on_panic — when a panic record appears first."""
        pat = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        panic = re.compile(rb"=== AXIOM PANIC END ===")
        deadline = time.monotonic() + timeout
        start = len(self.log)
        while True:
            m = pat.search(self.log, start)
            if m:
                return bytes(self.log)
            if fail_on_panic and panic.search(self.log, start):
                raise GuestError("kernel panicked", _tail(self.log))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GuestError(f"timed out after {timeout:.0f}s waiting for {pat.pattern.decode()!r}",
                                 _tail(self.log))
            try:
                chunk = self.serial.recv(timeout=min(remaining, 0.5))
            except EOFError:
                chunk = b""
                if not self.alive or self.serial.proc.poll() is not None:
                    m = pat.search(self.log, start)
                    if m:
                        return bytes(self.log)
                    raise GuestError(f"QEMU exited (status {self.proc.poll()}) before {pat.pattern.decode()!r}",
                                     _tail(self.log))
            if chunk:
                self.log += chunk

    def drain(self, timeout: float = 0.2) -> bytes:
        """Collect whatever the guest prints within `timeout` seconds."""
        try:
            while True:
                chunk = self.serial.recv(timeout=timeout)
                if not chunk:
                    break
                self.log += chunk
        except EOFError:
            pass
        return bytes(self.log)

    def log_to_file(self, path: str | os.PathLike) -> Path:
        """Drain the serial console into `path` from a background thread (for
        sessions where nobody reads the console, such as `axiomdbg gdb`; a full
        pipe would otherwise stall the guest)."""
        import threading

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)

        def pump() -> None:
            with open(p, "ab") as f:
                while self.alive:
                    try:
                        chunk = self.serial.recv(timeout=0.2)
                    except EOFError:
                        break
                    except Exception:
                        break
                    if chunk:
                        f.write(chunk)
                        f.flush()

        threading.Thread(target=pump, name="qemu-serial-log", daemon=True).start()
        return p

    def send(self, text: str | bytes) -> None:
        self.serial.send(text.encode() if isinstance(text, str) else text)

    def wait_exit(self, timeout: float = 60.0) -> int:
        """Wait for QEMU to exit (e.g. after the guest powers off), collecting output."""
        deadline = time.monotonic() + timeout
        while self.alive and time.monotonic() < deadline:
            self.drain(0.2)
        if self.alive:
            raise GuestError(f"QEMU did not exit within {timeout:.0f}s", _tail(self.log))
        self.drain(0.05)
        return self.proc.returncode

    # -- monitor ---------------------------------------------------------
    @property
    def qmp(self) -> QMP:
        if not self.alive:
            raise AxiomError("QEMU is not running")
        if self._qmp is None:
            self._qmp = QMP(self.qmp_path)
        return self._qmp

    def hmp(self, command_line: str) -> str:
        return self.qmp.hmp(command_line)

    def stop(self) -> None:
        self.qmp.execute("stop")

    def cont(self) -> None:
        self.qmp.execute("cont")

    def gva2gpa(self, va: int, cpu: int = 0) -> int | None:
        """Translate with QEMU's own MMU code (the independent oracle); None if unmapped."""
        if cpu:
            self.hmp(f"cpu {cpu}")
        out = self.hmp(f"gva2gpa {va:#x}").strip()
        # "gpa: 0x1234" (x86 prints "gpa: 0" for zero, without the prefix)
        m = re.search(r"gpa:\s*(?:0x)?([0-9a-fA-F]+)", out)
        if m:
            return int(m.group(1), 16)
        if "Unmapped" in out or "unmapped" in out or "not mapped" in out:
            return None
        raise AxiomError(f"unexpected gva2gpa answer: {out!r}")

    def dump_guest_memory(self, path: str | os.PathLike) -> Path:
        """Write an ELF core of guest memory (QEMU dump-guest-memory)."""
        p = Path(path).resolve()
        self.qmp.execute("dump-guest-memory", paging=False, protocol=f"file:{p}")
        return p


def _tail(buf: bytes | bytearray, n: int = 80) -> str:
    text = bytes(buf).decode("utf-8", "replace").replace("\r", "")
    return "\n".join(text.splitlines()[-n:])


@atexit.register
def _kill_all() -> None:
    for m in list(_live):
        try:
            m.close()
        except Exception:
            pass

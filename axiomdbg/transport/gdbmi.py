"""Drive gdb-multiarch through GDB/MI (pygdbmi) against QEMU's gdbstub.

Used by the one-shot CLI and by tests to run the same core code as inside GDB.
pygdbmi's `write()` blocks for its whole timeout by default, so commands are
written without waiting and the response stream is polled with a tiny timeout
until the command's result record (`^done`, `^error`, `^connected`) arrives.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import AxiomError, MemoryReadError, TargetError

GDB = "gdb-multiarch"

GDB_ARCH = {"x86_64": "i386:x86-64", "aarch64": "aarch64", "riscv64": "riscv:rv64"}


class GdbMiError(TargetError):
    pass


class GdbMi:
    """A gdb-multiarch process speaking MI3. Use as a context manager."""

    def __init__(self, arch: str, elf: str | None = None, gdb: str = GDB, timeout: float = 30.0):
        from pygdbmi.gdbcontroller import GdbController

        self.arch = arch
        self.timeout = timeout
        try:
            self.ctl = GdbController(command=[gdb, "--nx", "--quiet", "--interpreter=mi3"])
        except Exception as e:
            raise GdbMiError(f"cannot start {gdb}: {e}") from None
        self.console_log: list[str] = []
        self.command("-gdb-set pagination off")
        self.command("-gdb-set confirm off")
        self.command(f"-gdb-set architecture {GDB_ARCH[arch]}")
        if elf:
            self.command(f'-file-exec-and-symbols "{elf}"')
        # the kernel's DWARF paths are relative to the repository root (prefix-mapped
        # build, kernel/Makefile): let GDB find the sources from any working directory
        from ..core.symbolize import REPO_ROOT
        self.command(f'-environment-directory "{REPO_ROOT}"')
        self._phys = False

    # -- plumbing --------------------------------------------------------
    def command(self, cmd: str, timeout: float | None = None) -> list[dict[str, Any]]:
        """Send one MI command; return its records. Raises on ^error."""
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            self.ctl.write(cmd, read_response=False)
        except Exception as e:
            raise GdbMiError(f"GDB is gone: {e}") from None
        records: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            try:
                batch = self.ctl.get_gdb_response(timeout_sec=0.01, raise_error_on_timeout=False)
            except Exception as e:
                raise GdbMiError(f"GDB is gone: {e}") from None
            done = False
            for r in batch:        # keep the whole batch: async records (*stopped) may follow the result
                records.append(r)
                if r.get("type") == "console" and r.get("payload"):
                    self.console_log.append(r["payload"])
                if r.get("type") == "result" and r.get("message") in ("done", "connected", "running", "exit"):
                    done = True
                if r.get("type") == "result" and r.get("message") == "error":
                    msg = (r.get("payload") or {}).get("msg", "unknown error")
                    raise GdbMiError(f"GDB: {msg}")
            if done:
                return records
        raise GdbMiError(f"GDB did not answer {cmd.split()[0]!r} within {timeout or self.timeout:.0f}s")

    def console(self, cli: str, timeout: float | None = None) -> str:
        """Run a CLI command and return its console output."""
        recs = self.command(f'-interpreter-exec console "{_mi_quote(cli)}"', timeout)
        return "".join(r["payload"] for r in recs if r.get("type") in ("console", "target") and r.get("payload"))

    def connect(self, host: str, port: int) -> None:
        self.command(f"-target-select remote {host}:{port}", timeout=self.timeout)
        # discard the *stopped record of the initial attach
        self.ctl.get_gdb_response(timeout_sec=0.05, raise_error_on_timeout=False)

    def monitor(self, cmd: str) -> str:
        return self.console(f"monitor {cmd}")

    def interrupt(self) -> None:
        self.command("-exec-interrupt")
        # wait for the stop
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for r in self.ctl.get_gdb_response(timeout_sec=0.05, raise_error_on_timeout=False):
                if r.get("type") == "notify" and r.get("message") == "stopped":
                    return
        raise GdbMiError("target did not stop")

    def continue_to(self, location: str, hardware: bool = True, timeout: float | None = None) -> None:
        """Resume the target until it reaches `location` (e.g. a function name),
        using a temporary (hardware by default: survives MMU changes) breakpoint."""
        recs = self.command(f"-break-insert -t {'-h ' if hardware else ''}{location}")
        number = None
        for r in recs:
            if r.get("type") == "result":
                number = ((r.get("payload") or {}).get("bkpt") or {}).get("number")
        try:
            recs = self.command("-exec-continue")
            if any(r.get("type") == "notify" and r.get("message") == "stopped" for r in recs):
                return
            deadline = time.monotonic() + (timeout or self.timeout)
            while time.monotonic() < deadline:
                for r in self.ctl.get_gdb_response(timeout_sec=0.05, raise_error_on_timeout=False):
                    if r.get("type") == "notify" and r.get("message") == "stopped":
                        return
            raise GdbMiError(f"target did not reach {location} within {timeout or self.timeout:.0f}s")
        finally:
            if number is not None:
                try:
                    self.command(f"-break-delete {number}")
                except GdbMiError:
                    pass   # temporary breakpoints delete themselves when hit

    def close(self) -> None:
        try:
            self.ctl.exit()
        except Exception:
            pass

    def __enter__(self) -> "GdbMi":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- PhysicalMemory / virtual memory ---------------------------------
    def _set_phys(self, on: bool) -> None:
        if self._phys != on:
            self.console(f"maint packet Qqemu.PhyMemMode:{1 if on else 0}")
            self._phys = on

    def _read(self, addr: int, size: int) -> bytes:
        try:
            recs = self.command(f"-data-read-memory-bytes {addr:#x} {size}")
        except GdbMiError as e:
            raise MemoryReadError(addr, size, str(e)) from None
        for r in recs:
            if r.get("type") == "result":
                blocks = (r.get("payload") or {}).get("memory", [])
                data = b"".join(bytes.fromhex(b["contents"]) for b in blocks)
                if len(data) != size:
                    raise MemoryReadError(addr, size, "partial read")
                return data
        raise MemoryReadError(addr, size, "no data")

    def read_phys(self, addr: int, size: int) -> bytes:
        """Physical read in the stub's physical mode. Split at 4 KiB boundaries:
        QEMU rejects a read that partly overlaps a hole."""
        self._set_phys(True)
        out = bytearray()
        pa = addr
        while len(out) < size:
            n = min(size - len(out), 4096 - (pa & 0xFFF))
            out += self._read(pa, n)
            pa += n
        return bytes(out)

    def read_virt(self, addr: int, size: int) -> bytes:
        self._set_phys(False)
        return self._read(addr, size)

    # -- RegisterReader --------------------------------------------------
    def read_reg(self, name: str) -> int:
        try:
            recs = self.command(f"-data-evaluate-expression \"(unsigned long long)${name}\"")
        except GdbMiError as e:
            raise TargetError(f"register ${name} is not available: {e}") from None
        for r in recs:
            if r.get("type") == "result":
                val = (r.get("payload") or {}).get("value", "")
                try:
                    return int(val.split()[0], 0)
                except (ValueError, IndexError):
                    break
        raise TargetError(f"register ${name} is not available")


def _mi_quote(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')

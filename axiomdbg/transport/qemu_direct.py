"""Physical memory straight from the QEMU process.

`monitor gpa2hva PADDR` tells where QEMU keeps a guest-physical page in its
own address space; reading /proc/<qemu-pid>/mem there costs one pread per
request — two orders of magnitude faster than the gdbstub. RAM is one host
block per memory region, so one gpa2hva per region is enough: later reads are
pure arithmetic. When /proc/<pid>/mem is not readable (no ptrace rights) the
reader falls back to `monitor xp`, which is slow but always available.
"""

from __future__ import annotations

import os
import re

from ..errors import AxiomError, MemoryReadError

_HVA = re.compile(r"Host virtual address for (0x[0-9a-fA-F]+) \(([^)]*)\) is (0x[0-9a-fA-F]+)")


class MonitorPhysicalMemory:
    """Physical reads through the monitor's `xp` command (works on every arch)."""

    def __init__(self, hmp):
        self.hmp = hmp          # callable: HMP command line -> text
        self.requests = 0

    def read_phys(self, addr: int, size: int) -> bytes:
        if size <= 0:
            return b""
        self.requests += 1
        words = (size + 7) // 8
        out = self.hmp(f"xp /{words}xg {addr:#x}")
        data = bytearray()
        for line in out.splitlines():
            if ":" not in line:
                continue
            _, vals = line.split(":", 1)
            for tok in vals.split():
                if tok.startswith("0x"):
                    data += int(tok, 16).to_bytes(8, "little")
        if len(data) < size:
            raise MemoryReadError(addr, size, out.strip().splitlines()[0] if out.strip() else "no answer")
        return bytes(data[:size])


def _read_error(addr: int, size: int, why: str) -> MemoryReadError:
    return MemoryReadError(addr, size, why)


class QemuPhysicalMemory:
    """Physical memory of a local QEMU process via gpa2hva + /proc/<pid>/mem."""

    def __init__(self, pid: int, hmp, ram_ranges: list[tuple[int, int]] | None = None):
        self.pid = pid
        self.hmp = hmp
        self.requests = 0
        self._blocks: list[tuple[int, int, int]] = []   # (gpa_start, gpa_end, hva_start)
        self._ram = ram_ranges
        self._fd: int | None = None
        self._fallback = MonitorPhysicalMemory(hmp)
        try:
            self._fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
        except OSError:
            self._fd = None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _block_for(self, pa: int) -> tuple[int, int, int] | None:
        for b in self._blocks:
            if b[0] <= pa < b[1]:
                return b
        out = self.hmp(f"gpa2hva {pa:#x}")
        m = _HVA.search(out)
        if not m:
            return None
        hva = int(m.group(3), 16)
        # Assume the RAM block extends page by page from here; bound it by the
        # RAM ranges when known, else by one 2 MiB window around the page.
        lo, hi = pa & ~0x1FFFFF, (pa | 0x1FFFFF) + 1
        if self._ram:
            for s, e in self._ram:
                if s <= pa < e:
                    lo, hi = s, e
        b = (lo, hi, hva - (pa - lo))
        self._blocks.append(b)
        return b

    def read_phys(self, addr: int, size: int) -> bytes:
        if size <= 0:
            return b""
        if addr < 0 or addr + size > 1 << 64:
            raise _read_error(addr, size, "address out of range")
        self.requests += 1
        if self._fd is None:
            return self._fallback.read_phys(addr, size)
        out = bytearray()
        pa = addr
        while len(out) < size:
            b = self._block_for(pa)
            if b is None:
                raise _read_error(addr, size, f"{pa:#x} is not guest RAM")
            n = min(size - len(out), b[1] - pa)
            try:
                chunk = os.pread(self._fd, n, b[2] + (pa - b[0]))
            except OSError as e:
                raise _read_error(addr, size, f"QEMU process memory not readable ({e.strerror})") from None
            if len(chunk) != n:
                raise _read_error(addr, size, "short read from the QEMU process")
            out += chunk
            pa += n
        return bytes(out)


class MonitorRegisters:
    """Registers parsed from `info registers` (x86_64 and riscv64 print the
    paging registers there; aarch64 does not — use the gdbstub for TTBRs)."""

    def __init__(self, hmp, cpu: int = 0):
        self.hmp = hmp
        self.cpu = cpu
        self._cache: dict[str, int] | None = None

    def invalidate(self) -> None:
        self._cache = None

    def _load(self) -> dict[str, int]:
        if self._cache is None:
            self.hmp(f"cpu {self.cpu}")
            text = self.hmp("info registers")
            regs: dict[str, int] = {}
            for name, val in re.findall(r"\b([A-Za-z][A-Za-z0-9_]*)\s*=\s*([0-9a-fA-F]{4,})\b", text):
                regs.setdefault(name.lower(), int(val, 16))
            for name, val in re.findall(r"\b([a-z][a-z0-9]*)\s+([0-9a-f]{16})\b", text):  # riscv "satp 0000..."
                regs.setdefault(name.lower(), int(val, 16))
            self._cache = regs
        return self._cache

    def read_reg(self, name: str) -> int:
        regs = self._load()
        key = name.lower()
        if key in regs:
            return regs[key]
        raise AxiomError(f"register ${name} is not available from the QEMU monitor")

"""Interfaces through which the core reads the target, and simple implementations.

The core never talks to GDB or QEMU. It is handed

* a :class:`PhysicalMemory` -- ``read_phys(addr, size) -> bytes`` that either returns exactly
  ``size`` bytes or raises :class:`~axiomdbg.core.errors.MemoryReadError`; and
* a :class:`RegisterReader` -- ``read_reg(name) -> int`` (raises
  :class:`~axiomdbg.core.errors.RegisterUnavailableError`).

Reads through QEMU's gdbstub are slow (about 50 us for 8 bytes, 0.4 ms for a 4 KiB page, see
``/work/shared/notes/platform.md``), so the page-table walkers issue one read per table and
:class:`PageCache` keeps whole pages between translations until the target runs again.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from .errors import MemoryReadError, RegisterUnavailableError

PAGE_SIZE = 4096
MASK64 = (1 << 64) - 1


@runtime_checkable
class PhysicalMemory(Protocol):
    """Anything that reads guest-physical memory."""

    def read_phys(self, addr: int, size: int) -> bytes:
        """Return exactly ``size`` bytes at physical ``addr`` or raise MemoryReadError."""
        ...  # pragma: no cover - protocol


class BasePhysicalMemory(abc.ABC):
    """Optional base class for implementations, with a little-endian integer helper."""

    @abc.abstractmethod
    def read_phys(self, addr: int, size: int) -> bytes:
        """Return exactly ``size`` bytes at physical ``addr`` or raise MemoryReadError."""

    def read_u64(self, addr: int) -> int:
        """Read one little-endian 64-bit word (all three supported arches are little-endian)."""
        return int.from_bytes(self.read_phys(addr, 8), "little")


def _check_request(addr: int, size: int) -> None:
    if addr < 0 or size < 0 or addr + size > (1 << 64):
        raise MemoryReadError(addr, size, "address out of range")


class SnapshotMemory(BasePhysicalMemory):
    """Physical memory made of page-aligned pages held in a dict (synthetic tests, core dumps).

    ``pages`` maps a page-aligned physical address to exactly ``page_size`` bytes. A read that
    touches any page not in the dict raises :class:`MemoryReadError` -- unlike QEMU's physical
    mode, which returns zeros for non-existent memory.
    """

    def __init__(self, pages: Mapping[int, bytes] | None = None, page_size: int = PAGE_SIZE) -> None:
        if page_size <= 0 or page_size & (page_size - 1):
            raise ValueError("page_size must be a power of two")
        self.page_size = page_size
        self.pages: dict[int, bytearray] = {}
        for base, data in (pages or {}).items():
            self.add_page(base, data)

    def add_page(self, base: int, data: bytes | None = None) -> None:
        """Add (or replace) the page at ``base``; ``data`` defaults to zeros."""
        if base % self.page_size:
            raise ValueError(f"page address {base:#x} is not {self.page_size:#x}-aligned")
        if data is None:
            data = bytes(self.page_size)
        if len(data) != self.page_size:
            raise ValueError(f"page at {base:#x} must be {self.page_size} bytes, got {len(data)}")
        self.pages[base] = bytearray(data)

    def remove_page(self, base: int) -> None:
        """Forget a page, so that reads of it fail (models truncated dumps)."""
        self.pages.pop(base - base % self.page_size, None)

    def write_phys(self, addr: int, data: bytes, *, create: bool = True) -> None:
        """Write bytes, creating zero-filled pages as needed unless ``create`` is false."""
        ps = self.page_size
        pos = 0
        while pos < len(data):
            cur = addr + pos
            base = cur - cur % ps
            off = cur - base
            n = min(ps - off, len(data) - pos)
            page = self.pages.get(base)
            if page is None:
                if not create:
                    raise MemoryReadError(cur, n, "page not present in snapshot")
                page = self.pages[base] = bytearray(ps)
            page[off:off + n] = data[pos:pos + n]
            pos += n

    def write_u64(self, addr: int, value: int) -> None:
        self.write_phys(addr, (value & MASK64).to_bytes(8, "little"))

    def read_phys(self, addr: int, size: int) -> bytes:
        _check_request(addr, size)
        ps = self.page_size
        out = bytearray()
        pos = addr
        end = addr + size
        while pos < end:
            base = pos - pos % ps
            page = self.pages.get(base)
            if page is None:
                raise MemoryReadError(addr, size, f"page {base:#x} not present in snapshot")
            off = pos - base
            n = min(ps - off, end - pos)
            out += page[off:off + n]
            pos += n
        return bytes(out)

    def __contains__(self, addr: int) -> bool:
        return (addr - addr % self.page_size) in self.pages


class CountingMemory(BasePhysicalMemory):
    """Wrapper that counts the requests and bytes that reach the wrapped memory.

    ``log`` keeps every ``(addr, size)`` request in order (failed ones too), which lets tests
    assert that a page-table walk reads each table exactly once.
    """

    def __init__(self, inner: PhysicalMemory) -> None:
        self.inner = inner
        self.requests = 0
        self.bytes = 0
        self.log: list[tuple[int, int]] = []

    def read_phys(self, addr: int, size: int) -> bytes:
        self.requests += 1
        self.log.append((addr, size))
        data = self.inner.read_phys(addr, size)
        self.bytes += len(data)
        return data

    def reset(self) -> None:
        self.requests = 0
        self.bytes = 0
        self.log.clear()


class PageCache(BasePhysicalMemory):
    """Cache of whole physical pages in front of a slow :class:`PhysicalMemory`.

    A read is split into ``page_size``-aligned pages; pages not yet cached are fetched with one
    request per run of consecutive missing pages (so a 64 KiB aarch64 table costs one request,
    not sixteen), stored, and later reads are served from the cache. Call :meth:`invalidate`
    whenever the target runs (memory may have changed). A failed fetch is retried page by page
    so that the error names the first page that really cannot be read, and nothing partial is
    cached for it.
    """

    def __init__(self, inner: PhysicalMemory, page_size: int = PAGE_SIZE, max_pages: int = 65536) -> None:
        if page_size <= 0 or page_size & (page_size - 1):
            raise ValueError("page_size must be a power of two")
        self.inner = inner
        self.page_size = page_size
        self.max_pages = max_pages
        self._pages: dict[int, bytes] = {}
        self.hits = 0
        self.misses = 0

    def invalidate(self) -> None:
        """Drop every cached page (call when the target resumes or memory is written)."""
        self._pages.clear()

    def _fetch(self, first: int, count: int) -> None:
        ps = self.page_size
        try:
            data = self.inner.read_phys(first, count * ps)
        except MemoryReadError:
            if count == 1:
                raise
            # Find the page at fault; cache the readable ones in front of it.
            for i in range(count):
                self._fetch(first + i * ps, 1)
            return
        if len(data) != count * ps:
            raise MemoryReadError(first, count * ps, f"short read ({len(data)} bytes)")
        if len(self._pages) + count > self.max_pages:
            self._pages.clear()
        for i in range(count):
            self._pages[first + i * ps] = data[i * ps:(i + 1) * ps]

    def read_phys(self, addr: int, size: int) -> bytes:
        _check_request(addr, size)
        if size == 0:
            return b""
        ps = self.page_size
        first = addr - addr % ps
        last = (addr + size - 1) - (addr + size - 1) % ps
        # Fetch runs of missing pages with one request each.
        run_start = None
        run_len = 0
        page = first
        while page <= last:
            if page in self._pages:
                self.hits += 1
                if run_start is not None:
                    self._fetch(run_start, run_len)
                    run_start, run_len = None, 0
            else:
                self.misses += 1
                if run_start is None:
                    run_start = page
                run_len += 1
            page += ps
        if run_start is not None:
            self._fetch(run_start, run_len)
        if first == last:
            off = addr - first
            return self._pages[first][off:off + size]
        out = bytearray()
        page = first
        while page <= last:
            out += self._pages[page]
            page += ps
        off = addr - first
        return bytes(out[off:off + size])


@runtime_checkable
class RegisterReader(Protocol):
    """Anything that reads a register of the current CPU by its GDB name."""

    def read_reg(self, name: str) -> int:
        """Return the register value as a non-negative int or raise RegisterUnavailableError."""
        ...  # pragma: no cover - protocol


class DictRegisters:
    """A :class:`RegisterReader` backed by a dict; names are matched case-insensitively.

    Values are masked to 64 bits: GDB shows some registers (aarch64 ``cpsr``) sign-extended.
    """

    def __init__(self, values: Mapping[str, int] | Iterable[tuple[str, int]] = ()) -> None:
        items = values.items() if isinstance(values, Mapping) else values
        self._values = {name.lower(): int(v) & MASK64 for name, v in items}

    def read_reg(self, name: str) -> int:
        try:
            return self._values[name.lower()]
        except KeyError:
            raise RegisterUnavailableError(name) from None

    def __setitem__(self, name: str, value: int) -> None:
        self._values[name.lower()] = int(value) & MASK64

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._values


def as_register_reader(regs: RegisterReader | Mapping[str, int]) -> RegisterReader:
    """Accept a RegisterReader or a plain dict of register values."""
    if isinstance(regs, Mapping):
        return DictRegisters(regs)
    return regs


def read_first(regs: RegisterReader, *names: str, default: int | None = None) -> int:
    """Read the first of several alternative register names that the target knows.

    GDB spells some system registers differently per version (aarch64 ``SCTLR`` vs
    ``SCTLR_EL1``). Raises RegisterUnavailableError if none is available and no default given.
    """
    for name in names:
        try:
            return regs.read_reg(name) & MASK64
        except RegisterUnavailableError:
            continue
    if default is not None:
        return default
    raise RegisterUnavailableError(names)


__all__ = [
    "PAGE_SIZE",
    "PhysicalMemory",
    "BasePhysicalMemory",
    "SnapshotMemory",
    "CountingMemory",
    "PageCache",
    "RegisterReader",
    "DictRegisters",
    "as_register_reader",
    "read_first",
]

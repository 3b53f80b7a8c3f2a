"""From panic records to symbolized, titled, bucketed crashes.

>>> report = triage_paths(["ci-logs/"], kernels=["build/riscv64-embedded/axiom.elf"])
>>> for b in report.buckets: print(b.count, b.title)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..core.errors import AxiomError
from ..core.symbolize import Frame, SymbolizeError, Symbolizer
from .decode import DecodedCause, decode
from .layout import AddressClass, Layout, classify
from .parser import PanicRecord, parse_log

# Functions of the panic machinery: never the subject of a title or a bucket.
SKIP_FUNCTIONS = {
    "panic", "vpanic", "kpanic", "_panic", "__panic", "do_panic", "panic_record", "panic_print",
    "panic_dump", "panic_backtrace", "assert_fail", "__assert_fail", "assert_failed", "__assert_failed",
    "kassert_fail", "axiom_halt", "arch_backtrace", "backtrace", "dump_stack", "print_backtrace",
    "arch_halt", "arch_stop_others", "kernel_panic", "bug", "__bug",
}
SKIP_PREFIXES = ("panic_", "__panic", "__assert", "assert_fail", "arch_backtrace", "__ubsan")
TOP_FRAMES = 3
PC_REGISTERS = ("pc", "rip", "elr", "elr_el1", "sepc", "epc")
SP_REGISTERS = ("sp", "rsp", "sp_el1")
LOG_SUFFIXES = (".log", ".txt", ".out", ".serial", ".console")


@dataclass
class CrashFrame:
    index: int            # physical frame number (0 = faulting pc)
    pc: int               # as printed in the record
    lookup: int           # address symbolized (pc, or pc-1 for return addresses)
    function: str | None
    file: str | None
    line: int
    column: int = 0
    inlined: bool = False
    symbol: str | None = None
    offset: int | None = None

    def to_dict(self) -> dict:
        return {"index": self.index, "pc": f"{self.pc:#x}", "lookup": f"{self.lookup:#x}",
                "function": self.function, "file": self.file, "line": self.line, "column": self.column,
                "inlined": self.inlined, "symbol": self.symbol, "offset": self.offset}


@dataclass
class Occurrence:
    log: str
    line: int

    def to_dict(self) -> dict:
        return {"log": self.log, "line": self.line}

    def __str__(self) -> str:
        return f"{self.log}:{self.line}"


@dataclass
class Bucket:
    id: str
    arch: str
    title: str
    top_frames: tuple[str, ...]
    crashes: list["Crash"] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.crashes)

    @property
    def first(self) -> Occurrence:
        return self.crashes[0].occurrence

    @property
    def last(self) -> Occurrence:
        return self.crashes[-1].occurrence

    @property
    def representative(self) -> "Crash":
        return self.crashes[0]

    def info(self) -> dict:
        return {"id": self.id, "count": self.count, "first": self.first.to_dict(), "last": self.last.to_dict(),
                "top_frames": list(self.top_frames)}


@dataclass
class Crash:
    record: PanicRecord
    decoded: DecodedCause
    address_class: AddressClass | None
    frames: list[CrashFrame]
    title: str
    kernel: str | None = None
    warnings: list[str] = field(default_factory=list)
    bucket: Bucket | None = None

    @property
    def occurrence(self) -> Occurrence:
        return Occurrence(self.record.source, self.record.line)

    @property
    def arch(self) -> str:
        return self.record.arch or "unknown"

    @property
    def kind(self) -> str:
        if self.record.kind:
            return self.record.kind
        return "page-fault" if self.decoded.is_page_fault else "exception"

    def top_frame(self) -> CrashFrame | None:
        """The first frame that is not panic machinery (falls back to frame 0)."""
        for f in self.frames:
            if not _is_skipped(f.function):
                return f
        return self.frames[0] if self.frames else None

    def top_functions(self, n: int = TOP_FRAMES) -> tuple[str, ...]:
        out = []
        for f in self.frames:
            if _is_skipped(f.function):
                continue
            out.append(f.function or f"{f.pc:#x}")
            if len(out) == n:
                break
        return tuple(out)

    def to_dict(self) -> dict:
        r = self.record
        hx = lambda v: None if v is None else f"{v:#x}"  # noqa: E731
        return {
            "title": self.title,
            "arch": self.arch,
            "kind": self.kind,
            "cause": r.cause or self.decoded.name,
            "raw_cause": hx(r.raw_cause),
            "error_code": hx(r.error_code),
            "fault_addr": hx(r.fault_addr),
            "address_class": self.address_class.to_dict() if self.address_class else None,
            "decoded": self.decoded.to_dict(),
            "message": r.message,
            "location": r.location,
            "cpu": r.cpu, "pid": r.pid, "tid": r.tid,
            "build_id": r.effective_build_id,
            "kernel": self.kernel,
            "frames": [f.to_dict() for f in self.frames],
            "registers": {k: f"{v:#x}" for k, v in r.registers.items()},
            "backtrace": [f"{a:#x}" for a in r.backtrace],
            "source": {"log": r.source, "line": r.line, "end_line": r.end_line},
            "truncated": r.truncated,
            "notes": list(r.notes),
            "warnings": list(self.warnings),
            "bucket": self.bucket.info() if self.bucket else None,
        }


def _is_skipped(name: str | None) -> bool:
    return bool(name) and (name in SKIP_FUNCTIONS or name.startswith(SKIP_PREFIXES))


# ---------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------

@dataclass
class Kernel:
    path: Path
    build_id: str | None
    arch: str | None
    _sym: Symbolizer | None = None
    _layout: Layout | None = None

    @property
    def symbolizer(self) -> Symbolizer:
        if self._sym is None:
            self._sym = Symbolizer.open(self.path)
        return self._sym

    def layout(self, paging_mode: str | None) -> Layout:
        if self._layout is None:
            self._layout = Layout.from_elf(self.path, self.symbolizer.symbol_names(), self.arch or "x86_64")
        return self._layout.with_mode(paging_mode) if paging_mode else self._layout


def _looks_like_elf(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


class KernelSet:
    """Kernel ELFs given with --kernel (files or directories), matched to logs by build id."""

    def __init__(self, paths: Iterable[str | os.PathLike] = ()) -> None:
        self.kernels: list[Kernel] = []
        for p in paths:
            self.add(Path(p))

    def add(self, p: Path) -> None:
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and (q.suffix in (".elf", "") and _looks_like_elf(q)))
            for q in found:
                try:
                    self._add_file(q)
                except SymbolizeError:
                    continue  # e.g. ELFs without DWARF in a build directory
            return
        if not p.exists():
            raise AxiomError(f"kernel ELF {p} does not exist")
        self._add_file(p)

    def _add_file(self, p: Path) -> None:
        sym = Symbolizer.open(p)  # raises SymbolizeError: missing, malformed or no DWARF
        self.kernels.append(Kernel(p, sym.build_id, sym.arch, sym))

    def __bool__(self) -> bool:
        return bool(self.kernels)

    def select(self, arch: str | None, build_id: str | None) -> tuple[Kernel | None, list[str]]:
        """The kernel for a record and the warnings to show about the choice."""
        if not self.kernels:
            return None, []
        if build_id:
            for k in self.kernels:
                if k.build_id and k.build_id.lower() == build_id.lower():
                    return k, []
        same = [k for k in self.kernels if k.arch == arch]
        if not same:
            return None, [f"no kernel ELF for {arch} was given: frames are not symbolized"]
        k = same[0]
        if build_id:
            return k, [f"build id mismatch: the log's kernel is {build_id[:12]}…, "
                       f"{k.path.name} is {(k.build_id or 'none')[:12]}…: symbols may be wrong"]
        return k, [f"the log has no build id: symbolized with {k.path.name} unverified"]


# ---------------------------------------------------------------------------
# Titles
# ---------------------------------------------------------------------------

_QUALIFIERS = {
    "null": "null dereference",
    "user": "user address",
    "guard-page": "stack overflow",
    "kernel-stack": "kernel stack",
    "direct-map": "direct map",
    "vmap": "vmap area",
    "non-canonical": "non-canonical address",
    "unmapped": "unmapped address",
    "kernel-image": "kernel image",
}


def _qualifier(cls: AddressClass | None, access: str | None) -> str | None:
    if cls is None:
        return None
    if cls.kind in ("kernel-text", "kernel-rodata", "kernel-data"):
        region = {"kernel-text": "kernel text", "kernel-rodata": "kernel rodata", "kernel-data": "kernel data"}[cls.kind]
        verb = {"write": "write to", "exec": "execute of", "read": "read of"}.get(access or "", "access to")
        return f"{verb} {region}"
    return _QUALIFIERS.get(cls.kind, cls.kind)


def normalize_message(msg: str) -> str:
    """Messages go into titles: long hex numbers (addresses) vary between runs."""
    msg = re.sub(r"0[xX][0-9a-fA-F]{5,}", "<addr>", msg.strip())
    msg = re.sub(r"\s+", " ", msg)
    return msg[:120]


def make_title(rec: PanicRecord, decoded: DecodedCause, cls: AddressClass | None, fn: str | None) -> str:
    where = fn or "??"
    kind = rec.kind or ("page-fault" if decoded.is_page_fault else "exception")
    if kind == "watchdog":
        # the record's cpu is the CPU that locked up (the kernel reports it with cpu_override);
        # a cpu named in the message may be a lock holder
        cpu = str(rec.cpu) if rec.cpu is not None else None
        if cpu is None:
            m = re.search(r"\bcpu[ #:=]*(\d+)", rec.message or "", re.I)
            cpu = m.group(1) if m else "?"
        return f"watchdog: lockup on cpu {cpu}"
    if kind == "assertion":
        msg = rec.message or rec.cause or "assertion"
        msg = re.sub(r"^\s*assert(?:ion)?(?: failed)?\s*:\s*", "", msg, flags=re.I) or msg
        return f"assertion failed in {where}: {normalize_message(msg)}"
    if kind == "panic":
        msg = rec.message or rec.cause or "panic"
        return f"panic in {where}: {normalize_message(msg)}"
    if kind == "stack-overflow" or (cls is not None and cls.kind == "guard-page"):
        return f"stack overflow in {where}"
    if kind == "page-fault" or decoded.is_page_fault:
        q = _qualifier(cls, decoded.access)
        return f"page fault in {where}" + (f" ({q})" if q else "")
    return f"{decoded.name} in {where}"


# ---------------------------------------------------------------------------
# Building crashes
# ---------------------------------------------------------------------------

def _reg(rec: PanicRecord, names: tuple[str, ...]) -> int | None:
    for n in names:
        if n in rec.registers:
            return rec.registers[n]
    return None


def first_frame_is_return_address(rec: PanicRecord) -> bool:
    """With a trap frame the first ``bt`` is the faulting pc. Records written without one (panic(),
    assert_fail(), both watchdogs -- the tick watchdog in proc/sched.c and the spinlock one in
    lib/spinlock.c build their panic_info with ``.pc = __builtin_return_address(0)`` and no trap
    frame; older kernels printed only ``reg pc/fp/sp`` for them, newer ones a full register
    snapshot) start with the caller's return address instead, looked up as pc-1 like the others."""
    if rec.kind in ("panic", "assertion", "watchdog"):
        return True
    return bool(rec.registers) and set(rec.registers) <= {"pc", "fp", "sp"}


def symbolize_backtrace(addresses: list[int], sym: Symbolizer | None,
                        first_is_return: bool = False) -> list[CrashFrame]:
    """Frame 0 is the faulting pc (looked up as is, unless `first_is_return`); the others are
    return addresses (looked up as pc-1, see axiomdbg.core.symbolize)."""
    frames: list[CrashFrame] = []
    for i, pc in enumerate(addresses):
        is_ret = i > 0 or first_is_return
        look = pc - 1 if is_ret and pc > 0 else pc
        if sym is None:
            frames.append(CrashFrame(i, pc, look, None, None, 0))
            continue
        try:
            logical: list[Frame] = sym.symbolize(look)
            s = sym.symbol_at(look)
        except AxiomError:
            frames.append(CrashFrame(i, pc, look, None, None, 0))
            continue
        sname, soff = (s[0].name, pc - s[0].address) if s else (None, None)
        for f in logical:
            frames.append(CrashFrame(i, pc, look, f.function, f.file, f.line, f.column, f.inlined, sname, soff))
    return frames


def build_crash(rec: PanicRecord, kernels: KernelSet | None = None) -> Crash:
    warnings: list[str] = []
    kernel = None
    if kernels:
        kernel, warnings = kernels.select(rec.arch, rec.effective_build_id)
    sym = kernel.symbolizer if kernel else None
    if kernel is not None:
        layout = kernel.layout(rec.paging_mode)
    else:
        layout = Layout.defaults(rec.arch or "x86_64", rec.paging_mode)
    decoded = decode(rec.arch, rec.raw_cause, rec.error_code, rec.cause, rec.kind)
    cls = classify(rec.fault_addr, layout, kind=rec.kind, sp=_reg(rec, SP_REGISTERS), access=decoded.access)
    addrs = list(rec.backtrace)
    if not addrs:
        pc = _reg(rec, PC_REGISTERS)
        if pc is not None:
            addrs = [pc]
    frames = symbolize_backtrace(addrs, sym, first_frame_is_return_address(rec))
    crash = Crash(rec, decoded, cls, frames, "", str(kernel.path) if kernel else None, warnings)
    top = crash.top_frame()
    fn = None
    if top is not None:
        fn = top.function or f"{top.pc:#x}"
    crash.title = make_title(rec, decoded, cls, fn)
    return crash


def bucket_key(c: Crash) -> tuple:
    return (c.arch, c.title, c.top_functions())


def bucketize(crashes: list[Crash]) -> list[Bucket]:
    """Group identical crashes: same arch, same title, same top frames. Buckets are ordered by
    their first occurrence; crashes keep input order inside a bucket."""
    buckets: dict[tuple, Bucket] = {}
    for c in crashes:
        key = bucket_key(c)
        b = buckets.get(key)
        if b is None:
            bid = hashlib.sha1(json.dumps(key).encode()).hexdigest()[:16]
            b = buckets[key] = Bucket(bid, c.arch, c.title, key[2])
        b.crashes.append(c)
        c.bucket = b
    return list(buckets.values())


@dataclass
class TriageReport:
    crashes: list[Crash]
    buckets: list[Bucket]
    logs: list[str]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> list[dict]:
        return [c.to_dict() for c in self.crashes]


def find_logs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand directories (recursively, sorted) into log files; files are taken as given."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for q in sorted(p.rglob("*")):
                if q.is_file() and not q.name.startswith(".") and not _looks_like_elf(q) and \
                        (q.suffix.lower() in LOG_SUFFIXES or not q.suffix):
                    out.append(q)
        elif p.exists():
            out.append(p)
        else:
            raise AxiomError(f"log {p} does not exist")
    return out


def triage_texts(logs: list[tuple[str, bytes | str]], kernels: KernelSet | None = None) -> TriageReport:
    """Triage in-memory logs: [(name, content)]."""
    crashes: list[Crash] = []
    notes: list[str] = []
    warnings: list[str] = []
    for name, data in logs:
        res = parse_log(data, name)
        notes.extend(res.notes)
        for rec in res.records:
            c = build_crash(rec, kernels)
            for w in c.warnings:
                msg = f"{name}: {w}"
                if msg not in warnings:
                    warnings.append(msg)
            crashes.append(c)
    return TriageReport(crashes, bucketize(crashes), [n for n, _ in logs], warnings, notes)


def triage_paths(paths: Iterable[str | os.PathLike], kernels: Iterable[str | os.PathLike] | KernelSet = ()) -> TriageReport:
    ks = kernels if isinstance(kernels, KernelSet) else KernelSet(kernels)
    logs = []
    for p in find_logs(paths):
        try:
            logs.append((str(p), p.read_bytes()))
        except OSError as e:
            raise AxiomError(f"cannot read log {p}: {e.strerror or e}") from None
    return triage_texts(logs, ks)

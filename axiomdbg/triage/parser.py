"""Find axiom panic records in serial logs.

The record format is the kernel's contract (docs/kernel-contracts.md, "Panic
record"); docs/triage.md describes how this parser copes with real logs:

* many records per log, anywhere in the output;
* lines of other output (other CPUs, klog, the shell) between record lines —
  ignored, counted in ``PanicRecord.interleaved``;
* ANSI colour / cursor escapes, NUL bytes, CRLF and lone CR line endings;
* truncated records (no END marker before the end of the log, before the next
  BEGIN, before the kernel's boot banner, or after too many foreign lines) —
  what was read is kept and ``truncated`` is set;
* garbled record lines (a record key with an unreadable value) — skipped with a
  note in ``PanicRecord.notes``.

It never raises on any input (bytes or str) and never invents a crash: a record
is reported only if it has its BEGIN marker, an ``arch:`` line naming a known
architecture, and a cause (``cause:`` or ``raw_cause:``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BEGIN = "=== AXIOM PANIC BEGIN ==="
END = "=== AXIOM PANIC END ==="

KNOWN_ARCHES = ("x86_64", "aarch64", "riscv64")
_ARCH_ALIASES = {"x86-64": "x86_64", "amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64",
                 "riscv": "riscv64", "rv64": "riscv64"}
KINDS = ("page-fault", "exception", "assertion", "panic", "watchdog", "stack-overflow")

# A record that sees this many consecutive foreign lines is closed as truncated.
MAX_FOREIGN_RUN = 200
MAX_REGS = 256
MAX_FRAMES = 512

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Optional prefix some consoles add: "[    1.234567] " timestamps or "[cpu1] ".
_PREFIX = re.compile(r"^\s*(?:\[[^\]\n]{0,40}\]\s*)?")
_HEX = r"0[xX][0-9a-fA-F]{1,16}"
_FIELD = re.compile(r"([a-z_]+):[ \t]*(.*?)\s*$")
_REG = re.compile(r"reg[ \t]+([A-Za-z][A-Za-z0-9_.]{0,15})[ \t]+(" + _HEX + r")\s*$")
_BT = re.compile(r"bt[ \t]+(" + _HEX + r")\s*$")
_BUILD_ID_BANNER = re.compile(r"axiom: build-id ([0-9a-fA-F]{40})\b")
_ARCH_BANNER = re.compile(r"axiom: (x86_64|aarch64|riscv64) (\S+)")

_HEX_FIELDS = ("raw_cause", "error_code", "fault_addr")
_INT_FIELDS = ("cpu", "pid", "tid")
_TEXT_FIELDS = ("arch", "build_id", "kind", "cause", "message", "location")
FIELDS = _TEXT_FIELDS[:3] + _INT_FIELDS + _HEX_FIELDS + _TEXT_FIELDS[3:]


@dataclass
class PanicRecord:
    """One panic record as found in a log (raw values; decoding is elsewhere)."""

    source: str                      # log file name (or "<string>")
    line: int                        # 1-based line of the BEGIN marker
    end_line: int | None = None      # line of the END marker (None if truncated)
    arch: str | None = None
    build_id: str | None = None
    cpu: int | None = None
    pid: int | None = None
    tid: int | None = None
    kind: str | None = None
    cause: str | None = None
    raw_cause: int | None = None
    error_code: int | None = None
    fault_addr: int | None = None
    message: str | None = None
    location: str | None = None
    registers: dict[str, int] = field(default_factory=dict)
    backtrace: list[int] = field(default_factory=list)
    truncated: bool = False
    interleaved: int = 0             # foreign lines seen between BEGIN and END
    notes: list[str] = field(default_factory=list)
    boot_build_id: str | None = None  # last "axiom: build-id" banner before the record
    paging_mode: str | None = None    # from the "axiom: <arch> <paging-mode>" banner

    @property
    def effective_build_id(self) -> str | None:
        return self.build_id or self.boot_build_id

    def is_valid(self) -> bool:
        return self.arch in KNOWN_ARCHES and (self.cause is not None or self.raw_cause is not None)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("source", "line", "end_line") + FIELDS}
        d.update(registers=dict(self.registers), backtrace=list(self.backtrace), truncated=self.truncated,
                 interleaved=self.interleaved, notes=list(self.notes), boot_build_id=self.boot_build_id,
                 paging_mode=self.paging_mode)
        return d


@dataclass
class ParseResult:
    records: list[PanicRecord]
    notes: list[str]                 # log-level notes (dropped records...)
    build_ids: list[str]             # every "axiom: build-id" banner, in order
    lines: int = 0


def clean_line(s: str) -> str:
    """Strip ANSI escapes, control characters and the trailing CR."""
    if "\x1b" in s:
        s = _ANSI.sub("", s)
        s = s.replace("\x1b", "")
    return _CTRL.sub("", s).rstrip("\r")


def _decode(data: bytes | bytearray | str) -> str:
    if isinstance(data, str):
        return data
    return bytes(data).decode("utf-8", "replace")


def _canon_arch(v: str) -> str | None:
    v = v.strip().lower()
    v = _ARCH_ALIASES.get(v, v)
    return v if v in KNOWN_ARCHES else None


class _Builder:
    def __init__(self, source: str, line: int, boot_id: str | None, paging: str | None) -> None:
        self.rec = PanicRecord(source=source, line=line, boot_build_id=boot_id, paging_mode=paging)
        self.foreign_run = 0
        self.seen: set[str] = set()

    def note(self, text: str) -> None:
        if len(self.rec.notes) < 64:
            self.rec.notes.append(text)

    def feed(self, body: str, lineno: int) -> bool:
        """Take one cleaned line; return True if it was a record line."""
        r = self.rec
        if body.startswith("reg"):
            m = _REG.match(body)
            if m:
                if len(r.registers) < MAX_REGS:
                    r.registers.setdefault(m.group(1).lower(), int(m.group(2), 16))
                return True
            if re.match(r"reg\s", body):
                self.note(f"line {lineno}: garbled register line skipped: {body[:60]!r}")
                return True
            return False
        if body.startswith("bt"):
            m = _BT.match(body)
            if m:
                if len(r.backtrace) < MAX_FRAMES:
                    r.backtrace.append(int(m.group(1), 16))
                return True
            if re.match(r"bt\s", body):
                self.note(f"line {lineno}: garbled backtrace line skipped: {body[:60]!r}")
                return True
            return False
        m = _FIELD.match(body)
        if not m or m.group(1) not in FIELDS:
            return False
        key, value = m.group(1), m.group(2)
        if key in self.seen:
            self.note(f"line {lineno}: duplicate {key!r} line ignored")
            return True
        try:
            if key == "arch":
                a = _canon_arch(value)
                if a is None:
                    raise ValueError
                r.arch = a
            elif key in _HEX_FIELDS:
                if not re.fullmatch(_HEX, value):
                    raise ValueError
                setattr(r, key, int(value, 16))
            elif key in _INT_FIELDS:
                if not re.fullmatch(r"\d{1,9}|" + _HEX, value):
                    raise ValueError
                setattr(r, key, int(value, 0))
            elif key == "build_id":
                if not re.fullmatch(r"[0-9a-fA-F]{8,128}", value):
                    raise ValueError
                r.build_id = value.lower()
            elif key == "kind":
                v = value.strip().lower()
                if v not in KINDS:
                    if not re.fullmatch(r"[a-z][a-z0-9-]{0,31}", v):
                        raise ValueError
                    self.note(f"line {lineno}: unknown kind {v!r}")
                r.kind = v
            else:  # cause, message, location: free text
                if not value:
                    raise ValueError
                setattr(r, key, value[:512])
        except ValueError:
            self.note(f"line {lineno}: garbled {key!r} line skipped: {value[:60]!r}")
            return True
        self.seen.add(key)
        return True


def parse_log(data: bytes | bytearray | str, source: str = "<string>") -> ParseResult:
    """Find every panic record in `data` (a whole serial log). Never raises."""
    try:
        return _parse(data, source)
    except Exception as e:  # pragma: no cover - defensive: the contract is "never raises"
        return ParseResult([], [f"{source}: internal parser error {type(e).__name__}: {e}"], [])


def _parse(data: bytes | bytearray | str, source: str) -> ParseResult:
    text = _decode(data)
    records: list[PanicRecord] = []
    notes: list[str] = []
    build_ids: list[str] = []
    boot_id: str | None = None
    paging: str | None = None
    cur: _Builder | None = None

    def close(b: _Builder, truncated: bool, why: str = "") -> None:
        rec = b.rec
        if truncated:
            rec.truncated = True
            if why:
                b.note(f"record truncated: {why}")
        if rec.is_valid():
            records.append(rec)
        else:
            missing = [n for n, ok in (("arch", rec.arch in KNOWN_ARCHES),
                                        ("cause", rec.cause is not None or rec.raw_cause is not None)) if not ok]
            notes.append(f"{source}:{rec.line}: incomplete panic record dropped (no {' or '.join(missing)})")

    lineno = 0
    for lineno, physical in enumerate(text.split("\n"), start=1):
        for raw in physical.split("\r"):
            line = clean_line(raw)
            if not line.strip():
                continue
            # markers may be glued to other output on the same line
            if BEGIN in line:
                if cur is not None:
                    close(cur, True, f"a new record starts at line {lineno}")
                cur = _Builder(source, lineno, boot_id, paging)
                tail = line.split(BEGIN, 1)[1]
                if END in tail:  # degenerate: both markers on one line
                    close(cur, False)
                    cur = None
                continue
            if END in line:
                if cur is not None:
                    cur.rec.end_line = lineno
                    close(cur, False)
                    cur = None
                continue
            m = _BUILD_ID_BANNER.search(line)
            if m:
                boot_id = m.group(1).lower()
                build_ids.append(boot_id)
                if cur is not None:
                    close(cur, True, f"the kernel rebooted at line {lineno}")
                    cur = None
                continue
            m = _ARCH_BANNER.search(line)
            if m and cur is None:
                paging = m.group(2)
            if cur is None:
                continue
            body = _PREFIX.sub("", line, count=1)
            if cur.feed(body, lineno) or cur.feed(line.strip(), lineno):
                cur.foreign_run = 0
            else:
                cur.rec.interleaved += 1
                cur.foreign_run += 1
                if cur.foreign_run > MAX_FOREIGN_RUN:
                    close(cur, True, f"no record line for {MAX_FOREIGN_RUN} lines")
                    cur = None
    if cur is not None:
        close(cur, True, "the log ends before the END marker")
    return ParseResult(records, notes, build_ids, lineno)

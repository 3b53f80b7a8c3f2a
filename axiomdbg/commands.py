"""Inspection commands shared by the GDB extension (`ax ...`) and the one-shot CLI.

A command is an argparse parser plus `run(session, args, out)`. It never
touches GDB or QEMU: it works on a :class:`Session`, which bundles the core
objects (arch, physical memory with a page cache, registers, kernel types).
`--json` output is documented in docs/debugging.md and kept stable.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Callable, TextIO

from .core.arch import get_arch
from .core.errors import AxiomError
from .core.memory import PageCache
from .core.paging import MappedRange, PagingConfig, RegionKind, Translation, size_str

MASK64 = (1 << 64) - 1


class Session:
    """Everything a command needs to inspect one stopped target."""

    def __init__(self, arch: str, mem, regs, elf: str | None = None, types=None):
        self.arch = get_arch(arch)
        self.raw_mem = mem
        self.mem = PageCache(mem)
        self.regs = regs
        self.elf = elf
        self._types = types
        self._cfg: PagingConfig | None = None
        self._kernel = None
        self.previous_ranges: dict[object, list[MappedRange]] = {}   # for `pt --diff`, survives stops

    # -- caches ----------------------------------------------------------
    def invalidate(self) -> None:
        """Drop everything derived from target state (called whenever the target runs)."""
        self.mem.invalidate()
        self._cfg = None
        if hasattr(self.regs, "invalidate"):
            self.regs.invalidate()
        if self._kernel is not None:
            self._kernel.invalidate()

    @property
    def types(self):
        if self._types is None:
            if not self.elf:
                raise AxiomError("no kernel ELF loaded (use `file build/<arch>-<profile>/axiom.elf`)")
            from .core.dwarf import TypeIndex
            self._types = TypeIndex(self.elf)
        return self._types

    @property
    def paging(self) -> PagingConfig:
        if self._cfg is None:
            self._cfg = self.arch.paging_from_registers(self.regs)
        return self._cfg

    def read_virt(self, va: int, size: int) -> bytes:
        return self.arch.read_virt(self.mem, self.paging, va & MASK64, size)

    @property
    def kernel(self):
        """Kernel-object helpers (processes, log, mounts...) built from DWARF."""
        if self._kernel is None:
            from .core.kernel import Kernel
            self._kernel = Kernel(self)
        return self._kernel

    def paging_for(self, pid: int | None) -> PagingConfig:
        """The paging configuration of process `pid` (None: the current one)."""
        if pid is None:
            return self.paging
        root = self.kernel.aspace_root(pid)
        return with_user_root(self.paging, root)


def with_user_root(cfg: PagingConfig, root: int) -> PagingConfig:
    """Replace the root of the user (lower) half by `root`.

    On aarch64 the user half has its own table (TTBR0); on x86_64 and riscv64
    one root covers both halves and every process's root shares the kernel
    half, so the whole root is replaced."""
    regions = []
    for r in cfg.regions:
        if r.kind is RegionKind.SIGN_EXTENDED or getattr(r, "va_low", 1) == 0:
            r = dataclasses.replace(r, root=root)
        regions.append(r)
    return dataclasses.replace(cfg, regions=tuple(regions))


# ---------------------------------------------------------------------------
# Command registry
# ---------------------------------------------------------------------------

class Command:
    name: str = ""
    summary: str = ""

    def parser(self) -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(prog=f"ax {self.name}", description=self.summary, exit_on_error=False)
        self.add_arguments(p)
        return p

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        pass

    def run(self, s: Session, args: argparse.Namespace, out: TextIO) -> None:
        raise NotImplementedError


COMMANDS: dict[str, Command] = {}
FUNCTIONS: dict[str, Callable] = {}


def command(cls):
    COMMANDS[cls.name] = cls()
    return cls


def parse_int(text: str) -> int:
    try:
        return int(text.replace("_", ""), 0) & MASK64
    except ValueError:
        raise AxiomError(f"not an address: {text!r}") from None


def emit_json(out: TextIO, obj) -> None:
    out.write(json.dumps(obj, indent=2) + "\n")


# ---------------------------------------------------------------------------
# vtop / ptov / pt
# ---------------------------------------------------------------------------

def translation_json(t: Translation) -> dict:
    return {
        "va": t.va,
        "region": t.region,
        "mapped": t.mapped,
        "pa": t.pa,
        "page_size": t.page_size,
        "flags": str(t.flags) if t.flags else None,
        "fault": t.fault.value if t.fault else None,
        "fault_level": t.fault_level,
        "reason": t.reason or None,
        "chain": [
            {"level": st.level, "table": st.table, "index": st.index, "entry_address": st.entry_address,
             "entry": st.raw, "kind": st.kind.value, "flags": str(st.flags), "note": st.note or None}
            for st in t.steps
        ],
    }


@command
class Vtop(Command):
    name = "vtop"
    summary = "translate a virtual address, showing every page-table level"

    def add_arguments(self, p):
        p.add_argument("address")
        p.add_argument("--pid", type=int, help="use this process's address space")
        p.add_argument("--json", action="store_true")

    def run(self, s, args, out):
        va = parse_int(args.address)
        cfg = s.paging_for(args.pid)
        t = s.arch.translate(s.mem, cfg, va)
        if args.json:
            emit_json(out, translation_json(t))
            return
        out.write(f"{cfg.describe()}\n{t}\n")


@command
class Pt(Command):
    name = "pt"
    summary = "dump an address space as merged ranges (filters: --writable --exec --user --kernel --wx)"

    def add_arguments(self, p):
        p.add_argument("--pid", type=int)
        p.add_argument("--writable", action="store_true")
        p.add_argument("--exec", dest="executable", action="store_true")
        p.add_argument("--user", action="store_true")
        p.add_argument("--kernel", action="store_true")
        p.add_argument("--wx", action="store_true", help="only writable+executable ranges (W^X violations)")
        p.add_argument("--diff", action="store_true", help="changes since the previous `pt` of this space")
        p.add_argument("--json", action="store_true")

    def run(self, s, args, out):
        cfg = s.paging_for(args.pid)
        rs = s.arch.ranges(s.mem, cfg)
        key = ("pt", args.pid)
        prev = s.previous_ranges.get(key)
        s.previous_ranges[key] = rs
        labeler = s.kernel.region_labeler() if s.elf else (lambda r: "")
        sel = [r for r in rs if _keep(r, args)]
        if args.diff:
            self._diff(prev, rs, out, args.json)
            return
        if args.json:
            emit_json(out, [range_json(r, labeler(r)) for r in sel])
            return
        out.write(f"{cfg.describe()}\n")
        out.write(f"{'VA start':>18} {'VA end':>18}  {'PA':>12} {'size':>7}  flags              label\n")
        for r in sel:
            out.write(f"{r.va:#018x} {r.va_end:#018x}  {r.pa:#012x} {size_str(r.size):>7}  "
                      f"{r.flags.merge_key():<18} {labeler(r)}\n")
        out.write(f"{len(sel)} ranges\n")

    @staticmethod
    def _diff(prev, cur, out, as_json):
        if prev is None:
            out.write("no previous `pt` of this address space to compare with; run `ax pt --diff` again "
                      "after the target has run\n")
            return
        old = {(r.va, r.size): r for r in prev}
        new = {(r.va, r.size): r for r in cur}
        added = [new[k] for k in new.keys() - old.keys()]
        removed = [old[k] for k in old.keys() - new.keys()]
        changed = [(old[k], new[k]) for k in new.keys() & old.keys()
                   if (old[k].pa, old[k].flags.merge_key()) != (new[k].pa, new[k].flags.merge_key())]
        if as_json:
            emit_json(out, {"mapped": [range_json(r) for r in sorted(added, key=lambda r: r.va)],
                            "unmapped": [range_json(r) for r in sorted(removed, key=lambda r: r.va)],
                            "changed": [{"before": range_json(a), "after": range_json(b)} for a, b in changed]})
            return
        for r in sorted(added, key=lambda r: r.va):
            out.write(f"+ {r}\n")
        for r in sorted(removed, key=lambda r: r.va):
            out.write(f"- {r}\n")
        for a, b in changed:
            out.write(f"~ {a}\n  => {b}\n")
        out.write(f"{len(added)} mapped, {len(removed)} unmapped, {len(changed)} changed\n")


def _keep(r: MappedRange, args) -> bool:
    f = r.flags
    if args.writable and not f.writable:
        return False
    if args.executable and not f.executable:
        return False
    if args.user and not f.user:
        return False
    if args.kernel and f.user:
        return False
    if args.wx and not (f.writable and f.executable):
        return False
    return True


def range_json(r: MappedRange, label: str = "") -> dict:
    f = r.flags
    return {"va_start": r.va, "va_end": r.va_end, "pa": r.pa, "size": r.size,
            "page_size": r.size // max(r.count, 1), "entries": r.count, "flags": f.merge_key(),
            "readable": f.readable, "writable": f.writable, "executable": f.executable, "user": f.user,
            "global": f.global_, "label": label or None}


@command
class Ptov(Command):
    name = "ptov"
    summary = "find the virtual addresses that map a physical address"

    def add_arguments(self, p):
        p.add_argument("address")
        p.add_argument("--pid", type=int)
        p.add_argument("--json", action="store_true")

    def run(self, s, args, out):
        pa = parse_int(args.address)
        cfg = s.paging_for(args.pid)
        hits = []
        for m in s.arch.walk(s.mem, cfg):
            if m.pa <= pa < m.pa + m.size:
                hits.append((m.va + (pa - m.pa), m))
        if args.json:
            emit_json(out, [{"va": va, "page_va": m.va, "page_size": m.size, "flags": m.flags.merge_key()}
                            for va, m in hits])
            return
        if not hits:
            out.write(f"physical address {pa:#x} is not mapped in this address space\n")
        for va, m in hits:
            out.write(f"{va:#018x}  ({size_str(m.size)} page at {m.va:#x}, {m.flags})\n")


def _fn_vtop(s: Session, va: int, pid: int | None = None) -> int:
    return s.arch.virt_to_phys(s.mem, s.paging_for(pid), va & MASK64)


FUNCTIONS["ax_vtop"] = _fn_vtop

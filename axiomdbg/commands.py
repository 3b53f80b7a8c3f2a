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
from .core.errors import AxiomError, PagingDisabledError
from .core.memory import PageCache
from .core.paging import MappedRange, PagingConfig, RegionKind, Translation, size_str

MASK64 = (1 << 64) - 1


class Session:
    """Everything a command needs to inspect one stopped target."""

    def __init__(self, arch: str, mem, regs, elf: str | None = None, types=None, liveness=None):
        self.arch = get_arch(arch)
        # liveness(): raise a one-line AxiomError if the target vanished or is running
        self.liveness = liveness
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

    def check(self) -> None:
        """Fail with one clear line if the target is gone or running (front-ends call it first)."""
        if self.liveness is not None:
            self.liveness()

    @property
    def paging(self) -> PagingConfig:
        if self._cfg is None:
            if self.regs is None:
                raise AxiomError("no registers: this target has no CPU state (open a dump with --kernel)")
            try:
                self._cfg = self.arch.paging_from_registers(self.regs)
            except PagingDisabledError as e:
                raise PagingDisabledError(f"paging is off on this CPU ({e}); the kernel has not enabled the MMU "
                                          f"yet: continue past early boot, or use physical addresses") from None
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

class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one-line AxiomErrors instead of exiting."""

    def error(self, message):
        raise AxiomError(f"{self.prog}: {message} (see `{self.prog} --help`)")


class Command:
    name: str = ""
    summary: str = ""

    def parser(self) -> argparse.ArgumentParser:
        p = _Parser(prog=f"ax {self.name}", description=self.summary, exit_on_error=False)
        self.add_arguments(p)
        # every command can answer in JSON (formats documented in docs/debugging.md)
        p.add_argument("--json", action="store_true", help="machine-readable output")
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
        p.add_argument("--kernel-only", "--kernel", dest="kernel", action="store_true",
                       help="only kernel (non-user) ranges (one-shot CLI: --kernel-only, --kernel names the ELF)")
        p.add_argument("--wx", action="store_true", help="only writable+executable ranges (W^X violations)")
        p.add_argument("--diff", action="store_true", help="changes since the previous `pt` of this space")

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
                      f"{str(r.flags.merge_key()):<18} {labeler(r)}\n")
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
            "page_size": r.size // max(r.count, 1), "entries": r.count, "flags": str(f.merge_key()),
            "readable": f.readable, "writable": f.writable, "executable": f.executable, "user": f.user,
            "global": f.global_, "label": label or None}


@command
class Ptov(Command):
    name = "ptov"
    summary = "find the virtual addresses that map a physical address"

    def add_arguments(self, p):
        p.add_argument("address")
        p.add_argument("--pid", type=int)

    def run(self, s, args, out):
        pa = parse_int(args.address)
        cfg = s.paging_for(args.pid)
        hits = []
        for m in s.arch.walk(s.mem, cfg):
            if m.pa <= pa < m.pa + m.size:
                hits.append((m.va + (pa - m.pa), m))
        if args.json:
            emit_json(out, [{"va": va, "page_va": m.va, "page_size": m.size, "flags": str(m.flags.merge_key())}
                            for va, m in hits])
            return
        if not hits:
            out.write(f"physical address {pa:#x} is not mapped in this address space\n")
        for va, m in hits:
            out.write(f"{va:#018x}  ({size_str(m.size)} page at {m.va:#x}, {m.flags})\n")


def _fn_vtop(s: Session, va: int, pid: int | None = None) -> int:
    return s.arch.virt_to_phys(s.mem, s.paging_for(pid), va & MASK64)


FUNCTIONS["ax_vtop"] = _fn_vtop


# ---------------------------------------------------------------------------
# Kernel objects: ps, threads, bt, cpus, dmesg, mounts, ls, devs, pmm, maps, files, bpf, layout
# ---------------------------------------------------------------------------

def _hex(v: int | None) -> str:
    return "-" if v is None else f"{v:#x}"


def _default_pid(s: Session, pid: int | None, out: TextIO, quiet: bool) -> int:
    """--pid, else the current process, else pid 1 (said so unless --json)."""
    if pid is not None:
        return pid
    try:
        p = s.kernel.current_process()
    except AxiomError:
        p = None
    if p is not None:
        return p.pid.value_()
    if not quiet:
        out.write("(the current thread is a kernel thread; showing pid 1, use --pid N)\n")
    return 1


@command
class Ps(Command):
    name = "ps"
    summary = "list processes (pid, ppid, state, threads, pages, name)"


    def run(self, s, args, out):
        procs = s.kernel.ps()
        if args.json:
            emit_json(out, procs)
            return
        out.write(f"{'PID':>5} {'PPID':>5} {'STATE':<8} {'THR':>3} {'PAGES':>6}  {'ROOT':>12}  NAME\n")
        for p in procs:
            out.write(f"{p['pid']:>5} {p['ppid']:>5} {p['state']:<8} {p['threads']:>3} {p['pages']:>6}  "
                      f"{_hex(p['aspace_root']):>12}  {p['name']}\n")


@command
class Threads(Command):
    name = "threads"
    summary = "list threads (kernel threads too) with state, CPU and where they sleep"

    def add_arguments(self, p):
        p.add_argument("--pid", type=int, help="only this process's threads")
        p.add_argument("--regs", action="store_true", help="show the saved registers")

    def run(self, s, args, out):
        k = s.kernel
        running = k.running_threads()
        rows = []
        for t in k.threads():
            info = k.thread_info(t, running)
            if args.pid is not None and info["pid"] != args.pid:
                continue
            info["saved_registers"] = k.saved_registers(t) if info["state"] != "running" else None
            rows.append(info)
        if args.json:
            emit_json(out, rows)
            return
        out.write(f"{'TID':>6} {'PID':>5} {'STATE':<9} {'CPU':>3} {'RUNTIME_US':>10} {'SWITCHES':>8}  NAME\n")
        for r in rows:
            on = f"  [on CPU {r['on_cpu']}]" if "on_cpu" in r else ""
            out.write(f"{r['tid']:>6} {r['pid']:>5} {r['state']:<9} {r['cpu']:>3} {r['runtime_us']:>10} "
                      f"{r['switches']:>8}  {r['name']}{on}\n")
            if args.regs and r["saved_registers"]:
                regs = r["saved_registers"]
                out.write("        " + " ".join(f"{n}={v:#x}" for n, v in regs.items()) + "\n")


@command
class Bt(Command):
    name = "bt"
    summary = "backtrace of a thread (a sleeping thread from its saved context; default: current)"

    def add_arguments(self, p):
        p.add_argument("--tid", type=int)
        p.add_argument("--pid", type=int, help="the first thread of this process")
        p.add_argument("--all", action="store_true", help="every thread")
        p.add_argument("--panic", action="store_true",
                       help="the crashing thread, from the panic record in memory (default on a dump of a "
                            "kernel that panicked)")

    def run(self, s, args, out):
        k = s.kernel
        post_mortem = args.panic or (getattr(s, "cpu_regs", None) is not None and not args.all
                                     and args.tid is None and args.pid is None and k.panic_cpu() is not None)
        if post_mortem:
            self._panic(s, args, out)
            return
        if args.all:
            threads = list(k.threads())
        elif args.tid is not None:
            threads = [k.find_thread(args.tid)]
        elif args.pid is not None:
            p = k.find_process(args.pid)
            first = p.threads.value_()
            if not first:
                raise AxiomError(f"process {args.pid} has no threads left")
            threads = [k.load(first, "struct thread")]
        else:
            threads = [k.current_thread()]
        result = []
        for t in threads:
            try:
                frames = k.thread_backtrace(t)
                err = None
            except AxiomError as e:
                frames, err = [], str(e)
            result.append((t, frames, err))
        if args.json:
            emit_json(out, [{"tid": t.tid.value_(), "name": t.name.string_(), "state": k.thread_state(t),
                             "frames": [f.to_dict() for f in fr], "error": err} for t, fr, err in result])
            return
        for t, frames, err in result:
            out.write(f"thread {t.tid.value_()} ({t.name.string_()}) {k.thread_state(t)}\n")
            if err:
                if not args.all:
                    raise AxiomError(err)
                out.write(f"  {err}\n")
            for f in frames:
                out.write(f"  {f}\n")

    @staticmethod
    def _panic(s, args, out):
        rep = s.kernel.panic_report()
        if args.json:
            emit_json(out, {**rep, "frames": [f.to_dict() for f in rep["frames"]]})
            return
        out.write(f"panic on CPU {rep['cpu']}: thread {rep['tid']} ({rep['thread'] or '-'}), pid {rep['pid']}\n")
        out.write(f"  kind {rep['kind']}: {rep['cause']}")
        for key in ("raw_cause", "error_code", "fault_addr"):
            if rep[key] is not None:
                out.write(f"  {key} {rep[key]:#x}")
        out.write("\n")
        if rep["message"]:
            out.write(f"  message: {rep['message']}\n")
        if rep["location"]:
            out.write(f"  location: {rep['location']}\n")
        regs = list(rep["registers"].items())
        for i in range(0, len(regs), 4):
            out.write("  " + "  ".join(f"{n:>6}={v:#018x}" for n, v in regs[i:i + 4]) + "\n")
        for f in rep["frames"]:
            out.write(f"  {f}\n")


@command
class Cpus(Command):
    name = "cpus"
    summary = "CPUs and what each one runs"


    def run(self, s, args, out):
        cpus = s.kernel.cpus()
        if args.json:
            emit_json(out, cpus)
            return
        out.write(f"{'CPU':>3} {'HWID':>4} {'ON':>2} {'TICKS':>8} {'SWITCHES':>8} {'IDLE_MS':>8}  CURRENT\n")
        for c in cpus:
            cur = (f"tid {c['current']} ({c['current_name']}" + (f", pid {c['current_pid']})" if c['current_pid']
                   else ")")) if c["current"] >= 0 and c["current_name"] is not None else "-"
            out.write(f"{c['cpu']:>3} {c['hwid']:>4} {int(c['online']):>2} {c['ticks']:>8} {c['switches']:>8} "
                      f"{c['idle_ms']:>8}  {cur}\n")


@command
class Dmesg(Command):
    name = "dmesg"
    summary = "the kernel log ring (every record still in it)"

    def add_arguments(self, p):
        p.add_argument("-n", "--last", type=int, help="only the last N records")

    def run(self, s, args, out):
        recs = s.kernel.dmesg()
        if args.last is not None:
            recs = recs[-args.last:] if args.last > 0 else []
        if args.json:
            emit_json(out, recs)
            return
        for r in recs:
            us = r["ts_ns"] // 1000
            out.write(f"[{us // 1000000:5d}.{us % 1000000:06d}] {r['text']}\n")


@command
class Mounts(Command):
    name = "mounts"
    summary = "mounted file systems (like /proc/mounts)"


    def run(self, s, args, out):
        ms = s.kernel.mounts()
        if args.json:
            emit_json(out, ms)
            return
        for m in ms:
            out.write(f"{m['source']} {m['path']} {m['fstype']} {m['mode']} 0 0\n")


@command
class Ls(Command):
    name = "ls"
    summary = "list a directory of the kernel's VFS tree (from the kernel's own objects)"

    def add_arguments(self, p):
        p.add_argument("path", nargs="?", default="/")

    def run(self, s, args, out):
        if not args.path.startswith("/"):
            raise AxiomError(f"ls wants an absolute path, got {args.path!r}")
        ents = s.kernel.ls(args.path)
        if args.json:
            emit_json(out, ents)
            return
        for e in ents:
            perm = f"{e['perm']:04o}" if e.get("perm") is not None else "    "
            size = "" if e.get("size") is None else str(e["size"])
            ino = "" if e.get("ino") is None else str(e["ino"])
            out.write(f"{e['type']:<4} {perm} {ino:>6} {size:>9}  {e['name']}"
                      f"{'/' if e['type'] == 'dir' else ''}\n")


@command
class Devs(Command):
    name = "devs"
    summary = "devfs device nodes"


    def run(self, s, args, out):
        ds = s.kernel.devfs_nodes()
        if args.json:
            emit_json(out, ds)
            return
        for d in ds:
            out.write(f"/dev/{d['name']:<10} {d['major']:>3},{d['minor']:<3}  refs {d['refcount']}\n")


@command
class Pmm(Command):
    name = "pmm"
    summary = "physical frame allocator figures (like /proc/meminfo)"


    def run(self, s, args, out):
        d = s.kernel.pmm()
        if args.json:
            emit_json(out, d)
            return
        for k_, v in d.items():
            out.write(f"{k_:<16} {v:#x}\n" if k_ == "base_pa" else f"{k_:<16} {v}\n")
        out.write(f"{'MemTotal:':<16} {d['total_frames'] * d['page_size'] // 1024} kB\n")
        out.write(f"{'MemFree:':<16} {d['free_frames'] * d['page_size'] // 1024} kB\n")


@command
class Maps(Command):
    name = "maps"
    summary = "a process's mappings: its VM regions with their frames (like /proc/PID/maps)"

    def add_arguments(self, p):
        p.add_argument("--pid", type=int)

    def run(self, s, args, out):
        pid = _default_pid(s, args.pid, out, args.json)
        ms = s.kernel.mappings(pid)
        if args.json:
            emit_json(out, ms)
            return
        for m in ms:
            pa = f"{m['pa']:016x}" if m["pa"] is not None else f"{'-':>16}"
            out.write(f"{m['start']:016x}-{m['end']:016x} {pa} {m['flags']} {m['kind']}\n")


@command
class Files(Command):
    name = "files"
    summary = "a process's open file descriptors"

    def add_arguments(self, p):
        p.add_argument("--pid", type=int)

    def run(self, s, args, out):
        pid = _default_pid(s, args.pid, out, args.json)
        fs = s.kernel.files(pid)
        if args.json:
            emit_json(out, fs)
            return
        out.write(f"{'FD':>3} {'MODE':<4} {'TYPE':<4} {'OFFSET':>8} {'REFS':>4}  PATH\n")
        for f in fs:
            out.write(f"{f['fd']:>3} {f['mode']:<4} {f['type'] or '?':<4} {f['offset']:>8} {f['refcount']:>4}  "
                      f"{f['path']}\n")


@command
class Bpf(Command):
    name = "bpf"
    summary = "eBPF programs (id, type, attach point, size) and maps (type, sizes, contents)"

    def add_arguments(self, p):
        p.add_argument("--disasm", action="store_true", help="disassemble each program")
        p.add_argument("--values", action="store_true", help="show map contents")

    def run(self, s, args, out):
        k = s.kernel
        if not k.bpf_available():
            raise AxiomError("this kernel has no eBPF subsystem (no bpf objects in its DWARF)")
        progs = k.bpf_progs(with_insns=args.disasm or args.json)
        maps = k.bpf_maps(with_values=args.values or args.json)
        if args.disasm or args.json:
            from .bpf.asm import disassemble
            for p in progs:
                code = p.pop("code", b"")
                try:
                    p["disassembly"] = disassemble(code).splitlines() if code else []
                except Exception as e:   # a corrupt program must not hide the rest
                    p["disassembly"] = [f"<cannot disassemble: {e}>"]
        if args.json:
            emit_json(out, {"progs": progs, "maps": maps})
            return
        out.write(f"{len(progs)} programs\n")
        for p in progs:
            att = ",".join(p["attached"]) or "-"
            out.write(f"  prog {p['id']:>3} {p['type_name']:<16} {p['name']!r:<18} {p['insns']:>5} insns "
                      f"attached {att}  runs {p['run_cnt']}\n")
            for line in p.get("disassembly", []):
                out.write(f"      {line}\n")
        out.write(f"{len(maps)} maps\n")
        for m in maps:
            out.write(f"  map  {m['id']:>3} {m['type_name']:<16} {m['name']!r:<18} key {m['key_size']} "
                      f"value {m['value_size']} max {m['max_entries']} ({m['mem_bytes']} bytes)\n")
            for e in m.get("entries", []):
                out.write(f"      {e}\n")


@command
class Layout(Command):
    name = "layout"
    summary = "the kernel's layout note (paging mode, bases, build id)"


    def run(self, s, args, out):
        d = s.kernel.layout_dict()
        if args.json:
            emit_json(out, d)
            return
        for k_, v in d.items():
            if k_ in ("magic",):
                continue
            out.write(f"{k_:<18} {v:#x}\n" if isinstance(v, int) and v > 4096 else f"{k_:<18} {v}\n")


def _fn_proc(s: Session, pid: int) -> int:
    return s.kernel.find_process(pid).address_


def _fn_current(s: Session) -> int:
    return s.kernel.current_thread().address_


_fn_proc.ctype = "struct process *"
_fn_current.ctype = "struct thread *"
FUNCTIONS["ax_proc"] = _fn_proc
FUNCTIONS["ax_current"] = _fn_current

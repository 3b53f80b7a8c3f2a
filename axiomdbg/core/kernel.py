"""Kernel-object helpers for the axiom kernel, in the style of drgn's helpers.

Everything here reads the kernel through two things only: the kernel ELF's
DWARF (``session.types``, a :class:`~axiomdbg.core.dwarf.TypeIndex`) and
``session.read_virt(va, size)``. No struct offset is written down here; the
layout note (``struct axiom_layout axiom_layout``) gives bases, modes and the
addresses of the key globals.

Two layers:

* :class:`Kernel` -- the helpers a :class:`~axiomdbg.commands.Session` exposes
  as ``session.kernel`` (processes, threads and their backtraces, CPUs,
  mappings, open files, mounts, the VFS tree, devfs, the frame allocator, the
  log ring, eBPF objects, region labels);
* a drgn-style API (:class:`Target`, :func:`for_each_process`,
  :func:`find_process`, :func:`translate`, :func:`mappings`...) for scripts.

:func:`registers_from_layout` builds the paging registers of a memory dump
(which carries none) from the layout note.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .dwarf import DwarfError, Object, TypeIndex
from .errors import AxiomError, MemoryReadError, PagingError, UnmappedError
from .memory import DictRegisters

MASK64 = (1 << 64) - 1
LAYOUT_MAGIC = 0x54554F59414C5841          # "AXLAYOUT" (layout.h AXIOM_LAYOUT_MAGIC)
KLOG_MAGIC = 0x474F4C4B                    # "KLOG"
# kernel/include/arch/arch.h MMU_* protection bits (preprocessor macros: not in DWARF)
MMU_READ, MMU_WRITE, MMU_EXEC, MMU_USER = 0x1, 0x2, 0x4, 0x8
MAX_FRAMES = 64
# kernel/include/panic.h: the kinds a panic record can have
PANIC_KINDS = ("page-fault", "exception", "assertion", "panic", "watchdog", "stack-overflow")
RISCV_ABI = ("zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
             "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6")


class KernelError(AxiomError):
    """A kernel object could not be found or does not make sense."""


class BuildIdMismatchError(KernelError):
    """The kernel ELF given to the debugger is not the kernel running in the target."""


class _Overlay:
    """read_virt wrapper serving reads inside one pre-fetched block from memory."""

    __slots__ = ("read", "base", "data")

    def __init__(self, read, base: int, data: bytes):
        self.read, self.base, self.data = read, base, data

    def __call__(self, addr: int, size: int) -> bytes:
        off = addr - self.base
        if 0 <= off and off + size <= len(self.data):
            return self.data[off:off + size]
        return self.read(addr, size)


def _enum_names(types: TypeIndex, name: str, prefix: str, fallback: dict[int, str]) -> dict[int, str]:
    try:
        e = types.enum(name)
    except DwarfError:
        return dict(fallback)
    return {v: k[len(prefix):].lower() if k.startswith(prefix) else k.lower() for k, v in e.enumerators.items()}


def prot_str(prot: int, user: bool | None = None) -> str:
    s = ("r" if prot & MMU_READ else "-") + ("w" if prot & MMU_WRITE else "-") + ("x" if prot & MMU_EXEC else "-")
    if user is not None:
        s += "u" if user else "-"
    return s


@dataclass
class StackFrame:
    """One frame of a backtrace: the pc, the frame pointer it was found with, and the source."""

    index: int
    pc: int
    fp: int
    function: str | None = None
    location: str | None = None
    inlined: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"index": self.index, "pc": self.pc, "fp": self.fp, "function": self.function,
                "location": self.location, "inlined": self.inlined}

    def __str__(self) -> str:
        inl = "".join(f" [inlined {n}]" for n in self.inlined)
        return f"#{self.index:<2} {self.pc:#018x} in {self.function or '??'}{inl} ({self.location or '??'})"


class Kernel:
    """Kernel-object helpers over one stopped target (a Session).

    Results are cached until :meth:`invalidate` (the Session calls it whenever
    the target runs). Every accessor raises a one-line AxiomError on a problem."""

    def __init__(self, session):
        self.s = session
        self.types: TypeIndex = session.types
        self._layout: Object | None = None
        self._checked = False
        self._symbolizer = None
        self._sym_sorted: list[tuple[int, str]] | None = None
        self.thread_states = _enum_names(self.types, "thread_state", "THREAD_",
                                         {1: "runnable", 2: "running", 3: "sleeping", 4: "dead"})
        self.proc_states = _enum_names(self.types, "proc_state", "PROC_", {1: "alive", 2: "zombie"})
        self.vmr_kinds = _enum_names(self.types, "vmr_kind", "VMR_", {1: "elf", 2: "stack", 3: "anon"})

    # -- plumbing --------------------------------------------------------
    def invalidate(self) -> None:
        self._layout = None

    def read(self, va: int, size: int) -> bytes:
        return self.s.read_virt(va & MASK64, size)

    def var(self, name: str) -> Object:
        """The global variable `name` as an Object (DWARF type and address)."""
        try:
            return Object.variable(self.types, self.read, name)
        except DwarfError as e:
            raise KernelError(f"missing symbol: {e}") from None

    def has_var(self, name: str) -> bool:
        try:
            self.types.variable(name)
            return True
        except DwarfError:
            return False

    def obj(self, type_: str, addr: int) -> Object:
        return Object.at(self.types, self.read, type_, addr)

    def load(self, ptr_or_obj: Object | int, type_: str | None = None) -> Object:
        """Read a whole struct once and return it as an Object whose member reads
        come from that snapshot (pointers followed from it still read memory)."""
        if isinstance(ptr_or_obj, int):
            t = self.types.type(type_)
            addr = ptr_or_obj
        else:
            o = ptr_or_obj
            if o.type_.strip().kind == "pointer":
                o = o.deref()
            t, addr = o.type_, o.address_
        data = self.read(addr, t.sizeof)
        return Object(self.types, _Overlay(self.read, addr, data), t, address=addr)

    # -- the layout note -------------------------------------------------
    @property
    def layout(self) -> Object:
        """`axiom_layout`, checked: magic and build id must match the ELF."""
        if self._layout is None:
            lay = self.var("axiom_layout")
            try:
                lay = self.load(lay)
            except PagingError as e:
                raise KernelError(f"cannot read axiom_layout at {lay.address_:#x}: {e}") from None
            except MemoryReadError as e:
                raise KernelError(f"cannot read axiom_layout: {e}") from None
            magic = lay.magic.value_()
            if magic != LAYOUT_MAGIC:
                raise BuildIdMismatchError(
                    f"kernel ELF does not match the target: no axiom_layout magic at {lay.address_:#x} "
                    f"(found {magic:#x}); is the kernel booted far enough, and is this its ELF?")
            self._layout = lay
            if not self._checked:
                self.check_build_id()
        return self._layout

    def layout_dict(self) -> dict:
        lay = self.layout
        out = {}
        for m in lay.type_.strip().members:
            v = lay.member_(m.name)
            t = v.type_.strip()
            if t.kind == "array" and t.target is not None and t.target.strip().name in ("char",):
                out[m.name] = v.string_()
            elif t.kind == "array":
                out[m.name] = v.bytes_().hex()
            else:
                out[m.name] = v.value_()
        out["build_id"] = self.target_build_id()
        return out

    def target_build_id(self) -> str:
        lay = self.layout if self._layout is not None else self.load(self.var("axiom_layout"))
        n = min(int(lay.build_id_len.value_()), 20)
        return lay.build_id.bytes_()[:n].hex()

    def check_build_id(self) -> None:
        """Raise BuildIdMismatchError if the ELF's GNU build id differs from the target's."""
        from .symbolize import elf_build_id
        self._checked = True
        want = elf_build_id(self.types.path)
        got = self.target_build_id()
        if want and got and want != got:
            self._layout = None
            self._checked = False
            raise BuildIdMismatchError(f"kernel ELF {self.types.path.name} (build id {want[:16]}...) does not match "
                                       f"the target (build id {got[:16]}...); load the ELF of the running kernel")

    def symbol(self, name: str) -> int:
        try:
            return self.types.symbol(name)
        except DwarfError as e:
            raise KernelError(f"missing symbol: {e}") from None

    # -- processes and threads --------------------------------------------
    def processes(self) -> Iterator[Object]:
        """Every process on process_list (struct process objects, ascending pid)."""
        self.layout
        head = self.var("process_list")
        seen: set[int] = set()
        p = head.value_()
        while p:
            if p in seen or len(seen) > 100000:
                raise KernelError(f"process_list is corrupt (cycle at {p:#x})")
            seen.add(p)
            o = self.load(p, "struct process")
            yield o
            p = o.next.value_()

    def find_process(self, pid: int) -> Object:
        for p in self.processes():
            if p.pid.value_() == pid:
                return p
        raise KernelError(f"no process with pid {pid}")

    def threads(self) -> Iterator[Object]:
        """Every live thread on thread_list (kernel threads and idle threads too)."""
        self.layout
        seen: set[int] = set()
        t = self.var("thread_list").value_()
        while t:
            if t in seen or len(seen) > 100000:
                raise KernelError(f"thread_list is corrupt (cycle at {t:#x})")
            seen.add(t)
            o = self.load(t, "struct thread")
            yield o
            t = o.all_next.value_()

    def find_thread(self, tid: int) -> Object:
        for t in self.threads():
            if t.tid.value_() == tid:
                return t
        raise KernelError(f"no thread with tid {tid}")

    def process_state(self, p: Object) -> str:
        st = self.proc_states.get(p.state.value_(), str(p.state.value_()))
        if st == "alive" and p.killed.value_():
            return "exiting"
        return st

    def process_info(self, p: Object) -> dict:
        parent = p.parent.value_()
        vm = p.vm.value_()
        tids = []
        t = p.threads.value_()
        seen = set()
        while t and t not in seen and len(seen) < 4096:
            seen.add(t)
            to = self.obj("struct thread", t)
            tids.append(to.tid.value_())
            t = to.proc_next.value_()
        info = {
            "pid": p.pid.value_(),
            "ppid": self.obj("struct process", parent).pid.value_() if parent else 0,
            "name": p.name.string_(),
            "state": self.process_state(p),
            "threads": p.nthreads.value_(),
            "tids": tids,
            "pages": self.obj("struct vm", vm).pages.value_() if vm else 0,
            "aspace_root": self.obj("struct vm", vm).member_("as").root_pa.value_() if vm else None,
            "exit_status": p.exit_status.value_(),
            "address": p.address_,
        }
        return info

    def ps(self) -> list[dict]:
        return [self.process_info(p) for p in self.processes()]

    def thread_state(self, t: Object) -> str:
        return self.thread_states.get(t.state.value_(), "new")

    def saved_registers(self, t: Object) -> dict[str, int]:
        """The callee-saved context arch_context_switch stored for a thread that is not running."""
        ctx = t.ctx
        out = {}
        for m in ctx.type_.strip().members:
            if m.name is None or m.name.startswith("_"):
                continue
            v = ctx.member_(m.name)
            if v.type_.strip().kind == "array":
                for i in range(len(v)):
                    out[f"{m.name}{i}"] = v[i].value_()
            else:
                out[m.name] = v.value_()
        return out

    def thread_info(self, t: Object, cpus_running: dict[int, int] | None = None) -> dict:
        proc = t.proc.value_()
        info = {
            "tid": t.tid.value_(),
            "pid": self.obj("struct process", proc).pid.value_() if proc else 0,
            "name": t.name.string_(),
            "state": self.thread_state(t),
            "cpu": t.cpu.value_(),
            "idle": bool(t.is_idle.value_()),
            "runtime_us": t.runtime_ns.value_() // 1000,
            "switches": t.switches.value_(),
            "kstack": [t.kstack.base.value_(), t.kstack.top.value_()],
            "waiting_on": t.waiting_on.value_() or None,
            "wake_at_ns": t.wake_at_ns.value_() or None,
            "address": t.address_,
        }
        if cpus_running is not None and t.address_ in cpus_running:
            info["on_cpu"] = cpus_running[t.address_]
        return info

    # -- backtraces ----------------------------------------------------------
    @property
    def symbolizer(self):
        if self._symbolizer is None:
            from .symbolize import Symbolizer
            self._symbolizer = Symbolizer(self.types.path, require_dwarf=False)
        return self._symbolizer

    def _u64(self, va: int) -> int:
        return int.from_bytes(self.read(va, 8), "little")

    def unwind(self, pc: int, fp: int, stack: tuple[int, int] | None, first_is_return: bool = True,
               max_frames: int = MAX_FRAMES) -> list[tuple[int, int]]:
        """Frame-pointer unwind: [(pc, fp), ...] innermost first.

        Frame records: x86_64 [rbp] = caller's rbp, [rbp+8] = return address;
        aarch64 [x29] = caller's x29, [x29+8] = x30; riscv64 (clang/gcc with a
        frame pointer) s0 = the CFA, ra at s0-8 and the caller's s0 at s0-16.
        Stops at a NULL or out-of-stack frame pointer, a non-increasing frame
        pointer, or a zero return address."""
        arch = self.s.arch.name
        frames = [(pc, fp)]
        lo, hi = stack if stack else (0, MASK64)
        for _ in range(max_frames - 1):
            if not fp or not (lo <= fp <= hi) or fp & 7:
                break
            try:
                if arch == "riscv64":
                    ret, nfp = self._u64(fp - 8), self._u64(fp - 16)
                else:
                    nfp, ret = self._u64(fp), self._u64(fp + 8)
            except AxiomError:
                break
            if not ret:
                break
            frames.append((ret, nfp))
            if nfp <= fp:
                break
            fp = nfp
        return frames

    def symbolize(self, frames: list[tuple[int, int]], first_is_return: bool) -> list[StackFrame]:
        out = []
        for i, (pc, fp) in enumerate(frames):
            try:
                fr = self.symbolizer.symbolize_frame(pc, is_return_address=(i > 0 or first_is_return))
            except AxiomError:
                fr = []
            fn = fr[-1].function if fr else None
            if fn is None:       # assembly without DWARF functions: the ELF symbol
                try:
                    hit = self.symbolizer.symbol_at(pc - 1 if (i > 0 or first_is_return) else pc)
                    fn = hit[0].name if hit else None
                except AxiomError:
                    fn = None
            if fr:
                out.append(StackFrame(i, pc, fp, fn, fr[-1].location(), [f.function or "??" for f in fr[:-1]]))
            else:
                out.append(StackFrame(i, pc, fp, fn))
        return out

    def thread_backtrace(self, t: Object) -> list[StackFrame]:
        """Backtrace of a thread from its saved context (a thread that is not on a CPU),
        or from the live registers when it is the one the debugger's CPU runs."""
        regs = self.saved_registers(t)
        stack = (t.kstack.base.value_(), t.kstack.top.value_())
        arch = self.s.arch.name
        running = self.thread_state(t) == "running"
        if running and self.current_thread_addr() == t.address_:
            return self.live_backtrace(stack)
        if running:
            raise KernelError(f"thread {t.tid.value_()} is running on CPU {t.cpu.value_()}: its saved context "
                              f"is stale; select that CPU's thread in the debugger for a live backtrace")
        if arch == "x86_64":
            # rip is the `ret` at the end of arch_context_switch; rsp points at its return address
            pc = regs["rip"]
            frames = [(pc, regs["rbp"])]
            try:
                ret = self._u64(regs["rsp"])
            except AxiomError:
                ret = 0
            if ret:
                frames += self.unwind(ret, regs["rbp"], stack)
            return self.symbolize(frames, first_is_return=False)
        if arch == "aarch64":
            frames = self.unwind(regs["lr"], regs["fp"], stack)
        else:
            frames = self.unwind(regs["ra"], regs["s0"], stack)
        return self.symbolize(frames, first_is_return=True)

    def live_backtrace(self, stack: tuple[int, int] | None = None) -> list[StackFrame]:
        regs = self.s.regs
        arch = self.s.arch.name
        if arch == "x86_64":
            pc, fp = regs.read_reg("rip"), regs.read_reg("rbp")
        elif arch == "aarch64":
            pc, fp = regs.read_reg("pc"), regs.read_reg("x29")
        else:
            pc, fp = regs.read_reg("pc"), regs.read_reg("s0")
        if stack is None or not (stack[0] <= fp <= stack[1]):
            stack = None
        return self.symbolize(self.unwind(pc, fp, stack), first_is_return=False)

    # -- post-mortem: the panic record left in memory ----------------------------
    def panic_cpu(self) -> int | None:
        """The CPU that owns the panic (the static `panic_cpu` in lib/panic.c), or None
        if the kernel has not panicked."""
        if not self.has_var("panic_in_progress") or not self.var("panic_in_progress").value_():
            return None
        try:
            cpu = self.var("panic_cpu").value_()
        except AxiomError:
            return None
        if cpu >= 1 << 31:
            cpu -= 1 << 32
        return cpu if cpu >= 0 else None

    def _cstr(self, va: int, limit: int = 200) -> str | None:
        """A NUL-terminated printable string at `va` (None if unreadable or not text)."""
        if not va:
            return None
        out = bytearray()
        while len(out) < limit:
            n = min(64, 4096 - (va + len(out)) % 4096)
            try:
                chunk = self.read(va + len(out), n)
            except AxiomError:
                return None
            i = chunk.find(b"\0")
            out += chunk if i < 0 else chunk[:i]
            if i >= 0:
                break
        else:
            return None
        if any(b < 0x20 and b not in (9,) or b == 0x7F for b in out):
            return None
        return out.decode("utf-8", "replace")

    def _cpu_reg(self, cpu: int, name: str) -> int | None:
        regs = getattr(self.s, "cpu_regs", None)     # a dump: every CPU's NT_PRSTATUS
        if regs:
            return regs[cpu].get(name) if cpu < len(regs) else None
        if cpu == self.cpu_index():
            try:
                return self.s.regs.read_reg(name)
            except AxiomError:
                return None
        return None

    def _find_panic_info(self, lo: int, hi: int) -> Object | None:
        """Scan [lo, hi) for the `struct panic_info` panic_report() was handed: its `kind`
        points to one of the record kinds, `cause` to text, the flags are 0/1, `tf` is
        NULL or aligned and `cpu_override` is -1 or a CPU id. The innermost match wins."""
        t = self.types.struct("panic_info")
        size = t.sizeof
        off = {m.name: m.offset for m in t.members}
        ncpu = len(self.var("cpus"))
        strings: dict[int, str | None] = {}

        def text(p: int) -> str | None:
            if p not in strings:
                strings[p] = self._cstr(p)
            return strings[p]

        a = lo & ~7
        while a < hi:
            page_end = (a | 0xFFF) + 1
            try:
                buf = self.read(a, min(page_end, hi) - a)
            except AxiomError:
                a = page_end
                continue
            try:       # a struct may straddle the next page
                buf += self.read(a + len(buf), size)
            except AxiomError:
                pass
            for i in range(0, len(buf) - size + 1, 8):
                if i >= page_end - a:
                    break
                u64 = lambda name: int.from_bytes(buf[i + off[name]:i + off[name] + 8], "little")
                kind = u64("kind")
                if kind < (1 << 63):          # a kernel-half pointer on all three arches
                    continue
                if any(buf[i + off[f]] > 1 for f in ("has_raw_cause", "has_error_code", "has_fault_addr")):
                    continue
                tf = u64("tf")
                if tf & 7:
                    continue
                cov = int.from_bytes(buf[i + off["cpu_override"]:i + off["cpu_override"] + 4], "little",
                                     signed=True)
                if not -1 <= cov < ncpu:
                    continue
                if text(kind) not in PANIC_KINDS:
                    continue
                cause = u64("cause")
                if cause and text(cause) is None:
                    continue
                return Object(self.types, _Overlay(self.read, a + i, buf[i:i + size]), t, address=a + i)
            a = page_end
        return None

    def trapframe_registers(self, tf: Object) -> dict[str, int]:
        """The registers of a trap frame under the names the panic record prints
        (arch_tf_regs): x86_64 rax..r15 rip rflags cs ss vector error_code, aarch64
        pc x0..x30 sp pstate esr far, riscv64 pc ra..t6 sstatus scause stval."""
        arch = self.s.arch.name
        out: dict[str, int] = {}
        if arch == "riscv64":
            out["pc"] = tf.sepc.value_()
            for i in range(1, 32):
                out[RISCV_ABI[i]] = tf.x[i].value_()
            for n in ("sstatus", "scause", "stval"):
                out[n] = tf.member_(n).value_()
        elif arch == "aarch64":
            out["pc"] = tf.pc.value_()
            for i in range(31):
                out[f"x{i}"] = tf.x[i].value_()
            for n in ("sp", "pstate", "esr", "far"):
                out[n] = tf.member_(n).value_()
        else:
            for m in tf.type_.strip().members:
                if m.name and m.type.strip().kind != "array":
                    out["rflags" if m.name == "rflags" else m.name] = tf.member_(m.name).value_()
        return out

    def _tf_pc_fp(self, regs: dict[str, int]) -> tuple[int, int]:
        arch = self.s.arch.name
        if arch == "x86_64":
            return regs["rip"], regs["rbp"]
        if arch == "aarch64":
            return regs["pc"], regs["x29"]
        return regs["pc"], regs["s0"]

    def _unwind_step(self, fp: int) -> tuple[int, int] | None:
        """One step of the kernel's own arch_unwind_step: (return address, caller's fp)."""
        if not fp or fp & 7:
            return None
        try:
            if self.s.arch.name == "riscv64":
                ret, nfp = self._u64(fp - 8), self._u64(fp - 16)
            else:
                nfp, ret = self._u64(fp), self._u64(fp + 8)
        except AxiomError:
            return None
        return None if not ret else (ret, nfp)

    def panic_report(self) -> dict:
        """The crashing thread's state from memory, post-mortem: the panic CPU, its thread,
        the record's kind/cause/message/fault fields (from the `struct panic_info` on the
        panicking stack), the registers of the trap frame (or, for panic()/assert(), the
        snapshot panic_report() took) and the backtrace the kernel printed, unwound the
        same way (frame pointers, at most 32 return addresses) and symbolized."""
        cpu = self.panic_cpu()
        if cpu is None:
            raise KernelError("the kernel has not panicked (panic_in_progress is 0): use `bt` for a thread")
        c = self.var("cpus")[cpu]
        cur = c.current.value_()
        th = self.load(cur, "struct thread") if cur else None
        stack = (th.kstack.base.value_(), th.kstack.top.value_()) if th is not None else None
        sp = self._cpu_reg(cpu, "rsp" if self.s.arch.name == "x86_64" else "sp")
        pi = None
        if sp:
            pi = self._find_panic_info(sp, (stack[1] if stack and stack[0] <= sp < stack[1] else sp + 0x8000))
        if pi is None and stack and stack[1]:
            pi = self._find_panic_info(stack[0], stack[1])
        if pi is None:
            raise KernelError(f"no panic record (struct panic_info) on CPU {cpu}'s stack"
                              + (f" (sp {sp:#x})" if sp else " (the dump has no registers for it)"))
        kind = self._cstr(pi.kind.value_())
        rep: dict = {"cpu": cpu, "tid": th.tid.value_() if th is not None else 0,
                     "thread": th.name.string_() if th is not None else None,
                     "pid": 0, "kind": kind, "cause": self._cstr(pi.cause.value_()) or kind,
                     "message": self._cstr(pi.message.value_()), "location": None,
                     "raw_cause": pi.raw_cause.value_() if pi.has_raw_cause.value_() else None,
                     "error_code": pi.error_code.value_() if pi.has_error_code.value_() else None,
                     "fault_addr": pi.fault_addr.value_() if pi.has_fault_addr.value_() else None,
                     "panic_info": pi.address_, "trapframe": pi.tf.value_() or None}
        if th is not None and th.proc.value_():
            rep["pid"] = self.obj("struct process", th.proc.value_()).pid.value_()
        cov = pi.cpu_override.value_()
        if cov >= 1 << 31:
            cov -= 1 << 32
        rep["record_cpu"] = cov if cov >= 0 else cpu
        f = self._cstr(pi.member_("file").value_())
        if f:
            rep["location"] = f"{f}:{pi.line.value_()}"
        tfa = pi.tf.value_()
        if tfa:
            regs = self.trapframe_registers(self.load(tfa, "struct trapframe"))
            pc, fp = self._tf_pc_fp(regs)
            first_is_return = False
        else:
            pc, fp = pi.pc.value_(), pi.fp.value_()
            regs = {}
            # panic_report() snapshotted every register into a local trap frame with
            # pc/fp = the caller's: find it on the same stack
            snap = self._find_trapframe(pi.address_ - 0x1000, pi.address_, pc, fp)
            if snap is not None:
                regs = snap
            regs.setdefault("pc", pc)
            first_is_return = True
            step = self._unwind_step(fp)
            if step and step[0] == pc:     # the same skip panic_report() makes
                fp = step[1]
        frames = [(pc, fp)]
        for _ in range(32):
            step = self._unwind_step(fp)
            if step is None:
                break
            frames.append(step)
            fp = step[1]
        rep["registers"] = regs
        rep["backtrace"] = [p for p, _ in frames]
        rep["frames"] = self.symbolize(frames, first_is_return=first_is_return)
        return rep

    def _find_trapframe(self, lo: int, hi: int, pc: int, fp: int) -> dict[str, int] | None:
        """The innermost `struct trapframe` in [lo, hi) whose pc and frame pointer are (pc, fp)."""
        t = self.types.struct("trapframe")
        arch = self.s.arch.name
        if arch == "x86_64":
            pc_off, fp_off = t.offsetof("rip"), t.offsetof("rbp")
        elif arch == "aarch64":
            pc_off, fp_off = t.offsetof("pc"), t.offsetof("x") + 29 * 8
        else:
            pc_off, fp_off = t.offsetof("sepc"), t.offsetof("x") + 8 * 8
        lo = max(lo, hi - 0x2000) & ~7
        try:
            buf = self.read(lo, hi - lo)
        except AxiomError:
            try:
                lo = hi & ~0xFFF
                buf = self.read(lo, hi - lo)
            except AxiomError:
                return None
        want_pc, want_fp = pc.to_bytes(8, "little"), fp.to_bytes(8, "little")
        for i in range(len(buf) - t.sizeof, -1, -8):
            if buf[i + pc_off:i + pc_off + 8] == want_pc and buf[i + fp_off:i + fp_off + 8] == want_fp:
                return self.trapframe_registers(self.load(lo + i, "struct trapframe"))
        return None

    # -- CPUs ---------------------------------------------------------------
    def cpus(self) -> list[dict]:
        """Per-CPU state: id, hwid, online, ticks, switches and the thread it runs."""
        lay = self.layout
        arr = self.var("cpus")
        n = min(int(lay.cpus_count.value_()) or len(arr), len(arr))
        out = []
        for i in range(n):
            c = self.load(arr[i])
            if not c.self.value_():
                continue
            cur = c.current.value_()
            info = {"cpu": c.id.value_(), "hwid": c.hwid.value_(), "online": bool(c.online.value_()),
                    "ticks": c.ticks.value_(), "switches": c.ctx_switches.value_(),
                    "idle_ms": c.idle_ns.value_() // 1000000, "current": -1, "current_name": None,
                    "current_pid": None, "current_address": cur or None, "idle": False}
            if cur:
                t = self.obj("struct thread", cur)
                info["current"] = t.tid.value_()
                info["current_name"] = t.name.string_()
                info["idle"] = bool(t.is_idle.value_())
                proc = t.proc.value_()
                info["current_pid"] = self.obj("struct process", proc).pid.value_() if proc else 0
            out.append(info)
        return out

    def running_threads(self) -> dict[int, int]:
        """thread address -> CPU id for every CPU's current thread."""
        return {c["current_address"]: c["cpu"] for c in self.cpus() if c["current_address"]}

    def cpu_index(self) -> int:
        """The CPU the debugger is looking at (via the CPU-local register when known)."""
        names = {"riscv64": ("tp",), "aarch64": ("TPIDR_EL1", "tpidr_el1"), "x86_64": ("gs_base",)}
        arr = self.var("cpus")
        size = arr.type_.strip().target.sizeof
        for n in names.get(self.s.arch.name, ()):
            try:
                v = self.s.regs.read_reg(n)
            except AxiomError:
                continue
            if arr.address_ <= v < arr.address_ + size * len(arr):
                return (v - arr.address_) // size
        return 0

    def current_thread_addr(self) -> int | None:
        try:
            i = self.cpu_index()
            return self.var("cpus")[i].current.value_() or None
        except AxiomError:
            return None

    def current_thread(self) -> Object:
        a = self.current_thread_addr()
        if not a:
            raise KernelError("no current thread on this CPU")
        return self.load(a, "struct thread")

    def current_process(self) -> Object | None:
        t = self.current_thread()
        p = t.proc.value_()
        return self.load(p, "struct process") if p else None

    # -- address spaces -------------------------------------------------------
    def aspace_root(self, pid: int) -> int:
        p = self.find_process(pid)
        vm = p.vm.value_()
        if not vm:
            raise KernelError(f"process {pid} has no address space (zombie or exiting)")
        return self.obj("struct vm", vm).member_("as").root_pa.value_()

    def vm_regions(self, pid: int) -> list[dict]:
        """The kernel's VM regions of a process (struct vm_region list)."""
        p = self.find_process(pid)
        vm = p.vm.value_()
        if not vm:
            return []
        out = []
        seen = set()
        r = self.obj("struct vm", vm).regions.value_()
        while r and r not in seen and len(seen) < 100000:
            seen.add(r)
            ro = self.load(r, "struct vm_region")
            prot = ro.prot.value_()
            out.append({"start": ro.start.value_(), "end": ro.end.value_(), "prot": prot_str(prot),
                        "kind": self.vmr_kinds.get(ro.kind.value_(), "?")})
            r = ro.next.value_()
        return out

    def mappings(self, pid: int) -> list[dict]:
        """Per-process mappings like /proc/<pid>/maps: each VM region split into runs
        of pages that are physically contiguous with the same translation bits
        (start, end, pa or None, flags "rwxu", kind), from the page tables."""
        cfg = self.s.paging_for(pid)
        arch = self.s.arch
        out = []
        for reg in self.vm_regions(pid):
            start, end = reg["start"], reg["end"]
            pages: dict[int, tuple[int, str]] = {}
            for m in arch.walk(self.s.mem, cfg, start, end):
                ps = min(m.size, 1 << 30)
                f = m.flags
                fl = ("r" if f.readable else "-") + ("w" if f.writable else "-") + \
                     ("x" if f.executable else "-") + ("u" if f.user else "-")
                a = max(m.va, start)
                while a < min(m.va + m.size, end):
                    pages[a] = (m.pa + (a - m.va), fl)
                    a += self.page_size
            va = start
            while va < end:
                cur = pages.get(va)
                run = va + self.page_size
                while run < end:
                    nxt = pages.get(run)
                    if (nxt is None) != (cur is None):
                        break
                    if cur is not None and (nxt[1] != cur[1] or nxt[0] != cur[0] + (run - va)):
                        break
                    run += self.page_size
                out.append({"start": va, "end": run, "pa": cur[0] if cur else None,
                            "flags": cur[1] if cur else "----", "kind": reg["kind"],
                            "region_prot": reg["prot"]})
                va = run
        return out

    @property
    def page_size(self) -> int:
        return int(self.layout.page_size.value_()) or 4096

    # -- files ------------------------------------------------------------
    def files(self, pid: int) -> list[dict]:
        """Open file descriptors of a process: fd, path, type, flags, offset, refcount."""
        p = self.find_process(pid)
        fdt = p.fdt.value_()
        if not fdt:
            return []
        tab = self.load(fdt, "struct fdtable")
        out = []
        arr = tab.fd
        for i in range(len(arr)):
            f = arr[i].value_()
            if not f:
                continue
            fo = self.load(f, "struct file")
            vn = fo.vn.value_()
            flags = fo.flags.value_()
            out.append({"fd": i, "path": self.vnode_path(vn) if vn else None,
                        "type": self.vnode_type(vn) if vn else None,
                        "mode": {0: "r", 1: "w", 2: "rw"}.get(flags & 3, "?"), "flags": flags,
                        "offset": fo.off.value_(), "refcount": fo.refcount.value_(), "file": f})
        return out

    # -- VFS ---------------------------------------------------------------
    def mounts(self) -> list[dict]:
        """The mount list, in mount order (like /proc/mounts)."""
        self.layout
        out = []
        m = self.var("mount_list").value_()
        seen = set()
        while m and m not in seen and len(seen) < 1000:
            seen.add(m)
            mo = self.load(m, "struct mount")
            out.append({"id": mo.id.value_(), "source": mo.source.string_(), "path": mo.path.string_(),
                        "fstype": mo.fstype.string_(), "mode": "ro" if mo.readonly.value_() else "rw",
                        "root": mo.root.value_(), "covered": mo.covered.value_() or None, "address": m})
            m = mo.next.value_()
        return out

    def vnode_type(self, vn: int) -> str:
        t = self.obj("struct vnode", vn).type.value_()
        names = _enum_names(self.types, "vnode_type", "VNODE_", {0o40000: "dir", 0o100000: "reg",
                                                                     0o20000: "chr", 0o10000: "fifo"})
        return names.get(t, f"{t:#o}")

    def _fstype(self, vn: int) -> str | None:
        mnt = self.obj("struct vnode", vn).mnt.value_()
        if not mnt:
            return None
        return self.obj("struct mount", mnt).fstype.string_()

    def _crossed(self, vn: int) -> int:
        for _ in range(64):
            mounted = self.obj("struct vnode", vn).mounted.value_()
            if not mounted:
                break
            vn = self.obj("struct mount", mounted).root.value_()
        return vn

    def readdir(self, dir_vn: int) -> list[tuple[str, int | None]]:
        """Entries of a directory vnode as (name, vnode address or None), by file-system type."""
        fs = self._fstype(dir_vn)
        if fs == "ramfs":
            node = self.obj("struct vnode", dir_vn).priv.cast("struct ramfs_node *")
            out = []
            d = node.entries.value_()
            seen = set()
            while d and d not in seen and len(seen) < 100000:
                seen.add(d)
                do = self.obj("struct ramfs_dirent", d)
                name = self.read(do.name.address_, min(do.len.value_(), 255)).decode("utf-8", "replace")
                out.append((name, do.vn.value_()))
                d = do.next.value_()
            return out
        if fs == "devfs":
            if dir_vn != self.var("dev_root").value_():
                return []
            devs = self.var("devices")
            nodes = self.var("dev_nodes")
            return [(devs[i].name.string_(), nodes[i].value_()) for i in range(len(devs))]
        if fs == "procfs":
            if dir_vn == self.var("proc_root").value_():
                names = self.var("fixed_names")
                fixed = self.var("fixed_vnodes")
                out = [(names[i].string_(), fixed[i].value_()) for i in range(len(names))]
                out += [(str(p["pid"]), None) for p in self.ps()]
                return out
            return [("maps", None)]
        return []

    def lookup(self, path: str) -> int:
        """Resolve an absolute path to a vnode address (crossing mount points)."""
        vn = self._crossed(self.var("root_vnode").value_())
        stack = [vn]
        for comp in [c for c in path.split("/") if c and c != "."]:
            if comp == "..":
                if len(stack) > 1:
                    stack.pop()
                continue
            cur = stack[-1]
            if self.vnode_type(cur) != "dir":
                raise KernelError(f"{path}: not a directory")
            ents = dict(self.readdir(cur))
            if comp not in ents:
                raise KernelError(f"{path}: no such file or directory")
            nxt = ents[comp]
            if nxt is None:
                raise KernelError(f"{path}: created on demand by procfs (not a kernel object yet)")
            stack.append(self._crossed(nxt))
        return stack[-1]

    def ls(self, path: str = "/") -> list[dict]:
        """Directory listing (or the file itself) from the kernel's VFS objects."""
        vn = self.lookup(path)
        if self.vnode_type(vn) != "dir":
            return [self.stat(vn, path.rstrip("/").rsplit("/", 1)[-1])]
        out = []
        for name, child in self.readdir(vn):
            if child is None:
                out.append({"name": name, "type": "dir" if name.isdigit() else "reg", "ino": None, "size": None,
                            "perm": None, "mount": None})
                continue
            out.append(self.stat(self._crossed(child), name))
        return out

    def stat(self, vn: int, name: str) -> dict:
        v = self.load(vn, "struct vnode")
        typ = self.vnode_type(vn)
        size = None
        fs = self._fstype(vn)
        if fs == "ramfs" and typ == "reg":
            size = v.priv.cast("struct ramfs_node *").size.value_()
        mnt = v.mnt.value_()
        return {"name": name, "type": typ, "ino": v.ino.value_(), "perm": v.perm.value_(),
                "size": size, "rdev": v.rdev.value_() or None, "refcount": v.refcount.value_(),
                "fstype": fs, "mount": self.obj("struct mount", mnt).path.string_() if mnt else None,
                "vnode": vn}

    def devfs_nodes(self) -> list[dict]:
        devs = self.var("devices")
        nodes = self.var("dev_nodes")
        out = []
        for i in range(len(devs)):
            rdev = devs[i].rdev.value_()
            out.append({"name": devs[i].name.string_(), "major": rdev >> 8, "minor": rdev & 0xFF,
                        "vnode": nodes[i].value_() or None,
                        "refcount": self.obj("struct vnode", nodes[i].value_()).refcount.value_()
                        if nodes[i].value_() else None})
        return out

    def vnode_path(self, vn: int) -> str:
        """Best-effort absolute path of a vnode (ramfs parent links, devfs and procfs tables)."""
        fs = self._fstype(vn)
        mnt = self.obj("struct vnode", vn).mnt.value_()
        mpath = self.obj("struct mount", mnt).path.string_() if mnt else ""
        if fs is None:
            return f"pipe:[{self.obj('struct vnode', vn).ino.value_()}]"
        if fs == "devfs":
            nodes = self.var("dev_nodes")
            for i in range(len(nodes)):
                if nodes[i].value_() == vn:
                    return f"{mpath.rstrip('/')}/{self.var('devices')[i].name.string_()}"
            return mpath
        if fs == "procfs":
            if vn == self.var("proc_root").value_():
                return mpath
            pn = self.obj("struct vnode", vn).priv.cast("struct proc_node *")
            kinds = {v: k for k, v in self.types.enum("proc_kind").enumerators.items()}
            kind = pn.kind.value_()
            if kind < len(self.var("fixed_names")):
                return f"{mpath}/{self.var('fixed_names')[kind].string_()}"
            pid = pn.pid.value_()
            return f"{mpath}/{pid}" + ("/maps" if kinds.get(kind) == "PK_MAPS" else "")
        if fs == "ramfs":
            parts = []
            cur = vn
            for _ in range(256):
                node = self.obj("struct vnode", cur).priv.cast("struct ramfs_node *")
                if self.vnode_type(cur) != "dir":
                    return "?"   # files have no parent link; searched below
                parent = node.parent.value_()
                if not parent:
                    break
                name = next((n for n, c in self.readdir(parent) if c == cur), "?")
                parts.append(name)
                cur = parent
            return (mpath.rstrip("/") + "/" + "/".join(reversed(parts))) if parts else (mpath or "/")
        return "?"

    # -- frame allocator ----------------------------------------------------
    def pmm(self) -> dict:
        """Frame-allocator figures (the same names as /proc/meminfo)."""
        self.layout
        p = self.load(self.var("pmm"))
        total, free = p.total_frames.value_(), p.free_frames.value_()
        out = {"page_size": self.page_size, "total_frames": total, "free_frames": free,
               "used_frames": total - free, "reserved_frames": p.reserved_frames.value_(),
               "base_pa": p.base_pa.value_(), "span_frames": p.nframes.value_(),
               "alloc_calls": p.alloc_calls.value_(), "free_calls": p.free_calls.value_()}
        for key, var in (("heap_bytes", "heap_bytes_in_use"), ("heap_objects", "heap_objects_live"),
                         ("heap_slab_pages", "heap_slab_pages"), ("kernel_stacks", "kstacks_live")):
            if self.has_var(var):
                out[key] = self.var(var).value_()
        return out

    # -- the log ring --------------------------------------------------------
    def dmesg(self) -> list[dict]:
        """Every record in the klog ring, oldest first (including records no reader has
        consumed yet and, during a panic, records never echoed to the console)."""
        self.layout
        ring = self.var("klog_ring")
        data = self.read(ring.address_, ring.type_.sizeof)
        ring = Object(self.types, _Overlay(self.read, ring.address_, data), ring.type_, address=ring.address_)
        if ring.magic.value_() != KLOG_MAGIC:
            raise KernelError(f"klog_ring at {ring.address_:#x} has a bad magic {ring.magic.value_():#x}")
        recs = ring.rec
        n = len(recs)
        nxt = ring.next_seq.value_()
        oldest = max(0, nxt - n)
        out = []
        for seq in range(oldest, nxt):
            r = recs[seq % n]
            if r.seq.value_() != seq:
                continue     # being written (or overwritten) right now
            ln = r.len.value_()
            text = r.text.bytes_()[:ln].decode("utf-8", "replace")
            out.append({"seq": seq, "ts_ns": r.ts_ns.value_(), "level": r.level.value_(), "cpu": r.cpu.value_(),
                        "pid": r.pid.value_(), "text": text})
        return out

    # -- eBPF ---------------------------------------------------------------
    def bpf_available(self) -> bool:
        return self.has_var("objs") and self.types.has_struct("bpf_prog") and self.types.has_struct("bpf_map")

    def _bpf_objs(self):
        if not self.bpf_available():
            raise KernelError("this kernel has no eBPF subsystem objects (objs/bpf_prog/bpf_map not in its DWARF)")
        objs = self.var("objs")
        n = len(objs)
        esz = objs.type_.strip().target.sizeof
        data = self.read(objs.address_, esz * n)
        objs = Object(self.types, _Overlay(self.read, objs.address_, data), objs.type_, address=objs.address_)
        for i in range(n):
            o = objs[i]
            kind = o.kind.value_()
            if kind:
                yield o, kind

    def bpf_attachments(self) -> dict[int, list[int]]:
        """prog address -> attach types it is attached to."""
        out: dict[int, list[int]] = {}
        if not self.has_var("attached"):
            return out
        att = self.var("attached")
        base = self.types.enum("bpf_attach_type").enumerators.get("BPF_AXIOM_SYSCALL_ENTER", 65) \
            if ("enum", "bpf_attach_type") in self.types._named else 65
        for i in range(len(att)):
            row = att[i]
            for j in range(len(row)):
                p = row[j].value_()
                if p:
                    out.setdefault(p, []).append(base + i)
        return out

    def bpf_progs(self, with_insns: bool = False) -> list[dict]:
        att = self.bpf_attachments()
        out = []
        for o, kind in self._bpf_objs():
            if kind != 1:
                continue
            p = self.load(o.p.value_(), "struct bpf_prog")
            cnt = p.insn_cnt.value_()
            info = {"id": p.id.value_(), "type": p.type.value_(), "type_name": self._enum_name(    # bpftool's names: syscall_enter, sched_switch...
                        "bpf_prog_type", p.type.value_(), "BPF_PROG_TYPE_AXIOM_"),
                    "name": p.name.string_(), "insns": cnt, "size": cnt * 8, "verified": bool(p.verified.value_()),
                    "attach_type": p.attach_type.value_(),
                    "attached": [self._enum_name("bpf_attach_type", a, "BPF_AXIOM_") for a in att.get(p.address_, [])],
                    "maps": [self.obj("struct bpf_map", p.maps[i].value_()).id.value_()
                             for i in range(min(p.nr_maps.value_(), len(p.maps)))],
                    "run_cnt": p.run_cnt.value_(), "run_time_ns": p.run_time_ns.value_(),
                    "closed": bool(o.closed.value_())}
            if with_insns and cnt:
                src = p.orig.value_() or p.insns.value_()
                info["code"] = self.read(src, min(cnt, 1 << 16) * 8)
            out.append(info)
        return out

    def bpf_maps(self, with_values: bool = False) -> list[dict]:
        out = []
        for o, kind in self._bpf_objs():
            if kind != 2:
                continue
            m = self.load(o.p.value_(), "struct bpf_map")
            info = {"id": m.id.value_(), "type": m.type.value_(),
                    "type_name": self._enum_name("bpf_map_type", m.type.value_(), "BPF_MAP_TYPE_"),
                    "name": m.name.string_(), "key_size": m.key_size.value_(), "value_size": m.value_size.value_(),
                    "max_entries": m.max_entries.value_(), "mem_bytes": m.mem_bytes.value_(),
                    "count": m.count.value_(), "closed": bool(o.closed.value_())}
            if with_values:
                info["entries"] = self._bpf_map_entries(m, info)
            out.append(info)
        return out

    def _bpf_map_entries(self, m: Object, info: dict, limit: int = 64) -> list[dict]:
        data = m.data.value_()
        if not data:
            return []
        tn = info["type_name"]
        vs, stride = info["value_size"], m.stride.value_()
        out = []
        try:
            if tn in ("array", "percpu_array"):
                ncpu = max(1, m.ncpus.value_()) if tn == "percpu_array" else 1
                for k in range(min(info["max_entries"], limit)):
                    vals = [self.read(data + (k * ncpu + c) * stride, vs).hex() for c in range(ncpu)]
                    out.append({"key": k, "value": vals[0] if ncpu == 1 else vals})
            elif tn == "hash":
                ks, kst = info["key_size"], m.key_stride.value_()
                used = m.used.value_()
                for i in range(min(info["max_entries"], 4096)):
                    if used and self.read(used + i, 1)[0]:
                        base = data + i * (kst + stride)
                        out.append({"key": self.read(base, ks).hex(), "value": self.read(base + kst, vs).hex()})
                        if len(out) >= limit:
                            break
            elif tn == "ringbuf":
                out.append({"head": m.rb_head.value_(), "tail": m.rb_tail.value_()})
        except AxiomError as e:
            out.append({"error": str(e)})
        return out

    def _enum_name(self, enum: str, value: int, prefix: str) -> str:
        try:
            e = self.types.enum(enum)
        except DwarfError:
            return str(value)
        for k, v in e.enumerators.items():
            if v == value and not k.endswith("_MAX"):
                return k[len(prefix):].lower() if k.startswith(prefix) else k
        return str(value)

    # -- labels for `pt` ------------------------------------------------------
    def region_labeler(self) -> Callable:
        """A function MappedRange -> label: direct map, kernel text/rodata/data/bss,
        kernel stacks (with the owning thread), kernel vmap, user (with the VM region kind)."""
        lay = self.layout
        sym = self.types.symbols()
        secs = []
        for name, a, b in (("kernel text", "__text_start", "__text_end"),
                           ("kernel rodata", "__rodata_start", "__rodata_end"),
                           ("kernel data", "__data_start", "__data_end"),
                           ("kernel bss", "__bss_start", "__bss_end")):
            if a in sym and b in sym:
                secs.append((sym[a], sym[b], name))
        kstart, kend = lay.kernel_virt_base.value_(), lay.kernel_end.value_()
        dm = lay.direct_map_base.value_()
        ram_top = lay.ram_top.value_()
        vb, vs = lay.kernel_vmap_base.value_(), lay.kernel_vmap_size.value_()
        ub, ut = lay.user_base.value_(), lay.user_top.value_()
        stacks = []
        try:
            for t in self.threads():
                stacks.append((t.kstack.base.value_(), t.kstack.top.value_(), t.tid.value_(), t.name.string_()))
        except AxiomError:
            pass
        stacks.sort()
        starts = [s[0] for s in stacks]
        regions = []
        try:
            cur = self.current_process()
            if cur is not None:
                regions = self.vm_regions(cur.pid.value_())
        except AxiomError:
            pass

        def label(r) -> str:
            va = r.va
            for a, b, name in secs:
                if a <= va < b:
                    return name
            if kstart <= va < kend:
                return "kernel image"
            if vb <= va < vb + vs:
                i = bisect.bisect_right(starts, va) - 1
                if i >= 0 and stacks[i][0] <= va < stacks[i][1]:
                    return f"kernel stack tid {stacks[i][2]} ({stacks[i][3]})"
                return "kernel vmap"
            if dm <= va < dm + max(ram_top, 1):
                return "direct map"
            if ub <= va < ut or r.flags.user:
                for reg in regions:
                    if reg["start"] <= va < reg["end"]:
                        return f"user {reg['kind']}"
                return "user"
            return ""
        return label


# ---------------------------------------------------------------------------
# Dumps: registers from the layout note
# ---------------------------------------------------------------------------

def _elf_virt_to_phys(elf_path: str, va: int) -> int | None:
    from elftools.elf.elffile import ELFFile
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        for seg in elf.iter_segments():
            if seg["p_type"] != "PT_LOAD":
                continue
            if seg["p_vaddr"] <= va < seg["p_vaddr"] + max(seg["p_memsz"], 1):
                return seg["p_paddr"] + (va - seg["p_vaddr"])
    return None


def registers_from_layout(session) -> DictRegisters:
    """Synthesise the paging registers of the kernel address space for a memory dump.

    The layout note's `axiom_layout` is found through the ELF's program headers
    (p_paddr), read physically, and turned into satp (riscv64), cr0/cr3/cr4/efer
    (x86_64) or SCTLR/TCR/TTBR0/TTBR1 (aarch64: TTBR0 walks disabled with EPD0)."""
    types = session.types
    try:
        var = types.variable("axiom_layout")
    except DwarfError as e:
        raise KernelError(f"missing symbol: {e}") from None
    pa = _elf_virt_to_phys(str(types.path), var.address)
    if pa is None:
        raise KernelError("cannot place axiom_layout physically: no PT_LOAD segment covers it in the ELF")
    try:
        data = session.raw_mem.read_phys(pa, var.type.sizeof)
    except AxiomError as e:
        raise BuildIdMismatchError(f"kernel ELF does not match the dump (no axiom_layout at PA {pa:#x}: "
                                   f"{type(e).__name__})") from None
    lay = Object(types, _Overlay(lambda a, n: (_ for _ in ()).throw(KernelError("layout only")), var.address, data),
                 var.type, address=var.address)
    if lay.magic.value_() != LAYOUT_MAGIC:
        raise BuildIdMismatchError(f"kernel ELF does not match the dump: no axiom_layout magic at PA {pa:#x}")
    from .symbolize import elf_build_id
    want = elf_build_id(types.path)
    got = lay.build_id.bytes_()[:min(lay.build_id_len.value_(), 20)].hex()
    if want and got and want != got:
        raise BuildIdMismatchError(f"kernel ELF (build id {want[:16]}...) does not match the dump "
                                   f"(build id {got[:16]}...)")
    root = lay.kernel_pt_root.value_()
    if not root:
        raise KernelError("the layout note has no kernel_pt_root (kernel too old, or the dump was taken before "
                          "paging was set up)")
    levels = lay.paging_levels.value_()
    va_bits = lay.va_bits.value_() or {3: 39, 4: 48, 5: 57}.get(levels, 48)
    page = lay.page_size.value_() or 4096
    arch = session.arch.name
    if arch == "riscv64":
        mode = {3: 8, 4: 9, 5: 10}.get(levels)
        if mode is None:
            raise KernelError(f"layout note: unknown riscv paging_levels {levels}")
        return DictRegisters({"satp": (mode << 60) | (root >> 12)})
    if arch == "x86_64":
        cr4 = (1 << 5) | ((1 << 12) if levels == 5 else 0)
        return DictRegisters({"cr0": 0x80010001, "cr3": root, "cr4": cr4, "efer": 0xD00})
    if arch == "aarch64":
        tsz = 64 - va_bits
        tg1 = {4096: 0b10, 16384: 0b01, 65536: 0b11}[page]
        tg0 = {4096: 0b00, 16384: 0b10, 65536: 0b01}[page]
        tcr = tsz | (1 << 7) | (tg0 << 14) | (tsz << 16) | (tg1 << 30) | (0b101 << 32)
        return DictRegisters({"SCTLR_EL1": 1, "TCR_EL1": tcr, "TTBR0_EL1": 0, "TTBR1_EL1": root})
    raise KernelError(f"no register synthesis for {arch}")


# ---------------------------------------------------------------------------
# drgn-style API
# ---------------------------------------------------------------------------

class Target:
    """A debugging target: the Session of one stopped kernel, drgn style.

    Build one from a Session (``Target(session)``), or with
    :meth:`from_dump` / :meth:`from_gdbstub`. ``t.kernel`` gives the helpers,
    ``t[name]`` a global variable as an Object."""

    def __init__(self, session):
        self.session = session

    @classmethod
    def from_dump(cls, arch: str, dump: str, elf: str) -> "Target":
        """Open a QEMU dump-guest-memory ELF core with the kernel ELF that produced it."""
        from ..oneshot import open_dump
        return cls(open_dump(arch, dump, elf))

    @classmethod
    def from_gdbstub(cls, arch: str, host: str, port: int, elf: str) -> "Target":
        """Attach through gdb-multiarch (pygdbmi) to a gdbstub (QEMU -gdb)."""
        from ..commands import Session
        from ..transport.gdbmi import GdbMi
        g = GdbMi(arch, elf)
        g.connect(host, port)
        return cls(Session(arch, g, g, elf=elf))

    @property
    def kernel(self) -> Kernel:
        return self.session.kernel

    def __getitem__(self, name: str) -> Object:
        return self.kernel.var(name)

    def read(self, va: int, size: int, pid: int | None = None) -> bytes:
        """Read virtual memory (of process `pid`, or of the CPU's current address space)."""
        s = self.session
        return s.arch.read_virt(s.mem, s.paging_for(pid), va & MASK64, size)


def for_each_process(t: Target) -> Iterator[Object]:
    """Iterate over every process (`struct process` Objects, ascending pid)."""
    return t.kernel.processes()


def find_process(t: Target, pid: int) -> Object:
    """The `struct process` Object of `pid`; KernelError if there is none."""
    return t.kernel.find_process(pid)


def for_each_thread(t: Target) -> Iterator[Object]:
    """Iterate over every live thread (`struct thread` Objects), kernel threads included."""
    return t.kernel.threads()


def translate(t: Target, va: int, pid: int | None = None):
    """Translate `va` in process `pid`'s address space (None: the CPU's current one).
    Returns a :class:`~axiomdbg.core.paging.Translation` (``.pa``, ``.steps``, ``.require()``)."""
    s = t.session
    return s.arch.translate(s.mem, s.paging_for(pid), va & MASK64)


def mappings(t: Target, pid: int | None = None) -> list[dict]:
    """Mappings of process `pid` like /proc/<pid>/maps (None: the current process),
    as dicts with start, end, pa (None if unmapped), flags ("rwxu") and kind."""
    if pid is None:
        p = t.kernel.current_process()
        if p is None:
            raise KernelError("the current thread is a kernel thread: pass pid=")
        pid = p.pid.value_()
    return t.kernel.mappings(pid)


def page_table_ranges(t: Target, pid: int | None = None):
    """Merged page-table ranges (MappedRange) of an address space."""
    s = t.session
    return s.arch.ranges(s.mem, s.paging_for(pid))


def dmesg(t: Target) -> list[dict]:
    """The kernel log ring, oldest record first."""
    return t.kernel.dmesg()


__all__ = [
    "Kernel", "KernelError", "BuildIdMismatchError", "StackFrame", "registers_from_layout",
    "Target", "for_each_process", "find_process", "for_each_thread", "translate", "mappings",
    "page_table_ranges", "dmesg",
]

"""Symbolic execution of one syscall handler of a compiled kernel with angr.

The handler (found through ``syscall_table``) is called with six symbolic
arguments ``arg0..arg5``. Kernel state it touches is symbolic:

* ``current_process()``/``current_thread()`` return fixed model objects whose
  layout comes from DWARF: ``proc.pid``, ``proc.parent``, ``proc.vm`` and the fd
  table ``fdt.fd0..fd63`` are fresh symbols (the fd table is the state of the
  fd-table specifications).
* Any other kernel pointer that the code loads from kernel state and then
  dereferences is resolved lazily to a fresh, distinct object (lazy
  initialisation) of at most LAZY_SIZE bytes with symbolic contents.
* User memory is never mapped in the model: it is reached only through the
  hooked copy routines, and every copy_from_user/strncpy_from_user yields fresh
  bytes (``user.*``), so user memory may change between two reads.

Values that come from the user (the arguments and ``user.*`` bytes) are
*tainted*. Checks made during execution:

* ``uptr``: every load/store whose address depends on a tainted value must lie,
  for every model of the path condition, inside one kernel object (a bounds-
  checked index: the fd table, a kmalloc buffer, a stack array, an ELF data
  symbol, a model object) or inside [USER_BASE, USER_TOP); the copy routines'
  kernel buffers must hold the requested length. Violations come with the path
  condition and a concrete argument tuple; the path continues under the
  negation, so one run finds every distinct violation.
* ``nopanic``: ``panic``/``assert_fail`` must be unreachable, and no call may go
  through a NULL function pointer.
At each return (the return address is hooked) the ``errno`` contract and the
functional specification (specs.py) are checked with Z3 on the final states.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import lru_cache

import angr
import claripy
from angr.concretization_strategies import SimConcretizationStrategy, SimConcretizationStrategyRange

from .. import angr_fixes  # noqa: F401  (exact flag helpers; see the module)
from . import abi, elfinfo

for _n in ("angr", "cle", "pyvex", "claripy"):
    logging.getLogger(_n).setLevel(logging.CRITICAL)

RET_ADDR = 0xDEAD0000
OBJ_BASE = 0xFFFFE00000000000
OBJ_STRIDE = 0x100000
LAZY_SIZE = 0x4000
STACK_SPAN = 0x10000
ARG_REGS = {"AMD64": ["rdi", "rsi", "rdx", "rcx", "r8", "r9"],
            "AARCH64": [f"x{i}" for i in range(8)],
            "RISCV64": [f"a{i}" for i in range(8)]}
RET_REG = {"AMD64": "rax", "AARCH64": "x0", "RISCV64": "a0"}
TAINT_PREFIXES = ("arg", "user.")
DISTINCT_FILES = {"close", "dup", "dup2", "open"}
# handlers whose specification is about the process tree: the current process's
# children list (and process_list) are explicit model objects
PROC_TREE = {"waitpid", "spawn"}
NCHILD = 3          # model children of the current process (waitpid)


class EngineError(RuntimeError):
    pass


@dataclass
class Finding:
    check: str
    detail: str
    args: list[int]
    path_condition: str
    where: str = ""
    extra: dict = field(default_factory=dict)
    havoc: bool = False         # depends on a callee without a contract


@dataclass
class Outcome:
    handler: elfinfo.Handler
    arch: str
    finals: list            # states that returned to RET_ADDR
    exits: list             # states that ended in a noreturn callee (proc_exit, thread_exit...)
    findings: list[Finding]
    assumptions: list[str]
    incomplete: list[str]   # reasons the exploration is not exhaustive (=> UNKNOWN)
    executed: list[str]     # function symbols whose code was executed
    hooked: list[str]
    seconds: float
    args: list
    ctx: "Ctx"


_PROJECTS: dict[str, angr.Project] = {}


def project(elf: str) -> angr.Project:
    p = _PROJECTS.get(elf)
    if p is None:
        p = angr.Project(elf, auto_load_libs=False)
        _PROJECTS[elf] = p
    return p


def tainted(e) -> bool:
    """Does the *value* of e depend on user input? The conditions of an
    if-then-else only select among values (a table entry chosen by a checked
    fd is a kernel pointer, not a user-controlled one), so only the branches
    count; everywhere else any user variable counts."""
    if not isinstance(e, claripy.ast.Base) or not e.variables:
        return False
    if not any(v.startswith(TAINT_PREFIXES) for v in e.variables):
        return False
    return _tainted(e)


def _tainted(e) -> bool:
    if e.op == "If":
        return tainted(e.args[1]) or tainted(e.args[2])
    if e.op == "BVS":
        return e.args[0].startswith(TAINT_PREFIXES)
    return any(tainted(a) for a in e.args if isinstance(a, claripy.ast.Base))


def havocked(e) -> bool:
    return any(v.startswith("havoc.") for v in e.variables)


class Ctx:
    """Everything one handler run needs; findings are collected here."""

    def __init__(self, elf: str, arch: str, handler: elfinfo.Handler, loop_bound: int):
        self.elf, self.arch, self.handler = elf, arch, handler
        self.p = project(elf)
        self.archn = self.p.arch.name
        self.lay = elfinfo.layouts(elf)
        self.ub, self.ut = elfinfo.user_range(arch)
        self.loop_bound = loop_bound
        self.findings: list[Finding] = []
        self.assumptions: dict[str, None] = {}
        self.incomplete: list[str] = []
        self.executed: set[str] = set()
        self.hooked: set[str] = set()
        self.proc = OBJ_BASE
        self.thread = OBJ_BASE + OBJ_STRIDE
        self.fdt = OBJ_BASE + 2 * OBJ_STRIDE
        self.cpu = OBJ_BASE + 9 * OBJ_STRIDE     # this CPU (struct cpu), for inlined current_thread()
        self.args = [claripy.BVS(f"arg{i}", 64, explicit_name=True) for i in range(6)]
        # fd table: slot i is either empty or holds an open file description. With
        # distinct_files (the fd-table specifications) slot i holds its own FILE_i
        # (laid out contiguously so a checked index resolves to a small range);
        # otherwise every open slot holds the same description FILE with symbolic
        # contents, which covers every concrete table for a handler that uses one fd.
        stride = (self.lay.file_size + 15) & ~15
        n = self.lay.fdt_nfd
        self.distinct_files = handler.name in DISTINCT_FILES
        self.files = [OBJ_BASE + 3 * OBJ_STRIDE + (stride * i if self.distinct_files else 0) for i in range(n)]
        if self.distinct_files:
            self.fd_open = [claripy.BVS(f"fdt.open{i}", 1, explicit_name=True) for i in range(n)]
        else:
            # one symbolic "is the slot open" bit shared by all slots: the handler reads one slot
            self.fd_open = [claripy.BVS("fdt.open", 1, explicit_name=True)] * n
        self.fd_syms = [claripy.If(o == 1, claripy.BVV(f, 64), claripy.BVV(0, 64))
                        for o, f in zip(self.fd_open, self.files)]
        self.proc_pid = claripy.BVS("proc.pid", 8 * self.lay.int_size, explicit_name=True)
        self.parent = OBJ_BASE + 4 * OBJ_STRIDE
        self.has_parent = claripy.BVS("proc.has_parent", 1, explicit_name=True)
        self.parent_pid = claripy.BVS("parent.pid", 8 * self.lay.int_size, explicit_name=True)
        self.proc_parent = claripy.If(self.has_parent == 1, claripy.BVV(self.parent, 64), claripy.BVV(0, 64))
        self.proc_vm = claripy.BVS("proc.vm", 64, explicit_name=True)
        self.thread_tid = claripy.BVS("thread.tid", 8 * self.lay.int_size, explicit_name=True)
        self.exits: list = []
        # the process tree (waitpid/spawn specifications)
        isz = 8 * self.lay.int_size
        self.proc_children = claripy.BVS("proc.children", 64, explicit_name=True)
        self.kids = [OBJ_BASE + (5 + i) * OBJ_STRIDE for i in range(NCHILD)]
        self.nkids = claripy.BVS("proc.nchildren", 8, explicit_name=True)
        self.kid_pid = [claripy.BVS(f"child{i}.pid", isz, explicit_name=True) for i in range(NCHILD)]
        self.kid_state = [claripy.BVS(f"child{i}.state", isz, explicit_name=True) for i in range(NCHILD)]
        self.kid_status = [claripy.BVS(f"child{i}.exit_status", isz, explicit_name=True) for i in range(NCHILD)]
        self.proc_killed = claripy.BVS("proc.killed", 8, explicit_name=True)
        self.next_id = None     # (address, initial value) of the pid counter (spawn)
        self._seen_findings: set = set()

    def assume(self, text: str) -> None:
        self.assumptions.setdefault(text, None)

    # -- regions -------------------------------------------------------------
    def fixed_regions(self, state):
        sp_top = state.globals["sp_top"]
        regs = [(self.proc, self.lay.proc_size, "current process"),
                (self.thread, self.lay.thread_size, "current thread"),
                # the slot array first: an index computed from user input must stay inside it
                (self.fdt + self.lay.fdt_fd, 8 * self.lay.fdt_nfd, "fd table slots"),
                (self.fdt, self.lay.fdt_size, "fd table"),
                (self.parent, self.lay.proc_size, "parent process"),
                (self.cpu, self.lay.proc_extra["cpu.size"], "this CPU"),
                *([(k, self.lay.proc_size, f"child process {i}") for i, k in enumerate(self.kids)]
                  if self.handler.name == "waitpid" else []),
                *[(f, self.lay.file_size, f"open file of fd {i}")
                  for i, f in enumerate(self.files if self.distinct_files else self.files[:1])],
                (sp_top - STACK_SPAN, STACK_SPAN + 0x100, "kernel stack")]
        return regs + list(state.globals.get("regions", ()))

    def region_of(self, state, a: int):
        for lo, size, name in self.fixed_regions(state):
            if lo <= a < lo + size:
                return lo, size, name
        objs = elfinfo.objects(self.elf)
        import bisect
        i = bisect.bisect_right(objs, (a, 1 << 64, "")) - 1
        if i >= 0:
            lo, size, name = objs[i]
            if lo <= a < lo + size:
                return lo, size, f"kernel object {name}"
        if self.ub <= a < self.ut:
            return self.ub, self.ut - self.ub, "user range"
        return None

    def new_region(self, state, size: int, name: str) -> int:
        n = state.globals.get("nregions", 0)
        base = OBJ_BASE + (16 + n) * OBJ_STRIDE
        state.globals["nregions"] = n + 1
        state.globals["regions"] = tuple(state.globals.get("regions", ())) + ((base, size, name),)
        return base

    # -- findings ------------------------------------------------------------
    def report(self, state, check: str, detail: str, cond=None, where: str = "", extra=None,
               dep=None) -> bool:
        """Record a violation if `cond` (default true) is satisfiable on this path.
        Returns whether it was."""
        extra_c = [cond] if cond is not None else []
        if not state.solver.satisfiable(extra_constraints=extra_c):
            return False
        cat = claripy.Concat(*self.args)
        v = state.solver.eval(cat, extra_constraints=extra_c)
        args = [(v >> (64 * (5 - i))) & ((1 << 64) - 1) for i in range(6)]
        ex = dict(extra or {})
        for k, e in list(ex.items()):
            if isinstance(e, claripy.ast.Base):
                ex[k] = state.solver.eval(e, extra_constraints=extra_c + [cat == v])
        pc = claripy.And(*state.solver.constraints) if state.solver.constraints else claripy.true()
        key = (check, detail, where)
        if key in self._seen_findings:
            return True
        self._seen_findings.add(key)
        self.findings.append(Finding(check, detail, args, _short(pc), where or hex(state.addr), ex,
                                     havoc=bool(dep is not None and havocked(dep))))
        return True


def _short(e, n: int = 1500) -> str:
    s = str(e)
    return s if len(s) <= n else s[:n] + f"... ({len(s)} chars)"


def split_base(addr):
    """addr = base + constant offset (the common shape of a field access)."""
    if addr.op == "__add__":
        consts = [a for a in addr.args if not a.symbolic]
        others = [a for a in addr.args if a.symbolic]
        if len(consts) == 1 and len(others) >= 1:
            off = consts[0].concrete_value
            base = others[0] if len(others) == 1 else claripy.Sum(*others) if hasattr(claripy, "Sum") else None
            if base is not None and off < LAZY_SIZE:
                return base, off
    return addr, 0


class LazyObjects(SimConcretizationStrategy):
    """Kernel pointers loaded from (symbolic) kernel state: a fresh object each."""

    def __init__(self, ctx: Ctx):
        super().__init__()
        self.ctx = ctx

    def _concretize(self, memory, addr, **kwargs):
        state = memory.state
        if tainted(addr):
            return None
        base, off = split_base(addr)
        lazy = state.globals.get("lazy", {})
        k = base.hash()
        if k in lazy:
            # bound before on this path (the constraint base == object is already in it)
            return [lazy[k] + off]
        # one value? (two queries instead of enumerating up to 17 solutions)
        v = state.solver.eval(addr)
        if not state.solver.satisfiable(extra_constraints=[addr != v]):
            return [v]
        r = self.ctx.new_region(state, LAZY_SIZE, f"object at {_short(base, 60)}")
        if state.solver.satisfiable(extra_constraints=[base == r]):
            if state.solver.satisfiable(extra_constraints=[base == 0]):
                self.ctx.assume("kernel pointers loaded from kernel state and dereferenced are valid (non-NULL, "
                                "distinct objects of at most 16 KiB): the kernel's data-structure invariant")
            state.globals["lazy"] = {**lazy, k: r}
            return [r + off]
        # a few known objects (not an if-then-else of constants, which Syntactic handles)
        vals = state.solver.eval_upto(addr, 17)
        if all(self.ctx.region_of(state, v) is not None and v >= OBJ_BASE or v == 0 for v in vals) \
                and len(vals) <= 16:
            return [v for v in vals if v != 0] if len(vals) > 1 and 0 in vals and \
                not state.solver.satisfiable(extra_constraints=[addr == 0]) else vals
        return None


MAX_LEAVES = 256


def _leaves(e, memo: dict):
    """Every value a pointer expression can take, read off its syntax, when it is
    an if-then-else tree of constants (a table entry selected by an index, a
    choice among model objects) plus constant offsets; None otherwise. The set is
    complete by construction, so returning it loses no behaviour (values that
    the path condition excludes only add dead branches to the load)."""
    if not e.symbolic:
        return frozenset((e.concrete_value,))
    k = e.hash()
    if k in memo:
        return memo[k]
    out = None
    if e.op == "If":
        a, b = _leaves(e.args[1], memo), _leaves(e.args[2], memo)
        if a is not None and b is not None and len(a | b) <= MAX_LEAVES:
            out = a | b
    elif e.op == "__add__":
        acc = frozenset((0,))
        mask = (1 << e.size()) - 1
        for x in e.args:
            lx = _leaves(x, memo)
            if lx is None or len(acc) * len(lx) > MAX_LEAVES:
                acc = None
                break
            acc = frozenset((u + v) & mask for u in acc for v in lx)
        out = acc
    memo[k] = out
    return out


def _stride(e) -> int:
    """The step between the values of an indexed address `base + i*scale`."""
    if e.op == "__add__":
        ss = [_stride(x) for x in e.args if x.symbolic]
        return min(ss) if len(ss) == 1 else 1
    if e.op == "__lshift__" and not e.args[1].symbolic:
        return 1 << min(e.args[1].concrete_value, 12)
    if e.op == "__mul__":
        cs = [x.concrete_value for x in e.args if not x.symbolic]
        return cs[0] if len(cs) == 1 and 0 < cs[0] <= 4096 else 1
    return 1


class Syntactic(SimConcretizationStrategy):
    """Cheap exact concretization before the solver-heavy strategies:
    * an if-then-else tree of object addresses (every fd-table entry holds one of
      a few known descriptions): its leaves, without any solver call;
    * an index into one known object (fdt->fd[fd] with fd bounded by a check on
      the path): every `stride`-spaced address in the object, after ONE query
      proving the address cannot leave it (instead of enumerating the solutions
      one solver call at a time, each with the whole path condition)."""

    def __init__(self, ctx: Ctx):
        super().__init__()
        self.ctx = ctx
        self.memo: dict = {}

    def _concretize(self, memory, addr, **kwargs):
        lv = _leaves(addr, self.memo)
        if lv is not None and len(lv) > 1:
            return sorted(lv)
        state = memory.state
        if lv is not None:
            return None
        try:
            a = state.solver.eval(addr, **kwargs)
        except Exception:
            return None
        reg = self.ctx.region_of(state, a)
        if reg is None or reg[2] == "user range":
            return None
        lo, size, _name = reg
        st = _stride(addr)
        if size // st > 512:
            return None
        out = claripy.Or(claripy.ULT(addr, lo), claripy.UGE(addr, lo + size))
        if st > 1:
            out = claripy.Or(out, ((addr - a) & (st - 1)) != 0) if st & (st - 1) == 0 else \
                claripy.Or(out, claripy.URem(addr - a, st) != 0)
        if state.solver.satisfiable(extra_constraints=[out, *kwargs.get("extra_constraints", ())]):
            return None
        first = lo + (a - lo) % st
        return list(range(first, lo + size, st))


class Fallback(SimConcretizationStrategy):
    """Last resort: one value. After a reported uptr violation that is expected;
    otherwise the path is explored for one address only: not a proof."""

    def __init__(self, ctx: Ctx):
        super().__init__()
        self.ctx = ctx

    def _concretize(self, memory, addr, **kwargs):
        v = self._any(memory, addr, **kwargs)
        if not tainted(addr) or memory.state.solver.satisfiable(extra_constraints=[addr != v]):
            self.ctx.incomplete.append(f"address {_short(addr, 80)} concretized to one value at "
                                       f"0x{memory.state.addr:x}")
        return [v]


# ---------------------------------------------------------------------------
# memory-access check (uptr)

def _check_access(ctx: Ctx, state, addr, size: int, what: str, force: bool = False) -> None:
    """force: check even an address that does not depend on user input (the
    precondition of a hooked callee: its kernel buffer must hold the length)."""
    if isinstance(addr, int):
        addr = claripy.BVV(addr, 64)
    if not isinstance(addr, claripy.ast.Base):
        return
    if not force and (not addr.symbolic or not tainted(addr)):
        return
    if size is None or not isinstance(size, int):
        size = 1
    try:
        a = state.solver.eval(addr)
    except Exception:
        return
    reg = ctx.region_of(state, a)
    if reg is None:
        inside = claripy.false()
        name = "no kernel object"
    else:
        lo, sz, name = reg
        inside = claripy.And(claripy.UGE(addr, lo), claripy.ULE(addr, lo + sz - size))
    if ctx.report(state, "uptr", f"{what} at an address computed from user input is not proved inside "
                  f"one kernel object or the user range (it may leave {name})", claripy.Not(inside),
                  extra={"address": addr}, dep=addr):
        state.add_constraints(inside)


def _install_breakpoints(ctx: Ctx, state) -> None:
    def on_read(s):
        _check_access(ctx, s, s.inspect.mem_read_address, _int(s.inspect.mem_read_length), "load")

    def on_write(s):
        _check_access(ctx, s, s.inspect.mem_write_address, _int(s.inspect.mem_write_length), "store")

    state.inspect.b("mem_read", when=angr.BP_BEFORE, action=on_read)
    state.inspect.b("mem_write", when=angr.BP_BEFORE, action=on_write)


def _int(v):
    if isinstance(v, int):
        return v
    try:
        return v.concrete_value if not v.symbolic else None
    except Exception:
        return None


# ---------------------------------------------------------------------------
# running

def explore(elf: str, arch: str, handler: elfinfo.Handler, *, loop_bound: int = 4,
            time_budget: float = 240.0, max_active: int = 256, max_steps: int = 20000) -> Outcome:
    from . import contracts

    t0 = time.monotonic()
    ctx = Ctx(elf, arch, handler, loop_bound)
    p = ctx.p
    contracts.install(ctx)
    opts = {angr.options.SYMBOL_FILL_UNCONSTRAINED_MEMORY, angr.options.SYMBOL_FILL_UNCONSTRAINED_REGISTERS}
    state = p.factory.call_state(handler.addr, *ctx.args, ret_addr=RET_ADDR, add_options=opts,
                                 remove_options={angr.options.SIMPLIFY_MEMORY_WRITES})
    end = state.arch.memory_endness
    state.globals["sp_top"] = state.solver.eval(state.regs.sp)
    # RISC-V x0 is hard-wired to zero; angr would otherwise read it as an
    # unconstrained register (SYMBOL_FILL_UNCONSTRAINED_REGISTERS)
    zero_reg = "zero" if ctx.archn == "RISCV64" else None
    if zero_reg:
        state.registers.store(zero_reg, claripy.BVV(0, 64))
    lay = ctx.lay
    state.memory.store(ctx.proc + lay.proc_pid, ctx.proc_pid, endness=end)
    state.memory.store(ctx.proc + lay.proc_parent, ctx.proc_parent, endness=end)
    state.memory.store(ctx.proc + lay.proc_vm, ctx.proc_vm, endness=end)
    state.memory.store(ctx.proc + lay.proc_fdt, claripy.BVV(ctx.fdt, 64), endness=end)
    state.memory.store(ctx.thread + lay.thread_tid, ctx.thread_tid, endness=end)
    state.memory.store(ctx.thread + lay.thread_proc, claripy.BVV(ctx.proc, 64), endness=end)
    state.memory.store(ctx.cpu + lay.proc_extra["cpu.current"], claripy.BVV(ctx.thread, 64), endness=end)
    for i, s in enumerate(ctx.fd_syms):
        state.memory.store(ctx.fdt + lay.fdt_fd + 8 * i, s, endness=end)
    state.memory.store(ctx.parent + lay.proc_pid, ctx.parent_pid, endness=end)
    if handler.name in PROC_TREE:
        _proc_tree(ctx, state)
    if not ctx.distinct_files:
        ctx.assume("fd table: every slot is open or every slot is empty, and all open slots refer to one "
                   "description with symbolic contents (sufficient for a handler that looks up one fd; "
                   "the fd-table specifications use a table with independent slots)")
    for f in (ctx.files if ctx.distinct_files else ctx.files[:1]):
        rc = claripy.BVS("file.refcount", 32)
        state.memory.store(f + lay.file_refcount, rc, endness=end)
        state.add_constraints(claripy.SGE(rc, 1))
    # kernel invariants the specifications rely on (printed as assumptions)
    state.add_constraints(claripy.SGT(ctx.proc_pid, 0), claripy.SGT(ctx.thread_tid, 0),
                          claripy.SGT(ctx.parent_pid, 0))
    ctx.assume("invariant: pids and tids are > 0; every open fd-table slot holds an open file "
               "description whose reference count is >= 1 (the table's reference)")
    syn = Syntactic(ctx)
    state.memory.read_strategies = [syn, LazyObjects(ctx), SimConcretizationStrategyRange(0x2000), Fallback(ctx)]
    state.memory.write_strategies = [syn, LazyObjects(ctx), SimConcretizationStrategyRange(0x2000), Fallback(ctx)]
    _install_breakpoints(ctx, state)
    state.globals["visits"] = {}

    sm = p.factory.simulation_manager(state, save_unconstrained=True)
    finals = []
    steps = 0
    deadline = t0 + time_budget
    retreg = RET_REG[ctx.archn]
    while sm.active or sm.unconstrained:
        for s in list(sm.unconstrained):
            sm.unconstrained.remove(s)
            ns = contracts.indirect_call(ctx, s)
            if ns is not None:
                sm.active.append(ns)
        done = [s for s in sm.active if s.addr == RET_ADDR]
        for s in done:
            sm.active.remove(s)
            finals.append(s)
        if not sm.active:
            break
        steps += 1
        if steps > max_steps:
            ctx.incomplete.append(f"more than {max_steps} symbolic steps")
            break
        if len(sm.active) > max_active:
            ctx.incomplete.append(f"path explosion: more than {max_active} live paths")
            break
        if time.monotonic() > deadline:
            ctx.incomplete.append(f"time budget of {time_budget:.0f}s exhausted")
            break
        for s in sm.active:
            sym = p.loader.find_symbol(s.addr)
            if sym is not None and sym.rebased_addr == s.addr and not p.is_hooked(s.addr):
                ctx.executed.add(sym.name)
        sm.step()
        keep = []
        for s in sm.active:
            if zero_reg:
                s.registers.store(zero_reg, claripy.BVV(0, 64))
            v = s.globals["visits"]
            n = v.get(s.addr, 0) + 1
            if n > ctx.loop_bound:
                ctx.assume(f"bounded: loops unrolled at most {ctx.loop_bound} times; paths that iterate "
                           f"further (first at 0x{s.addr:x}) are not explored")
                continue
            s.globals["visits"] = {**v, s.addr: n}
            keep.append(s)
        sm.active[:] = keep
        for e in sm.errored:
            ctx.incomplete.append(f"angr error at 0x{e.state.addr:x}: {str(e.error)[:200]}")
        sm.errored.clear()
        for s in list(getattr(sm, "deadended", [])):
            sm.deadended.remove(s)
            if s.globals.get("noreturn") is not None:
                ctx.exits.append(s)
            elif s.addr == RET_ADDR or (s.history.jump_target is not None and not s.history.jump_target.symbolic
                                       and s.solver.eval(s.history.jump_target) == RET_ADDR):
                finals.append(s)
    return Outcome(handler, arch, finals, ctx.exits, ctx.findings, list(ctx.assumptions), ctx.incomplete,
                   sorted(ctx.executed), sorted(ctx.hooked), time.monotonic() - t0, ctx.args, ctx)


def _proc_tree(ctx: Ctx, state) -> None:
    """The current process's children (waitpid, spawn). For waitpid: a list of
    0..NCHILD model processes c0 -> c1 -> ... linked through `sibling`, each with
    symbolic pid (> 0, pairwise distinct), state and exit status; process_list
    holds the same processes linked through `next`. For spawn: `children` is an
    arbitrary pointer (the new child must be put in front of it) and the pid
    counter `next_id` is symbolic."""
    lay, end = ctx.lay, state.arch.memory_endness
    proc_off = lambda f: lay.proc_extra[f]   # noqa: E731
    isz = 8 * lay.int_size
    if ctx.handler.name == "spawn":
        state.memory.store(ctx.proc + proc_off("children"), ctx.proc_children, endness=end)
        nid = elfinfo.object_addr(ctx.elf, "next_id", "proc.c")
        if nid is not None:
            v = claripy.BVS("next_id", isz, explicit_name=True)
            ctx.next_id = (nid, v)
            state.memory.store(nid, v, endness=end)
            state.add_constraints(claripy.SGE(v, 1))
            ctx.assume("invariant: the pid counter next_id is >= 1 (fewer than INT_MAX pids were ever "
                       "handed out: pids do not wrap around)")
        pl = elfinfo.object_addr(ctx.elf, "process_list", "proc.c")
        if pl is not None:
            state.memory.store(pl, claripy.BVS("process_list", 64, explicit_name=True), endness=end)
        ctx.assume("spawn: the parent's children list, process_list and the pid counter are arbitrary "
                   "(symbolic) kernel state")
        return
    k = ctx.nkids
    state.add_constraints(claripy.ULE(k, NCHILD))
    # child i is on the list iff i < k; c_i's successor is c_(i+1) iff i+1 < k
    head = claripy.If(claripy.UGT(k, 0), claripy.BVV(ctx.kids[0], 64), claripy.BVV(0, 64))
    for i in range(NCHILD):
        nxt = (claripy.If(claripy.UGT(k, i + 1), claripy.BVV(ctx.kids[i + 1], 64), claripy.BVV(0, 64))
               if i + 1 < NCHILD else claripy.BVV(0, 64))
        c = ctx.kids[i]
        state.memory.store(c + lay.proc_pid, ctx.kid_pid[i], endness=end)
        state.memory.store(c + proc_off("state"), ctx.kid_state[i], endness=end)
        state.memory.store(c + proc_off("exit_status"), ctx.kid_status[i], endness=end)
        state.memory.store(c + proc_off("sibling"), nxt, endness=end)
        state.memory.store(c + proc_off("next"), nxt, endness=end)
        state.memory.store(c + lay.proc_parent, claripy.BVV(ctx.proc, 64), endness=end)
        if "threads_unfreed" in lay.proc_extra:
            # proc_wait sleeps on reap_wait until the reaped child's thread stacks are freed
            # (thread_free wakes it); modelled as already freed: the path every wait ends in
            state.memory.store(c + proc_off("threads_unfreed"), claripy.BVV(0, isz), endness=end)
        state.add_constraints(claripy.SGT(ctx.kid_pid[i], 0))
        for j in range(i):
            state.add_constraints(ctx.kid_pid[i] != ctx.kid_pid[j])
    state.memory.store(ctx.proc + proc_off("children"), head, endness=end)
    state.memory.store(ctx.proc + proc_off("killed"), ctx.proc_killed)
    state.add_constraints(claripy.ULE(ctx.proc_killed, 1))     # a C bool is 0 or 1
    pl = elfinfo.object_addr(ctx.elf, "process_list", "proc.c")
    if pl is not None:
        state.memory.store(pl, head, endness=end)
    ctx.assume(f"waitpid: the caller has 0..{NCHILD} children (pids > 0, pairwise distinct; state and exit "
               "status arbitrary), linked through `sibling` and also forming process_list; the sleep until a reaped "
               "child's thread stacks are freed (threads_unfreed, dropped by thread_free, which wakes the waiter) "
               "ends: modelled as already freed (threads_unfreed = 0), the state every such wait ends in")


# ---------------------------------------------------------------------------
# the errno contract on the final states

def ret_value(ctx: Ctx, state):
    return state.registers.load(RET_REG[ctx.archn])


def errno_ok(ctx: Ctx, contract: abi.Contract, ret):
    errs = [ret == claripy.BVV((-e) & ((1 << 64) - 1), 64) for e in sorted(contract.errnos)]
    s = contract.success
    if s == "zero":
        ok = ret == 0
    elif s == "nonneg":
        ok = claripy.SGE(ret, 0)
    elif s == "count":
        ok = claripy.And(claripy.SGE(ret, 0), claripy.ULE(ret, ctx.args[contract.count_arg]))
    elif s == "uaddr":
        ok = claripy.And(claripy.UGE(ret, ctx.ub), claripy.ULT(ret, ctx.ut), ret & 0xFFF == 0)
    else:  # noreturn: only errors may come back
        ok = claripy.false()
    return claripy.Or(ok, *errs)

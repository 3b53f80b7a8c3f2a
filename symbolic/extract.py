"""Extraction: run one abstract operator of a compiled ELF symbolically with angr
and turn every final path into (path condition, output terms).

Inputs are `struct bpf_scalar`s stored at fixed addresses, every field a fresh
claripy symbol named after the operand and field (``a.umin``), so the same
names appear on every architecture and the extracted semantics can be compared
across architectures. Field offsets and sizes come from the ELF's DWARF.

Compositional hooks (each callee is proved on its own, see checks.py):
  * ``bpf_range_sync`` is replaced by a no-op when proving an ALU or jump
    operator: the operator is proved sound *before* sync, and sync is proved to
    keep every member (``sync`` obligation), and bpf_range_is_empty to be sound
    (``is_empty`` obligation), which together give soundness of the real code.
  * ``bpf_tnum_mul`` (a 64-iteration loop) is replaced by its contract: it
    returns a fresh tnum R, and the checker assumes ``x*y in R`` for the
    members x, y of its arguments (instantiated at the operator's operands).
    bpf_tnum_mul itself is proved separately on operands of bounded width.
  * ``bpf_tnum_shift_union`` (the union of a tnum's shifts over a range of
    amounts) is replaced by its contract the same way: a fresh tnum R, and the
    checker assumes ``sh(x, k) in R`` for x in t and lo <= k <= hi <= width-1,
    instantiated at the operator's operand and shift amount. The function
    itself is proved against that contract, for every kind of shift, with
    symbolic t, lo, hi (the ``tnum_shift_union`` obligation).
  * ``bpf_sdiv_bounds`` (the signed quotient bounds of sdiv64/sdiv32) is
    replaced by its contract: a fresh bool and fresh *lo, *hi, and the checker
    assumes, where it returned true, that every quotient of the box lies in
    [lo, hi] (instantiated at the operator's operands). The function itself is
    proved against that contract (the ``sdiv_bounds`` obligation).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import angr
import claripy

from axiomdbg.core.dwarf import TypeIndex

from . import angr_fixes  # noqa: F401  (exact flag helpers; see the module)
from .model import FIELDS, FIELD_BITS

logging.getLogger("angr").setLevel(logging.ERROR)
logging.getLogger("cle").setLevel(logging.ERROR)
logging.getLogger("pyvex").setLevel(logging.ERROR)
logging.getLogger("claripy").setLevel(logging.ERROR)

RET_ADDR = 0xDEAD0000
BASE = 0x7F000000          # input/output structs live here, 0x100 apart
ARG_REGS = {"AMD64": ["rdi", "rsi", "rdx", "rcx", "r8", "r9"],
            "AARCH64": [f"x{i}" for i in range(8)],
            "RISCV64": [f"a{i}" for i in range(8)]}
RET_REGS = {"AMD64": ("rax", "rdx"), "AARCH64": ("x0", "x1"), "RISCV64": ("a0", "a1")}
ARCH_NAME = {"x86_64": "AMD64", "aarch64": "AARCH64", "riscv64": "RISCV64"}


def _fixed_pc_actions_UMUL(state, nbits, cc_dep1, cc_dep2, cc_ndep, platform=None):
    """Corrected x86 flags of an unsigned `mul`: CF = OF = (high half of the
    double-width product != 0). angr 9.2's pc_actions_UMUL shifts the *low*
    half right by nbits, so CF/OF are always 0 and `mull; jno` is always taken
    (it produced false UNSOUND results for mul32/mul64 on x86_64)."""
    from angr.engines.vex.claripy import ccall as cc

    a = cc_dep1[nbits - 1:0].zero_extend(nbits)
    b = cc_dep2[nbits - 1:0].zero_extend(nbits)
    ir = a * b
    hi = ir[2 * nbits - 1:nbits]
    lo = ir[nbits - 1:0]
    cf = claripy.If(hi != 0, claripy.BVV(1, 1), claripy.BVV(0, 1))
    return cc.pc_make_rdata(cc.data[platform]["size"], cf, cc.calc_paritybit(lo), claripy.BVV(0, 1),
                            cc.calc_zerobit(lo), lo[nbits - 1], cf, platform=platform)


def _patch_angr() -> None:
    from angr.engines.vex.claripy import ccall as cc

    cc.pc_actions_UMUL = _fixed_pc_actions_UMUL


_patch_angr()


# RISC-V M-extension division: VEX (angr 9.2) computes the 32-bit forms
# (divw/divuw/remw/remuw) on the sign-extended 64-bit registers instead of on
# their low words -- e.g. remuw of 0x9013a351 by 2304 gives 849 instead of 81 --
# which made mod32/mod64 look unsound on riscv64 only. Every div/rem of the
# analysed ELF is therefore hooked with the ISA manual's semantics (RV64 M,
# including x/0 and MIN/-1), and VEX's lifting of them is never used.
_RV_DIVREM = {(0x33, 4): "div", (0x33, 5): "divu", (0x33, 6): "rem", (0x33, 7): "remu",
              (0x3B, 4): "divw", (0x3B, 5): "divuw", (0x3B, 6): "remw", (0x3B, 7): "remuw"}


def rv_divrem(name: str, a, b):
    """RV64 M semantics of `name` on 64-bit register values a, b (claripy)."""
    if name.endswith("w"):
        a, b, n = a[31:0], b[31:0], 32
    else:
        n = 64
    zero = b == 0
    ones = claripy.BVV(-1, n)
    if name.startswith("divu"):
        r = claripy.If(zero, ones, a / claripy.If(zero, claripy.BVV(1, n), b))
    elif name.startswith("remu"):
        r = claripy.If(zero, a, a % claripy.If(zero, claripy.BVV(1, n), b))
    else:
        smin = claripy.BVV(1 << (n - 1), n)
        ovf = claripy.And(a == smin, b == ones)
        safe = claripy.If(claripy.Or(zero, ovf), claripy.BVV(1, n), b)
        if name.startswith("div"):
            r = claripy.If(zero, ones, claripy.If(ovf, smin, a.SDiv(safe)))
        else:
            r = claripy.If(zero, a, claripy.If(ovf, claripy.BVV(0, n), a.SMod(safe)))
    return r.sign_extend(32) if n == 32 else r


# RISC-V register shifts: VEX (angr 9.2) lifts sll/srl/sra (and the 32-bit
# *w forms) as a shift by the whole rs2 register, but the ISA uses only its low
# 6 bits (5 for the *w forms): `sll` of 5 by 65 gave 0 instead of 10. Compilers
# rely on the hardware masking (bpf_tnum_lshift's `shift &= 63` compiles to a
# bare `sll`), so riscv64 disagreed with the other arches for shift amounts >= 64.
# Hooked like the divisions, with the ISA manual's semantics.
_RV_SHIFT = {(0x33, 1, 0): "sll", (0x33, 5, 0): "srl", (0x33, 5, 0x20): "sra",
             (0x3B, 1, 0): "sllw", (0x3B, 5, 0): "srlw", (0x3B, 5, 0x20): "sraw"}


def rv_shift(name: str, a, b):
    """RV64I semantics of the register shift `name` on 64-bit register values."""
    if name.endswith("w"):
        x, amt = a[31:0], (b & 31)[31:0]
    else:
        x, amt = a, b & 63
    if name.startswith("sll"):
        r = x << amt
    elif name.startswith("srl"):
        r = x.LShR(amt)
    else:
        r = x >> amt   # claripy >> is arithmetic
    return r.sign_extend(32) if name.endswith("w") else r


def _rv_hook(name: str, rd: int, rs1: int, rs2: int):
    sem = rv_shift if name in _RV_SHIFT.values() else rv_divrem

    def hook(state):
        a = state.registers.load(f"x{rs1}") if rs1 else claripy.BVV(0, 64)
        b = state.registers.load(f"x{rs2}") if rs2 else claripy.BVV(0, 64)
        if rd:
            state.registers.store(f"x{rd}", sem(name, a, b))
    return hook


def hook_riscv_divrem(p: angr.Project) -> int:
    """Hook every RV64 M div/rem and every RV64I register shift instruction
    inside the ELF's functions (both mis-lifted by VEX, see above)."""
    mem = p.loader.memory
    n = 0
    for sym in p.loader.main_object.symbols:
        if not sym.is_function or not sym.size:
            continue
        a, end = sym.rebased_addr, sym.rebased_addr + sym.size
        try:
            code = mem.load(a, sym.size)
        except Exception:
            continue
        i = 0
        while i + 2 <= len(code):
            if code[i] & 3 != 3:
                i += 2
                continue
            if i + 4 > len(code):
                break
            w = int.from_bytes(code[i:i + 4], "little")
            op, f3, f7 = w & 0x7F, (w >> 12) & 7, w >> 25
            name = _RV_DIVREM.get((op, f3)) if f7 == 1 else _RV_SHIFT.get((op, f3, f7))
            if name is not None and not p.is_hooked(a + i):
                p.hook(a + i, _rv_hook(name, (w >> 7) & 31, (w >> 15) & 31, (w >> 20) & 31), length=4)
                n += 1
            i += 4
    return n


class ExtractError(RuntimeError):
    pass


class Budget(ExtractError):
    """Symbolic execution exceeded its step/state/time budget."""


@dataclass
class Path_:
    cond: claripy.ast.Bool
    outs: dict[str, dict[str, claripy.ast.BV]]   # struct name -> field -> term
    ret: claripy.ast.BV | None = None
    mul_calls: list[tuple] = field(default_factory=list)  # (a_v, a_m, b_v, b_m, r_v, r_m)
    # bpf_tnum_shift_union summaries: (t_v, t_m, lo, hi, kind, width, r_v, r_m),
    # lo/hi 32-bit terms, kind/width Python ints (constant at every call site)
    shift_calls: list[tuple] = field(default_factory=list)
    calls: list[tuple] = field(default_factory=list)      # (callee, in fields, out fields) of contract hooks
    # bpf_sdiv_bounds summaries: (xmin, xmax, ymin, ymax, min, ret, lo, hi), 64-bit
    # terms but min (a Python int, constant at every call site) and ret (8-bit)
    sdiv_calls: list[tuple] = field(default_factory=list)


@dataclass
class Extraction:
    func: str
    paths: list[Path_]
    inputs: dict[str, dict[str, claripy.ast.BV]]
    seconds: float
    steps: int


@dataclass(frozen=True)
class Layout:
    size: int
    fields: tuple[tuple[str, int, int], ...]  # (name, offset, bits)


@lru_cache(maxsize=None)
def layout(elf: str) -> Layout:
    ti = TypeIndex(elf)
    st = ti.struct("bpf_scalar")
    out = []
    for f in FIELDS:
        off = st.offsetof(f)
        t = st
        for part in f.split("."):
            t = t.member(part).type
        bits = t.sizeof * 8
        if bits != FIELD_BITS[f]:
            raise ExtractError(f"struct bpf_scalar.{f} is {bits} bits in {elf}, the contract says {FIELD_BITS[f]}")
        out.append((f, off, bits))
    return Layout(st.sizeof, tuple(out))


_PROJECTS: dict[str, angr.Project] = {}


def project(elf: str) -> angr.Project:
    p = _PROJECTS.get(elf)
    if p is None:
        p = angr.Project(elf, auto_load_libs=False, load_options={"main_opts": {}})
        _PROJECTS[elf] = p
    return p


def func_addr(p: angr.Project, name: str) -> int:
    sym = p.loader.find_symbol(name)
    if sym is None:
        raise ExtractError(f"{name} not found in {p.filename}")
    return sym.rebased_addr


def func_bytes(elf: str, name: str) -> bytes:
    p = project(elf)
    sym = p.loader.find_symbol(int(name, 16) if name.startswith("0x") else name)
    if sym is None:
        raise ExtractError(f"{name} not found in {elf}")
    size = sym.size or 0x400
    return p.loader.memory.load(sym.rebased_addr, size)


def callees(elf: str, name: str) -> list[str]:
    """Named functions called (directly) from `name`, from angr's CFG of it."""
    p = project(elf)
    addr = func_addr(p, name)
    try:
        cfg = p.analyses.CFGFast(function_starts=[addr], start_at_entry=False, force_complete_scan=False,
                                 normalize=True, regions=[(addr, addr + (p.loader.find_symbol(name).size or 0x400))])
        fn = cfg.kb.functions.get_by_addr(addr)
        out = []
        for site in fn.get_call_sites():
            tgt = fn.get_call_target(site)
            s = p.loader.find_symbol(tgt) if tgt is not None else None
            if s is not None and s.name != name:
                out.append(s.name)
        return sorted(set(out))
    except Exception:
        return []


class _NoOp(angr.SimProcedure):
    def run(self):  # noqa: D401
        return None


class _TnumMulSummary(angr.SimProcedure):
    """bpf_tnum_mul's contract: a fresh result, recorded with its arguments."""

    def run(self):
        archn = self.state.arch.name
        regs = ARG_REGS[archn]
        args = [self.state.registers.load(r) for r in regs[:4]]
        n = len(self.state.globals.get("mul_calls", ()))
        rv = claripy.BVS(f"tnum_mul{n}.value", 64, explicit_name=True)
        rm = claripy.BVS(f"tnum_mul{n}.mask", 64, explicit_name=True)
        self.state.globals["mul_calls"] = tuple(self.state.globals.get("mul_calls", ())) + (
            (args[0], args[1], args[2], args[3], rv, rm),)
        r0, r1 = RET_REGS[archn]
        self.state.registers.store(r0, rv)
        self.state.registers.store(r1, rm)
        return None


SHIFT_UNION = "bpf_tnum_shift_union"


def _u32_arg(v):
    """The low 32 bits of a register holding an `unsigned`/`int` argument (the
    upper bits are unspecified on x86_64/aarch64, sign-extended on riscv64)."""
    return v[31:0]


class _ShiftUnionSummary(angr.SimProcedure):
    """bpf_tnum_shift_union's contract: a fresh result, recorded with its
    arguments. kind and width must be constants at the call site (each
    (kind, width) is a separately proved contract)."""

    def run(self):
        archn = self.state.arch.name
        regs = ARG_REGS[archn]
        tv, tm, lo, hi, kind, width = [self.state.registers.load(r) for r in regs[:6]]
        consts = []
        for nm, v in (("kind", kind), ("width", width)):
            vals = self.state.solver.eval_upto(_u32_arg(v), 2)
            if len(vals) != 1:
                raise ExtractError(f"{SHIFT_UNION}: {nm} is not a constant at the call site")
            consts.append(vals[0])
        n = len(self.state.globals.get("shift_calls", ()))
        rv = claripy.BVS(f"shift_union{n}.value", 64, explicit_name=True)
        rm = claripy.BVS(f"shift_union{n}.mask", 64, explicit_name=True)
        self.state.globals["shift_calls"] = tuple(self.state.globals.get("shift_calls", ())) + (
            (tv, tm, _u32_arg(lo), _u32_arg(hi), consts[0], consts[1], rv, rm),)
        r0, r1 = RET_REGS[archn]
        self.state.registers.store(r0, rv)
        self.state.registers.store(r1, rm)
        return None


SDIV_BOUNDS = "bpf_sdiv_bounds"


class _SdivBoundsSummary(angr.SimProcedure):
    """bpf_sdiv_bounds's contract: a fresh bool result and fresh *lo, *hi,
    recorded with the arguments. `min` must be a constant at the call site
    (INT64_MIN and INT32_MIN are separately proved contracts)."""

    def run(self, xmin, xmax, ymin, ymax, minv, plo, phi):
        st = self.state
        vals = st.solver.eval_upto(minv, 2)
        if len(vals) != 1:
            raise ExtractError(f"{SDIV_BOUNDS}: min is not a constant at the call site")
        n = len(st.globals.get("sdiv_calls", ()))
        ret = claripy.BVS(f"sdiv_bounds{n}.ret", 1, explicit_name=True).zero_extend(7)
        lo = claripy.BVS(f"sdiv_bounds{n}.lo", 64, explicit_name=True)
        hi = claripy.BVS(f"sdiv_bounds{n}.hi", 64, explicit_name=True)
        end = st.arch.memory_endness
        st.memory.store(st.solver.eval_one(plo), lo, endness=end)
        st.memory.store(st.solver.eval_one(phi), hi, endness=end)
        st.globals["sdiv_calls"] = tuple(st.globals.get("sdiv_calls", ())) + (
            (xmin, xmax, ymin, ymax, vals[0], ret, lo, hi),)
        st.registers.store(RET_REGS[st.arch.name][0], ret.zero_extend(56))
        return None


SYNC_STEPS = ("bpf_sync_tnum_to_bounds", "bpf_sync_deduce32", "bpf_sync_deduce64", "bpf_sync_64_to_32",
              "bpf_sync_32_to_64", "bpf_sync_bounds_to_tnum")


class _StepContract(angr.SimProcedure):
    """A `void f(struct bpf_scalar *s)` step replaced by its contract: *s gets
    fresh fields; the checker assumes what the step was proved to guarantee
    about (old *s, new *s), recorded here per call."""

    def run(self):
        lay = self.state.globals["layout"]
        ptr = self.state.registers.load(ARG_REGS[self.state.arch.name][0])
        addr = self.state.solver.eval_one(ptr)
        before = _load_struct(self.state, lay, addr)
        n = len(self.state.globals.get("calls", ()))
        name = self.display_name
        after = _sym_struct(self.state, lay, addr, f"call{n}.{name}")
        self.state.globals["calls"] = tuple(self.state.globals.get("calls", ())) + ((name, before, after),)
        return None


def _sym_struct(state, lay: Layout, addr: int, prefix: str) -> dict[str, claripy.ast.BV]:
    vals = {}
    for name, off, bits in lay.fields:
        v = claripy.BVS(f"{prefix}.{name}", bits, explicit_name=True)
        state.memory.store(addr + off, v, endness=state.arch.memory_endness)
        vals[name] = v
    return vals


def _load_struct(state, lay: Layout, addr: int) -> dict[str, claripy.ast.BV]:
    return {name: state.memory.load(addr + off, bits // 8, endness=state.arch.memory_endness)
            for name, off, bits in lay.fields}


class _Cond:
    def __init__(self, e):
        self.e = e

    def to_claripy(self):
        return self.e


def _same(vals) -> bool:
    v0 = vals[0]
    return all(v is v0 or v.hash() == v0.hash() for v in vals[1:])


def _ite(pcs, vals):
    out = vals[-1]
    for pc, v in zip(reversed(pcs[:-1]), reversed(vals[:-1])):
        out = claripy.If(pc, v, out)
    return out


def _merge(states):
    """Merge states at the same program point by hand. The states forked from a
    common history: their constraint lists share a prefix (the same AST
    objects), which the merged state keeps; only the suffixes c_i tell them
    apart. Every register and every live stack/struct word becomes
    ITE(c_0, v_0, ITE(c_1, v_1, ...)) over those (mutually exclusive) suffixes
    -- under the prefix, the same as over the whole path conditions -- and the
    merged constraints are the prefix and the suffixes' disjunction. Using the
    whole conditions nested every earlier branch inside each later ITE.
    (angr's own merge skips memory it believes unchanged, which loses values
    after repeated merges.)"""
    cons = [list(s.solver.constraints) for s in states]
    k = 0
    while all(len(c) > k for c in cons) and all(c[k] is cons[0][k] for c in cons[1:]):
        k += 1
    prefix = cons[0][:k]
    pcs = [claripy.And(*c[k:]) if len(c) > k else claripy.true() for c in cons]
    calls = [s.globals.get("mul_calls", ()) for s in states]
    if any(len(c) != len(calls[0]) for c in calls):
        raise ExtractError("cannot merge paths that made different numbers of bpf_tnum_mul calls")
    shifts = [s.globals.get("shift_calls", ()) for s in states]
    if any([c[4:6] for c in sc] != [c[4:6] for c in shifts[0]] for sc in shifts):
        raise ExtractError("cannot merge paths that made different bpf_tnum_shift_union calls")
    sdivs = [s.globals.get("sdiv_calls", ()) for s in states]
    if any([c[4] for c in sc] != [c[4] for c in sdivs[0]] for sc in sdivs):
        raise ExtractError("cannot merge paths that made different bpf_sdiv_bounds calls")
    steps = [s.globals.get("calls", ()) for s in states]
    if any(len(c) != len(steps[0]) or [x[0] for x in c] != [x[0] for x in steps[0]] for c in steps):
        raise ExtractError("cannot merge paths that made different contract calls")
    merged = states[0].copy()
    arch = merged.arch
    ip = arch.register_names[arch.ip_offset]
    for r in arch.register_list:
        if r.name == ip or r.size > 8 or r.name in ("ip_at_syscall",):
            continue
        try:
            vals = [s.registers.load(r.name) for s in states]
        except Exception:
            continue
        if not _same(vals):
            merged.registers.store(r.name, _ite(pcs, vals))
    sp_top = merged.globals["sp_top"]
    sp_lo = min(s.solver.eval(s.regs.sp) if not s.regs.sp.symbolic else sp_top - 0x1000 for s in states)
    regions = [((sp_lo - 16) & ~7, sp_top + 64), (BASE, BASE + 0x700)]
    end = arch.memory_endness
    for lo, hi in regions:
        for a in range(lo, hi, 8):
            vals = [s.memory.load(a, 8, endness=end) for s in states]
            if not _same(vals):
                merged.memory.store(a, _ite(pcs, vals), endness=end)
    if len(calls[0]):
        mc = []
        for i in range(len(calls[0])):
            mc.append(tuple(_ite(pcs, [c[i][k] for c in calls]) if not _same([c[i][k] for c in calls])
                            else calls[0][i][k] for k in range(6)))
        merged.globals["mul_calls"] = tuple(mc)
    if len(shifts[0]):
        merged.globals["shift_calls"] = tuple(
            tuple(c0[k] if k in (4, 5) or _same([c[i][k] for c in shifts]) else _ite(pcs, [c[i][k] for c in shifts])
                  for k in range(8))
            for i, c0 in enumerate(shifts[0]))
    if len(sdivs[0]):
        merged.globals["sdiv_calls"] = tuple(
            tuple(c0[k] if k == 4 or _same([c[i][k] for c in sdivs]) else _ite(pcs, [c[i][k] for c in sdivs])
                  for k in range(8))
            for i, c0 in enumerate(sdivs[0]))
    if len(steps[0]):
        sc = []
        for i, (name, _, _) in enumerate(steps[0]):
            io = []
            for k in (1, 2):
                d = {}
                for f in steps[0][i][k]:
                    vals = [c[i][k][f] for c in steps]
                    d[f] = vals[0] if _same(vals) else _ite(pcs, vals)
                io.append(d)
            sc.append((name, io[0], io[1]))
        merged.globals["calls"] = tuple(sc)
    merged.solver._stored_solver = None
    merged.solver.reload_solver(prefix + [claripy.Or(*pcs)])
    return merged


def _run(p: angr.Project, state, max_steps: int, max_active: int, deadline: float, merge: bool = True):
    sm = p.factory.simulation_manager(state)
    steps = 0
    while sm.active:
        if steps >= max_steps:
            raise Budget(f"symbolic execution exceeded {max_steps} steps")
        if len(sm.active) > max_active:
            raise Budget(f"path explosion: more than {max_active} live states")
        if time.monotonic() > deadline:
            raise Budget("symbolic execution time budget exhausted")
        # merge states waiting at the same place
        keys: dict = {}
        for s in sm.active:
            keys.setdefault((s.addr, tuple(f.ret_addr for f in s.callstack),
                             len(s.globals.get("mul_calls", ())),
                             tuple(c[4:6] for c in s.globals.get("shift_calls", ())),
                             tuple(c[4] for c in s.globals.get("sdiv_calls", ())),
                             tuple(c[0] for c in s.globals.get("calls", ()))), []).append(s)
        if merge and any(len(v) > 1 for v in keys.values()):
            sm.active[:] = [_merge(v) if len(v) > 1 else v[0] for v in keys.values()]
        # step the state deepest in the call stack / lowest address first, so
        # diverged paths meet again at join points before either moves on
        if len(sm.active) > 1:
            best = max(sm.active, key=lambda s: (len(s.callstack), -s.addr))
            sm.move("active", "waiting", lambda s: s is not best)
            sm.step()
            sm.move("waiting", "active")
        else:
            sm.step()
        steps += 1
        if sm.errored:
            raise ExtractError(f"angr error: {sm.errored[0].error!r}")
    return sm, steps


OPTIONS = {angr.options.ZERO_FILL_UNCONSTRAINED_MEMORY, angr.options.ZERO_FILL_UNCONSTRAINED_REGISTERS,
           angr.options.LAZY_SOLVES}


def _prepare(elf: str, hooks: dict[str, angr.SimProcedure]) -> angr.Project:
    p = project(elf)
    for name in ("bpf_range_sync", "bpf_tnum_mul", SHIFT_UNION, SDIV_BOUNDS) + SYNC_STEPS:
        a = p.loader.find_symbol(name)
        if a is not None and p.is_hooked(a.rebased_addr):
            p.unhook(a.rebased_addr)
    for name, proc in hooks.items():
        a = p.loader.find_symbol(name)
        if a is not None:
            p.hook(a.rebased_addr, proc)
    if p.arch.name == "RISCV64" and not getattr(p, "_axiom_rv_hooked", False):
        hook_riscv_divrem(p)
        p._axiom_rv_hooked = True
    if not p.is_hooked(RET_ADDR):
        p.hook(RET_ADDR, angr.SIM_PROCEDURES["stubs"]["PathTerminator"]())
    return p


def extract(elf: str, func: str, kind: str, *, is32: int | None = None, hook_sync: bool = True,
            hook_mul: bool = True, alias_out: bool = False, max_steps: int = 20000, max_active: int = 64,
            time_budget: float = 300.0, pre=None, merge: bool = True,
            contracts: tuple[str, ...] = (), hook_shift: bool = True,
            shift: tuple[int, int | None] | None = None, lazy: bool = True,
            hook_sdiv: bool = True, sdiv_min: int | None = None) -> Extraction:
    """Symbolically execute `func`.

    lazy=False checks every branch's feasibility as it is taken (no
    LAZY_SOLVES): needed for loops whose exit depends on `pre` (bpf_tnum_mul
    under a width precondition), which lazy solving follows to the last
    iteration on every infeasible exit.

    kind: "binop" f(out, a, b); "unop" f(out, a); "jmp" f(is32, dst, src, dt, st, df, sf);
          "sync" f(s); "pred" bool f(s) (is_empty); "tnum2" tnum f(tnum a, tnum b);
          "shiftu" tnum f(tnum t, unsigned lo, unsigned hi, int kind, unsigned width)
          with shift=(kind, width) constants (width None: symbolic, 32 or 64);
          inputs "a" (t.value, t.mask) and "amount" (lo, hi, width), 32-bit;
          "sdivb" bool f(xmin, xmax, ymin, ymax, min, *lo, *hi) (bpf_sdiv_bounds) with
          min = sdiv_min (constant); inputs "box" (xmin, xmax, ymin, ymax), outputs
          "out" (lo, hi) and ret (8-bit).
    """
    t0 = time.monotonic()
    hooks = {}
    if hook_sync and kind != "sync":
        hooks["bpf_range_sync"] = _NoOp()
    if hook_mul and func != "bpf_tnum_mul":
        hooks["bpf_tnum_mul"] = _TnumMulSummary()
    if hook_shift and func != SHIFT_UNION:
        hooks[SHIFT_UNION] = _ShiftUnionSummary()
    if hook_sdiv and func != SDIV_BOUNDS:
        hooks[SDIV_BOUNDS] = _SdivBoundsSummary()
    for name in contracts:
        hooks[name] = _StepContract(display_name=name)
    p = _prepare(elf, hooks)
    lay = layout(elf)
    addr = func_addr(p, func)
    A, B, OUT, DT, ST, DF, SF = (BASE + i * 0x100 for i in range(7))
    inputs: dict[str, dict] = {}
    if kind == "binop":
        args = [A if alias_out else OUT, A, B]
    elif kind == "unop":
        args = [A if alias_out else OUT, A]
    elif kind == "jmp":
        args = [is32, A, B, DT, ST, DF, SF]
    elif kind in ("sync", "pred"):
        args = [A]
    elif kind == "tnum2":
        av, am, bv, bm = (claripy.BVS(n, 64, explicit_name=True) for n in ("a.t.value", "a.t.mask", "b.t.value", "b.t.mask"))
        args = [av, am, bv, bm]
        inputs = {"a": {"t.value": av, "t.mask": am}, "b": {"t.value": bv, "t.mask": bm}}
    elif kind == "shiftu":
        tv, tm = (claripy.BVS(n, 64, explicit_name=True) for n in ("a.t.value", "a.t.mask"))
        lo, hi = (claripy.BVS(n, 32, explicit_name=True) for n in ("amount.lo", "amount.hi"))
        skind, swidth = shift
        width = claripy.BVV(swidth, 32) if swidth is not None else claripy.BVS("amount.width", 32, explicit_name=True)
        if p.arch.name == "RISCV64":   # LP64: 32-bit arguments are sign-extended
            regs = [v.sign_extend(32) for v in (lo, hi, claripy.BVV(skind, 32), width)]
        else:                          # upper halves unspecified
            regs = [claripy.BVS(f"{n}.upper", 32, explicit_name=True).concat(v)
                    for n, v in (("lo", lo), ("hi", hi), ("kind", claripy.BVV(skind, 32)), ("width", width))]
        args = [tv, tm] + regs
        inputs = {"a": {"t.value": tv, "t.mask": tm}, "amount": {"lo": lo, "hi": hi, "width": width}}
    elif kind == "sdivb":
        box = {n: claripy.BVS(f"box.{n}", 64, explicit_name=True) for n in ("xmin", "xmax", "ymin", "ymax")}
        args = list(box.values()) + [claripy.BVV(sdiv_min & (2**64 - 1), 64), OUT, OUT + 8]
        inputs = {"box": box}
    else:
        raise ValueError(kind)
    opts = OPTIONS if lazy else set(OPTIONS) - {angr.options.LAZY_SOLVES}
    state = p.factory.call_state(addr, *args, ret_addr=RET_ADDR, add_options=opts)
    state.globals["mul_calls"] = ()
    state.globals["calls"] = ()
    state.globals["layout"] = lay
    state.globals["sp_top"] = state.solver.eval(state.regs.sp)
    state.globals["shift_calls"] = ()
    state.globals["sdiv_calls"] = ()
    if kind not in ("tnum2", "shiftu", "sdivb"):
        inputs["a"] = _sym_struct(state, lay, A, "a")
        if kind in ("binop", "jmp"):
            inputs["b"] = _sym_struct(state, lay, B, "b")
    if pre is not None:
        state.solver.add(pre(inputs))
    sm, steps = _run(p, state, max_steps, max_active, t0 + time_budget, merge)
    paths = []
    for s in sm.deadended + sm.unconstrained:
        cond = claripy.And(*s.solver.constraints) if s.solver.constraints else claripy.true()
        outs = {}
        ret = None
        if kind in ("binop", "unop"):
            outs["out"] = _load_struct(s, lay, A if alias_out else OUT)
        elif kind == "jmp":
            for nm, ad in (("dst_t", DT), ("src_t", ST), ("dst_f", DF), ("src_f", SF)):
                outs[nm] = _load_struct(s, lay, ad)
            ret = s.regs.get(RET_REGS[s.arch.name][0])[31:0]
        elif kind == "sync":
            outs["out"] = _load_struct(s, lay, A)
        elif kind == "pred":
            ret = s.regs.get(RET_REGS[s.arch.name][0])[7:0]
        elif kind in ("tnum2", "shiftu"):
            r0, r1 = RET_REGS[s.arch.name]
            outs["out"] = {"t.value": s.regs.get(r0), "t.mask": s.regs.get(r1)}
        elif kind == "sdivb":
            end = s.arch.memory_endness
            outs["out"] = {"lo": s.memory.load(OUT, 8, endness=end), "hi": s.memory.load(OUT + 8, 8, endness=end)}
            ret = s.regs.get(RET_REGS[s.arch.name][0])[7:0]
        paths.append(Path_(cond, outs, ret, mul_calls=list(s.globals.get("mul_calls", ())),
                           calls=list(s.globals.get("calls", ())),
                           shift_calls=list(s.globals.get("shift_calls", ())),
                           sdiv_calls=list(s.globals.get("sdiv_calls", ()))))
    if not paths:
        raise ExtractError(f"{func}: no path returned")
    return Extraction(func, paths, inputs, time.monotonic() - t0, steps)


@lru_cache(maxsize=None)
def direct_callees(elf: str, name: str) -> tuple[str, ...]:
    """Functions `name` calls or tail-calls (constant targets outside its body),
    by a linear sweep of its VEX blocks."""
    p = project(elf)
    sym = p.loader.find_symbol(int(name, 16) if name.startswith("0x") else name)
    if sym is None:
        return ()
    start, end = sym.rebased_addr, sym.rebased_addr + (sym.size or 0x400)
    out = set()
    a = start
    while a < end:
        try:
            b = p.factory.block(a, max_size=end - a)
        except Exception:
            break
        if b.size == 0:
            break
        irsb = b.vex
        targets = []
        if irsb.jumpkind in ("Ijk_Call", "Ijk_Boring") and irsb.next.tag == "Iex_Const":
            targets.append(irsb.next.con.value)
        for st in irsb.statements:
            if st.tag == "Ist_Exit":
                targets.append(st.dst.value)
        for t in targets:
            if not (start <= t < end):
                s = p.loader.find_symbol(t)
                if s is not None and s.rebased_addr == t and s.name != name:
                    out.add(s.name if s.name else hex(t))  # local (static) functions may be unnamed
        a += b.size
    return tuple(sorted(out))


def callees_transitive(elf: str, name: str) -> list[str]:
    seen: list[str] = []
    todo = list(direct_callees(elf, name))
    while todo:
        n = todo.pop()
        if n in seen or n == name:
            continue
        seen.append(n)
        todo += list(direct_callees(elf, n))
    return sorted(seen)


_IN_PROGRESS: set[tuple[str, str]] = set()


@lru_cache(maxsize=None)
def code_digest(elf: str, name: str) -> str:
    """A digest of `name`'s machine code and everything it calls that does not
    depend on where the linker put it: the function's lifted VEX IR with every
    address inside the function replaced by its offset, every address of
    another function by that function's own digest (recursively; static
    helpers may be unnamed), and every other mapped address by a hash of the
    64 bytes stored there. Equal digests mean equal semantics, so an operator
    compiled identically into two kernels (embedded and cloud) is proved once."""
    import hashlib
    import re

    p = project(elf)
    sym = p.loader.find_symbol(int(name, 16) if name.startswith("0x") else name)
    if sym is None:
        raise ExtractError(f"{name} not found in {elf}")
    start, end = sym.rebased_addr, sym.rebased_addr + (sym.size or 0x400)
    h = hashlib.sha256(p.arch.name.encode())
    hexre = re.compile(r"0x[0-9a-fA-F]+")

    def norm(m):
        v = int(m.group(0), 16)
        if start <= v < end:
            return f"@+{v - start:x}"
        if v < 0x10000 or v >= 1 << 64:
            return m.group(0)
        s = p.loader.find_symbol(v)
        if s is not None and s.rebased_addr == v and s.is_function:
            callee = s.name or hex(v)
            if (elf, callee) in _IN_PROGRESS:  # recursion: name the cycle, do not follow it
                return "fn:<cycle>"
            return "fn:" + code_digest(elf, callee)[:16]
        if p.loader.find_object_containing(v) is None:
            return m.group(0)
        try:
            return "data:" + hashlib.sha256(p.loader.memory.load(v, 64)).hexdigest()[:16]
        except Exception:
            return m.group(0)

    _IN_PROGRESS.add((elf, name))
    try:
        a = start
        while a < end:
            try:
                b = p.factory.block(a, max_size=end - a)
            except Exception:
                break
            if b.size == 0:
                break
            h.update(hexre.sub(norm, str(b.vex)).encode())
            a += b.size
    finally:
        _IN_PROGRESS.discard((elf, name))
    return h.hexdigest()

"""Functional specifications (Hyperkernel-style state machines) in Z3.

The abstract state is the part of the kernel state a call may change:

* the fd table: ``open[i]`` (slot i holds a description) and ``file[i]`` (which
  one); every slot starts empty or with its own description FILE_i;
* the current process's pid, its parent (present or not) and the parent's pid;
* the VM bookkeeping calls (vm_map_anon/vm_unmap) an mmap/munmap makes.

For each final path of the handler (condition ``pc``, return ``ret``, final fd
table ``new[i]``) the checker asks Z3 for a model of
``pc ∧ ¬(ret = spec_ret ∧ ∀i new[i] = spec_new[i])``; UNSAT on every path means
the compiled handler refines the specification (for all arguments and all
initial states satisfying the invariants printed with the results).
"""

from __future__ import annotations

import re

import claripy

from . import abi
from .engine import RET_REG, Ctx
from ..targets import KDIR

SPECS = ("close", "dup", "dup2", "getpid", "getppid", "gettid", "mmap", "munmap")


def _m64(v: int) -> int:
    return v & ((1 << 64) - 1)


def _e(name: str):
    return claripy.BVV(_m64(-abi.errnos()[name]), 64)


def _sel(ctx: Ctx, vals, idx):
    out = claripy.BVV(0, 64)
    for i in reversed(range(len(vals))):
        out = claripy.If(idx == i, vals[i], out)
    return out


def _in_range(ctx: Ctx, fd):
    return claripy.And(claripy.SGE(fd, 0), claripy.SLT(fd, len(ctx.files)))


def _consts() -> dict[str, int]:
    text = (KDIR / "include" / "uapi" / "axiom" / "syscall.h").read_text()
    out = {m.group(1): int(m.group(2), 0) for m in
           re.finditer(r"#define\s+((?:PROT|MAP)_[A-Z]+)\s+(0x[0-9a-fA-F]+|\d+)\b", text)}
    mm = (KDIR / "include" / "mm.h").read_text()
    m = re.search(r"#define\s+MMAP_MAX_LEN\s+\((\d+)ul\s*<<\s*(\d+)\)", mm)
    out["MMAP_MAX_LEN"] = int(m.group(1)) << int(m.group(2))
    return out


def _page(arch: str) -> int:
    text = (KDIR / "arch" / arch / "include" / "asm" / "config.h").read_text()
    m = re.search(r"#define\s+PAGE_SHIFT\s+(\d+)", text)
    return 1 << int(m.group(1)) if m else 4096


def spec(ctx: Ctx, name: str, state):
    """(property, description) for one final state, or None if `name` has no spec."""
    a = ctx.args
    ret = state.registers.load(RET_REG[ctx.archn])
    end = state.arch.memory_endness
    old = ctx.fd_syms
    new = [state.memory.load(ctx.fdt + ctx.lay.fdt_fd + 8 * i, 8, endness=end) for i in range(len(old))]
    opn = [o == 1 for o in ctx.fd_open]
    same = lambda ex: claripy.And(*[n == x for n, x in zip(new, ex)])   # noqa: E731

    if name == "close":
        fd = a[0]
        valid = claripy.And(_in_range(ctx, fd), _sel(ctx, old, fd) != 0)
        exp = [claripy.If(claripy.And(valid, fd == i), claripy.BVV(0, 64), old[i]) for i in range(len(old))]
        return claripy.And(ret == claripy.If(valid, claripy.BVV(0, 64), _e("EBADF")), same(exp))
    if name == "dup":
        fd = a[0]
        valid = claripy.And(_in_range(ctx, fd), _sel(ctx, old, fd) != 0)
        full = claripy.And(*opn)
        low = claripy.BVV(len(old), 64)
        for i in reversed(range(len(old))):
            low = claripy.If(opn[i], low, claripy.BVV(i, 64))
        src = _sel(ctx, old, fd)
        exp = [claripy.If(claripy.And(valid, claripy.Not(full), low == i), src, old[i]) for i in range(len(old))]
        r = claripy.If(claripy.Not(valid), _e("EBADF"), claripy.If(full, _e("EMFILE"), low))
        return claripy.And(ret == r, same(exp))
    if name == "dup2":
        o, n = a[0], a[1]
        valid = claripy.And(_in_range(ctx, o), _in_range(ctx, n), _sel(ctx, old, o) != 0)
        src = _sel(ctx, old, o)
        exp = [claripy.If(claripy.And(valid, n == i), src, old[i]) for i in range(len(old))]
        return claripy.And(ret == claripy.If(valid, n, _e("EBADF")), same(exp))
    if name in ("getpid", "getppid", "gettid"):
        if name == "getpid":
            r = ctx.proc_pid.sign_extend(64 - ctx.proc_pid.size())
        elif name == "gettid":
            r = ctx.thread_tid.sign_extend(64 - ctx.thread_tid.size())
        else:
            r = claripy.If(ctx.has_parent == 1, ctx.parent_pid.sign_extend(64 - ctx.parent_pid.size()),
                           claripy.BVV(0, 64))
        return claripy.And(ret == r, same(old))
    if name in ("mmap", "munmap"):
        return _vm_spec(ctx, name, state, ret, same(old))
    return None


def _vm_spec(ctx: Ctx, name, state, ret, fdt_same):
    c = _consts()
    a = ctx.args
    page = _page(ctx.arch)
    calls = list(state.globals.get("vm_calls", ()))
    ub, ut = ctx.ub, ctx.ut
    novm = ctx.proc_vm == 0
    is_err = claripy.And(claripy.SLT(ret, 0), claripy.SGE(ret, -4095))
    if name == "munmap":
        addr, ln = a[0], a[1]
        bad = claripy.Or(novm, claripy.SLE(ln, 0), (addr & (page - 1)) != 0, claripy.ULT(addr, ub),
                         claripy.UGE(addr, ut), claripy.UGT(ln, ut - addr))
        if not calls:
            # no vm_unmap call on this path: only allowed for bad arguments, answered -EINVAL
            return claripy.And(bad, ret == _e("EINVAL"), fdt_same)
        if len(calls) != 1 or calls[0][0] != "vm_unmap":
            return claripy.false()
        _, s, n, r = calls[0]
        return claripy.And(claripy.Not(bad), s == addr, n == ln, ret == r, fdt_same)
    # mmap(addr, len, prot, flags, fd, off)
    addr, ln, prot, flags, fd, off = a
    fixed = (flags & c["MAP_FIXED"]) != 0
    size = (ln + (page - 1)) & ~(page - 1)
    bad = claripy.Or(
        novm, claripy.SLE(ln, 0), claripy.UGT(ln, c["MMAP_MAX_LEN"]),
        (prot & ~(c["PROT_READ"] | c["PROT_WRITE"] | c["PROT_EXEC"])) != 0,
        (flags & ~(c["MAP_PRIVATE"] | c["MAP_FIXED"] | c["MAP_ANONYMOUS"])) != 0,
        (flags & c["MAP_ANONYMOUS"]) == 0, (flags & c["MAP_PRIVATE"]) == 0,
        claripy.And(fd != _m64(-1), fd != 0), off != 0,
        claripy.And((prot & c["PROT_WRITE"]) != 0, (prot & c["PROT_EXEC"]) != 0),
        claripy.And(fixed, claripy.Or((addr & (page - 1)) != 0, claripy.ULT(addr, ub), claripy.UGE(addr, ut),
                                      claripy.UGT(size, ut - addr))))
    maps = [x for x in calls if x[0] == "vm_map_anon"]
    unmaps = [x for x in calls if x[0] == "vm_unmap"]
    if not calls:
        return claripy.And(claripy.Or(bad, claripy.Not(fixed)), is_err, fdt_same)
    props = [claripy.Not(bad), fdt_same]
    if unmaps:
        # MAP_FIXED first removes what was at [addr, addr+size)
        _, s, n, _r = unmaps[0]
        props += [fixed, s == addr, n == size]
    if maps:
        _, s, n, r = maps[-1]
        props += [n == size, claripy.UGE(s, ub), claripy.ULE(size, ut - s), (s & (page - 1)) == 0,
                  claripy.Or(claripy.Not(fixed), s == addr),
                  claripy.If(r == 0, ret == s, is_err)]
    else:
        props.append(is_err)
    return claripy.And(*props)


def describe(name: str) -> str:
    return {
        "close": "close(fd): valid fd ⇒ slot emptied, 0; else -EBADF; other slots unchanged",
        "dup": "dup(fd): invalid ⇒ -EBADF; table full ⇒ -EMFILE; else lowest free slot j gets fd's "
               "description, returns j; other slots unchanged",
        "dup2": "dup2(o, n): invalid o or n ⇒ -EBADF; else slot n := slot o, returns n; other slots unchanged",
        "getpid": "getpid() = current->pid; no state change",
        "getppid": "getppid() = parent ? parent->pid : 0; no state change",
        "gettid": "gettid() = current thread's tid; no state change",
        "mmap": "mmap: bad arguments ⇒ error and no VM change; MAP_FIXED ⇒ unmap [addr, addr+size) then map "
                "there; success returns the page-aligned start of a mapping of ALIGN_UP(len) bytes inside "
                "the user range",
        "munmap": "munmap(addr, len): bad arguments ⇒ -EINVAL with no VM change; else exactly "
                  "vm_unmap(addr, len) and its result",
    }.get(name, "")

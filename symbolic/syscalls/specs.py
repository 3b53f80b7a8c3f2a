"""Functional specifications (Hyperkernel-style state machines) in Z3.

The abstract state is the part of the kernel state a call may change:

* the fd table: ``open[i]`` (slot i holds a description) and ``file[i]`` (which
  one); every slot starts empty or with its own description FILE_i;
* the current process's pid, its parent (present or not) and the parent's pid;
* the VM bookkeeping calls (vm_map_anon/vm_unmap) an mmap/munmap makes;
* the process tree: the current process's children list (linked through
  ``sibling``), process_list and the pid counter (spawn, waitpid), and the
  status a noreturn call passes down (exit).

Final states are the paths that returned and, for exit and waitpid, the paths
that ended in a noreturn callee (proc_exit) or went to sleep (waitq_sleep):
the specification says which of these may happen and with what effect.

For each final path of the handler (condition ``pc``, return ``ret``, final fd
table ``new[i]``) the checker asks Z3 for a model of
``pc ∧ ¬(ret = spec_ret ∧ ∀i new[i] = spec_new[i])``; UNSAT on every path means
the compiled handler refines the specification (for all arguments and all
initial states satisfying the invariants printed with the results).
"""

from __future__ import annotations

import re
from functools import lru_cache

import claripy

from . import abi
from .engine import RET_REG, Ctx
from ..targets import KDIR

SPECS = ("close", "dup", "dup2", "open", "getpid", "getppid", "gettid", "spawn", "exit", "waitpid", "mmap",
         "munmap")


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


def _low_free(ctx: Ctx, opn):
    low = claripy.BVV(len(opn), 64)
    for i in reversed(range(len(opn))):
        low = claripy.If(opn[i], low, claripy.BVV(i, 64))
    return low


def _sx(v):
    return v.sign_extend(64 - v.size()) if v.size() < 64 else v


def _load(state, addr, size=8):
    return state.memory.load(addr, size, endness=state.arch.memory_endness)


@lru_cache(maxsize=None)
def _proc_consts() -> dict[str, int]:
    out = {}
    text = (KDIR / "include" / "proc.h").read_text()
    m = re.search(r"enum\s+proc_state\s*{([^}]*)}", text)
    for k, v in re.findall(r"(PROC_\w+)\s*=\s*(\d+)", m.group(1) if m else ""):
        out[k] = int(v)
    text = (KDIR / "include" / "uapi" / "axiom" / "syscall.h").read_text()
    out["WNOHANG"] = int(re.search(r"#define\s+WNOHANG\s+(\d+)", text).group(1))
    return out


def spec(ctx: Ctx, name: str, state):
    """The property one final state must satisfy, or None if `name` has no spec."""
    a = ctx.args
    nr = state.globals.get("noreturn")
    if name == "exit":
        return _exit_spec(ctx, state, nr)
    if name == "waitpid":
        return _waitpid_spec(ctx, state, nr)
    if nr is not None:
        return claripy.false()      # the other specified calls always return
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
        low = _low_free(ctx, opn)
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
    if name == "open":
        return _open_spec(ctx, state, ret, old, opn, same)
    if name == "spawn":
        return _spawn_spec(ctx, state, ret)
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


def _open_spec(ctx: Ctx, state, ret, old, opn, same):
    """open(path, flags, mode): on success the lowest free slot gets the NEW
    description vfs_open made and its number is returned, every other slot is
    unchanged; when the table is full that description is dropped again
    (file_put) and -EMFILE returned; any other error leaves the table unchanged
    (the error value itself is the errno check's business)."""
    made = [x for x in state.globals.get("new_files", ()) if x[0] == "vfs_open"]
    puts = list(state.globals.get("file_puts", ()))
    if not made:
        # failed before vfs_open (path copy, no memory): an error and no change
        return claripy.And(claripy.SLT(ret, 0), same(old))
    if len(made) != 1:
        return claripy.false()
    _, r, (nf,) = made[0]
    full = claripy.And(*opn)
    low = _low_free(ctx, opn)
    ok = r == 0
    put = claripy.Or(*[x == nf for x in puts]) if puts else claripy.false()
    exp = [claripy.If(claripy.And(ok, claripy.Not(full), low == i), claripy.BVV(nf, 64), old[i])
           for i in range(len(old))]
    exp_ret = claripy.If(claripy.Not(ok), r, claripy.If(full, _e("EMFILE"), low))
    return claripy.And(ret == exp_ret, same(exp), put == claripy.And(ok, full))


def _exit_spec(ctx: Ctx, state, nr):
    """exit(status): never returns; the process exits through proc_exit with the
    wait status W_EXITCODE(status & 0xff, 0) = (status & 0xff) << 8."""
    if nr is None or nr[0] != "proc_exit":
        return claripy.false()
    st = nr[1][31:0]
    return st == ((ctx.args[0][31:0] & 0xFF) << 8)


def _spawn_spec(ctx: Ctx, state, ret):
    """spawn(path, argv, envp): success returns the pid of a NEW process (the
    zero-filled struct process allocated on this path) that is > 0 and is the
    pid counter's old value (the counter advanced by one); the child is ALIVE,
    has an fd table, its parent is the caller and it is the new head of the
    caller's children list, in front of the old list. An error links nothing
    into the caller's children list."""
    lay = ctx.lay
    po = lay.proc_extra
    c = _proc_consts()
    old_children = ctx.proc_children
    children = _load(state, ctx.proc + po["children"])
    err = claripy.And(claripy.SLT(ret, 0), children == old_children)
    news = [x for x in state.globals.get("kzalloc", ()) if x[1] == lay.proc_size]
    if not news:
        return err
    if len(news) != 1:
        return claripy.false()
    base, _n, got = news[0]
    pid = _load(state, base + lay.proc_pid, lay.int_size)
    props = [got != 0, ret == _sx(pid), claripy.SGT(pid, 0),
             _load(state, base + lay.proc_parent) == ctx.proc,
             children == base, _load(state, base + po["sibling"]) == old_children,
             _load(state, base + po["state"], lay.int_size) == c["PROC_ALIVE"],
             _load(state, base + po["fdt"]) != 0]
    if ctx.next_id is not None:
        addr, v0 = ctx.next_id
        props += [pid == v0, _load(state, addr, lay.int_size) == v0 + 1]
    return claripy.If(claripy.SGE(ret, 0), claripy.And(*props), err)


def _waitpid_spec(ctx: Ctx, state, nr):
    """waitpid(pid, status, options) with the caller's children c0..c(k-1):
    bad options or pid (0, < -1) ⇒ -EINVAL; else the first child (list order)
    that matches (pid == -1 or its pid) and is a ZOMBIE is reaped: its exit
    status is written to *status through copy_to_user when status != NULL
    (a failed copy ⇒ -EFAULT and nothing reaped), it is unlinked from the
    children list and process_list and its pid returned; no matching child ⇒
    -ECHILD; matching children all alive ⇒ 0 with WNOHANG, -EINTR if the caller
    is being killed, otherwise the caller sleeps. Nothing else is written to
    user memory and no other link changes."""
    lay = ctx.lay
    po = lay.proc_extra
    c = _proc_consts()
    pid, ust, opts = ctx.args[0], ctx.args[1], ctx.args[2]
    k, n = ctx.nkids, len(ctx.kids)
    writes = list(state.globals.get("user_writes", ()))
    bad = claripy.Or((opts & ~c["WNOHANG"]) != 0, pid == 0, claripy.SLT(pid, -1))
    match = [claripy.And(claripy.UGT(k, i), claripy.Or(pid == _m64(-1), _sx(ctx.kid_pid[i]) == pid))
             for i in range(n)]
    reap = [claripy.And(match[i], ctx.kid_state[i] == c["PROC_ZOMBIE"]) for i in range(n)]
    first = [claripy.And(reap[i], *[claripy.Not(reap[j]) for j in range(i)]) for i in range(n)]
    anyreap, anymatch = claripy.Or(*reap), claripy.Or(*match)
    rpid, rstatus = claripy.BVV(0, 64), claripy.BVV(0, ctx.kid_status[0].size())
    for i in reversed(range(n)):
        rpid = claripy.If(first[i], _sx(ctx.kid_pid[i]), rpid)
        rstatus = claripy.If(first[i], ctx.kid_status[i], rstatus)

    def links(field, head_addr):
        nxt0 = [claripy.If(claripy.UGT(k, i + 1), claripy.BVV(ctx.kids[i + 1], 64), claripy.BVV(0, 64))
                if i + 1 < n else claripy.BVV(0, 64) for i in range(n)]
        head0 = claripy.If(claripy.UGT(k, 0), claripy.BVV(ctx.kids[0], 64), claripy.BVV(0, 64))
        head = _load(state, head_addr)
        nxt = [_load(state, ctx.kids[i] + po[field]) for i in range(n)]
        unchanged = claripy.And(head == head0, *[x == y for x, y in zip(nxt, nxt0)])
        removed = []
        for j in range(n):
            rj = [head == (nxt0[0] if j == 0 else head0)]
            rj += [nxt[i] == (nxt0[j] if j == i + 1 else nxt0[i]) for i in range(n) if i != j]
            removed.append(claripy.Or(claripy.Not(first[j]), claripy.And(*rj)))
        return unchanged, claripy.And(*removed)

    ch_same, ch_removed = links("sibling", ctx.proc + po["children"])
    from .elfinfo import object_addr
    pl = object_addr(ctx.elf, "process_list", "proc.c")
    pl_same, pl_removed = links("next", pl) if pl is not None else (claripy.true(), claripy.true())
    same, removed = claripy.And(ch_same, pl_same), claripy.And(ch_removed, pl_removed)
    killed = ctx.proc_killed != 0
    nohang = (opts & c["WNOHANG"]) != 0
    if nr is not None:
        # went to sleep: only when some matching child is alive and nothing can be answered
        if nr[0] != "waitq_sleep" or writes:
            return claripy.false()
        return claripy.And(claripy.Not(bad), claripy.Not(anyreap), anymatch,
                           claripy.Not(nohang), claripy.Not(killed), same)
    ret = state.registers.load(RET_REG[ctx.archn])
    if len(writes) > 1:
        return claripy.false()
    if writes:
        u, ln, r, data = writes[0]
        wrote_ok = r == 0
        reaped = claripy.And(claripy.Not(bad), anyreap, ust != 0, u == ust, ln == lay.int_size,
                             (data == rstatus) if data is not None else claripy.false(),
                             claripy.If(wrote_ok, claripy.And(ret == rpid, removed),
                                        claripy.And(ret == _e("EFAULT"), same)))
        return reaped
    # no user write on this path
    return claripy.If(
        bad, claripy.And(ret == _e("EINVAL"), same), claripy.If(
            anyreap, claripy.And(ust == 0, ret == rpid, removed), claripy.And(same, claripy.If(
                claripy.Not(anymatch), ret == _e("ECHILD"), claripy.If(
                    nohang, ret == 0, claripy.And(killed, ret == _e("EINTR")))))))


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
        "open": "open: success ⇒ the lowest free slot gets vfs_open's new description and its number is "
                "returned, other slots unchanged; table full ⇒ -EMFILE and the description dropped (file_put); "
                "other errors ⇒ no slot changes",
        "spawn": "spawn: success returns the pid (> 0, the pid counter's old value) of a new zero-filled ALIVE "
                 "process with an fd table whose parent is the caller and which heads the caller's children "
                 "list; an error links no child",
        "exit": "exit(status): never returns; proc_exit(W_EXITCODE(status & 0xff, 0)) on every path",
        "waitpid": "waitpid(pid, st, opt): bad pid/options ⇒ -EINVAL; the first matching ZOMBIE child is reaped "
                   "(status written through copy_to_user iff st != NULL, -EFAULT reaps nothing; unlinked from "
                   "the children list and process_list; its pid returned); no match ⇒ -ECHILD; else 0 "
                   "(WNOHANG), -EINTR (killed) or sleep; no other link or user write",
        "getpid": "getpid() = current->pid; no state change",
        "getppid": "getppid() = parent ? parent->pid : 0; no state change",
        "gettid": "gettid() = current thread's tid; no state change",
        "mmap": "mmap: bad arguments ⇒ error and no VM change; MAP_FIXED ⇒ unmap [addr, addr+size) then map "
                "there; success returns the page-aligned start of a mapping of ALIGN_UP(len) bytes inside "
                "the user range",
        "munmap": "munmap(addr, len): bad arguments ⇒ -EINVAL with no VM change; else exactly "
                  "vm_unmap(addr, len) and its result",
    }.get(name, "")

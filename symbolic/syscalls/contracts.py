"""Contracts for the callees of the syscall handlers.

Executed for real (their machine code is part of what is proved): the handler,
every static (local) function, and EXECUTED below (the fd-table primitives of
fs/file.c). Every other global function is replaced by a SimProcedure: the
contract in CONTRACTS when there is one (each is printed as an assumption when
used), otherwise a generic havoc (fresh result, no side effects) that is also
printed, and a violation that depends on such a result is reported UNKNOWN.
"""

from __future__ import annotations

from functools import lru_cache

import angr
import claripy

from . import abi
from .engine import ARG_REGS, LAZY_SIZE, RET_ADDR, RET_REG, Ctx, Finding, _check_access, tainted

STATUS_CALLBACKS = {"mkdir", "unlink", "rmdir", "rename", "ftruncate"}
EXECUTED = {"fd_get", "fd_install", "fd_close", "fd_dup2", "proc_wait"}
PANICS = {"panic", "assert_fail"}
NORETURN = {"proc_exit", "thread_exit", "arch_poweroff", "arch_halt"}
ERR_VFS = None  # filled lazily from the ABI header


def _m64(v: int) -> int:
    return v & ((1 << 64) - 1)


def _errs(names_or_set) -> list[int]:
    if isinstance(names_or_set, str):
        return sorted(abi.errset(names_or_set))
    e = abi.errnos()
    return sorted(e[n] for n in names_or_set)


def _status(ret, errs, allow_pos=False, hi=None):
    opts = [ret == _m64(-e) for e in errs]
    if allow_pos:
        opts.append(claripy.SGE(ret, 0) if hi is None else claripy.And(claripy.SGE(ret, 0), claripy.ULE(ret, hi)))
    else:
        opts.append(ret == 0)
    return claripy.Or(*opts)


class Base(angr.SimProcedure):
    ctx: Ctx = None
    cname = ""

    def arg(self, i):
        return self.state.registers.load(ARG_REGS[self.state.arch.name][i])

    def set_ret(self, v):
        if isinstance(v, int):
            v = claripy.BVV(_m64(v), 64)
        if v.size() < 64:
            v = v.sign_extend(64 - v.size())
        self.state.registers.store(RET_REG[self.state.arch.name], v)

    def fresh(self, what, bits=64):
        n = self.state.globals.get("nfresh", 0)
        self.state.globals["nfresh"] = n + 1
        return claripy.BVS(f"{what}.{n}", bits, explicit_name=True)

    def store(self, addr, v):
        self.state.memory.store(addr, v, endness=self.state.arch.memory_endness)

    def load(self, addr, n=8):
        return self.state.memory.load(addr, n, endness=self.state.arch.memory_endness)

    def obj(self, name, size=LAZY_SIZE):
        return self.ctx.new_region(self.state, size, name)

    def use(self, text):
        self.ctx.assume(f"{self.cname}: {text}")

    def run(self):
        self.impl()
        return None

    def impl(self):
        raise NotImplementedError


# -- user copies -------------------------------------------------------------

def _kernel_range(ctx, state, ptr, n, what):
    """The kernel side of a copy must hold n bytes: its first and last byte lie in
    the same kernel object (checked for every n > 0 the path allows)."""
    if not n.symbolic and n.concrete_value == 0:
        return
    nz = claripy.If(n == 0, claripy.BVV(1, 64), n)
    try:
        p0 = state.solver.eval(ptr)
    except Exception:
        return
    reg = ctx.region_of(state, p0)
    if reg is None or reg[2] == "user range":
        inside = claripy.false()
        name = "no kernel object"
    else:
        lo, sz, name = reg
        off = ptr - lo
        inside = claripy.And(claripy.UGE(ptr, lo), claripy.ULT(off, sz), claripy.ULE(nz, sz - off))
    if ctx.report(state, "uptr", f"{what}: the kernel buffer does not hold the length asked for "
                  f"(it may overrun {name})", claripy.Not(inside), extra={"length": n}, dep=n):
        state.add_constraints(inside)


def _urange(ctx, u, n):
    return claripy.And(claripy.UGE(u, ctx.ub), claripy.ULT(u, ctx.ut), claripy.ULE(n, ctx.ut - u))


class CopyFromUser(Base):
    cname = "copy_from_user"

    def impl(self):
        dst, u, n = self.arg(0), self.arg(1), self.arg(2)
        ctx = self.ctx
        self.use("returns 0 or -EFAULT; -EFAULT whenever [usrc, usrc+n) leaves the user range; "
                 "on success dst gets n fresh user bytes (user memory may change between reads)")
        _kernel_range(ctx, self.state, dst, n, "copy_from_user into a kernel buffer")
        ok = self.fresh("user.copy_ok", 1)
        r = claripy.If(claripy.And(ok == 1, _urange(ctx, u, n)), claripy.BVV(0, 64), claripy.BVV(_m64(-14), 64))
        r = claripy.If(n == 0, claripy.BVV(0, 64), r)
        nmax = self.state.solver.max(n)
        if nmax > 0:
            size = min(nmax, 4096)
            # fresh bytes over the largest possible length: bytes past n (and the whole
            # buffer on failure: a fault may hit mid-copy) become arbitrary too, an
            # over-approximation that keeps the store cheap
            self.state.memory.store(dst, self.fresh("user.bytes", size * 8))
        self.set_ret(r)


class CopyToUser(Base):
    cname = "copy_to_user"

    def impl(self):
        u, src, n = self.arg(0), self.arg(1), self.arg(2)
        ctx = self.ctx
        self.use("returns 0 or -EFAULT; -EFAULT whenever [udst, udst+n) leaves the user range")
        _kernel_range(ctx, self.state, src, n, "copy_to_user from a kernel buffer")
        ok = self.fresh("user.copy_ok", 1)
        r = claripy.If(claripy.And(ok == 1, _urange(ctx, u, n)), claripy.BVV(0, 64), claripy.BVV(_m64(-14), 64))
        r = claripy.If(n == 0, claripy.BVV(0, 64), r)
        writes = tuple(self.state.globals.get("user_writes", ()))
        # the bytes written (for the specifications), when the length is a small constant
        data = self.state.memory.load(src, n.concrete_value, endness=self.state.arch.memory_endness) \
            if not n.symbolic and 0 < n.concrete_value <= 64 else None
        self.state.globals["user_writes"] = writes + ((u, n, r, data),)
        self.set_ret(r)


class StrncpyFromUser(Base):
    cname = "strncpy_from_user"

    def impl(self):
        dst, u, mx = self.arg(0), self.arg(1), self.arg(2)
        ctx = self.ctx
        self.use("returns the string length L < max (dst[0..L] copied, dst[L] = 0), -EFAULT "
                 "(always when usrc is outside the user range) or -ENAMETOOLONG (max bytes written)")
        _kernel_range(ctx, self.state, dst, mx, "strncpy_from_user into a kernel buffer")
        length = self.fresh("user.strlen")
        kind = self.fresh("user.strkind", 2)
        inr = claripy.And(claripy.UGE(u, ctx.ub), claripy.ULT(u, ctx.ut))
        self.state.add_constraints(claripy.Or(kind != 0, claripy.ULT(length, mx)))
        r = claripy.If(claripy.Or(mx == 0, kind == 2), claripy.BVV(_m64(-36), 64),
                       claripy.If(claripy.And(inr, kind == 0), length, claripy.BVV(_m64(-14), 64)))
        mxv = self.state.solver.max(mx)
        size = min(mxv, 4096)
        if size:
            self.state.memory.store(dst, self.fresh("user.bytes", size * 8))
        self.set_ret(r)


# -- kernel services ---------------------------------------------------------

class CurrentProcess(Base):
    cname = "current_process"

    def impl(self):
        self.use("a system call runs in process context: returns the (model) current process")
        self.set_ret(self.ctx.proc)


class CurrentThread(Base):
    cname = "current_thread"

    def impl(self):
        self.use("a system call runs in a user thread: returns the (model) current thread")
        self.set_ret(self.ctx.thread)


class CpuLocal(Base):
    cname = "arch_cpu_local"

    def impl(self):
        self.use("returns this CPU's struct cpu, whose `current` is the (model) current thread")
        self.set_ret(self.ctx.cpu)


class NoOp(Base):
    text = "no effect on the modelled state"

    def impl(self):
        self.use(self.text)
        self.set_ret(0)


class Identity(Base):
    def impl(self):
        self.use("returns its argument (reference counts are not modelled)")
        self.set_ret(self.arg(0))


class Kmalloc(Base):
    cname = "kmalloc"

    def impl(self):
        n = self.arg(0)
        self.use("returns NULL or a fresh object of exactly n bytes")
        size = self.state.solver.max(n)
        if size > 1 << 20:
            size = 1 << 20
        base = self.obj(f"{self.cname}({'sym' if n.symbolic else n.concrete_value})", max(int(size), 1))
        self.base = base
        if n.symbolic:
            # the object is as large as this particular n
            self.state.globals["kmalloc_sym"] = tuple(self.state.globals.get("kmalloc_sym", ())) + ((base, n),)
        fail = self.fresh("kmalloc.fail", 1)
        self.set_ret(claripy.If(fail == 1, claripy.BVV(0, 64), claripy.BVV(base, 64)))


class Kzalloc(Kmalloc):
    cname = "kzalloc"

    def impl(self):
        n = self.arg(0)     # before the result overwrites it (x0/a0 are argument and result)
        super().impl()
        self.use("the object is zero-filled")
        ret = self.state.registers.load(RET_REG[self.state.arch.name])
        if not n.symbolic and 0 < n.concrete_value <= 4096:
            base = self.base
            self.state.memory.store(base, claripy.BVV(0, 8 * n.concrete_value))
            self.state.globals["kzalloc"] = tuple(self.state.globals.get("kzalloc", ())) + (
                (base, n.concrete_value, ret),)


class NewObject(Base):
    """Returns NULL or a fresh object (fdtable_create/fdtable_clone...)."""
    size = LAZY_SIZE

    def impl(self):
        self.use("returns NULL or a fresh object")
        base = self.obj(f"{self.cname}()", self.size)
        fail = self.fresh(f"k.{self.cname}_fail", 1)
        self.set_ret(claripy.If(fail == 1, claripy.BVV(0, 64), claripy.BVV(base, 64)))


class Strrchr(Base):
    cname = "strrchr"

    def impl(self):
        s = self.arg(0)
        self.use("returns NULL or a pointer into the string s[0..AX_PATH_MAX)")
        off = self.fresh("k.strrchr_off")
        self.state.add_constraints(claripy.ULT(off, abi_const("AX_PATH_MAX")))
        none = self.fresh("k.strrchr_none", 1)
        self.set_ret(claripy.If(none == 1, claripy.BVV(0, 64), s + off))


class Fresh(Base):
    bits = 64
    text = "returns an arbitrary value"

    def impl(self):
        self.use(self.text)
        self.set_ret(self.fresh(f"k.{self.cname}", self.bits))


class Status(Base):
    errs = "VFS"
    outs: tuple = ()   # argument indices that receive a fresh kernel object pointer on success
    new_files = False  # the objects are new open file descriptions (reference count 1)
    text = ""

    def impl(self):
        errs = _errs(self.errs)
        r = self.fresh(f"k.{self.cname}")
        self.state.add_constraints(_status(r, errs))
        if self.new_files:
            self.state.globals["new_files"] = tuple(self.state.globals.get("new_files", ())) + (
                (self.cname, r, tuple(self.obj(f"{self.cname} out{i}") for i in self.outs)),)
        for k, i in enumerate(self.outs):
            ptr = self.state.globals["new_files"][-1][2][k] if self.new_files else self.obj(f"{self.cname} out{i}")
            self.store(self.arg(i), claripy.BVV(ptr, 64))
            if self.new_files:
                # a new open file description holds exactly the caller's reference
                self.state.memory.store(ptr + self.ctx.lay.file_refcount, claripy.BVV(1, 32),
                                        endness=self.state.arch.memory_endness)
        what = (f"returns 0 or -errno in @{self.errs}" if isinstance(self.errs, str) else
                f"returns 0 or one of -{'/-'.join(self.errs)}")
        if self.outs:
            what += (f"; sets *arg{list(self.outs)} to fresh " +
                     ("open file descriptions with reference count 1" if self.new_files else "objects"))
        self.use(self.text or what)
        self.set_ret(r)


class VfsLookupParent(Base):
    cname = "vfs_lookup_parent"

    def impl(self):
        r = self.fresh("k.vfs_lookup_parent")
        self.state.add_constraints(_status(r, _errs("VFS")))
        self.store(self.arg(1), claripy.BVV(self.obj("parent dir"), 64))
        self.store(self.arg(2), claripy.BVV(self.obj("last name"), 64))
        ln = self.fresh("k.namelen")
        self.state.add_constraints(claripy.ULE(ln, 255))
        self.store(self.arg(3), ln)
        self.state.memory.store(self.arg(4), self.fresh("k.slash", 8))
        self.use("returns 0 or -errno in @VFS; on success *dir is a fresh vnode, *name points to a name of "
                 "*len <= 255 bytes, *slash is arbitrary")
        self.set_ret(r)


class VfsGetattr(Base):
    cname = "vfs_getattr"

    def impl(self):
        self.use("fills the 56-byte struct ax_stat with arbitrary values")
        self.state.memory.store(self.arg(1), self.fresh("k.stat", 56 * 8))
        self.set_ret(0)


class VfsCwdGet(Base):
    cname = "vfs_cwd_get"

    def impl(self):
        self.use("returns NULL or a referenced vnode")
        f = self.fresh("k.cwd_null", 1)
        self.set_ret(claripy.If(f == 1, claripy.BVV(0, 64), claripy.BVV(self.obj("cwd"), 64)))


class VfsPathOf(Base):
    cname = "vfs_path_of"

    def impl(self):
        n = self.arg(2)
        _kernel_range(self.ctx, self.state, self.arg(1), n, "vfs_path_of buffer")
        r = self.fresh("k.path_len")
        self.state.add_constraints(claripy.Or(claripy.And(claripy.SGE(r, 0), claripy.ULT(r, n)),
                                              *[r == _m64(-e) for e in _errs("VFS")]))
        self.use("returns the path length L < n (buf[0..L] written) or -errno in @VFS")
        self.set_ret(r)


class VmFindFree(Base):
    cname = "vm_find_free"

    def impl(self):
        ctx, size = self.ctx, self.arg(1)
        r = self.fresh("k.vm_free")
        self.state.add_constraints(claripy.Or(r == 0, claripy.And(claripy.UGE(r, ctx.ub), claripy.ULT(r, ctx.ut), r & 0xFFF == 0,
                                                                   claripy.ULE(size, ctx.ut - r))))
        self.use("returns 0 or a page-aligned start with [start, start+len) inside the user range")
        self.set_ret(r)


class VmCall(Base):
    errs = ("ENOMEM",)

    def impl(self):
        calls = tuple(self.state.globals.get("vm_calls", ()))
        r = self.fresh(f"k.{self.cname}")
        self.state.add_constraints(_status(r, _errs(self.errs)))
        self.state.globals["vm_calls"] = calls + ((self.cname, self.arg(1), self.arg(2), r),)
        self.use(f"records the call (for the mmap/munmap specification); returns 0 or "
                 f"-{'/-'.join(self.errs)}")
        self.set_ret(r)


class NoReturn(Base):
    NO_RET = True

    def impl(self):
        self.use("does not return")
        # remembered for the specifications (exit: the status passed down)
        self.state.globals["noreturn"] = (self.cname, self.arg(0))
        self.exit(0)


class WaitqSleep(Base):
    """A sleep ends the path: after the wake-up the caller re-reads all the state
    it looks at under its lock, which is the same computation from a kernel state
    that the symbolic initial state already covers."""
    NO_RET = True
    cname = "waitq_sleep"

    def impl(self):
        self.use("sleeping ends the path: the loop iteration after a wake-up re-reads the state under the "
                 "lock, i.e. it is a fresh call from an (arbitrary) kernel state the initial state covers")
        self.state.globals["noreturn"] = (self.cname, self.arg(0))
        self.exit(0)


class FilePut(Base):
    cname = "file_put"

    def impl(self):
        self.use("drops one reference (recorded for the open specification; the release is not modelled)")
        self.state.globals["file_puts"] = tuple(self.state.globals.get("file_puts", ())) + (self.arg(0),)
        self.set_ret(0)


class Panic(Base):
    NO_RET = True

    def impl(self):
        self.ctx.report(self.state, "nopanic", f"{self.cname} is reachable from user input")
        self.exit(0)


class Havoc(Base):
    def impl(self):
        self.ctx.assume(f"{self.cname}: NO CONTRACT — result taken as arbitrary (havoc), side effects ignored")
        self.set_ret(self.fresh(f"havoc.{self.cname}"))


def _mk(base, name, **attrs):
    return type(f"C_{name}", (base,), {"cname": name, **attrs})


class _MemOp(Base):
    """memcpy/memmove/memset with their C semantics for lengths up to 4 KiB."""
    kind = "memcpy"

    def impl(self):
        dst, src, n = self.arg(0), self.arg(1), self.arg(2)
        ctx = self.ctx
        ctx.assume(f"{self.cname}: C semantics, symbolic lengths up to 4 KiB")
        _kernel_range(ctx, self.state, dst, n, f"{self.cname} destination")
        if n.symbolic or dst.symbolic:
            # A symbolic length or destination (a record appended to a bounce buffer)
            # would be stored byte by byte at every possible address. _kernel_range
            # proved [dst, dst+n) inside one object: when that is a small heap or
            # data object, every byte of it becomes arbitrary instead (an
            # over-approximation: values read back later are unconstrained).
            reg = ctx.region_of(self.state, self.state.solver.eval(dst))
            if reg is not None and reg[1] <= 4096 and reg[2] not in ("kernel stack", "user range") \
                    and not reg[2].startswith(("fd table", "current ", "open file", "parent ", "child ")):
                ctx.assume(f"{self.cname} with a symbolic length or destination: every byte of the destination "
                           "object becomes arbitrary (over-approximation)")
                lo, size, _ = reg
                self.state.memory.store(lo, self.fresh(f"k.{self.cname}_havoc", 8 * size))
                self.set_ret(dst)
                return
        nmax = self.state.solver.max(n)
        if nmax > 4096:
            ctx.incomplete.append(f"{self.cname} with a length up to {nmax} (> 4 KiB) at 0x{self.state.addr:x}")
            nmax = 4096
        if nmax:
            if self.kind == "memset":
                data = claripy.Concat(*([src[7:0]] * nmax))
            else:
                data = self.state.memory.load(src, nmax)
            if n.symbolic:
                self.state.memory.store(dst, data, size=n)
            else:
                self.state.memory.store(dst, data)
        self.set_ret(dst)


CONTRACTS = {
    "copy_from_user": CopyFromUser, "copy_to_user": CopyToUser, "strncpy_from_user": StrncpyFromUser,
    "current_process": CurrentProcess, "current_thread": CurrentThread, "arch_cpu_local": CpuLocal,
    "kmalloc": Kmalloc,
    "vfs_lookup_parent": VfsLookupParent, "vfs_getattr": VfsGetattr, "vfs_cwd_get": VfsCwdGet,
    "vfs_path_of": VfsPathOf, "vm_find_free": VmFindFree,
    "kzalloc": Kzalloc, "strrchr": Strrchr,
    "fdtable_clone": type("C_fdtable_clone", (NewObject,), {"cname": "fdtable_clone"}),
    "fdtable_create": type("C_fdtable_create", (NewObject,), {"cname": "fdtable_create"}),
}
for _n in ("kfree", "spin_lock", "spin_unlock", "vnode_put", "file_pos_unlock", "vfs_cwd_set",
           "sched_yield", "arch_irq_restore", "waitq_wake_all", "kprintf", "vm_destroy", "arch_aspace_switch",
           "arch_tf_init_user", "sched_wake", "bpf_proc_exec", "fdtable_release", "bpf_run_hook",
           "waitq_init"):
    CONTRACTS[_n] = _mk(NoOp, _n, text="no effect on the modelled state (locks, reference counts and "
                                           "printing are not modelled)")
CONTRACTS["file_ref"] = _mk(Identity, "file_ref")
CONTRACTS["file_put"] = FilePut
CONTRACTS["waitq_sleep"] = WaitqSleep
for _n, _t in (("file_pos_lock", "returns the (arbitrary) file offset"), ("arch_time_ns", "returns any time"),
               ("arch_irq_save", "returns arbitrary flags"), ("build_id_hex", "returns a string pointer"),
               ("arch_paging_mode", "returns a string pointer")):
    CONTRACTS[_n] = _mk(Fresh, _n, text=_t)
for _n, _outs in (("vfs_open", (3,)), ("vfs_lookup", (1,)), ("vfs_lookup_component", (3,))):
    CONTRACTS[_n] = _mk(Status, _n, outs=_outs, errs="VFS", new_files=_n == "vfs_open")
CONTRACTS["pipe_create"] = _mk(Status, "pipe_create", outs=(0, 1), errs=("ENOMEM", "ENFILE"), new_files=True)
CONTRACTS["sched_sleep_ns"] = _mk(Status, "sched_sleep_ns", errs=("EINTR",))
CONTRACTS["proc_kill"] = _mk(Status, "proc_kill", errs=("ESRCH",))
CONTRACTS["vm_unmap"] = _mk(VmCall, "vm_unmap", errs=("ENOMEM",))
CONTRACTS["vm_map_anon"] = _mk(VmCall, "vm_map_anon", errs=("ENOMEM", "EEXIST"))


class BpfCmd(Base):
    cname = "bpf_cmd"

    def impl(self):
        r = self.fresh("k.bpf_cmd")
        self.state.add_constraints(_status(r, _errs("BPF"), allow_pos=True))
        self.use("returns >= 0 or -errno in @BPF; touches user memory only through the bpf_uaccess "
                 "callbacks (copy_from_user/copy_to_user); kernel/bpf is proved by `prove verifier`")
        self.set_ret(r)


class ProcSpawn(Base):
    errs = "PROC"

    def impl(self):
        r = self.fresh(f"k.{self.cname}")
        self.state.add_constraints(_status(r, _errs("PROC"), allow_pos=True, hi=0x7FFFFFFF))
        self.use("returns a pid in [0, INT_MAX] or -errno in @PROC (proc.c/elf.c internals not analysed here)")
        self.set_ret(r)


class Snprintf(Base):
    cname = "snprintf"

    def impl(self):
        buf, n = self.arg(0), self.arg(1)
        self.use("writes at most n bytes (NUL-terminated) to buf")
        _kernel_range(self.ctx, self.state, buf, n, "snprintf destination")
        nv = self.state.solver.max(n)
        if 0 < nv <= 4096:
            self.state.memory.store(buf, self.fresh("k.fmt", nv * 8))
        self.set_ret(self.fresh("k.snprintf_len", 32))


class Strlcpy(Base):
    cname = "strlcpy"

    def impl(self):
        dst, n = self.arg(0), self.arg(2)
        self.use("writes at most n bytes (NUL-terminated) to dst")
        nv = self.state.solver.max(n)
        if 0 < nv <= 4096:
            self.state.memory.store(dst, self.fresh("k.str", nv * 8))
        self.set_ret(self.fresh("k.strlcpy_len"))


CONTRACTS.update({"bpf_cmd": BpfCmd, "snprintf": Snprintf, "strlcpy": Strlcpy})
for _n in ("proc_spawn_user", "proc_execve", "thread_create_user", "proc_spawn_kernel"):
    CONTRACTS[_n] = _mk(ProcSpawn, _n)

_LIBC = angr.SIM_PROCEDURES["libc"]
LIBC = {"memcpy": _mk(_MemOp, "memcpy"), "memmove": _mk(_MemOp, "memmove"),
        "memset": _mk(_MemOp, "memset", kind="memset"),
        "memcmp": _LIBC["memcmp"], "strlen": _LIBC["strlen"], "strnlen": _LIBC["strnlen"]}


class ThreadAlloc(Base):
    cname = "thread_alloc"

    def impl(self):
        self.use("returns NULL or a fresh thread whose tid is > 0")
        t = self.obj("new thread", self.ctx.lay.thread_size)
        tid = self.fresh("k.new_tid", 8 * self.ctx.lay.int_size)
        self.state.add_constraints(claripy.SGT(tid, 0))
        self.state.memory.store(t + self.ctx.lay.thread_tid, tid, endness=self.state.arch.memory_endness)
        fail = self.fresh("k.thread_alloc_fail", 1)
        self.set_ret(claripy.If(fail == 1, claripy.BVV(0, 64), claripy.BVV(t, 64)))


@lru_cache(maxsize=None)
def _user_entry_argc(elf: str) -> tuple[int, int]:
    from axiomdbg.core.dwarf import TypeIndex

    st = TypeIndex(elf).struct("user_entry")
    return st.offsetof("argc"), st.member("argc").type.sizeof


def abi_const(name: str) -> int:
    import re

    m = re.search(rf"#define\s+{name}\s+(\d+)", abi.SYSCALL_H.read_text())
    return int(m.group(1))


class LoadProgram(Base):
    cname = "load_program"

    def impl(self):
        r = self.fresh("k.load_program")
        self.state.add_constraints(_status(r, _errs("PROC")))
        self.store(self.arg(2), claripy.BVV(self.obj("new vm"), 64))
        self.state.memory.store(self.arg(3), self.fresh("k.user_entry", 64 * 8))
        off, size = _user_entry_argc(self.ctx.elf)
        argc = self.fresh("k.argc", 8 * size)
        self.state.add_constraints(claripy.SGE(argc, 0), claripy.SLE(argc, abi_const("AX_ARGV_MAX")))
        self.state.memory.store(self.arg(3) + off, argc, endness=self.state.arch.memory_endness)
        self.use("(proc.c/elf.c) returns 0 or -errno in @PROC; on success *vm is a fresh address space and "
                 "*ue is filled with 0 <= ue->argc <= AX_ARGV_MAX; reads the program through the VFS only")
        self.set_ret(r)


# Static functions of proc.c (helper code of spawn/execve, analysed with proc.c's
# own proofs, not here): replaced by contracts although they are local.
LOCAL_CONTRACTS = {
    "args_from_user": _mk(Status, "args_from_user", errs="PROC",
                          text="(proc.c) returns 0 or -errno in @PROC; reads argv/envp only through "
                               "copy_from_user/strncpy_from_user, bounded by AX_ARGV_MAX/AX_ARG_MAX"),
    "load_program": LoadProgram,
    "thread_alloc": ThreadAlloc,
}


@lru_cache(maxsize=None)
def _globals(elf: str) -> tuple[tuple[str, int], ...]:
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as fh:
        st = ELFFile(fh).get_section_by_name(".symtab")
        return tuple((s.name, s["st_value"]) for s in st.iter_symbols()
                     if s["st_info"]["type"] == "STT_FUNC" and s.name and
                     (s["st_info"]["bind"] == "STB_GLOBAL" or s.name in LOCAL_CONTRACTS))


def install(ctx: Ctx) -> None:
    """Hook every global function but the handler and EXECUTED."""
    p = ctx.p
    from angr.procedures.stubs.PathTerminator import PathTerminator

    p.hook(RET_ADDR, PathTerminator(), replace=True)
    for name, addr in _globals(ctx.elf):
        if addr == ctx.handler.addr or name in EXECUTED:
            if p.is_hooked(addr):
                p.unhook(addr)
            continue
        if name in PANICS:
            cls = _mk(Panic, name)
        elif name in NORETURN:
            cls = _mk(NoReturn, name)
        elif name in CONTRACTS:
            cls = CONTRACTS[name]
        elif name in LOCAL_CONTRACTS:
            cls = LOCAL_CONTRACTS[name]
        elif name in LIBC:
            cls = LIBC[name]
            if not issubclass(cls, Base):
                cls = type(f"L_{name}", (cls,), {"ctx": ctx})
        else:
            cls = _mk(Havoc, name)
        proc = cls()
        proc.ctx = ctx
        if name in PANICS or name in NORETURN:
            proc.NO_RET = True
        p.hook(addr, proc, replace=True)


class _Recorder:
    pass


def indirect_call(ctx: Ctx, s):
    """A call through a function pointer loaded from kernel state (f->ops->read...).
    It may not be NULL; the callee is a file-system callback with the contract
    'returns -errno in @VFS or a value in [0, its third argument]'."""
    ip = s.regs.ip
    if ctx.report(s, "nopanic", "call through a function pointer that may be NULL", ip == 0, dep=ip):
        s.add_constraints(ip != 0)
        if not s.satisfiable():
            return None
    if tainted(ip):
        ctx.report(s, "uptr", "call through a function pointer computed from user input", claripy.true())
        return None
    archn = s.arch.name
    if ctx.handler.name in STATUS_CALLBACKS:
        ctx.assume("file-system callbacks (vnode ops mkdir/unlink/rmdir/rename/truncate) return 0 or -errno "
                   "in @VFS and write no memory the handler reads")
    else:
        ctx.assume("file-system callbacks (file/vnode ops such as read, write, lseek, readdir) return -errno "
                   "in @VFS or a value in [0, min(third argument, INT_MAX)] and write only the kernel "
                   "buffers they are given")
    ctx.hooked.add("<indirect>")
    end = s.arch.memory_endness
    if archn == "AMD64":
        ret = s.memory.load(s.regs.rsp, 8, endness=end)
        s.regs.rsp = s.regs.rsp + 8
    elif archn == "AARCH64":
        ret = s.regs.x30
    else:
        ret = s.regs.ra
    n = s.globals.get("nfresh", 0)
    s.globals["nfresh"] = n + 1
    r = claripy.BVS(f"k.indirect.{n}", 64, explicit_name=True)
    third = s.registers.load(ARG_REGS[archn][2])
    if ctx.handler.name in STATUS_CALLBACKS:
        ok = r == 0
    else:
        ok = claripy.And(claripy.SGE(r, 0), claripy.ULE(r, third), claripy.ULE(r, 0x7FFFFFFF))
    s.add_constraints(claripy.Or(ok, *[r == _m64(-e) for e in _errs("VFS")]))
    s.registers.store(RET_REG[archn], r)
    s.regs.ip = ret
    if s.regs.ip.symbolic:
        return None
    s.history.jumpkind = "Ijk_Ret"
    return s

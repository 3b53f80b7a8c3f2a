"""ctypes binding of the host build of kernel/bpf (build/host/libaxiombpf.so).

The library is built on demand with ``make -f kernel/bpf/host.mk`` when it is
missing or older than its sources. Everything here calls the same C code the
kernel runs: the verifier, the interpreter, maps, helpers and the ``bpf_cmd``
object layer (with host pointers in the attribute).
"""

from __future__ import annotations

import ctypes
import os
import struct
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildError, LoadError, RunError

ROOT = Path(__file__).resolve().parents[2]
SRC_DIR = ROOT / "kernel" / "bpf"
BUILD_DIR = ROOT / "build" / "host"
LIB_PATH = BUILD_DIR / "libaxiombpf.so"

# program types, map types, commands, profiles (kernel/include/uapi/axiom/bpf.h)
PROG_TYPES = {
    "mem": 64, "syscall_enter": 65, "syscall_exit": 66, "sched_switch": 67,
    "page_fault": 68, "proc_exec": 69, "proc_exit": 70, "timer_tick": 71,
}
ATTACH_TYPES = {name: num for name, num in PROG_TYPES.items() if name != "mem"}
MAP_TYPES = {"hash": 1, "array": 2, "percpu_array": 6, "ringbuf": 27}
PROFILES = {"embedded": 1, "cloud": 2}
CMD = {
    "MAP_CREATE": 0, "MAP_LOOKUP_ELEM": 1, "MAP_UPDATE_ELEM": 2, "MAP_DELETE_ELEM": 3,
    "MAP_GET_NEXT_KEY": 4, "PROG_LOAD": 5, "PROG_ATTACH": 8, "PROG_DETACH": 9,
    "PROG_TEST_RUN": 10, "PROG_GET_NEXT_ID": 11, "MAP_GET_NEXT_ID": 12,
    "PROG_GET_FD_BY_ID": 13, "MAP_GET_FD_BY_ID": 14, "OBJ_GET_INFO_BY_FD": 15,
    "MAP_LOOKUP_AND_DELETE_ELEM": 21, "OBJ_CLOSE": 0x100,
}
F_UNVERIFIED = 1 << 31
ERRNO = {1: "EPERM", 2: "ENOENT", 7: "E2BIG", 9: "EBADF", 12: "ENOMEM", 13: "EACCES",
         14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 22: "EINVAL", 28: "ENOSPC", 34: "ERANGE",
         38: "ENOSYS"}


def errno_name(err: int) -> str:
    return ERRNO.get(abs(err), str(abs(err)))


class Tnum(ctypes.Structure):
    _fields_ = [("value", ctypes.c_uint64), ("mask", ctypes.c_uint64)]


class Scalar(ctypes.Structure):
    """struct bpf_scalar (kernel/bpf/bpf_range.h)."""

    _fields_ = [
        ("t", Tnum),
        ("umin", ctypes.c_uint64), ("umax", ctypes.c_uint64),
        ("smin", ctypes.c_int64), ("smax", ctypes.c_int64),
        ("u32min", ctypes.c_uint32), ("u32max", ctypes.c_uint32),
        ("s32min", ctypes.c_int32), ("s32max", ctypes.c_int32),
    ]

    def __repr__(self) -> str:
        return (f"Scalar(t=({self.t.value:#x};{self.t.mask:#x}) u=[{self.umin},{self.umax}] "
                f"s=[{self.smin},{self.smax}] u32=[{self.u32min},{self.u32max}] "
                f"s32=[{self.s32min},{self.s32max}])")


_lock = threading.Lock()
_libs: dict[str, ctypes.CDLL] = {}


def _stale(lib: Path) -> bool:
    if not lib.exists():
        return True
    mtime = lib.stat().st_mtime
    deps = list(SRC_DIR.glob("*.[ch]")) + [ROOT / "kernel/include/uapi/axiom/bpf.h"]
    return any(p.stat().st_mtime > mtime for p in deps if p.exists())


def build(target: Path = LIB_PATH) -> Path:
    """Build ``target`` (a host.mk output) if it is missing or out of date."""
    if _stale(target):
        # Several processes (pytest-xdist workers, parallel CLI runs) may want the
        # library at once: one builds while the others wait, so nobody loads a
        # half-written file ("file too short") or execs one being written.
        import fcntl
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target.parent / f".lock-{target.name}", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if _stale(target):
                r = subprocess.run(["make", "-s", "-f", str(SRC_DIR / "host.mk"), str(target)],
                                   cwd=ROOT, capture_output=True, text=True)
                if r.returncode != 0:
                    last = (r.stderr or r.stdout).strip().splitlines()
                    raise BuildError(f"building {target.name} failed: {last[-1] if last else 'make error'}")
    return target


def load_library(path: Path = LIB_PATH) -> ctypes.CDLL:
    with _lock:
        key = str(path)
        if key not in _libs:
            lib = ctypes.CDLL(str(build(path)))
            _declare(lib)
            _libs[key] = lib
        return _libs[key]


def _declare(lib: ctypes.CDLL) -> None:
    c = ctypes
    P = c.POINTER(Scalar)
    lib.axbpf_verify.argtypes = [c.c_void_p, c.c_uint32, c.c_uint32, c.c_uint32, c.c_uint32,
                                 c.c_char_p, c.c_size_t, c.c_uint32, c.POINTER(c.c_uint32)]
    lib.axbpf_verify.restype = c.c_int
    lib.axbpf_run_mem.argtypes = [c.c_void_p, c.c_uint32, c.c_void_p, c.c_uint32, c.c_int,
                                  c.c_uint32, c.POINTER(c.c_uint64), c.c_char_p, c.c_size_t,
                                  c.POINTER(c.c_int)]
    lib.axbpf_run_mem.restype = c.c_int
    lib.axbpf_cmd.argtypes = [c.c_int, c.c_void_p]
    lib.axbpf_cmd.restype = c.c_long
    lib.axbpf_last_error.restype = c.c_char_p
    lib.axbpf_set_profile.argtypes = [c.c_uint32]
    lib.axbpf_host_set_cpu.argtypes = [c.c_uint32, c.c_uint32]
    lib.axbpf_host_set_pid_tgid.argtypes = [c.c_uint64]
    lib.axbpf_host_take_trace.argtypes = [c.c_char_p, c.c_size_t]
    lib.axbpf_host_take_trace.restype = c.c_size_t
    lib.axbpf_run_hook.argtypes = [c.c_uint32, c.c_void_p, c.c_size_t]
    lib.axbpf_run_hook.restype = c.c_long
    for name in ("add", "sub", "mul", "div", "mod", "sdiv", "smod", "and", "or", "xor",
                 "lsh", "rsh", "arsh"):
        for w in ("64", "32"):
            f = getattr(lib, f"bpf_range_{name}{w}")
            f.argtypes, f.restype = [P, P, P], None
    for name in ("neg64", "neg32", "mov64", "mov32", "le16", "le32", "le64", "be16", "be32",
                 "be64", "bswap16", "bswap32", "bswap64", "movsx64_s8", "movsx64_s16",
                 "movsx64_s32", "movsx32_s8", "movsx32_s16"):
        f = getattr(lib, f"bpf_range_{name}")
        f.argtypes, f.restype = [P, P], None
    lib.bpf_range_sync.argtypes, lib.bpf_range_sync.restype = [P], None
    lib.bpf_range_const.argtypes, lib.bpf_range_const.restype = [P, c.c_uint64], None
    lib.bpf_range_unknown.argtypes, lib.bpf_range_unknown.restype = [P], None
    lib.bpf_range_contains.argtypes, lib.bpf_range_contains.restype = [P, c.c_uint64], c.c_bool
    lib.bpf_range_is_empty.argtypes, lib.bpf_range_is_empty.restype = [P], c.c_bool
    lib.bpf_range_subset.argtypes, lib.bpf_range_subset.restype = [P, P], c.c_bool
    lib.bpf_range_join.argtypes, lib.bpf_range_join.restype = [P, P, P], None
    lib.bpf_range_jmp_refine.argtypes = [c.c_uint, c.c_bool, P, P, P, P, P, P]
    lib.bpf_range_jmp_refine.restype = c.c_int


# ------------------------------------------------------------------ verifier

@dataclass
class Verdict:
    ok: bool
    errno: int
    log: str
    processed: int

    @property
    def reason(self) -> str:
        """The first line of the log (the rejection reason)."""
        for line in self.log.splitlines():
            if line.strip():
                return line.strip()
        return "" if self.ok else errno_name(self.errno)


def verify(prog: bytes, prog_type: str | int = "mem", profile: str | int = "embedded",
           log_level: int = 1, mem_size: int = 0, log_size: int = 1 << 20) -> Verdict:
    """Run the kernel's verifier on ``prog``."""
    lib = load_library()
    ptype = PROG_TYPES.get(prog_type, prog_type) if isinstance(prog_type, str) else prog_type
    prof = PROFILES[profile] if isinstance(profile, str) else profile
    log = ctypes.create_string_buffer(log_size)
    processed = ctypes.c_uint32(0)
    buf = ctypes.create_string_buffer(bytes(prog), max(len(prog), 1))
    err = lib.axbpf_verify(buf, len(prog) // 8, ptype, prof, log_level, log, log_size, mem_size,
                           ctypes.byref(processed))
    return Verdict(err == 0, -err, log.value.decode(errors="replace"), processed.value)


def run(prog: bytes, mem: bytes = b"", verify: bool = False, profile: str = "embedded") -> tuple[int, bytes]:
    """Load ``prog`` as an AXIOM_MEM program, run it once on a copy of ``mem``.

    Returns (r0, memory after the run). Raises LoadError / RunError."""
    lib = load_library()
    code = ctypes.create_string_buffer(bytes(prog), max(len(prog), 1))
    m = ctypes.create_string_buffer(bytes(mem), max(len(mem), 1))
    r0 = ctypes.c_uint64(0)
    msg = ctypes.create_string_buffer(512)
    if len(prog) % 8:
        raise LoadError(f"program length {len(prog)} is not a multiple of 8", 22)
    stage = ctypes.c_int(0)
    err = lib.axbpf_run_mem(code, len(prog) // 8, m if mem else None, len(mem), int(verify),
                            PROFILES[profile], ctypes.byref(r0), msg, len(msg), ctypes.byref(stage))
    text = msg.value.decode(errors="replace")
    if err:
        if stage.value == 1:
            raise RunError(text or errno_name(err), -err)
        raise LoadError(text or errno_name(err), -err)
    return r0.value, m.raw[:len(mem)]


# -------------------------------------------------------------- object layer

class Attr:
    """union bpf_attr as a 128-byte buffer with Linux-compatible field offsets."""

    def __init__(self) -> None:
        self.buf = ctypes.create_string_buffer(128)
        self._keep: list[object] = []  # buffers referenced by pointer fields

    def u32(self, off: int, v: int) -> "Attr":
        struct.pack_into("<I", self.buf, off, v & 0xFFFFFFFF)
        return self

    def u64(self, off: int, v: int) -> "Attr":
        struct.pack_into("<Q", self.buf, off, v & (2**64 - 1))
        return self

    def ptr(self, off: int, data: bytes | ctypes.Array | None, size: int | None = None) -> ctypes.Array | None:
        if data is None:
            return None
        b = data if isinstance(data, ctypes.Array) else ctypes.create_string_buffer(bytes(data), size or max(len(data), 1))
        self._keep.append(b)
        self.u64(off, ctypes.addressof(b))
        return b

    def get32(self, off: int) -> int:
        return struct.unpack_from("<I", self.buf, off)[0]

    def get64(self, off: int) -> int:
        return struct.unpack_from("<Q", self.buf, off)[0]


class Bpf:
    """The bpf() command interface of the host library (ids stand for fds)."""

    def __init__(self) -> None:
        self.lib = load_library()

    def cmd(self, name: str, attr: Attr) -> int:
        return self.lib.axbpf_cmd(CMD[name], attr.buf)

    def last_error(self) -> str:
        return (self.lib.axbpf_last_error() or b"").decode(errors="replace")

    def _check(self, r: int, what: str) -> int:
        if r < 0:
            detail = self.last_error()
            raise LoadError(f"{what}: {errno_name(r)}" + (f" ({detail})" if detail else ""), -r)
        return r

    # maps
    def map_create(self, mtype: str | int, key_size: int, value_size: int, max_entries: int,
                   name: str = "") -> int:
        a = Attr()
        a.u32(0, MAP_TYPES.get(mtype, mtype) if isinstance(mtype, str) else mtype)
        a.u32(4, key_size).u32(8, value_size).u32(12, max_entries)
        struct.pack_into("16s", a.buf, 28, name.encode()[:15])
        return self._check(self.cmd("MAP_CREATE", a), "map create")

    def _elem(self, cmd: str, map_id: int, key: bytes | None, value: bytes | None = None,
              flags: int = 0, value_size: int = 0) -> tuple[int, bytes | None]:
        a = Attr()
        a.u32(0, map_id)
        a.ptr(8, key)
        out = a.ptr(16, value if value is not None else (b"\0" * value_size if value_size else None))
        a.u64(24, flags)
        r = self.cmd(cmd, a)
        return r, (out.raw if out is not None else None)

    def map_update(self, map_id: int, key: bytes, value: bytes, flags: int = 0) -> None:
        r, _ = self._elem("MAP_UPDATE_ELEM", map_id, key, value, flags)
        self._check(r, "map update")

    def map_lookup(self, map_id: int, key: bytes, value_size: int) -> bytes | None:
        r, out = self._elem("MAP_LOOKUP_ELEM", map_id, key, value_size=value_size)
        if r == -2:
            return None
        self._check(r, "map lookup")
        return out[:value_size] if out is not None else None

    def map_delete(self, map_id: int, key: bytes) -> int:
        r, _ = self._elem("MAP_DELETE_ELEM", map_id, key)
        return r

    def map_next_key(self, map_id: int, key: bytes | None, key_size: int) -> bytes | None:
        r, out = self._elem("MAP_GET_NEXT_KEY", map_id, key, value_size=key_size)
        if r == -2:
            return None
        self._check(r, "map get_next_key")
        return out[:key_size] if out is not None else None

    def ringbuf_pop(self, map_id: int, cap: int = 4096) -> bytes | None:
        r, out = self._elem("MAP_LOOKUP_AND_DELETE_ELEM", map_id, None, value_size=cap, flags=cap)
        if r == -2:
            return None
        self._check(r, "ring buffer pop")
        return out[:r] if out is not None else b""

    # programs
    def prog_load(self, prog: bytes, prog_type: str | int = "mem", profile: str = "embedded",
                  mem_size: int = 0, verify: bool = True, log_level: int = 1,
                  fd_array: list[int] | None = None, name: str = "") -> tuple[int, str]:
        """Load a program; returns (id, log). Raises LoadError with the log."""
        a = Attr()
        a.u32(0, PROG_TYPES.get(prog_type, prog_type) if isinstance(prog_type, str) else prog_type)
        a.u32(4, len(prog) // 8)
        a.ptr(8, prog)
        log = ctypes.create_string_buffer(1 << 16)
        a.u32(24, log_level).u32(28, len(log))
        a.ptr(32, log)
        a.u32(44, 0 if verify else F_UNVERIFIED)
        struct.pack_into("16s", a.buf, 48, name.encode()[:15])
        if fd_array:
            a.ptr(72, struct.pack(f"<{len(fd_array)}I", *fd_array))
            a.u32(80, len(fd_array))
        a.u32(84, PROFILES[profile]).u32(88, mem_size)
        r = self.cmd("PROG_LOAD", a)
        text = log.value.decode(errors="replace")
        if r < 0:
            raise LoadError(self.last_error() or errno_name(r), -r, text)
        return r, text

    def test_run(self, prog_id: int, data: bytes = b"", ctx: bytes | None = None,
                 repeat: int = 1) -> tuple[int, bytes]:
        """Run a program; returns (r0, memory or context after the run)."""
        a = Attr()
        a.u32(0, prog_id)
        if data:
            a.u32(8, len(data))
            a.ptr(16, data)
            out = a.ptr(24, b"\0" * len(data))
        else:
            out = None
        a.u32(32, repeat)
        if ctx is not None:
            a.u32(40, len(ctx))
            a.ptr(48, ctx)
        r = self.cmd("PROG_TEST_RUN", a)
        if r < 0:
            raise RunError(self.last_error() or errno_name(r), -r)
        return a.get64(72), (out.raw[:len(data)] if out is not None else b"")

    def attach(self, prog_id: int, attach_type: str) -> None:
        a = Attr().u32(4, prog_id).u32(8, ATTACH_TYPES[attach_type])
        self._check(self.cmd("PROG_ATTACH", a), "attach")

    def detach(self, prog_id: int, attach_type: str) -> None:
        a = Attr().u32(4, prog_id).u32(8, ATTACH_TYPES[attach_type])
        self._check(self.cmd("PROG_DETACH", a), "detach")

    def run_hook(self, attach_type: str, ctx: bytes) -> int:
        b = ctypes.create_string_buffer(ctx, max(len(ctx), 1))
        return self.lib.axbpf_run_hook(ATTACH_TYPES[attach_type], b, len(ctx))

    def close(self, obj_id: int) -> int:
        return self.cmd("OBJ_CLOSE", Attr().u32(0, obj_id))

    def ids(self, kind: str = "prog") -> list[int]:
        out, start = [], 0
        while True:
            a = Attr().u32(0, start)
            if self.cmd("PROG_GET_NEXT_ID" if kind == "prog" else "MAP_GET_NEXT_ID", a) < 0:
                return out
            start = a.get32(4)
            out.append(start)

    def info(self, obj_id: int) -> dict:
        a = Attr().u32(0, obj_id).u32(4, 96)
        out = a.ptr(8, b"\0" * 96)
        r = self.cmd("OBJ_GET_INFO_BY_FD", a)
        self._check(r, "info")
        raw = out.raw
        if r == 1:
            t, i, n, ver, att, vi = struct.unpack_from("<6I", raw, 0)
            run_cnt, run_ns, nmaps = struct.unpack_from("<QQI", raw, 24)
            maps = list(struct.unpack_from(f"<{min(nmaps, 8)}I", raw, 44))
            return {"kind": "prog", "type": t, "id": i, "insn_cnt": n, "verified": bool(ver),
                    "attach_type": att, "verified_insns": vi, "run_cnt": run_cnt,
                    "run_time_ns": run_ns, "map_ids": maps,
                    "name": raw[76:92].split(b"\0")[0].decode()}
        t, i, ks, vs, me, fl, mem = struct.unpack_from("<6IQ", raw, 0)
        return {"kind": "map", "type": t, "id": i, "key_size": ks, "value_size": vs,
                "max_entries": me, "flags": fl, "mem_bytes": mem,
                "name": raw[32:48].split(b"\0")[0].decode()}

    def set_cpu(self, cpu: int, ncpus: int = 4) -> None:
        self.lib.axbpf_host_set_cpu(cpu, ncpus)

    def set_pid_tgid(self, v: int) -> None:
        self.lib.axbpf_host_set_pid_tgid(v)

    def take_trace(self) -> str:
        b = ctypes.create_string_buffer(65536)
        n = self.lib.axbpf_host_take_trace(b, len(b))
        return b.raw[:n].decode(errors="replace")


# ----------------------------------------------------------- abstract domain

def scalar_const(v: int) -> Scalar:
    s = Scalar()
    load_library().bpf_range_const(ctypes.byref(s), v & (2**64 - 1))
    return s


def scalar_unknown() -> Scalar:
    s = Scalar()
    load_library().bpf_range_unknown(ctypes.byref(s))
    return s


def range_op(name: str, a: Scalar, b: Scalar | None = None) -> Scalar:
    """Apply operator bpf_range_<name> (binary when b is given)."""
    out = Scalar()
    f = getattr(load_library(), f"bpf_range_{name}")
    if b is None:
        f(ctypes.byref(out), ctypes.byref(a))
    else:
        f(ctypes.byref(out), ctypes.byref(a), ctypes.byref(b))
    return out


def range_sync(s: Scalar) -> Scalar:
    out = Scalar.from_buffer_copy(s)
    load_library().bpf_range_sync(ctypes.byref(out))
    return out


def range_contains(s: Scalar, x: int) -> bool:
    return bool(load_library().bpf_range_contains(ctypes.byref(s), x & (2**64 - 1)))


def range_jmp(op: int, is32: bool, dst: Scalar, src: Scalar) -> tuple[int, Scalar, Scalar, Scalar, Scalar]:
    dt, st, df, sf = Scalar(), Scalar(), Scalar(), Scalar()
    r = load_library().bpf_range_jmp_refine(op, is32, ctypes.byref(dst), ctypes.byref(src),
                                            ctypes.byref(dt), ctypes.byref(st), ctypes.byref(df),
                                            ctypes.byref(sf))
    return r, dt, st, df, sf


def asan_runtime() -> str | None:
    """Path of clang's ASan runtime (to LD_PRELOAD for the ASan library)."""
    r = subprocess.run(["clang", "-print-file-name=libclang_rt.asan-x86_64.so"],
                       capture_output=True, text=True)
    p = r.stdout.strip()
    return p if p and os.path.exists(p) else None

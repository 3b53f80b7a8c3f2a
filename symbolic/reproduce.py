"""Counterexamples, replayed concretely.

An UNSOUND result's input states and operands are fed to a *host* build of the
same operator sources (kernel/bpf, or the patched copy being proved) through
ctypes, and the real C result is checked with bpf_range_contains(): a replayed
counterexample shows the operator, run for real, excludes the concrete result.
Each one is saved as a JSON reproducer under build/prove/reproducers/.

ALU and jump counterexamples also become an eBPF program (bpfprog.py) that
the host build of the kernel's verifier accepts and whose run escapes the
verifier's bounds; the program and its expected results are saved with the
reproducer. With `--replay-qemu` (qemu_replay.py) it is also run inside QEMU
through the bpf syscall on a kernel built from the same sources.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from . import model
from .targets import BPF_DIR, KDIR, OP_SOURCES, ROOT

REPRO_DIR = ROOT / "build" / "prove" / "reproducers"


class Tnum(ctypes.Structure):
    _fields_ = [("value", ctypes.c_uint64), ("mask", ctypes.c_uint64)]


class Scalar(ctypes.Structure):
    _fields_ = [("t", Tnum), ("umin", ctypes.c_uint64), ("umax", ctypes.c_uint64), ("smin", ctypes.c_int64),
                ("smax", ctypes.c_int64), ("u32min", ctypes.c_uint32), ("u32max", ctypes.c_uint32),
                ("s32min", ctypes.c_int32), ("s32max", ctypes.c_int32)]


@lru_cache(maxsize=None)
def _host_lib(overrides_json: str) -> ctypes.CDLL:
    overrides = json.loads(overrides_json)
    digest = hashlib.sha256(overrides_json.encode() + b"".join((BPF_DIR / n).read_bytes()
                                                              for n in OP_SOURCES)).hexdigest()[:16]
    out = ROOT / "build" / "prove" / f"host-{digest}" / "libops.so"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            srcs = []
            for n in OP_SOURCES:
                if n in overrides:
                    p = Path(tmp) / n
                    p.write_text(overrides[n])
                    srcs.append(str(p))
                else:
                    srcs.append(str(BPF_DIR / n))
            cmd = ["clang", "-std=c11", "-O1", "-g", "-shared", "-fPIC", f"-I{BPF_DIR}", f"-I{KDIR}/include",
                   f"-I{KDIR}/include/uapi", f"-I{KDIR}", "-o", str(out), *srcs]
            subprocess.run(cmd, check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(out))


def _scalar(d: dict[str, int]) -> Scalar:
    s = Scalar()
    s.t.value, s.t.mask = d["t.value"], d["t.mask"]
    for f in model.FIELDS[2:]:
        v = d[f]
        if f in ("smin", "smax"):
            v = model.s64(v)
        elif f in ("s32min", "s32max"):
            v = model.s32(v)
        setattr(s, f, v)
    return s


def _dict(s: Scalar) -> dict[str, int]:
    d = {"t.value": s.t.value, "t.mask": s.t.mask}
    for f in model.FIELDS[2:]:
        v = getattr(s, f)
        d[f] = v & (model.M64 if f in ("smin", "smax") else model.M32 if f in ("s32min", "s32max") else model.M64)
    return d


def replay(op: str, ce: dict, overrides: dict[str, str] | None = None) -> dict:
    """Run the real C operator (host build) on a counterexample. Returns
    {"confirmed": bool, "out": state, ...}: confirmed means the concrete result
    is not a member of the state the C code computed (sync included)."""
    lib = _host_lib(json.dumps(overrides or {}, sort_keys=True))
    if op in model.ALU2 or op in model.ALU1:
        out = Scalar()
        fn = getattr(lib, f"bpf_range_{op}")
        a = _scalar(ce["a"])
        if op in model.ALU2:
            b = _scalar(ce["b"])
            fn(ctypes.byref(out), ctypes.byref(a), ctypes.byref(b))
        else:
            fn(ctypes.byref(out), ctypes.byref(a))
        lib.bpf_range_contains.restype = ctypes.c_bool
        z = ce["result"]
        inside = bool(lib.bpf_range_contains(ctypes.byref(out), ctypes.c_uint64(z)))
        in_a = bool(lib.bpf_range_contains(ctypes.byref(a), ctypes.c_uint64(ce["x"])))
        return {"confirmed": not inside and in_a, "out": _dict(out), "result": z}
    if op[:-2] in model.COND:
        outs = [Scalar() for _ in range(4)]
        fn = getattr(lib, f"bpf_range_{op[:-2]}")
        fn.restype = ctypes.c_int
        d, s = _scalar(ce["dst"]), _scalar(ce["src"])
        r = fn(ctypes.c_bool(op.endswith("32")), ctypes.byref(d), ctypes.byref(s), *[ctypes.byref(o) for o in outs])
        lib.bpf_range_contains.restype = ctypes.c_bool
        taken = ce["edge"] == "taken"
        do, so = (outs[0], outs[1]) if taken else (outs[2], outs[3])
        ok = (r & (1 if taken else 2)) and lib.bpf_range_contains(ctypes.byref(do), ctypes.c_uint64(ce["x"])) \
            and lib.bpf_range_contains(ctypes.byref(so), ctypes.c_uint64(ce["y"]))
        return {"confirmed": not ok, "ret": r, "dst_out": _dict(do), "src_out": _dict(so)}
    if op == "sync":
        s = _scalar(ce["a"])
        lib.bpf_range_sync(ctypes.byref(s))
        lib.bpf_range_contains.restype = ctypes.c_bool
        return {"confirmed": not lib.bpf_range_contains(ctypes.byref(s), ctypes.c_uint64(ce["x"])),
                "out": _dict(s)}
    return {"confirmed": None}


def save_reproducer(row: dict, rep: dict, program: dict | None = None) -> Path:
    REPRO_DIR.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256(json.dumps(row.get("counterexample"), sort_keys=True).encode()).hexdigest()[:10]
    p = REPRO_DIR / f"{row['op']}-{row['check']}-{row['arch']}-{row['profile']}-{h}.json"
    p.write_text(json.dumps({"op": row["op"], "check": row["check"], "arch": row["arch"],
                             "profile": row["profile"], "counterexample": row["counterexample"],
                             "host_replay": rep, "program": program,
                             "qemu_replay": row.get("qemu_replay")}, indent=2))
    return p


def program_for(op: str, ce: dict, overrides: dict[str, str] | None = None) -> dict:
    """The eBPF reproducer of a counterexample, run on the host build of the
    kernel's verifier + interpreter (with `overrides`): adds "host_run"."""
    from . import bpfprog

    try:
        prog = bpfprog.synthesize(op, ce, overrides)
    except bpfprog.NotReproducible as e:
        return {"error": str(e)}
    prog["host_run"] = bpfprog.run_host(prog, overrides)
    return prog


def attach_reproducers(rows: list[dict], overrides: dict[str, str] | None = None, qemu: bool = False) -> None:
    """host_replay (and an eBPF program run on the host build) for every UNSOUND
    row; with `qemu`, the program is also replayed inside QEMU through the bpf
    syscall (qemu_replay.py: `bpftool prog run` on a kernel built from the same
    sources, one boot per arch) as `qemu_replay`. Each row's reproducer JSON
    records all of it."""
    progs: dict[int, dict] = {}
    reps: dict[int, dict] = {}
    for i, r in enumerate(rows):
        if r["status"] == "UNSOUND" and r.get("counterexample") and not r["check"].startswith("agree"):
            reps[i] = rep = replay(r["op"], r["counterexample"], overrides)
            r["host_replay"] = rep
            if r["op"] in model.ALU2 or r["op"] in model.ALU1 or r["op"][:-2] in model.COND:
                try:
                    prog = program_for(r["op"], r["counterexample"], overrides)
                except Exception as e:  # a reproducer must never hide the result
                    prog = {"error": repr(e)}
                r["program"] = {k: prog.get(k) for k in ("check", "host_run", "error", "narrowed_by") if k in prog}
                progs[i] = prog
    if qemu:
        from . import qemu_replay

        runnable = {i: p for i, p in progs.items() if "error" not in p}
        for i in set(progs) - set(runnable):
            rows[i]["qemu_replay"] = {"arch": rows[i]["arch"], "escaped": False,
                                      "error": "no program to replay: " + str(progs[i]["error"])}
        qemu_replay.replay_rows(rows, runnable, overrides)
    for i, rep in reps.items():
        rows[i]["reproducer"] = str(save_reproducer(rows[i], rep, progs.get(i)))

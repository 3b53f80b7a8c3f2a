"""Counterexamples as eBPF programs that the verifier accepts but that escape.

For an UNSOUND ALU/jump counterexample (input states a, b, operands x, y), the
program

  1. loads x and y as unknown 64-bit scalars from memory (AXIOM_MEM program:
     r1 = memory; the QEMU form, qemu_form(), reads them from a 1-entry array
     map value, `lddw src_reg=2`, for `bpftool prog run -m 24:HEX -`),
  2. narrows them with bounds checks (jlt/jgt/jslt/jsgt, 64 and 32 bit, each
     jumping to an "out" exit) and an AND/OR mask for the tnum, so the
     verifier's state of each register is inside the counterexample's input
     state while the runtime values stay x and y,
  3. applies the operation (or the conditional jump),
  4. tests the result against the bound the verifier computed: a jump the
     verifier proves never taken (it prunes the edge) but that the concrete
     result takes. There the program stores the escaped value to memory,
     reads the never-written register r5 (so a verifier that considered the
     path reachable would reject the program) and returns ESCAPED (0xbad).

The verifier's state at step 4 is computed with the same operator functions
the verifier calls (the host build of the sources being proved: jmp_refine
for every check, the ALU operator for the op) so the right bound can be
chosen; the real verifier and interpreter then decide: a reproducer counts
only if the verifier ACCEPTS the program and the run RETURNS ESCAPED.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from axiomdbg.bpf import asm
from axiomdbg.bpf.lib import Scalar, _declare

from . import model
from .targets import BPF_DIR, KDIR, ROOT

ESCAPED = 0xBAD
JOPS = {"jeq": 0x10, "jgt": 0x20, "jge": 0x30, "jset": 0x40, "jne": 0x50, "jsgt": 0x60, "jsge": 0x70,
        "jlt": 0xA0, "jle": 0xB0, "jslt": 0xC0, "jsle": 0xD0}
M64 = (1 << 64) - 1


class NotReproducible(RuntimeError):
    pass


# ------------------------------------------------------------------ host build

@lru_cache(maxsize=None)
def host_bpf(overrides_json: str) -> ctypes.CDLL:
    """The host build of kernel/bpf (verifier, interpreter, operators) with
    `overrides` (file name -> source) applied, as a ctypes library."""
    overrides = json.loads(overrides_json)
    h = hashlib.sha256(overrides_json.encode())
    for p in sorted(BPF_DIR.glob("*.[ch]")) + [BPF_DIR / "host.mk"]:
        h.update(p.name.encode() + p.read_bytes())
    out = ROOT / "build" / "prove" / f"hostbpf-{h.hexdigest()[:16]}" / "libaxiombpf.so"
    if not out.exists():
        with tempfile.TemporaryDirectory(prefix="axiomdbg-prove-host-") as tmp:
            t = Path(tmp)
            (t / "kernel").mkdir()
            shutil.copytree(BPF_DIR, t / "kernel" / "bpf")
            os.symlink(KDIR / "include", t / "kernel" / "include")
            for name, text in overrides.items():
                (t / "kernel" / "bpf" / name).write_text(text)
            lib = t / "build" / "host" / "libaxiombpf.so"
            r = subprocess.run(["make", "-s", "-f", str(t / "kernel" / "bpf" / "host.mk"), str(lib)],
                               cwd=t, capture_output=True, text=True)
            if r.returncode != 0:
                raise NotReproducible(f"host build failed: {(r.stderr or r.stdout).strip()[-300:]}")
            out.parent.mkdir(parents=True, exist_ok=True)
            # parallel test workers build the same library: publish it
            # atomically so nobody loads a half-copied file
            part = out.with_name(f".{out.name}.{os.getpid()}")
            shutil.copy(lib, part)
            os.replace(part, out)
    lib = ctypes.CDLL(str(out))
    _declare(lib)
    lib.bpf_range_unknown_bytes.argtypes = [ctypes.POINTER(Scalar), ctypes.c_uint]
    return lib


def _sc(d: dict[str, int]) -> Scalar:
    s = Scalar()
    s.t.value, s.t.mask = d["t.value"], d["t.mask"]
    for f in model.FIELDS[2:]:
        v = d[f]
        v = model.s64(v) if f in ("smin", "smax") else model.s32(v) if f in ("s32min", "s32max") else v
        setattr(s, f, v)
    return s


def _d(s: Scalar) -> dict[str, int]:
    d = {"t.value": s.t.value, "t.mask": s.t.mask}
    for f in model.FIELDS[2:]:
        v = getattr(s, f)
        d[f] = v & (0xFFFFFFFF if f in ("s32min", "s32max") else M64)
    return d


# ------------------------------------------------------------------ synthesis

class _Prog:
    """Assembly text plus a simulation of the verifier's register states."""

    def __init__(self, lib) -> None:
        self.lib = lib
        self.lines: list[str] = []
        self.st: dict[int, Scalar] = {}

    def const(self, v: int) -> Scalar:
        s = Scalar()
        self.lib.bpf_range_const(ctypes.byref(s), ctypes.c_uint64(v & M64))
        return s

    def load(self, reg: int, off: int) -> None:
        self.lines.append(f"ldxdw %r{reg}, [%r6+{off}]")
        s = Scalar()
        self.lib.bpf_range_unknown_bytes(ctypes.byref(s), 8)
        self.st[reg] = s

    def guard(self, reg: int, op: str, is32: bool, k: int, target: str = "out") -> None:
        """if reg OP k goto target; the simulation follows the fall-through."""
        s, kk = self._jmp(reg, op, is32, k)
        d = self.st[reg]
        dt, st_, df, sf = Scalar(), Scalar(), Scalar(), Scalar()
        mask = self.lib.bpf_range_jmp_refine(JOPS[op], is32, ctypes.byref(d), ctypes.byref(kk),
                                             ctypes.byref(dt), ctypes.byref(st_), ctypes.byref(df),
                                             ctypes.byref(sf))
        self.lines.append(s.replace("TARGET", target))
        if mask & 2:
            self.st[reg] = df
        return mask

    def _jmp(self, reg: int, op: str, is32: bool, k: int):
        if is32:
            k &= 0xFFFFFFFF
            imm = k - (1 << 32) if k >= 1 << 31 else k
            # jmp32 compares the low halves: the immediate's low 32 bits are k
            return f"{op}32 %r{reg}, {imm}, TARGET", self.const(imm & M64)
        self.lines.append(f"lddw %r9, {k & M64:#x}")
        return f"{op} %r{reg}, %r9, TARGET", self.const(k)

    def alu_const(self, reg: int, name: str, k: int) -> None:
        self.lines.append(f"lddw %r9, {k & M64:#x}")
        self.lines.append(f"{name} %r{reg}, %r9")
        out = Scalar()
        getattr(self.lib, f"bpf_range_{name}64")(ctypes.byref(out), ctypes.byref(self.st[reg]),
                                                 ctypes.byref(self.const(k)))
        self.st[reg] = out

    def narrow(self, reg: int, a: dict[str, int], parts=("tnum", "u64", "s64", "u32", "s32")) -> None:
        """Narrow the verifier's state of `reg` with `parts` of `a` (runtime value
        unchanged for every member of a)."""
        tv, tm = a["t.value"], a["t.mask"]
        if "tnum" in parts and tm != M64:
            self.alu_const(reg, "and", tv | tm)
            self.alu_const(reg, "or", tv)
        for part, lo, hi, is32, lop, hop in (("u64", "umin", "umax", False, "jlt", "jgt"),
                                             ("s64", "smin", "smax", False, "jslt", "jsgt"),
                                             ("u32", "u32min", "u32max", True, "jlt", "jgt"),
                                             ("s32", "s32min", "s32max", True, "jslt", "jsgt")):
            if part in parts:
                self.guard(reg, lop, is32, a[lo])
                self.guard(reg, hop, is32, a[hi])

    def escape_check(self, reg: int, z: int) -> str | None:
        """A test that the concrete value z passes but that the verifier thinks
        no member of reg's state passes; emits `if ... goto bad`. Returns its name."""
        s = _d(self.st[reg])
        z32 = z & 0xFFFFFFFF
        cands = [("jgt", False, s["umax"], z > s["umax"]), ("jlt", False, s["umin"], z < s["umin"]),
                 ("jsgt", False, s["smax"], model.s64(z) > model.s64(s["smax"])),
                 ("jslt", False, s["smin"], model.s64(z) < model.s64(s["smin"])),
                 ("jgt", True, s["u32max"], z32 > s["u32max"]), ("jlt", True, s["u32min"], z32 < s["u32min"]),
                 ("jsgt", True, s["s32max"], model.s32(z32) > model.s32(s["s32max"])),
                 ("jslt", True, s["s32min"], model.s32(z32) < model.s32(s["s32min"]))]
        for op, is32, k, hit in cands:
            if hit:
                line, kk = self._jmp(reg, op, is32, k)
                self.lines.append(line.replace("TARGET", "bad"))
                return f"{op}{'32' if is32 else ''} {k:#x}"
        if (z & ~s["t.mask"] & M64) != s["t.value"]:
            # r8 := z & ~mask: the verifier knows it equals value
            self.lines.append(f"mov %r8, %r{reg}")
            self.lines.append(f"lddw %r9, {~s['t.mask'] & M64:#x}")
            self.lines.append("and %r8, %r9")
            self.lines.append(f"lddw %r9, {s['t.value']:#x}")
            self.lines.append("jne %r8, %r9, bad")
            return f"tnum (x & {~s['t.mask'] & M64:#x}) != {s['t.value']:#x}"
        return None

    def text(self) -> str:
        return "\n".join(self.lines + [
            "mov %r0, 0", "exit",
            # reached only if the verifier's bound is wrong: it reads r5, which
            # was never written, so a verifier exploring this path must reject
            # the program; at run time it is harmless
            "bad:", "stxdw [%r6+16], %r7", "mov %r0, %r5", f"mov %r0, {ESCAPED}", "exit",
            "out:", "mov %r0, 1", "exit"])


_UNARY_ASM = {"neg64": "neg %r7", "neg32": "neg32 %r7", "mov64": "mov %r7, %r7", "mov32": "mov32 %r7, %r7",
              "le16": "le16 %r7", "le32": "le32 %r7", "le64": "le64 %r7", "be16": "be16 %r7",
              "be32": "be32 %r7", "be64": "be64 %r7", "bswap16": "bswap16 %r7", "bswap32": "bswap32 %r7",
              "bswap64": "bswap64 %r7", "movsx64_s8": "movsx864 %r7, %r7", "movsx64_s16": "movsx1664 %r7, %r7",
              "movsx64_s32": "movsx3264 %r7, %r7", "movsx32_s8": "movsx832 %r7, %r7",
              "movsx32_s16": "movsx1632 %r7, %r7"}


def _binop_mnemonic(op: str) -> str:
    base, w = op[:-2], op[-2:]
    return base if w == "64" else base + "32"


# which components of the counterexample's input states to impose: all of
# them first; when the verifier's own sync makes that state more precise than
# the counterexample's (so the bug does not show), fewer
VARIANTS = (("tnum", "u64", "s64", "u32", "s32"), ("u64", "s64", "u32", "s32"), ("u64",), ("s64",),
            ("u32",), ("s32",), ("tnum",), ("u64", "u32"), ("s64", "s32"), ("tnum", "u64"), ("tnum", "u32"), ())


def synthesize(op: str, ce: dict, overrides: dict[str, str] | None = None) -> dict:
    """The first program variant (VARIANTS) whose simulated verifier state
    excludes the concrete result; see _synthesize."""
    last = None
    for parts in VARIANTS:
        try:
            r = _synthesize(op, ce, overrides, parts)
            r["narrowed_by"] = list(parts)
            return r
        except NotReproducible as e:
            last = e
    raise last


def _synthesize(op: str, ce: dict, overrides: dict[str, str] | None, parts) -> dict:
    """Build the program for an UNSOUND counterexample of `op`. Returns
    {"asm", "program" (hex), "mem" (hex: x, y, 8 zero bytes), "x", "y",
    "expect": {"verifier": "accept", "r0": ESCAPED, "escaped": z}, "check"}."""
    lib = host_bpf(json.dumps(overrides or {}, sort_keys=True))
    P = _Prog(lib)
    P.lines.append("mov %r6, %r1")
    x = ce["x"] if "x" in ce else None
    y = ce.get("y", 0)
    if op in model.ALU2 or op in model.ALU1:
        P.load(7, 0)
        P.narrow(7, ce["a"], parts)
        if op in model.ALU2:
            P.load(8, 8)
            P.narrow(8, ce["b"], parts)
            P.lines.append(f"{_binop_mnemonic(op)} %r7, %r8")
            out = Scalar()
            getattr(lib, f"bpf_range_{op}")(ctypes.byref(out), ctypes.byref(P.st[7]), ctypes.byref(P.st[8]))
        else:
            P.lines.append(_UNARY_ASM[op])
            out = Scalar()
            getattr(lib, f"bpf_range_{op}")(ctypes.byref(out), ctypes.byref(P.st[7]))
        P.st[7] = out
        z = ce["result"]
        chk = P.escape_check(7, z)
    elif op[:-2] in model.COND:
        cond, is32 = op[:-2], op.endswith("32")
        x, y = ce["x"], ce["y"]
        P.load(7, 0)
        P.narrow(7, ce["dst"], parts)
        P.load(8, 8)
        P.narrow(8, ce["src"], parts)
        taken = ce["edge"] == "taken"
        d, s = P.st[7], P.st[8]
        dt, st_, df, sf = Scalar(), Scalar(), Scalar(), Scalar()
        mask = lib.bpf_range_jmp_refine(JOPS[cond], is32, ctypes.byref(d), ctypes.byref(s), ctypes.byref(dt),
                                        ctypes.byref(st_), ctypes.byref(df), ctypes.byref(sf))
        P.lines.append(f"{cond}{'32' if is32 else ''} %r7, %r8, edge")
        edge_lines = []
        if taken:
            P.lines.append("ja fall")  # fall-through: nothing to show
            P.lines.append("edge:")
            P.st[7], P.st[8] = dt, st_
        else:
            P.lines.append("ja fallchk")
            P.lines.append("edge:")
            P.lines.append("ja fall")
            P.lines.append("fallchk:")
            P.st[7], P.st[8] = df, sf
        z = x
        if not mask & (1 if taken else 2):
            # the verifier believes this edge is never followed
            P.lines.append("ja bad")
            chk = f"{ce['edge']} edge pruned by the verifier"
        else:
            chk = P.escape_check(7, x)
            if chk is None:
                P.lines.append("mov %r7, %r8")
                P.st[7] = P.st[8]
                chk = P.escape_check(7, y)
                z = y
        P.lines.append("fall:")
    else:
        raise NotReproducible(f"no program form for {op}")
    if chk is None:
        raise NotReproducible("the verifier's state (simulated) contains the concrete result: "
                              "the narrowing made the input state more precise than the counterexample's")
    text = P.text()
    prog = asm.assemble(text)
    mem = (x & M64).to_bytes(8, "little") + (y & M64).to_bytes(8, "little") + bytes(8)
    return {"op": op, "asm": text, "program": prog.hex(), "mem": mem.hex(), "x": x, "y": y,
            "check": chk, "expect": {"verifier": "accept", "r0": ESCAPED, "escaped_value": z & M64}}


# the QEMU form: `bpftool prog run -m 24:HEX -` makes a 1-entry array map whose
# 24-byte value is x, y and the 8 bytes `bad:` stores to; the program takes a
# pointer to that value with `lddw src_reg=2` (BPF_PSEUDO_MAP_VALUE, imm = the
# index of the -m map, bpftool patches in its id) instead of r1 = memory.
# Everything after that first instruction is the same text, so the verifier
# sees the same unknown 8-byte loads and the same guards.
QEMU_MAP_SIZE = 24
_MEM_PROLOGUE = "mov %r6, %r1"
_MAP_PROLOGUE = "lddw %r6, map_value(0, 0)"


def qemu_form(repro: dict) -> dict:
    """The reproducer as `bpftool prog run` takes it: {"asm", "program" (hex),
    "maps": [[size, hex]], "argv" (the command line), "stdin" (instruction
    lines through "end")}."""
    text = repro["asm"]
    first, _, rest = text.partition("\n")
    if first != _MEM_PROLOGUE:
        raise NotReproducible(f"not a memory-form reproducer (first instruction {first!r})")
    qtext = _MAP_PROLOGUE + "\n" + rest
    prog = asm.assemble(qtext)
    mem = bytes.fromhex(repro["mem"])
    if len(mem) != QEMU_MAP_SIZE:
        raise NotReproducible(f"reproducer memory is {len(mem)} bytes, want {QEMU_MAP_SIZE}")
    lines = [" ".join(f"{b:02x}" for b in prog[i:i + 8]) for i in range(0, len(prog), 8)]
    return {"asm": qtext, "program": prog.hex(), "maps": [[QEMU_MAP_SIZE, mem.hex()]],
            "argv": f"bpftool prog run -m {QEMU_MAP_SIZE}:{mem.hex()} -", "stdin": "\n".join(lines + ["end"])}


def run_host(repro: dict, overrides: dict[str, str] | None = None, profile: int = 1) -> dict:
    """Verify and run the reproducer with the host build of the kernel's BPF
    (verifier + interpreter). escaped = accepted and r0 == ESCAPED.

    The run happens in a child process: a program that escapes a (mutated)
    verifier may well make the interpreter touch memory it should not, and
    that must end the child, not the caller."""
    payload = json.dumps({"repro": repro, "overrides": overrides, "profile": profile})
    try:
        r = subprocess.run([sys.executable, "-m", "axiomdbg.prove.bpfprog"], input=payload,
                           capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return {"accepted": None, "escaped": False, "error": "host run timed out after 300 s"}
    if r.returncode != 0:
        if r.returncode < 0:
            return {"accepted": None, "escaped": False, "crashed": True,
                    "error": f"host run killed by signal {-r.returncode}"}
        raise NotReproducible(f"host run failed: {(r.stderr or r.stdout).strip()[-300:]}")
    return json.loads(r.stdout)


def _run_host_inproc(repro: dict, overrides: dict[str, str] | None, profile: int) -> dict:
    lib = host_bpf(json.dumps(overrides or {}, sort_keys=True))
    prog = bytes.fromhex(repro["program"])
    mem = bytes.fromhex(repro["mem"])
    code = ctypes.create_string_buffer(prog, len(prog))
    m = ctypes.create_string_buffer(mem, len(mem))
    r0 = ctypes.c_uint64(0)
    msg = ctypes.create_string_buffer(512)
    stage = ctypes.c_int(0)
    err = lib.axbpf_run_mem(code, len(prog) // 8, m, len(mem), 1, profile, ctypes.byref(r0), msg, len(msg),
                            ctypes.byref(stage))
    if err:
        return {"accepted": stage.value == 1, "escaped": False, "error": msg.value.decode(errors="replace")
                or f"errno {-err}"}
    stored = int.from_bytes(m.raw[16:24], "little")
    return {"accepted": True, "r0": r0.value, "escaped": r0.value == ESCAPED, "stored": stored}


if __name__ == "__main__":  # the child of run_host
    _a = json.loads(sys.stdin.read())
    print(json.dumps(_run_host_inproc(_a["repro"], _a["overrides"], _a["profile"])))

"""Concrete semantics of eBPF (RFC 9669) and the meaning of the abstract domain,
as claripy bit-vector terms (solved with Z3).

Nothing here models the kernel's *abstract* operators: those come only from the
machine code (see extract.py). This file says what the operators must
over-approximate:

* ``ALU[name](x, y)`` -- the 64-bit register value an ALU instruction produces
  from 64-bit register values x (dst) and y (src). 32-bit forms use the low
  halves and zero-extend; shift amounts are masked; division and modulo follow
  RFC 9669's rules for zero and for INT_MIN / -1.
* ``COND[name](x, y, is32)`` -- whether a conditional jump is taken.
* ``member(S, x)`` -- x is in the set described by a ``bpf_scalar`` S (its
  tristate number and its four interval domains), exactly bpf_range.h's
  definition.
"""

from __future__ import annotations

from typing import Callable

import claripy

BV = claripy.ast.BV
FIELDS = ("t.value", "t.mask", "umin", "umax", "smin", "smax", "u32min", "u32max", "s32min", "s32max")
FIELD_BITS = {"t.value": 64, "t.mask": 64, "umin": 64, "umax": 64, "smin": 64, "smax": 64,
              "u32min": 32, "u32max": 32, "s32min": 32, "s32max": 32}
SIGNED = {"smin", "smax", "s32min", "s32max"}


def lo32(x: BV) -> BV:
    return x[31:0]


def zx(x: BV, bits: int = 64) -> BV:
    return x.zero_extend(bits - x.size()) if x.size() < bits else x


def sx(x: BV, bits: int = 64) -> BV:
    return x.sign_extend(bits - x.size()) if x.size() < bits else x


def _nz(y: BV) -> BV:
    """y, or 1 where y == 0 (every use is guarded by y == 0; this only keeps
    concrete evaluation from dividing by zero)."""
    return claripy.If(y == 0, claripy.BVV(1, y.size()), y)


def _div(x: BV, y: BV) -> BV:
    return claripy.If(y == 0, claripy.BVV(0, x.size()), x / _nz(y))


def _mod(x: BV, y: BV) -> BV:
    return claripy.If(y == 0, x, x % _nz(y))


def _sdiv(x: BV, y: BV) -> BV:
    n = x.size()
    return claripy.If(y == 0, claripy.BVV(0, n),
                      claripy.If(y == claripy.BVV(-1 & ((1 << n) - 1), n), -x, x.SDiv(_nz(y))))


def _smod(x: BV, y: BV) -> BV:
    n = x.size()
    return claripy.If(y == 0, x,
                      claripy.If(y == claripy.BVV(-1 & ((1 << n) - 1), n), claripy.BVV(0, n), x.SMod(_nz(y))))


def _bin(f64: Callable[[BV, BV], BV], f32: Callable[[BV, BV], BV] | None = None):
    f32 = f32 or f64
    return (lambda x, y: f64(x, y)), (lambda x, y: zx(f32(lo32(x), lo32(y))))


def _bswap(x: BV, bits: int) -> BV:
    return zx(x[bits - 1:0].reversed)


_BIN = {
    "add": _bin(lambda x, y: x + y),
    "sub": _bin(lambda x, y: x - y),
    "mul": _bin(lambda x, y: x * y),
    "div": _bin(_div),
    "mod": _bin(_mod),
    "sdiv": _bin(_sdiv),
    "smod": _bin(_smod),
    "and": _bin(lambda x, y: x & y),
    "or": _bin(lambda x, y: x | y),
    "xor": _bin(lambda x, y: x ^ y),
    "lsh": _bin(lambda x, y: x << (y & 63), lambda x, y: x << (y & 31)),
    "rsh": _bin(lambda x, y: x.LShR(y & 63), lambda x, y: x.LShR(y & 31)),
    "arsh": _bin(lambda x, y: x >> (y & 63), lambda x, y: x >> (y & 31)),  # claripy >> is arithmetic
}

#: binary ALU semantics: name -> f(x, y) -> 64-bit result
ALU2: dict[str, Callable[[BV, BV], BV]] = {}
for _n, (_f64, _f32) in _BIN.items():
    ALU2[_n + "64"] = _f64
    ALU2[_n + "32"] = _f32

#: unary ALU semantics: name -> f(x) -> 64-bit result
ALU1: dict[str, Callable[[BV], BV]] = {
    "neg64": lambda x: -x,
    "neg32": lambda x: zx(-lo32(x)),
    "mov64": lambda x: x,
    "mov32": lambda x: zx(lo32(x)),
    "le16": lambda x: zx(x[15:0]),
    "le32": lambda x: zx(lo32(x)),
    "le64": lambda x: x,
    "be16": lambda x: _bswap(x, 16),
    "be32": lambda x: _bswap(x, 32),
    "be64": lambda x: _bswap(x, 64),
    "bswap16": lambda x: _bswap(x, 16),
    "bswap32": lambda x: _bswap(x, 32),
    "bswap64": lambda x: _bswap(x, 64),
    "movsx64_s8": lambda x: sx(x[7:0]),
    "movsx64_s16": lambda x: sx(x[15:0]),
    "movsx64_s32": lambda x: sx(x[31:0]),
    "movsx32_s8": lambda x: zx(sx(x[7:0], 32)),
    "movsx32_s16": lambda x: zx(sx(x[15:0], 32)),
}


def _cmp(f):
    def cond(x: BV, y: BV, is32: bool):
        if is32:
            x, y = lo32(x), lo32(y)
        return f(x, y)
    return cond


#: conditional jumps: name -> cond(x, y, is32) -> Bool (taken)
COND = {
    "jeq": _cmp(lambda x, y: x == y),
    "jne": _cmp(lambda x, y: x != y),
    "jgt": _cmp(lambda x, y: x.UGT(y)),
    "jge": _cmp(lambda x, y: x.UGE(y)),
    "jlt": _cmp(lambda x, y: x.ULT(y)),
    "jle": _cmp(lambda x, y: x.ULE(y)),
    "jsgt": _cmp(lambda x, y: x.SGT(y)),
    "jsge": _cmp(lambda x, y: x.SGE(y)),
    "jslt": _cmp(lambda x, y: x.SLT(y)),
    "jsle": _cmp(lambda x, y: x.SLE(y)),
    "jset": _cmp(lambda x, y: (x & y) != 0),
}
#: BPF_OP() codes of the conditions (uapi)
JMP_CODE = {"jeq": 0x10, "jgt": 0x20, "jge": 0x30, "jset": 0x40, "jne": 0x50, "jsgt": 0x60,
            "jsge": 0x70, "jlt": 0xa0, "jle": 0xb0, "jslt": 0xc0, "jsle": 0xd0}


# ---------------------------------------------------------------------------
# the abstract domain's meaning

def member_parts(s: dict[str, BV], x: BV) -> dict[str, claripy.ast.Bool]:
    """Each component's membership condition for x (a 64-bit term) in state s."""
    x32 = lo32(x)
    return {
        "tnum": (x & ~s["t.mask"]) == s["t.value"],
        "u64": claripy.And(s["umin"].ULE(x), x.ULE(s["umax"])),
        "s64": claripy.And(s["smin"].SLE(x), x.SLE(s["smax"])),
        "u32": claripy.And(s["u32min"].ULE(x32), x32.ULE(s["u32max"])),
        "s32": claripy.And(s["s32min"].SLE(x32), x32.SLE(s["s32max"])),
    }


def member(s: dict[str, BV], x: BV) -> claripy.ast.Bool:
    """bpf_range.h's membership: x is a member of state s."""
    return claripy.And(*member_parts(s, x).values())


def invariant(s: dict[str, BV]) -> claripy.ast.Bool:
    """The "sync invariant" assumed of inputs by the *_synced checks: the
    tristate number is well formed, and each interval lies within the bounds the
    tnum implies (what bpf_range_sync's final tnum_to_bounds step establishes on
    every state it returns, except the malformed-tnum early exit, which returns
    an empty state)."""
    v, m = s["t.value"], s["t.mask"]
    v32, m32 = lo32(v), lo32(m)
    sign64 = claripy.BVV(1 << 63, 64)
    sign32 = claripy.BVV(1 << 31, 32)
    return claripy.And(
        (v & m) == 0,
        s["umin"].UGE(v), s["umax"].ULE(v | m),
        s["smin"].SGE(v | (m & sign64)), s["smax"].SLE(v | (m & ~sign64)),
        s["u32min"].UGE(v32), s["u32max"].ULE(v32 | m32),
        s["s32min"].SGE(v32 | (m32 & sign32)), s["s32max"].SLE(v32 | (m32 & ~sign32)),
    )


def is_empty_obvious(s: dict[str, BV]) -> claripy.ast.Bool:
    return claripy.Or(s["umin"].UGT(s["umax"]), s["smin"].SGT(s["smax"]),
                      s["u32min"].UGT(s["u32max"]), s["s32min"].SGT(s["s32max"]),
                      (s["t.value"] & s["t.mask"]) != 0)


# ---------------------------------------------------------------------------
# plain-Python versions, for concrete replay and the hypothesis tests

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1


def s64(v: int) -> int:
    v &= M64
    return v - (1 << 64) if v >> 63 else v


def s32(v: int) -> int:
    v &= M32
    return v - (1 << 32) if v >> 31 else v


def concrete_alu(name: str, x: int, y: int | None = None) -> int:
    """Evaluate the model on concrete values (through claripy's evaluator)."""
    xv = claripy.BVV(x & M64, 64)
    if name in ALU1:
        t = ALU1[name](xv)
    else:
        t = ALU2[name](xv, claripy.BVV((y or 0) & M64, 64))
    return t.concrete_value if hasattr(t, "concrete_value") else claripy.Solver().eval(t, 1)[0]


def concrete_member(s: dict[str, int], x: int) -> bool:
    x &= M64
    x32 = x & M32
    sv = {k: (s64(v) if k in ("smin", "smax") else s32(v) if k in ("s32min", "s32max") else v)
          for k, v in s.items()}
    return ((x & ~s["t.mask"]) & M64) == s["t.value"] and s["umin"] <= x <= s["umax"] and \
        sv["smin"] <= s64(x) <= sv["smax"] and s["u32min"] <= x32 <= s["u32max"] and \
        sv["s32min"] <= s32(x32) <= sv["s32max"]

"""Assembler and disassembler for the uBPF / conformance-suite text dialect.

One instruction per line; ``#`` starts a comment; ``name:`` defines a label.
Registers are ``%r0``..``%r10`` (``r0`` is accepted too). Examples::

    mov32 %r0, 0          add %r1, %r2          sdiv32 %r0, -4
    ldxdw %r1, [%r2+8]    ldxsb %r0, [%r1+2]    stw [%r10-4], 7
    stxdw [%r10-8], %r0   lddw %r0, 0x1122334455667788
    jeq %r1, 0x5, +2      jne %r0, 15, failed   ja32 +1
    lock add [%r10-8], %r1        lock fetch add32 [%r10-4], %r1
    lock xchg [%r10-8], %r1       lock cmpxchg [%r10-8], %r1
    movsx832 %r0, %r1     movsx3264 %r0, %r1    le16 %r0   be32 %r0   bswap64 %r0
    call 1                call local func1      exit

Jump targets are ``+N``/``-N`` (relative to the next instruction) or labels;
``exit`` as a target names the program's first ``exit``. 64-bit immediate loads
of the RFC's other forms use (axiom) pseudo-functions:
``lddw %r1, map_fd(3)``, ``map_value(3, 8)``, ``map_idx(0)``,
``map_idx_value(0, 8)``, ``var_addr(5)``, ``code_addr(+2)``.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from .errors import AsmError

# classes
LD, LDX, ST, STX, ALU, JMP, JMP32, ALU64 = range(8)
SIZES = {"w": 0x00, "h": 0x08, "b": 0x10, "dw": 0x18}
SIZE_NAME = {v: k for k, v in SIZES.items()}
MEM, MEMSX, ATOMIC, IMM = 0x60, 0x80, 0xC0, 0x00

ALU_OPS = {
    "add": 0x00, "sub": 0x10, "mul": 0x20, "div": 0x30, "or": 0x40, "and": 0x50,
    "lsh": 0x60, "rsh": 0x70, "neg": 0x80, "mod": 0x90, "xor": 0xA0, "mov": 0xB0,
    "arsh": 0xC0,
}
ALU_NAME = {v: k for k, v in ALU_OPS.items()}
JMP_OPS = {
    "jeq": 0x10, "jgt": 0x20, "jge": 0x30, "jset": 0x40, "jne": 0x50, "jsgt": 0x60,
    "jsge": 0x70, "jlt": 0xA0, "jle": 0xB0, "jslt": 0xC0, "jsle": 0xD0,
}
JMP_NAME = {v: k for k, v in JMP_OPS.items()}
ATOMIC_OPS = {"add": 0x00, "or": 0x40, "and": 0x50, "xor": 0xA0}
ATOMIC_NAME = {v: k for k, v in ATOMIC_OPS.items()}
FETCH, XCHG, CMPXCHG = 0x01, 0xE1, 0xF1
LDDW_FORMS = {"map_fd": 1, "map_value": 2, "var_addr": 3, "code_addr": 4, "map_idx": 5,
              "map_idx_value": 6}
LDDW_NAME = {v: k for k, v in LDDW_FORMS.items()}


@dataclass
class Insn:
    code: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0

    def pack(self) -> bytes:
        return struct.pack("<BBhi", self.code, (self.src << 4) | self.dst, self.off, self.imm)

    @classmethod
    def unpack(cls, b: bytes) -> "Insn":
        code, regs, off, imm = struct.unpack("<BBhi", b)
        return cls(code, regs & 0xF, regs >> 4, off, imm)


_REG = re.compile(r"^%?r(\d+)$")
_MEMREF = re.compile(r"^\[\s*%?r(\d+)\s*(?:([+-])\s*(\w+))?\s*\]$")


def _int(text: str, line: int) -> int:
    try:
        return int(text.replace("_", ""), 0)
    except ValueError:
        raise AsmError(f"line {line}: invalid number '{text}'") from None


def _reg(text: str, line: int) -> int:
    m = _REG.match(text.strip())
    if not m or int(m.group(1)) > 10:
        raise AsmError(f"line {line}: invalid register '{text.strip()}'")
    return int(m.group(1))


def _is_reg(text: str) -> bool:
    return bool(_REG.match(text.strip()))


def _mem(text: str, line: int) -> tuple[int, int]:
    m = _MEMREF.match(text.strip())
    if not m:
        raise AsmError(f"line {line}: invalid memory operand '{text.strip()}' (expected [%rN+off])")
    reg = int(m.group(1))
    if reg > 10:
        raise AsmError(f"line {line}: invalid register r{reg}")
    off = _int(m.group(3), line) if m.group(3) else 0
    if m.group(2) == "-":
        off = -off
    _check_range(off, 16, line, "offset")
    return reg, off


def _check_range(v: int, bits: int, line: int, what: str) -> None:
    lo, hi = -(1 << (bits - 1)), (1 << bits) - 1
    if not lo <= v <= hi:
        raise AsmError(f"line {line}: {what} {v} does not fit in {bits} bits")


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _s16(v: int) -> int:
    v &= 0xFFFF
    return v - (1 << 16) if v & 0x8000 else v


def _split_operands(rest: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in rest:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _strip_comment(line: str) -> str:
    i = line.find("#")
    return line if i < 0 else line[:i]


def assemble(text: str) -> bytes:
    """Assemble ``text``; returns the program bytes (8 bytes per instruction)."""
    return b"".join(i.pack() for i in assemble_insns(text))


def assemble_insns(text: str) -> list[Insn]:
    # pass 1: labels and instruction positions
    stmts: list[tuple[int, str, list[str], int]] = []  # (line, mnemonic, operands, pc)
    labels: dict[str, int] = {}
    pc = 0
    first_exit = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw).strip()
        while line:
            m = re.match(r"^([A-Za-z_.][\w.]*)\s*:(.*)$", line)
            if not m:
                break
            if m.group(1) in labels:
                raise AsmError(f"line {lineno}: duplicate label '{m.group(1)}'")
            labels[m.group(1)] = pc
            line = m.group(2).strip()
        if not line:
            continue
        parts = line.split(None, 1)
        mnem = parts[0].lower()
        rest = parts[1] if len(parts) > 1 else ""
        if mnem == "lock":
            sub = rest.split(None, 1)
            mnem = "lock " + sub[0].lower()
            rest = sub[1] if len(sub) > 1 else ""
            if mnem == "lock fetch":
                sub = rest.split(None, 1)
                mnem = "lock fetch " + (sub[0].lower() if sub else "")
                rest = sub[1] if len(sub) > 1 else ""
        if mnem == "call" and rest.strip().lower().startswith("local"):
            mnem, rest = "call local", rest.strip()[5:].strip()
        if mnem == "exit" and first_exit is None:
            first_exit = pc
        stmts.append((lineno, mnem, _split_operands(rest), pc))
        pc += 2 if mnem == "lddw" else 1
    if first_exit is not None and "exit" not in labels:
        labels["exit"] = first_exit

    out: list[Insn] = []
    for lineno, mnem, ops, pc in stmts:
        out.extend(_encode(lineno, mnem, ops, pc, labels))
    return out


def _target(text: str, pc: int, labels: dict[str, int], line: int, bits: int) -> int:
    t = text.strip()
    if re.match(r"^[+-]?(0x[0-9a-fA-F]+|\d+)$", t):
        v = _int(t, line)
    elif t in labels:
        v = labels[t] - pc - 1
    else:
        raise AsmError(f"line {line}: unknown label '{t}'")
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if not lo <= v <= hi:
        raise AsmError(f"line {line}: jump offset {v} does not fit in {bits} bits")
    return v


def _want(ops: list[str], n: int, mnem: str, line: int) -> None:
    if len(ops) != n:
        raise AsmError(f"line {line}: '{mnem}' takes {n} operand{'s' if n != 1 else ''}, got {len(ops)}")


def _encode(line: int, mnem: str, ops: list[str], pc: int, labels: dict[str, int]) -> list[Insn]:
    # --- ALU ---
    m = re.match(r"^(s?div|s?mod|add|sub|mul|or|and|lsh|rsh|neg|xor|mov|arsh)(32|64)?$", mnem)
    if m:
        name, width = m.group(1), m.group(2)
        cls = ALU if width == "32" else ALU64
        signed = name.startswith("s") and name in ("sdiv", "smod")
        op = ALU_OPS[name[1:] if signed else name]
        if name == "neg":
            _want(ops, 1, mnem, line)
            return [Insn(cls | op, _reg(ops[0], line))]
        _want(ops, 2, mnem, line)
        dst = _reg(ops[0], line)
        off = 1 if signed else 0
        if _is_reg(ops[1]):
            return [Insn(cls | op | 0x08, dst, _reg(ops[1], line), off, 0)]
        imm = _int(ops[1], line)
        _check_range(imm, 32, line, "immediate")
        return [Insn(cls | op, dst, 0, off, _s32(imm))]
    m = re.match(r"^movsx(8|16|32)(32|64)$", mnem)
    if m:
        _want(ops, 2, mnem, line)
        bits, width = int(m.group(1)), m.group(2)
        if width == "32" and bits == 32:
            raise AsmError(f"line {line}: movsx3232 does not exist")
        cls = ALU if width == "32" else ALU64
        return [Insn(cls | 0xB0 | 0x08, _reg(ops[0], line), _reg(ops[1], line), bits, 0)]
    m = re.match(r"^(le|be|bswap)(16|32|64)$", mnem)
    if m:
        _want(ops, 1, mnem, line)
        kind, bits = m.group(1), int(m.group(2))
        code = {"le": ALU | 0xD0, "be": ALU | 0xD0 | 0x08, "bswap": ALU64 | 0xD0}[kind]
        return [Insn(code, _reg(ops[0], line), 0, 0, bits)]
    # --- memory ---
    m = re.match(r"^ldx(s)?(b|h|w|dw)$", mnem)
    if m:
        _want(ops, 2, mnem, line)
        if m.group(1) and m.group(2) == "dw":
            raise AsmError(f"line {line}: ldxsdw does not exist")
        src, off = _mem(ops[1], line)
        mode = MEMSX if m.group(1) else MEM
        return [Insn(LDX | mode | SIZES[m.group(2)], _reg(ops[0], line), src, off, 0)]
    m = re.match(r"^st(x)?(b|h|w|dw)$", mnem)
    if m:
        _want(ops, 2, mnem, line)
        dst, off = _mem(ops[0], line)
        if m.group(1):
            return [Insn(STX | MEM | SIZES[m.group(2)], dst, _reg(ops[1], line), off, 0)]
        imm = _int(ops[1], line)
        _check_range(imm, 32, line, "immediate")
        return [Insn(ST | MEM | SIZES[m.group(2)], dst, 0, off, _s32(imm))]
    m = re.match(r"^lock (fetch )?(add|or|and|xor|xchg|cmpxchg)(32|64)?$", mnem)
    if m:
        _want(ops, 2, mnem, line)
        fetch, name, width = bool(m.group(1)), m.group(2), m.group(3)
        size = SIZES["w"] if width == "32" else SIZES["dw"]
        if name == "xchg":
            imm = XCHG
        elif name == "cmpxchg":
            imm = CMPXCHG
        else:
            imm = ATOMIC_OPS[name] | (FETCH if fetch else 0)
        dst, off = _mem(ops[0], line)
        return [Insn(STX | ATOMIC | size, dst, _reg(ops[1], line), off, imm)]
    if mnem == "lddw":
        _want(ops, 2, mnem, line)
        dst = _reg(ops[0], line)
        fm = re.match(r"^(\w+)\s*\((.*)\)$", ops[1].strip())
        if fm and fm.group(1) in LDDW_FORMS:
            src = LDDW_FORMS[fm.group(1)]
            args = [a.strip() for a in fm.group(2).split(",") if a.strip()]
            want = 2 if src in (2, 6) else 1
            if len(args) != want:
                raise AsmError(f"line {line}: {fm.group(1)}() takes {want} argument(s)")
            if src == 4:
                imm = _target(args[0], pc, labels, line, 32)
            else:
                imm = _int(args[0], line)
            nxt = _int(args[1], line) if want == 2 else 0
            return [Insn(LD | IMM | 0x18, dst, src, 0, _s32(imm)), Insn(0, 0, 0, 0, _s32(nxt))]
        v = _int(ops[1], line)
        if not -(1 << 63) <= v < (1 << 64):
            raise AsmError(f"line {line}: immediate {v} does not fit in 64 bits")
        v &= (1 << 64) - 1
        return [Insn(LD | IMM | 0x18, dst, 0, 0, _s32(v)), Insn(0, 0, 0, 0, _s32(v >> 32))]
    # --- jumps ---
    if mnem in ("ja", "ja32"):
        _want(ops, 1, mnem, line)
        if mnem == "ja":
            return [Insn(JMP | 0x00, 0, 0, _target(ops[0], pc, labels, line, 16), 0)]
        return [Insn(JMP32 | 0x00, 0, 0, 0, _target(ops[0], pc, labels, line, 32))]
    m = re.match(r"^(j[a-z]+?)(32)?$", mnem)
    if m and m.group(1) in JMP_OPS:
        _want(ops, 3, mnem, line)
        cls = JMP32 if m.group(2) else JMP
        op = JMP_OPS[m.group(1)]
        dst = _reg(ops[0], line)
        off = _target(ops[2], pc, labels, line, 16)
        if _is_reg(ops[1]):
            return [Insn(cls | op | 0x08, dst, _reg(ops[1], line), off, 0)]
        imm = _int(ops[1], line)
        _check_range(imm, 32, line, "immediate")
        return [Insn(cls | op, dst, 0, off, _s32(imm))]
    if mnem == "call":
        _want(ops, 1, mnem, line)
        return [Insn(JMP | 0x80, 0, 0, 0, _s32(_int(ops[0], line)))]
    if mnem == "call local":
        _want(ops, 1, mnem, line)
        return [Insn(JMP | 0x80, 0, 1, 0, _target(ops[0], pc, labels, line, 32))]
    if mnem == "exit":
        _want(ops, 0, mnem, line)
        return [Insn(JMP | 0x90)]
    if mnem == ".insn":  # raw encoding: code, dst, src, off, imm
        _want(ops, 5, mnem, line)
        code, dst, src, off, imm = (_int(o, line) for o in ops)
        if not (0 <= code < 256 and 0 <= dst < 16 and 0 <= src < 16):
            raise AsmError(f"line {line}: .insn field out of range")
        _check_range(off, 16, line, "offset")
        _check_range(imm, 32, line, "immediate")
        return [Insn(code, dst, src, _s16(off), _s32(imm))]
    raise AsmError(f"line {line}: unknown instruction '{mnem}'")


# ----------------------------------------------------------------- disassembler

def _imm_text(v: int) -> str:
    return str(v) if -4096 < v < 4096 else (hex(v) if v >= 0 else "-" + hex(-v))


def _off_text(v: int) -> str:
    return f"+{v}" if v >= 0 else str(v)


def _memref(reg: int, off: int) -> str:
    return f"[%r{reg}{'+' if off >= 0 else '-'}{abs(off)}]"


def _is_pair(insns: list[Insn], i: int) -> bool:
    """insns[i:i+2] is a lddw the text form can express."""
    if insns[i].code != 0x18 or i + 1 >= len(insns) or insns[i].off or insns[i].dst > 10:
        return False
    hi = insns[i + 1]
    if hi.code or hi.dst or hi.src or hi.off or insns[i].src > 6:
        return False
    return insns[i].src in (0, 2, 6) or hi.imm == 0  # one-argument forms print no offset


def disassemble_insn(insns: list[Insn], i: int) -> str:
    """Text of instruction ``i`` (lddw uses ``i+1`` too). Unknown encodings
    become ``.insn`` lines so any byte string round-trips through text."""
    n = insns[i]
    cls, op = n.code & 7, n.code & 0xF0
    x = bool(n.code & 0x08)
    raw = f".insn 0x{n.code:02x}, {n.dst}, {n.src}, {n.off}, {n.imm}"
    if n.dst > 10 or n.src > 10:
        return raw
    if cls in (ALU, ALU64):
        sfx = "32" if cls == ALU else ""
        if op == 0xD0:
            if n.src or n.off or n.imm not in (16, 32, 64) or (cls == ALU64 and x):
                return raw
            kind = "bswap" if cls == ALU64 else ("be" if x else "le")
            return f"{kind}{n.imm} %r{n.dst}"
        if op == 0x80:
            return f"neg{sfx} %r{n.dst}" if not (x or n.src or n.off or n.imm) else raw
        if op not in ALU_NAME:
            return raw
        name = ALU_NAME[op]
        if op == 0xB0 and x and n.off in ((8, 16, 32) if cls == ALU64 else (8, 16)):
            return f"movsx{n.off}{'32' if cls == ALU else '64'} %r{n.dst}, %r{n.src}"
        if op in (0x30, 0x90) and n.off == 1:
            name = "s" + name
        elif n.off:
            return raw
        if x:
            return raw if n.imm else f"{name}{sfx} %r{n.dst}, %r{n.src}"
        return raw if n.src else f"{name}{sfx} %r{n.dst}, {_imm_text(n.imm)}"
    if cls == LD:
        if not _is_pair(insns, i):
            return raw
        hi = insns[i + 1]
        if n.src == 0:
            v = (n.imm & 0xFFFFFFFF) | ((hi.imm & 0xFFFFFFFF) << 32)
            return f"lddw %r{n.dst}, 0x{v:x}"
        if n.src in LDDW_NAME:
            name = LDDW_NAME[n.src]
            if n.src in (2, 6):
                return f"lddw %r{n.dst}, {name}({n.imm}, {hi.imm})"
            if n.src == 4:
                return f"lddw %r{n.dst}, {name}({_off_text(n.imm)})"
            return f"lddw %r{n.dst}, {name}({n.imm})"
        return raw
    size = n.code & 0x18
    mode = n.code & 0xE0
    if cls == LDX and mode in (MEM, MEMSX) and not (mode == MEMSX and size == 0x18) and not n.imm:
        s = "s" if mode == MEMSX else ""
        return f"ldx{s}{SIZE_NAME[size]} %r{n.dst}, {_memref(n.src, n.off)}"
    if cls == ST and mode == MEM and not n.src:
        return f"st{SIZE_NAME[size]} {_memref(n.dst, n.off)}, {_imm_text(n.imm)}"
    if cls == STX and mode == MEM and not n.imm:
        return f"stx{SIZE_NAME[size]} {_memref(n.dst, n.off)}, %r{n.src}"
    if cls == STX and mode == ATOMIC and size in (0x00, 0x18):
        sfx = "32" if size == 0x00 else ""
        if n.imm == XCHG:
            name = "xchg"
        elif n.imm == CMPXCHG:
            name = "cmpxchg"
        elif (n.imm & ~FETCH) in ATOMIC_NAME:
            name = ("fetch " if n.imm & FETCH else "") + ATOMIC_NAME[n.imm & ~FETCH]
        else:
            return raw
        return f"lock {name}{sfx} {_memref(n.dst, n.off)}, %r{n.src}"
    if cls in (JMP, JMP32):
        if op == 0x00:
            if x or n.src or n.dst or (n.imm if cls == JMP else n.off):
                return raw
            return f"ja {_off_text(n.off)}" if cls == JMP else f"ja32 {_off_text(n.imm)}"
        if op == 0x80 and cls == JMP:
            if x or n.dst or n.off or n.src > 1:
                return raw
            return f"call local {_off_text(n.imm)}" if n.src == 1 else f"call {n.imm}"
        if op == 0x90 and cls == JMP:
            return raw if (x or n.dst or n.src or n.off or n.imm) else "exit"
        if op in JMP_NAME:
            if (x and n.imm) or (not x and n.src):
                return raw
            sfx = "32" if cls == JMP32 else ""
            rhs = f"%r{n.src}" if x else _imm_text(n.imm)
            return f"{JMP_NAME[op]}{sfx} %r{n.dst}, {rhs}, {_off_text(n.off)}"
    return raw


def disassemble(code: bytes) -> str:
    """Text of a program, one instruction per line."""
    if len(code) % 8:
        raise AsmError(f"program length {len(code)} is not a multiple of 8 bytes")
    insns = [Insn.unpack(code[i:i + 8]) for i in range(0, len(code), 8)]
    lines, i = [], 0
    while i < len(insns):
        lines.append(disassemble_insn(insns, i))
        i += 2 if _is_pair(insns, i) else 1
    return "\n".join(lines) + ("\n" if lines else "")

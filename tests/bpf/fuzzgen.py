"""Random and mutated eBPF programs for the verifier fuzzer.

Generated programs are biased toward what the verifier has to get right:
stack and memory accesses near the bounds, map lookups with and without null
checks, pointer arithmetic with bounded and unbounded scalars, branches that
refine ranges, spills of pointers, calls and loops. Mutations flip fields of
known-good programs (the verifier corpus and the .data corpus).
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

from axiomdbg.bpf.asm import Insn, assemble

ROOT = Path(__file__).resolve().parents[2]
ALU_OPS = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xA0, 0xB0, 0xC0]
JMP_OPS = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xA0, 0xB0, 0xC0, 0xD0]
SIZES = [0x00, 0x08, 0x10, 0x18]
NICE_IMMS = [0, 1, 2, 4, 7, 8, 15, 16, 31, 32, 56, 60, 63, 64, 65, -1, -8, -16, 255, 512, 0x7FFFFFFF,
             -0x80000000]


def _imm(r: random.Random) -> int:
    return r.choice(NICE_IMMS) if r.random() < 0.7 else r.randint(-0x80000000, 0x7FFFFFFF)


def _lookup(r: random.Random) -> list[Insn]:
    """key on the stack, map lookup, optional null check, value access."""
    m = r.choice([0, 0, 1])
    out = [Insn(0x62, 10, 0, -4, r.randint(0, 5)),          # stw [r10-4], k
           Insn(0x18, 1, 5, 0, m), Insn(0, 0, 0, 0, 0),        # lddw r1, map_idx(m)
           Insn(0xBF, 2, 10, 0, 0), Insn(0x07, 2, 0, 0, -4),   # r2 = r10 - 4
           Insn(0x85, 0, 0, 0, 1)]                             # call map_lookup_elem
    if r.random() < 0.85:
        out.append(Insn(0x15, 0, 0, 2 + (r.random() < 0.5), 0))  # if r0 == 0 skip
    off = r.choice([0, 4, 8, 12, 16, -8, r.randint(-16, 24)])
    out.append(Insn(0x61 | r.choice(SIZES), r.randint(3, 5), 0, off, 0))  # ldx rN, [r0+off]
    out.append(Insn(0x7A | r.choice([0x00, 0x18]), 0, 0, r.choice([0, 8, 12, 16]), 1))  # st [r0+off]
    return out


def _join(r: random.Random) -> list[Insn]:
    """Two paths give a register different values, then join and use it as an
    offset (directly, through ALU, or through a stack spill): the pruning of the
    second path must respect precision."""
    a, b = r.choice([0, 8, 56, 57, 64, 100]), r.choice([0, 8, 56, 57, 64, 100])
    out = [Insn(0x71, 2, 1, r.randint(0, 7), 0),           # r2 = *(u8 *)(r1 + k)
           Insn(0xB7, 3, 0, 0, a),                          # r3 = a
           Insn(0x15, 2, 0, 1, 0),                          # if r2 == 0 skip
           Insn(0xB7, 3, 0, 0, b)]                          # r3 = b
    how = r.random()
    if how < 0.3:
        out += [Insn(0x7B, 10, 3, -24, 0), Insn(0x79, 3, 10, -24, 0)]   # spill and fill
    elif how < 0.5:
        out += [Insn(0xBF, 5, 3, 0, 0), Insn(0x07, 5, 0, 0, 0), Insn(0xBF, 3, 5, 0, 0)]
    if r.random() < 0.3:  # a decided branch on the joined value
        out += [Insn(0x55, 3, 0, 1, a), Insn(0x71, 4, 1, r.choice([0, 70, 100]), 0)]
    out += [Insn(0xBF, 4, 1, 0, 0), Insn(0x0F, 4, 3, 0, 0),     # r4 = r1 + r3
            Insn(0x71 | r.choice(SIZES), 5, 4, 0, 0)]             # load through r4
    return out


def random_program(r: random.Random, length: int = 24) -> bytes:
    insns: list[Insn] = [Insn(0xB7, 0, 0, 0, 0)]  # r0 = 0
    for reg in range(2, 10):
        if r.random() < 0.6:
            insns.append(Insn(0xB7, reg, 0, 0, _imm(r)))
    while len(insns) < length:
        k = r.random()
        d, s = r.randint(0, 9), r.randint(0, 10)
        if k < 0.25:
            cls = r.choice([0x07, 0x04])
            op = r.choice(ALU_OPS)
            if r.random() < 0.5:
                insns.append(Insn(cls | op | 0x08, d, s, 1 if op in (0x30, 0x90) and r.random() < 0.3 else 0, 0))
            else:
                imm = _imm(r) if op not in (0x60, 0x70, 0xC0) else r.randint(0, 70)
                insns.append(Insn(cls | op, d, 0, 0, imm))
        elif k < 0.40:  # loads from mem (r1), stack or another register
            base = r.choice([1, 10, 10, s])
            off = r.choice([0, 8, 56, 60, 64, -8, -512, -516, r.randint(-520, 72)])
            insns.append(Insn(0x61 | r.choice(SIZES) | (0x20 if r.random() < 0.15 else 0), d, base, off, 0))
        elif k < 0.55:  # stores
            base = r.choice([1, 10, 10, d])
            off = r.choice([0, 8, 56, 60, 64, -8, -16, -512, r.randint(-520, 72)])
            if r.random() < 0.5:
                insns.append(Insn(0x63 | r.choice(SIZES), base, s, off, 0))
            else:
                insns.append(Insn(0x62 | r.choice(SIZES), base, 0, off, _imm(r)))
        elif k < 0.62:  # pointer arithmetic on r1 or a stack pointer
            p = r.choice([1, 6, 7])
            if p != 1:
                insns.append(Insn(0xBF, p, 10, 0, 0))
            if r.random() < 0.5:
                insns.append(Insn(0x0F, p, d, 0, 0))
            else:
                insns.append(Insn(0x07, p, 0, 0, r.choice([-520, -64, -8, 8, 60, 64, 100])))
            insns.append(Insn(0x61 | r.choice(SIZES), r.randint(2, 5), p, r.choice([0, 4, -4]), 0))
        elif k < 0.72:  # bounds checks that refine ranges
            cls = r.choice([0x05, 0x06])
            insns.append(Insn(cls | r.choice(JMP_OPS) | (0x08 if r.random() < 0.3 else 0), d,
                              s if r.random() < 0.3 else 0, r.randint(0, 4), _imm(r) if r.random() < 0.7 else 0))
        elif k < 0.80:
            insns.extend(_lookup(r))
        elif k < 0.85:  # atomics
            off = r.choice([-8, -16, -12, 0, 8])
            base = r.choice([10, 1])
            insns.append(Insn(0x7B, base, d, off, 0))
            insns.append(Insn(0xC3 | r.choice([0x00, 0x18]), base, d, off,
                              r.choice([0x00, 0x01, 0x40, 0x41, 0x50, 0xA0, 0xE1, 0xF1])))
        elif k < 0.90:  # spill and fill
            off = r.choice([-8, -16, -24, -12])
            insns.append(Insn(0x7B, 10, s, off, 0))
            insns.append(Insn(0x79, d, 10, off, 0))
        elif k < 0.94:  # ring buffer output of stack or memory
            insns += [Insn(0x18, 1, 5, 0, 2), Insn(0, 0, 0, 0, 0), Insn(0xBF, 2, r.choice([10, 6]), 0, 0),
                      Insn(0x07, 2, 0, 0, r.choice([-8, -16, 0])), Insn(0xB7, 3, 0, 0, r.choice([1, 8, 16])),
                      Insn(0xB7, 4, 0, 0, 0), Insn(0x85, 0, 0, 0, 130)]
        elif k < 0.96:  # helpers without pointers
            insns.append(Insn(0x85, 0, 0, 0, r.choice([5, 7, 8, 14])))
        elif k < 0.985:
            insns.extend(_join(r))
        else:  # backward jump (loops: cloud profile)
            insns.append(Insn(0xA5, r.randint(0, 9), 0, -r.randint(1, 6), r.randint(1, 50)))
    insns.append(Insn(0xB7, 0, 0, 0, 0) if r.random() < 0.7 else Insn(0xBF, 0, r.randint(0, 10), 0, 0))
    insns.append(Insn(0x95))
    return b"".join(i.pack() for i in insns)


def mutate(r: random.Random, prog: bytes, n: int = 3) -> bytes:
    b = bytearray(prog)
    count = len(b) // 8
    for _ in range(n):
        i = r.randrange(count) * 8
        field = r.random()
        if field < 0.15:
            b[i] = r.randrange(256)
        elif field < 0.35:
            b[i + 1] = r.randrange(256) & (0xFF if r.random() < 0.2 else 0xAA)
        elif field < 0.65:
            struct.pack_into("<h", b, i + 2, struct.unpack_from("<h", b, i + 2)[0] + r.choice([-8, -4, -1, 1, 4, 8, 512]))
        else:
            struct.pack_into("<i", b, i + 4, max(-2**31, min(2**31 - 1, struct.unpack_from("<i", b, i + 4)[0] + r.choice([-1, 1, 8, 64, -64, 1 << 20]))))
    if r.random() < 0.05 and count > 1:  # truncation
        del b[-8 * r.randint(1, min(3, count - 1)):]
    return bytes(b)


def seed_programs() -> list[bytes]:
    """Known-good programs: accepted verifier corpus cases and .data programs."""
    from .corpus import all_cases
    from axiomdbg.bpf.data import load

    seeds = []
    for c in all_cases():
        if c.accept and c.prog_type == "mem" and not c.maps:
            seeds.append(assemble(c.asm))
    for p in sorted((ROOT / "fixtures/bpf/data").glob("*.data")):
        try:
            seeds.append(load(p).program)
        except Exception:
            pass
    return [s for s in seeds if s]


def write_batch(path: Path, programs: list[bytes]) -> None:
    with open(path, "wb") as f:
        for p in programs:
            f.write(struct.pack("<I", len(p) // 8))
            f.write(p[: len(p) // 8 * 8])


def batch(seed: int, count: int) -> list[bytes]:
    r = random.Random(seed)
    seeds = seed_programs()
    out = []
    for i in range(count):
        if i % 2 == 0:
            out.append(random_program(r, r.randint(4, 48)))
        else:
            out.append(mutate(r, r.choice(seeds), r.randint(1, 4)))
    return out

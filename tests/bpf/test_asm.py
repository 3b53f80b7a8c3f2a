"""Assembler / disassembler: the issue's examples, round trips, clear errors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from axiomdbg.bpf.asm import Insn, assemble, disassemble
from axiomdbg.bpf.data import load
from axiomdbg.bpf.errors import AsmError

ROOT = Path(__file__).resolve().parents[2]

# (text, expected encoding as (code, dst, src, off, imm) tuples)
EXAMPLES = [
    ("mov32 %r0, 0", [(0xB4, 0, 0, 0, 0)]),
    ("add %r1, %r2", [(0x0F, 1, 2, 0, 0)]),
    ("sdiv32 %r0, -4", [(0x34, 0, 0, 1, -4)]),
    ("ldxdw %r1, [%r2+8]", [(0x79, 1, 2, 8, 0)]),
    ("ldxsb %r0, [%r1+2]", [(0x91, 0, 1, 2, 0)]),
    ("stw [%r10-4], 7", [(0x62, 10, 0, -4, 7)]),
    ("stxdw [%r10-8], %r0", [(0x7B, 10, 0, -8, 0)]),
    ("lddw %r0, 0x1122334455667788", [(0x18, 0, 0, 0, 0x55667788), (0, 0, 0, 0, 0x11223344)]),
    ("jeq %r1, 0x5, +2", [(0x15, 1, 0, 2, 5)]),
    ("ja32 +1", [(0x06, 0, 0, 0, 1)]),
    ("lock add [%r10-8], %r1", [(0xDB, 10, 1, -8, 0x00)]),
    ("lock fetch add [%r10-8], %r1", [(0xDB, 10, 1, -8, 0x01)]),
    ("lock fetch add32 [%r10-4], %r1", [(0xC3, 10, 1, -4, 0x01)]),
    ("lock xchg [%r10-8], %r1", [(0xDB, 10, 1, -8, 0xE1)]),
    ("lock cmpxchg32 [%r10-4], %r1", [(0xC3, 10, 1, -4, 0xF1)]),
    ("movsx832 %r0, %r1", [(0xBC, 0, 1, 8, 0)]),
    ("movsx3264 %r0, %r1", [(0xBF, 0, 1, 32, 0)]),
    ("le16 %r0", [(0xD4, 0, 0, 0, 16)]),
    ("be32 %r0", [(0xDC, 0, 0, 0, 32)]),
    ("bswap64 %r0", [(0xD7, 0, 0, 0, 64)]),
    ("call 1", [(0x85, 0, 0, 0, 1)]),
    ("exit", [(0x95, 0, 0, 0, 0)]),
    ("smod %r3, %r4", [(0x9F, 3, 4, 1, 0)]),
    ("neg32 %r2", [(0x84, 2, 0, 0, 0)]),
    ("jsle32 %r1, %r2, -1", [(0xDE, 1, 2, -1, 0)]),
    ("lddw %r1, map_fd(3)", [(0x18, 1, 1, 0, 3), (0, 0, 0, 0, 0)]),
    ("lddw %r1, map_value(3, 8)", [(0x18, 1, 2, 0, 3), (0, 0, 0, 0, 8)]),
    ("lddw %r1, map_idx_value(0, 4)", [(0x18, 1, 6, 0, 0), (0, 0, 0, 0, 4)]),
]


@pytest.mark.parametrize("text,enc", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples_encode_and_round_trip(text, enc):
    code = assemble(text)
    assert code == b"".join(Insn(*e).pack() for e in enc)
    assert assemble(disassemble(code)) == code


def test_labels_and_exit_target():
    code = assemble("""
        jne %r0, 15, failed   # label as target
        call local func1
        ja exit
    failed:
        mov %r0, 1
        exit
    func1:
        mov %r0, 2
        exit
    """)
    insns = [Insn.unpack(code[i:i + 8]) for i in range(0, len(code), 8)]
    assert insns[0].off == 2            # to 'failed' at insn 3
    assert insns[1].src == 1 and insns[1].imm == 3   # call local to insn 5
    assert insns[2].off == 1            # 'exit' names the first exit (insn 4)


@pytest.mark.parametrize("path", sorted((ROOT / "fixtures/bpf/data").glob("*.data")), ids=lambda p: p.stem)
def test_corpus_round_trip(path):
    t = load(path)
    if "asm" not in t.sections:
        pytest.skip("raw program")
    code = t.program
    assert assemble(disassemble(code)) == code


def test_random_bytes_round_trip():
    r = random.Random(7)
    for _ in range(300):
        code = bytes(r.randrange(256) for _ in range(8 * r.randint(1, 12)))
        assert assemble(disassemble(code)) == code


@pytest.mark.parametrize("text,msg", [
    ("mov %r11, 1", "invalid register"),
    ("add %r1", "takes 2 operands"),
    ("frob %r1, 2", "unknown instruction 'frob'"),
    ("ja nowhere", "unknown label 'nowhere'"),
    ("ldxw %r0, %r1", "invalid memory operand"),
    ("stw [%r10-40000], 1", "does not fit in 16 bits"),
    ("mov %r0, 0x1ffffffff", "does not fit in 32 bits"),
    ("x:\nx:\nexit", "duplicate label"),
    ("movsx3232 %r0, %r1", "does not exist"),
    ("mov %r0, zz", "invalid number"),
])
def test_errors_name_the_line(text, msg):
    with pytest.raises(AsmError) as e:
        assemble(text)
    assert msg in str(e.value)
    assert str(e.value).startswith("line ")


def test_disasm_rejects_partial_insn():
    with pytest.raises(AsmError):
        disassemble(b"\x95\0\0")

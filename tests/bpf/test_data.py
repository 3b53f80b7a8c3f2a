"""The .data conformance corpus: >= 150 tests covering every opcode, run by the
kernel's interpreter (unverified: checked mode) and through the verifier."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from axiomdbg.bpf.asm import Insn
from axiomdbg.bpf.data import load, parse, run_test

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "fixtures/bpf/data").glob("*.data"))


def all_valid_opcodes() -> set[int]:
    """Every opcode byte RFC 9669 defines."""
    ops = set()
    for cls in (0x04, 0x07):
        for op in range(0x00, 0xD0, 0x10):
            for src in (0x00, 0x08):
                ops.add(cls | op | src)
        ops.add(cls | 0xD0 | (0x08 if cls == 0x04 else 0x00))
        ops.add(0x04 | 0xD0)
    for cls in (0x05, 0x06):
        for op in (0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xA0, 0xB0, 0xC0, 0xD0):
            for src in (0x00, 0x08):
                ops.add(cls | op | src)
        ops.add(cls | 0x00)
    ops |= {0x85, 0x95, 0x18}
    for size in (0x00, 0x08, 0x10, 0x18):
        ops |= {0x61 | size, 0x62 | size, 0x63 | size}
        if size != 0x18:
            ops.add(0x81 | size)
    ops |= {0xC3, 0xDB}
    ops.discard(0x8C)  # neg with X source is reserved
    ops.discard(0x8F)
    return ops


def test_corpus_size_and_opcode_coverage():
    assert len(FILES) >= 150
    seen = set()
    for f in FILES:
        t = load(f)
        if t.expects_error:
            continue
        code = t.program
        for i in range(0, len(code), 8):
            seen.add(Insn.unpack(code[i:i + 8]).code)
    missing = all_valid_opcodes() - seen
    assert not missing, f"opcodes without a passing test: {sorted(hex(m) for m in missing)}"


def test_generator_is_current():
    r = subprocess.run([sys.executable, str(ROOT / "tests/bpf/gen_data.py")], capture_output=True, text=True)
    assert r.returncode == 0
    status = subprocess.run(["git", "status", "--porcelain", "fixtures/bpf/data"], cwd=ROOT,
                            capture_output=True, text=True).stdout
    # the files are either untracked (new) or unchanged; regenerating must not modify them
    assert not any(line.startswith(" M") for line in status.splitlines())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_interpreter(path):
    o = run_test(load(path), verify=False, check_error_text=True)
    assert o.passed, o.detail


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_verified_cloud(path):
    o = run_test(load(path), verify=True, profile="cloud")
    assert o.passed, o.detail


def test_loops_need_cloud_profile():
    o = run_test(load(ROOT / "fixtures/bpf/data/loop_sum.data"), verify=True, profile="embedded")
    assert not o.passed and "back-edge" in o.detail


def test_parse_sections_and_comments():
    t = parse("# c\n-- asm\nmov %r0, 1 # one\nexit\n-- mem\n01 02\n# x\n-- result\n0x1\n-- other\nzz\n")
    assert t.memory == b"\x01\x02"
    assert t.expected_result == 1
    assert "other" in t.sections
    assert run_test(t).passed

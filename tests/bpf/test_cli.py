"""The `axiomdbg bpf` typer sub-application."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from axiomdbg.bpf.asm import assemble
from axiomdbg.bpf.cli import bpf_app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()


def run(*args, input=None):
    return runner.invoke(bpf_app, list(map(str, args)), input=input)


def test_asm_disasm_round_trip(tmp_path):
    src = tmp_path / "p.s"
    src.write_text("mov32 %r0, 0\nlock fetch add [%r10-8], %r1\nbswap64 %r0\nexit\n")
    out = tmp_path / "p.bin"
    r = run("asm", src, "-o", out)
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == assemble(src.read_text())
    r = run("disasm", out)
    assert r.exit_code == 0
    assert r.stdout == src.read_text()


def test_asm_error_is_one_line(tmp_path):
    src = tmp_path / "bad.s"
    src.write_text("mov %r0, 1\nfrob %r1\n")
    r = run("asm", src, "-o", tmp_path / "x")
    assert r.exit_code != 0
    assert "line 2: unknown instruction 'frob'" in r.output + (r.stderr if hasattr(r, "stderr") else "")
    assert "Traceback" not in r.output


def test_verify_accept_and_reject(tmp_path):
    ok = tmp_path / "ok.s"
    ok.write_text("mov %r0, 0\nexit\n")
    r = run("verify", ok)
    assert r.exit_code == 0 and "ACCEPTED" in r.stdout
    bad = tmp_path / "bad.s"
    bad.write_text("ldxdw %r0, [%r10-8]\nexit\n")
    r = run("verify", bad, "--log", "2")
    assert r.exit_code == 1
    assert "REJECTED" in r.stdout and "invalid read from stack" in r.stdout
    loop = tmp_path / "loop.s"
    loop.write_text("mov %r0, 0\ntop:\nadd %r0, 1\njlt %r0, 5, top\nexit\n")
    assert run("verify", loop).exit_code == 1
    assert run("verify", loop, "--profile", "cloud").exit_code == 0
    assert run("verify", loop, "--profile", "bogus").exit_code != 0


def test_verify_program_type(tmp_path):
    p = tmp_path / "p.s"
    p.write_text("ldxdw %r0, [%r1+0]\nmov %r0, -1\nexit\n")
    assert run("verify", p, "--type", "syscall_enter").exit_code == 0
    assert run("verify", p, "--type", "mem").exit_code == 1


def test_run_many_files():
    files = sorted((ROOT / "fixtures/bpf/data").glob("alu64_add*.data"))
    r = run("run", *files)
    assert r.exit_code == 0, r.stdout
    assert r.stdout.count("PASS") == len(files)
    assert f"{len(files)} passed, 0 failed" in r.stdout


def test_run_failure_exit_code(tmp_path):
    f = tmp_path / "wrong.data"
    f.write_text("-- asm\nmov %r0, 1\nexit\n-- result\n0x2\n")
    r = run("run", f)
    assert r.exit_code == 1 and "FAIL" in r.stdout and "expected 0x2" in r.stdout


def test_run_verify_flag():
    f = ROOT / "fixtures/bpf/data/ja_forward.data"
    assert run("run", f).exit_code == 0
    r = run("run", "--verify", f)
    assert r.exit_code == 0  # the file declares the verifier's rejection (-- verify-error)


def test_plugin_protocol():
    prog = assemble("ldxw %r0, [%r1+0]\nadd %r0, %r2\nexit\n")
    r = run("plugin", "01000000", input=prog)
    assert r.exit_code == 0 and r.stdout.strip() == "5"
    r = run("plugin", input=b"\xff" + b"\0" * 7)
    assert r.exit_code != 0 and "invalid opcode" in (r.stderr if hasattr(r, "stderr") else r.output)
    r = run("plugin", "zz", input=prog)
    assert r.exit_code != 0


def test_missing_file_one_line():
    r = run("verify", "/nonexistent/prog.s")
    assert r.exit_code != 0
    assert "Traceback" not in r.output

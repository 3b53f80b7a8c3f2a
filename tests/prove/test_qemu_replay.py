"""Counterexample programs replayed inside QEMU through the bpf syscall
(symbolic/qemu_replay.py).

For each seeded bug (fixtures/prove/seeded.json) the proof runs on the arch's
compiled kernel with the bug applied, its counterexample becomes an eBPF
program (bpfprog.synthesize), and the program is fed to `bpftool prog run`
in a guest booted from a kernel linked with the patched source: that kernel's
verifier must accept it and the run must return 0xbad with the concrete
result the proof found (from Z3) stored in the map. The real kernel must
reject the same program, at the never-written r5 of the `bad:` path. The host
build of the same (patched) sources is a second oracle for the verdict and
the stored value. Also: `attach_reproducers(qemu=True)` (what `prove verifier
--replay-qemu` runs) records the replay in the row and the reproducer JSON,
and broken input (a malformed program, a dead QEMU, a missing kernel) gives
one clear error line with QEMU gone afterwards."""

import json
from pathlib import Path

import pytest

from axiomdbg.prove import bpfprog, qemu_replay, reproduce, runner

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.qemu

ARCHES = ["x86_64", pytest.param("aarch64", marks=pytest.mark.slow), pytest.param("riscv64", marks=pytest.mark.slow)]
SEEDED = ["and32_lowbound", "add64_nooverflow"]


def _seeded(name):
    spec = json.loads((ROOT / "fixtures" / "prove" / "seeded.json").read_text())[name]
    src = (ROOT / "kernel" / "bpf" / spec["file"]).read_text()
    assert spec["old"] in src, f"seeded bug {name} no longer applies"
    return spec["op"], {spec["file"]: src.replace(spec["old"], spec["new"], 1)}


def _unsound_rows(arch, op, ov, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "CACHE_DIR", tmp_path / "cache")
    rows = runner.run_jobs(runner.make_jobs([arch], ["embedded"], [op], agree=False, overrides=ov,
                                            use_cache=False), 1)
    bad = [r for r in rows if r["status"] == "UNSOUND"]
    assert bad, rows
    return bad


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("name", SEEDED)
def test_seeded_counterexample_escapes_in_qemu(name, arch, tmp_path, monkeypatch):
    op, ov = _seeded(name)
    bad = _unsound_rows(arch, op, ov, tmp_path, monkeypatch)
    prog = bpfprog.synthesize(op, bad[0]["counterexample"], ov)
    z = prog["expect"]["escaped_value"]

    patched = qemu_replay.replay(prog, arch, ov)
    kernel = Path(patched["kernel"])
    assert kernel.parent.parent == qemu_replay.QEMU_DIR and kernel.name == "axiom.elf", patched
    assert patched["accepted"] is True and patched["r0"] == bpfprog.ESCAPED, (prog["asm"], patched)
    assert patched["escaped"] and patched["stored"] == z, (prog["asm"], patched)
    # x and y went in through the map value and are still there
    mem = bytes.fromhex(prog["mem"])
    assert bytes.fromhex(patched["maps"][0])[:16] == mem[:16]
    # the host build of the same patched sources agrees
    host = bpfprog.run_host(prog, ov)
    assert host["accepted"] and host["r0"] == patched["r0"] and host["stored"] == patched["stored"], host

    real = qemu_replay.replay(prog, arch, None)
    assert real["kernel"] == str(ROOT / "build" / f"{arch}-embedded" / "axiom.elf")
    assert real["accepted"] is False and real["errno"] == 13, real
    assert "R5" in real["reason"] and not real["escaped"], real
    assert real["maps"][0] == mem.hex(), "a rejected program must not have run"


def test_replay_qemu_is_recorded_in_rows_and_reproducer(tmp_path, monkeypatch):
    """What `prove verifier --replay-qemu` does after the proof."""
    op, ov = _seeded("add64_nooverflow")
    monkeypatch.setattr(reproduce, "REPRO_DIR", tmp_path / "repro")
    rows = _unsound_rows("x86_64", op, ov, tmp_path, monkeypatch)
    reproduce.attach_reproducers(rows, ov, qemu=True)
    for r in rows:
        q = r["qemu_replay"]
        assert q["arch"] == "x86_64" and q["accepted"] and q["escaped"] and q["r0"] == bpfprog.ESCAPED, q
        saved = json.loads(Path(r["reproducer"]).read_text())
        assert Path(r["reproducer"]).parent == tmp_path / "repro"
        assert saved["qemu_replay"] == q
        assert q["stored"] == saved["program"]["expect"]["escaped_value"]
    # the text report shows the replay under the counterexample
    from rich.console import Console

    from axiomdbg.prove import cli

    con = Console(record=True, width=200)
    cli._table(rows, con)
    assert "qemu replay (x86_64): accepted r0=0xbad escaped=True" in con.export_text()
    # the saved program alone is enough to replay: the real kernel rejects it
    real = qemu_replay.replay(saved["program"], "x86_64", None)
    assert real["accepted"] is False and "R5" in real["reason"], real


def test_malformed_program_and_dead_qemu_give_one_line(tmp_path):
    # malformed reproducers are refused before anything is built or booted
    for bad, what in (({"asm": "mov %r0, 0\nexit", "mem": "00" * 24}, "not a memory-form reproducer"),
                      ({"asm": "mov %r6, %r1\nmov %r0, 0\nexit", "mem": "00" * 8}, "memory is 8 bytes"),
                      ({"asm": "mov %r6, %r1\nfrob %r0\nexit", "mem": "00" * 24}, "frob"),
                      ({"mem": "00" * 24}, "no 'asm'")):
        with pytest.raises(qemu_replay.QemuReplayError, match=f"^not a replayable program: .*{what}") as e:
            qemu_replay.replay(bad, "x86_64")
        assert "\n" not in str(e.value)
    # a kernel image that does not exist
    with pytest.raises(qemu_replay.QemuReplayError, match=r"^booting .* failed: kernel image .* does not exist"):
        with qemu_replay.Guest("x86_64", tmp_path / "none.elf"):
            pass
    g = qemu_replay.Guest("x86_64", qemu_replay.kernel_for("x86_64"))
    with g:
        # the guest's bpftool refuses a program naming a map that was not given: its line is the error
        bad = {"asm": "mov %r6, %r1\nlddw %r1, map_fd(1)\nmov %r0, 0\nexit", "mem": "00" * 24}
        with pytest.raises(qemu_replay.QemuReplayError,
                           match=r"^bpftool: insn 2: lddw refers to map 1, but 1 -m map\(s\) were given$"):
            g.run(bad)
        # the console is still usable afterwards: x + y read from the map value
        ok = g.run({"asm": "mov %r6, %r1\nldxdw %r0, [%r6+0]\nldxdw %r1, [%r6+8]\nadd %r0, %r1\nexit",
                    "mem": (7).to_bytes(8, "little").hex() + (9).to_bytes(8, "little").hex() + "00" * 8})
        assert ok["accepted"] and ok["r0"] == 16 and not ok["escaped"], ok
        # QEMU dies under the replay
        g.machine.proc.kill()
        g.machine.proc.wait(timeout=30)
        with pytest.raises(qemu_replay.QemuReplayError, match=r"^QEMU \(x86_64\) is not running$"):
            g.run(bad)
    assert not g.machine.alive and g.machine.proc.poll() is not None


def test_replay_rows_records_a_failed_boot(monkeypatch):
    """replay_rows never raises: a kernel that cannot be booted becomes an error on every row."""
    monkeypatch.setattr(qemu_replay, "kernel_for", lambda arch, ov=None: Path("/nonexistent/axiom.elf"))
    rows = [{"arch": "riscv64", "op": "add64"}]
    qemu_replay.replay_rows(rows, {0: {"asm": "mov %r6, %r1\nmov %r0, 0\nexit", "mem": "00" * 24}})
    q = rows[0]["qemu_replay"]
    assert q["escaped"] is False and q["arch"] == "riscv64" and "does not exist" in q["error"], q
    assert "\n" not in q["error"]


def test_parse_output_needs_exactly_one_result_line():
    with pytest.raises(qemu_replay.QemuReplayError, match="no result line"):
        qemu_replay.parse_output("bpftool prog run -\n95 00 00 00 00 00 00 00\nend\n")
    with pytest.raises(qemu_replay.QemuReplayError, match="^bpftool: no instructions$"):
        qemu_replay.parse_output("bpftool prog run -\nend\nbpftool: no instructions\n")
    r = qemu_replay.parse_output("[    1.250000] klog line\r\n0: R5 !read_ok\r\nrejected: processed 3 insns\r\n"
                                 "bpftool: rejected errno=13\r\nbpftool: map[0]=00ff\r\n")
    assert r == {"maps": ["00ff"], "accepted": False, "errno": 13, "reason": "0: R5 !read_ok"}

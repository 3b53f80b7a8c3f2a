"""`bpftool prog run` inside QEMU (the replay protocol of docs/bpf.md) against the host
build of kernel/bpf as the oracle: the same program with the same maps, loaded and
test-run through the host library, must give the same verdict, errno, r0 and map
bytes as the guest kernel reports over the serial console. Also checks the
protocol's error lines and that long lines cross the console intact."""
import re

import pytest

from axiomdbg import qemu
from axiomdbg.bpf import lib as bpflib
from axiomdbg.bpf.asm import assemble
from axiomdbg.pytest_plugin import build_once, shell

pytestmark = pytest.mark.qemu

MEM = 64
LDDW = 0x18

# (name, assembly, maps as (size, initial bytes))
PROGRAMS = [
    ("const", "mov %r0, 5\nexit", []),
    ("alu", "mov %r0, -7\nlsh %r0, 40\narsh %r0, 3\nmov32 %r1, 0x1234\nxor %r0, %r1\nexit", []),
    ("divzero", "mov %r0, 77\nmov %r1, 0\ndiv %r0, %r1\nadd %r0, 9\nexit", []),
    ("mem_len", "ldxdw %r0, [%r1+56]\nadd %r0, %r2\nexit", []),
    ("map_rw",
     "lddw %r1, map_fd(0)\nmov %r2, %r10\nadd %r2, -4\nstw [%r10-4], 0\ncall 1\n"
     "jeq %r0, 0, out\nldxdw %r3, [%r0+0]\nadd %r3, 0x41\nstxdw [%r0+0], %r3\n"
     "ldxb %r4, [%r0+9]\nstxdw [%r0+16], %r4\nmov %r0, %r3\nexit\nout:\nmov %r0, 0\nexit",
     [(24, bytes(range(1, 17)))]),
    ("two_maps",
     "lddw %r1, map_fd(1)\nmov %r2, %r10\nadd %r2, -4\nstw [%r10-4], 0\ncall 1\n"
     "jeq %r0, 0, out\nldxw %r6, [%r0+0]\n"
     "lddw %r1, map_fd(0)\nmov %r2, %r10\nadd %r2, -4\ncall 1\njeq %r0, 0, out\n"
     "stxw [%r0+0], %r6\nmov %r0, %r6\nexit\nout:\nmov %r0, 0\nexit",
     [(4, b""), (8, bytes.fromhex("efbeadde01020304"))]),
    ("uninit", "mov %r0, %r5\nexit", []),
    ("oob", "ldxdw %r0, [%r1+64]\nexit", []),
    ("map_oob",
     "lddw %r1, map_fd(0)\nmov %r2, %r10\nadd %r2, -4\nstw [%r10-4], 0\ncall 1\n"
     "jeq %r0, 0, out\nldxdw %r0, [%r0+4]\nexit\nout:\nmov %r0, 0\nexit",
     [(8, b"")]),
    ("loop", "mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 10, loop\nexit", []),
    ("no_exit", "mov %r0, 0\nja -2", []),
]


def host_oracle(prog: bytes, maps: list[tuple[int, bytes]]):
    """Verdict of the host library: ('accepted', r0, map values) or ('rejected', errno, map values)."""
    b = bpflib.Bpf()
    ids = []
    try:
        for size, init in maps:
            mid = b.map_create("array", 4, size, 1)
            ids.append(mid)
            b.map_update(mid, b"\0" * 4, init.ljust(size, b"\0"))
        insns = bytearray(prog)
        for i in range(0, len(insns) - 8, 8):
            if insns[i] == LDDW and insns[i + 1] >> 4 == 1:
                idx = int.from_bytes(insns[i + 4:i + 8], "little")
                insns[i + 4:i + 8] = ids[idx].to_bytes(4, "little")
        try:
            pid, _ = b.prog_load(bytes(insns), "mem", mem_size=MEM, log_level=1)
        except bpflib.LoadError as e:
            vals = [b.map_lookup(m, b"\0" * 4, s) for m, (s, _) in zip(ids, maps)]
            return ("rejected", e.errno, vals)
        try:
            r0, _ = b.test_run(pid, b"\0" * MEM)
        finally:
            b.close(pid)
        vals = [b.map_lookup(m, b"\0" * 4, s) for m, (s, _) in zip(ids, maps)]
        return ("accepted", r0, vals)
    finally:
        for m in ids:
            b.close(m)


def guest_run(m, prog: bytes, maps: list[tuple[int, bytes]]) -> str:
    args = " ".join(f"-m {size}:{init.hex()}" for size, init in maps)
    lines = "\n".join(" ".join(f"{x:02x}" for x in prog[i:i + 8]) for i in range(0, len(prog), 8))
    return shell(m, f"bpftool prog run {args} -\n{lines}\nend", timeout=120)


def parse_result(out: str):
    res = re.findall(r"^bpftool: (accepted r0=0x([0-9a-f]+)|rejected errno=(\d+))$", out, re.M)
    assert len(res) == 1, f"want exactly one result line:\n{out}"
    _, r0, err = res[0]
    maps = dict((int(i), bytes.fromhex(h)) for i, h in re.findall(r"^bpftool: map\[(\d+)\]=([0-9a-f]*)$", out, re.M))
    vals = [maps[i] for i in sorted(maps)]
    return ("accepted", int(r0, 16), vals) if r0 else ("rejected", int(err), vals)


@pytest.fixture(scope="module", params=list(qemu.ARCHES))
def guest(request):
    arch = request.param
    cfg = qemu.MachineConfig(arch=arch, kernel=build_once(arch, "embedded"), smp=2, cmdline="selftest=0")
    m = qemu.Machine(cfg)
    try:
        m.start()
        m.read_until(rb"init: ready", timeout=300)
        m.drain(0.5)
        yield m
    finally:
        m.close()


def test_prog_run_matches_host(guest):
    for name, text, maps in PROGRAMS:
        prog = assemble(text)
        want = host_oracle(prog, maps)
        out = guest_run(guest, prog, maps)
        got = parse_result(out)
        assert got == want, f"{name}: guest {got} != host {want}\n{out}"
        if got[0] == "rejected":
            # log level 2: the per-instruction state and the reason come before the result
            assert re.search(r"^\d+: ", out, re.M), f"{name}: no verifier log\n{out}"
    assert b"AXIOM PANIC" not in bytes(guest.log)


def test_prog_run_long_lines(guest):
    """A 600-byte map value (1200 hex digits on one command line, more than the old 512-byte
    shell line and the console ring) crosses the console intact."""
    init = bytes((i * 37 + 11) & 0xff for i in range(600))
    prog = assemble("lddw %r1, map_fd(0)\nmov %r2, %r10\nadd %r2, -4\nstw [%r10-4], 0\ncall 1\n"
                    "jeq %r0, 0, out\nldxb %r0, [%r0+599]\nexit\nout:\nmov %r0, 0\nexit")
    got = parse_result(guest_run(guest, prog, [(600, init)]))
    assert got == ("accepted", init[599], [init])
    # and a program sent at once that is longer than the console's 512-byte input ring
    # (60 lines of 24 bytes; the aarch64 PL011 runs without its FIFO, ~100 bytes/s)
    body = "\n".join(f"add %r0, {i}" for i in range(58))
    prog = assemble(f"mov %r0, 0\n{body}\nexit")
    got = parse_result(guest_run(guest, prog, []))
    assert got == ("accepted", sum(range(58)), [])


def test_prog_run_errors(guest):
    out = shell(guest, "bpftool prog run -\nzz 00\nend")
    assert "bpftool: line 1: want 8 hex bytes" in out
    assert "accepted" not in out and "rejected" not in out
    out = shell(guest, "bpftool prog run -m 4:001122334455 -\n95 00 00 00 00 00 00 00\nend")
    assert "bad -m '4:001122334455'" in out
    out = shell(guest, "bpftool prog run -\nend")
    assert "bpftool: no instructions" in out
    lddw = assemble("lddw %r1, map_fd(2)\nmov %r0, 0\nexit")
    out = guest_run(guest, lddw, [(8, b"")])
    assert "lddw refers to map 2, but 1 -m map(s) were given" in out
    out = shell(guest, "bpftool prog frobnicate")
    assert "usage: bpftool" in out
    # nothing leaked: every run closed its program and maps
    assert shell(guest, "bpftool prog list").strip() == ""
    assert shell(guest, "bpftool map list").strip() == ""

"""The bpf object layer through bpf_cmd(): maps, helpers, program loading,
test runs, attach points and queries."""

from __future__ import annotations

import struct

import pytest

from axiomdbg.bpf import lib
from axiomdbg.bpf.asm import assemble
from axiomdbg.bpf.errors import LoadError, RunError


@pytest.fixture
def bpf():
    b = lib.Bpf()
    before = set(b.ids("prog")) | set(b.ids("map"))
    yield b
    for i in set(b.ids("prog")) | set(b.ids("map")):
        if i not in before:
            b.close(i)


def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)


def test_array_map(bpf):
    m = bpf.map_create("array", 4, 8, 4, "arr")
    assert bpf.map_lookup(m, u32(1), 8) == b"\0" * 8
    bpf.map_update(m, u32(1), u64(42))
    assert bpf.map_lookup(m, u32(1), 8) == u64(42)
    assert bpf.map_lookup(m, u32(4), 8) is None
    with pytest.raises(LoadError, match="EEXIST"):
        bpf.map_update(m, u32(1), u64(1), flags=1)
    assert bpf.map_delete(m, u32(1)) == -22
    keys, k = [], None
    while (k := bpf.map_next_key(m, k, 4)) is not None:
        keys.append(struct.unpack("<I", k)[0])
    assert keys == [0, 1, 2, 3]


def test_hash_map(bpf):
    m = bpf.map_create("hash", 8, 16, 3)
    for i in range(3):
        bpf.map_update(m, u64(i * 1000), bytes([i]) * 16)
    with pytest.raises(LoadError, match="E2BIG"):
        bpf.map_update(m, u64(7), b"x" * 16)
    with pytest.raises(LoadError, match="ENOENT"):
        bpf.map_update(m, u64(7), b"x" * 16, flags=2)
    assert bpf.map_lookup(m, u64(1000), 16) == b"\1" * 16
    seen, k = set(), None
    while (k := bpf.map_next_key(m, k, 8)) is not None:
        seen.add(struct.unpack("<Q", k)[0])
    assert seen == {0, 1000, 2000}
    assert bpf.map_delete(m, u64(1000)) == 0
    assert bpf.map_lookup(m, u64(1000), 16) is None
    assert bpf.map_delete(m, u64(1000)) == -2
    bpf.map_update(m, u64(5), b"y" * 16)  # the freed element is reused


def test_percpu_array_sees_all_cpus(bpf):
    bpf.set_cpu(2, 4)
    try:
        m = bpf.map_create("percpu_array", 4, 8, 2)
        prog = assemble("""
            stw [%r10-4], 1
            lddw %r1, map_idx(0)
            mov %r2, %r10
            add %r2, -4
            call 1
            jeq %r0, 0, +2
            mov %r1, 5
            lock add [%r0+0], %r1
            mov %r0, 0
            exit
        """)
        pid, _ = bpf.prog_load(prog, fd_array=[m])
        bpf.test_run(pid)
        vals = bpf.map_lookup(m, u32(1), 32)
        assert [struct.unpack_from("<Q", vals, 8 * c)[0] for c in range(4)] == [0, 0, 5, 0]
    finally:
        bpf.set_cpu(0, 4)


def test_ringbuf_output_and_consume(bpf):
    rb = bpf.map_create("ringbuf", 0, 0, 4096)
    prog = assemble("""
        ldxdw %r6, [%r1+0]
        stxdw [%r10-8], %r6
        lddw %r1, map_idx(0)
        mov %r2, %r10
        add %r2, -8
        mov %r3, 8
        mov %r4, 0
        call 130
        exit
    """)
    pid, _ = bpf.prog_load(prog, fd_array=[rb], mem_size=8)
    for v in (1, 2, 3):
        r0, _ = bpf.test_run(pid, data=u64(v))
        assert r0 == 0
    assert [bpf.ringbuf_pop(rb) for _ in range(4)] == [u64(1), u64(2), u64(3), None]


def test_ringbuf_full_drops(bpf):
    rb = bpf.map_create("ringbuf", 0, 0, 64)
    prog = assemble("""
        stdw [%r10-8], 9
        lddw %r1, map_idx(0)
        mov %r2, %r10
        add %r2, -8
        mov %r3, 8
        mov %r4, 0
        call 130
        exit
    """)
    pid, _ = bpf.prog_load(prog, fd_array=[rb])
    results = [bpf.test_run(pid)[0] for _ in range(5)]
    assert results[:4] == [0] * 4 and results[4] == (-28) & (2**64 - 1)  # -ENOSPC


def test_map_lookup_update_from_program(bpf):
    m = bpf.map_create("hash", 4, 8, 16)
    prog = assemble("""
        ldxw %r6, [%r1+0]
        stxw [%r10-4], %r6
        stdw [%r10-16], 77
        lddw %r1, map_idx(0)
        mov %r2, %r10
        add %r2, -4
        mov %r3, %r10
        add %r3, -16
        mov %r4, 0
        call 2
        lddw %r1, map_idx(0)
        mov %r2, %r10
        add %r2, -4
        call 1
        jeq %r0, 0, +2
        ldxdw %r0, [%r0+0]
        exit
        mov %r0, 1
        exit
    """)
    pid, _ = bpf.prog_load(prog, fd_array=[m], mem_size=4)
    assert bpf.test_run(pid, data=u32(9))[0] == 77
    assert bpf.map_lookup(m, u32(9), 8) == u64(77)


def test_helpers_trace_and_pid(bpf):
    bpf.set_pid_tgid((55 << 32) | 66)
    bpf.take_trace()
    prog = assemble("""
        call 14
        mov %r3, %r0
        rsh %r3, 32
        lddw %r1, 0x0a64253d64697020
        stxdw [%r10-16], %r1
        stdw [%r10-8], 0
        mov %r1, %r10
        add %r1, -16
        mov %r2, 16
        mov %r4, 0
        mov %r5, 0
        call 6
        exit
    """)
    pid, _ = bpf.prog_load(prog)
    bpf.test_run(pid)
    assert " pid=55" in bpf.take_trace()
    bpf.set_pid_tgid((1000 << 32) | 1000)


def test_syscall_enter_policy_denies(bpf):
    # deny syscall 57 with -EPERM, allow everything else
    prog = assemble("""
        ldxdw %r2, [%r1+0]
        mov %r0, 0
        jne %r2, 57, +1
        mov %r0, -1
        exit
    """)
    pid, _ = bpf.prog_load(prog, "syscall_enter")
    ctx = lambda nr: u64(nr) + b"\0" * 48 + u32(1) + u32(1)
    assert bpf.run_hook("syscall_enter", ctx(57)) == 0  # nothing attached yet
    bpf.attach(pid, "syscall_enter")
    try:
        assert bpf.run_hook("syscall_enter", ctx(57)) == -1
        assert bpf.run_hook("syscall_enter", ctx(1)) == 0
        info = bpf.info(pid)
        assert info["run_cnt"] == 2 and info["attach_type"] == 65 and info["verified"]
    finally:
        bpf.detach(pid, "syscall_enter")
    assert bpf.run_hook("syscall_enter", ctx(57)) == 0


def test_attach_type_must_match(bpf):
    pid, _ = bpf.prog_load(assemble("mov %r0, 0\nexit"), "timer_tick")
    with pytest.raises(LoadError, match="EINVAL"):
        bpf.attach(pid, "syscall_enter")
    bpf.attach(pid, "timer_tick")
    with pytest.raises(LoadError, match="EEXIST"):
        bpf.attach(pid, "timer_tick")
    bpf.detach(pid, "timer_tick")


def test_unverified_programs_cannot_attach(bpf):
    pid, _ = bpf.prog_load(assemble("mov %r0, 0\nexit"), "mem", verify=False)
    assert not bpf.info(pid)["verified"]
    with pytest.raises(LoadError):
        bpf.attach(pid, "timer_tick")


def test_queries_and_close(bpf):
    m = bpf.map_create("array", 4, 4, 1, "counts")
    pid, _ = bpf.prog_load(assemble("lddw %r1, map_idx(0)\nmov %r0, 0\nexit"), fd_array=[m], name="demo")
    assert pid in bpf.ids("prog") and m in bpf.ids("map")
    info = bpf.info(pid)
    assert info["name"] == "demo" and info["map_ids"] == [m] and info["insn_cnt"] == 4
    minfo = bpf.info(m)
    assert minfo["kind"] == "map" and minfo["name"] == "counts" and minfo["value_size"] == 4
    assert bpf.close(m) == 0
    assert m not in bpf.ids("map")      # closed for userspace...
    assert bpf.close(m) == -9           # ...twice is EBADF
    assert bpf.test_run(pid)[0] == 0    # ...but the program still holds it
    assert bpf.close(pid) == 0


def test_test_run_memory_size_must_match(bpf):
    pid, _ = bpf.prog_load(assemble("ldxdw %r0, [%r1+0]\nexit"), mem_size=8)
    assert bpf.test_run(pid, data=u64(5))[0] == 5
    with pytest.raises(RunError, match="size"):
        bpf.test_run(pid, data=b"\0" * 4)


def test_load_log_and_errors(bpf):
    with pytest.raises(LoadError) as e:
        bpf.prog_load(assemble("ldxdw %r0, [%r1+0]\nexit"), mem_size=4, log_level=2)
    assert "invalid access to mem" in e.value.log
    assert e.value.errno == 13
    with pytest.raises(LoadError) as e:
        bpf.prog_load(b"\xff" + b"\0" * 7)
    assert "invalid opcode" in str(e.value)
    with pytest.raises(LoadError):
        bpf.prog_load(b"")


def test_log_level_2_has_states():
    v = lib.verify(assemble("mov %r0, 1\nadd %r0, 2\nexit"), log_level=2)
    assert v.ok
    assert "R0=scalar3" in v.log
    assert v.log.count("\n") >= 3


def test_profiles_limits():
    loop = assemble("""
        mov %r0, 0
        mov %r1, 0
    top:
        add %r1, 1
        add %r0, %r1
        jlt %r1, 30000, top
        exit
    """)
    assert "back-edge" in lib.verify(loop, profile="embedded").reason
    v = lib.verify(loop, profile="cloud")
    assert v.ok and v.processed > 90000


def test_map_budget_embedded(bpf):
    # 4 MiB per embedded kernel: a 8 MiB array does not fit
    lib.load_library().axbpf_set_profile(1)
    with pytest.raises(LoadError, match="ENOMEM"):
        bpf.map_create("array", 4, 1024, 8192)
    lib.load_library().axbpf_set_profile(2)
    m = bpf.map_create("array", 4, 1024, 8192)
    bpf.close(m)
    lib.load_library().axbpf_set_profile(1)


@pytest.mark.parametrize("args", [("array", 8, 8, 1), ("array", 4, 0, 1), ("hash", 0, 8, 1),
                                  ("ringbuf", 0, 0, 100), ("ringbuf", 4, 0, 4096), (99, 4, 4, 1),
                                  ("array", 4, 4, 0)])
def test_bad_map_attrs(bpf, args):
    with pytest.raises(LoadError, match="EINVAL"):
        bpf.map_create(*args)

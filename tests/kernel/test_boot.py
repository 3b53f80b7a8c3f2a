"""Build every architecture and profile, boot each under QEMU (TCG) and run the
in-kernel selftest. The selftest's own verdict line is the oracle; any panic
record fails the test; a hang is caught by the timeout of Machine.read_until."""
import re

import pytest

from axiomdbg import qemu
from axiomdbg.pytest_plugin import build_once

ARCHES = list(qemu.ARCHES)
SELFTEST = re.compile(rb"selftest: (\d+) passed, (\d+) failed")


def selftest_verdict(log: bytes) -> tuple[int, int]:
    m = SELFTEST.findall(log)
    assert m, "no selftest verdict line"
    passed, failed = (int(x) for x in m[-1])
    return passed, failed


@pytest.mark.parametrize("profile", ["embedded", "cloud"])
@pytest.mark.parametrize("arch", ARCHES)
def test_build(arch, profile):
    path = build_once(arch, profile)
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF"
    # the build id is in the image (the kernel prints it at boot; triage matches on it)
    assert b"GNU\x00" in data


@pytest.mark.qemu
@pytest.mark.parametrize("smp", [1, 4])
@pytest.mark.parametrize("arch", ARCHES)
def test_boot_selftest(axiom_machine, arch, smp):
    m = axiom_machine(arch, smp=smp, cmdline="poweroff")
    log = m.read_until(rb"selftest: \d+ passed, \d+ failed", timeout=300)
    m.wait_exit(timeout=60)
    log = bytes(m.log)
    assert b"AXIOM PANIC" not in log
    assert re.search(rb"axiom: build-id [0-9a-f]{40}", log)
    cpus = re.search(rb"cpus=(\d+)", log)
    assert cpus and int(cpus.group(1)) == smp, "not every CPU came online"
    passed, failed = selftest_verdict(log)
    failures = [l for l in log.decode(errors="replace").splitlines() if "FAILED" in l]
    assert failed == 0, "\n".join(failures)
    assert passed >= 30


@pytest.mark.qemu
@pytest.mark.parametrize("arch", ARCHES)
def test_bpfdemo_counters(axiom_machine, arch):
    """Boot with `bpfdemo`: the syscall counter and event demos stay loaded and attached,
    and their maps (read with bpftool over the console) follow what the kernel does:
    the shell's syscall count grows, exec/exit/page-fault counts match the commands run
    (the kernel's own kill message is the oracle for the fault), ticks and switches grow,
    and the ring buffer carries the exec and exit records of those commands."""
    from axiomdbg.pytest_plugin import shell

    m = axiom_machine(arch, smp=2, cmdline="selftest=0 bpfdemo")
    log = m.read_until(rb"init: ready", timeout=300)
    ready = re.search(rb"bpfdemo: ready progs=(\d+) maps=(\d+)", log)
    assert ready and ready.groups() == (b"6", b"3"), log.decode(errors="replace")[-2000:]
    maps = {name.decode(): int(i) for i, name in re.findall(rb"bpfdemo: map (\d+) (\w+)", log)}
    progs = re.findall(rb"bpfdemo: prog (\d+) (\w+) (\w+)", log)
    assert set(maps) == {"syscount", "ev_counts", "events"} and len(progs) == 6
    m.drain(0.5)
    listing = shell(m, "bpftool prog list")
    for pid, name, typ in progs:
        assert re.search(rf"^{int(pid)}: {typ.decode()} name {name.decode()} .*attached {typ.decode()} ",
                         listing, re.M), listing

    def dump(name):
        out = shell(m, f"bpftool map dump {maps[name]}")
        return {int(k): int(v) for k, v in re.findall(r"key=(\d+) value=(\d+)", out)}

    procs = shell(m, "cat /proc/processes")
    sh_pid = int(re.search(r"^(\d+) \d+ alive \d+ \d+ sh$", procs, re.M).group(1))
    s0, c0 = dump("syscount"), dump("ev_counts")
    kernel_kill = re.compile(rb"pid \d+ \(\S+\) tid \d+ killed by signal 11: ")  # proc_kill_current
    kills0 = len(kernel_kill.findall(bytes(m.log)))
    out = shell(m, "selftest -h null-read")
    assert "signal 11" in out
    shell(m, "ls /bin")
    s1, c1 = dump("syscount"), dump("ev_counts")
    kills = len(kernel_kill.findall(bytes(m.log))) - kills0
    assert kills >= 1
    assert s1[sh_pid] > s0[sh_pid] > 0, (s0, s1)
    # ev_counts: 0 sched_switch, 1 page_fault, 2 exec, 3 exit, 4 timer_tick (kernel/user/bpf/demo.h)
    assert c1[1] - c0[1] == kills, (c0, c1)
    assert c1[2] - c0[2] >= 3 and c1[3] - c0[3] >= 3, (c0, c1)  # selftest, ls, bpftool
    assert c1[4] > c0[4] and c1[0] > c0[0], (c0, c1)
    events = shell(m, f"bpftool map dump {maps['events']}")
    ls = re.search(r"^event exec pid=(\d+) file=/bin/ls ", events, re.M)
    assert ls, events
    assert re.search(rf"^event exit pid={ls.group(1)} status=0x0 ", events, re.M), events
    seg = re.search(r"^event exec pid=(\d+) file=/bin/selftest ", events, re.M)
    assert seg and re.search(rf"^event exit pid={seg.group(1)} status=0xb ", events, re.M), events
    assert b"AXIOM PANIC" not in bytes(m.log)


# Paging modes: every one the debugger is tested in must boot and pass the selftest.
PAGING_VARIANTS = [
    pytest.param("riscv64", dict(variant="sv48"), id="riscv64-sv48-build"),
    pytest.param("riscv64", dict(variant="sv57"), id="riscv64-sv57-build"),
    pytest.param("riscv64", dict(cmdline="paging=sv48"), id="riscv64-sv48-boot"),
    pytest.param("aarch64", dict(variant="16k"), id="aarch64-16k"),
    pytest.param("aarch64", dict(variant="64k"), id="aarch64-64k"),
    pytest.param("aarch64", dict(machine_opts=",virtualization=on"), id="aarch64-el2-entry"),
    pytest.param("x86_64", dict(cpu="qemu64,+la57"), id="x86_64-la57"),
]
EXPECTED_MODE = {"riscv64-sv48-build": "sv48", "riscv64-sv57-build": "sv57", "riscv64-sv48-boot": "sv48",
                 "aarch64-16k": "16k", "aarch64-64k": "64k", "x86_64-la57": "5-level"}


@pytest.mark.qemu
@pytest.mark.parametrize("arch,opts", PAGING_VARIANTS)
def test_paging_variant_boots(axiom_machine, request, arch, opts):
    opts = dict(opts)
    cmdline = (opts.pop("cmdline", "") + " poweroff").strip()
    m = axiom_machine(arch, smp=2, cmdline=cmdline, **opts)
    m.read_until(rb"selftest: \d+ passed, \d+ failed", timeout=300)
    m.wait_exit(timeout=60)
    log = bytes(m.log)
    assert b"AXIOM PANIC" not in log
    mode = EXPECTED_MODE.get(request.node.callspec.id)
    if mode:
        banner = re.search(rb"axiom: " + arch.encode() + rb" (\S+)", log)
        assert banner and mode.encode() in banner.group(1), banner.group(0) if banner else "no banner"
    passed, failed = selftest_verdict(log)
    assert failed == 0 and passed >= 30


@pytest.mark.qemu
@pytest.mark.parametrize("arch", ARCHES)
def test_fuzzer_runs_clean(axiom_machine, arch):
    m = axiom_machine(arch, smp=2, cmdline="selftest=0 fuzz=5000 poweroff")
    m.read_until(rb"fuzz: \d+ calls, 0 panics", timeout=600)
    m.wait_exit(timeout=60)
    assert b"AXIOM PANIC" not in bytes(m.log)


@pytest.mark.qemu
@pytest.mark.parametrize("arch", ARCHES)
def test_no_frame_leak_over_1000_spawns(axiom_machine, arch):
    """Free frames (the kernel's own /proc/meminfo figure) are unchanged after
    1000 spawn/exit cycles driven from the shell over the serial console."""
    m = axiom_machine(arch, smp=2, cmdline="selftest=0")
    m.read_until(rb"init: ready", timeout=300)
    # warm-up: the first spawns grow the kernel heap by a slab page or so,
    # which is not a per-spawn leak
    m.send("spawnloop 20\n")
    m.read_until(rb"spawnloop: 20 spawns, free before \d+ after \d+", timeout=300)
    m.send("spawnloop 1000\n")
    log = m.read_until(rb"spawnloop: \d+ spawns, free before \d+ after \d+", timeout=600)
    n, before, after = map(int, re.findall(rb"spawnloop: (\d+) spawns, free before (\d+) after (\d+)", log)[-1])
    assert n == 1000
    assert before > 0 and after == before, f"leaked {before - after} frames"

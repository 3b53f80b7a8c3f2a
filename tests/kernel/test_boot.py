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

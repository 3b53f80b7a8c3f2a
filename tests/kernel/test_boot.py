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

"""The memory transports agree with each other on a live QEMU.

Firmware-only riscv64 guest (OpenSBI in RAM at 0x80000000): the fast path
(gpa2hva + /proc/<pid>/mem), the monitor's `xp`, and the gdbstub's physical
mode through pygdbmi must return identical bytes; bad addresses give one clear
error; the fast path issues no monitor command per read once a block is known."""
import pytest

from axiomdbg import qemu
from axiomdbg.errors import AxiomError, MemoryReadError
from axiomdbg.transport import MonitorPhysicalMemory, MonitorRegisters, QemuPhysicalMemory
from axiomdbg.transport.gdbmi import GdbMi

pytestmark = pytest.mark.qemu


@pytest.fixture
def firmware_guest():
    cfg = qemu.MachineConfig(arch="riscv64", kernel=None, mem="128M", gdb_port=qemu.free_tcp_port())
    with qemu.Machine(cfg) as m:
        m.read_until(rb"OpenSBI", timeout=60)
        m.stop()
        yield m


def test_transports_agree(firmware_guest):
    m = firmware_guest
    calls = []

    def hmp(cmd):
        calls.append(cmd)
        return m.hmp(cmd)
    fast = QemuPhysicalMemory(m.proc.pid, hmp)
    xp = MonitorPhysicalMemory(m.hmp)
    base = 0x80000000
    a = fast.read_phys(base, 8192)
    assert a == xp.read_phys(base, 8192)
    assert a != bytes(8192)                      # OpenSBI really is there
    n = len(calls)
    for i in range(64):
        fast.read_phys(base + i * 4096, 4096)
    assert len(calls) == n, "fast path should not go through the monitor for known RAM"
    with GdbMi("riscv64") as g:
        g.connect("127.0.0.1", m.config.gdb_port)
        assert g.read_phys(base, 8192) == a
        # unaligned read across a page boundary
        assert g.read_phys(base + 4090, 20) == fast.read_phys(base + 4090, 20)
        assert g.read_reg("pc") == MonitorRegisters(m.hmp).read_reg("pc")


def test_bad_addresses_are_clear_errors(firmware_guest):
    m = firmware_guest
    fast = QemuPhysicalMemory(m.proc.pid, m.hmp)
    with pytest.raises(MemoryReadError, match="not guest RAM"):
        fast.read_phys(0x10, 8)
    with pytest.raises(AxiomError):
        MonitorRegisters(m.hmp).read_reg("no_such_register")


def test_dead_qemu_is_a_clear_error():
    cfg = qemu.MachineConfig(arch="riscv64", kernel=None, mem="64M")
    m = qemu.Machine(cfg).start()
    try:
        m.read_until(rb"OpenSBI", timeout=60)
        m.hmp("info status")
    finally:
        m.close()
    with pytest.raises(AxiomError, match="not running"):
        m.hmp("info status")

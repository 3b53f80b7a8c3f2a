"""Command registry and argument handling (no QEMU)."""
import pytest

from axiomdbg.commands import COMMANDS, FUNCTIONS, Session, _Parser
from axiomdbg.core.errors import AxiomError, PagingDisabledError
from axiomdbg.core.memory import DictRegisters, SnapshotMemory
from axiomdbg.oneshot import run_command


def test_every_issue_command_is_registered():
    assert {"vtop", "pt", "ptov", "ps", "threads", "bt", "cpus", "dmesg", "mounts", "ls", "pmm", "maps",
            "files", "bpf", "devs", "layout"} <= COMMANDS.keys()
    assert {"ax_vtop", "ax_proc", "ax_current"} <= FUNCTIONS.keys()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_usage_errors_are_one_line(name):
    with pytest.raises(AxiomError) as e:
        COMMANDS[name].parser().parse_args(["--no-such-option"])
    assert "\n" not in str(e.value) and name in str(e.value)


def test_paging_off_is_one_clear_line():
    s = Session("riscv64", SnapshotMemory(), DictRegisters({"satp": 0}))
    with pytest.raises(PagingDisabledError, match="paging is off") as e:
        run_command(s, "vtop", ["0x80200000"])
    assert "\n" not in str(e.value)


def test_no_elf_is_one_clear_line():
    s = Session("x86_64", SnapshotMemory(), DictRegisters({}))
    with pytest.raises(AxiomError, match="no kernel ELF"):
        run_command(s, "ps", [])


def test_liveness_hook_runs_first():
    def gone():
        raise AxiomError("QEMU (pid 1) has exited: nothing to inspect")
    s = Session("x86_64", SnapshotMemory(), DictRegisters({}), liveness=gone)
    with pytest.raises(AxiomError, match="has exited"):
        run_command(s, "ps", [])

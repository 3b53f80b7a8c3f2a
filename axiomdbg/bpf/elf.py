"""Minimal reader for ELF objects produced by ``clang -target bpf``.

Finds the program code: the first executable section with content (``.text`` or
a named program section such as ``syscall_enter``), and reports its name so a
loader can pick the program type from it.
"""

from __future__ import annotations

import io

from .errors import BpfError

SECTION_PROG_TYPES = {
    "syscall_enter": "syscall_enter", "syscall_exit": "syscall_exit",
    "sched_switch": "sched_switch", "page_fault": "page_fault", "proc_exec": "proc_exec",
    "proc_exit": "proc_exit", "timer_tick": "timer_tick",
}


def program_from_elf(data: bytes) -> tuple[str, bytes]:
    """(section name, code) of the first executable section."""
    try:
        from elftools.elf.elffile import ELFFile
        from elftools.common.exceptions import ELFError
    except ImportError:  # pragma: no cover
        raise BpfError("pyelftools is required to read ELF objects") from None
    try:
        elf = ELFFile(io.BytesIO(data))
        if elf["e_machine"] not in ("EM_BPF", 247):
            raise BpfError(f"not a BPF object (machine {elf['e_machine']})")
        for sec in elf.iter_sections():
            if sec["sh_flags"] & 0x4 and sec["sh_size"] > 0 and sec["sh_type"] == "SHT_PROGBITS":
                return sec.name, sec.data()
    except ELFError as e:
        raise BpfError(f"invalid ELF object: {e}") from None
    raise BpfError("no executable section in the ELF object")

"""Write panic records in the kernel's format (docs/kernel-contracts.md, "Panic record").

Used by the tests, the benchmark and anyone who wants a record to feed
``axiomdbg triage`` without a crashing kernel. The inverse of
:func:`axiomdbg.triage.parser.parse_log`.
"""

from __future__ import annotations

import random

from .parser import BEGIN, END

# What each architecture reports for each injection kind (crash=KIND), as the kernel would.
# Values: kind, cause text, raw cause, error code (x86 only).
ARCH_CAUSES: dict[str, dict[str, tuple[str, str, int | None, int | None]]] = {
    "x86_64": {
        "null": ("page-fault", "page fault", 14, 0x2),            # write, not present, supervisor
        "write-text": ("page-fault", "page fault", 14, 0x3),      # write, protection violation
        "stack-overflow": ("stack-overflow", "double fault", 8, 0x0),
        "undefined": ("exception", "invalid opcode", 6, None),
        "divide": ("exception", "divide error", 0, None),
    },
    "aarch64": {
        "null": ("page-fault", "data abort", 0x96000045, None),      # EC 0x25, WnR, translation fault L1
        "write-text": ("page-fault", "data abort", 0x9600004F, None),  # EC 0x25, WnR, permission fault L3
        "stack-overflow": ("stack-overflow", "data abort", 0x96000047, None),  # translation fault L3
        "undefined": ("exception", "undefined-instruction", 0x02000000, None),  # EC 0, IL
        "divide": ("exception", "breakpoint", 0xF2000800, None),      # BRK #0x800 (no divide trap)
    },
    "riscv64": {
        "null": ("page-fault", "store page fault", 15, None),
        "write-text": ("page-fault", "store page fault", 15, None),
        "stack-overflow": ("stack-overflow", "store page fault", 15, None),
        "undefined": ("exception", "illegal instruction", 2, None),
        "divide": ("exception", "breakpoint", 3, None),               # ebreak (no divide trap)
    },
}

PC_REG = {"x86_64": "rip", "aarch64": "pc", "riscv64": "pc"}
SP_REG = {"x86_64": "rsp", "aarch64": "sp", "riscv64": "sp"}
EXTRA_REGS = {
    "x86_64": ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "cr2", "cr3", "rflags"),
    "aarch64": ("x0", "x1", "x2", "x29", "x30", "elr", "far", "spsr"),
    "riscv64": ("ra", "gp", "tp", "a0", "a1", "s0", "stval", "sstatus", "satp"),
}


def format_record(arch: str, *, kind: str | None, cause: str | None, raw_cause: int | None = None,
                  error_code: int | None = None, fault_addr: int | None = None, message: str | None = None,
                  location: str | None = None, registers: dict[str, int] | None = None,
                  backtrace: list[int] = (), build_id: str | None = None, cpu: int = 0, pid: int = 1,
                  tid: int = 1, newline: str = "\n") -> str:
    """One record, BEGIN to END, in the kernel's field order."""
    lines = [BEGIN, f"arch: {arch}"]
    if build_id:
        lines.append(f"build_id: {build_id}")
    lines += [f"cpu: {cpu}", f"pid: {pid}", f"tid: {tid}"]
    if kind:
        lines.append(f"kind: {kind}")
    if cause:
        lines.append(f"cause: {cause}")
    if raw_cause is not None:
        lines.append(f"raw_cause: {raw_cause:#x}")
    if error_code is not None:
        lines.append(f"error_code: {error_code:#x}")
    if fault_addr is not None:
        lines.append(f"fault_addr: {fault_addr:#x}")
    if message:
        lines.append(f"message: {message}")
    if location:
        lines.append(f"location: {location}")
    for name, value in (registers or {}).items():
        lines.append(f"reg {name} {value:#018x}")
    for a in backtrace:
        lines.append(f"bt {a:#018x}")
    lines.append(END)
    return newline.join(lines) + newline


NOISE = [
    "init: ready",
    "sh: $ ls /proc",
    "[    1.234567] klog: cpu1 idle",
    "selftest: 42 passed, 0 failed",
    "fuzz: 1000 calls, 0 panics",
    "vfs: mounted devfs at /dev",
    "cpu1: timer tick 1234",
    "reg is a word; bt too; cause for concern",
    "message in a bottle",
]


def noise_lines(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(NOISE) for _ in range(n)]


def random_registers(arch: str, rng: random.Random, pc: int, sp: int) -> dict[str, int]:
    regs = {PC_REG[arch]: pc, SP_REG[arch]: sp}
    for r in EXTRA_REGS[arch]:
        regs[r] = rng.getrandbits(64)
    return regs

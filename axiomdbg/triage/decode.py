"""Decode the hardware cause of a panic record, per architecture.

* x86_64: the vector number (``raw_cause``) and, for #PF (and the other vectors
  that push one), the error code bits P, W/R, U/S, RSVD, I/D, PK, SS, SGX.
* aarch64: ESR_EL1 (``raw_cause``): exception class EC[31:26], IL[25], ISS; for
  data/instruction aborts the fault status code DFSC/IFSC[5:0] (translation,
  access flag, permission, alignment... with the level) and WnR[6].
* riscv64: scause (``raw_cause``): the interrupt bit 63 and the exception or
  interrupt code.

Tables are in docs/triage.md. :func:`decode` never raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------

X86_VECTORS: dict[int, tuple[str, str]] = {
    0: ("#DE", "divide error"),
    1: ("#DB", "debug exception"),
    2: ("NMI", "non-maskable interrupt"),
    3: ("#BP", "breakpoint"),
    4: ("#OF", "overflow"),
    5: ("#BR", "bound range exceeded"),
    6: ("#UD", "invalid opcode"),
    7: ("#NM", "device not available"),
    8: ("#DF", "double fault"),
    9: ("", "coprocessor segment overrun"),
    10: ("#TS", "invalid TSS"),
    11: ("#NP", "segment not present"),
    12: ("#SS", "stack-segment fault"),
    13: ("#GP", "general protection fault"),
    14: ("#PF", "page fault"),
    16: ("#MF", "x87 floating-point error"),
    17: ("#AC", "alignment check"),
    18: ("#MC", "machine check"),
    19: ("#XM", "SIMD floating-point exception"),
    20: ("#VE", "virtualization exception"),
    21: ("#CP", "control protection exception"),
}
X86_ERROR_CODE_VECTORS = {8, 10, 11, 12, 13, 14, 17, 21}

# bit -> (name, meaning if set, meaning if clear)
X86_PF_BITS: list[tuple[int, str, str, str]] = [
    (0, "P", "protection violation", "page not present"),
    (1, "W/R", "write access", "read access"),
    (2, "U/S", "user-mode access", "supervisor-mode access"),
    (3, "RSVD", "reserved bit set in a paging entry", ""),
    (4, "I/D", "instruction fetch", ""),
    (5, "PK", "protection-key violation", ""),
    (6, "SS", "shadow-stack access", ""),
    (15, "SGX", "SGX access-control violation", ""),
]

AARCH64_EC: dict[int, str] = {
    0x00: "unknown reason (undefined instruction)",
    0x01: "trapped WFI/WFE",
    0x03: "trapped MCR/MRC (CP15)",
    0x04: "trapped MCRR/MRRC (CP15)",
    0x05: "trapped MCR/MRC (CP14)",
    0x06: "trapped LDC/STC",
    0x07: "SVE/SIMD/FP access trap",
    0x0A: "trapped LD64B/ST64B",
    0x0C: "trapped MRRC (CP14)",
    0x0D: "branch target exception",
    0x0E: "illegal execution state",
    0x11: "SVC in AArch32",
    0x15: "SVC in AArch64",
    0x16: "HVC in AArch64",
    0x17: "SMC in AArch64",
    0x18: "trapped MSR/MRS/system instruction",
    0x19: "SVE access trap",
    0x1C: "pointer authentication failure",
    0x20: "instruction abort from a lower EL",
    0x21: "instruction abort from the same EL",
    0x22: "PC alignment fault",
    0x24: "data abort from a lower EL",
    0x25: "data abort from the same EL",
    0x26: "SP alignment fault",
    0x28: "floating-point exception (AArch32)",
    0x2C: "floating-point exception (AArch64)",
    0x2F: "SError interrupt",
    0x30: "breakpoint from a lower EL",
    0x31: "breakpoint from the same EL",
    0x32: "software step from a lower EL",
    0x33: "software step from the same EL",
    0x34: "watchpoint from a lower EL",
    0x35: "watchpoint from the same EL",
    0x38: "BKPT (AArch32)",
    0x3C: "BRK instruction",
}
AARCH64_ABORT_ECS = {0x20, 0x21, 0x24, 0x25}
AARCH64_DATA_ABORT_ECS = {0x24, 0x25}


def aarch64_fault_status(fsc: int) -> tuple[str, int | None]:
    """(description, level) of a DFSC/IFSC value; level is None when not applicable."""
    lvl = fsc & 3
    group = fsc >> 2
    if group == 0b0000:
        return "address size fault", lvl
    if group == 0b0001:
        return "translation fault", lvl
    if group == 0b0010:
        return "access flag fault", lvl
    if group == 0b0011:
        return "permission fault", lvl
    if fsc == 0x10:
        return "synchronous external abort", None
    if fsc == 0x11:
        return "synchronous tag check fault", None
    if 0x14 <= fsc <= 0x17:
        return "synchronous external abort on translation table walk", lvl
    if fsc == 0x18:
        return "synchronous parity/ECC error", None
    if 0x1C <= fsc <= 0x1F:
        return "synchronous parity/ECC error on translation table walk", lvl
    if fsc == 0x21:
        return "alignment fault", None
    if fsc == 0x30:
        return "TLB conflict abort", None
    if fsc == 0x31:
        return "unsupported atomic hardware update fault", None
    if fsc == 0x34:
        return "implementation defined fault (lockdown)", None
    if fsc == 0x35:
        return "implementation defined fault (unsupported exclusive or atomic)", None
    if fsc == 0x3D:
        return "section domain fault", None
    if fsc == 0x3E:
        return "page domain fault", None
    return f"reserved fault status {fsc:#x}", None


RISCV_EXCEPTIONS: dict[int, str] = {
    0: "instruction address misaligned",
    1: "instruction access fault",
    2: "illegal instruction",
    3: "breakpoint",
    4: "load address misaligned",
    5: "load access fault",
    6: "store/AMO address misaligned",
    7: "store/AMO access fault",
    8: "environment call from U-mode",
    9: "environment call from S-mode",
    10: "environment call from VS-mode",
    11: "environment call from M-mode",
    12: "instruction page fault",
    13: "load page fault",
    15: "store/AMO page fault",
    18: "software check",
    19: "hardware error",
    20: "instruction guest-page fault",
    21: "load guest-page fault",
    23: "store/AMO guest-page fault",
}
RISCV_INTERRUPTS: dict[int, str] = {
    1: "supervisor software interrupt",
    3: "machine software interrupt",
    5: "supervisor timer interrupt",
    7: "machine timer interrupt",
    9: "supervisor external interrupt",
    11: "machine external interrupt",
    13: "counter-overflow interrupt",
}

# ---------------------------------------------------------------------------
# Decoded cause
# ---------------------------------------------------------------------------

# Canonical cause names used in titles (stable across architectures).
PAGE_FAULT = "page fault"
UNDEFINED = "undefined instruction"
DIVIDE = "divide error"
BREAKPOINT = "breakpoint"
ALIGNMENT = "alignment fault"
GPF = "general protection fault"


@dataclass
class DecodedCause:
    """What the hardware said, in words."""

    name: str                          # canonical short name (used in titles)
    description: str                   # one line, arch-specific detail
    is_page_fault: bool = False
    access: str | None = None          # "read", "write", "exec" (page faults)
    fault: str | None = None           # "not-present", "protection", "reserved-bit", "translation", ...
    level: int | None = None           # aarch64 translation level
    user: bool | None = None           # fault taken from user mode
    interrupt: bool = False
    bits: list[str] = field(default_factory=list)  # one entry per decoded bit/field

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "is_page_fault": self.is_page_fault,
                "access": self.access, "fault": self.fault, "level": self.level, "user": self.user,
                "interrupt": self.interrupt, "bits": list(self.bits)}


def decode_x86_error_code(code: int) -> list[str]:
    out = []
    for bit, name, set_text, clear_text in X86_PF_BITS:
        if code >> bit & 1:
            out.append(f"{name}=1 ({set_text})")
        elif clear_text:
            out.append(f"{name}=0 ({clear_text})")
    return out


def decode_x86(vector: int | None, error_code: int | None, cause_text: str | None) -> DecodedCause:
    if vector is None:
        return _from_text(cause_text)
    mnem, text = X86_VECTORS.get(vector, ("", f"vector {vector}"))
    if vector >= 32:
        return DecodedCause(f"interrupt {vector}", f"external interrupt vector {vector}", interrupt=True)
    desc = f"{mnem} {text}".strip() + f" (vector {vector})"
    name = {0: DIVIDE, 6: UNDEFINED, 3: BREAKPOINT, 13: GPF, 17: ALIGNMENT, 14: PAGE_FAULT}.get(vector, text)
    d = DecodedCause(name, desc)
    if vector == 14:
        d.is_page_fault = True
        if error_code is not None:
            d.bits = decode_x86_error_code(error_code)
            d.access = "exec" if error_code & 0x10 else ("write" if error_code & 2 else "read")
            d.fault = "reserved-bit" if error_code & 8 else ("protection" if error_code & 1 else "not-present")
            d.user = bool(error_code & 4)
            d.description += f": {d.fault} {d.access} from {'user' if d.user else 'supervisor'} mode"
    elif vector in X86_ERROR_CODE_VECTORS and error_code is not None:
        ext = error_code & 1
        tbl = ("GDT", "IDT", "LDT", "IDT")[(error_code >> 1) & 3]
        sel = error_code >> 3
        if error_code:
            d.bits = [f"EXT={ext}", f"table={tbl}", f"index={sel}"]
            d.description += f": selector error code {error_code:#x}"
    return d


def decode_aarch64(esr: int | None, cause_text: str | None) -> DecodedCause:
    if esr is None:
        return _from_text(cause_text)
    ec = (esr >> 26) & 0x3F
    il = (esr >> 25) & 1
    iss = esr & 0x1FFFFFF
    ec_text = AARCH64_EC.get(ec, f"reserved exception class {ec:#x}")
    bits = [f"EC={ec:#04x} ({ec_text})", f"IL={il}", f"ISS={iss:#x}"]
    if ec in AARCH64_ABORT_ECS:
        fsc = iss & 0x3F
        fs_text, level = aarch64_fault_status(fsc)
        data = ec in AARCH64_DATA_ABORT_ECS
        wnr = bool(iss >> 6 & 1) if data else False
        access = ("write" if wnr else "read") if data else "exec"
        fault = {"translation fault": "translation", "permission fault": "permission",
                 "access flag fault": "access-flag", "address size fault": "address-size",
                 "alignment fault": "alignment"}.get(fs_text, fs_text.replace(" ", "-"))
        lvl = f" level {level}" if level is not None else ""
        bits.append(f"{'DFSC' if data else 'IFSC'}={fsc:#04x} ({fs_text}{lvl})")
        if data:
            bits.append(f"WnR={int(wnr)} ({'write' if wnr else 'read'})")
            if iss >> 8 & 1:
                bits.append("CM=1 (cache maintenance)")
            if iss >> 7 & 1:
                bits.append("S1PTW=1 (fault on a stage-2 translation of a stage-1 walk)")
            if iss >> 10 & 1:
                bits.append("FnV=1 (FAR not valid)")
        is_pf = fault in ("translation", "permission", "access-flag", "address-size")
        name = PAGE_FAULT if is_pf else (ALIGNMENT if fault == "alignment" else fs_text)
        desc = f"{'data' if data else 'instruction'} abort ({'lower' if ec in (0x20, 0x24) else 'same'} EL): " \
               f"{fs_text}{lvl}, {access}"
        return DecodedCause(name, desc, is_page_fault=is_pf, access=access, fault=fault, level=level,
                            user=ec in (0x20, 0x24), bits=bits)
    if ec == 0x3C:
        imm = iss & 0xFFFF
        bits.append(f"comment={imm:#x}")
        return DecodedCause(BREAKPOINT, f"BRK #{imm:#x}", bits=bits)
    name = {0x00: UNDEFINED, 0x22: ALIGNMENT, 0x26: ALIGNMENT, 0x0E: "illegal execution state",
            0x2F: "SError", 0x31: BREAKPOINT, 0x30: BREAKPOINT}.get(ec, ec_text)
    return DecodedCause(name, ec_text, bits=bits, user=None)


def decode_riscv(scause: int | None, cause_text: str | None) -> DecodedCause:
    if scause is None:
        return _from_text(cause_text)
    intr = bool(scause >> 63 & 1)
    code = scause & ((1 << 63) - 1)
    if intr:
        text = RISCV_INTERRUPTS.get(code, f"interrupt {code}")
        return DecodedCause(text, text + f" (scause {scause:#x})", interrupt=True,
                            bits=["interrupt=1", f"code={code}"])
    text = RISCV_EXCEPTIONS.get(code, f"exception {code}")
    bits = ["interrupt=0", f"code={code} ({text})"]
    d = DecodedCause(text, text + f" (scause {scause:#x})", bits=bits)
    if code in (12, 13, 15):
        d.is_page_fault = True
        d.name = PAGE_FAULT
        d.access = {12: "exec", 13: "read", 15: "write"}[code]
        d.fault = "page-fault"
    elif code in (1, 5, 7):
        d.access = {1: "exec", 5: "read", 7: "write"}[code]
        d.fault = "access-fault"
        d.name = "access fault"
    elif code in (0, 4, 6):
        d.name = ALIGNMENT
        d.access = {0: "exec", 4: "read", 6: "write"}[code]
    elif code == 2:
        d.name = UNDEFINED
    elif code == 3:
        d.name = BREAKPOINT
    return d


_TEXT_NAMES = [
    ("page fault", PAGE_FAULT), ("page-fault", PAGE_FAULT),
    ("undefined", UNDEFINED), ("illegal instruction", UNDEFINED), ("invalid opcode", UNDEFINED),
    ("divide", DIVIDE), ("division", DIVIDE),
    ("breakpoint", BREAKPOINT), ("brk", BREAKPOINT),
    ("general protection", GPF), ("alignment", ALIGNMENT), ("misaligned", ALIGNMENT),
]


def _from_text(cause_text: str | None) -> DecodedCause:
    t = (cause_text or "unknown cause").strip()
    low = t.lower()
    for needle, name in _TEXT_NAMES:
        if needle in low:
            d = DecodedCause(name, t, is_page_fault=name == PAGE_FAULT)
            if d.is_page_fault:
                d.access = "write" if ("store" in low or "write" in low) else (
                    "exec" if ("instruction" in low or "exec" in low or "fetch" in low) else
                    ("read" if ("load" in low or "read" in low) else None))
            return d
    return DecodedCause(t, t)


def decode(arch: str | None, raw_cause: int | None, error_code: int | None = None,
           cause_text: str | None = None, kind: str | None = None) -> DecodedCause:
    """Decode a record's cause. Software kinds (assertion, panic, watchdog) keep their text."""
    try:
        if kind in ("assertion", "panic", "watchdog") and raw_cause is None:
            return DecodedCause(kind, cause_text or kind)
        if arch == "x86_64":
            return decode_x86(raw_cause, error_code, cause_text)
        if arch == "aarch64":
            return decode_aarch64(raw_cause, cause_text)
        if arch == "riscv64":
            return decode_riscv(raw_cause, cause_text)
        return _from_text(cause_text)
    except Exception:  # pragma: no cover - defensive
        return DecodedCause(cause_text or "unknown cause", cause_text or "unknown cause")

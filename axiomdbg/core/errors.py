"""Errors raised by the debugger-agnostic core.

Every error is an :class:`AxiomError` whose ``str()`` is a single line: the CLI and the
GDB layer print it as is, never a traceback (see docs/design.md, "Python conventions").
Subclasses keep the interesting values as attributes so callers can react to them.
"""

from __future__ import annotations


class AxiomError(Exception):
    """Base class of every error raised by axiomdbg. The message is one line."""

    def __init__(self, message: str) -> None:
        # Keep the contract "one line" even if a caller passes a multi-line text.
        message = " ".join(str(message).split())
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class TargetError(AxiomError):
    """The target (GDB, QEMU, a register reader) could not answer a request."""


class RegisterUnavailableError(TargetError):
    """A register needed to interpret the target state is not available."""

    def __init__(self, names: tuple[str, ...] | list[str] | str, detail: str = "") -> None:
        if isinstance(names, str):
            names = (names,)
        self.names = tuple(names)
        text = " or ".join(f"${n}" for n in self.names)
        super().__init__(f"register {text} is not available" + (f": {detail}" if detail else ""))


class MemoryReadError(AxiomError):
    """Physical (or virtual) memory at ``address`` of ``size`` bytes could not be read."""

    def __init__(self, address: int, size: int, detail: str = "", *, space: str = "physical") -> None:
        self.address = address
        self.size = size
        self.space = space
        end = address + size
        text = f"cannot read {size} bytes of {space} memory at {address:#x}..{end:#x}"
        super().__init__(text + (f": {detail}" if detail else ""))


class UnknownArchError(AxiomError):
    """No architecture is registered under the requested name."""


class PagingError(AxiomError):
    """Base class of the errors about address translation."""


class PagingDisabledError(PagingError):
    """The MMU is off (x86 CR0.PG=0, aarch64 SCTLR_EL1.M=0, riscv satp.MODE=Bare)."""


class UnsupportedPagingModeError(PagingError):
    """Paging is on but in a mode this toolkit does not decode (e.g. x86 32-bit paging)."""


class NonCanonicalError(PagingError):
    """The virtual address is outside every range the current configuration translates."""

    def __init__(self, va: int, detail: str = "") -> None:
        self.va = va
        super().__init__(f"non-canonical virtual address {va:#x}" + (f": {detail}" if detail else ""))


class UnmappedError(PagingError):
    """The walk reached an invalid entry: the virtual address is not mapped."""

    def __init__(self, va: int, level: str | None = None, detail: str = "") -> None:
        self.va = va
        self.level = level
        where = f" at {level}" if level else ""
        super().__init__(f"virtual address {va:#x} is not mapped{where}" + (f": {detail}" if detail else ""))


class MalformedPageTableError(PagingError):
    """A page-table entry is malformed (reserved bits, forbidden encodings, cycles...)."""

    def __init__(self, detail: str, *, va: int | None = None, level: str | None = None,
                 entry: int | None = None, entry_address: int | None = None) -> None:
        self.va = va
        self.level = level
        self.entry = entry
        self.entry_address = entry_address
        parts = ["malformed page table"]
        if va is not None:
            parts.append(f"translating {va:#x}")
        if level:
            parts.append(f"at {level}")
        if entry_address is not None:
            parts.append(f"entry @{entry_address:#x}")
        if entry is not None:
            parts.append(f"= {entry:#018x}")
        super().__init__(" ".join(parts) + f": {detail}")


__all__ = [
    "AxiomError",
    "TargetError",
    "RegisterUnavailableError",
    "MemoryReadError",
    "UnknownArchError",
    "PagingError",
    "PagingDisabledError",
    "UnsupportedPagingModeError",
    "NonCanonicalError",
    "UnmappedError",
    "MalformedPageTableError",
]

"""Errors of the bpf host tools: one-line messages (see docs/design.md)."""

from __future__ import annotations

try:  # the core package is shared; fall back to a local base if it is absent
    from axiomdbg.core.errors import AxiomError
except Exception:  # pragma: no cover - only when core is broken
    class AxiomError(Exception):  # type: ignore[no-redef]
        def __init__(self, message: str) -> None:
            message = " ".join(str(message).split())
            super().__init__(message)
            self.message = message


class BpfError(AxiomError):
    """Base class of every error raised by axiomdbg.bpf."""


class AsmError(BpfError):
    """The assembly text is malformed (the message names the line)."""


class BuildError(BpfError):
    """The host library could not be built."""


class LoadError(BpfError):
    """The kernel code refused a program (verifier or loader); ``errno`` and ``log`` say why."""

    def __init__(self, message: str, errno: int = 0, log: str = "") -> None:
        super().__init__(message)
        self.errno = errno
        self.log = log


class RunError(BpfError):
    """The interpreter stopped a program (checked mode) or a test run failed."""

    def __init__(self, message: str, errno: int = 0) -> None:
        super().__init__(message)
        self.errno = errno

"""Errors shown to users as one clear line (re-exported from the core).

`GuestError` adds a multi-line `detail` (for example the last lines of the
serial console) that the CLI prints dimmed under the one-line message and
tests include in their failure output."""
from .core.errors import *  # noqa: F401,F403
from .core.errors import AxiomError


class GuestError(AxiomError):
    """Something went wrong with a build or a running guest; `detail` holds context."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail

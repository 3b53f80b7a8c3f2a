"""`axiomdbg prove syscalls`: symbolic checks of the syscall handlers from the compiled kernels.

Python API (used by `axiomdbg check`)::

    from axiomdbg.prove.syscalls import run
    rows = run(["x86_64"], ["dup", "close"], jobs=2, use_cache=True)

Each row has at least arch, syscall, check, status (PROVED / VIOLATED /
UNKNOWN), seconds, detail and assumptions; violations carry args (a concrete
argument tuple) and path_condition. See docs/proofs.md.
"""

from __future__ import annotations


def run(arches: list[str], syscalls: list[str] | None = None, jobs: int = 1, use_cache: bool = True
        ) -> list[dict]:
    from .runner import run as _run

    return _run(arches, syscalls, jobs=jobs, use_cache=use_cache)


__all__ = ["run"]

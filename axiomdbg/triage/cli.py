"""``axiomdbg triage LOG... [--kernel ELF] [--format text|json|markdown|sarif] [-o FILE]``.

Mount with ``app.add_typer(triage_app, name="triage")`` (the command is the
sub-application's callback, so ``axiomdbg triage LOG...`` needs no sub-command
name), or register :func:`triage_command` directly with ``app.command("triage")``.

Exit status: 0 no crash found, 1 crashes found, 2 usage or input error (missing
log, unreadable or DWARF-less kernel ELF, unknown format).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from ..core.errors import AxiomError
from .formats import FORMATS, render
from .report import KernelSet, triage_paths

EXIT_NO_CRASH = 0
EXIT_CRASHES = 1
EXIT_ERROR = 2

triage_app = typer.Typer(
    name="triage",
    help="Find, decode, symbolize and bucket axiom panic records in serial logs. "
         "Exit status: 0 no crash, 1 crashes found, 2 usage or input error.",
    add_completion=False,
    pretty_exceptions_enable=False,
    invoke_without_command=True,
    # the command is the group's callback: let options follow the LOG arguments
    context_settings={"allow_interspersed_args": True, "help_option_names": ["-h", "--help"]},
    options_metavar="[OPTIONS]",
    subcommand_metavar="",
)


def triage_command(
    logs: List[Path] = typer.Argument(..., metavar="LOG...", help="serial logs or directories of logs (walked recursively)"),
    kernel: Optional[List[Path]] = typer.Option(None, "--kernel", "-k",
                                                help="kernel ELF (with DWARF) or a directory of them; repeatable"),
    fmt: str = typer.Option("text", "--format", "-f", help="text, json, markdown or sarif"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write the report here instead of stdout"),
) -> None:
    """Triage panic records: decode the cause, classify the fault address, symbolize every
    frame from DWARF, give each crash a stable title and bucket identical crashes.

    Exit status: 0 no crash, 1 crashes found, 2 usage or input error."""
    err = Console(stderr=True, highlight=False)
    if fmt not in FORMATS:
        err.print(f"error: unknown format {fmt!r} (choose {', '.join(FORMATS)})", markup=False)
        raise typer.Exit(EXIT_ERROR)
    try:
        kernels = KernelSet(kernel or [])
        report = triage_paths(logs, kernels)
        color = output is None and fmt == "text" and sys.stdout.isatty()
        text = render(report, fmt, color=color)
        if output is not None:
            try:
                output.write_text(text)
            except OSError as e:
                raise AxiomError(f"cannot write {output}: {e.strerror or e}") from None
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
    except AxiomError as e:
        err.print(f"error: {e}", markup=False)
        raise typer.Exit(EXIT_ERROR)
    if fmt != "text" or output is not None:
        for w in report.warnings:
            err.print(f"warning: {w}", markup=False)
    raise typer.Exit(EXIT_CRASHES if report.crashes else EXIT_NO_CRASH)


triage_app.callback(invoke_without_command=True)(triage_command)


def main() -> None:  # pragma: no cover - `python -m axiomdbg.triage.cli`
    triage_app()


if __name__ == "__main__":  # pragma: no cover
    main()

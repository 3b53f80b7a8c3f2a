"""``axiomdbg bpf``: assembler, disassembler, verifier, conformance runner and plugin.

The lead mounts :data:`bpf_app` as ``axiomdbg bpf``; it also runs standalone
with ``python -m axiomdbg.bpf.cli``. Errors print one line and exit non-zero.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from . import lib
from .asm import assemble, disassemble
from .data import load as load_data, run_test
from .errors import BpfError, LoadError, RunError

bpf_app = typer.Typer(help="eBPF tools backed by the host build of kernel/bpf.",
                      no_args_is_help=True, add_completion=False)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}", markup=True)
    raise typer.Exit(code)


def _read_program(path: Path) -> bytes:
    """A program from a file: assembly text (.s/.asm or text), raw bytes (.bin/.o),
    or a .data test (its program)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        _fail(f"cannot read {path}: {e.strerror}")
    if data[:4] == b"\x7fELF":
        from .elf import program_from_elf
        return program_from_elf(data)[1]
    if path.suffix == ".data":
        return load_data(path).program
    if path.suffix in (".bin", ".raw"):
        return data
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return data
    return assemble(text)


@bpf_app.command("asm")
def asm_cmd(file: Path = typer.Argument(..., help="assembly source"),
            output: Path = typer.Option(..., "-o", "--output", help="output file (raw bytes)")) -> None:
    """Assemble FILE into raw program bytes."""
    try:
        code = assemble(file.read_text())
        output.write_bytes(code)
    except BpfError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"{e.filename}: {e.strerror}")
    out.print(f"{len(code) // 8} instructions -> {output}")


@bpf_app.command("disasm")
def disasm_cmd(file: Path = typer.Argument(..., help="raw program bytes or ELF object")) -> None:
    """Disassemble raw program bytes (or an ELF object's code)."""
    try:
        data = file.read_bytes()
        if data[:4] == b"\x7fELF":
            from .elf import program_from_elf
            data = program_from_elf(data)[1]
        sys.stdout.write(disassemble(data))
    except BpfError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"{e.filename}: {e.strerror}")


@bpf_app.command("verify")
def verify_cmd(prog: Path = typer.Argument(..., help="program: assembly, raw bytes, ELF or .data"),
               profile: str = typer.Option("embedded", "--profile", "-p", help="embedded or cloud"),
               log: int = typer.Option(1, "--log", "-l", help="log level: 0, 1 (reason) or 2 (states)"),
               prog_type: str = typer.Option("mem", "--type", "-t",
                                             help="program type: " + ", ".join(lib.PROG_TYPES)),
               mem_size: int = typer.Option(-1, "--mem-size",
                                            help="bytes at r1 for mem programs (default: a .data file's memory, else 0)")) -> None:
    """Run the kernel's verifier on PROG and print its verdict and log."""
    if profile not in lib.PROFILES:
        _fail(f"unknown profile '{profile}' (embedded or cloud)")
    if prog_type not in lib.PROG_TYPES:
        _fail(f"unknown program type '{prog_type}'")
    try:
        code = _read_program(prog)
        if mem_size < 0:
            mem_size = len(load_data(prog).memory) if prog.suffix == ".data" else 0
        v = lib.verify(code, prog_type, profile, log, mem_size)
    except BpfError as e:
        _fail(str(e))
    if v.log.strip():
        out.print(v.log.rstrip(), markup=False)
    if v.ok:
        out.print(f"[green]ACCEPTED[/green] ({v.processed} insns processed, profile {profile})")
    else:
        out.print(f"[red]REJECTED[/red] ({lib.errno_name(v.errno)}): {v.reason}", markup=True)
        raise typer.Exit(1)


@bpf_app.command("run")
def run_cmd(files: List[Path] = typer.Argument(..., help=".data test files"),
            verify: bool = typer.Option(False, "--verify", help="the verifier must accept first"),
            profile: str = typer.Option("embedded", "--profile", "-p"),
            verbose: bool = typer.Option(False, "--verbose", "-v", help="show details of passing tests")) -> None:
    """Run conformance tests with the kernel's interpreter; PASS/FAIL per file."""
    if profile not in lib.PROFILES:
        _fail(f"unknown profile '{profile}' (embedded or cloud)")
    passed = failed = 0
    for f in files:
        try:
            o = run_test(load_data(f), verify=verify, profile=profile)
        except BpfError as e:
            if len(files) == 1:
                _fail(str(e))
            out.print(f"[red]FAIL[/red] {f}: {e}", markup=True)
            failed += 1
            continue
        if o.passed:
            passed += 1
            out.print(f"[green]PASS[/green] {f}" + (f"  ({o.detail})" if verbose else ""))
        else:
            failed += 1
            out.print(f"[red]FAIL[/red] {f}: {o.detail}", markup=True)
    if len(files) > 1:
        out.print(f"{passed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


@bpf_app.command("plugin")
def plugin_cmd(memory: Optional[str] = typer.Argument(None, help="memory as hex"),
               elf: bool = typer.Option(False, "--elf", help="stdin is an ELF object"),
               verify: bool = typer.Option(False, "--verify", help="verify before running")) -> None:
    """Conformance plugin protocol: program bytes on stdin, r0 in hex on stdout."""
    data = sys.stdin.buffer.read()
    try:
        if elf:
            from .elf import program_from_elf
            data = program_from_elf(data)[1]
        mem = bytes.fromhex(memory.replace(" ", "")) if memory else b""
        r0, _ = lib.run(data, mem, verify=verify)
    except ValueError:
        sys.stderr.write("invalid hex memory argument\n")
        raise typer.Exit(1)
    except (BpfError, LoadError, RunError) as e:
        sys.stderr.write(f"{e}\n")
        raise typer.Exit(1)
    sys.stdout.write(f"{r0:x}\n")


def main() -> None:  # pragma: no cover
    bpf_app()


if __name__ == "__main__":  # pragma: no cover
    main()

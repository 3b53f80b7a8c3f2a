"""The `axiomdbg` command line.

Every error reaches the user as one clear line (plus, for guest failures, the
last lines of the console), never as a Python traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import List, Optional

import typer
from rich.console import Console

from . import qemu
from .errors import AxiomError, GuestError

app = typer.Typer(
    name="axiomdbg",
    help="Debug and verify the axiom kernel on x86_64, AArch64 and RISC-V.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()

PROFILES = ("embedded", "cloud")


def _arch_list(arch: str) -> list[str]:
    if arch.lower() == "all":
        return list(qemu.ARCHES)
    return [qemu.canonical_arch(a) for a in arch.split(",")]


def _profile_list(profile: str) -> list[str]:
    if profile == "all":
        return list(PROFILES)
    if profile not in PROFILES:
        raise AxiomError(f"unknown profile {profile!r} (choose embedded, cloud or all)")
    return [profile]


@app.command()
def build(
    arch: str = typer.Option("all", "--arch", "-a", help="x86_64, aarch64, riscv64 or all"),
    profile: str = typer.Option("embedded", "--profile", "-p", help="embedded, cloud or all"),
    variant: str = typer.Option("", "--variant", help="paging variant: 16k/64k (aarch64), sv48/sv57 (riscv64)"),
) -> None:
    """Build the kernel (and its userspace) for one or all architectures."""
    for a in _arch_list(arch):
        for p in _profile_list(profile):
            t0 = time.monotonic()
            with console.status(f"building {a}/{p}{'/' + variant if variant else ''}"):
                path = qemu.build_kernel(a, p, variant)
            out.print(f"[green]built[/] {path.relative_to(qemu.ROOT)}  ({time.monotonic() - t0:.1f}s)")


@app.command()
def boot(
    arch: str = typer.Option(..., "--arch", "-a", help="x86_64, aarch64 or riscv64"),
    smp: int = typer.Option(1, "--smp", min=1, max=8, help="number of CPUs"),
    mem: str = typer.Option("256M", "--mem", help="guest RAM (QEMU syntax)"),
    profile: str = typer.Option("embedded", "--profile", "-p"),
    variant: str = typer.Option("", "--variant"),
    cmdline: str = typer.Option("", "--cmdline", help="kernel command line"),
    headless: bool = typer.Option(False, "--headless",
                                  help="no interaction: power off after the selftest and exit with its verdict"),
    debug: bool = typer.Option(False, "--debug", help="open a gdbstub on a free port (printed at start)"),
    la57: bool = typer.Option(False, "--la57", help="x86_64: offer 5-level paging (-cpu qemu64,+la57)"),
    no_build: bool = typer.Option(False, "--no-build", help="do not rebuild the kernel first"),
) -> None:
    """Boot the kernel under QEMU with the serial console on this terminal.

    Interactive by default (quit with Ctrl-A X). With --headless (or when stdin
    is not a terminal) the kernel runs its selftest, powers off, and the exit
    status tells whether the selftest passed."""
    a = qemu.canonical_arch(arch)
    kernel = qemu.kernel_path(a, profile, variant) if no_build else qemu.build_kernel(a, profile, variant)
    interactive = sys.stdin.isatty() and not headless
    if not interactive and "poweroff" not in cmdline.split():
        cmdline = (cmdline + " poweroff").strip()
    cfg = qemu.MachineConfig(arch=a, kernel=kernel, smp=smp, mem=mem, cmdline=cmdline,
                             cpu="qemu64,+la57" if la57 and a == "x86_64" else qemu.default_cpu(a, variant))
    if debug:
        cfg.gdb_port = qemu.free_tcp_port()
        console.print(f"gdbstub: target remote 127.0.0.1:{cfg.gdb_port}   (symbols: {kernel})")
    if interactive:
        argv = cfg.argv()
        # -serial mon:stdio multiplexes the monitor on Ctrl-A C and quits on Ctrl-A X
        argv = [("mon:stdio" if x == "stdio" and argv[i - 1] == "-serial" else x) for i, x in enumerate(argv)]
        console.print(f"[dim]booting {a} (Ctrl-A X quits)[/]")
        rc = subprocess.call(argv, preexec_fn=qemu._set_pdeathsig_keep_tty)
        raise typer.Exit(0 if rc in (0, 1) else rc)
    with qemu.Machine(cfg) as m:
        sys.stdout.write(f"booting {a} headless\n")
        # stream the console while waiting for the guest to power off
        deadline = time.monotonic() + 600
        shown = 0
        while m.alive and time.monotonic() < deadline:
            m.drain(0.2)
            if len(m.log) > shown:
                sys.stdout.write(bytes(m.log[shown:]).decode("utf-8", "replace"))
                sys.stdout.flush()
                shown = len(m.log)
        m.drain(0.05)
        sys.stdout.write(bytes(m.log[shown:]).decode("utf-8", "replace"))
        text = bytes(m.log).decode("utf-8", "replace")
        if "=== AXIOM PANIC BEGIN ===" in text:
            raise AxiomError("the kernel panicked (see the panic record above)")
        import re
        res = re.findall(r"selftest: (\d+) passed, (\d+) failed", text)
        if not res:
            raise AxiomError("the selftest did not report a result")
        if int(res[-1][1]) != 0:
            raise AxiomError(f"selftest: {res[-1][1]} tests failed")


@app.command("gdb")
def gdb_cmd(
    arch: str = typer.Option(..., "--arch", "-a"),
    smp: int = typer.Option(1, "--smp", min=1, max=8),
    mem: str = typer.Option("256M", "--mem"),
    profile: str = typer.Option("embedded", "--profile", "-p"),
    variant: str = typer.Option("", "--variant"),
    cmdline: str = typer.Option("", "--cmdline"),
    batch: List[str] = typer.Option([], "--ex", help="run this GDB command (repeatable); with --batch, then quit"),
    batch_mode: bool = typer.Option(False, "--batch", help="run the --ex commands and exit"),
) -> None:
    """Boot the kernel halted and open gdb-multiarch with symbols, axiomdbg and the connection ready."""
    a = qemu.canonical_arch(arch)
    kernel = qemu.build_kernel(a, profile, variant)
    cfg = qemu.MachineConfig(arch=a, kernel=kernel, smp=smp, mem=mem, cmdline=cmdline,
                             gdb_port=qemu.free_tcp_port(), halted=True)
    from .transport.gdbmi import GDB_ARCH
    with qemu.Machine(cfg) as m:
        env = dict(os.environ, AXIOMDBG_QEMU_PID=str(m.proc.pid))
        argv = ["gdb-multiarch", "-nx", "-q", "-ex", "set pagination off", "-ex", "set confirm off",
                "-ex", f"set architecture {GDB_ARCH[a]}", "-ex", f"file {kernel}",
                "-x", str(qemu.ROOT / "gdb_scripts" / "axiomdbg.py"),
                "-ex", f"target remote 127.0.0.1:{cfg.gdb_port}"]
        for c in batch:
            argv += ["-ex", c]
        if batch_mode:
            argv.insert(1, "-batch")
        console.print(f"[dim]QEMU pid {m.proc.pid} halted at reset; gdbstub 127.0.0.1:{cfg.gdb_port}. "
                      f"`continue` boots, Ctrl-C stops, `ax help` lists commands.[/]")
        # the guest's serial console goes to a log file so it does not fight GDB for the terminal
        log = m.log_to_file(kernel.parent / "serial.log")
        console.print(f"[dim]serial console: {log}[/]")
        rc = subprocess.call(argv, env=env)
        raise typer.Exit(rc)


_ONESHOT_HELP = {
    "vtop": "Translate a virtual address (per-level chain).",
    "pt": "Dump an address space as merged ranges.",
    "ptov": "Find virtual addresses mapping a physical address.",
    "ps": "List processes (pid, ppid, state, threads, pages, name).",
    "threads": "List threads with state, CPU, runtime (--regs: saved registers).",
    "bt": "Backtrace of a thread from its saved context (--tid N, --pid N, --all).",
    "cpus": "CPUs and the thread each one runs.",
    "dmesg": "The kernel log ring (-n N: the last N records).",
    "mounts": "Mounted file systems, like /proc/mounts.",
    "ls": "List a directory of the kernel's VFS tree: ls [PATH].",
    "devs": "devfs device nodes.",
    "pmm": "Physical frame allocator figures, like /proc/meminfo.",
    "maps": "A process's mappings, like /proc/PID/maps (--pid N).",
    "files": "A process's open file descriptors (--pid N).",
    "bpf": "eBPF programs and maps (--disasm, --values).",
    "layout": "The kernel's layout note (paging mode, bases, build id).",
}


@app.command()
def snapshot(
    arch: str = typer.Option(..., "--arch", "-a"),
    output: str = typer.Option(..., "--output", "-o", help="ELF core to write (QEMU dump-guest-memory)"),
    smp: int = typer.Option(1, "--smp", min=1, max=8),
    profile: str = typer.Option("embedded", "--profile", "-p"),
    variant: str = typer.Option("", "--variant"),
    cmdline: str = typer.Option("", "--cmdline"),
) -> None:
    """Boot, wait for `init: ready`, stop and dump guest memory; inspect later with
    `axiomdbg ps --arch A --dump FILE --kernel ELF` (the ELF is copied next to FILE)."""
    import shutil
    from pathlib import Path
    from .oneshot import default_cpu
    a = qemu.canonical_arch(arch)
    kernel = qemu.build_kernel(a, profile, variant)
    out_path = Path(output).resolve()
    elf_copy = out_path.with_suffix(out_path.suffix + ".elf")
    shutil.copyfile(kernel, elf_copy)
    cfg = qemu.MachineConfig(arch=a, kernel=elf_copy, smp=smp, cmdline=cmdline, cpu=default_cpu(a, variant))
    with qemu.Machine(cfg) as m:
        m.read_until(rb"init: ready", timeout=300)
        m.drain(0.3)
        m.stop()
        m.dump_guest_memory(out_path)
    out.print(f"[green]wrote[/] {out_path} ({out_path.stat().st_size // 1024} KiB); kernel ELF {elf_copy}")


def _make_oneshot(name: str):
    def cmd(
        ctx: typer.Context,
        arch: str = typer.Option(..., "--arch", "-a"),
        attach: Optional[str] = typer.Option(None, "--attach", help="HOST:PORT of a running gdbstub"),
        dump: Optional[str] = typer.Option(None, "--dump", help="a memory dump (axiomdbg snapshot / dump-guest-memory)"),
        kernel: Optional[str] = typer.Option(None, "--kernel", help="kernel ELF (required with --dump)"),
        smp: int = typer.Option(1, "--smp", min=1, max=8),
        profile: str = typer.Option("embedded", "--profile", "-p"),
        variant: str = typer.Option("", "--variant"),
    ) -> None:
        from .oneshot import oneshot
        text = oneshot(name, list(ctx.args), arch, attach=attach, dump=dump, kernel=kernel, smp=smp,
                       profile=profile, variant=variant)
        sys.stdout.write(text)

    cmd.__doc__ = (_ONESHOT_HELP.get(name) or name) + " Extra options (e.g. --json, --pid N) go to the command; " \
        "see `ax " + name + " --help` in GDB."
    app.command(name, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(cmd)


def _mount_oneshots() -> None:
    from .commands import COMMANDS
    for name in COMMANDS:
        _make_oneshot(name)


_mount_oneshots()


@app.command("crash")
def crash_cmd(
    arch: str = typer.Option("all", "--arch", "-a", help="x86_64, aarch64, riscv64 or all"),
    inject: Optional[str] = typer.Option(None, "--inject", "-i", help="crash kind (see --all for the list)"),
    all_kinds: bool = typer.Option(False, "--all", help="every crash kind"),
    fmt: str = typer.Option("text", "--format", "-f", help="text, json, markdown or sarif"),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="directory for logs, dumps and ELF copies"),
    no_dump: bool = typer.Option(False, "--no-dump", help="skip the memory dump"),
    profile: str = typer.Option("embedded", "--profile", "-p"),
) -> None:
    """Boot, inject crashes through the kernel's crash device, capture the serial log and a memory
    dump at the halt function, and triage them. Exit status 1 when the report contains crashes."""
    from pathlib import Path as _P
    from . import crashrun
    from .triage import render

    if not inject and not all_kinds:
        raise AxiomError("say which crash: --inject KIND or --all (kinds: " + ", ".join(crashrun.KINDS) + ")")
    kinds = list(crashrun.KINDS) if all_kinds else [inject]
    outdir = _P(out) if out else crashrun.default_outdir()
    runs = []
    for a in _arch_list(arch):
        for k in kinds:
            with console.status(f"{a}: injecting {k}"):
                r = crashrun.run_crash(a, k, outdir, profile=profile, dump=not no_dump)
            runs.append(r)
            if not r.crashed:
                console.print(f"[dim]{a}/{k}: the kernel refused (no crash on this arch)[/]")
    report = crashrun.triage_runs(runs)
    sys.stdout.write(render(report, fmt, color=fmt == "text" and sys.stdout.isatty()))
    if not sys.stdout.isatty():
        sys.stdout.write("\n")
    dumps = [str(r.dump) for r in runs if r.dump]
    console.print(f"[dim]logs, dumps and kernels in {outdir}"
                  + (f"; open a dump with: axiomdbg ps --arch ARCH --dump {dumps[0]} --kernel ELF" if dumps else "")
                  + "[/]")
    raise typer.Exit(1 if report.crashes else 0)


@app.command("check")
def check_cmd(
    arch: str = typer.Option("all", "--arch", "-a", help="x86_64, aarch64, riscv64 or all (comma-separated ok)"),
    profile: str = typer.Option("all", "--profile", "-p", help="embedded, cloud or all"),
    only: List[str] = typer.Option([], "--only", help="run only these stages (repeatable or comma-separated)"),
    skip: List[str] = typer.Option([], "--skip", help="skip these stages (repeatable or comma-separated)"),
    jobs: int = typer.Option(os.cpu_count() or 1, "--jobs", "-j", min=1, help="parallel budget (cores)"),
    sarif: Optional[str] = typer.Option(None, "--sarif", help="write a SARIF 2.1.0 report here"),
    junit: Optional[str] = typer.Option(None, "--junit", help="write a JUnit XML report here"),
    smp: int = typer.Option(2, "--smp", min=1, max=8, help="CPUs for the selftest boots"),
    selftest_timeout: float = typer.Option(300, "--selftest-timeout", help="seconds before a boot counts as hung"),
    verifier_ops: str = typer.Option("all", "--verifier-ops", help="prove-verifier operators (comma list or all)"),
    syscall: str = typer.Option("all", "--syscall", help="prove-syscalls handlers (comma list or all)"),
    no_cache: bool = typer.Option(False, "--no-cache", help="ignore the proof cache (.axiomdbg-cache)"),
) -> None:
    """The CI entry point: build, boot + selftest, prove verifier, prove syscalls; SARIF + JUnit;
    exit status 1 on any failure (stages: build, selftest, prove-verifier, prove-syscalls)."""
    from . import check
    ops = None if verifier_ops == "all" else [o.strip() for o in verifier_ops.split(",") if o.strip()]
    calls = None if syscall == "all" else [s.strip() for s in syscall.split(",") if s.strip()]
    rc = check.main(_arch_list(arch), _profile_list(profile), only, skip, jobs, sarif, junit, out,
                    use_cache=not no_cache, smp=smp, selftest_timeout=selftest_timeout,
                    verifier_ops=ops, syscalls=calls)
    raise typer.Exit(rc)


def _mount_subapps() -> None:
    try:
        from .bpf.cli import bpf_app  # eBPF host tools
    except ImportError:
        return
    app.add_typer(bpf_app, name="bpf")


def _mount_triage() -> None:
    from .triage.cli import triage_app
    app.add_typer(triage_app, name="triage")


_mount_triage()


def _mount_prove() -> None:
    from .prove.cli import prove_app
    app.add_typer(prove_app, name="prove")


_mount_prove()


_mount_subapps()


def main(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point: run the app, turning AxiomErrors into one line."""
    try:
        rc = app(args=argv, standalone_mode=False)
        if isinstance(rc, int) and rc:     # typer.Exit(code) comes back as a return value here
            sys.exit(rc)
    except GuestError as e:
        console.print(f"[bold red]error:[/] {e}")
        if e.detail:
            console.print(f"[dim]{e.detail}[/]", highlight=False, markup=False)
        sys.exit(1)
    except AxiomError as e:
        console.print(f"[bold red]error:[/] {e}")
        sys.exit(1)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:
        # usage errors: typer's (vendored) click exceptions know how to print
        # themselves as one clear message and carry their exit code
        if hasattr(e, "show") and hasattr(e, "exit_code"):
            e.show()
            sys.exit(e.exit_code)
        if type(e).__name__ == "Exit" and hasattr(e, "exit_code"):
            sys.exit(e.exit_code)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()

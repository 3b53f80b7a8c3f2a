"""`axiomdbg prove verifier`: the typer sub-app (mounted by axiomdbg/cli.py as `prove`)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional
from xml.sax.saxutils import escape

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import runner
from .targets import ARCHES, PROFILES, ROOT, BuildError

prove_app = typer.Typer(help="Prove the eBPF verifier's range analysis sound from the compiled kernels.",
                        no_args_is_help=True)


def _sel(value: str, allv: tuple[str, ...], what: str) -> list[str]:
    if value == "all":
        return list(allv)
    vals = [v.strip() for v in value.split(",") if v.strip()]
    for v in vals:
        if v not in allv:
            raise typer.BadParameter(f"unknown {what} {v!r} (choose from {', '.join(allv)} or all)")
    return vals


def _sarif(rows: list[dict]) -> dict:
    results = []
    for r in rows:
        if r["status"] == "PROVED":
            continue
        results.append({
            "ruleId": f"prove/{r['check']}",
            "level": "error" if r["status"] == "UNSOUND" else "warning",
            "message": {"text": f"{r['op']} on {r['arch']}/{r['profile']}: {r['status']} {r.get('detail', '')}"
                        + (f" counterexample: {json.dumps(r['counterexample'])}" if r.get("counterexample") else "")},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _source_of(r["op"])}}}],
        })
    return {"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "runs": [{"tool": {"driver": {"name": "axiomdbg prove verifier", "rules": []}}, "results": results}]}


def _source_of(op: str) -> str:
    if op in runner.JMPS:
        return "kernel/bpf/range_jmp.c"
    if op in ("sync", "is_empty"):
        return "kernel/bpf/range_sync.c"
    if op.startswith("tnum"):
        return "kernel/bpf/tnum.c"
    return "kernel/bpf/range_alu.c"


def _junit(rows: list[dict]) -> str:
    fails = sum(r["status"] == "UNSOUND" for r in rows)
    errs = sum(r["status"] == "UNKNOWN" for r in rows)
    out = [f'<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuite name="axiomdbg.prove.verifier" tests="{len(rows)}" failures="{fails}" errors="{errs}">']
    for r in rows:
        name = escape(f"{r['op']}.{r['check']}[{r['arch']}-{r['profile']}]", {'"': "&quot;"})
        out.append(f'  <testcase classname="prove.{r["op"]}" name="{name}" time="{r["seconds"]}">')
        if r["status"] == "UNSOUND":
            out.append(f'    <failure message="UNSOUND">{escape(json.dumps(r.get("counterexample")))}</failure>')
        elif r["status"] == "UNKNOWN":
            out.append(f'    <error message="UNKNOWN">{escape(r.get("detail", ""))}</error>')
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out)


def _table(rows: list[dict], console: Console) -> None:
    ops = []
    for r in rows:
        if r["op"] not in ops:
            ops.append(r["op"])
    cols = []
    for r in rows:
        c = (r["arch"], r["profile"])
        if c not in cols:
            cols.append(c)
    t = Table(title="eBPF range analysis soundness", show_lines=False)
    t.add_column("operator")
    for a, p in cols:
        t.add_column(f"{a}\n{p}", justify="center")
    style = {"PROVED": "green", "UNSOUND": "bold red", "UNKNOWN": "yellow"}
    for op in ops:
        cells = []
        for a, p in cols:
            rs = [r for r in rows if r["op"] == op and r["arch"] == a and r["profile"] == p]
            if not rs:
                cells.append("")
                continue
            worst = "UNSOUND" if any(r["status"] == "UNSOUND" for r in rs) else \
                "UNKNOWN" if any(r["status"] == "UNKNOWN" for r in rs) else "PROVED"
            secs = sum(r["seconds"] for r in rs)
            bad = ",".join(r["check"] for r in rs if r["status"] != "PROVED")
            cached = all(r.get("cached") for r in rs)
            cells.append(f"[{style[worst]}]{worst}[/]" + (f" ({bad})" if bad else "") +
                         f" {secs:.1f}s" + (" ⟲" if cached else ""))
        t.add_row(op, *cells)
    console.print(t)
    for r in rows:
        if r["status"] != "PROVED":
            console.print(f"[{style[r['status']]}]{r['status']}[/] {r['op']}.{r['check']} "
                          f"{r['arch']}/{r['profile']}: {r.get('detail', '')}")
            if r.get("counterexample"):
                console.print(f"    counterexample: {json.dumps(r['counterexample'])}")
            q = r.get("qemu_replay")
            if q:
                from rich.markup import escape as _esc

                console.print(f"    qemu replay ({q.get('arch')}): " + _esc(q["error"] if q.get("error") else
                              f"accepted r0={q['r0']:#x} escaped={q['escaped']}" if "r0" in q else
                              f"run-error errno={q['run_error']}" if "run_error" in q else
                              f"rejected errno={q.get('errno')} ({q.get('reason', '')})"))
            if r.get("reproducer"):
                console.print(f"    reproducer: {r['reproducer']}")
    targets = sorted({r.get("target", "") for r in rows if r["arch"] != "all"})
    console.print("[dim]targets: " + "; ".join(targets) + "[/]")
    console.print("[dim]assumption (compositional): ALU/jump operators are proved with bpf_range_sync "
                  "replaced by a no-op and bpf_tnum_mul by its contract; `sync.preserves`, "
                  "`is_empty.sound` and `tnum_mul` discharge those separately (see docs/proofs.md).[/]")


@prove_app.callback()
def _group() -> None:
    """Proofs about the kernel's compiled code."""


@prove_app.command("verifier")
def verifier(
    arch: str = typer.Option("all", "--arch", help="x86_64, aarch64, riscv64 or all (comma-separated ok)"),
    profile: str = typer.Option("all", "--profile", help="embedded, cloud or all"),
    op: Optional[list[str]] = typer.Option(None, "--op", help="operator name(s), e.g. add64, jgt32, sync"),
    fmt: str = typer.Option("text", "--format", help="text, json, sarif or junit"),
    jobs: int = typer.Option(1, "--jobs", "-j", help="parallel worker processes"),
    mutants: bool = typer.Option(False, "--mutants", help="run the mutation catalogue instead"),
    timeout: int = typer.Option(runner.DEFAULT_TIMEOUT_MS // 1000, "--timeout", help="per-obligation Z3 timeout (s)"),
    no_cache: bool = typer.Option(False, "--no-cache", help="ignore .axiomdbg-cache"),
    no_agree: bool = typer.Option(False, "--no-agree", help="skip the cross-arch agreement checks"),
    exclude: Optional[list[str]] = typer.Option(None, "--exclude", help="leave out this operator (repeatable)"),
    ray: Optional[str] = typer.Option(None, "--ray", metavar="ADDRESS",
                                      help="run the obligations on a Ray cluster: local (a Ray instance for "
                                           "this run, --jobs CPUs), auto, HOST:PORT or ray://HOST:PORT"),
    skip_slow: bool = typer.Option(False, "--skip-slow",
                                   help="leave out the operators that do not finish in the CI budget "
                                        "(runner.SLOW_OPS: signed division; see docs/proofs.md)"),
    reproducers: bool = typer.Option(True, "--reproducers/--no-reproducers",
                                     help="turn UNSOUND results into eBPF reproducer programs"),
    replay_qemu: bool = typer.Option(False, "--replay-qemu",
                                     help="also replay each reproducer program inside QEMU through the bpf "
                                          "syscall (bpftool prog run; one boot per arch)"),
) -> None:
    """Prove every abstract operator sound from each arch's compiled kernel."""
    console = Console(stderr=fmt != "text")
    arches = _sel(arch, ARCHES, "arch")
    profiles = _sel(profile, PROFILES, "profile")
    ops = op or runner.all_ops()
    for o in list(ops) + list(exclude or []):
        if o not in runner.all_ops():
            raise typer.BadParameter(f"unknown operator {o!r}; known: {', '.join(runner.all_ops())}")
    skip = set(exclude or []) | (set(runner.SLOW_OPS) if skip_slow else set())
    ops = [o for o in ops if o not in skip]
    if not ops:
        raise typer.BadParameter("every selected operator is excluded")
    if mutants:
        if ray:
            raise typer.BadParameter("--ray is not supported with --mutants")
        from .mutants import run_mutants

        report = run_mutants(arches, profiles[0], jobs=jobs, timeout_ms=timeout * 1000, console=console)
        if fmt == "json":
            print(json.dumps(report, indent=2))
        raise typer.Exit(0 if report["caught"] == report["total"] else 1)
    job_list = runner.make_jobs(arches, profiles, ops, agree=not no_agree, timeout_ms=timeout * 1000,
                                use_cache=not no_cache)
    t0 = time.monotonic()
    from contextlib import ExitStack

    from rich.markup import escape as _escape

    from .distributed import RayError, early
    ray_ctx = ExitStack()
    try:
        if ray:  # a missing Ray or a bad/unreachable --ray fails here, before the ELF loading
            ray_ctx.enter_context(early(ray, jobs))
    except RayError as e:
        console.print(f"[red]error:[/] {_escape(str(e))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    with ray_ctx, Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                           MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                           transient=fmt != "text") as prog:
        task = prog.add_task("proving", total=len(job_list))

        def done(j, rows):
            prog.update(task, advance=1, description=f"{j.op} {j.arch}/{j.profile}")
        try:
            rows = runner.run_jobs(job_list, jobs, done, ray_address=ray)
        except BuildError as e:
            console.print(f"[red]error:[/] {str(e).splitlines()[0]}")
            raise typer.Exit(2)
        except RayError as e:
            console.print(f"[red]error:[/] {_escape(str(e))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2)
    if reproducers:
        try:
            from .reproduce import attach_reproducers

            attach_reproducers(rows, qemu=replay_qemu)
        except Exception as e:  # reproducers are a bonus, never hide results
            console.print(f"[yellow]reproducers unavailable: {e}[/]")
    if fmt == "json":
        print(json.dumps(rows, indent=2))
    elif fmt == "sarif":
        print(json.dumps(_sarif(rows), indent=2))
    elif fmt == "junit":
        print(_junit(rows))
    else:
        _table(rows, console)
        n = {s: sum(r["status"] == s for r in rows) for s in ("PROVED", "UNSOUND", "UNKNOWN")}
        console.print(f"{n['PROVED']} proved, {n['UNSOUND']} unsound, {n['UNKNOWN']} unknown "
                      f"in {time.monotonic() - t0:.1f}s")
    raise typer.Exit(0 if rows and all(r["status"] == "PROVED" for r in rows) else 1)


from .syscalls.cli import register as _register_syscalls  # noqa: E402  `prove syscalls`

_register_syscalls(prove_app)

from .precision import register as _register_precision  # noqa: E402  `prove precision`

_register_precision(prove_app)


def main() -> None:  # python -m axiomdbg.prove.cli
    prove_app()


if __name__ == "__main__":
    main()

"""`axiomdbg prove syscalls`: the typer command (registered on the prove app by symbolic/cli.py)."""

from __future__ import annotations

import json
import sys
import time
from typing import Optional
from xml.sax.saxutils import escape

import typer
from rich.console import Console
from rich.table import Table

from ..targets import ARCHES

SOURCES = {"fs": "kernel/fs/syscalls.c", "proc": "kernel/proc/sys_proc.c", "mm": "kernel/mm/sys_mm.c"}


def _source_of(name: str) -> str:
    if name in ("mmap", "munmap"):
        return SOURCES["mm"]
    if name in ("spawn", "execve", "thread_create"):
        return "kernel/proc/proc.c"
    if name == "bpf":
        return "kernel/proc/sys_bpf.c"
    if name in ("exit", "getpid", "getppid", "gettid", "waitpid", "kill", "sched_yield", "nanosleep",
                "clock_gettime", "uname", "thread_exit", "poweroff"):
        return SOURCES["proc"]
    return SOURCES["fs"]


def sarif(rows: list[dict]) -> dict:
    results = []
    for r in rows:
        if r["status"] == "PROVED":
            continue
        msg = f"sys_{r['syscall']} on {r['arch']}: {r['check']} {r['status']}: {r.get('detail', '')}"
        if r.get("args") is not None:
            msg += f" args={[hex(a) for a in r['args']]}"
        results.append({"ruleId": f"prove-syscalls/{r['check']}",
                        "level": "error" if r["status"] == "VIOLATED" else "warning",
                        "message": {"text": msg},
                        "locations": [{"physicalLocation": {"artifactLocation": {"uri": _source_of(r["syscall"])}}}]})
    return {"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "runs": [{"tool": {"driver": {"name": "axiomdbg prove syscalls", "rules": []}}, "results": results}]}


def junit(rows: list[dict]) -> str:
    fails = sum(r["status"] == "VIOLATED" for r in rows)
    errs = sum(r["status"] == "UNKNOWN" for r in rows)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuite name="axiomdbg.prove.syscalls" tests="{len(rows)}" failures="{fails}" errors="{errs}">']
    for r in rows:
        name = escape(f"{r['syscall']}.{r['check']}[{r['arch']}]", {'"': "&quot;"})
        out.append(f'  <testcase classname="prove.syscalls.{r["syscall"]}" name="{name}" time="{r["seconds"]}">')
        body = escape(json.dumps({k: r.get(k) for k in ("detail", "args", "ret", "path_condition") if k in r}))
        if r["status"] == "VIOLATED":
            out.append(f'    <failure message="VIOLATED">{body}</failure>')
        elif r["status"] == "UNKNOWN":
            out.append(f'    <error message="UNKNOWN">{body}</error>')
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out)


def table(rows: list[dict], console: Console) -> None:
    names, arches = [], []
    for r in rows:
        if r["syscall"] not in names:
            names.append(r["syscall"])
        if r["arch"] not in arches:
            arches.append(r["arch"])
    style = {"PROVED": "green", "VIOLATED": "bold red", "UNKNOWN": "yellow"}
    t = Table(title="syscall handlers (uptr · errno · nopanic · spec)")
    t.add_column("syscall")
    for a in arches:
        t.add_column(a, justify="center")
    for n in names:
        cells = []
        for a in arches:
            rs = [r for r in rows if r["syscall"] == n and r["arch"] == a]
            if not rs:
                cells.append("")
                continue
            worst = "VIOLATED" if any(r["status"] == "VIOLATED" for r in rs) else \
                "UNKNOWN" if any(r["status"] == "UNKNOWN" for r in rs) else "PROVED"
            bad = ",".join(r["check"] for r in rs if r["status"] != "PROVED")
            secs = sum(r["seconds"] for r in rs)
            cells.append(f"[{style[worst]}]{worst}[/]" + (f" ({bad})" if bad else "") + f" {secs:.1f}s"
                         + (" ⟲" if all(r.get("cached") for r in rs) else ""))
        t.add_row(n, *cells)
    console.print(t)
    for r in rows:
        if r["status"] != "PROVED":
            console.print(f"[{style[r['status']]}]{r['status']}[/] sys_{r['syscall']}.{r['check']} {r['arch']}: "
                          f"{r.get('detail', '')}", markup=True, highlight=False)
            if r.get("args") is not None:
                console.print(f"    args = ({', '.join(hex(a) for a in r['args'])})"
                              + (f"  ret = {r['ret']}" if "ret" in r else ""), highlight=False)
            if r.get("path_condition"):
                console.print(f"    path condition: {r['path_condition'][:400]}", highlight=False, markup=False)
    assumptions: dict[str, None] = {}
    for r in rows:
        for a in r.get("assumptions", ()):
            assumptions.setdefault(a, None)
    console.print("[bold]Assumptions[/] (contracts of hooked callees, invariants, bounds):")
    for a in assumptions:
        console.print(f"  - {a}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("syscalls")
    def syscalls_cmd(
        arch: str = typer.Option("all", "--arch", help="x86_64, aarch64, riscv64 or all (comma-separated ok)"),
        syscall: Optional[list[str]] = typer.Option(None, "--syscall", help="syscall name(s), e.g. dup2, mmap"),
        fmt: str = typer.Option("text", "--format", help="text, json, sarif or junit"),
        jobs: int = typer.Option(1, "--jobs", "-j", help="parallel worker processes"),
        mutants: bool = typer.Option(False, "--mutants", help="run the mutation catalogue instead (every "
                                     "selected arch)"),
        mutant: Optional[list[str]] = typer.Option(None, "--mutant", help="with --mutants: only these mutants"),
        no_cache: bool = typer.Option(False, "--no-cache", help="ignore .axiomdbg-cache"),
    ) -> None:
        """Check every syscall handler (user-pointer safety, errno contract, no panic, functional specs)."""
        from . import runner

        if fmt not in ("text", "json", "sarif", "junit"):
            raise typer.BadParameter(f"unknown format {fmt!r} (text, json, sarif or junit)")
        if arch == "all":
            arches = list(ARCHES)
        else:
            arches = [a.strip() for a in arch.split(",") if a.strip()]
            for a in arches:
                if a not in ARCHES:
                    raise typer.BadParameter(f"unknown arch {a!r} (choose from {', '.join(ARCHES)} or all)")
        console = Console(stderr=fmt != "text")
        if syscall:
            from . import abi

            known = set(abi.numbers().values())
            for s in syscall:
                if s not in known:
                    raise typer.BadParameter(f"unknown syscall {s!r}; known: {', '.join(sorted(known))}")
        if mutants:
            from .mutants import run_mutants

            from .mutants import CATALOGUE

            known_m = {m.name for m in CATALOGUE}
            for m in mutant or ():
                if m not in known_m:
                    raise typer.BadParameter(f"unknown mutant {m!r}; known: {', '.join(sorted(known_m))}")
            rep = run_mutants(arches, jobs=jobs, console=console, names=list(mutant) if mutant else None)
            if fmt == "json":
                print(json.dumps(rep, indent=2))
            raise typer.Exit(0 if rep["caught"] == rep["total"] else 1)
        t0 = time.monotonic()
        try:
            rows = runner.run(arches, syscall or None, jobs=max(1, jobs), use_cache=not no_cache,
                              on_done=lambda j, r: console.print(
                                  f"[dim]{j[1]} {j[2]}: " + " ".join(f"{x['check']}={x['status']}" for x in r)
                                  + "[/]") if fmt == "text" else None)
        except (ValueError, RuntimeError) as e:
            console.print(f"[red]error:[/] {e}")
            raise typer.Exit(2)
        if fmt == "json":
            print(json.dumps(rows, indent=2))
        elif fmt == "sarif":
            print(json.dumps(sarif(rows), indent=2))
        elif fmt == "junit":
            print(junit(rows))
        else:
            table(rows, console)
            n = {s: sum(r["status"] == s for r in rows) for s in ("PROVED", "VIOLATED", "UNKNOWN")}
            console.print(f"{n['PROVED']} proved, {n['VIOLATED']} violated, {n['UNKNOWN']} unknown "
                          f"in {time.monotonic() - t0:.1f}s")
        raise typer.Exit(0 if rows and all(r["status"] == "PROVED" for r in rows) else 1)

"""Report renderers: text (rich), JSON, Markdown and SARIF 2.1.0."""

from __future__ import annotations

import io
import json
from pathlib import Path

from .report import Bucket, Crash, CrashFrame, TriageReport

FORMATS = ("text", "json", "markdown", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "axiomdbg-triage"
TOOL_URI = "https://github.com/axiom-kernel/axiomdbg/blob/main/docs/triage.md"
REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def _frame_text(f: CrashFrame) -> str:
    fn = f.function or "??"
    loc = f"{f.file}:{f.line}" if f.file else "??"
    tag = " (inlined)" if f.inlined else ""
    return f"#{f.index:<2} {f.pc:#018x} {fn}{tag} {loc}"


def render_json(report: TriageReport) -> str:
    return json.dumps(report.to_json(), indent=2) + "\n"


def render_text(report: TriageReport, *, width: int = 110, color: bool = False) -> str:
    from rich.console import Console
    from rich.markup import escape

    buf = io.StringIO()
    con = Console(file=buf, width=width, force_terminal=color, color_system="standard" if color else None,
                  highlight=False, soft_wrap=False)
    n = len(report.crashes)
    con.print(f"[bold]{n} crash{'es' if n != 1 else ''}[/] in {len(report.buckets)} bucket"
              f"{'s' if len(report.buckets) != 1 else ''} from {len(report.logs)} log"
              f"{'s' if len(report.logs) != 1 else ''}")
    for b in report.buckets:
        c = b.representative
        con.print()
        con.print(f"[bold red]{escape(b.title)}[/]  [dim]({b.arch}, bucket {b.id})[/]")
        con.print(f"  count {b.count}; first {escape(str(b.first))}; last {escape(str(b.last))}")
        con.print(f"  cause: {escape(c.decoded.description)}")
        for bit in c.decoded.bits:
            con.print(f"    {escape(bit)}", style="dim")
        if c.record.fault_addr is not None:
            cls = c.address_class.description if c.address_class else ""
            con.print(f"  fault address: {c.record.fault_addr:#x}  {escape(cls)}")
        if c.record.message:
            con.print(f"  message: {escape(c.record.message)}")
        if c.record.location:
            con.print(f"  location: {escape(c.record.location)}")
        if c.record.truncated:
            con.print("  [yellow]record truncated[/]")
        for f in c.frames:
            con.print("  " + escape(_frame_text(f)))
        for note in c.record.notes:
            con.print(f"  [dim]note: {escape(note)}[/]")
    if report.warnings:
        con.print()
        for w in report.warnings:
            con.print(f"[yellow]warning:[/] {escape(w)}")
    if report.notes:
        for note in report.notes:
            con.print(f"[dim]note: {escape(note)}[/]")
    return buf.getvalue()


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: TriageReport) -> str:
    out = [f"# Crash triage: {len(report.crashes)} crashes in {len(report.buckets)} buckets", ""]
    if report.buckets:
        out += ["| # | title | arch | count | first | last |", "|---|---|---|---|---|---|"]
        for i, b in enumerate(report.buckets, 1):
            out.append(f"| {i} | {_md(b.title)} | {b.arch} | {b.count} | `{_md(str(b.first))}` | `{_md(str(b.last))}` |")
        out.append("")
    for i, b in enumerate(report.buckets, 1):
        c = b.representative
        out += [f"## {i}. {_md(b.title)}", ""]
        out.append(f"- arch: {b.arch}; kind: {c.kind}; bucket `{b.id}`; {b.count} occurrence(s)")
        out.append(f"- cause: {_md(c.decoded.description)}")
        if c.decoded.bits:
            out.append(f"- decoded: {_md(', '.join(c.decoded.bits))}")
        if c.record.fault_addr is not None:
            desc = c.address_class.description if c.address_class else ""
            out.append(f"- fault address: `{c.record.fault_addr:#x}` — {_md(desc)}")
        if c.record.message:
            out.append(f"- message: {_md(c.record.message)}")
        if c.record.truncated:
            out.append("- the record is truncated")
        if c.frames:
            out += ["", "```"] + [_frame_text(f) for f in c.frames] + ["```"]
        out.append("")
    if report.warnings:
        out += ["## Warnings", ""] + [f"- {_md(w)}" for w in report.warnings] + [""]
    return "\n".join(out)


def _uri(path: str) -> tuple[str, str | None]:
    p = Path(path)
    if p.is_absolute():
        try:
            return p.resolve().relative_to(REPO_ROOT).as_posix(), "SRCROOT"
        except (ValueError, OSError):
            return p.as_uri(), None
    return p.as_posix(), "SRCROOT"


def render_sarif(report: TriageReport) -> str:
    rules: dict[str, dict] = {}
    results = []
    for b in report.buckets:
        c: Crash = b.representative
        rule_id = f"axiom/{c.kind}"
        if rule_id not in rules:
            rules[rule_id] = {"id": rule_id, "name": c.kind.replace("-", " ").title().replace(" ", ""),
                              "shortDescription": {"text": f"kernel crash: {c.kind}"},
                              "helpUri": TOOL_URI}
        top = c.top_frame()
        if top is not None and top.line <= 0:
            # line 0: compiler-generated code with no source line; point at the nearest frame that has one
            better = next((f for f in c.frames if f.file and f.line > 0 and f.index >= top.index
                           and f.function not in (None,)), None)
            top = better or top
        locations = []
        if top is not None and top.file:
            uri, base = _uri(top.file)
            phys = {"artifactLocation": {"uri": uri}}
            if base:
                phys["artifactLocation"]["uriBaseId"] = base
            if top.line > 0:
                phys["region"] = {"startLine": top.line}
                if top.column > 0:
                    phys["region"]["startColumn"] = top.column
            loc = {"physicalLocation": phys}
            if top.function:
                loc["logicalLocations"] = [{"name": top.function, "kind": "function"}]
            locations.append(loc)
        text = f"{b.title} ({b.count} occurrence{'s' if b.count != 1 else ''}; first {b.first}, last {b.last})"
        results.append({
            "ruleId": rule_id,
            "ruleIndex": list(rules).index(rule_id),
            "level": "error",
            "message": {"text": text},
            "locations": locations,
            "partialFingerprints": {"axiomCrashBucket/v1": b.id},
            "properties": {"arch": b.arch, "title": b.title, "count": b.count,
                           "first": b.first.to_dict(), "last": b.last.to_dict(),
                           "topFrames": list(b.top_frames), "cause": c.decoded.description},
        })
    sarif = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": TOOL_NAME, "informationUri": TOOL_URI, "version": "0.1.0",
                                "rules": list(rules.values())}},
            "originalUriBaseIds": {"SRCROOT": {"uri": REPO_ROOT.as_uri() + "/"}},
            "artifacts": [{"location": {"uri": _uri(l)[0]}} for l in report.logs],
            "results": results,
        }],
    }
    return json.dumps(sarif, indent=2) + "\n"


def render(report: TriageReport, fmt: str, *, color: bool = False) -> str:
    if fmt == "json":
        return render_json(report)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "sarif":
        return render_sarif(report)
    return render_text(report, color=color)

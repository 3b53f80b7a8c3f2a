"""Crash triage: panic records in serial logs -> decoded, symbolized, bucketed reports.

Public API::

    from axiomdbg.triage import parse_log, triage_paths, triage_texts, render, KernelSet
    report = triage_paths(["logs/"], kernels=["build/riscv64-embedded/axiom.elf"])
    print(render(report, "markdown"))

See docs/triage.md.
"""

from .decode import DecodedCause, decode
from .formats import FORMATS, render, render_json, render_markdown, render_sarif, render_text
from .layout import AddressClass, Layout, classify
from .parser import BEGIN, END, PanicRecord, ParseResult, parse_log
from .report import (Bucket, Crash, CrashFrame, Kernel, KernelSet, TriageReport, bucketize, build_crash,
                     make_title, triage_paths, triage_texts)

__all__ = [
    "AddressClass", "BEGIN", "Bucket", "Crash", "CrashFrame", "DecodedCause", "END", "FORMATS", "Kernel",
    "KernelSet", "Layout", "PanicRecord", "ParseResult", "TriageReport", "bucketize", "build_crash", "classify",
    "decode", "make_title", "parse_log", "render", "render_json", "render_markdown", "render_sarif",
    "render_text", "triage_paths", "triage_texts",
]

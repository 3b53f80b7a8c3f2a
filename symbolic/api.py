"""Programmatic entry point of `axiomdbg prove verifier` (for `axiomdbg check`/CI).

    from axiomdbg.prove.api import run
    rows = run(["x86_64", "aarch64", "riscv64"], ["embedded", "cloud"], jobs=2)
    ok = all(r["status"] == "PROVED" for r in rows)

Rows are the same JSON objects as `--format json` (arch, profile, op, check,
status, seconds, detail, target, cached, and counterexample for UNSOUND).
"""

from __future__ import annotations

from typing import Callable, Iterable

from . import runner
from .targets import ARCHES, PROFILES


def run(arches: Iterable[str] = ARCHES, profiles: Iterable[str] = PROFILES, ops: Iterable[str] | None = None,
        jobs: int = 1, use_cache: bool = True, *, agree: bool = True,
        timeout_s: int = runner.DEFAULT_TIMEOUT_MS // 1000, exclude: Iterable[str] = (),
        skip_slow: bool = False, on_done: Callable | None = None, ray_address: str | None = None) -> list[dict]:
    """Prove `ops` (default: every operator, minus `exclude`) on every
    arch x profile; the cross-arch `agree` check is added when all three
    arches are selected and `agree` is true. With `ray_address` ("local",
    "auto", "HOST:PORT", "ray://HOST:PORT") the obligations run as Ray tasks
    (distributed.py). Raises ValueError on an unknown arch, profile or
    operator, distributed.RayError when Ray is missing or unreachable."""
    arches, profiles = list(arches), list(profiles)
    for a in arches:
        if a not in ARCHES:
            raise ValueError(f"unknown arch {a!r} (choose from {', '.join(ARCHES)})")
    for p in profiles:
        if p not in PROFILES:
            raise ValueError(f"unknown profile {p!r} (choose from {', '.join(PROFILES)})")
    known = runner.all_ops()
    sel = list(ops) if ops is not None else list(known)
    for o in list(sel) + list(exclude):
        if o not in known:
            raise ValueError(f"unknown operator {o!r}")
    skip = set(exclude) | (set(runner.SLOW_OPS) if skip_slow else set())
    sel = [o for o in sel if o not in skip]
    job_list = runner.make_jobs(arches, profiles, sel, agree=agree, timeout_ms=timeout_s * 1000,
                                use_cache=use_cache)
    if ray_address:
        from .distributed import early

        # check/connect before the (slow) ELF loading, so a bad address fails at once
        with early(ray_address, jobs):
            return runner.run_jobs(job_list, jobs, on_done, ray_address=ray_address)
    return runner.run_jobs(job_list, jobs, on_done)

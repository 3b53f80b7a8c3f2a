"""Benchmark `axiomdbg prove verifier`: the full run (all operators x 3 arches x
profiles) cold (empty cache) and cached, with time per operator.

    .venv/bin/python bench/prove_verifier.py [--jobs 2] [--profile embedded] [--op add64 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from axiomdbg.prove import runner
from axiomdbg.prove.targets import ARCHES, PROFILES


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--profile", default="all")
    ap.add_argument("--op", action="append")
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("--out", default="build/prove/bench.json")
    ap.add_argument("--skip-slow", action="store_true", help="leave out runner.SLOW_OPS (what CI runs)")
    ap.add_argument("--exclude-op", action="append", default=[], help="leave out this operator (repeatable)")
    ap.add_argument("--rows", default="build/prove/bench-rows.jsonl",
                    help="every finished job's rows, appended as they come (a stopped run still reports)")
    a = ap.parse_args()
    profiles = list(PROFILES) if a.profile == "all" else [a.profile]
    ops = [o for o in (a.op or runner.all_ops())
           if not (a.skip_slow and o in runner.SLOW_OPS) and o not in a.exclude_op]
    rows_f = Path(a.rows)
    rows_f.parent.mkdir(parents=True, exist_ok=True)
    rows_f.write_text("")
    cache = Path(tempfile.mkdtemp(prefix="prove-bench-cache-"))
    runner.CACHE_DIR = cache
    report = {"jobs": a.jobs, "cpus": os.cpu_count(), "skip_slow": a.skip_slow, "loadavg_start": os.getloadavg()}
    try:
        # baseline, measured in this run on this (shared) machine: one small
        # proof (and32 on x86_64, cold); the full run is reported as a ratio
        from axiomdbg.prove.targets import resolve

        t0 = time.monotonic()
        runner.prove_on(resolve("x86_64", profiles[0]), "and32")
        base = time.monotonic() - t0
        report["baseline_and32_x86_64_s"] = round(base, 2)
        for label in ("cold", "cached"):
            jobs = runner.make_jobs(list(ARCHES), profiles, ops, timeout_ms=a.timeout * 1000)
            t0 = time.monotonic()

            def done(job, rows, label=label, t0=t0):
                with rows_f.open("a") as f:
                    for r in rows:
                        f.write(json.dumps({"phase": label, "at_s": round(time.monotonic() - t0, 1),
                                            "kind": job.kind, "part": job.part,
                                            **{k: r.get(k) for k in ("arch", "profile", "op", "check", "status",
                                                                     "seconds", "cached")},
                                            "detail": (r.get("detail") or "")[:400]}) + "\n")

            rows = runner.run_jobs(jobs, a.jobs, on_done=done)
            wall = time.monotonic() - t0
            per_op = defaultdict(float)
            for r in rows:
                per_op[r["op"]] += r["seconds"]
            status = defaultdict(int)
            for r in rows:
                status[r["status"]] += 1
            report[label] = {"wall_s": round(wall, 1), "ratio_to_baseline": round(wall / base, 1),
                             "status": dict(status),
                             "not_proved": [{k: r.get(k) for k in ("arch", "profile", "op", "check", "status",
                                                                  "seconds", "detail")}
                                            for r in rows if r["status"] != "PROVED"],
                             "per_check_s": sorted(([r["arch"], r["profile"], r["op"], r["check"],
                                                     r["seconds"]] for r in rows if not r.get("cached")),
                                                   key=lambda t: -t[4])[:25],
                             "per_op_cpu_s": {k: round(v, 1) for k, v in sorted(per_op.items())}}
            print(f"{label}: {wall:.1f}s wall, {dict(status)}")
            if label == "cold":
                for k, v in sorted(per_op.items(), key=lambda kv: -kv[1]):
                    print(f"  {k:14} {v:8.1f}s")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

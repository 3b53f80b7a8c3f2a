"""Benchmark `axiomdbg prove syscalls`: every handler on every arch, cold (empty
cache) and then cached; reports wall time, the slowest handlers and the
cold/cached ratio.

    .venv/bin/python bench/prove_syscalls.py [--jobs 2] [--arch x86_64 ...] [--syscall dup ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from axiomdbg.prove.syscalls import runner
from axiomdbg.prove.targets import ARCHES


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--arch", action="append")
    ap.add_argument("--syscall", action="append")
    ap.add_argument("--out", default="build/prove-syscalls/bench.json")
    a = ap.parse_args()
    arches = a.arch or list(ARCHES)
    cache = Path(tempfile.mkdtemp(prefix="prove-syscalls-bench-"))
    runner.CACHE_DIR = cache
    # one harness digest for both phases: the cache key must not change between them
    digest = runner.pin_harness_digest()
    report: dict = {"arches": arches, "jobs": a.jobs, "cpus": os.cpu_count(),
                    "loadavg_start": os.getloadavg(), "harness_digest": digest[:16]}
    try:
        for label in ("cold", "cached"):
            t0 = time.monotonic()
            rows = runner.run(arches, a.syscall, jobs=a.jobs, use_cache=True)
            wall = time.monotonic() - t0
            per = defaultdict(float)
            for r in rows:
                per[f"{r['arch']}/{r['syscall']}"] = max(per[f"{r['arch']}/{r['syscall']}"], r.get("wall", 0.0))
            report[label] = {"wall_s": round(wall, 1), "rows": len(rows),
                             "status": dict(Counter(r["status"] for r in rows)),
                             "cached_rows": sum(bool(r.get("cached")) for r in rows),
                             "slowest": sorted(((round(v, 1), k) for k, v in per.items()), reverse=True)[:8],
                             "not_proved": [(r["arch"], r["syscall"], r["check"], r["status"], r["detail"][:200])
                                            for r in rows if r["status"] != "PROVED"]}
            print(f"{label}: {wall:.1f}s, {len(rows)} rows, {report[label]['cached_rows']} from the cache, "
                  f"{report[label]['status']}", flush=True)
        # the ratio only means something if the second phase was served from the cache
        misses = report["cached"]["rows"] - report["cached"]["cached_rows"]
        report["cached_misses"] = misses
        report["cold_over_cached"] = (round(report["cold"]["wall_s"] / max(report["cached"]["wall_s"], 0.01), 1)
                                      if misses == 0 else None)
        runner._PINNED_DIGEST = None
        report["harness_edited_during_run"] = runner._harness_digest()[:16] != digest[:16]
        report["loadavg_end"] = os.getloadavg()
        print(json.dumps(report, indent=2))
        out = Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()

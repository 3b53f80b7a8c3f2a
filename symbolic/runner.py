"""The catalogue of obligations, caching, and (parallel) execution."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import queue
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from . import checks, model
from .targets import ARCHES, PROFILES, ROOT, Target, resolve

HARNESS_VERSION = "prove-7"  # bump when extraction/checks change meaning (3: riscv64 shift lifting; 4: agree and tnum_mul arguments; 5: exact AArch64 flag helpers, angr_fixes.py; 6: merged path conditions keep their common prefix, jump feasibility uses member => nonempty)
CACHE_DIR = ROOT / ".axiomdbg-cache" / "prove"
DEFAULT_TIMEOUT_MS = 60_000
# bpf_tnum_mul is proved for operands whose value|mask fit in w bits, for each w
# of the ladder in turn while the budget lasts; the widest proved is reported
# (its loop runs once per significant bit: the work roughly doubles per rung)
MUL_LADDER = (4, 5, 6, 8, 16, 32, 64)
MUL_BUDGET_S = 300.0
MUL_WIDTH = MUL_LADDER[0]   # the check name when no rung finishes

BINOPS = [n for n in model.ALU2]
UNOPS = [n for n in model.ALU1]
JMPS = [f"{c}{w}" for c in model.COND for w in (64, 32)]
SPECIAL = ["sync", "is_empty", "tnum_mul", "tnum_shift_union", "sdiv_bounds"]
# bpf_tnum_shift_union's contract is proved per kind of shift the operators use:
# check -> (kind argument, width argument; None = symbolic, 32 or 64)
SHIFT_UNION_CHECKS = {"lsh": (0, None), "rsh": (1, None), "arsh64": (2, 64), "arsh32": (2, 32)}
# bpf_sdiv_bounds's contract is proved for each `min` its callers pass:
# check -> min (sdiv64: INT64_MIN; sdiv32: INT32_MIN, arguments in 32-bit range)
SDIV_BOUNDS_CHECKS = {"s64": -(1 << 63), "s32": -(1 << 31)}

# Operators whose obligations do not finish within the CI budget (about 6
# minutes cold for everything on 2 cores); `--skip-slow` leaves them out.
# Why, per class (docs/proofs.md, "What does not finish"):
SLOW_OPS = {
    # bpf_sdiv_bounds's contract: split into ~13 queries per extracted path
    # (riscv64: 24 paths), minutes per arch. sdiv64/sdiv32 themselves prove
    # through the contract in seconds.
    "sdiv_bounds": "signed division bounds contract",
}


def all_ops() -> list[str]:
    return BINOPS + UNOPS + JMPS + SPECIAL


def op_function(op: str) -> str:
    if op in JMPS:
        return "bpf_range_" + op[:-2]
    if op == "tnum_mul":
        return "bpf_tnum_mul"
    if op == "tnum_shift_union":
        return "bpf_tnum_shift_union"
    if op == "sdiv_bounds":
        return "bpf_sdiv_bounds"
    return "bpf_range_" + op


def op_checks(op: str) -> list[str]:
    if op in BINOPS or op in UNOPS:
        return ["sound", "sound_synced"]
    if op in JMPS:
        return ["taken", "fallthrough"]
    if op == "sync":
        return ["preserves", "invariant"]
    if op == "is_empty":
        return ["sound"]
    if op == "tnum_mul":
        return [f"sound@{MUL_WIDTH}bit"]
    if op == "tnum_shift_union":
        return list(SHIFT_UNION_CHECKS)
    if op == "sdiv_bounds":
        return list(SDIV_BOUNDS_CHECKS)
    raise KeyError(op)


@dataclass
class Result:
    arch: str
    profile: str
    op: str
    check: str
    status: str
    seconds: float
    detail: str = ""
    target: str = ""
    counterexample: dict[str, Any] | None = None
    cached: bool = False

    def to_json(self) -> dict:
        d = asdict(self)
        if d["counterexample"] is None:
            d.pop("counterexample")
        return d


# ---------------------------------------------------------------------------
# cache: keyed by the machine code of the function and everything it calls

def _code_hash(elf: str, func: str) -> str:
    from .extract import callees_transitive, func_bytes

    h = hashlib.sha256(HARNESS_VERSION.encode())
    for name in [func] + callees_transitive(elf, func):
        h.update(name.encode() + b"\0" + func_bytes(elf, name))
    return h.hexdigest()


def cache_key(tgt: Target, op: str, extra: str = "") -> str:
    """Key of an obligation's result: the harness, the op, and the
    position-independent digest of the operator's machine code and callees
    (extract.code_digest), so identical code in another ELF (the other
    profile, a rebuilt kernel) hits the cache."""
    from .extract import code_digest

    h = hashlib.sha256()
    h.update(f"{HARNESS_VERSION}|{op}|{extra}|{MUL_LADDER}|{MUL_BUDGET_S}".encode())
    h.update(code_digest(str(tgt.elf), op_function(op)).encode())
    return h.hexdigest()[:32]


def cache_get(key: str) -> list[dict] | None:
    f = CACHE_DIR / f"{key}.json"
    if f.exists():
        try:
            return json.loads(f.read_text())
        except (OSError, ValueError):
            return None
    return None


def cache_put(key: str, rows: list[dict]) -> None:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = CACHE_DIR / f".{key}.tmp"
    tmp.write_text(json.dumps(rows))
    tmp.replace(CACHE_DIR / f"{key}.json")


# ---------------------------------------------------------------------------
# proving one op on one target

def prove_on(tgt: Target, op: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> list[Result]:
    from .extract import Budget, ExtractError, extract

    elf = str(tgt.elf)
    func = op_function(op)
    out: list[Result] = []

    def res(check, o: checks.Outcome, t):
        out.append(Result(tgt.arch, tgt.profile, op, check, o.status, round(t, 3), o.detail, tgt.label,
                          o.counterexample))

    t0 = time.monotonic()
    try:
        if op in BINOPS or op in UNOPS:
            ex = _extract_alu(elf, func, "binop" if op in BINOPS else "unop")
            for chk, synced in (("sound", False), ("sound_synced", True)):
                t1 = time.monotonic()
                with checks.z3_first(checks.Z3_FIRST_MS_ALU):
                    o = checks.alu_sound(ex, op, synced, timeout_ms)
                res(chk, o, (ex.seconds if chk == "sound" else 0) + time.monotonic() - t1)
        elif op in JMPS:
            is32 = op.endswith("32")
            ex = extract(elf, func, "jmp", is32=int(is32))
            for edge in ("taken", "fallthrough"):
                t1 = time.monotonic()
                o = checks.jmp_sound(ex, op[:-2], is32, edge, timeout_ms)
                res(edge, o, (ex.seconds if edge == "taken" else 0) + time.monotonic() - t1)
        elif op == "sync":
            # compositional: each step alone, then sync with the steps replaced
            # by what was just proved about them (extract.SYNC_STEPS)
            from .extract import SYNC_STEPS

            pres, inv = [], []
            for step in SYNC_STEPS:
                t1 = time.monotonic()
                exs = extract(elf, step, "sync")
                pres.append((step, checks.sync_sound(exs, timeout_ms)))
                inv.append((step, checks.step_wf(exs, timeout_ms,
                                                 establishes_invariant=step == "bpf_sync_tnum_to_bounds")))
                pres[-1][1].seconds = time.monotonic() - t1
            t1 = time.monotonic()
            ex = extract(elf, func, "sync", contracts=SYNC_STEPS)
            pres.append((func, checks.sync_sound(ex, timeout_ms)))
            inv.append((func, checks.sync_establishes_invariant(ex, timeout_ms)))
            pres[-1][1].seconds = time.monotonic() - t1
            res("preserves", _combine(pres), sum(o.seconds for _, o in pres))
            res("invariant", _combine(inv), sum(o.seconds for _, o in inv))
        elif op == "is_empty":
            ex = extract(elf, func, "pred")
            t1 = time.monotonic()
            res("sound", checks.is_empty_sound(ex, timeout_ms), ex.seconds + time.monotonic() - t1)
        elif op == "tnum_mul":
            out.append(_tnum_mul_ladder(tgt, elf, func, timeout_ms))
        elif op == "tnum_shift_union":
            for chk, (kind, width) in SHIFT_UNION_CHECKS.items():
                t1 = time.monotonic()
                ex = _extract_shift_union(elf, kind, width)
                o = checks.shift_union_sound(ex, kind, width, timeout_ms)
                res(chk, o, time.monotonic() - t1)
        elif op == "sdiv_bounds":
            for chk, minv in SDIV_BOUNDS_CHECKS.items():
                t1 = time.monotonic()
                ex = extract(elf, func, "sdivb", sdiv_min=minv)
                res(chk, checks.sdiv_bounds_sound(ex, minv, timeout_ms), time.monotonic() - t1)
    except (Budget, ExtractError) as e:
        for chk in op_checks(op):
            if not any(r.check == chk for r in out):
                out.append(Result(tgt.arch, tgt.profile, op, chk, checks.UNKNOWN,
                                  round(time.monotonic() - t0, 3), f"extraction: {e}", tgt.label))
    return out


def _tnum_mul_ladder(tgt: Target, elf: str, func: str, timeout_ms: int) -> Result:
    """bpf_tnum_mul at the widths of MUL_LADDER in turn, within MUL_BUDGET_S:
    one row, named after the widest width proved (sound@<w>bit), whose
    detail lists every rung tried."""
    from .extract import Budget, ExtractError, extract

    t0 = time.monotonic()
    best, bad, notes = None, None, []
    for w in MUL_LADDER:
        left = MUL_BUDGET_S - (time.monotonic() - t0)
        if left <= 1:
            notes.append(f"{w}: not tried (budget of {MUL_BUDGET_S:.0f} s used)")
            break
        t1 = time.monotonic()
        try:
            # eager feasibility checks and no merging: the loop then stops after
            # w iterations and leaves 3^w paths (merged or lazy, even w = 4 did
            # not finish in 600 s)
            ex = extract(elf, func, "tnum2", pre=checks.width_pre(w), merge=False, lazy=False,
                         max_active=4 * 3 ** min(w, 12) + 64, max_steps=400 * 3 ** min(w, 12) + 2000,
                         time_budget=left)
            o = checks.tnum_sound(ex, lambda x, y: x * y, min(timeout_ms, int(left * 1000)))
        except (Budget, ExtractError) as e:
            o = checks.Outcome(checks.UNKNOWN, f"extraction: {e}")
        notes.append(f"{w}: {o.status} in {time.monotonic() - t1:.1f} s" +
                     ("" if o.status == checks.PROVED else f" ({o.detail})"))
        if o.status != checks.PROVED:
            bad = (w, o) if o.status == checks.UNSOUND else None
            break
        best = w
    secs = round(time.monotonic() - t0, 3)
    if bad is not None:
        w, o = bad
        return Result(tgt.arch, tgt.profile, "tnum_mul", f"sound@{w}bit", o.status, secs,
                      f"operands' value|mask < 2^{w}; " + "; ".join(notes), tgt.label, o.counterexample)
    if best is None:
        return Result(tgt.arch, tgt.profile, "tnum_mul", f"sound@{MUL_LADDER[0]}bit", checks.UNKNOWN, secs,
                      "; ".join(notes), tgt.label)
    return Result(tgt.arch, tgt.profile, "tnum_mul", f"sound@{best}bit", checks.PROVED, secs,
                  f"proved for operands whose value|mask < 2^{best} (widest of {'/'.join(map(str, MUL_LADDER))} "
                  f"within {MUL_BUDGET_S:.0f} s); " + "; ".join(notes), tgt.label)


def _combine(parts: list[tuple[str, "checks.Outcome"]]) -> "checks.Outcome":
    """One outcome from sub-obligations: UNSOUND if any is, else UNKNOWN if
    any is, else PROVED; the detail names the failing parts."""
    for st in (checks.UNSOUND, checks.UNKNOWN):
        bad = [(n, o) for n, o in parts if o.status == st]
        if bad:
            n, o = bad[0]
            return checks.Outcome(st, "; ".join(f"{n}: {o.detail}" for n, o in bad), o.counterexample)
    return checks.Outcome(checks.PROVED, "steps " + ", ".join(n for n, _ in parts[:-1]) +
                          f" alone, then {parts[-1][0]} with the steps' contracts")


def _extract_alu(elf: str, func: str, kind: str):
    """Plain path enumeration when the operator has few paths (easier queries
    for Z3), merging at join points when it has many."""
    from .extract import Budget, extract

    return extract(elf, func, kind, merge=True, time_budget=300)


def _extract_shift_union(elf: str, kind: int, width: int | None):
    """bpf_tnum_shift_union with symbolic t, lo, hi (hi <= width-1, the
    contract's precondition) and the given kind/width."""
    import claripy

    from .extract import extract

    def pre(inputs):
        amt = inputs["amount"]
        w = amt["width"]
        ok = claripy.Or(w == 32, w == 64) if width is None else claripy.true()
        return claripy.And(ok, amt["hi"].ULE(w - 1))
    return extract(elf, "bpf_tnum_shift_union", "shiftu", shift=(kind, width), pre=pre)


def _shift_lo_cases(inputs: dict) -> list:
    """A case split for bpf_tnum_shift_union's agree: lo = 0, ..., 63, or lo >= 64
    (together every lo). With lo constant the final shift by lo is wiring and Z3
    compares the two arches' union steps alone; unsplit, the mask word at width
    64 timed out (lo-split: 1-9 s per case)."""
    lo = inputs["amount"]["lo"]
    return [lo == v for v in range(64)] + [lo.UGE(64)]


def shift_union_parts() -> list[str]:
    """bpf_tnum_shift_union's agree, one part per kind and width the operators
    call it with ("lsh@64", ..., "arsh32")."""
    return [chk if width is not None else f"{chk}@{w}"
            for chk, (kind, width) in SHIFT_UNION_CHECKS.items()
            for w in ([width] if width is not None else [64, 32])]


def _shift_union_part(part: str) -> tuple[int, int]:
    chk, _, w = part.partition("@")
    kind, width = SHIFT_UNION_CHECKS[chk]
    return kind, width if width is not None else int(w)


def agree_jobs_for(op: str) -> list[tuple[str | None, str]]:
    """How `op`'s cross-arch agreement is split into jobs: (part, arches) per job,
    arches "all" or "REF+OTHER". Agreement is transitive through the reference
    arch (the first in name order), so "aarch64+riscv64" and "aarch64+x86_64"
    together are the claim for all three. Only bpf_tnum_shift_union is split:
    its agree, whole, ran for more than 13 minutes on one core while the other
    sat idle (docs/proofs.md, "Timings"); split, its 12 parts (6 kinds/widths x
    2 arch pairs) take 0.5-4 minutes each and the pool shares them."""
    if op == "tnum_shift_union":
        ref, *others = sorted(ARCHES)
        return [(part, f"{ref}+{o}") for part in shift_union_parts() for o in others]
    return [(None, "all")]


def agree_on(tgts: list[Target], op: str, timeout_ms: int = DEFAULT_TIMEOUT_MS,
             part: str | None = None) -> Result:
    """`op`'s extracted semantics are equal on the arches `tgts` (their
    paths, outputs and summarised calls: checks.agree). `part` selects one
    piece of a split agree (agree_jobs_for); the row's check is then
    "agree:PART". The row's arch is "all" for the three arches, else the
    arches joined by "+"."""
    from .extract import Budget, ExtractError, extract

    t0 = time.monotonic()
    func = op_function(op)
    label = "all" if len(tgts) == len(ARCHES) else "+".join(t.arch for t in tgts)
    names = ", ".join(t.arch for t in tgts)
    check = "agree" if part is None else f"agree:{part}"

    def row(o: "checks.Outcome") -> Result:
        return Result(label, tgts[0].profile, op, check, o.status, round(time.monotonic() - t0, 3), o.detail,
                      ", ".join(t.label for t in tgts), o.counterexample)
    try:
        exs = {}
        if op == "tnum_mul":
            return Result(label, tgts[0].profile, op, check, checks.UNKNOWN, 0.0,
                          "cross-arch agreement of bpf_tnum_mul is covered by its bounded proof on each arch")
        if op == "sdiv_bounds":
            parts = [(chk, checks.agree({u.arch: extract(str(u.elf), func, "sdivb", sdiv_min=minv) for u in tgts},
                                        timeout_ms)) for chk, minv in SDIV_BOUNDS_CHECKS.items()]
            o = _combine(parts)
            if o.status == checks.PROVED:
                o.detail = f"{names} agree for min = INT64_MIN and INT32_MIN"
            return row(o)
        if op == "tnum_shift_union":
            # every kind (and width) the operators call, each compared on its
            # own, at a constant width (with a symbolic one Z3 timed out; the
            # operators call it with constant widths, compared by their own agree)
            todo = [part] if part is not None else shift_union_parts()
            parts = []
            for pt in todo:
                kind, w = _shift_union_part(pt)
                e = {u.arch: _extract_shift_union(str(u.elf), kind, w) for u in tgts}
                parts.append((pt, checks.agree(e, timeout_ms, per_field=True, cases=_shift_lo_cases)))
            o = _combine(parts)
            if o.status == checks.PROVED:
                o.detail = f"{names} agree for " + ", ".join(n for n, _ in parts) + \
                    " (per field, split on lo where needed)"
            return row(o)
        if op == "sync":
            # compositional, like its soundness proof: each step's extracted
            # function agrees across arches, then bpf_range_sync with the steps
            # as summaries (same steps on same states => same results). Whole,
            # Z3 and Bitwuzla timed out on 3 path pairs after 220 s.
            from .extract import SYNC_STEPS

            parts = [(step, checks.agree({u.arch: extract(str(u.elf), step, "sync") for u in tgts}, timeout_ms))
                     for step in SYNC_STEPS]
            parts.append((func, checks.agree({u.arch: extract(str(u.elf), func, "sync", contracts=SYNC_STEPS)
                                              for u in tgts}, timeout_ms)))
            o = _combine(parts)
            if o.status == checks.PROVED:
                o.detail = f"{names} agree for each step, then for {func} over the steps"
            return row(o)
        for t in tgts:
            if op in BINOPS or op in UNOPS:
                exs[t.arch] = extract(str(t.elf), func, "binop" if op in BINOPS else "unop", merge=True)
            elif op in JMPS:
                exs[t.arch] = extract(str(t.elf), func, "jmp", is32=int(op.endswith("32")))
            elif op == "is_empty":
                exs[t.arch] = extract(str(t.elf), func, "pred")
            else:
                raise KeyError(op)
        o = checks.agree(exs, timeout_ms)
    except (Budget, ExtractError) as e:
        o = checks.Outcome(checks.UNKNOWN, f"extraction: {e}")
    return row(o)


# ---------------------------------------------------------------------------
# jobs

@dataclass
class Job:
    kind: str          # "prove" | "agree"
    profile: str
    op: str
    arch: str = "all"
    overrides: dict[str, str] | None = None
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    use_cache: bool = True
    part: str | None = None   # agree: one piece of a split check (agree_jobs_for)


def job_arches(job: Job) -> list[str]:
    """The arches a job reads: one for prove; all, or "A+B", for agree."""
    if job.kind == "prove":
        return [job.arch]
    return list(ARCHES) if job.arch == "all" else job.arch.split("+")


def job_checks(job: Job) -> list[str]:
    """The checks a job's rows carry (error rows use them)."""
    if job.kind == "prove":
        return op_checks(job.op)
    return ["agree" if job.part is None else f"agree:{job.part}"]


def job_key(job: Job) -> str:
    if job.kind == "prove":
        tgt = resolve(job.arch, job.profile, job.overrides)
        return cache_key(tgt, job.op, f"prove|{job.timeout_ms}")
    tgts = [resolve(a, job.profile, job.overrides) for a in job_arches(job)]
    return hashlib.sha256("|".join(cache_key(t, job.op, f"agree|{job.timeout_ms}|{job.part}") for t in tgts)
                          .encode()).hexdigest()[:32]


def run_job(job: Job) -> list[dict]:
    try:
        key = job_key(job)
        if job.kind == "prove":
            tgt = resolve(job.arch, job.profile, job.overrides)
            if job.use_cache and (hit := cache_get(key)) is not None:
                for r in hit:
                    r["cached"] = True
                    r["target"] = tgt.label
                    r["profile"] = job.profile
                return hit
            rows = [r.to_json() for r in prove_on(tgt, job.op, job.timeout_ms)]
        else:
            tgts = [resolve(a, job.profile, job.overrides) for a in job_arches(job)]
            if job.use_cache and (hit := cache_get(key)) is not None:
                for r in hit:
                    r["cached"] = True
                    r["profile"] = job.profile
                return hit
            rows = [agree_on(tgts, job.op, job.timeout_ms, job.part).to_json()]
        if job.use_cache and all(r["status"] != checks.UNKNOWN or "timeout" not in r.get("detail", "")
                                 for r in rows):
            cache_put(key, rows)
        return rows
    except Exception as e:  # a broken target must not kill the whole run
        return [Result(job.arch, job.profile, job.op, c, checks.UNKNOWN, 0.0, f"error: {e!r}").to_json()
                for c in job_checks(job)]


def _copy_rows(rows: list[dict], rep: Job, job: Job) -> list[dict]:
    """Results of `rep` for `job`, whose operator has the same machine code."""
    out = []
    for r in rows:
        r = dict(r)
        r["profile"] = job.profile
        if job.kind == "prove":
            r["target"] = resolve(job.arch, job.profile, job.overrides).label
        r["cached"] = True
        r["detail"] = (r.get("detail", "") + f" [same machine code as {rep.arch}/{rep.profile}]").strip()
        out.append(r)
    return out


def make_jobs(arches: list[str], profiles: list[str], ops: list[str], agree: bool = True,
              overrides: dict[str, str] | None = None, timeout_ms: int = DEFAULT_TIMEOUT_MS,
              use_cache: bool = True) -> list[Job]:
    jobs = [Job("prove", p, op, a, overrides, timeout_ms, use_cache) for p in profiles for op in ops for a in arches]
    if agree and len(arches) == len(ARCHES):
        jobs += [Job("agree", p, op, arches_, overrides, timeout_ms, use_cache, part)
                 for p in profiles for op in ops if op != "tnum_mul" for part, arches_ in agree_jobs_for(op)]
    return jobs


# Rough cold cost of a job, in seconds on this 2-core box (docs/proofs.md,
# "Timings"): the pool takes the dearest jobs first, so a long one does not
# start last and leave a core idle at the end (longest-processing-time-first).
def cost_hint(job: Job) -> float:
    if job.op in JMPS and job.op[:-2] in ("jeq", "jne", "jset"):
        return 60.0 if job.kind == "prove" else 80.0
    return COST_HINTS.get((job.kind, job.op), 20.0 if job.kind == "agree" else 5.0)


# measured in session 8 (bench/prove_verifier.py, docs/proofs.md "Timings"),
# per job, cold, seconds
COST_HINTS: dict[tuple[str, str], float] = {
    ("prove", "tnum_mul"): MUL_BUDGET_S, ("agree", "tnum_shift_union"): 30.0,
    ("prove", "sub64"): 60.0, ("prove", "mul64"): 35.0, ("prove", "mul32"): 20.0, ("prove", "add64"): 20.0,
    ("prove", "sync"): 25.0, ("prove", "tnum_shift_union"): 20.0, ("prove", "arsh64"): 20.0,
}


def run_jobs(jobs: list[Job], n_jobs: int = 1, on_done: Callable[[Job, list[dict]], None] | None = None,
             ray_address: str | None = None) -> list[dict]:
    """Run `jobs` (in `n_jobs` forked workers, or as tasks on the Ray cluster
    `ray_address`: distributed.py). Jobs whose operator has the
    same position-independent code digest (typically the embedded and cloud
    builds of one arch) run once; the others reuse the result."""
    # build every target and load every ELF first (serially, in this process):
    # workers never race on a build, and forked workers inherit the loaded
    # projects and code digests instead of each loading them again
    seen = set()
    for j in jobs:
        for a in job_arches(j):
            k = (a, j.profile, json.dumps(j.overrides, sort_keys=True))
            if k not in seen:
                seen.add(k)
                resolve(a, j.profile, j.overrides)
    keys: list[str | None] = []
    for j in jobs:
        try:
            keys.append(job_key(j))
        except Exception:
            keys.append(None)
    rep_of: dict[str, int] = {}
    uniq: list[int] = []
    dups: dict[int, list[int]] = {}
    for i, k in enumerate(keys):
        if k is not None and k in rep_of:
            dups.setdefault(rep_of[k], []).append(i)
        else:
            if k is not None:
                rep_of[k] = i
            uniq.append(i)
    uniq.sort(key=lambda i: -cost_hint(jobs[i]))   # stable: equal hints keep their order
    results: dict[int, list[dict]] = {}

    def finish(i: int, r: list[dict]) -> None:
        results[i] = r
        if on_done:
            on_done(jobs[i], r)
        for d in dups.get(i, []):
            results[d] = _copy_rows(r, jobs[i], jobs[d])
            if on_done:
                on_done(jobs[d], results[d])

    if ray_address:
        from .distributed import run_uniq

        run_uniq([(i, jobs[i], keys[i]) for i in uniq], finish, ray_address, n_jobs)
    elif n_jobs <= 1:
        for i in uniq:
            finish(i, run_job(jobs[i]))
    else:
        ctx = mp.get_context("fork")
        with ctx.Pool(n_jobs, maxtasksperchild=40) as pool:
            # rows are reported (on_done) as each job finishes, not in job order
            done_q: queue.SimpleQueue = queue.SimpleQueue()
            for i in uniq:
                pool.apply_async(run_job, (jobs[i],), callback=lambda r, i=i: done_q.put((i, r)),
                                 error_callback=lambda e, i=i: done_q.put((i, e)))
            for _ in uniq:
                i, r = done_q.get()
                if isinstance(r, BaseException):   # the worker itself failed (run_job catches the rest)
                    r = [Result(jobs[i].arch, jobs[i].profile, jobs[i].op, c, checks.UNKNOWN, 0.0,
                                f"error: {r!r}").to_json() for c in job_checks(jobs[i])]
                finish(i, r)
    rows: list[dict] = []
    for i in range(len(jobs)):
        rows += results.get(i, [])
    return rows

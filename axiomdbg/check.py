"""`axiomdbg check`: the one CI entry point.

Stages (each one a list of *units*; a unit is one stage on one arch/profile):

``build``
    ``make -C kernel ARCH=A PROFILE=P`` for every selected arch x profile. Make is
    incremental, so after ``make test`` (or a previous check) this only confirms
    the images are up to date.
``selftest``
    Boot each image under QEMU (TCG) with ``poweroff`` on the command line; the
    kernel's own verdict line ``selftest: N passed, M failed`` is the oracle. Any
    panic record, a missing verdict, a hang (timeout) or M > 0 fails the unit.
``prove-verifier``
    ``axiomdbg prove verifier`` through its Python API (``axiomdbg.prove.runner``):
    every obligation must be PROVED; UNSOUND is a failure with a counterexample,
    UNKNOWN (solver timeout, extraction budget) is a failure too.
``prove-syscalls``
    ``axiomdbg prove syscalls`` through ``axiomdbg.prove.syscalls.run``. When that
    API does not exist the stage reports itself UNAVAILABLE, which counts as a
    failure (skip it explicitly with ``--skip prove-syscalls``): a check that did
    not run never shows up as a pass.

Units run in parallel on a thread pool within a ``--jobs`` budget: a build or a
boot costs one job, a prove stage costs all of them (it forks its own workers).
Every QEMU is owned by a :class:`~axiomdbg.qemu.Machine` context and killed at
the end of its unit, on Ctrl-C and at exit.

Results go to a rich summary table, optionally to SARIF 2.1.0 (``--sarif``, for
code scanning: one result per failure, located in the source when the failure
names a file) and JUnit XML (``--junit``, one testcase per unit or obligation).

The stage functions are plain callables registered in :data:`STAGES`; tests (and
other tools) can run :func:`run_check` with their own stages.
"""

from __future__ import annotations

import json
import os
import re
import time
import xml.etree.ElementTree as ET
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import qemu
from .errors import AxiomError

ROOT = qemu.ROOT
PROFILES = ("embedded", "cloud")

PASS, FAIL, ERROR, UNAVAILABLE, SKIPPED = "pass", "fail", "error", "unavailable", "skipped"
BAD = (FAIL, ERROR, UNAVAILABLE)


@dataclass
class Result:
    """One checked thing: a unit (build of x86_64/cloud) or one obligation of a proof."""
    stage: str
    arch: str
    profile: str
    name: str                      # unique within the stage (JUnit testcase name)
    status: str                    # PASS, FAIL, ERROR, UNAVAILABLE, SKIPPED
    seconds: float = 0.0
    message: str = ""              # one line
    detail: str = ""               # console tail, counterexample, ...
    file: str | None = None        # repository-relative source file the failure points at
    line: int | None = None
    rule: str | None = None        # SARIF rule id (default: the stage name)

    @property
    def bad(self) -> bool:
        return self.status in BAD


@dataclass
class Context:
    """What a stage function gets: the selection and the shared knobs."""
    arches: list[str]
    profiles: list[str]
    jobs: int = 1
    use_cache: bool = True
    smp: int = 2
    selftest_timeout: float = 300.0
    verifier_ops: list[str] | None = None     # None: every operator
    syscalls: list[str] | None = None         # None: every syscall
    log: Callable[[str], None] = lambda s: None


@dataclass
class Stage:
    name: str
    description: str
    # per_config: fn(ctx, arch, profile) -> list[Result], one unit per arch x profile;
    # otherwise fn(ctx) -> list[Result], one unit for the whole selection
    fn: Callable[..., list[Result]]
    per_config: bool = True
    after: tuple[str, ...] = ()        # stages whose units (same config if per_config) must finish first
    exclusive: bool = False            # uses the whole --jobs budget
    isolated: bool = False             # run in a child process (killed as a group on Ctrl-C); the
                                       # stage must be registered in STAGES under its name


# ---------------------------------------------------------------------------
# stage implementations

_CC_ERROR = re.compile(r"^(?:\S*/)?(kernel/[^\s:]+):(\d+):(?:\d+:)? (?:fatal )?error: (.*)$", re.M)


def _rel(path: str) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(ROOT))
    except (ValueError, OSError):
        return path


def stage_build(ctx: Context, arch: str, profile: str) -> list[Result]:
    from .errors import GuestError
    from .pytest_plugin import build_once   # file lock: safe next to a running pytest

    t0 = time.monotonic()
    try:
        path = build_once(arch, profile)
    except GuestError as e:
        m = _CC_ERROR.search(e.detail or "")
        return [Result("build", arch, profile, f"{arch}-{profile}", FAIL, time.monotonic() - t0, str(e),
                       e.detail, file=m.group(1) if m else "kernel/Makefile",
                       line=int(m.group(2)) if m else None)]
    data = path.read_bytes()[:4]
    if data != b"\x7fELF":
        return [Result("build", arch, profile, f"{arch}-{profile}", FAIL, time.monotonic() - t0,
                       f"{_rel(str(path))} is not an ELF file", file="kernel/Makefile")]
    return [Result("build", arch, profile, f"{arch}-{profile}", PASS, time.monotonic() - t0,
                   f"{_rel(str(path))}")]


_VERDICT = re.compile(rb"selftest: (\d+) passed, (\d+) failed")
_FAILED = re.compile(r"selftest: (\S+) FAILED: (.*?)(?: \(line (\d+)\))?\s*$", re.M)


def selftest_verdict(log: bytes) -> tuple[int, int] | None:
    found = _VERDICT.findall(log)
    if not found:
        return None
    p, f = found[-1]
    return int(p), int(f)


def stage_selftest(ctx: Context, arch: str, profile: str) -> list[Result]:
    from .errors import GuestError

    t0 = time.monotonic()
    name = f"{arch}-{profile}"
    kernel = qemu.kernel_path(arch, profile)
    if not kernel.exists():
        return [Result("selftest", arch, profile, name, ERROR, 0.0,
                       f"no kernel image {_rel(str(kernel))} (the build stage did not produce it)")]
    cfg = qemu.MachineConfig(arch=arch, kernel=kernel, smp=ctx.smp, cmdline="poweroff")
    log = b""
    try:
        with qemu.Machine(cfg) as m:
            try:
                m.read_until(_VERDICT.pattern, timeout=ctx.selftest_timeout)
                m.wait_exit(timeout=60)
            finally:
                log = bytes(m.log)
    except GuestError as e:
        return [Result("selftest", arch, profile, name, FAIL, time.monotonic() - t0, str(e),
                       e.detail, file="kernel/user/bin/selftest.c")]
    dt = time.monotonic() - t0
    text = log.decode("utf-8", "replace").replace("\r", "")
    tail = "\n".join(text.splitlines()[-40:])
    if b"AXIOM PANIC" in log:
        return [Result("selftest", arch, profile, name, FAIL, dt, "the kernel panicked", tail)]
    verdict = selftest_verdict(log)
    if verdict is None:
        return [Result("selftest", arch, profile, name, FAIL, dt, "no selftest verdict line", tail)]
    passed, failed = verdict
    if failed or passed == 0:
        out = [Result("selftest", arch, profile, name, FAIL, dt, f"selftest: {passed} passed, {failed} failed",
                      tail)]
        for m in _FAILED.finditer(text):
            out.append(Result("selftest", arch, profile, f"{name}:{m.group(1)}", FAIL, 0.0,
                              f"selftest {m.group(1)} FAILED on {arch}/{profile}: {m.group(2)}",
                              file="kernel/user/bin/selftest.c",
                              line=int(m.group(3)) if m.group(3) else None, rule="selftest/" + m.group(1)))
        return out
    return [Result("selftest", arch, profile, name, PASS, dt, f"{passed} passed, 0 failed")]


def _function_line(path: Path, func: str) -> int | None:
    try:
        for i, ln in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if re.match(rf"^\S.*\b{re.escape(func)}\s*\(", ln) and not ln.rstrip().endswith(";"):
                return i
    except OSError:
        pass
    return None


def _sel_label(sel: list[str], every: tuple[str, ...]) -> str:
    return "all" if list(sel) == list(every) else ",".join(sel)


def stage_prove_verifier(ctx: Context) -> list[Result]:
    try:
        from .prove import runner
    except Exception as e:
        return [Result("prove-verifier", _sel_label(ctx.arches, qemu.ARCHES), _sel_label(ctx.profiles, PROFILES),
                       "api", UNAVAILABLE, 0.0,
                       f"axiomdbg.prove.runner cannot be imported: {e}")]
    ops = ctx.verifier_ops or runner.all_ops()
    unknown = [o for o in ops if o not in runner.all_ops()]
    if unknown:
        return [Result("prove-verifier", "all", "all", "ops", ERROR, 0.0,
                       f"unknown verifier operator(s): {', '.join(unknown)}")]
    if hasattr(runner, "run"):
        rows = runner.run(ctx.arches, ctx.profiles, ops=ops, jobs=ctx.jobs, use_cache=ctx.use_cache)
    else:
        jobs = runner.make_jobs(ctx.arches, ctx.profiles, ops, use_cache=ctx.use_cache)
        done = [0]

        def progress(job, rows) -> None:     # a line now and then: CI logs must not look hung
            if job.kind == "prove":
                # the proof cache is keyed by machine code: a hit made for embedded answers for
                # cloud when both compile the operator alike, and carries embedded's labels
                for r in rows:
                    r["arch"], r["profile"] = job.arch, job.profile
            done[0] += 1
            if done[0] % 25 == 0 or done[0] == len(jobs):
                ctx.log(f"prove-verifier: {done[0]}/{len(jobs)} jobs")
        rows = runner.run_jobs(jobs, ctx.jobs, progress)
    if not rows:
        return [Result("prove-verifier", "all", "all", "rows", ERROR, 0.0, "the prover returned no results")]
    out = []
    for r in rows:
        status = {"PROVED": PASS, "UNSOUND": FAIL}.get(r.get("status"), ERROR)
        op = r.get("op", "?")
        msg = f"{op}.{r.get('check')} on {r.get('arch')}/{r.get('profile')}: {r.get('status')}"
        if r.get("detail"):
            msg += f" ({r['detail']})"
        detail = ""
        if r.get("counterexample"):
            detail = "counterexample: " + json.dumps(r["counterexample"])
        if r.get("reproducer"):
            detail += f"\nreproducer: {r['reproducer']}"
        file = line = None
        if status != PASS:
            src = _verifier_source(runner, op)
            file = src
            line = _function_line(ROOT / src, runner.op_function(op)) if hasattr(runner, "op_function") else None
        out.append(Result("prove-verifier", r.get("arch", "?"), r.get("profile", "?"),
                          f"{op}.{r.get('check')}[{r.get('arch')}-{r.get('profile')}]", status,
                          float(r.get("seconds") or 0.0), msg.splitlines()[0] if msg else "", detail, file, line,
                          rule=f"prove-verifier/{r.get('check')}"))
    return out


def _verifier_source(runner, op: str) -> str:
    """The operator's source file: the prover's own mapping (`prove verifier --format sarif` uses it)."""
    from .prove.cli import _source_of

    return _source_of(op)


def _syscall_api():
    """axiomdbg.prove.syscalls.run, or a one-line reason why it is not there."""
    try:
        from .prove import syscalls as mod
    except Exception as e:
        return None, f"axiomdbg.prove.syscalls cannot be imported: {e}"
    fn = getattr(mod, "run", None)
    if not callable(fn):
        return None, "axiomdbg.prove.syscalls.run() does not exist yet (issue 7: `prove syscalls` is not implemented)"
    return fn, ""


def _syscall_location(name: str) -> tuple[str | None, int | None]:
    for path in sorted((ROOT / "kernel").rglob("*.c")):
        ln = _function_line(path, f"sys_{name}")
        if ln:
            return str(path.relative_to(ROOT)), ln
    return None, None


def _progress(ctx: Context, stage: str):
    n = [0]

    def on_done(job, rows) -> None:
        n[0] += 1
        if n[0] % 10 == 0:
            ctx.log(f"{stage}: {n[0]} jobs done")
    return on_done


def stage_prove_syscalls(ctx: Context) -> list[Result]:
    fn, why = _syscall_api()
    if fn is None:
        return [Result("prove-syscalls", _sel_label(ctx.arches, qemu.ARCHES), "-", "api", UNAVAILABLE, 0.0, why,
                       "skip this stage explicitly with --skip prove-syscalls")]
    kw = {}
    try:
        import inspect
        if "on_done" in inspect.signature(fn).parameters or \
                "on_done" in inspect.signature(getattr(fn, "__wrapped__", fn)).parameters:
            kw["on_done"] = _progress(ctx, "prove-syscalls")
    except (TypeError, ValueError):
        pass
    rows = fn(ctx.arches, syscalls=ctx.syscalls, jobs=ctx.jobs, use_cache=ctx.use_cache, **kw)
    if not rows:
        return [Result("prove-syscalls", "all", "-", "rows", ERROR, 0.0, "the prover returned no results")]
    out = []
    for r in rows:
        st = r.get("status")
        status = {"PROVED": PASS, "VIOLATED": FAIL}.get(st, ERROR)
        sc, chk = r.get("syscall", "?"), r.get("check", "?")
        msg = f"{sc}.{chk} on {r.get('arch')}: {st}" + (f" ({r['detail']})" if r.get("detail") else "")
        detail = "\n".join(f"{k}: {r[k] if isinstance(r[k], str) else json.dumps(r[k])}"
                           for k in ("path_condition", "args", "ret", "counterexample", "assumptions")
                           if r.get(k) and status != PASS)
        file, line = (r.get("file"), r.get("line")) if r.get("file") else \
            (_syscall_location(sc) if status != PASS else (None, None))
        out.append(Result("prove-syscalls", r.get("arch", "?"), r.get("profile", "-") or "-",
                          f"{sc}.{chk}[{r.get('arch')}]", status, float(r.get("seconds") or 0.0),
                          msg.splitlines()[0], detail, file, line, rule=f"prove-syscalls/{chk}"))
    return out


STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("build", "build every arch x profile (make -C kernel)", stage_build),
    Stage("selftest", "boot each image under QEMU and run the in-kernel selftest", stage_selftest,
          after=("build",)),
    Stage("prove-verifier", "prove the eBPF verifier's range analysis sound (angr + Z3)", stage_prove_verifier,
          per_config=False, after=("build",), exclusive=True, isolated=True),
    Stage("prove-syscalls", "symbolic checks of the syscall handlers (angr + Z3)", stage_prove_syscalls,
          per_config=False, after=("build",), exclusive=True, isolated=True),
)}


# ---------------------------------------------------------------------------
# isolated stages: a child process per stage (its own process group, dies with us)

_RESULT_MARK = "@@axiomdbg-check-results@@ "
_children: set = set()


def _ctx_json(ctx: Context) -> str:
    return json.dumps({k: getattr(ctx, k) for k in ("arches", "profiles", "jobs", "use_cache", "smp",
                                                      "selftest_timeout", "verifier_ops", "syscalls")})


def _run_isolated(stage: Stage, ctx: Context) -> list[Result]:
    """Run a registered stage in `python -m axiomdbg.check` and read its results back.

    Why: the prove stages fork worker pools; forking from a thread of this process is
    fragile, and a pool cannot be interrupted mid-job. A child in its own process group
    can be killed whole on Ctrl-C, and PR_SET_PDEATHSIG kills it if we die."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "axiomdbg.check", stage.name, _ctx_json(ctx)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=qemu._set_pdeathsig, cwd=str(ROOT))
    _children.add(proc)
    ctx.log(f"{stage.name}: worker pid {proc.pid}")
    rows, tail = None, []
    try:
        for line in proc.stdout:
            if line.startswith(_RESULT_MARK):
                rows = json.loads(line[len(_RESULT_MARK):])
            else:
                tail = (tail + [line.rstrip()])[-40:]
                if line.startswith("  .. "):
                    ctx.log(line[5:].rstrip())
        rc = proc.wait()
    finally:
        _children.discard(proc)
    if rows is None:
        return [Result(stage.name, "all", "all", "stage", ERROR, 0.0,
                       f"the {stage.name} worker exited with status {rc} without results", "\n".join(tail))]
    return [Result(**r) for r in rows]


def _kill_children() -> None:
    import signal
    for proc in list(_children):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _worker(argv: list[str]) -> int:
    """Child side of _run_isolated: `python -m axiomdbg.check STAGE CTX_JSON`."""
    from dataclasses import asdict

    name, raw = argv
    ctx = Context(**json.loads(raw), log=lambda msg: print("  .. " + msg, flush=True))
    stage = STAGES[name]
    try:
        res = stage.fn(ctx)
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        res = [Result(name, "all", "all", "stage", ERROR, 0.0, f"{type(e).__name__}: {msg}")]
    print(_RESULT_MARK + json.dumps([asdict(r) for r in res]), flush=True)
    return 0


# ---------------------------------------------------------------------------
# selection and scheduling

def _split(values: Iterable[str]) -> list[str]:
    out = []
    for v in values:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


def select_stages(stages: dict[str, Stage], only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[str]:
    """Stage names to run, in declaration order. Unknown names are one-line errors."""
    only, skip = _split(only), _split(skip)
    for n in only + skip:
        if n not in stages:
            raise AxiomError(f"unknown stage {n!r} (stages: {', '.join(stages)})")
    chosen = [n for n in stages if (not only or n in only) and n not in skip]
    if not chosen:
        raise AxiomError("no stage left to run (check --only/--skip)")
    return chosen


@dataclass
class _Unit:
    stage: Stage
    arch: str | None
    profile: str | None
    deps: list["_Unit"] = field(default_factory=list)
    results: list[Result] | None = None
    wall: float = 0.0                  # seconds from start to end of the unit
    cost: int = 1                      # share of the --jobs budget while it runs

    @property
    def label(self) -> str:
        return self.stage.name + (f" {self.arch}/{self.profile}" if self.arch else "")


def _units(stages: dict[str, Stage], names: list[str], ctx: Context) -> list[_Unit]:
    units: list[_Unit] = []
    by_key: dict[tuple, _Unit] = {}
    for n in names:
        st = stages[n]
        configs = [(a, p) for a in ctx.arches for p in ctx.profiles] if st.per_config else [(None, None)]
        for a, p in configs:
            u = _Unit(st, a, p)
            for dep in st.after:
                if dep not in names:
                    continue       # not selected: assume its outputs exist (e.g. --skip build after make test)
                if a is not None:
                    if (dep, a, p) in by_key:
                        u.deps.append(by_key[(dep, a, p)])
                else:
                    u.deps += [x for k, x in by_key.items() if k[0] == dep]
            by_key[(n, a, p)] = u
            units.append(u)
    return units


def run_check(ctx: Context, names: list[str], stages: dict[str, Stage] | None = None,
              on_result: Callable[[_Unit], None] | None = None) -> list[Result]:
    """Run the selected stages; return every Result (never raises for a stage failure).

    A unit whose dependency failed is reported SKIPPED with the reason. Units run
    on at most ``ctx.jobs`` threads; exclusive units run alone."""
    stages = stages or STAGES
    units = _units(stages, names, ctx)
    budget = max(1, ctx.jobs)
    pending = list(units)
    running: dict[Future, _Unit] = {}
    used = 0

    def execute(u: _Unit) -> list[Result]:
        t0 = time.monotonic()
        try:
            return _execute(u, t0)
        finally:
            u.wall = time.monotonic() - t0

    def _execute(u: _Unit, t0: float) -> list[Result]:
        try:
            if u.stage.isolated:
                res = _run_isolated(u.stage, ctx)
            else:
                args = (ctx, u.arch, u.profile) if u.stage.per_config else (ctx,)
                res = u.stage.fn(*args)
            if not res:
                res = [Result(u.stage.name, u.arch or "all", u.profile or "all", "results", ERROR,
                              time.monotonic() - t0, "the stage produced no result")]
            return res
        except Exception as e:   # a crashing stage is an error result, never a traceback
            from .errors import GuestError
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            return [Result(u.stage.name, u.arch or "all", u.profile or "all",
                           f"{u.arch}-{u.profile}" if u.arch else "stage", ERROR, time.monotonic() - t0,
                           f"{type(e).__name__}: {msg}", getattr(e, "detail", "") if isinstance(e, GuestError)
                           else "")]

    pool = ThreadPoolExecutor(max_workers=budget, thread_name_prefix="axiomdbg-check")
    try:
        while pending or running:
            progressed = True
            while progressed:
                progressed = False
                for u in list(pending):
                    if any(d.results is None for d in u.deps):
                        continue
                    failed = [d for d in u.deps if any(r.bad for r in d.results)]
                    if failed:
                        pending.remove(u)
                        u.results = [Result(u.stage.name, u.arch or "all", u.profile or "all",
                                            f"{u.arch}-{u.profile}" if u.arch else "stage", SKIPPED, 0.0,
                                            "not run: " + ", ".join(d.label for d in failed) + " failed")]
                        if on_result:
                            on_result(u)
                        progressed = True
                        continue
                    cost = budget if u.stage.exclusive else 1
                    if used + cost > budget and running:
                        continue
                    pending.remove(u)
                    used += cost
                    if u.stage.exclusive:
                        ctx.log(f"start {u.label}")
                    running[pool.submit(execute, u)] = u
                    u.cost = cost
                    progressed = True
            if not running:
                if pending:   # cannot happen (deps always finish first); guard against a bad graph
                    raise AxiomError("internal error: stage dependency cycle")
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for f in done:
                u = running.pop(f)
                used -= u.cost
                u.results = f.result()
                if on_result:
                    on_result(u)
    except BaseException:
        # Ctrl-C or a bug: kill every QEMU and prove worker now (their stage threads then
        # fail fast), drop queued work, wait for the threads to notice
        qemu._kill_all()
        _kill_children()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        qemu._kill_all()
        _kill_children()
    results = [r for u in units for r in (u.results or [])]
    leaked = _qemu_children()
    if leaked:     # a stage started QEMU outside a Machine and did not stop it: kill, and say so
        for pid in leaked:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        results.append(Result("check", "all", "all", "no-qemu-left", ERROR, 0.0,
                              f"QEMU processes outlived their stage: {leaked}"))
    return results


def _qemu_children() -> list[int]:
    """Live qemu-system-* processes whose parent is this process."""
    me, found = os.getpid(), []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = dict(ln.split(":\t", 1) for ln in (d / "status").read_text().splitlines() if ":\t" in ln)
        except OSError:
            continue
        if fields.get("Name", "").startswith("qemu-system") and fields.get("PPid", "").strip() == str(me) \
                and not fields.get("State", "").startswith("Z"):
            found.append(int(d.name))
    return found


# ---------------------------------------------------------------------------
# reports

def exit_code(results: list[Result]) -> int:
    return 1 if any(r.bad for r in results) or not results else 0


def junit_xml(results: list[Result], stages: Iterable[str]) -> str:
    """JUnit XML: a <testsuites> with one <testsuite> per stage, one <testcase> per result."""
    root = ET.Element("testsuites", name="axiomdbg check")
    tot = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    stages = list(stages)
    stages += [s for s in dict.fromkeys(r.stage for r in results) if s not in stages]   # e.g. the QEMU guard
    for st in stages:
        rs = [r for r in results if r.stage == st]
        n = {"tests": len(rs), "failures": sum(r.status == FAIL for r in rs),
             "errors": sum(r.status in (ERROR, UNAVAILABLE) for r in rs),
             "skipped": sum(r.status == SKIPPED for r in rs), "time": sum(r.seconds for r in rs)}
        suite = ET.SubElement(root, "testsuite", name=f"check.{st}",
                              **{k: (f"{v:.3f}" if k == "time" else str(v)) for k, v in n.items()})
        for k in tot:
            tot[k] += n[k]
        for r in rs:
            tc = ET.SubElement(suite, "testcase", classname=f"check.{st}", name=r.name, time=f"{r.seconds:.3f}")
            if r.file:
                tc.set("file", r.file)
                if r.line:
                    tc.set("line", str(r.line))
            body = "\n".join(x for x in (r.message, r.detail) if x)
            if r.status == FAIL:
                ET.SubElement(tc, "failure", message=r.message, type="fail").text = body
            elif r.status in (ERROR, UNAVAILABLE):
                ET.SubElement(tc, "error", message=r.message, type=r.status).text = body
            elif r.status == SKIPPED:
                ET.SubElement(tc, "skipped", message=r.message)
            elif r.message:
                ET.SubElement(tc, "system-out").text = r.message
    for k, v in tot.items():
        root.set(k, f"{v:.3f}" if k == "time" else str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def sarif(results: list[Result], stages: dict[str, Stage], names: Iterable[str]) -> dict:
    """SARIF 2.1.0: one run, one rule per stage (and per finer rule id used), one
    result per failure. Every result has a location (GitHub code scanning wants
    one): the source it names, or the file that defines the stage's check."""
    from . import __version__

    default_file = {"build": "kernel/Makefile", "selftest": "kernel/user/bin/selftest.c",
                    "prove-verifier": "symbolic/runner.py", "prove-syscalls": "symbolic/syscalls/__init__.py"}
    rules: list[dict] = []
    index: dict[str, int] = {}

    def rule(rid: str, stage: str) -> int:
        if rid not in index:
            index[rid] = len(rules)
            desc = stages[stage].description if stage in stages else stage
            rules.append({"id": rid, "name": rid.replace("/", "_").replace("-", "_"),
                          "shortDescription": {"text": desc if rid == stage else f"{desc}: {rid.split('/', 1)[-1]}"},
                          "defaultConfiguration": {"level": "error"},
                          "helpUri": "https://github.com/axiom-kernel/axiomdbg/blob/main/docs/ci.md"})
        return index[rid]

    for n in names:
        rule(n, n)
    out = []
    for r in results:
        if not r.bad:
            continue
        rid = r.rule or r.stage
        loc = {"artifactLocation": {"uri": r.file or default_file.get(r.stage, "README.md"),
                                    "uriBaseId": "%SRCROOT%"},
               "region": {"startLine": r.line or 1}}
        text = f"[{r.stage} {r.arch}/{r.profile}] {r.status.upper()}: {r.message}"
        if r.detail:
            text += "\n" + r.detail[-4000:]
        out.append({"ruleId": rid, "ruleIndex": rule(rid, r.stage),
                    "level": "error" if r.status == FAIL else "warning" if r.status == UNAVAILABLE else "error",
                    "kind": "fail",
                    "message": {"text": text},
                    "locations": [{"physicalLocation": loc}],
                    "partialFingerprints": {"axiomdbgCheck/v1": f"{r.stage}|{r.arch}|{r.profile}|{r.name}"},
                    "properties": {"stage": r.stage, "arch": r.arch, "profile": r.profile, "status": r.status,
                                   "seconds": round(r.seconds, 3)}})
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "axiomdbg check", "version": __version__,
                                "informationUri": "https://github.com/axiom-kernel/axiomdbg", "rules": rules}},
            "automationDetails": {"id": "axiomdbg-check/"},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": ROOT.as_uri() + "/"}},
            "invocations": [{"executionSuccessful": not any(r.bad for r in results)}],
            "results": out,
        }],
    }


def summary_rows(results: list[Result]) -> list[tuple[str, str, str, str, float, str]]:
    """(stage, arch, profile, status, seconds, note) per unit: obligations of a
    prove stage are folded per (arch, profile); the worst status wins."""
    order = [PASS, SKIPPED, FAIL, UNAVAILABLE, ERROR]
    rows: dict[tuple[str, str, str], list[Result]] = {}
    for r in results:
        rows.setdefault((r.stage, r.arch, r.profile), []).append(r)
    out = []
    for (st, a, p), rs in rows.items():
        worst = max((r.status for r in rs), key=order.index)
        bad = [r for r in rs if r.bad]
        if len(rs) > 1:
            note = f"{len(rs) - len(bad)}/{len(rs)} ok" + (f"; {bad[0].message}" if bad else "")
            secs = sum(r.seconds for r in rs) if st.startswith("prove") else max(r.seconds for r in rs)
        else:
            note, secs = rs[0].message, rs[0].seconds
        out.append((st, a, p, worst, secs, note))
    return out


def print_summary(results: list[Result], wall: float, console) -> None:
    from rich.table import Table

    style = {PASS: "green", FAIL: "bold red", ERROR: "bold red", UNAVAILABLE: "bold yellow", SKIPPED: "dim"}
    t = Table(title=f"axiomdbg check ({wall:.0f}s)")
    for c, j in (("stage", "left"), ("arch", "left"), ("profile", "left"), ("result", "center"),
                 ("seconds", "right"), ("note", "left")):
        t.add_column(c, justify=j, overflow="fold")
    for st, a, p, status, secs, note in summary_rows(results):
        t.add_row(st, a, p, f"[{style[status]}]{status.upper()}[/]", f"{secs:.1f}", note[:160])
    console.print(t)
    for r in results:
        if r.bad and r.detail and r.status != UNAVAILABLE:
            console.print(f"[bold]{r.stage} {r.arch}/{r.profile} {r.name}[/]: {r.message}")
            console.print("\n".join(r.detail.splitlines()[-15:]), markup=False, highlight=False, style="dim")
    n = {s: sum(r.status == s for r in results) for s in (PASS, FAIL, ERROR, UNAVAILABLE, SKIPPED)}
    verdict = "[bold red]FAILED[/]" if exit_code(results) else "[bold green]PASSED[/]"
    console.print(f"{verdict}: {n[PASS]} passed, {n[FAIL]} failed, {n[ERROR]} errors, "
                  f"{n[UNAVAILABLE]} unavailable, {n[SKIPPED]} skipped in {wall:.1f}s")


def main(arches: list[str], profiles: list[str], only: list[str], skip: list[str], jobs: int,
         sarif_file: str | None, junit_file: str | None, console, use_cache: bool = True, smp: int = 2,
         selftest_timeout: float = 300.0, verifier_ops: list[str] | None = None,
         syscalls: list[str] | None = None, stages: dict[str, Stage] | None = None) -> int:
    """The `axiomdbg check` command; returns the exit status."""
    stages = stages or STAGES
    names = select_stages(stages, only, skip)
    if not getattr(console, "is_terminal", True):   # CI logs: no 80-column folding of the table
        from rich.console import Console
        console = Console(width=160, file=console.file, highlight=False)
    # fail early on unwritable report paths rather than after 15 minutes of work
    for f in (sarif_file, junit_file):
        if f and not Path(f).resolve().parent.is_dir():
            raise AxiomError(f"cannot write {f}: directory {Path(f).resolve().parent} does not exist")
    ctx = Context(arches, profiles, jobs=max(1, jobs), use_cache=use_cache, smp=smp,
                  selftest_timeout=selftest_timeout, verifier_ops=verifier_ops, syscalls=syscalls,
                  log=lambda msg: console.print(f"[dim]  .. {msg}[/]", highlight=False))
    console.print(f"[dim]axiomdbg check: stages {', '.join(names)}; arches {', '.join(arches)}; "
                  f"profiles {', '.join(profiles)}; jobs {ctx.jobs}[/]")

    def report(u: _Unit) -> None:
        bad = any(r.bad for r in u.results)
        skipped = all(r.status == SKIPPED for r in u.results)
        mark = "[dim]skip[/]" if skipped else "[red]FAIL[/]" if bad else "[green]ok[/]  "
        console.print(f"  {mark} {u.label} ({u.wall:.1f}s)")

    t0 = time.monotonic()
    results = run_check(ctx, names, stages, on_result=report)
    wall = time.monotonic() - t0
    if sarif_file:
        Path(sarif_file).write_text(json.dumps(sarif(results, stages, names), indent=2) + "\n")
    if junit_file:
        Path(junit_file).write_text(junit_xml(results, names))
    print_summary(results, wall, console)
    return exit_code(results)


if __name__ == "__main__":    # the isolated-stage worker (see _run_isolated)
    import sys
    sys.exit(_worker(sys.argv[1:]))

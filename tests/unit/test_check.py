"""`axiomdbg check` without QEMU: stage selection, scheduling (dependencies, the
--jobs budget, exclusive stages), the mapping of prover rows to results, the
`stage unavailable` failure, and the SARIF / JUnit reports — through fake stages
injected into the API. The live run is tests/live/test_check_live.py."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from axiomdbg import check
from axiomdbg.check import ERROR, FAIL, PASS, SKIPPED, UNAVAILABLE, Context, Result, Stage
from axiomdbg.errors import AxiomError, GuestError

ROOT = Path(__file__).resolve().parents[2]


def fake_stages(record: list, fail: set = frozenset(), crash: set = frozenset()) -> dict[str, Stage]:
    def per(name):
        def fn(ctx, arch, profile):
            record.append((name, arch, profile))
            if (name, arch, profile) in crash:
                raise RuntimeError("stage blew up\nsecond line")
            st = FAIL if (name, arch, profile) in fail else PASS
            return [Result(name, arch, profile, f"{arch}-{profile}", st, 1.5, f"{name} {st}",
                           file="kernel/Makefile" if st == FAIL else None, line=3 if st == FAIL else None)]
        return fn

    def whole(ctx):
        record.append(("prove", None, None))
        return [Result("prove", "all", "all", "op.check[all]", PASS, 2.0, "proved")]

    return {s.name: s for s in (
        Stage("build", "build", per("build")),
        Stage("selftest", "boot", per("selftest"), after=("build",)),
        Stage("prove", "prove", whole, per_config=False, after=("build",), exclusive=True),
    )}


def ctx(**kw) -> Context:
    kw.setdefault("arches", ["x86_64", "riscv64"])
    kw.setdefault("profiles", ["embedded"])
    return Context(**kw)


# -- selection -----------------------------------------------------------------

def test_select_stages():
    st = check.STAGES
    assert check.select_stages(st) == ["build", "selftest", "prove-verifier", "prove-syscalls"]
    assert check.select_stages(st, only=["build,selftest"]) == ["build", "selftest"]
    assert check.select_stages(st, only=["selftest", "build"]) == ["build", "selftest"]
    assert check.select_stages(st, skip=["prove-syscalls", "prove-verifier"]) == ["build", "selftest"]
    assert check.select_stages(st, only=["build,selftest"], skip=["build"]) == ["selftest"]
    with pytest.raises(AxiomError, match="unknown stage 'biuld'"):
        check.select_stages(st, only=["biuld"])
    with pytest.raises(AxiomError, match="no stage left"):
        check.select_stages(st, only=["build"], skip=["build"])


# -- scheduling ----------------------------------------------------------------

def test_all_units_run_after_their_dependencies():
    rec = []
    res = check.run_check(ctx(), ["build", "selftest", "prove"], fake_stages(rec))
    assert len(res) == 5 and all(r.status == PASS for r in res)
    pos = {k: i for i, k in enumerate(rec)}
    for a in ("x86_64", "riscv64"):
        assert pos[("build", a, "embedded")] < pos[("selftest", a, "embedded")]
        assert pos[("build", a, "embedded")] < pos[("prove", None, None)]
    assert check.exit_code(res) == 0


def test_failed_dependency_skips_dependents_and_fails_the_run():
    rec = []
    stages = fake_stages(rec, fail={("build", "riscv64", "embedded")})
    res = check.run_check(ctx(), ["build", "selftest", "prove"], stages)
    by = {(r.stage, r.arch): r for r in res}
    assert by[("build", "riscv64")].status == FAIL
    assert by[("selftest", "riscv64")].status == SKIPPED
    assert "build riscv64/embedded failed" in by[("selftest", "riscv64")].message
    assert by[("selftest", "x86_64")].status == PASS          # the other arch is unaffected
    assert by[("prove", "all")].status == SKIPPED              # it needs every build
    assert ("selftest", "riscv64", "embedded") not in rec
    assert check.exit_code(res) == 1


def test_skipped_dependency_stage_is_not_waited_for():
    rec = []
    res = check.run_check(ctx(), ["selftest"], fake_stages(rec))
    assert [r.stage for r in res] == ["selftest", "selftest"] and check.exit_code(res) == 0
    assert not any(k[0] == "build" for k in rec)


def test_a_crashing_stage_is_an_error_result_not_a_traceback():
    rec = []
    res = check.run_check(ctx(arches=["x86_64"]), ["build"],
                          fake_stages(rec, crash={("build", "x86_64", "embedded")}))
    assert [(r.status, r.message) for r in res] == [(ERROR, "RuntimeError: stage blew up")]
    assert check.exit_code(res) == 1


def test_units_share_the_jobs_budget_and_exclusive_units_run_alone():
    active, peak, lock = [0], {"unit": 0, "during_prove": 0}, threading.Lock()
    both_started = threading.Barrier(2)

    def enter(kind):
        with lock:
            active[0] += 1
            peak[kind] = max(peak[kind], active[0])

    def leave():
        with lock:
            active[0] -= 1

    def build(c, a, p):
        enter("unit")
        try:
            both_started.wait(timeout=60)     # two builds must be in flight together with --jobs 2
        finally:
            leave()
        return [Result("build", a, p, a, PASS)]

    def boot(c, a, p):
        enter("unit")
        leave()
        return [Result("selftest", a, p, a, PASS)]

    def prove(c):
        enter("during_prove")
        leave()
        return [Result("prove", "all", "all", "x", PASS)]

    stages = {"build": Stage("build", "", build), "selftest": Stage("selftest", "", boot, after=("build",)),
              "prove": Stage("prove", "", prove, per_config=False, after=("build",), exclusive=True)}
    res = check.run_check(ctx(jobs=2), ["build", "selftest", "prove"], stages)
    assert all(r.status == PASS for r in res), res
    assert peak["unit"] == 2
    assert peak["during_prove"] == 1, "an exclusive stage ran next to another unit"


# -- the real stages' logic, with their back ends faked ----------------------------

def test_build_failure_points_at_the_compiler_error(monkeypatch):
    from axiomdbg import pytest_plugin

    def broken(arch, profile="embedded", variant=""):
        raise GuestError(f"kernel build failed for {arch}/{profile}",
                         "make: Entering directory\n/work/x/kernel/mm/vm.c:42:7: error: use of undeclared identifier 'x'\n")
    monkeypatch.setattr(pytest_plugin, "build_once", broken)
    [r] = check.stage_build(ctx(), "aarch64", "cloud")
    assert (r.status, r.file, r.line) == (FAIL, "kernel/mm/vm.c", 42)
    assert r.message == "kernel build failed for aarch64/cloud"


def test_selftest_log_parsing():
    log = (b"axiom: started\nselftest: pipe ok\nselftest: mmap FAILED: wrong length (line 212)\n"
           b"selftest: 73 passed, 1 failed\n")
    assert check.selftest_verdict(log) == (73, 1)
    assert check.selftest_verdict(b"no verdict") is None
    [m] = check._FAILED.finditer(log.decode())
    assert m.groups() == ("mmap", "wrong length", "212")


def test_prove_verifier_rows_map_to_results(monkeypatch):
    from axiomdbg.prove import runner
    rows = [{"arch": "x86_64", "profile": "embedded", "op": "add64", "check": "sound", "status": "PROVED",
             "seconds": 1.0},
            {"arch": "riscv64", "profile": "embedded", "op": "jgt64", "check": "taken", "status": "UNSOUND",
             "seconds": 2.0, "counterexample": {"dst": 1}},
            {"arch": "all", "profile": "embedded", "op": "sync", "check": "agree", "status": "UNKNOWN",
             "seconds": 3.0, "detail": "timeout"}]
    calls = []

    def fake_run(arches, profiles, ops=None, jobs=1, use_cache=True):
        calls.append((arches, profiles, ops, jobs, use_cache))
        return rows
    monkeypatch.setattr(runner, "run", fake_run, raising=False)
    res = check.stage_prove_verifier(ctx(jobs=2, verifier_ops=["add64", "jgt64", "sync"], use_cache=False))
    assert calls == [(["x86_64", "riscv64"], ["embedded"], ["add64", "jgt64", "sync"], 2, False)]
    assert [r.status for r in res] == [PASS, FAIL, ERROR]
    assert res[1].file == "kernel/bpf/range_jmp.c" and res[1].line and "counterexample" in res[1].detail
    src = (ROOT / res[1].file).read_text().splitlines()[res[1].line - 1]
    assert "bpf_range_jgt" in src                     # the location really is the operator
    assert res[2].file == "kernel/bpf/range_sync.c"
    bad = check.stage_prove_verifier(ctx(verifier_ops=["add65"]))
    assert bad[0].status == ERROR and "add65" in bad[0].message


def test_prove_syscalls_unavailable_is_a_failure(monkeypatch):
    from axiomdbg.prove import syscalls
    monkeypatch.delattr(syscalls, "run", raising=False)
    [r] = check.stage_prove_syscalls(ctx())
    assert r.status == UNAVAILABLE and r.bad
    assert "prove.syscalls.run() does not exist" in r.message


def test_prove_syscalls_rows(monkeypatch):
    from axiomdbg.prove import syscalls
    rows = [{"arch": "riscv64", "syscall": "getpid", "check": "errno", "status": "PROVED", "seconds": 0.5},
            {"arch": "riscv64", "syscall": "read", "check": "user-pointer", "status": "VIOLATED", "seconds": 4.0,
             "path_condition": "a1 >= 0x8000_0000", "args": [0, 2147483648, 8]},
            {"arch": "x86_64", "syscall": "mmap", "check": "spec", "status": "UNKNOWN", "seconds": 60.0}]
    monkeypatch.setattr(syscalls, "run", lambda arches, syscalls=None, jobs=1, use_cache=True: rows,
                        raising=False)
    res = check.stage_prove_syscalls(ctx())
    assert [r.status for r in res] == [PASS, FAIL, ERROR]
    assert "path_condition: a1 >= 0x8000_0000" in res[1].detail and "args: [0, 2147483648, 8]" in res[1].detail
    assert res[1].rule == "prove-syscalls/user-pointer"
    assert res[1].file and res[1].file.startswith("kernel/") and res[1].line      # sys_read's definition
    src = (ROOT / res[1].file).read_text().splitlines()[res[1].line - 1]
    assert "sys_read" in src


# -- reports and the exit status -------------------------------------------------

# The keys the SARIF 2.1.0 JSON schema (sarif-schema-2.1.0.json) marks required, and its enums.
SARIF_LEVELS = {"none", "note", "warning", "error"}
SARIF_KINDS = {"notApplicable", "pass", "fail", "review", "open", "informational"}


def validate_sarif(doc: dict) -> None:
    assert doc["version"] == "2.1.0" and isinstance(doc["runs"], list) and doc["runs"]        # sarifLog
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    for run in doc["runs"]:
        driver = run["tool"]["driver"]                                                          # run, tool
        assert isinstance(driver["name"], str) and driver["name"]                              # toolComponent
        ids = [r["id"] for r in driver.get("rules", [])]                                       # reportingDescriptor
        assert len(ids) == len(set(ids))
        for inv in run.get("invocations", []):
            assert isinstance(inv["executionSuccessful"], bool)                                # invocation
        for res in run.get("results", []):
            assert isinstance(res["message"]["text"], str) and res["message"]["text"]          # result, message
            assert res.get("level", "warning") in SARIF_LEVELS
            assert res.get("kind", "fail") in SARIF_KINDS
            if "ruleIndex" in res:
                assert ids[res["ruleIndex"]] == res["ruleId"]
            assert res["locations"], "code scanning needs a location"
            for loc in res["locations"]:
                phys = loc["physicalLocation"]
                uri = phys["artifactLocation"]["uri"]                                          # physicalLocation
                assert not uri.startswith("/") and (ROOT / uri).exists(), uri
                assert phys["region"]["startLine"] >= 1                                        # region minimum
            for v in res.get("partialFingerprints", {}).values():
                assert isinstance(v, str)


def run_main(tmp_path, stages, **kw):
    console = Console(file=open(tmp_path / "out.txt", "w"), width=200)
    rc = check.main(["x86_64", "riscv64"], ["embedded", "cloud"], kw.pop("only", []), kw.pop("skip", []), 2,
                    str(tmp_path / "r.sarif"), str(tmp_path / "r.xml"), console, stages=stages, **kw)
    console.file.close()
    return rc, json.loads((tmp_path / "r.sarif").read_text()), ET.parse(tmp_path / "r.xml").getroot(), \
        (tmp_path / "out.txt").read_text()


def test_reports_on_success(tmp_path):
    rc, sarif, junit, text = run_main(tmp_path, fake_stages([]))
    assert rc == 0
    validate_sarif(sarif)
    assert sarif["runs"][0]["results"] == [] and sarif["runs"][0]["invocations"][0]["executionSuccessful"]
    assert junit.tag == "testsuites" and junit.get("tests") == "9" and junit.get("failures") == "0"
    assert [s.get("name") for s in junit] == ["check.build", "check.selftest", "check.prove"]
    assert sum(len(s.findall("testcase")) for s in junit) == 9
    assert "PASSED: 9 passed" in text and "selftest" in text


def test_reports_on_failure(tmp_path):
    stages = fake_stages([], fail={("selftest", "riscv64", "cloud")}, crash={("build", "x86_64", "cloud")})
    rc, sarif, junit, text = run_main(tmp_path, stages)
    assert rc == 1
    validate_sarif(sarif)
    results = sarif["runs"][0]["results"]
    assert {(r["properties"]["stage"], r["properties"]["arch"], r["properties"]["profile"], r["level"])
            for r in results} == {("selftest", "riscv64", "cloud", "error"), ("build", "x86_64", "cloud", "error")}
    sel = next(r for r in results if r["properties"]["stage"] == "selftest")
    assert sel["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert not sarif["runs"][0]["invocations"][0]["executionSuccessful"]
    suites = {s.get("name"): s for s in junit}
    assert suites["check.selftest"].get("failures") == "1"
    assert suites["check.build"].get("errors") == "1"
    assert suites["check.selftest"].get("skipped") == "1"          # x86_64/cloud: its build crashed
    assert suites["check.prove"].get("skipped") == "1"
    failed = [tc for tc in suites["check.selftest"] if tc.find("failure") is not None]
    assert [tc.get("name") for tc in failed] == ["riscv64-cloud"]
    assert "FAILED" in text and "1 failed, 1 errors" in text


def test_unavailable_stage_fails_unless_skipped(tmp_path, monkeypatch):
    from axiomdbg.prove import syscalls
    monkeypatch.delattr(syscalls, "run", raising=False)
    stages = dict(fake_stages([]))
    # in this process (where the API was removed), not in the isolated worker
    stages["prove-syscalls"] = dataclasses.replace(check.STAGES["prove-syscalls"], isolated=False)
    rc, sarif, junit, text = run_main(tmp_path, stages)
    assert rc == 1 and "UNAVAILABLE" in text
    validate_sarif(sarif)
    [r] = sarif["runs"][0]["results"]
    assert r["properties"]["status"] == UNAVAILABLE
    assert junit.find("testsuite[@name='check.prove-syscalls']/testcase/error").get("type") == UNAVAILABLE
    rc, *_ = run_main(tmp_path, stages, skip=["prove-syscalls"])
    assert rc == 0


def test_unwritable_report_path_fails_before_any_work(tmp_path):
    rec = []
    with pytest.raises(AxiomError, match="does not exist"):
        check.main(["x86_64"], ["embedded"], [], [], 1, str(tmp_path / "no" / "dir" / "r.sarif"), None,
                   Console(file=open("/dev/null", "w")), stages=fake_stages(rec))
    assert rec == []


def test_cli_bad_input_is_one_line():
    for argv, want in ((["--only", "nope"], "unknown stage 'nope'"), (["--arch", "sparc"], "unknown architecture"),
                       (["--profile", "huge"], "unknown profile")):
        p = subprocess.run([sys.executable, "-m", "axiomdbg.cli", "check", *argv], capture_output=True, text=True,
                           cwd=ROOT)
        assert p.returncode == 1, (argv, p.stdout, p.stderr)
        err = " ".join(p.stderr.split())
        assert want in err and "Traceback" not in p.stderr, err


def test_a_leaked_qemu_is_killed_and_reported(tmp_path):
    """A stage that starts a QEMU outside a Machine and forgets it: check kills it and fails."""
    import shutil
    fake = tmp_path / "qemu-system-fake"           # the process name is what the guard looks at
    shutil.copy("/bin/sleep", fake)
    started = []

    def leaky(c, a, p):
        started.append(subprocess.Popen([str(fake), "600"]))
        return [Result("selftest", a, p, a, PASS)]
    res = check.run_check(ctx(arches=["x86_64"]), ["selftest"], {"selftest": Stage("selftest", "", leaky)})
    try:
        assert started[0].wait(timeout=30) == -9
        guard = [r for r in res if r.stage == "check"]
        assert [(r.status, r.name) for r in guard] == [(ERROR, "no-qemu-left")]
        assert str(started[0].pid) in guard[0].message and check.exit_code(res) == 1
        junit = ET.fromstring(check.junit_xml(res, ["selftest"]).split("\n", 1)[1])
        assert junit.find("testsuite[@name='check.check']/testcase/error") is not None
    finally:
        started[0].kill()


def test_isolated_stage_runs_in_a_worker_process():
    """The prove stages run in `python -m axiomdbg.check`; their results come back intact."""
    logs = []
    c = ctx(verifier_ops=["add65"], log=logs.append)
    [r] = check._run_isolated(check.STAGES["prove-verifier"], c)
    assert (r.stage, r.status) == ("prove-verifier", ERROR) and "add65" in r.message
    assert any(m.startswith("prove-verifier: worker pid") for m in logs)


def test_ctrl_c_kills_the_prove_worker_at_once(tmp_path):
    """SIGINT while a proof runs: check exits (130) without waiting for the job, and the
    worker's whole process group (its fork pool included) is gone."""
    p = subprocess.Popen([sys.executable, "-m", "axiomdbg.cli", "check", "--only", "prove-verifier",
                          "--arch", "x86_64", "--profile", "embedded", "--verifier-ops", "add64,sub64",
                          "--no-cache", "-j", "2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    worker = None
    try:
        for line in p.stdout:
            if "worker pid" in line:
                worker = int(line.split("worker pid")[1].split()[0])
                break
        assert worker, "no worker started"
        os.kill(p.pid, signal.SIGINT)
        rest = p.communicate(timeout=120)[0]       # a hang guard, not a speed limit
        assert p.returncode == 130, rest
        assert "Traceback" not in rest, rest
        try:
            os.killpg(worker, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        assert not alive, "the prove worker's process group outlived check"
    finally:
        p.kill()
        if worker:
            try:
                os.killpg(worker, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_prove_verifier_fallback_labels_rows_by_job(monkeypatch):
    """Through make_jobs/run_jobs (no runner.run): a cache hit made for embedded that answers
    the cloud job is reported under cloud, and progress reaches the log."""
    from axiomdbg.prove import runner
    monkeypatch.delattr(runner, "run", raising=False)
    jobs = runner.make_jobs(["riscv64"], ["embedded", "cloud"], ["and32"], use_cache=False)
    assert [(j.kind, j.profile) for j in jobs] == [("prove", "embedded"), ("prove", "cloud")]

    def fake_run_jobs(jobs, n, on_done=None):
        out = []
        for j in jobs:
            rows = [{"arch": j.arch, "profile": "embedded", "op": j.op, "check": "sound", "status": "PROVED",
                     "seconds": 0.1, "cached": j.profile == "cloud"}]
            on_done(j, rows)
            out += rows
        return out
    monkeypatch.setattr(runner, "run_jobs", fake_run_jobs)
    logs = []
    res = check.stage_prove_verifier(ctx(arches=["riscv64"], profiles=["embedded", "cloud"],
                                         verifier_ops=["and32"], log=logs.append))
    assert [(r.profile, r.status) for r in res] == [("embedded", PASS), ("cloud", PASS)]
    assert logs == ["prove-verifier: 2/2 jobs"]

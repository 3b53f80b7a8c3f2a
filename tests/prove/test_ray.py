"""`prove verifier --ray`: the obligations run as Ray tasks give the local run's rows.

The oracle is the local (in-process) run of the same operators on the same
ELFs: every row (arch, profile, op, check, status, detail, target, cached,
counterexample) must be equal, only `seconds` may differ. The workers are
separate processes of a Ray instance that get the ELF bytes through the object
store; the cache is redirected to a temp directory in the driver (this
process), so a cache file there can only have been written by the driver.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from axiomdbg.prove import api, distributed, reproduce, runner
from axiomdbg.prove.cli import prove_app
from axiomdbg.prove.targets import resolve

ARCH = "x86_64"
PROFILES = ["embedded", "cloud"]
OPS = ["and32", "is_empty", "mov64"]
cli = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()


def _ray_procs() -> dict[int, str]:
    """Processes of any Ray instance on this machine (GCS, raylet, workers, agents)."""
    out = {}
    for p in psutil.process_iter(["pid", "name", "cmdline"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            name = p.info["name"] or ""
        except (psutil.Error, TypeError):
            continue
        if (name in ("raylet", "gcs_server") or cmd.startswith("ray::") or "/ray/core/src/ray/" in cmd
                or "ray/_private/workers/default_worker.py" in cmd or "ray/dashboard/" in cmd
                or "ray/_private/log_monitor.py" in cmd or "ray/autoscaler/_private/monitor.py" in cmd):
            out[p.info["pid"]] = cmd[:120]
    return out


def _assert_no_new_ray_procs(before: dict[int, str]) -> None:
    new = []
    for pid in set(_ray_procs()) - set(before):
        try:
            new.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    # ray.shutdown() signals its processes; give them the time to exit, then
    # report the ones still alive (a leak)
    _, alive = psutil.wait_procs(new, timeout=30)
    assert not alive, [f"{p.pid} {' '.join(p.cmdline())[:100]}" for p in alive if p.is_running()]


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.fixture(scope="module")
def ray_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ray-cache")


@pytest.fixture()
def driver_cache(ray_cache, monkeypatch) -> Path:
    monkeypatch.setattr(runner, "CACHE_DIR", ray_cache)
    return ray_cache


@pytest.fixture(scope="module")
def local_rows() -> list[dict]:
    """The oracle: the same jobs in this process, without any cache."""
    return api.run([ARCH], PROFILES, OPS, jobs=1, use_cache=False, agree=False)


def _distinct_keys() -> set[str]:
    jobs = runner.make_jobs([ARCH], PROFILES, OPS, agree=False)
    return {runner.job_key(j) for j in jobs}


def test_ray_local_gives_the_local_rows_and_the_driver_writes_the_cache(local_rows, driver_cache):
    assert local_rows and all(r["status"] == "PROVED" for r in local_rows), local_rows
    before = _ray_procs()
    assert not list(driver_cache.glob("*.json"))
    res = cli.invoke(prove_app, ["verifier", "--arch", ARCH, "--profile", "all", *sum((["--op", o] for o in OPS), []),
                                 "--format", "json", "--no-reproducers", "--ray", "local", "--jobs", "1"])
    assert res.exit_code == 0, (res.stdout, res.stderr)
    rows = json.loads(res.stdout)
    assert _strip(rows) == _strip(local_rows)

    info = distributed.last_run
    keys = _distinct_keys()
    # every distinct obligation ran remotely, in Ray worker processes, never in this one
    assert info["submitted"] == len(keys) and info["local"] == 0
    assert info["worker_pids"] and os.getpid() not in info["worker_pids"]
    # the workers proved copies of the driver's ELFs, materialised from the shipped bytes
    driver_elfs = {hashlib.sha256(resolve(ARCH, p).elf.read_bytes()).hexdigest() for p in PROFILES}
    # each ELF crossed to the workers once, as bytes, and was written to the workers' own directory
    assert info["shipped"] == len({Path(e).stem for e in info["elfs"]}) >= 1
    for path in info["elfs"]:
        p = Path(path)
        assert p.parent == distributed.worker_dir() / "elf"
        assert hashlib.sha256(p.read_bytes()).hexdigest() == p.stem
        assert p.stem in driver_elfs
    assert not any(str(resolve(ARCH, p).elf) in info["elfs"] for p in PROFILES)

    # the cache (redirected in this process only) holds each distinct obligation's rows
    files = {f.stem: json.loads(f.read_text()) for f in driver_cache.glob("*.json")}
    assert set(files) == keys
    for cached in files.values():
        c0 = cached[0]
        same = [r for r in rows if (r["arch"], r["profile"], r["op"]) == (c0["arch"], c0["profile"], c0["op"])]
        assert _strip(cached) == _strip(same)

    import ray

    assert not ray.is_initialized()
    _assert_no_new_ray_procs(before)


def test_cached_run_needs_no_ray_instance(local_rows, driver_cache):
    """Every obligation is a cache hit (previous test): answered by the driver,
    no Ray instance is started."""
    if not list(driver_cache.glob("*.json")):
        pytest.skip("needs the cache of test_ray_local_gives_the_local_rows_and_the_driver_writes_the_cache")
    before = _ray_procs()
    rows = api.run([ARCH], PROFILES, OPS, jobs=1, agree=False, ray_address="local")
    assert distributed.last_run["submitted"] == 0
    assert all(r["cached"] for r in rows)
    keep = ("arch", "profile", "op", "check", "status")
    assert [{k: r[k] for k in keep} for r in rows] == [{k: r[k] for k in keep} for r in local_rows]
    assert set(_ray_procs()) - set(before) == set()


def test_patched_sources_are_built_on_the_driver_and_shipped(tmp_path, monkeypatch):
    """A seeded bug (fixtures/prove/seeded.json, as --mutants would patch): the
    driver builds the patched standalone ELF, the worker proves those bytes and
    finds the same UNSOUND rows as the local run. The counterexample is a Z3
    model, which one depends on the solver's history in the process, so it is
    checked by running the patched C operator on the host instead: it must
    really escape."""
    monkeypatch.setattr(runner, "CACHE_DIR", tmp_path / "cache")
    root = Path(__file__).resolve().parents[2]
    spec = json.loads((root / "fixtures" / "prove" / "seeded.json").read_text())["and32_lowbound"]
    src = (root / "kernel" / "bpf" / spec["file"]).read_text()
    assert spec["old"] in src, "seeded bug no longer applies"
    ov = {spec["file"]: src.replace(spec["old"], spec["new"], 1)}
    jobs = runner.make_jobs([ARCH], ["embedded"], [spec["op"]], agree=False, overrides=ov, use_cache=False)
    local = runner.run_jobs(jobs, 1)
    assert any(r["status"] == "UNSOUND" and r.get("counterexample") for r in local), local
    before = _ray_procs()
    streamed = []
    remote = runner.run_jobs(jobs, 1, lambda j, rows: streamed.append((j, rows)), ray_address="local")
    assert [j for j, _ in streamed] == jobs and sum((r for _, r in streamed), []) == remote

    def no_model(rows):
        return [{k: v for k, v in r.items() if k not in ("seconds", "counterexample")} for r in rows]
    assert no_model(remote) == no_model(local)
    for r in remote:
        assert (r["status"] == "UNSOUND") == bool(r.get("counterexample"))
        if r.get("counterexample"):
            assert reproduce.replay(r["op"], r["counterexample"], ov)["confirmed"], r
    patched = hashlib.sha256(resolve(ARCH, "embedded", ov).elf.read_bytes()).hexdigest()
    assert {Path(e).stem for e in distributed.last_run["elfs"]} == {patched}
    assert not list((tmp_path / "cache").glob("*.json"))   # use_cache=False: nothing written
    _assert_no_new_ray_procs(before)


def test_worker_with_another_prover_refuses_and_bytes_are_checked(tmp_path, monkeypatch):
    # the worker function itself (what a Ray task runs), in this process
    spec = {"kind": "prove", "op": "mov64", "arch": ARCH, "profile": "embedded", "timeout_ms": 1000,
            "targets": [], "fingerprint": "0" * 32}
    out = distributed.job_task(spec)
    assert "different prover" in out["error"] and "rows" not in out
    monkeypatch.setenv("AXIOMDBG_RAY_CACHE", str(tmp_path))
    blob = b"\x7fELF not really"
    sha = hashlib.sha256(blob).hexdigest()
    with pytest.raises(RuntimeError, match="corrupted"):
        distributed.materialise(sha, blob + b"!")
    p = distributed.materialise(sha, blob)
    assert p.read_bytes() == blob and p.parent == tmp_path / "elf"


# ---------------------------------------------------------------------------
# bad addresses: one clear line, exit status 2, no traceback, nothing left running

def _verifier(*extra: str):
    return cli.invoke(prove_app, ["verifier", "--arch", ARCH, "--profile", "embedded", "--op", "mov64",
                                  "--no-cache", "--no-reproducers", *extra])


def _one_error_line(res, needle: str) -> str:
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    out = (res.stdout or "") + (res.stderr or "")   # text format prints on stdout
    err = [ln for ln in out.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and needle in err[0], out
    assert "Traceback" not in (res.stderr or "") + (res.stdout or "")
    assert res.exception is None or isinstance(res.exception, SystemExit)
    return err[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Listener:
    """A TCP server that is not Ray: it accepts and then says `reply` (or nothing)."""

    def __init__(self, reply: bytes | None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            if self.reply is not None:
                c.sendall(self.reply)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_unreachable_cluster_is_one_error_line():
    before = _ray_procs()
    port = _closed_port()
    _one_error_line(_verifier("--ray", f"127.0.0.1:{port}"), "unreachable")
    with pytest.raises(distributed.RayError, match="unreachable"):
        api.run([ARCH], ["embedded"], ["mov64"], agree=False, ray_address=f"127.0.0.1:{port}")
    assert set(_ray_procs()) - set(before) == set()


@pytest.mark.parametrize("reply, needle", [(None, "no answer to a gRPC handshake"),
                                           (b"HTTP/1.1 400 Bad Request\r\n\r\n", "does not speak gRPC")])
def test_a_port_that_is_not_ray_is_refused_before_ray_init(reply, needle, monkeypatch):
    # ray.init on such a port retries for ever; the handshake probe must refuse it
    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT_S", 1.0)
    srv = _Listener(reply)
    try:
        _one_error_line(_verifier("--ray", f"127.0.0.1:{srv.port}"), needle)
    finally:
        srv.close()


def test_bad_address_forms(monkeypatch):
    _one_error_line(_verifier("--ray", "nonsense"), "bad Ray address")
    _one_error_line(_verifier("--ray", "host:notaport"), "bad Ray address")
    monkeypatch.setitem(sys.modules, "grpc", None)   # Ray Client's transport not installed
    _one_error_line(_verifier("--ray", "ray://127.0.0.1:10001"), "ray[client]")


def test_auto_without_a_live_cluster(monkeypatch):
    # RAY_ADDRESS takes precedence in Ray's lookup: point it at a dead address
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_closed_port()}")
    _one_error_line(_verifier("--ray", "auto"), "--ray auto found")


def test_ray_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    line = _one_error_line(_verifier("--ray", "local"), "pip install")
    assert distributed.RAY_REQUIREMENT in line


# ---------------------------------------------------------------------------
# a separately started cluster (`ray start --head`): HOST:PORT and auto

@pytest.mark.slow
def test_separate_cluster_by_address_and_auto(local_rows, tmp_path, monkeypatch):
    """A cluster started on its own (`ray start --head --block`, token
    authentication as Ray sets it up by default): reached by HOST:PORT and by
    `auto`; its workers are not this process's children."""
    import time

    ray_bin = Path(sys.executable).with_name("ray")
    port = _closed_port()
    monkeypatch.setenv("RAY_AUTH_MODE", "token")   # the driver side of Ray's default token authentication
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    before = _ray_procs()
    with open(tmp_path / "head.log", "w") as log:
        head = subprocess.Popen([str(ray_bin), "start", "--head", "--block", f"--port={port}", "--num-cpus=1",
                                 "--include-dashboard=false"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        while True:  # until the GCS answers the gRPC handshake
            assert head.poll() is None, (tmp_path / "head.log").read_text()
            try:
                distributed._reachable("head", "127.0.0.1", port)
                break
            except distributed.RayError:
                time.sleep(1)
        for addr in (f"127.0.0.1:{port}", "auto"):
            rows = api.run([ARCH], PROFILES, OPS, jobs=1, use_cache=False, agree=False, ray_address=addr)
            assert _strip(rows) == _strip(local_rows)
            assert distributed.last_run["worker_pids"]
            # the cluster's workers are not children of this process
            mine = {c.pid for c in psutil.Process().children(recursive=True)}
            assert not (distributed.last_run["worker_pids"] & mine)
    finally:
        head.terminate()
        head.wait(timeout=120)
    _assert_no_new_ray_procs(before)

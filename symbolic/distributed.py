"""Running `prove verifier` obligations on a Ray cluster (`--ray ADDRESS`).

The driver (the process that runs the command) does everything that needs the
repository: it builds or finds each target ELF (`targets.resolve`, which may
compile the operator sources -- or a mutant's patched sources -- with the
kernel's flags), computes every job's cache key, answers cache hits and writes
the cache. A worker gets only what a proof reads: the ELF's bytes (put in the
object store once per ELF, `ray.put`) and a small job description (kind, op,
arch, profile, Z3 timeout, and the driver's path and label of each ELF). It
writes the bytes to a content-addressed file in its own temp directory, runs
`runner.prove_on` / `runner.agree_on` on it, and returns the JSON rows with
its local path replaced by the driver's, so the rows are the ones a local run
produces. Nothing on a worker reads the kernel tree, the build directory or
the cache.

Workers must run the same prover: every task carries a fingerprint of the
prover's sources and the angr/claripy/z3 versions, and a worker whose own
fingerprint differs refuses (the run stops with one error line) instead of
returning results of different code.

Addresses:
  local            start a Ray instance on this machine for the run
                   (num_cpus = --jobs) and shut it down at the end
  auto             the cluster started on this machine with `ray start --head`
  HOST:PORT        a cluster's GCS address (the driver must reach every node)
  ray://HOST:PORT  Ray Client (needs the `ray[client]` extra, i.e. grpcio)
A process that has already called `ray.init` keeps its connection: the run
uses it and does not shut it down.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

RAY_REQUIREMENT = "ray==2.60.0"
CONNECT_TIMEOUT_S = 5.0
# a worker process is replaced after this many tasks (loaded angr projects
# accumulate), as the local pool's maxtasksperchild
MAX_CALLS = 40

# filled by run_uniq for the caller's inspection (tests, benchmarks)
last_run: dict = {}


class RayError(RuntimeError):
    """A Ray setup problem, reported as one line (no traceback)."""


# ---------------------------------------------------------------------------
# connection

def _import_ray():
    try:
        import ray
    except ImportError:
        raise RayError(f"--ray needs the `ray` package: pip install '{RAY_REQUIREMENT}'") from None
    return ray


def _host_port(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RayError(f"bad Ray address {addr!r}: expected local, auto, HOST:PORT or ray://HOST:PORT")
    return host.strip("[]"), int(port)


_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_H2_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"   # empty SETTINGS frame (type 4, stream 0)


def _reachable(addr: str, host: str, port: int) -> None:
    """Fail fast unless something at host:port speaks gRPC (HTTP/2), as a Ray
    GCS or Ray Client server does: ray.init retries a port that accepts
    connections but is not Ray for ever. An HTTP/2 server answers the client
    preface with a SETTINGS frame (RFC 9113, 3.4)."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S) as s:
            s.sendall(_H2_PREFACE + _H2_SETTINGS)
            head = b""
            while len(head) < 9:
                chunk = s.recv(9 - len(head))
                if not chunk:
                    break
                head += chunk
    except socket.timeout:
        raise RayError(f"{addr} is not a Ray cluster (no answer to a gRPC handshake in "
                       f"{CONNECT_TIMEOUT_S:g} s)") from None
    except OSError as e:
        why = e.strerror or str(e) or type(e).__name__
        raise RayError(f"Ray cluster at {addr} is unreachable: {why}") from None
    if len(head) < 9 or head[3] != 0x04:
        raise RayError(f"{addr} is not a Ray cluster (it does not speak gRPC)")


@contextlib.contextmanager
def session(address: str, n_jobs: int = 1) -> Iterator[object]:
    """Connected to the Ray cluster `address` for the duration of the block
    (see the module docstring for the forms). Raises RayError with a one-line
    message when Ray is missing or the cluster cannot be reached."""
    address = (address or "").strip()
    if not address:
        raise RayError("empty Ray address: expected local, auto, HOST:PORT or ray://HOST:PORT")
    ray = _import_ray()
    if ray.is_initialized():      # the caller owns this connection
        yield ray
        return
    kw = dict(logging_level="ERROR", log_to_driver=False, configure_logging=True)
    if address == "local":
        # nothing of this run is worth reporting to Ray's usage server
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        kw.update(address="local", num_cpus=max(1, n_jobs), include_dashboard=False,
                  object_store_memory=256 * 1024 * 1024)
    elif address == "auto":
        # Ray's own lookup (RAY_ADDRESS, else the cluster last started with
        # `ray start` on this machine, /tmp/ray/ray_current_cluster, else a
        # running gcs_server); that file outlives its cluster, and ray.init on
        # a dead address retries for ever (ignoring SIGTERM): probe it first
        try:
            from ray._private.services import get_ray_address_from_environment

            found = get_ray_address_from_environment("auto", None)
        except ConnectionError:
            raise RayError("no running Ray cluster found on this machine (start one with `ray start --head`, "
                           "or use --ray local)") from None
        host, port = _host_port(found)
        try:
            _reachable(found, host, port)
        except RayError as e:
            raise RayError(f"--ray auto found {found} ({e}); no running Ray cluster on this machine?") from None
        kw.update(address=found)
    elif address.startswith("ray://"):
        try:
            import grpc  # noqa: F401  (Ray Client transport)
        except ImportError:
            raise RayError(f"a ray:// address needs Ray Client: pip install 'ray[client]=={ray.__version__}' "
                           "(or give the cluster's HOST:PORT GCS address)") from None
        host, port = _host_port(address[len("ray://"):])
        _reachable(address, host, port)
        kw.update(address=address)
    else:
        host, port = _host_port(address)
        _reachable(address, host, port)
        kw.update(address=address)
    try:
        ray.init(**kw)
    except Exception as e:  # whatever Ray raises while connecting/starting: one line
        with contextlib.suppress(Exception):
            ray.shutdown()
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        if address == "local":
            raise RayError(f"cannot start a local Ray instance: {first}") from None
        hint = ("" if os.environ.get("RAY_AUTH_MODE") else
                " (a cluster with token authentication needs RAY_AUTH_MODE=token and its token in "
                "RAY_AUTH_TOKEN or ~/.ray/auth_token)")
        raise RayError(f"cannot connect to Ray at {address}: {first}{hint}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


@contextlib.contextmanager
def early(address: str, n_jobs: int = 1) -> Iterator[None]:
    """For the command/API around a whole run: check `address` before the
    (slow) ELF loading, so a missing Ray or an unreachable cluster fails at
    once. A remote cluster is connected here (run_uniq reuses the
    connection); a `local` instance is started only when some job misses the
    cache (run_uniq), so a fully cached run costs no Ray start-up."""
    if (address or "").strip() == "local":
        _import_ray()
        yield
        return
    with session(address, n_jobs):
        yield


# ---------------------------------------------------------------------------
# what the workers must agree on

# the modules whose code decides a job's rows
ROW_MODULES = ("checks.py", "distributed.py", "extract.py", "model.py", "nonlinear.py", "runner.py",
               "targets.py")


def fingerprint_now() -> str:
    """The prover's sources as they are on disk now (the modules that decide a
    job's rows and the DWARF reader) and the solver stack's versions: equal
    fingerprints give equal rows. The driver takes it at the start of a run:
    that is the code a worker started from now imports."""
    import angr
    import claripy
    import z3

    from axiomdbg.core import dwarf

    h = hashlib.sha256()
    here = Path(__file__).parent
    files = [here / f for f in ROW_MODULES] + [Path(dwarf.__file__)]
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    h.update(f"angr {angr.__version__} claripy {claripy.__version__} z3 {z3.get_version_string()}".encode())
    return h.hexdigest()[:32]


@lru_cache(maxsize=None)
def fingerprint() -> str:
    """A worker's fingerprint, taken at its first task (when it imports the
    prover) and kept: the code a worker process runs does not change."""
    return fingerprint_now()


# ---------------------------------------------------------------------------
# worker side

def worker_dir() -> Path:
    return Path(os.environ.get("AXIOMDBG_RAY_CACHE") or
                Path(tempfile.gettempdir()) / f"axiomdbg-ray-{os.getuid()}")


_VERIFIED: set[str] = set()


def materialise(sha: str, blob: bytes) -> Path:
    """The ELF with content hash `sha` as a file of this node (written once,
    atomically; checked against the hash)."""
    path = worker_dir() / "elf" / f"{sha}.elf"
    if sha in _VERIFIED and path.exists():
        return path
    if hashlib.sha256(blob).hexdigest() != sha:
        raise RuntimeError(f"ELF {sha[:12]} arrived corrupted")
    if not (path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == sha):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{sha}.{os.getpid()}.tmp")
        tmp.write_bytes(blob)
        tmp.replace(path)
    _VERIFIED.add(sha)
    return path


def compute(spec: dict, tgts: list) -> list[dict]:
    """The rows `runner.run_job` computes for `spec` when its cache misses."""
    from . import checks, runner

    try:
        if spec["kind"] == "prove":
            return [r.to_json() for r in runner.prove_on(tgts[0], spec["op"], spec["timeout_ms"])]
        return [runner.agree_on(tgts, spec["op"], spec["timeout_ms"], spec.get("part")).to_json()]
    except Exception as e:  # a broken target must not kill the whole run (as run_job)
        chks = runner.op_checks(spec["op"]) if spec["kind"] == "prove" else \
            ["agree" if spec.get("part") is None else f"agree:{spec['part']}"]
        return [runner.Result(spec["arch"], spec["profile"], spec["op"], c, checks.UNKNOWN, 0.0,
                              f"error: {e!r}").to_json() for c in chks]


def job_task(spec: dict, *blobs: bytes) -> dict:
    """One obligation on a worker: `blobs` are the ELFs of spec["targets"]."""
    from .targets import Target

    info = {"pid": os.getpid(), "host": socket.gethostname()}
    mine = fingerprint()
    if mine != spec["fingerprint"]:
        return dict(info, error=f"worker {info['host']} runs a different prover (fingerprint {mine}, driver "
                                f"{spec['fingerprint']}): install the driver's axiomdbg commit and the same "
                                f"angr/claripy/z3 on every node")
    tgts, subst, paths = [], [], []
    for t, blob in zip(spec["targets"], blobs):
        p = materialise(t["sha256"], blob)
        paths.append(str(p))
        tgts.append(Target(t["arch"], t["profile"], p, t["kind"], t["note"]))
        subst.append((str(p), t["elf"]))
    t0 = time.monotonic()
    rows = compute(spec, tgts)
    # the rows name the ELF (target label, error details): the driver's path, as a local run
    text = json.dumps(rows)
    for local, driver in subst:
        text = text.replace(json.dumps(local)[1:-1], json.dumps(driver)[1:-1])
    return dict(info, rows=json.loads(text), elfs=paths, seconds=round(time.monotonic() - t0, 3))


# ---------------------------------------------------------------------------
# driver side

def _cacheable(rows: list[dict]) -> bool:
    from . import checks

    # as runner.run_job: a solver timeout is not a result
    return all(r["status"] != checks.UNKNOWN or "timeout" not in r.get("detail", "") for r in rows)


def run_uniq(items: list[tuple[int, object, str | None]], finish: Callable[[int, list[dict]], None],
             address: str, n_jobs: int = 1) -> None:
    """Run the distinct jobs `items` ((index, runner.Job, cache key)) on Ray,
    calling `finish(index, rows)` as each one completes. Cache hits and jobs
    without a key (their target failed: run_job reports that at once) are
    answered here; misses go to the cluster and their rows are cached here."""
    from . import runner
    from .targets import resolve

    stats = {"address": address, "submitted": 0, "local": 0, "worker_pids": set(), "hosts": set(),
             "elfs": set(), "shipped": 0, "shipped_bytes": 0, "seconds": 0.0}
    last_run.clear()
    last_run.update(stats)
    remote_items = []
    for i, job, key in items:
        if key is None or (job.use_cache and runner.cache_get(key) is not None):
            finish(i, runner.run_job(job))
            last_run["local"] += 1
        else:
            remote_items.append((i, job, key))
    if not remote_items:
        return
    t0 = time.monotonic()
    with session(address, n_jobs) as ray:
        task = ray.remote(num_cpus=1, max_calls=MAX_CALLS)(job_task)
        refs: dict[str, object] = {}        # sha256 -> ObjectRef of the ELF bytes
        fp = fingerprint_now()
        pending: dict[object, tuple[int, object, str]] = {}
        for i, job, key in remote_items:
            tgts = [resolve(a, job.profile, job.overrides) for a in runner.job_arches(job)]
            specs, args = [], []
            for t in tgts:
                blob = Path(t.elf).read_bytes()
                sha = hashlib.sha256(blob).hexdigest()
                if sha not in refs:
                    refs[sha] = ray.put(blob)
                    last_run["shipped"] += 1
                    last_run["shipped_bytes"] += len(blob)
                specs.append({"arch": t.arch, "profile": t.profile, "kind": t.kind, "note": t.note,
                              "elf": str(t.elf), "sha256": sha})
                args.append(refs[sha])
            spec = {"kind": job.kind, "op": job.op, "arch": job.arch, "profile": job.profile, "part": job.part,
                    "timeout_ms": job.timeout_ms, "targets": specs, "fingerprint": fp}
            pending[task.remote(spec, *args)] = (i, job, key)
            last_run["submitted"] += 1
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    i, job, key = pending.pop(ref)
                    try:
                        out = ray.get(ref)
                    except Exception as e:  # the task died (worker crash, node lost) after Ray's retries
                        msg = (str(e).strip().splitlines() or [type(e).__name__])[0]
                        chks = runner.job_checks(job)
                        rows = [runner.Result(job.arch, job.profile, job.op, c, "UNKNOWN", 0.0,
                                              f"error: ray task failed: {msg}").to_json() for c in chks]
                        finish(i, rows)
                        continue
                    if "error" in out:
                        raise RayError(out["error"])
                    last_run["worker_pids"].add(out["pid"])
                    last_run["hosts"].add(out["host"])
                    last_run["elfs"].update(out["elfs"])
                    rows = out["rows"]
                    if job.use_cache and _cacheable(rows):
                        runner.cache_put(key, rows)
                    finish(i, rows)
        finally:
            for ref in pending:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
    last_run["seconds"] = round(time.monotonic() - t0, 3)

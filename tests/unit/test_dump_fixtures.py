"""The debugger core and the inspection commands on the compact memory-dump fixtures
(fixtures/dumps/<name>/, written by scripts/gen_dump_fixtures.py from real boots), without QEMU.

Every check compares with the oracle recorded at capture time from independent sources:
QEMU's own MMU (`gva2gpa`), the kernel's /proc views and `ls` over the serial shell, the
serial console and llvm-symbolizer on the ELF stored with the dump. The DWARF comes from
that stored ELF (fixtures are snapshots of one build).
"""
from __future__ import annotations

import bisect
import json
import lzma
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from axiomdbg.core.kernel import BuildIdMismatchError
from axiomdbg.core.symbolize import elf_build_id
from axiomdbg.errors import AxiomError
from axiomdbg.oneshot import open_dump, run_command

ROOT = Path(__file__).resolve().parents[2]
DUMPS = ROOT / "fixtures" / "dumps"
ALL = sorted(p.parent for p in DUMPS.glob("*/oracle.json"))
LIVE = [p for p in ALL if json.loads((p / "oracle.json").read_text())["kind"] == "live"]

pytestmark = pytest.mark.skipif(not ALL, reason="no dump fixtures: run scripts/gen_dump_fixtures.py")


def _elf(tmp_path_factory, d: Path) -> Path:
    out = tmp_path_factory.getbasetemp() / f"{d.name}.elf"
    if not out.exists():
        out.write_bytes(lzma.decompress((d / "axiom.elf.xz").read_bytes()))
    return out


@pytest.fixture(scope="module", params=LIVE, ids=[p.name for p in LIVE])
def fx(request, tmp_path_factory):
    d = request.param
    oracle = json.loads((d / "oracle.json").read_text())
    elf = _elf(tmp_path_factory, d)
    s = open_dump(oracle["arch"], str(d / "memory.core.xz"), str(elf), oracle["registers"])
    yield {"dir": d, "o": oracle, "s": s, "elf": elf}
    s.raw_mem.close()


def _json(s, name, *argv):
    return json.loads(run_command(s, name, [*argv, "--json"]))


def test_fixture_is_small_and_matches_its_elf(fx):
    d = fx["dir"]
    assert (d / "memory.core.xz").stat().st_size < 2 * 1024 * 1024
    assert elf_build_id(fx["elf"]) == fx["o"]["build_id"]
    assert _json(fx["s"], "layout")["build_id"] == fx["o"]["build_id"]


def test_vtop_and_pt_agree_with_gva2gpa(fx):
    s, o = fx["s"], fx["o"]
    pairs = o["gva2gpa"]
    assert len(pairs) >= 400 and sum(pa is not None for _, pa in pairs) >= 100
    assert any(pa is None for _, pa in pairs)
    rs = s.arch.ranges(s.mem, s.paging)
    assert any(r.flags.user for r in rs) and any(not r.flags.user for r in rs)
    starts = [r.va for r in rs]
    bad = []
    for va, want in pairs:
        t = s.arch.translate(s.mem, s.paging, va)
        ours = t.pa if t.mapped else None
        i = bisect.bisect_right(starts, va) - 1
        pt_pa = rs[i].pa + (va - rs[i].va) if i >= 0 and rs[i].va <= va < rs[i].va_end else None
        if ours != want or pt_pa != want:
            bad.append((hex(va), want and hex(want), ours and hex(ours), pt_pa and hex(pt_pa)))
    assert not bad, f"{len(bad)} of {len(pairs)} disagree with gva2gpa: {bad[:6]}"
    # the command's JSON chain ends in the same PA
    for va, want in pairs[:: max(1, len(pairs) // 25)]:
        j = _json(s, "vtop", hex(va))
        assert j["pa"] == want and j["mapped"] == (want is not None)
        if want is not None:
            last = j["chain"][-1]
            assert last["entry_address"] is not None and want % 4096 == (va % 4096)


def test_kernel_half_from_layout_registers(fx, tmp_path_factory):
    """A plain dump has no paging registers: the ones synthesised from the layout note
    must translate the kernel half exactly as QEMU did."""
    o = fx["o"]
    s = open_dump(o["arch"], str(fx["dir"] / "memory.core.xz"), str(fx["elf"]))
    try:
        kernel = [(va, pa) for va, pa in o["gva2gpa"] if va >> 63]
        assert len(kernel) >= 100
        bad = [(hex(va), pa) for va, pa in kernel
               if (lambda t: t.pa if t.mapped else None)(s.arch.translate(s.mem, s.paging, va)) != pa]
        assert not bad, bad[:6]
    finally:
        s.raw_mem.close()


def _proc_table(text: str) -> list[dict]:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    head = lines[0].split()
    return [dict(zip(head, ln.split(None, len(head) - 1))) for ln in lines[1:]]


def test_ps_agrees_with_proc(fx):
    ours = _json(fx["s"], "ps")
    # the `cat /proc/processes` that printed the view is gone by the time of the dump
    theirs = [p for p in _proc_table(fx["o"]["views"]["/proc/processes"]) if p["name"] != "cat"]
    by_pid = {p["pid"]: p for p in ours}
    assert theirs
    for p in theirs:
        q = by_pid[int(p["pid"])]
        assert (q["ppid"], q["state"], q["threads"], q["pages"], q["name"]) == \
            (int(p["ppid"]), p["state"], int(p["threads"]), int(p["pages"]), p["name"])
    extra = [p for p in ours if str(p["pid"]) not in {q["pid"] for q in theirs}]
    assert [(p["pid"], p["name"]) for p in extra] == [(fx["o"]["current_pid"], "cat")]


def test_mounts_agree_with_proc(fx):
    assert run_command(fx["s"], "mounts", []).strip().splitlines() == \
        fx["o"]["views"]["/proc/mounts"].strip().splitlines()


def test_pmm_agrees_with_meminfo(fx):
    ours = _json(fx["s"], "pmm")
    theirs = dict(ln.split(None, 1) for ln in fx["o"]["views"]["/proc/meminfo"].strip().splitlines()
                  if not ln.endswith("kB"))
    for key in ("page_size", "total_frames", "reserved_frames", "span_frames"):
        assert ours[key] == int(theirs[key], 0), key
    assert ours["base_pa"] == int(theirs["base_pa"], 16)
    assert abs(ours["free_frames"] - int(theirs["free_frames"])) < 256   # `cat` started in between


def test_maps_agree_with_proc(fx):
    for pid in (1, 2):
        ours = run_command(fx["s"], "maps", ["--pid", str(pid)]).strip().splitlines()
        theirs = fx["o"]["views"][f"/proc/{pid}/maps"].strip().splitlines()
        assert [re.sub(r"\s+", " ", ln) for ln in ours] == [re.sub(r"\s+", " ", ln.strip()) for ln in theirs]


@pytest.mark.parametrize("path", ["/", "/bin", "/dev"])
def test_ls_agrees_with_the_guest_ls(fx, path):
    theirs = {ln.strip() for ln in fx["o"]["views"][f"ls {path}"].splitlines() if ln.strip()} - {".", ".."}
    ours = {e["name"] for e in _json(fx["s"], "ls", path)} - {".", ".."}
    assert theirs and ours == theirs


def test_dmesg_holds_every_echoed_record(fx):
    recs = _json(fx["s"], "dmesg")
    texts = [r["text"] for r in recs]
    echoed = re.findall(r"\[\s*\d+\.\d+\] (.*?)\n", fx["o"]["console"].replace("\r", ""))
    assert echoed and texts[:len(echoed)] == echoed[:len(texts)]
    assert [r["seq"] for r in recs] == list(range(recs[0]["seq"], recs[0]["seq"] + len(recs)))


def test_current_thread_and_cpus(fx):
    cpus = _json(fx["s"], "cpus")
    assert cpus[0]["current_name"] == "cat" and cpus[0]["current_pid"] == fx["o"]["current_pid"]
    assert fx["s"].kernel.current_process().pid.value_() == fx["o"]["current_pid"]


def _llvm(elf: Path, addrs: list[int]) -> list[str | None]:
    if not shutil.which("llvm-symbolizer"):
        pytest.skip("llvm-symbolizer not installed")
    out = subprocess.run(["llvm-symbolizer", f"--obj={elf}", "--output-style=JSON"],
                         input="\n".join(hex(a) for a in addrs), capture_output=True, text=True, check=True).stdout
    return [json.loads(ln)["Symbol"][-1]["FunctionName"] for ln in out.splitlines()]


def test_sleeping_shell_backtrace_symbolizes_like_llvm(fx):
    (bt,) = _json(fx["s"], "bt", "--pid", "2")
    assert bt["state"] == "sleeping" and not bt["error"]
    frames = bt["frames"]
    names = [f["function"] for f in frames]
    assert "sched_switch" in names and "syscall_handler" in names, names
    lookups = [f["pc"] - (1 if f["index"] > 0 or fx["o"]["arch"] != "x86_64" else 0) for f in frames]
    want = _llvm(fx["elf"], lookups)
    for f, w in zip(frames, want):
        if f["function"] and not w.startswith(".L"):
            assert f["function"] == w, (hex(f["pc"]), f["function"], w)
    # paths are relative to the source tree (prefix-mapped build) and exist in it
    from axiomdbg.core.symbolize import source_path
    locs = [f["location"].rsplit(":", 1)[0] for f in frames if f["location"]]
    assert locs and all(not p.startswith("/") for p in locs)
    assert all(source_path(p) is not None for p in locs)


def test_missing_page_and_wrong_elf_are_one_line(fx, tmp_path_factory):
    s = fx["s"]
    from axiomdbg.transport.dump import DumpError
    kept = s.raw_mem.ranges()
    hole = kept[0][1] if kept[0][1] not in {a for a, _ in kept} else None
    if hole is not None:
        with pytest.raises((DumpError, AxiomError)) as e:
            s.raw_mem.read_phys(hole, 8)
        assert "\n" not in str(e.value) and "not in the dump" in str(e.value)
    others = [p for p in ALL if p != fx["dir"] and json.loads((p / "oracle.json").read_text())["arch"] == fx["o"]["arch"]
              and json.loads((p / "oracle.json").read_text())["build_id"] != fx["o"]["build_id"]]
    if others:
        with pytest.raises(BuildIdMismatchError) as e:
            open_dump(fx["o"]["arch"], str(fx["dir"] / "memory.core.xz"), str(_elf(tmp_path_factory, others[0])))
        assert "\n" not in str(e.value)


def test_bad_dump_files_are_one_line(tmp_path):
    from axiomdbg.transport.dump import DumpError, DumpMemory
    for name, data in (("empty.core", b""), ("junk.core.xz", b"not xz at all"),
                       ("text.core.xz", lzma.compress(b"hello"))):
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(DumpError) as e:
            DumpMemory(p)
        assert "\n" not in str(e.value)
    with pytest.raises(DumpError):
        DumpMemory(tmp_path / "missing.core")


class _Patched:
    """Physical memory with some bytes replaced (to model records the console never saw)."""

    def __init__(self, inner, patches: dict[int, bytes]):
        self.inner, self.patches = inner, patches

    def read_phys(self, addr: int, size: int) -> bytes:
        data = bytearray(self.inner.read_phys(addr, size))
        for pa, b in self.patches.items():
            lo, hi = max(pa, addr), min(pa + len(b), addr + size)
            if lo < hi:
                data[lo - addr:hi - addr] = b[lo - pa:hi - pa]
        return bytes(data)


def test_dmesg_shows_records_never_echoed(fx):
    """During a panic klog() writes to the ring without echoing (kernel/lib/klog.c): put such a
    record in the ring of the snapshot; dmesg on the dump must show it, after the echoed ones."""
    from axiomdbg.commands import Session
    s = fx["s"]
    ring = s.kernel.var("klog_ring")
    nxt = ring.next_seq.value_()
    slot = ring.rec[nxt % len(ring.rec)]
    rt = slot.type_.strip()
    text = b"panic-mode record never echoed"
    last_ts = ring.rec[(nxt - 1) % len(ring.rec)].ts_ns.value_()
    fields = {"seq": nxt.to_bytes(8, "little"), "ts_ns": (last_ts + 1000).to_bytes(8, "little")}
    patches = {}

    def put(va: int, b: bytes):
        patches[s.arch.virt_to_phys(s.mem, s.paging, va)] = b

    for name, b in fields.items():
        put(slot.address_ + rt.offsetof(name), b[:rt.member(name).type.sizeof])
    put(slot.address_ + rt.offsetof("len"), len(text).to_bytes(rt.member("len").type.sizeof, "little"))
    put(slot.address_ + rt.offsetof("text"), text + b"\0")
    put(ring.address_ + ring.type_.strip().offsetof("next_seq"), (nxt + 1).to_bytes(8, "little"))
    s2 = Session(fx["o"]["arch"], _Patched(s.raw_mem, patches), s.regs, elf=str(fx["elf"]))
    recs = _json(s2, "dmesg")
    assert recs[-1]["text"] == text.decode() and recs[-1]["seq"] == nxt
    assert text.decode() not in fx["o"]["console"]
    assert [r["text"] for r in recs[:-1]] == [r["text"] for r in _json(s, "dmesg")]


def test_bt_panic_on_a_healthy_kernel_is_one_line(fx):
    with pytest.raises(AxiomError) as e:
        run_command(fx["s"], "bt", ["--panic"])
    assert "has not panicked" in str(e.value) and "\n" not in str(e.value)

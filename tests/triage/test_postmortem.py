"""Post-mortem on memory dumps of real crashes: the crashing thread's backtrace and registers
recovered from memory (`axiomdbg bt --dump FILE --kernel ELF`, `ax bt --panic`) against the
panic record the kernel printed on the serial console and against llvm-symbolizer.

* fixtures/dumps/<arch>-crash-null/ (scripts/gen_dump_fixtures.py): no QEMU needed;
* live: every injection kind on every arch (`crash=KIND`, dump taken in axiom_halt).
"""
from __future__ import annotations

import json
import lzma
import re
from pathlib import Path

import pytest

from axiomdbg.crashrun import KINDS, capture
from axiomdbg.oneshot import dump_session, run_command
from axiomdbg.pytest_plugin import build_once, selected_arches
from axiomdbg.triage import parse_log

from .helpers import ROOT, llvm_symbolize, normalize_oracle

DUMPS = ROOT / "fixtures" / "dumps"
CRASH_FIXTURES = sorted(p.parent for p in DUMPS.glob("*-crash-*/oracle.json"))


def check_post_mortem(arch: str, core: Path, elf: Path, log: bytes) -> dict:
    """Everything the dump says about the crash must agree with the record on the console."""
    (rec,) = parse_log(log).records
    with dump_session(arch, str(core), str(elf)) as s:
        default = json.loads(run_command(s, "bt", ["--json"]))      # a panicked dump: the crash
        rep = json.loads(run_command(s, "bt", ["--panic", "--json"]))
        text = run_command(s, "bt", ["--panic"])
        dmesg = json.loads(run_command(s, "dmesg", ["--json"]))
    assert default == rep
    # the record's fields, read back from the struct panic_info in memory
    assert rep["kind"] == rec.kind and rep["cause"] == rec.cause
    assert (rep["raw_cause"], rep["error_code"], rep["fault_addr"]) == (rec.raw_cause, rec.error_code,
                                                                       rec.fault_addr)
    assert (rep["record_cpu"], rep["pid"], rep["tid"]) == (rec.cpu, rec.pid, rec.tid)
    if rec.message:
        assert rep["message"] == rec.message
    if rec.location:
        assert rep["location"] == rec.location
    # registers: every one the record printed from the trap frame (or the snapshot) agrees
    common = set(rep["registers"]) & set(rec.registers)
    assert len(common) >= 10, (sorted(rep["registers"]), sorted(rec.registers))
    diff = {n: (hex(rep["registers"][n]), hex(rec.registers[n])) for n in common
            if rep["registers"][n] != rec.registers[n]}
    assert not diff, diff
    # the backtrace: the very addresses the kernel unwound
    assert rep["backtrace"] == rec.backtrace
    # ... symbolized like llvm-symbolizer (first frame exact for a trap, else a return address)
    from axiomdbg.triage.report import first_frame_is_return_address
    trap = not first_frame_is_return_address(rec)
    looks = [pc - (0 if (i == 0 and trap) else 1) for i, pc in enumerate(rep["backtrace"])]
    oracle = normalize_oracle(elf, looks, llvm_symbolize(elf, looks))
    for f, want in zip(rep["frames"], oracle):
        fn, fi, line = want[-1]
        assert f["function"] == fn or (fn is None and f["function"]), (hex(f["pc"]), f["function"], fn)
        loc = f"{fi}:{line}" if fi else None
        if loc and f["location"]:
            assert f["location"] == loc, (f["location"], loc)
    assert "panic on CPU" in text and all(f"{pc:#018x}" in text for pc in rep["backtrace"])
    # dmesg from the dump: every record the kernel echoed, in order, and nothing invented
    echoed = re.findall(r"\[\s*\d+\.\d+\] (.*?)\n", log.decode("utf-8", "replace").replace("\r", ""))
    texts = [r["text"] for r in dmesg]
    assert echoed and texts[:len(echoed)] == echoed
    return rep


@pytest.mark.skipif(not CRASH_FIXTURES, reason="no crash dump fixtures: run scripts/gen_dump_fixtures.py")
@pytest.mark.parametrize("d", CRASH_FIXTURES, ids=[p.name for p in CRASH_FIXTURES])
def test_post_mortem_on_fixture(d: Path, tmp_path: Path):
    o = json.loads((d / "oracle.json").read_text())
    elf = tmp_path / "axiom.elf"
    elf.write_bytes(lzma.decompress((d / "axiom.elf.xz").read_bytes()))
    rep = check_post_mortem(o["arch"], d / "memory.core.xz", elf, (d / "crash.log").read_bytes())
    assert rep["kind"] == "page-fault" and rep["fault_addr"] == 0
    assert rep["frames"][0]["function"] == "crash_null"


LIVE_KINDS = [k for k in KINDS if k != "divide"]


@pytest.mark.qemu
@pytest.mark.parametrize("kind", [pytest.param(k, marks=() if k == "assert" else pytest.mark.slow)
                                  for k in LIVE_KINDS])
@pytest.mark.parametrize("arch", ["x86_64", "aarch64", "riscv64"])
def test_post_mortem_live(request, arch: str, kind: str, tmp_path: Path):
    if arch not in selected_arches(request.config):
        pytest.skip(f"{arch} not selected")
    elf = tmp_path / "axiom.elf"
    elf.write_bytes(build_once(arch).read_bytes())
    log, crashed, core = capture(arch, kind, elf, smp=2, core=tmp_path / "crash.core")
    assert crashed and core is not None, log[-2000:]
    check_post_mortem(arch, core, elf, log)

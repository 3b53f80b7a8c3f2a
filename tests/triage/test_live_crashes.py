"""Every crash-injection kind on every arch, on the CURRENT kernel build: boot
with crash=KIND, capture the serial log, triage it against the same ELF, and
check (1) the record's kind and the crashing function named in the title, and
(2) every symbolized frame against llvm-symbolizer on the same addresses (the
independent oracle). `divide` does not trap on aarch64 and riscv64: there the
kernel must survive and report that, not crash."""
from __future__ import annotations

import pytest

from axiomdbg import qemu
from axiomdbg.pytest_plugin import build_once
from axiomdbg.triage import KernelSet, parse_log, triage_texts

from .helpers import llvm_symbolize, normalize_oracle

pytestmark = pytest.mark.qemu

# kind -> (panic-record kind, a function that must appear in the title)
EXPECT = {
    "null": ("page-fault", "crash_null"),
    "write-text": ("page-fault", "crash_write_text"),
    "stack-overflow": ("stack-overflow", "crash_recurse"),
    "undefined": ("exception", "undefined instruction"),
    "divide": ("exception", "divide"),
    "assert": ("assertion", "crash_inject"),
    "lockup": ("watchdog", "lockup"),
    "panic": ("panic", "crash_inject"),
}
END = rb"=== AXIOM PANIC END ===|integer division never traps"


@pytest.mark.parametrize("kind", sorted(EXPECT))
@pytest.mark.parametrize("arch", list(qemu.ARCHES))
def test_injected_crash_triages_to_the_right_frames(axiom_machine, arch, kind):
    elf = build_once(arch)
    m = axiom_machine(arch, smp=2, cmdline=f"selftest=0 crash={kind}")
    log = m.read_until(END, timeout=180, fail_on_panic=False)
    if kind == "divide" and arch != "x86_64":
        assert b"AXIOM PANIC" not in log and b"never traps" in log
        return
    (rec,) = parse_log(log).records
    want_kind, want_in_title = EXPECT[kind]
    assert rec.arch == arch and rec.kind == want_kind, (rec.arch, rec.kind)
    rep = triage_texts([(f"{arch}-{kind}", log)], KernelSet([elf]))
    (crash,) = rep.crashes
    assert want_in_title in crash.title, crash.title
    assert not rep.warnings or not any("build id" in w for w in rep.warnings), rep.warnings
    frames = [f for f in crash.frames if f.function]
    assert frames, "no frame was symbolized"
    lookups = sorted({f.lookup for f in crash.frames})
    oracle = dict(zip(lookups, normalize_oracle(elf, lookups, llvm_symbolize(elf, lookups))))
    for idx in sorted({f.index for f in crash.frames}):
        fs = [f for f in crash.frames if f.index == idx]
        assert [(f.function, f.file, f.line) for f in fs] == oracle[fs[0].lookup], (idx, fs)

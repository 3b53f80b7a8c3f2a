"""The verifier corpus: every case accepted or rejected with its expected message."""

from __future__ import annotations

import pytest

from axiomdbg.bpf import lib
from axiomdbg.bpf.asm import assemble
from axiomdbg.bpf.errors import LoadError

from .corpus import Case, all_cases

CASES = all_cases()
CTX_SIZES = {"syscall_enter": 64, "syscall_exit": 72, "sched_switch": 24, "page_fault": 24,
             "proc_exec": 72, "proc_exit": 16, "timer_tick": 24}


def test_corpus_size():
    assert len(CASES) >= 200
    assert sum(c.accept for c in CASES) >= 60
    assert sum(not c.accept for c in CASES) >= 120


@pytest.fixture(scope="module")
def bpf():
    return lib.Bpf()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, bpf: lib.Bpf):
    prog = assemble(case.asm)
    maps = [bpf.map_create(t, k, v, n) for (t, k, v, n) in case.maps]
    try:
        try:
            pid, log = bpf.prog_load(prog, case.prog_type, case.profile, mem_size=case.mem,
                                     fd_array=maps or None, log_level=1)
        except LoadError as e:
            first = (e.log.strip().splitlines() or [str(e)])[0]
            assert not case.accept, f"rejected: {first}"
            assert case.message in first, f"log says '{first}', expected '{case.message}'"
            return
        try:
            assert case.accept, f"accepted, expected rejection '{case.message}'"
            # an accepted program must run without faulting
            if case.prog_type == "mem":
                bpf.test_run(pid, data=b"\0" * case.mem)
            else:
                bpf.test_run(pid, ctx=b"\0" * CTX_SIZES[case.prog_type])
        finally:
            bpf.close(pid)
    finally:
        for m in maps:
            bpf.close(m)

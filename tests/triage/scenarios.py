"""Synthetic panic records for every arch and cause kind, built from real addresses of the
fixture ELFs (tests/triage/helpers.py builds them)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from axiomdbg.core.symbolize import Symbolizer
from axiomdbg.triage.synth import ARCH_CAUSES, format_record, random_registers

from .helpers import call_sites

# injection kind -> (function the crash happens in, fault address recipe)
KINDS = ("null", "write-text", "stack-overflow", "undefined", "divide", "assert", "lockup", "panic")


@dataclass
class Scenario:
    arch: str
    kind: str
    text: str
    backtrace: list[int]


def _ret_in(sites, caller_fn: str, target: str, sym: Symbolizer) -> int:
    for s in sites:
        if s.target == target and sym.symbolize(s.call)[-1].function == caller_fn:
            return s.ret
    raise AssertionError(f"no call {caller_fn} -> {target}")


def scenario(elf: Path, arch: str, kind: str, seed: int = 0) -> Scenario:
    sym = Symbolizer.open(elf)
    sites = call_sites(elf, arch)
    rng = random.Random(f"{arch}/{kind}/{seed}")
    sp = 0xFFFFFFC000204000 if arch == "riscv64" else 0xFFFFFF8000204000
    ret_start_vfs = _ret_in(sites, "_start", "vfs_lookup", sym)
    ret_start_walk = _ret_in(sites, "_start", "walk", sym)
    ret_start_crash = _ret_in(sites, "_start", "crash_undefined", sym)
    ret_fib_fib = _ret_in(sites, "fib", "fib", sym)
    ret_start_fib = _ret_in(sites, "_start", "fib", sym)
    base = dict(build_id=sym.build_id, cpu=0, pid=3, tid=3)
    fields: dict = {}
    if kind in ARCH_CAUSES[arch]:
        k, cause, raw, err = ARCH_CAUSES[arch][kind]
        fields.update(kind=k, cause=cause, raw_cause=raw, error_code=err)
    if kind == "null":
        pc = sym.address_of("vfs_lookup") + 4
        bt = [pc, ret_start_vfs]
        fields["fault_addr"] = 0x0
    elif kind == "write-text":
        pc = sym.address_of("walk") + 8
        bt = [pc, ret_start_walk]
        fields["fault_addr"] = sym.address_of("fib")
    elif kind == "stack-overflow":
        pc = sym.address_of("fib") + 4
        bt = [pc] + [ret_fib_fib] * 6 + [ret_start_fib]
        sp = sp - 0x3000 + 0x10  # just above the guard page
        fields["fault_addr"] = sp - 0x18
    elif kind == "undefined":
        pc = sym.address_of("crash_undefined") + 8
        bt = [pc, ret_start_crash]
    elif kind == "divide":
        pc = sym.address_of("crash_undefined") + 4
        bt = [pc, ret_start_crash]
    elif kind == "assert":
        # like kernel/lib/panic.c without a trap frame: bt[0] is the return address of the call
        # to assert_fail(), registers are pc/fp/sp only
        pc = _ret_in(sites, "pmm_free", "assert_fail", sym)
        bt = [pc, _ret_in(sites, "_start", "pmm_free", sym)]
        fields.update(kind="assertion", cause="assertion failed", message="assertion failed: page 0xffffffd800123000 not allocated",
                      location="mm/pmm.c:88")
    elif kind == "lockup":
        # both kernel watchdogs report without a trap frame: bt[0] is a return address
        # (__builtin_return_address(0) of the function that noticed the lockup)
        pc = ret_fib_fib
        bt = [pc, ret_start_fib]
        fields.update(kind="watchdog", cause="spinlock lockup",
                      message="lockup: spinlock 'crash-lockup' held by cpu 99 for over 5000 ms")
        base["cpu"] = 1
    elif kind == "panic":
        pc = _ret_in(sites, "crash_panic", "panic", sym)
        bt = [pc, _ret_in(sites, "_start", "crash_panic", sym)]
        fields.update(kind="panic", cause="panic", message="crash injected: panic")
    else:
        raise ValueError(kind)
    if kind in ("assert", "panic"):
        regs = {"pc": pc, "fp": sp + 0x40, "sp": sp}
    else:
        regs = random_registers(arch, rng, pc, sp)
    text = format_record(arch, registers=regs, backtrace=bt, **base, **fields)
    return Scenario(arch, kind, text, bt)

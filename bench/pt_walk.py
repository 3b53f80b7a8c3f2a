#!/usr/bin/env python3
"""Benchmark: whole-address-space page-table walk vs. an entry-by-entry baseline.

Builds a big synthetic x86_64 4-level table (default 64 Ki 4 KiB pages plus some 2 MiB and 1 GiB
pages) with :mod:`axiomdbg.core.synth`, then walks it

* with :meth:`Arch.walk` (one request per table page), and
* with a naive baseline that reads every 8-byte entry separately (what a debugger script does
  when it dereferences ``pte[i]`` through GDB),

through a :class:`CountingMemory` that also charges a simulated gdbstub latency per request
(``--latency-us``, default 50 us per request + 0.09 us per byte, from platform.md: ~50 us per
8-byte read, ~0.4 ms per 4 KiB read). Prints requests, bytes, table pages and the time ratio.

    .venv/bin/python bench/pt_walk.py [--pages N] [--latency-us 50]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from axiomdbg.core import CountingMemory, get_arch  # noqa: E402
from axiomdbg.core.memory import BasePhysicalMemory  # noqa: E402
from axiomdbg.core.paging import Mapping  # noqa: E402
from axiomdbg.core.synth import Perms, X86Synth  # noqa: E402


class SlowMemory(BasePhysicalMemory):
    """Adds a simulated per-request and per-byte cost (accumulated, not slept)."""

    def __init__(self, inner, per_request_us: float, per_byte_us: float) -> None:
        self.inner = inner
        self.per_request_us = per_request_us
        self.per_byte_us = per_byte_us
        self.simulated_us = 0.0

    def read_phys(self, addr: int, size: int) -> bytes:
        self.simulated_us += self.per_request_us + self.per_byte_us * size
        return self.inner.read_phys(addr, size)


def entry_by_entry_walk(arch, mem, cfg):
    """Baseline: the same decode, but one 8-byte read per entry and no table reuse."""
    for region in cfg.regions:
        if not region.enabled:
            continue

        def rec(li, table, prefix, inherited):
            level = region.levels[li]
            for index in range(level.entries):
                raw = int.from_bytes(mem.read_phys(table + 8 * index, 8), "little")
                if not raw & 1:
                    continue
                bits = prefix | (index << level.shift)
                d = arch.decode_entry(cfg, region, li, raw, inherited)
                if d.kind.value == "leaf":
                    yield Mapping(region.make_va(bits), d.address, level.page_size, d.flags, level.name)
                elif d.kind.value == "table" and li + 1 < len(region.levels):
                    yield from rec(li + 1, d.address, bits, d.inherited)

        yield from rec(0, region.root, 0, arch.initial_inherited(cfg, region))


def build(pages: int, seed: int) -> X86Synth:
    rng = random.Random(seed)
    syn = X86Synth(4)
    va = 0xFFFF_8880_0000_0000
    for i in range(pages):
        syn.map(va + i * 4096, 0x1_0000_0000 + i * 4096, 4096, Perms(w=bool(i & 1024)))
    for i in range(64):  # some 2 MiB pages elsewhere, and a few 1 GiB pages
        syn.map(0x4000_0000_0000 + i * (2 << 20), rng.randrange(1 << 20) << 21, 2 << 20, Perms(x=True))
    for i in range(4):
        syn.map(0xFFFF_C000_0000_0000 + i * (1 << 30), (i + 8) << 30, 1 << 30, Perms(w=True))
    return syn


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=65536)
    ap.add_argument("--latency-us", type=float, default=50.0)
    ap.add_argument("--per-byte-us", type=float, default=0.09)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    syn = build(args.pages, args.seed)
    arch = get_arch("x86_64")
    cfg = arch.paging_from_registers(syn.registers())
    results = {}
    for name, fn in (("walk", lambda m: list(arch.walk(m, cfg))),
                     ("entry-by-entry", lambda m: list(entry_by_entry_walk(arch, m, cfg)))):
        slow = SlowMemory(syn.mem, args.latency_us, args.per_byte_us)
        counting = CountingMemory(slow)
        t0 = time.perf_counter()
        maps = fn(counting)
        cpu = time.perf_counter() - t0
        results[name] = (maps, counting.requests, counting.bytes, cpu, slow.simulated_us / 1e6)

    assert results["walk"][0] == results["entry-by-entry"][0] == syn.expected_mappings()
    print(f"{len(syn.model)} mappings, {len(syn.tables)} table pages")
    print(f"{'walker':<16}{'requests':>10}{'bytes':>12}{'cpu s':>9}{'stub s (sim)':>14}{'total s':>9}")
    for name, (_, req, nbytes, cpu, sim) in results.items():
        print(f"{name:<16}{req:>10}{nbytes:>12}{cpu:>9.3f}{sim:>14.3f}{cpu + sim:>9.3f}")
    w, b = results["walk"], results["entry-by-entry"]
    print(f"requests per table page: {w[1] / len(syn.tables):.2f} (walk) vs {b[1] / len(syn.tables):.0f} (baseline)")
    print(f"speed-up (cpu + simulated stub time): {(b[3] + b[4]) / (w[3] + w[4]):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Full page-table dump of the kernel and of init on a live axiom kernel, per arch.

For each arch (default paging mode): boot with selftest=0, wait for `init: ready`,
stop, then dump (a) the kernel address space and (b) init's (pid 1) with
`arch.ranges()`:

* through the fast physical path (gpa2hva + /proc/<qemu>/mem) and through the
  gdbstub's physical mode (pygdbmi), counting memory requests;
* against an entry-by-entry walker (the same walk, but every table read as
  8-byte requests, like Linux's scripts/gdb or pwndbg over the stub);
* against QEMU's own in-process `info mem` / `info tlb` where the arch has one.

The minimum number of requests is the number of table pages. Usage:
    .venv/bin/python bench/pt_live.py [--arch riscv64,x86_64,aarch64] [--stub-entry-limit 300]
"""
from __future__ import annotations

import argparse
import time

from axiomdbg import oneshot
from axiomdbg.core.memory import CountingMemory


class EntryByEntry:
    """Turn every table read into 8-byte requests (an entry-by-entry walker's traffic)."""

    def __init__(self, inner):
        self.inner = inner

    def read_phys(self, addr, size):
        return b"".join(self.inner.read_phys(addr + i, 8) for i in range(0, size, 8))


def timed_walk(s, cfg, mem, entry_by_entry=False):
    c = CountingMemory(mem)
    t0 = time.perf_counter()
    rs = s.arch.ranges(EntryByEntry(c) if entry_by_entry else c, cfg)
    return time.perf_counter() - t0, c.requests, c.bytes, len(rs)


def kernel_only(cfg):
    import dataclasses
    from axiomdbg.core.paging import RegionKind
    if s_arch == "aarch64":
        regions = tuple(r for r in cfg.regions if r.kind is RegionKind.HIGH)
        return dataclasses.replace(cfg, regions=regions)
    return cfg


def bench(arch: str, stub_limit: int) -> list[str]:
    global s_arch
    s_arch = arch
    rows = []
    with oneshot.live_session(arch, cmdline="selftest=0") as (s, m):
        from axiomdbg.transport.qemu_direct import QemuPhysicalMemory
        fast = QemuPhysicalMemory(m.proc.pid, m.hmp)
        spaces = {"kernel": kernel_only(s.paging), "init (pid 1)": s.paging_for(1)}
        g = s.regs.inner               # the session's own GDB/MI connection (one stub client only)
        if True:
            for name, cfg in spaces.items():
                t_fast, req, nbytes, nr = timed_walk(s, cfg, fast)
                t_stub, req_stub, _, _ = timed_walk(s, cfg, g)
                t_e_fast, req_e, _, _ = timed_walk(s, cfg, fast, entry_by_entry=True)
                # over the stub: time one table entry by entry and scale by the table count
                root = cfg.regions[-1].root
                t0 = time.perf_counter()
                EntryByEntry(g).read_phys(root, 4096)
                per_table = time.perf_counter() - t0
                e_stub = f"~{per_table * req:.1f} s (extrapolated)"
                rows.append(f"| {arch} | {name} | {nr} | {req} | {nbytes // 1024} KiB | {t_fast * 1000:.1f} ms | "
                            f"{req_stub} / {t_stub * 1000:.0f} ms | {req_e} / {t_e_fast * 1000:.0f} ms | {e_stub} |")
        for cmd in ("info mem", "info tlb"):
            t0 = time.perf_counter()
            try:
                out = m.hmp(cmd)
            except Exception as e:
                out = f"error {e}"
            dt = time.perf_counter() - t0
            ok = out.strip() and "unknown command" not in out.lower() and "error" not in out.lower()[:40]
            rows.append(f"| {arch} | QEMU `{cmd}` (current space) | {len(out.splitlines()) if ok else '-'} lines | | | "
                        f"{dt * 1000:.1f} ms | | | |" if ok else f"| {arch} | QEMU `{cmd}` | not available | | | | | | |")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="riscv64,x86_64,aarch64")
    ap.add_argument("--stub-entry-limit", type=int, default=0, help="(unused, kept for compatibility)")
    a = ap.parse_args()
    print("| arch | space | ranges | requests (= table pages) | bytes | fast path | stub: requests / time | "
          "entry-by-entry (fast path): requests / time | entry-by-entry (stub) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for arch in a.arch.split(","):
        for r in bench(arch, a.stub_entry_limit):
            print(r, flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write the compact memory-dump fixtures of fixtures/dumps/ from real boots of the current kernel.

    .venv/bin/python scripts/gen_dump_fixtures.py [NAME...]      (default: every fixture)

Each fixture is a directory fixtures/dumps/<name>/:

* ``axiom.elf.xz``   -- the exact kernel ELF (with DWARF) that produced the dump;
* ``memory.core.xz`` -- a compact ELF core: only the guest-physical pages the
  debugger reads (page tables, kernel data and heap objects reached by the helpers,
  the log ring, kernel stacks), as PT_LOAD segments, plus QEMU's NT_PRSTATUS notes
  (every CPU's general registers). ``axiomdbg.transport.dump.DumpMemory`` reads it
  like a full ``dump-guest-memory`` core; a page that was left out reads as an error;
* ``oracle.json``    -- what independent sources said at capture time, never the
  debugger's own output: QEMU's ``gva2gpa`` for a sample of addresses (mapped and
  unmapped, kernel and user), the kernel's /proc views and ``ls`` read over the
  serial shell, the serial console (the log lines the kernel echoed), the paging and
  CPU-local registers GDB read from the stopped CPU;
* crash fixtures also keep ``crash.log``: the serial log with the panic record.

A live fixture boots with ``selftest=0``, waits for ``init: ready``, reads the views,
starts ``cat /dev/zero > /dev/null`` and stops the CPU in the kernel while ``cat`` is
current (so the address space has user and kernel halves QEMU can both walk). A crash
fixture boots with ``crash=null`` and dumps while every CPU is parked in axiom_halt.

Fixtures are snapshots of one build: they stay valid when the kernel changes (the
tests use the ELF stored beside the dump), but regenerate them when the debugger
must learn something a newer kernel has.
"""
from __future__ import annotations

import argparse
import json
import lzma
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from axiomdbg import qemu                                    # noqa: E402
from axiomdbg.core.memory import BasePhysicalMemory, PageCache  # noqa: E402

OUT = ROOT / "fixtures" / "dumps"
# name -> (arch, make variant, QEMU cpu, kind)
FIXTURES = {
    "riscv64-sv39": ("riscv64", "", None, "live"),
    "riscv64-sv48": ("riscv64", "sv48", None, "live"),
    "x86_64-4level": ("x86_64", "", None, "live"),
    "x86_64-5level": ("x86_64", "", "qemu64,+la57", "live"),
    "aarch64-4k": ("aarch64", "", None, "live"),
    "aarch64-64k": ("aarch64", "64k", None, "live"),
    "riscv64-crash-null": ("riscv64", "", None, "crash"),
    "x86_64-crash-null": ("x86_64", "", None, "crash"),
    "aarch64-crash-null": ("aarch64", "", None, "crash"),
}
VIEWS = ["/proc/processes", "/proc/mounts", "/proc/meminfo", "/proc/cpus", "/proc/1/maps", "/proc/2/maps",
         "ls /", "ls /bin", "ls /dev"]
REGS = {
    "riscv64": ["satp", "pc", "sp", "s0", "ra", "tp", "priv", "sstatus"],
    "x86_64": ["cr0", "cr3", "cr4", "efer", "rip", "rsp", "rbp", "gs_base", "fs_base", "k_gs_base"],
    "aarch64": ["SCTLR", "SCTLR_EL1", "TCR_EL1", "TTBR0_EL1", "TTBR1_EL1", "MAIR_EL1", "pc", "sp", "x29", "x30",
                "cpsr", "TPIDR_EL1"],
}
E_MACHINE = {"x86_64": 62, "aarch64": 183, "riscv64": 243}
PAGE = 4096


class Recorder(BasePhysicalMemory):
    """Remembers every physical page read through it."""

    def __init__(self, inner):
        self.inner = inner
        self.pages: set[int] = set()

    def read_phys(self, addr: int, size: int) -> bytes:
        data = self.inner.read_phys(addr, size)
        for p in range(addr & ~(PAGE - 1), addr + max(size, 1), PAGE):
            self.pages.add(p)
        return data


def build(arch: str, variant: str) -> Path:
    """Build into build/fixtures-<arch>[-variant]/ (its own directory: a clean, prefix-mapped
    build that no other test rebuilds under our feet)."""
    bdir = ROOT / "build" / f"fixtures-{arch}{'-' + variant if variant else ''}"
    cmd = ["make", "-C", str(ROOT / "kernel"), f"ARCH={arch}", f"BUILD={bdir}", "-j2",
           *qemu.variant_make_args(arch, variant)]
    subprocess.run(["nice", "-n", "10", *cmd], check=True, stdout=subprocess.DEVNULL)
    return bdir / "axiom.elf"


def write_core(path: Path, arch: str, full_core: Path, pages: set[int]) -> int:
    """A compact ELF64 core: PT_NOTE (copied from the full core) + one PT_LOAD per run of pages."""
    import lief
    lief.logging.disable()
    core = lief.ELF.parse(str(full_core))
    notes = b""
    with open(full_core, "rb") as f:
        for seg in core.segments:
            if seg.type == lief.ELF.Segment.TYPE.NOTE:
                f.seek(seg.file_offset)
                notes += f.read(seg.physical_size)
        runs: list[tuple[int, int]] = []
        for p in sorted(pages):
            if runs and runs[-1][0] + runs[-1][1] == p:
                runs[-1] = (runs[-1][0], runs[-1][1] + PAGE)
            else:
                runs.append((p, PAGE))
        from axiomdbg.transport.dump import DumpMemory
        mem = DumpMemory(full_core)
        phnum = 1 + len(runs)
        off = 64 + 56 * phnum
        phdrs = [struct.pack("<IIQQQQQQ", 4, 0, off, 0, 0, len(notes), 0, 4)]
        data = [notes]
        off += len(notes)
        off = (off + PAGE - 1) & ~(PAGE - 1)
        pad = off - (64 + 56 * phnum + len(notes))
        data.append(b"\0" * pad)
        for start, size in runs:
            phdrs.append(struct.pack("<IIQQQQQQ", 1, 7, off, 0, start, size, size, 0))
            data.append(mem.read_phys(start, size))
            off += size
        mem.close()
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    hdr = ident + struct.pack("<HHIQQQIHHHHHH", 4, E_MACHINE[arch], 1, 0, 64, 0, 0, 64, 56, phnum, 64, 0, 0)
    blob = hdr + b"".join(phdrs) + b"".join(data)
    path.write_bytes(lzma.compress(blob, preset=9 | lzma.PRESET_EXTREME))
    return len(blob)


def run_commands(s, extra_pids: list[int], vas: list[int]) -> None:
    """Everything the fixture tests run, so that every page they need is recorded."""
    from axiomdbg.errors import AxiomError
    from axiomdbg.oneshot import run_command
    jobs = [("ps", []), ("threads", ["--regs"]), ("bt", ["--all"]), ("cpus", []), ("dmesg", []),
            ("mounts", []), ("devs", []), ("pmm", []), ("layout", []), ("pt", []), ("bpf", ["--json"]),
            ("ls", ["/"]), ("ls", ["/bin"]), ("ls", ["/dev"]), ("ls", ["/proc"])]
    for pid in [1, 2] + extra_pids:
        jobs += [("maps", ["--pid", str(pid)]), ("files", ["--pid", str(pid)]), ("pt", ["--pid", str(pid)])]
    if s.kernel.panic_cpu() is not None:
        jobs.append(("bt", ["--panic", "--json"]))
    for name, argv in jobs:
        try:
            run_command(s, name, argv)
        except AxiomError as e:
            print(f"    ({name} {' '.join(argv)}: {e})")
    for va in vas:
        s.arch.translate(s.mem, s.paging, va)


def sample(s, rng: random.Random, n_random: int = 300) -> list[int]:
    """Addresses for the gva2gpa oracle: ends and interiors of every range, gaps, random
    canonical and non-canonical addresses."""
    rs = s.arch.ranges(s.mem, s.paging)
    vas: set[int] = set()
    m64 = (1 << 64) - 1
    for r in rs:
        for va in (r.va, r.va_end - 1, r.va - 1, r.va_end):
            vas.add(va & m64)
        for _ in range(3 if r.flags.user else 2):
            vas.add(r.va + rng.randrange(r.size))
    for r in sorted(rs, key=lambda r: -r.size)[:3]:
        for _ in range(40):
            vas.add(r.va + rng.randrange(r.size))
    bits = max(reg.va_bits for reg in s.paging.regions)
    for _ in range(n_random):
        vas.add(rng.randrange(0, 1 << (bits - 1)))
        vas.add(((1 << 64) - (1 << (bits - 1))) + rng.randrange(0, 1 << (bits - 1)))
    for _ in range(20):
        vas.add(rng.randrange(1 << bits, 1 << 63))
    return sorted(vas)


def capture_live(name: str, arch: str, variant: str, cpu: str | None, elf: Path, tmp: Path) -> dict:
    from axiomdbg.pytest_plugin import AxiomTarget
    from axiomdbg.errors import AxiomError

    class Target(AxiomTarget):
        def start(self):
            self._tmp = tempfile.TemporaryDirectory(prefix="axiomdbg-fixture-")
            self.elf = Path(self._tmp.name) / "axiom.elf"
            shutil.copyfile(elf, self.elf)
            cfg = qemu.MachineConfig(arch=self.arch, kernel=self.elf, smp=self.smp, mem=self.mem,
                                     cmdline=self.cmdline, cpu=self.cpu, gdb_port=qemu.free_tcp_port())
            self.machine = qemu.Machine(cfg)
            self.machine.start()
            self.machine.read_until(self.ready, timeout=self.timeout)
            return self

    oracle: dict = {"views": {}}
    with Target(arch, variant=variant, cpu=cpu, cmdline="selftest=0", mem="128M") as t:
        for v in VIEWS:
            oracle["views"][v] = t.shell(v if v.startswith("ls") else f"cat {v}")
        t.serial.send(b"cat /dev/zero > /dev/null\n")
        time.sleep(1.0)
        s, m = t.session, t.machine
        gdb = s.regs.inner
        for _ in range(60):
            gdb.continue_to("syscall_handler", hardware=False)
            s.invalidate()
            try:
                busy = s.kernel.current_thread().name.string_() == "cat"
            except AxiomError:
                busy = False
            user = (arch == "aarch64" and s.regs.read_reg("cpsr") & 0xC == 0) or \
                   (arch == "riscv64" and s.regs.read_reg("priv") == 0)
            if busy and not user:
                break
        else:
            raise SystemExit(f"{name}: the CPU never stopped in the kernel while `cat` ran")
        regs = {}
        for r in REGS[arch]:
            try:
                regs[r] = s.regs.read_reg(r)
            except AxiomError:
                pass
        oracle["registers"] = regs
        oracle["current_pid"] = s.kernel.current_process().pid.value_()
        oracle["current_name"] = "cat"
        rng = random.Random(name)
        vas = sample(s, rng)
        gva = []
        for va in vas:
            a = m.gva2gpa(va)
            b = m.gva2gpa(va)
            if a == b:               # QEMU's debug walk: keep only stable answers
                gva.append([va, a])
        oracle["gva2gpa"] = gva
        oracle["console"] = bytes(m.log).decode("utf-8", "replace")
        full = tmp / "full.core"
        m.dump_guest_memory(full)
    return oracle, full


def capture_crash(name: str, arch: str, elf: Path, tmp: Path):
    from axiomdbg import crashrun
    full = tmp / "full.core"
    log, crashed, core = crashrun.capture(arch, "null", elf, smp=2, core=full)
    if not crashed:
        raise SystemExit(f"{name}: the kernel did not crash")
    return {"console": log.decode("utf-8", "replace"), "registers": {}}, full, log


def generate(name: str) -> None:
    arch, variant, cpu, kind = FIXTURES[name]
    print(f"== {name}")
    elf = build(arch, variant)
    from axiomdbg.core.symbolize import elf_build_id
    from axiomdbg.core.kernel import registers_from_layout
    from axiomdbg.oneshot import open_dump
    out = OUT / name
    with tempfile.TemporaryDirectory(prefix="axiomdbg-gen-") as td:
        tmp = Path(td)
        local_elf = tmp / "axiom.elf"
        shutil.copyfile(elf, local_elf)
        log = None
        if kind == "live":
            oracle, full = capture_live(name, arch, variant, cpu, local_elf, tmp)
        else:
            oracle, full, log = capture_crash(name, arch, local_elf, tmp)
        # replay every command on the full dump and keep the pages they read
        s = open_dump(arch, str(full), str(local_elf), oracle["registers"] or None)
        rec = Recorder(s.raw_mem)
        s.raw_mem, s.mem = rec, PageCache(rec)
        registers_from_layout(s)                          # the layout-note path reads a page too
        s.invalidate()
        pids = [oracle["current_pid"]] if oracle.get("current_pid") else []
        run_commands(s, pids, [va for va, _ in oracle.get("gva2gpa", [])])
        if kind == "live":                                 # the kernel half through synthesised registers
            s2 = open_dump(arch, str(full), str(local_elf))
            rec2 = Recorder(s2.raw_mem)
            s2.raw_mem, s2.mem = rec2, PageCache(rec2)
            s2.arch.ranges(s2.mem, s2.paging)
            for va, _ in oracle["gva2gpa"]:
                s2.arch.translate(s2.mem, s2.paging, va)
            rec.pages |= rec2.pages
            rec2.inner.close()
        rec.inner.close()
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        raw_size = write_core(out / "memory.core.xz", arch, full, rec.pages)
        (out / "axiom.elf.xz").write_bytes(lzma.compress(local_elf.read_bytes(), preset=9))
        if log is not None:
            (out / "crash.log").write_bytes(log)
        oracle.update({"name": name, "arch": arch, "variant": variant, "cpu": cpu, "kind": kind,
                       "build_id": elf_build_id(local_elf), "pages": len(rec.pages), "core_bytes": raw_size})
        (out / "oracle.json").write_text(json.dumps(oracle, indent=1) + "\n")
    sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    print(f"   {len(rec.pages)} pages ({raw_size // 1024} KiB raw); files {sizes}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help=f"fixtures to write (default: all of {', '.join(FIXTURES)})")
    args = ap.parse_args()
    for n in args.names or list(FIXTURES):
        if n not in FIXTURES:
            raise SystemExit(f"unknown fixture {n!r} (choose from {', '.join(FIXTURES)})")
        generate(n)


if __name__ == "__main__":
    main()

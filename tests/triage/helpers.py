"""Shared helpers of the triage tests: build the fixture program, ask llvm tools."""
from __future__ import annotations

import json
import posixpath
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_SRC = ROOT / "fixtures" / "symbolize"
ARCHES = ("x86_64", "aarch64", "riscv64")
ARCH_FLAGS = {"x86_64": ["-mcmodel=kernel", "-mno-red-zone"], "aarch64": [], "riscv64": ["-mcmodel=medany"]}
SOURCES = ("prog.c", "helpers.c")


def have_toolchain() -> bool:
    return all(shutil.which(t) for t in ("clang", "ld.lld", "llvm-symbolizer", "llvm-objdump"))


def build_fixture(arch: str, outdir: Path, dwarf: int = 5) -> Path:
    """clang --target=... -g -O2 -ffreestanding -nostdlib -c, then ld.lld -e 0 (with the kernel-like
    linker script, so the ELF has __text_start & co. at a higher-half address)."""
    outdir.mkdir(parents=True, exist_ok=True)
    objs = []
    for src in SOURCES:
        obj = outdir / f"{Path(src).stem}-{arch}-dw{dwarf}.o"
        subprocess.run(["clang", f"--target={arch}-unknown-elf", "-g", f"-gdwarf-{dwarf}", "-O2",
                        "-ffreestanding", "-nostdlib", "-fno-pic", "-fno-omit-frame-pointer", *ARCH_FLAGS[arch],
                        "-c", str(FIXTURE_SRC / src), "-o", str(obj)], check=True, capture_output=True)
        objs.append(str(obj))
    elf = outdir / f"prog-{arch}-dw{dwarf}.elf"
    subprocess.run(["ld.lld", "-e", "0", "--build-id=sha1", "-T", str(FIXTURE_SRC / "link.ld"),
                    "-o", str(elf), *objs], check=True, capture_output=True)
    return elf


def llvm_symbolize(elf: Path, addrs: list[int]) -> list[list[tuple[str | None, str | None, int]]]:
    """The oracle: [(function, file, line)] per address, innermost first ('' and ?? become None)."""
    out = subprocess.run(["llvm-symbolizer", f"--obj={elf}", "--inlining", "--output-style=JSON"],
                         input="\n".join(hex(a) for a in addrs), capture_output=True, text=True, check=True).stdout
    res = []
    for line in out.splitlines():
        j = json.loads(line)
        frames = []
        for s in j["Symbol"]:
            fn = s["FunctionName"] or None
            fn = None if fn in ("??", "<invalid>") else fn
            fi = s["FileName"] or None
            fi = None if fi == "??" else fi
            # relative DWARF paths (prefix-mapped builds) come out as "././kernel/x.c"
            fi = posixpath.normpath(fi) if fi and not fi.startswith("/") else fi
            frames.append((fn, fi, s["Line"]))
        res.append(frames)
    return res


@dataclass
class Insn:
    address: int
    text: str
    function: str


@dataclass
class CallSite:
    caller: str
    call: int          # address of the call instruction
    ret: int           # return address (next instruction)
    target: str | None


def disassemble(elf: Path) -> list[Insn]:
    out = subprocess.run(["llvm-objdump", "-d", "--no-show-raw-insn", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    insns, fn = [], "?"
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+) <([^>]+)>:", line)
        if m:
            fn = m.group(2)
            continue
        m = re.match(r"^\s*([0-9a-f]+):\s+(.*)$", line)
        if m:
            insns.append(Insn(int(m.group(1), 16), m.group(2).strip(), fn))
    return insns


def call_sites(elf: Path, arch: str) -> list[CallSite]:
    insns = disassemble(elf)
    funcs = {}
    for i in insns:
        funcs.setdefault(i.function, i.address)
    by_addr = {v: k for k, v in funcs.items()}
    sites = []
    for k, i in enumerate(insns[:-1]):
        nxt = insns[k + 1]
        if arch in ("x86_64", "aarch64"):
            m = re.match(r"^(callq?|bl)\s+0x([0-9a-f]+)", i.text)
            if m:
                sites.append(CallSite(i.function, i.address, nxt.address, by_addr.get(int(m.group(2), 16))))
        else:
            m = re.match(r"^auipc\s+ra,\s*(-?\d+)", i.text)
            m2 = re.match(r"^jalr\s+(-?\d+)\(ra\)", nxt.text)
            if m and m2 and k + 2 < len(insns):
                target = (i.address + (int(m.group(1)) << 12) + int(m2.group(1))) & ((1 << 64) - 1)
                sites.append(CallSite(i.function, i.address, insns[k + 2].address, by_addr.get(target)))
    return sites


def func_symbols(elf: Path) -> list[tuple[int, int, str]]:
    """(start, end, name) of sized function symbols, from llvm-nm (independent of our ELF reader)."""
    out = subprocess.run(["llvm-nm", "-S", "--defined-only", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    res = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in ("T", "t"):
            start, size = int(parts[0], 16), int(parts[1], 16)
            if size:
                res.append((start, start + size, parts[3]))
    return res


def normalize_oracle(elf: Path, addrs: list[int], answers: list[list[tuple]]) -> list[list[tuple]]:
    """llvm-symbolizer 14 names the outermost frame from the symbol table, and RISC-V objects keep
    assembler-local labels (.LBB1_4, .Lpcrel_hi0) as named NOTYPE symbols: it then answers the label.
    Replace such a label by the sized function symbol containing the address (from llvm-nm)."""
    funcs = func_symbols(elf)
    fixed = []
    for a, frames in zip(addrs, answers):
        if frames and frames[-1][0] and frames[-1][0].startswith(".L"):
            name = next((n for lo, hi, n in funcs if lo <= a < hi), None)
            frames = frames[:-1] + [(name,) + tuple(frames[-1][1:])]
        fixed.append(frames)
    return fixed

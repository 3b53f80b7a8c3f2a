"""Which ELF holds the operators for an (arch, profile), and how to build a
standalone link of the operator sources with the kernel's own flags.

The real targets are the kernel images ``build/<arch>-<profile>/axiom.elf``.
When one does not exist (or is older than the operator sources, so it would
prove stale code) the four operator files are compiled with the kernel's
CFLAGS (taken from ``make -pn`` of the kernel Makefile) and linked on their
own; the result is labelled ``standalone`` everywhere it is reported.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KDIR = ROOT / "kernel"
BPF_DIR = KDIR / "bpf"
ARCHES = ("x86_64", "aarch64", "riscv64")
PROFILES = ("embedded", "cloud")
OP_SOURCES = ("tnum.c", "range_sync.c", "range_alu.c", "range_jmp.c")
OP_HEADERS = ("bpf_range.h",)

# Used only if `make -pn` cannot tell us (kernel Makefile broken mid-edit).
_FALLBACK_ARCH_CFLAGS = {
    "x86_64": "--target=x86_64-unknown-elf -mno-red-zone -mno-sse -mno-sse2 -mno-mmx -mno-80387 "
              "-mcmodel=kernel -mno-omit-leaf-frame-pointer",
    "aarch64": "--target=aarch64-none-elf -mcpu=cortex-a72 -mgeneral-regs-only -mstrict-align",
    "riscv64": "--target=riscv64-unknown-elf -march=rv64imac -mabi=lp64 -mcmodel=medany -mno-relax "
               "-fno-jump-tables",
}
_COMMON = ("-std=c11 -ffreestanding -nostdlib -fno-pic -fno-pie -fno-omit-frame-pointer "
           "-fno-stack-protector -fno-builtin -Wall -Wextra -Werror -Wno-unused-parameter -g -O2")


class BuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class Target:
    arch: str
    profile: str
    elf: Path
    kind: str  # "kernel" or "standalone"
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.elf}" + (f" ({self.note})" if self.note else "")


@lru_cache(maxsize=None)
def kernel_cflags(arch: str, profile: str) -> tuple[str, ...]:
    """The kernel's CFLAGS for arch/profile, from the Makefile's database."""
    try:
        out = subprocess.run(["make", "-C", str(KDIR), f"ARCH={arch}", f"PROFILE={profile}", "-pn"],
                             capture_output=True, text=True, timeout=60).stdout
        for line in out.splitlines():
            if line.startswith("CFLAGS := "):
                flags = shlex.split(line[len("CFLAGS := "):])
                if any(f.startswith("--target=") for f in flags):
                    return tuple(flags)
    except (OSError, subprocess.SubprocessError):
        pass
    flags = shlex.split(_COMMON) + shlex.split(_FALLBACK_ARCH_CFLAGS[arch])
    flags += [f"-DAXIOM_PROFILE_{profile.upper()}=1", f'-DAXIOM_PROFILE="{profile}"',
              f"-I{KDIR}/include", f"-I{KDIR}/include/uapi", f"-I{KDIR}/arch/{arch}/include", f"-I{KDIR}"]
    return tuple(flags)


def _sources_digest(overrides: dict[str, str] | None) -> str:
    h = hashlib.sha256()
    for name in OP_SOURCES + OP_HEADERS:
        text = (overrides or {}).get(name)
        data = text.encode() if text is not None else (BPF_DIR / name).read_bytes()
        h.update(name.encode() + b"\0" + data + b"\0")
    return h.hexdigest()[:16]


def build_standalone(arch: str, profile: str, overrides: dict[str, str] | None = None,
                     out_dir: Path | None = None) -> Path:
    """Compile the operator sources (with `overrides`: file name -> replacement
    source text) using the kernel's flags and link them alone. Returns the ELF."""
    digest = _sources_digest(overrides)
    out_dir = out_dir or (ROOT / "build" / "prove" / f"{arch}-{profile}-{digest}")
    elf = out_dir / "operators.elf"
    if elf.exists():
        return elf
    out_dir.mkdir(parents=True, exist_ok=True)
    flags = list(kernel_cflags(arch, profile))
    with tempfile.TemporaryDirectory(prefix="axiomdbg-prove-") as tmp:
        tmpd = Path(tmp)
        objs = []
        for name in OP_SOURCES:
            src = BPF_DIR / name
            if overrides and name in overrides:
                src = tmpd / name
                src.write_text(overrides[name])
            obj = tmpd / (name + ".o")
            cmd = ["clang", *flags, f"-I{BPF_DIR}", "-c", str(src), "-o", str(obj)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise BuildError(f"{arch}: compiling {name} failed: {r.stderr.strip()[:2000]}")
            objs.append(str(obj))
        # the compiler may emit calls to memcpy/memset for struct copies: link
        # the kernel's own implementations, as the kernel image does
        lib_src = KDIR / "lib" / "string.c"
        if lib_src.exists():
            obj = tmpd / "string.c.o"
            r = subprocess.run(["clang", *flags, "-c", str(lib_src), "-o", str(obj)], capture_output=True,
                               text=True)
            if r.returncode != 0:
                raise BuildError(f"{arch}: compiling kernel/lib/string.c failed: {r.stderr.strip()[:2000]}")
            objs.append(str(obj))
        tmp_elf = tmpd / "operators.elf"
        r = subprocess.run(["ld.lld", "-e", "0", "-o", str(tmp_elf), *objs], capture_output=True, text=True)
        if r.returncode != 0:
            raise BuildError(f"{arch}: linking failed: {r.stderr.strip()[:2000]}")
        shutil.move(str(tmp_elf), elf)
    return elf


def _has_operators(elf: Path) -> bool:
    try:
        st = os.stat(elf)
    except OSError:
        return False
    return _has_operators_at(str(elf), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=64)
def _has_operators_at(elf: str, mtime_ns: int, size: int) -> bool:
    """Keyed by the file's mtime and size: resolve() runs once per job (hundreds
    per run), and parsing a kernel's symbol table takes about a second."""
    try:
        from elftools.elf.elffile import ELFFile

        with open(elf, "rb") as f:
            symtab = ELFFile(f).get_section_by_name(".symtab")
            return symtab is not None and bool(symtab.get_symbol_by_name("bpf_range_add64"))
    except Exception:
        return False


def resolve(arch: str, profile: str, overrides: dict[str, str] | None = None,
            prefer_kernel: bool = True) -> Target:
    """The ELF to prove for arch/profile: the kernel image when it exists, has
    the operators and is newer than their sources; otherwise a standalone link."""
    if overrides:
        return Target(arch, profile, build_standalone(arch, profile, overrides), "standalone",
                      "patched sources")
    kelf = ROOT / "build" / f"{arch}-{profile}" / "axiom.elf"
    note = "kernel ELF missing"
    if prefer_kernel and kelf.exists():
        newest_src = max(os.path.getmtime(BPF_DIR / n) for n in OP_SOURCES + OP_HEADERS)
        if not _has_operators(kelf):
            note = "kernel ELF lacks the operators"
        elif os.path.getmtime(kelf) < newest_src:
            note = "kernel ELF older than kernel/bpf sources"
        else:
            return Target(arch, profile, kelf, "kernel")
    return Target(arch, profile, build_standalone(arch, profile), "standalone", note)

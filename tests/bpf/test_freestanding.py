"""kernel/bpf compiles freestanding for every kernel target, uses only what
<kernel.h> and bpf_env.h promise, and keeps the abstract operators pure."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "bpf-freestanding"
ARCHES = ["x86_64", "aarch64", "riscv64"]
KERNEL_PROVIDES = {"kmalloc", "kfree", "memcpy", "memset", "memcmp", "strlen", "snprintf", "vsnprintf",
                   "bpf_env_ktime_ns", "bpf_env_cpu_id", "bpf_env_ncpus", "bpf_env_pid_tgid",
                   "bpf_env_trace", "bpf_env_lock", "bpf_env_unlock"}
OPERATOR_FILES = ["tnum", "range_sync", "range_alu", "range_jmp"]
SOURCES = sorted(p.stem for p in (ROOT / "kernel/bpf").glob("*.c") if p.stem not in ("host_env", "host_api"))


@pytest.fixture(scope="module")
def built():
    r = subprocess.run(["make", "-s", "-j2", "-f", "kernel/bpf/host.mk", "bpf-check-freestanding"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return OUT


def symbols(obj: Path) -> tuple[set[str], set[str]]:
    out = subprocess.run(["llvm-nm" if _has("llvm-nm") else "nm", str(obj)], capture_output=True,
                         text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TtDdBbRr":
            defined.add(parts[2])
    return defined, undefined


def _has(tool: str) -> bool:
    return subprocess.run(["which", tool], capture_output=True).returncode == 0


@pytest.mark.parametrize("arch", ARCHES)
def test_every_source_compiles(built, arch):
    for src in SOURCES:
        assert (built / arch / f"{src}.o").exists(), f"{src}.c not built for {arch}"


@pytest.mark.parametrize("arch", ARCHES)
def test_only_promised_external_symbols(built, arch):
    defined_all, undefined_all = set(), set()
    for src in SOURCES:
        d, u = symbols(built / arch / f"{src}.o")
        defined_all |= d
        undefined_all |= u
    external = undefined_all - defined_all
    assert external <= KERNEL_PROVIDES, f"unexpected external symbols: {sorted(external - KERNEL_PROVIDES)}"


@pytest.mark.parametrize("arch", ARCHES)
def test_operators_are_pure_and_exported(built, arch):
    header = (ROOT / "kernel/bpf/bpf_range.h").read_text()
    declared = set(re.findall(r"\b(bpf_(?:range|tnum)_\w+)\s*\(", header))
    for m in re.finditer(r"BPF_RANGE_(?:BINOP|JMPOP)\((\w+)\);", header):
        declared |= {f"bpf_range_{m.group(1)}64", f"bpf_range_{m.group(1)}32", f"bpf_range_{m.group(1)}"}
    defined = set()
    for f in OPERATOR_FILES:
        d, u = symbols(built / arch / f"{f}.o")
        defined |= d
        impure = {s for s in u if not s.startswith(("bpf_range_", "bpf_tnum_"))}
        assert not impure, f"{f}.c calls non-operator functions: {sorted(impure)}"
        # no data: operators have no globals (compiler constant pools .L* are fine)
        out = subprocess.run(["nm", str(built / arch / f"{f}.o")], capture_output=True, text=True).stdout
        data = [l for l in out.splitlines() if re.search(r" [DdBb] (?!\.L)", l)]
        assert not data, f"{f}.c has global data: {data}"
    expected = {s for s in declared if s in defined}
    assert len(expected) >= 80
    for name in ["bpf_range_add64", "bpf_range_sdiv32", "bpf_range_movsx32_s8", "bpf_range_sync",
                 "bpf_range_jmp_refine", "bpf_range_jsle", "bpf_range_jset", "bpf_tnum_mul"]:
        assert name in defined, f"{name} missing for {arch}"


@pytest.mark.parametrize("arch", ARCHES)
def test_cloud_profile_compiles(arch, tmp_path):
    """PROFILE=cloud kernels build syscall.c with -DAXIOM_PROFILE_CLOUD=1 (kernel Makefile)."""
    targets = {"x86_64": ["-target", "x86_64-unknown-elf", "-mno-red-zone", "-mcmodel=kernel"],
               "aarch64": ["-target", "aarch64-none-elf", "-mgeneral-regs-only"],
               "riscv64": ["-target", "riscv64-unknown-elf", "-march=rv64imac", "-mabi=lp64",
                           "-mcmodel=medany"]}
    r = subprocess.run(["clang", "-std=c11", "-ffreestanding", "-nostdlib", "-fno-pic", "-Wall", "-Wextra",
                        "-Werror", "-g", "-O2", "-DAXIOM_PROFILE_CLOUD=1", "-I", str(ROOT / "kernel/include"),
                        "-I", str(ROOT / "kernel/bpf"), "-I", str(ROOT / "fixtures/bpf/kernel_stub"),
                        *targets[arch], "-c", str(ROOT / "kernel/bpf/syscall.c"), "-o", str(tmp_path / "s.o")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

"""Mutation mode: remove one check at a time from the handlers (or the fd-table
primitives they run), rebuild, and see whether `prove syscalls` notices.

A mutant is a source patch applied to a *copy* of one kernel file; the copy is
compiled with the kernel's own CFLAGS and linked with the other objects of the
existing build (build/<arch>-embedded/obj) into
build/prove-syscalls/mutants/<arch>-<name>-<hash>/axiom.elf. The real build
directory is never written. A mutant is caught when any check of one of its
syscalls is VIOLATED.
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..targets import KDIR, ROOT, kernel_cflags


class MutantError(RuntimeError):
    pass


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str          # relative to kernel/
    old: str
    new: str
    syscalls: tuple[str, ...]
    what: str


CATALOGUE = [
    Mutant("fd_get-upper-bound", "fs/file.c",
           "if (!fdt || fd < 0 || fd >= AX_OPEN_MAX)\n\t\treturn NULL;",
           "if (!fdt || fd < 0 || fd > AX_OPEN_MAX)\n\t\treturn NULL;",
           ("fstat",), "off-by-one in the fd range check of fd_get"),
    Mutant("fd_close-negative", "fs/file.c",
           "if (!fdt || fd < 0 || fd >= AX_OPEN_MAX)\n\t\treturn -EBADF;\n\tspin_lock(&fdt->lock);\n\tf = fdt->fd[fd];\n\tfdt->fd[fd] = NULL;",
           "if (!fdt || fd >= AX_OPEN_MAX)\n\t\treturn -EBADF;\n\tspin_lock(&fdt->lock);\n\tf = fdt->fd[fd];\n\tfdt->fd[fd] = NULL;",
           ("close",), "negative fd not rejected by fd_close"),
    Mutant("dup2-newfd-range", "fs/file.c",
           "newfd < 0 || newfd >= AX_OPEN_MAX)",
           "newfd < 0)",
           ("dup2",), "dup2 does not bound newfd"),
    Mutant("getcwd-clamp", "fs/syscalls.c",
           "MIN((size_t)n, (size_t)AX_PATH_MAX)",
           "(size_t)n",
           ("getcwd",), "getcwd does not clamp the length to its kernel buffer"),
    Mutant("user-path-max", "fs/syscalls.c",
           "r = strncpy_from_user(k, (uintptr_t)upath, AX_PATH_MAX);",
           "r = strncpy_from_user(k, (uintptr_t)upath, AX_PATH_MAX + 1);",
           ("stat",), "path copy bound larger than the kernel buffer"),
    Mutant("mmap-fixed-base", "mm/sys_mm.c",
           "if ((start & (PAGE_SIZE - 1)) || start < USER_BASE || start >= USER_TOP ||",
           "if ((start & (PAGE_SIZE - 1)) || start >= USER_TOP ||",
           ("mmap",), "MAP_FIXED below USER_BASE accepted"),
    Mutant("munmap-align", "mm/sys_mm.c",
           "if (len <= 0 || ((uintptr_t)addr & (PAGE_SIZE - 1)))",
           "if (len <= 0)",
           ("munmap",), "munmap of an unaligned address accepted"),
    Mutant("nanosleep-raw-user", "proc/sys_proc.c",
           "if (copy_from_user(&ts, (uintptr_t)req, sizeof(ts)))\n\t\treturn -EFAULT;",
           "memcpy(&ts, (const void *)req, sizeof(ts));",
           ("nanosleep",), "user pointer dereferenced directly instead of copy_from_user"),
    Mutant("kill-init", "proc/sys_proc.c",
           "if (pid <= 0 || pid > 0x7fffffff)\n\t\treturn pid == 0 || pid < -1 ? -EINVAL : -ESRCH;",
           "if (pid <= 0 || pid > 0x7fffffff)\n\t\treturn pid;",
           ("kill",), "a negative pid returned as the result (not an errno)"),
    Mutant("open-min-fd", "fs/syscalls.c",
           "\tfd = fd_install(fdt, f, 0);\n\tif (fd < 0)\n\t\tfile_put(f);",
           "\tfd = fd_install(fdt, f, 1);\n\tif (fd < 0)\n\t\tfile_put(f);",
           ("open",), "open installs the new description above fd 0 (not the lowest free slot)"),
    Mutant("open-leak", "fs/syscalls.c",
           "\tfd = fd_install(fdt, f, 0);\n\tif (fd < 0)\n\t\tfile_put(f);",
           "\tfd = fd_install(fdt, f, 0);",
           ("open",), "open keeps the new description when the fd table is full (reference leak)"),
    Mutant("exit-status-mask", "proc/sys_proc.c",
           "proc_exit(W_EXITCODE((int)(status & 0xff), 0));",
           "proc_exit(W_EXITCODE((int)status, 0));",
           ("exit",), "exit passes the whole argument down instead of its low 8 bits"),
    Mutant("spawn-parent", "proc/proc.c",
           "\tp->parent = parent;\n\tif (parent) {",
           "\tp->parent = init_process;\n\tif (parent) {",
           ("spawn",), "spawn makes init the new child's parent instead of the caller"),
    Mutant("waitpid-reap-alive", "proc/proc.c",
           "\t\t\t\tif (c->state == PROC_ZOMBIE) {\n\t\t\t\t\tint status = c->exit_status;",
           "\t\t\t\tif (c->state != 0) {\n\t\t\t\t\tint status = c->exit_status;",
           ("waitpid",), "waitpid reaps a child that is still alive"),
    Mutant("waitpid-null-status", "proc/proc.c",
           "if (ustatus && copy_to_user(ustatus, &status, sizeof(status))) {",
           "if (copy_to_user(ustatus, &status, sizeof(status))) {",
           ("waitpid",), "waitpid copies the status out even when the status pointer is NULL"),
]


@lru_cache(maxsize=None)
def _make_vars(arch: str, profile: str = "embedded") -> dict[str, str]:
    out = subprocess.run(["make", "-C", str(KDIR), f"ARCH={arch}", f"PROFILE={profile}", "-pn"],
                         capture_output=True, text=True, timeout=120).stdout
    vals = {}
    for line in out.splitlines():
        for k in ("ARCH_LDFLAGS", "ARCH_LDSCRIPT", "OBJS"):
            if line.startswith(f"{k} := ") or line.startswith(f"{k} = "):
                vals[k] = line.split("=", 1)[1].strip()
    return vals


def build_patched(arch: str, file: str, text: str, tag: str, out_root: Path | None = None) -> Path:
    """Compile `text` as kernel/<file> with the kernel's flags and link it with the
    other objects of build/<arch>-embedded into a separate ELF (cached by content)
    under `out_root` (default build/prove-syscalls/mutants)/<arch>-<tag>-<hash>."""
    base = ROOT / "build" / f"{arch}-embedded"
    objdir = base / "obj"
    if not (base / "axiom.elf").exists():
        raise MutantError(f"build/{arch}-embedded does not exist: build the kernel first")
    h = hashlib.sha256((file + text + str((base / "axiom.elf").stat().st_mtime_ns)).encode()).hexdigest()[:12]
    out = (out_root or ROOT / "build" / "prove-syscalls" / "mutants") / f"{arch}-{tag}-{h}"
    elf = out / "axiom.elf"
    if elf.exists():
        return elf
    out.mkdir(parents=True, exist_ok=True)
    mv = _make_vars(arch)
    flags = list(kernel_cflags(arch, "embedded"))
    target_obj = objdir / f"{file}.c.o" if not file.endswith(".c") else objdir / f"{file}.o"
    objs = sorted(str(p) for p in objdir.rglob("*.o"))
    if str(target_obj) not in objs:
        raise MutantError(f"{target_obj} not found in the existing build")
    with tempfile.TemporaryDirectory(prefix="axiomdbg-mutant-") as tmp:
        src = Path(tmp) / Path(file).name
        src.write_text(text)
        obj = Path(tmp) / "patched.o"
        # compile the copy as if it sat at its place (so "..." includes resolve)
        cmd = ["clang", *flags, f"-I{(KDIR / file).parent}", "-c", str(src), "-o", str(obj)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise MutantError(f"compiling the patched {file} failed: {r.stderr.strip()[:1500]}")
        objs = [str(obj) if o == str(target_obj) else o for o in objs]
        ld = ["ld.lld", "-nostdlib", "-static", "-z", "max-page-size=4096", "-z", "noexecstack",
              *shlex.split(mv.get("ARCH_LDFLAGS", "")), "-T", mv["ARCH_LDSCRIPT"], "-o", str(elf) + ".tmp", *objs]
        r = subprocess.run(ld, capture_output=True, text=True)
        if r.returncode != 0:
            raise MutantError(f"linking the mutant failed: {r.stderr.strip()[:1500]}")
        Path(str(elf) + ".tmp").replace(elf)
    return elf


def build_mutant(m: Mutant, arch: str) -> Path:
    text = (KDIR / m.file).read_text()
    if m.old not in text:
        raise MutantError(f"mutant {m.name}: the original text is no longer in kernel/{m.file} (STALE)")
    return build_patched(arch, m.file, text.replace(m.old, m.new, 1), m.name)


def run_mutants(arches: list[str], jobs: int = 1, console=None, names: list[str] | None = None) -> dict:
    from . import runner

    results = []
    for m in CATALOGUE:
        if names and m.name not in names:
            continue
        for arch in arches:
            try:
                elf = build_mutant(m, arch)
            except MutantError as e:
                results.append({"mutant": m.name, "arch": arch, "status": "STALE" if "STALE" in str(e) else "ERROR",
                                "detail": str(e)})
                continue
            rows = runner.run([arch], list(m.syscalls), jobs=jobs, use_cache=False, elfs={arch: str(elf)})
            caught = [r for r in rows if r["status"] == "VIOLATED"]
            results.append({"mutant": m.name, "arch": arch, "what": m.what, "file": f"kernel/{m.file}",
                            "status": "CAUGHT" if caught else "MISSED",
                            "by": [f"{r['syscall']}.{r['check']}" for r in caught],
                            "args": caught[0].get("args") if caught else None})
            if console is not None:
                st = results[-1]["status"]
                console.print(f"{'[green]' if st == 'CAUGHT' else '[red]'}{st}[/] {m.name} ({arch}): {m.what}"
                              + (f" — by {', '.join(results[-1]['by'])}" if caught else ""))
    total = len(results)
    caught = sum(r["status"] == "CAUGHT" for r in results)
    per_arch = {}
    for arch in arches:
        rs = [r for r in results if r["arch"] == arch]
        c = sum(r["status"] == "CAUGHT" for r in rs)
        per_arch[arch] = {"total": len(rs), "caught": c, "share": round(c / len(rs), 3) if rs else 0.0,
                          "missed": [r["mutant"] for r in rs if r["status"] != "CAUGHT"]}
    if console is not None:
        for arch, v in per_arch.items():
            console.print(f"{arch}: {v['caught']}/{v['total']} mutants caught ({100 * v['share']:.0f} %)")
        console.print(f"{caught}/{total} mutants caught")
    return {"total": total, "caught": caught, "share": (caught / total) if total else 0.0, "per_arch": per_arch,
            "mutants": results}

"""What the harness reads from a kernel ELF: the syscall table (symbol
``syscall_table`` and its contents), function symbols, the user address range
of the arch (asm/config.h) and struct layouts (DWARF)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..targets import KDIR
from . import abi


class ElfError(RuntimeError):
    pass


@dataclass(frozen=True)
class Handler:
    nr: int
    name: str        # ABI name, e.g. "dup2"
    symbol: str      # function symbol, e.g. "sys_dup2"
    addr: int
    size: int


@lru_cache(maxsize=None)
def _elf_symbols(elf: str):
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as fh:
        ef = ELFFile(fh)
        st = ef.get_section_by_name(".symtab")
        if st is None:
            raise ElfError(f"{elf} has no symbol table")
        funcs, objs = {}, []
        for s in st.iter_symbols():
            t = s["st_info"]["type"]
            if t == "STT_FUNC" and s.name:
                funcs.setdefault(s.name, (s["st_value"], s["st_size"]))
            elif t == "STT_OBJECT" and s["st_size"] > 0:
                objs.append((s["st_value"], s["st_size"], s.name))
        return funcs, sorted(objs)


def functions(elf: str) -> dict[str, tuple[int, int]]:
    return _elf_symbols(elf)[0]


def objects(elf: str) -> list[tuple[int, int, str]]:
    return _elf_symbols(elf)[1]


@lru_cache(maxsize=None)
def object_addr(elf: str, name: str, source: str | None = None) -> int | None:
    """Address of the data symbol `name` (static ones included), or None. With
    `source` (e.g. "proc.c") only a symbol of that translation unit counts (the
    STT_FILE symbol before a group of local symbols names it): several files
    may have a static of the same name."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as fh:
        st = ELFFile(fh).get_section_by_name(".symtab")
        cur = None
        for sym in st.iter_symbols():
            t = sym["st_info"]["type"]
            if t == "STT_FILE":
                cur = sym.name
                continue
            if t != "STT_OBJECT" or sym.name != name:
                continue
            if source is None or sym["st_info"]["bind"] != "STB_LOCAL" or \
                    (cur is not None and cur.rsplit("/", 1)[-1] == source):
                return sym["st_value"]
    return None


def func_at(elf: str, addr: int) -> str | None:
    for name, (a, sz) in functions(elf).items():
        if a == addr:
            return name
    return None


@lru_cache(maxsize=8)
def _segments(elf: str, mtime_ns: int) -> tuple[tuple[int, bytes], ...]:
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as fh:
        ef = ELFFile(fh)
        return tuple((seg["p_vaddr"], seg.data()) for seg in ef.iter_segments() if seg["p_type"] == "PT_LOAD")


def read_bytes(elf: str, addr: int, n: int) -> bytes:
    import os

    for lo, data in _segments(elf, os.stat(elf).st_mtime_ns):
        if lo <= addr and addr + n <= lo + len(data):
            return data[addr - lo: addr - lo + n]
    raise ElfError(f"{elf}: 0x{addr:x}+{n} is not in a loaded segment")


@lru_cache(maxsize=None)
def syscall_table(elf: str) -> list[Handler]:
    """Every non-empty entry of the kernel's syscall_table[], read from the ELF."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as fh:
        ef = ELFFile(fh)
        little = ef.little_endian
        st = ef.get_section_by_name(".symtab")
        sym = st.get_symbol_by_name("syscall_table") if st else None
        if not sym:
            raise ElfError(f"{elf} has no syscall_table symbol")
        addr, size = sym[0]["st_value"], sym[0]["st_size"]
    data = read_bytes(elf, addr, size)
    by_addr = {}
    for name, (a, sz) in functions(elf).items():
        if name.startswith("sys_"):
            by_addr.setdefault(a, (name, sz))
    names = abi.numbers()
    out = []
    for nr in range(size // 8):
        ptr = int.from_bytes(data[nr * 8: nr * 8 + 8], "little" if little else "big")
        if ptr == 0:
            continue
        fn, sz = by_addr.get(ptr, (None, 0))
        if fn is None:
            raise ElfError(f"{elf}: syscall_table[{nr}] = 0x{ptr:x} is not a sys_* function")
        out.append(Handler(nr, names.get(nr, fn[4:]), fn, ptr, sz))
    return out


@lru_cache(maxsize=None)
def user_range(arch: str) -> tuple[int, int]:
    """[USER_BASE, USER_TOP) from the arch's asm/config.h (what uaccess.c checks against)."""
    text = (KDIR / "arch" / arch / "include" / "asm" / "config.h").read_text()
    vals = {}
    for k in ("USER_BASE", "USER_TOP"):
        m = re.search(rf"#define\s+{k}\s+_UL\((0x[0-9a-fA-F]+|\d+)\)", text)
        if not m:
            raise ElfError(f"{k} not found in asm/config.h of {arch}")
        vals[k] = int(m.group(1), 0)
    return vals["USER_BASE"], vals["USER_TOP"]


@dataclass(frozen=True)
class Layouts:
    proc_size: int
    proc_pid: int
    proc_parent: int
    proc_fdt: int
    proc_vm: int
    thread_size: int
    thread_tid: int
    thread_proc: int
    fdt_size: int
    fdt_fd: int
    fdt_nfd: int
    int_size: int
    file_size: int
    file_refcount: int
    proc_extra: dict   # offsets of the process-tree fields (children, sibling, next, state, ...)


def _has_member(st, name: str) -> bool:
    try:
        st.offsetof(name)
        return True
    except Exception:
        return False


@lru_cache(maxsize=None)
def layouts(elf: str) -> Layouts:
    from axiomdbg.core.dwarf import TypeIndex

    ti = TypeIndex(elf)
    p, t, f = ti.struct("process"), ti.struct("thread"), ti.struct("fdtable")
    fl = ti.struct("file")
    fd = f.member("fd").type
    return Layouts(p.sizeof, p.offsetof("pid"), p.offsetof("parent"), p.offsetof("fdt"), p.offsetof("vm"),
                   t.sizeof, t.offsetof("tid"), t.offsetof("proc"),
                   f.sizeof, f.offsetof("fd"), fd.strip().count or 0, p.member("pid").type.sizeof,
                   fl.sizeof, fl.offsetof("refcount"),
                   {m: p.offsetof(m) for m in ("children", "sibling", "next", "state", "exit_status", "killed",
                                               "fdt", "vm")}
                   | {"cpu.current": ti.struct("cpu").offsetof("current"), "cpu.size": ti.struct("cpu").sizeof}
                   | {m: p.offsetof(m) for m in ("threads_unfreed",) if _has_member(p, m)})

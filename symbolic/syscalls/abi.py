"""The syscall ABI as the harness reads it from the kernel's own headers:
numbers (``SYS_*``), errno values (errno.h) and the result contract of each
call (the ``@abi``/``@errset`` comment lines in uapi/axiom/syscall.h)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..targets import KDIR

UAPI = KDIR / "include" / "uapi" / "axiom"
SYSCALL_H = UAPI / "syscall.h"
ERRNO_H = UAPI / "errno.h"


class AbiError(RuntimeError):
    pass


@dataclass(frozen=True)
class Contract:
    name: str
    success: str          # zero | nonneg | count | uaddr | noreturn
    count_arg: int        # for count(N)
    errnos: frozenset[int]
    errnames: tuple[str, ...]


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as e:
        raise AbiError(f"cannot read {path}: {e}") from None


@lru_cache(maxsize=None)
def errnos(path: str = str(ERRNO_H)) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in re.finditer(r"^#define\s+(E[A-Z0-9_]+)\s+(\w+)", _read(Path(path)), re.M):
        v = m.group(2)
        out[m.group(1)] = int(v, 0) if v[0].isdigit() else out[v]
    return out


@lru_cache(maxsize=None)
def numbers(path: str = str(SYSCALL_H)) -> dict[int, str]:
    out = {}
    for m in re.finditer(r"^#define\s+SYS_(\w+)\s+(\d+)", _read(Path(path)), re.M):
        out[int(m.group(2))] = m.group(1)
    return out


@lru_cache(maxsize=None)
def errsets(path: str = str(SYSCALL_H)) -> dict[str, tuple[str, ...]]:
    return {m.group(1): tuple(m.group(2).split())
            for m in re.finditer(r"@errset\s+(\w+):\s*([A-Z0-9_ ]*)", _read(Path(path)))}


def _names_to_values(names, sets, errno) -> tuple[frozenset[int], tuple[str, ...]]:
    vals, flat = set(), []
    for n in names:
        if n.startswith("@"):
            if n[1:] not in sets:
                raise AbiError(f"unknown errno set {n} in {SYSCALL_H}")
            inner, inner_names = _names_to_values(sets[n[1:]], sets, errno)
            vals |= inner
            flat += inner_names
        else:
            if n not in errno:
                raise AbiError(f"unknown errno {n} in {SYSCALL_H}")
            vals.add(errno[n])
            flat.append(n)
    return frozenset(vals), tuple(dict.fromkeys(flat))


def errset(name: str) -> frozenset[int]:
    return _names_to_values([f"@{name}"], errsets(), errnos())[0]


@lru_cache(maxsize=None)
def contracts(path: str = str(SYSCALL_H)) -> dict[str, Contract]:
    text = _read(Path(path))
    sets = errsets(path)
    errno = errnos()
    out = {}
    for m in re.finditer(r"@abi\s+(\w+):\s*([a-z]+)(?:\((\d)\))?\s*\|([^\n]*)", text):
        name, succ, n, errs = m.group(1), m.group(2), m.group(3), m.group(4)
        if succ not in ("zero", "nonneg", "count", "uaddr", "noreturn"):
            raise AbiError(f"@abi {name}: unknown success kind {succ!r}")
        vals, flat = _names_to_values(errs.replace("*/", "").split(), sets, errno)
        out[name] = Contract(name, succ, int(n) if n else -1, vals, flat)
    for nr, name in numbers(path).items():
        if name not in out:
            raise AbiError(f"SYS_{name} has no @abi contract line in {path}")
    return out

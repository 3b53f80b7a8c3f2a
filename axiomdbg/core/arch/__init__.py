"""Architecture registry: ``get_arch("arm64")`` -> the AArch64 :class:`Arch` instance.

Each architecture module registers its class with :func:`register_arch`; lookups accept the
canonical name, any alias (``x86-64``, ``amd64``, ``arm64``, ``riscv``...), GDB's architecture
names (``i386:x86-64``, ``riscv:rv64``) and, via :func:`arch_for_elf_machine`, ELF ``e_machine``.
"""

from __future__ import annotations

from ..errors import UnknownArchError
from .base import Arch, PageTableWalk

_ARCHES: dict[str, Arch] = {}
_ALIASES: dict[str, str] = {}


def _norm(name: str) -> str:
    return name.strip().lower()


def register_arch(cls: type[Arch]) -> type[Arch]:
    """Class decorator: instantiate ``cls`` once and register its name and aliases."""
    inst = cls()
    canon = _norm(cls.name)
    for alias in (canon, *cls.aliases, cls.gdb_arch):
        key = _norm(alias)
        owner = _ALIASES.get(key)
        if owner is not None and owner != canon:
            raise ValueError(f"architecture alias {alias!r} already used by {owner}")
        _ALIASES[key] = canon
    _ARCHES[canon] = inst
    return cls


def get_arch(name: str | Arch) -> Arch:
    """Look an architecture up by name or alias (case-insensitive)."""
    if isinstance(name, Arch):
        return name
    key = _ALIASES.get(_norm(name))
    if key is None:
        known = ", ".join(sorted(_ARCHES))
        raise UnknownArchError(f"unknown architecture {name!r} (known: {known})")
    return _ARCHES[key]


def all_arches() -> list[Arch]:
    """Every registered architecture, sorted by name."""
    return [_ARCHES[k] for k in sorted(_ARCHES)]


def arch_for_elf_machine(machine: int) -> Arch:
    """The architecture of an ELF ``e_machine`` value (62 x86_64, 183 aarch64, 243 riscv)."""
    for arch in _ARCHES.values():
        if arch.elf_machine == machine:
            return arch
    raise UnknownArchError(f"no architecture for ELF machine {machine}")


# Importing the modules registers them.
from . import aarch64, riscv64, x86_64  # noqa: E402,F401

__all__ = ["Arch", "PageTableWalk", "register_arch", "get_arch", "all_arches", "arch_for_elf_machine"]

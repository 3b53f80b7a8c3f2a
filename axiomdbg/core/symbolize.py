"""Address -> function, file:line and inlined frames, from an ELF's symbols and DWARF.

Debugger-agnostic (never imports gdb) and self-contained: it reads the ELF with
pyelftools and never shells out (``llvm-symbolizer`` is the *oracle* the tests
compare against, see tests/triage/test_symbolize.py).

Example::

    sym = Symbolizer.open("build/riscv64-embedded/axiom.elf")
    for frame in sym.symbolize(pc):          # innermost first
        print(frame.function, f"{frame.file}:{frame.line}", "(inlined)" if frame.inlined else "")
    sym.symbolize(return_address - 1)        # return addresses: pass pc-1 (see below)

Return addresses
    A backtrace holds *return* addresses: the instruction after the call. That
    instruction may belong to the next source line, or even to the next function
    when the call is the last instruction of a ``noreturn`` function. Callers
    must therefore look up ``ret - 1`` for every frame except the faulting pc
    (the first frame of a panic record written from a trap frame), as gdb
    (``find_frame_sal`` uses pc-1 for caller frames) and syzkaller do. :meth:`Symbolizer.symbolize_frame` does that for you with
    ``is_return_address=True``.

How it works (all indexes are built once per ELF, lookups are a few ``bisect``):

* ELF symbols (``.symtab``): functions and objects, sorted by address, used for
  ``symbol+offset`` and as the function name when DWARF has none.
* Compilation units: the address ranges of every CU (``DW_AT_low_pc``/``high_pc``
  or ``DW_AT_ranges``, DWARF 4 ``.debug_ranges`` or DWARF 5 ``.debug_rnglists``),
  sorted. The line program and DIE tree of a CU are decoded the first time an
  address inside it is looked up.
* Line table: each sequence of the CU's line program becomes (low, high, row
  addresses, rows); for an address the row is the *last* row whose address is
  ``<=`` the address (the same rule as LLVM's ``findRowInSeq``).
* Inlining: ``DW_TAG_subprogram`` ranges, each with its tree of
  ``DW_TAG_inlined_subroutine`` (through lexical blocks); the deepest chain that
  contains the address gives the inlined frames, innermost first. The location
  of an outer frame is the ``DW_AT_call_file``/``DW_AT_call_line`` of the frame
  inlined into it.

File names are made absolute the way llvm-symbolizer does: file name, joined to
its include directory, joined to the CU's ``DW_AT_comp_dir``. When the result
is still relative (axiom is built with a file prefix map: comp_dir "." is the
repository root) it is normalised ("kernel/lib/panic.c"); :func:`source_path`
finds such a file in a source tree. DWARF 4 file and
directory indexes are 1-based (0 = the CU's own), DWARF 5 ones are 0-based.
"""

from __future__ import annotations

import bisect
import os
import posixpath
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .errors import AxiomError

__all__ = [
    "SymbolizeError",
    "Frame",
    "ElfSymbol",
    "Symbolizer",
    "elf_build_id",
    "elf_arch",
    "source_path",
]

# e_machine -> canonical architecture name (axiomdbg.qemu.ARCHES)
_MACHINES = {"EM_X86_64": "x86_64", "EM_AARCH64": "aarch64", "EM_RISCV": "riscv64"}


class SymbolizeError(AxiomError):
    """The ELF is missing or malformed, or has no DWARF where DWARF is required."""


@dataclass(frozen=True)
class Frame:
    """One source-level frame. ``inlined`` is True when this frame's code was inlined
    into the next (outer) frame of the same address; the last frame of a lookup is
    the real (out-of-line) function."""

    address: int
    function: str | None
    file: str | None
    line: int = 0
    column: int = 0
    inlined: bool = False

    def location(self) -> str:
        if not self.file:
            return "??"
        return f"{self.file}:{self.line}" if self.line else f"{self.file}:0"

    def to_dict(self) -> dict:
        return {"address": self.address, "function": self.function, "file": self.file,
                "line": self.line, "column": self.column, "inlined": self.inlined}


@dataclass(frozen=True)
class ElfSymbol:
    name: str
    address: int
    size: int
    kind: str  # "func", "object", "notype"


# ---------------------------------------------------------------------------
# ELF helpers
# ---------------------------------------------------------------------------

def _open_elf(path: Path):
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise SymbolizeError(f"kernel ELF {path} does not exist") from None
    except OSError as e:
        raise SymbolizeError(f"cannot open ELF {path}: {e.strerror or e}") from None
    try:
        return f, ELFFile(f)
    except (ELFError, Exception) as e:  # pyelftools raises assorted errors on junk
        f.close()
        raise SymbolizeError(f"{path} is not a valid ELF file: {e}") from None


def _build_id_from_elffile(elf) -> str | None:
    try:
        for sec in elf.iter_sections():
            if sec.header.sh_type != "SHT_NOTE":
                continue
            for note in sec.iter_notes():
                if note["n_type"] == "NT_GNU_BUILD_ID" and note["n_name"] == "GNU":
                    desc = note["n_desc"]
                    return desc if isinstance(desc, str) else bytes(desc).hex()
    except Exception:
        return None
    return None


def elf_build_id(path: str | os.PathLike) -> str | None:
    """The GNU build id (lower-case hex) of an ELF, or None if it has none.

    Raises SymbolizeError if the file is missing or not an ELF."""
    f, elf = _open_elf(Path(path))
    try:
        return _build_id_from_elffile(elf)
    finally:
        f.close()


def elf_arch(path: str | os.PathLike) -> str | None:
    """x86_64, aarch64 or riscv64 from e_machine (None for other machines)."""
    f, elf = _open_elf(Path(path))
    try:
        return _MACHINES.get(elf["e_machine"])
    finally:
        f.close()


# ---------------------------------------------------------------------------
# DWARF model (plain Python objects, built once per CU)
# ---------------------------------------------------------------------------

@dataclass
class _Scope:
    """A subprogram or inlined subroutine: ranges, name, call site, inlined children."""

    ranges: list[tuple[int, int]]
    name: str | None
    call_file: str | None = None
    call_line: int = 0
    call_column: int = 0
    children: list["_Scope"] = field(default_factory=list)

    def contains(self, addr: int) -> bool:
        for lo, hi in self.ranges:
            if lo <= addr < hi:
                return True
        return False


@dataclass
class _Sequence:
    low: int
    high: int
    addrs: list[int]
    rows: list[tuple[str | None, int, int]]  # (file, line, column)


@dataclass
class _Unit:
    offset: int
    ranges: list[tuple[int, int]]
    loaded: bool = False
    scopes_lo: list[int] = field(default_factory=list)
    scopes: list[tuple[int, int, _Scope]] = field(default_factory=list)


def _attr(die, name):
    a = die.attributes.get(name)
    return None if a is None else a.value


class Symbolizer:
    """Symbolizes addresses of one ELF. Build with :meth:`open` (cached per path)."""

    _cache: dict[tuple[str, int, int], "Symbolizer"] = {}
    _cache_lock = threading.Lock()

    def __init__(self, path: str | os.PathLike, *, require_dwarf: bool = True) -> None:
        self.path = Path(path)
        self._file, self._elf = _open_elf(self.path)
        self._lock = threading.RLock()
        elf = self._elf
        self.arch: str | None = _MACHINES.get(elf["e_machine"])
        self.build_id: str | None = _build_id_from_elffile(elf)
        self._load_symbols()
        self._dwarf = None
        self._units: list[_Unit] = []
        self._unit_index: list[tuple[int, int, _Unit]] = []
        self._unit_lo: list[int] = []
        self._seqs: list[_Sequence] = []
        self._seq_lo: list[int] = []
        self._seqs_dirty = False
        try:
            has_dwarf = elf.has_dwarf_info() and elf.get_section_by_name(".debug_info") is not None
        except Exception as e:
            raise SymbolizeError(f"{self.path}: malformed section headers: {e}") from None
        if not has_dwarf:
            if require_dwarf:
                self.close()
                raise SymbolizeError(f"{self.path} has no DWARF debug info (build with -g)")
            return
        try:
            self._dwarf = elf.get_dwarf_info(relocate_dwarf_sections=True)
            self._index_units()
        except SymbolizeError:
            raise
        except Exception as e:
            raise SymbolizeError(f"{self.path}: malformed DWARF: {type(e).__name__}: {e}") from None

    # -- construction -----------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, *, require_dwarf: bool = True) -> "Symbolizer":
        """A cached Symbolizer for `path` (re-read if the file changed)."""
        p = Path(path)
        try:
            st = p.stat()
        except FileNotFoundError:
            raise SymbolizeError(f"kernel ELF {p} does not exist") from None
        except OSError as e:
            raise SymbolizeError(f"cannot open ELF {p}: {e}") from None
        key = (str(p.resolve()), st.st_mtime_ns, st.st_size)
        with cls._cache_lock:
            hit = cls._cache.get(key)
        if hit is not None and (hit._dwarf is not None or not require_dwarf):
            return hit
        sym = cls(p, require_dwarf=require_dwarf)
        with cls._cache_lock:
            cls._cache[key] = sym
        return sym

    def close(self) -> None:
        try:
            self._file.close()
        except Exception:
            pass

    @property
    def has_dwarf(self) -> bool:
        return self._dwarf is not None

    # -- ELF symbols ------------------------------------------------------
    def _load_symbols(self) -> None:
        syms: list[ElfSymbol] = []
        by_name: dict[str, int] = {}
        try:
            symtabs = [s for s in self._elf.iter_sections() if s.header.sh_type in ("SHT_SYMTAB", "SHT_DYNSYM")]
            for tab in symtabs:
                for s in tab.iter_symbols():
                    name = s.name
                    if not name:
                        continue
                    typ = s["st_info"]["type"]
                    shndx = s["st_shndx"]
                    value = s["st_value"]
                    if typ in ("STT_FILE", "STT_SECTION", "STT_TLS"):
                        continue
                    if shndx == "SHN_UNDEF":
                        continue
                    by_name.setdefault(name, value)
                    # mapping symbols ($x, $d) and assembler locals (.L*, kept in RISC-V objects
                    # for relaxation) are not function names
                    if name.startswith(("$", ".L")) or shndx == "SHN_ABS":
                        continue
                    kind = {"STT_FUNC": "func", "STT_OBJECT": "object", "STT_COMMON": "object"}.get(typ, "notype")
                    syms.append(ElfSymbol(name, value, s["st_size"], kind))
        except Exception as e:
            raise SymbolizeError(f"{self.path}: malformed symbol table: {e}") from None
        # Functions first at equal addresses, then sized before unsized, so lookups prefer them.
        order = {"func": 0, "object": 1, "notype": 2}
        syms.sort(key=lambda s: (s.address, order[s.kind], s.size == 0, s.name))
        self.symbols: list[ElfSymbol] = syms
        self._sym_addr = [s.address for s in syms]
        self._by_name = by_name
        self._funcs = [s for s in syms if s.kind == "func"]
        self._func_addr = [s.address for s in self._funcs]

    def address_of(self, name: str) -> int | None:
        """Address of a symbol by name (any type, including linker-script symbols)."""
        return self._by_name.get(name)

    def symbol_names(self) -> dict[str, int]:
        return dict(self._by_name)

    def symbol_at(self, addr: int) -> tuple[ElfSymbol, int] | None:
        """The symbol containing `addr` and the offset into it, preferring functions.

        A sized symbol contains [address, address+size); an unsized one (linker
        labels) only matches when no sized function does and the address is in an
        executable section."""
        i = bisect.bisect_right(self._func_addr, addr) - 1
        while i >= 0:
            s = self._funcs[i]
            if s.size and s.address <= addr < s.address + s.size:
                return s, addr - s.address
            if s.size and addr >= s.address + s.size:
                break
            if not s.size:
                break
            i -= 1
        # Not inside any sized function. Look at the symbols starting at the nearest address at or
        # below `addr` (as llvm-symbolizer does): if one of them is sized, `addr` is padding after
        # it and has no name; if all are unsized labels (assembly without .type/.size, NOTYPE),
        # the address belongs to that label, preferring a function label.
        i = bisect.bisect_right(self._sym_addr, addr) - 1
        best = None
        if i >= 0:
            here = self._sym_addr[i]
            group = []
            while i >= 0 and self._sym_addr[i] == here:
                group.append(self.symbols[i])
                i -= 1
            for s in group:
                if s.size and s.address <= addr < s.address + s.size:
                    return s, addr - s.address
            if not any(s.size for s in group):
                order = {"func": 0, "notype": 1, "object": 2}
                best = min(group, key=lambda s: (order[s.kind], s.name))
        if best is not None and self._in_exec(addr) and self._in_exec(best.address):
            return best, addr - best.address
        return None

    def _in_exec(self, addr: int) -> bool:
        if not hasattr(self, "_exec_ranges"):
            rngs = []
            for seg in self._elf.iter_segments():
                if seg["p_type"] == "PT_LOAD" and seg["p_flags"] & 1:
                    rngs.append((seg["p_vaddr"], seg["p_vaddr"] + seg["p_memsz"]))
            self._exec_ranges = rngs
        return any(lo <= addr < hi for lo, hi in self._exec_ranges)

    # -- DWARF index --------------------------------------------------------
    def _die_ranges(self, die, cu) -> list[tuple[int, int]]:
        attrs = die.attributes
        if "DW_AT_ranges" in attrs:
            rl = self._dwarf.range_lists()
            if rl is None:
                return []
            offset = attrs["DW_AT_ranges"].value
            top = cu.get_top_DIE()
            base = _attr(top, "DW_AT_low_pc") or 0
            if cu.header.version < 5 and die.offset != top.offset:
                pass
            out = []
            try:
                entries = rl.get_range_list_at_offset(offset, cu=cu)
            except TypeError:
                entries = rl.get_range_list_at_offset(offset)
            for e in entries:
                if hasattr(e, "base_address"):
                    base = e.base_address
                    continue
                lo, hi = (e.begin_offset, e.end_offset) if e.is_absolute else (base + e.begin_offset, base + e.end_offset)
                if hi > lo:
                    out.append((lo, hi))
            return out
        lo = _attr(die, "DW_AT_low_pc")
        if lo is None:
            return []
        hp = attrs.get("DW_AT_high_pc")
        if hp is None:
            return [(lo, lo + 1)]
        cls_const = hp.form not in ("DW_FORM_addr", "DW_FORM_addrx", "DW_FORM_addrx1", "DW_FORM_addrx2",
                                    "DW_FORM_addrx3", "DW_FORM_addrx4")
        hi = lo + hp.value if cls_const else hp.value
        return [(lo, hi)] if hi > lo else []

    def _index_units(self) -> None:
        for cu in self._dwarf.iter_CUs():
            top = cu.get_top_DIE()
            if top.tag not in ("DW_TAG_compile_unit", "DW_TAG_partial_unit"):
                continue
            ranges = [(lo, hi) for lo, hi in self._die_ranges(top, cu) if lo != 0 or hi - lo < 0x1000]
            unit = _Unit(cu.cu_offset, ranges)
            unit._cu = cu  # type: ignore[attr-defined]
            self._units.append(unit)
            for lo, hi in ranges:
                self._unit_index.append((lo, hi, unit))
        self._unit_index.sort(key=lambda t: (t[0], t[1]))
        self._unit_lo = [t[0] for t in self._unit_index]

    def _unit_for(self, addr: int) -> _Unit | None:
        i = bisect.bisect_right(self._unit_lo, addr) - 1
        # ranges of different CUs do not overlap in a linked image, but be lenient
        for j in range(i, max(-1, i - 8), -1):
            lo, hi, unit = self._unit_index[j]
            if lo <= addr < hi:
                return unit
        return None

    def _load_unit(self, unit: _Unit) -> None:
        if unit.loaded:
            return
        unit.loaded = True
        cu = unit._cu  # type: ignore[attr-defined]
        top = cu.get_top_DIE()
        comp_dir = _attr(top, "DW_AT_comp_dir")
        comp_dir = comp_dir.decode("utf-8", "replace") if isinstance(comp_dir, bytes) else comp_dir
        cu_name = _attr(top, "DW_AT_name")
        cu_name = cu_name.decode("utf-8", "replace") if isinstance(cu_name, bytes) else cu_name
        files: list[str | None] = []
        lp = None
        try:
            lp = self._dwarf.line_program_for_CU(cu)
        except Exception:
            lp = None
        v5 = False
        if lp is not None:
            v5 = lp.header["version"] >= 5
            dirs = [d.decode("utf-8", "replace") if isinstance(d, bytes) else d
                    for d in lp.header["include_directory"]]
            for fe in lp.header["file_entry"]:
                name = fe.name.decode("utf-8", "replace") if isinstance(fe.name, bytes) else fe.name
                di = fe.dir_index
                if v5:
                    d = dirs[di] if 0 <= di < len(dirs) else None
                else:
                    d = comp_dir if di == 0 else (dirs[di - 1] if 0 < di <= len(dirs) else None)
                files.append(_join_path(comp_dir, d, name))

        def file_name(idx: int | None) -> str | None:
            if idx is None:
                return None
            k = idx if v5 else idx - 1
            if 0 <= k < len(files):
                return files[k]
            if not v5 and idx == 0 and cu_name:
                return _join_path(comp_dir, None, cu_name)
            return None

        # line table
        if lp is not None:
            addrs: list[int] = []
            rows: list[tuple[str | None, int, int]] = []
            for entry in lp.get_entries():
                st = entry.state
                if st is None:
                    continue
                if st.end_sequence:
                    if addrs:
                        low, high = addrs[0], st.address
                        if high > low and not (low == 0 and self._unit_lo and self._unit_lo[-1] > 0x100000):
                            self._seqs.append(_Sequence(low, high, addrs, rows))
                            self._seqs_dirty = True
                    addrs, rows = [], []
                    continue
                if addrs and st.address < addrs[-1]:
                    continue  # malformed: addresses must not decrease within a sequence
                addrs.append(st.address)
                rows.append((file_name(st.file), st.line, st.column))

        # scopes
        def build(die, into: list[_Scope]) -> None:
            for child in die.iter_children():
                tag = child.tag
                if tag == "DW_TAG_inlined_subroutine":
                    rng = self._die_ranges(child, cu)
                    sc = _Scope(rng, self._die_name(child), file_name(_attr(child, "DW_AT_call_file")),
                                _attr(child, "DW_AT_call_line") or 0, _attr(child, "DW_AT_call_column") or 0)
                    into.append(sc)
                    if child.has_children:
                        build(child, sc.children)
                elif tag in ("DW_TAG_lexical_block", "DW_TAG_try_block", "DW_TAG_catch_block"):
                    if child.has_children:
                        build(child, into)

        def walk(die) -> None:
            for child in die.iter_children():
                if child.tag == "DW_TAG_subprogram":
                    rng = self._die_ranges(child, cu)
                    if rng:
                        sc = _Scope(rng, self._die_name(child))
                        if child.has_children:
                            build(child, sc.children)
                        for lo, hi in rng:
                            unit.scopes.append((lo, hi, sc))
                    elif child.has_children:
                        walk(child)
                elif child.tag in ("DW_TAG_namespace", "DW_TAG_module", "DW_TAG_lexical_block") and child.has_children:
                    walk(child)

        walk(top)
        unit.scopes.sort(key=lambda t: (t[0], t[1]))
        unit.scopes_lo = [t[0] for t in unit.scopes]

    def _die_name(self, die, depth: int = 0) -> str | None:
        for key in ("DW_AT_linkage_name", "DW_AT_MIPS_linkage_name", "DW_AT_name"):
            v = _attr(die, key)
            if v is not None:
                return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        if depth > 8:
            return None
        for key in ("DW_AT_abstract_origin", "DW_AT_specification"):
            if key in die.attributes:
                try:
                    return self._die_name(die.get_DIE_from_attribute(key), depth + 1)
                except Exception:
                    return None
        return None

    def _line_for(self, addr: int) -> tuple[str | None, int, int] | None:
        if self._seqs_dirty:
            self._seqs.sort(key=lambda s: (s.low, s.high))
            self._seq_lo = [s.low for s in self._seqs]
            self._seqs_dirty = False
        i = bisect.bisect_right(self._seq_lo, addr) - 1
        for j in range(i, max(-1, i - 8), -1):
            seq = self._seqs[j]
            if seq.low <= addr < seq.high:
                k = bisect.bisect_right(seq.addrs, addr) - 1
                return seq.rows[k]
        return None

    # -- lookups -------------------------------------------------------------
    def symbolize(self, addr: int) -> list[Frame]:
        """Frames for `addr`, innermost (most deeply inlined) first.

        Always returns at least one frame; unknown parts are None / 0. For a
        return address pass ``addr - 1`` (or use :meth:`symbolize_frame`)."""
        addr &= (1 << 64) - 1
        with self._lock:
            try:
                return self._symbolize(addr)
            except AxiomError:
                raise
            except Exception as e:  # malformed DWARF discovered lazily
                raise SymbolizeError(f"{self.path}: malformed DWARF near {addr:#x}: {type(e).__name__}: {e}") from None

    def symbolize_frame(self, addr: int, *, is_return_address: bool) -> list[Frame]:
        """Like :meth:`symbolize`, looking up ``addr - 1`` for a return address.
        The frames' ``address`` field keeps the original `addr`."""
        look = addr - 1 if is_return_address and addr > 0 else addr
        frames = self.symbolize(look)
        return [Frame(addr, f.function, f.file, f.line, f.column, f.inlined) for f in frames]

    def _symbolize(self, addr: int) -> list[Frame]:
        chain: list[_Scope] = []
        if self._dwarf is not None:
            unit = self._unit_for(addr)
            if unit is not None:
                self._load_unit(unit)
                i = bisect.bisect_right(unit.scopes_lo, addr) - 1
                for j in range(i, max(-1, i - 16), -1):
                    lo, hi, sc = unit.scopes[j]
                    if lo <= addr < hi:
                        chain.append(sc)
                        break
                while chain:
                    nxt = next((c for c in chain[-1].children if c.contains(addr)), None)
                    if nxt is None:
                        break
                    chain.append(nxt)
            row = self._line_for(addr)
        else:
            row = None
        sym = self.symbol_at(addr)
        if not chain:
            name = sym[0].name if sym else None
            file, line, col = row if row else (None, 0, 0)
            return [Frame(addr, name, file, line, col, False)]
        frames: list[Frame] = []
        file, line, col = row if row else (None, 0, 0)
        for depth in range(len(chain) - 1, -1, -1):
            sc = chain[depth]
            name = sc.name
            if depth == 0 and not name and sym:
                name = sym[0].name
            frames.append(Frame(addr, name, file, line, col, depth > 0))
            file, line, col = sc.call_file, sc.call_line, sc.call_column
        return frames

    def function_ranges(self) -> Iterable[tuple[int, int, str]]:
        """(low, high, name) of every function symbol with a size."""
        for s in self._funcs:
            if s.size:
                yield s.address, s.address + s.size, s.name


def _join_path(comp_dir: str | None, directory: str | None, name: str) -> str:
    if posixpath.isabs(name):
        return name
    if directory:
        name = posixpath.join(directory, name)
        if posixpath.isabs(name):
            return name
    if comp_dir:
        name = posixpath.join(comp_dir, name)
        if posixpath.isabs(name):
            return name
    # A relative path: the kernel is built with -ffile-prefix-map=ROOT/= and
    # -fdebug-compilation-dir=. (kernel/Makefile), so "." is the repository root
    # and paths come out as "kernel/lib/panic.c" whatever the checkout path.
    # llvm-symbolizer prints "././kernel/lib/panic.c"; normalise it.
    return posixpath.normpath(name)


REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def source_path(file: str | None, root: str | os.PathLike | None = None,
                elf: str | os.PathLike | None = None) -> Path | None:
    """Resolve a DWARF file name to a file on disk.

    Absolute names are returned as they are. Relative names (builds with a file
    prefix map: relative to the repository root) are looked up under ``root``,
    then ``$AXIOM_SRCROOT``, then the parents of ``elf`` (a kernel in
    ``build/<arch>-<profile>/`` of a checkout), then the repository this package
    lives in. None if the file is nowhere (or ``file`` is None)."""
    if not file:
        return None
    p = Path(file)
    if p.is_absolute():
        return p
    roots: list[Path] = []
    if root is not None:
        roots.append(Path(root))
    if os.environ.get("AXIOM_SRCROOT"):
        roots.append(Path(os.environ["AXIOM_SRCROOT"]))
    if elf is not None:
        roots += list(Path(elf).resolve().parents)
    roots.append(REPO_ROOT)
    for r in roots:
        q = r / p
        if q.is_file():
            return q
    return None

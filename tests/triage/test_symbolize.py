"""The pyelftools symbolizer against llvm-symbolizer (the oracle) on real compiled code."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from axiomdbg.core.errors import AxiomError
from axiomdbg.core.symbolize import Symbolizer, SymbolizeError, elf_arch, elf_build_id

from .helpers import ARCHES, call_sites, disassemble, func_symbols, llvm_symbolize, normalize_oracle

ALL = [(a, v) for a in ARCHES for v in (4, 5)]


def ours(sym: Symbolizer, addr: int) -> list[tuple]:
    return [(f.function, f.file, f.line) for f in sym.symbolize(addr)]


@pytest.mark.parametrize("arch,version", ALL, ids=[f"{a}-dwarf{v}" for a, v in ALL])
def test_every_instruction_matches_llvm_symbolizer(fixture_elfs, arch, version):
    elf = fixture_elfs[(arch, version)]
    sym = Symbolizer(elf)
    funcs = func_symbols(elf)
    # instructions of functions (alignment padding between functions is tested below)
    addrs = sorted({i.address for i in disassemble(elf) if any(lo <= i.address < hi for lo, hi, _ in funcs)})
    assert len(addrs) > 50
    expected = normalize_oracle(elf, addrs, llvm_symbolize(elf, addrs))
    mismatches = [(hex(a), e, ours(sym, a)) for a, e in zip(addrs, expected) if e != ours(sym, a)]
    assert not mismatches, mismatches[:5]


@pytest.mark.parametrize("arch", ARCHES)
def test_every_byte_of_text_matches_llvm_symbolizer_modulo_padding(fixture_elfs, arch):
    """Also mid-instruction addresses (return address - 1). In alignment padding between functions
    llvm-symbolizer 14 may take the file name from the STT_FILE symbol preceding the nearest label
    (e.g. 'prog.c', line 0) where the line table has no row: there we only require no function."""
    elf = fixture_elfs[(arch, 5)]
    sym = Symbolizer(elf)
    lo, hi = sym.address_of("__text_start"), sym.address_of("__text_end")
    addrs = list(range(lo, hi))
    funcs = func_symbols(elf)
    for a, e in zip(addrs, normalize_oracle(elf, addrs, llvm_symbolize(elf, addrs))):
        if any(lo <= a < hi for lo, hi, _ in funcs):
            assert ours(sym, a) == e, hex(a)
        else:
            got = ours(sym, a)
            assert got[0][0] is None and (got == e or e[0][2] == 0), hex(a)


@pytest.mark.parametrize("arch", ARCHES)
def test_inlined_chains_are_found(elf5, arch):
    """walk() inlines twice() which inlines mix(): a chain of three frames, innermost first,
    outer frames located at the call sites; pmm_free() inlines clamp_add() from helpers.h."""
    sym = Symbolizer(elf5[arch])
    chains = {}
    for i in disassemble(elf5[arch]):
        frames = sym.symbolize(i.address)
        chains.setdefault(tuple(f.function for f in frames), frames)
    assert ("mix", "twice", "walk") in chains
    mix, twice, walk = chains[("mix", "twice", "walk")]
    assert mix.inlined and twice.inlined and not walk.inlined
    assert twice.file.endswith("prog.c") and twice.line in (21, 23)   # call sites of mix() in twice()
    assert walk.line == 37                                           # call site of twice() in walk()
    assert ("clamp_add", "pmm_free") in chains
    assert chains[("clamp_add", "pmm_free")][0].file.endswith("helpers.h")


@pytest.mark.parametrize("arch", ARCHES)
def test_return_addresses_need_pc_minus_1(elf5, arch):
    """For every call site, ret-1 symbolizes to the caller (the last frame is the function that
    contains the call), and symbolize_frame() does the -1 itself."""
    elf = elf5[arch]
    sym = Symbolizer(elf)
    sites = call_sites(elf, arch)
    assert len(sites) >= 5
    differs = 0
    for s in sites:
        caller = sym.symbolize(s.call)[-1].function
        assert sym.symbolize(s.ret - 1)[-1].function == caller
        framed = sym.symbolize_frame(s.ret, is_return_address=True)
        assert framed[-1].function == caller and framed[0].address == s.ret
        expected = normalize_oracle(elf, [s.ret - 1], llvm_symbolize(elf, [s.ret - 1]))[0]
        assert [(f.function, f.file, f.line) for f in framed] == expected
        if sym.symbolize(s.ret)[-1].function != caller or sym.symbolize(s.ret)[0].line != framed[0].line:
            differs += 1
    assert differs >= 1  # at least one call site where looking up ret itself would be wrong


@pytest.mark.parametrize("arch", ARCHES)
def test_build_id_and_arch(elf5, arch):
    elf = elf5[arch]
    out = subprocess.run(["llvm-readelf", "-n", str(elf)], capture_output=True, text=True).stdout
    bid = elf_build_id(elf)
    assert bid and len(bid) == 40 and bid in out
    assert Symbolizer.open(elf).build_id == bid
    assert elf_arch(elf) == arch
    import lief
    b = lief.parse(str(elf))
    notes = [bytes(n.description).hex() for n in b.notes if n.type == lief.ELF.Note.TYPE.GNU_BUILD_ID]
    assert notes == [bid]


def test_symbols_and_symbol_at(elf5):
    sym = Symbolizer(elf5["riscv64"])
    start = sym.address_of("vfs_lookup")
    s, off = sym.symbol_at(start + 4)
    assert s.name == "vfs_lookup" and off == 4
    assert sym.address_of("__text_start") <= start < sym.address_of("__text_end")
    assert sym.symbol_at(0x10) is None


def test_open_is_cached(elf5):
    assert Symbolizer.open(elf5["x86_64"]) is Symbolizer.open(elf5["x86_64"])


def test_errors_are_one_line_axiom_errors(tmp_path, elf5):
    with pytest.raises(SymbolizeError, match="does not exist"):
        Symbolizer.open(tmp_path / "nope.elf")
    junk = tmp_path / "junk.elf"
    junk.write_bytes(b"\x7fELF" + b"\xff" * 60)
    with pytest.raises(AxiomError, match="not a valid ELF|malformed"):
        Symbolizer(junk)
    text = tmp_path / "text.elf"
    text.write_text("hello")
    with pytest.raises(SymbolizeError):
        Symbolizer(text)
    if shutil.which("llvm-objcopy"):
        stripped = tmp_path / "stripped.elf"
        subprocess.run(["llvm-objcopy", "--strip-debug", str(elf5["aarch64"]), str(stripped)], check=True)
        with pytest.raises(SymbolizeError, match="no DWARF"):
            Symbolizer(stripped)
        # without DWARF, symbols still name functions when allowed
        s = Symbolizer(stripped, require_dwarf=False)
        addr = s.address_of("fib")
        assert s.symbolize(addr + 4)[0].function == "fib"
    for e in (SymbolizeError("a\nb"),):
        assert "\n" not in str(e)


def test_truncated_dwarf_gives_axiom_error(tmp_path, elf5):
    data = bytearray(elf5["x86_64"].read_bytes())
    from elftools.elf.elffile import ELFFile
    with open(elf5["x86_64"], "rb") as f:
        sec = ELFFile(f).get_section_by_name(".debug_info")
        off, size = sec["sh_offset"], sec["sh_size"]
    data[off + 12: off + size] = b"\xff" * (size - 12)
    bad = tmp_path / "bad.elf"
    bad.write_bytes(bytes(data))
    try:
        sym = Symbolizer(bad)
        sym.symbolize(sym.address_of("fib") + 2)
    except AxiomError as e:
        assert "\n" not in str(e)

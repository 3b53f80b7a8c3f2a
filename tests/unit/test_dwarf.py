"""DWARF type index and Object views, checked against the compiler itself.

The fixture stores offsetof()/sizeof() values computed by clang as data; the
DWARF-derived layout must agree on every architecture. Objects are read from
the ELF's own initialised data through a read_virt built from its sections."""
import shutil
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from axiomdbg.core.dwarf import DwarfError, Object, TypeIndex, walk_list

from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "dwarf" / "types.c"
TARGETS = {
    "x86_64": ["--target=x86_64-unknown-elf"],
    "aarch64": ["--target=aarch64-none-elf", "-mgeneral-regs-only"],
    "riscv64": ["--target=riscv64-unknown-elf", "-march=rv64imac", "-mabi=lp64", "-mcmodel=medany"],
}

pytestmark = pytest.mark.skipif(shutil.which("clang") is None, reason="clang missing")


@pytest.fixture(scope="module", params=sorted(TARGETS))
def elf(request, tmp_path_factory):
    d = tmp_path_factory.mktemp(request.param)
    obj, out = d / "types.o", d / "types.elf"
    subprocess.run(["clang", *TARGETS[request.param], "-g", "-O1", "-ffreestanding", "-nostdlib",
                    "-fno-pic", "-c", str(FIXTURE), "-o", str(obj)], check=True)
    subprocess.run(["ld.lld", "-e", "_start", "-o", str(out), str(obj)], check=True)
    return out


def section_reader(path):
    """read_virt over the ELF's allocated sections (what the loader would place in memory)."""
    with open(path, "rb") as f:
        e = ELFFile(f)
        secs = [(s["sh_addr"], s.data()) for s in e.iter_sections()
                if s["sh_flags"] & 2 and s["sh_type"] != "SHT_NOBITS"]

    def read(addr, size):
        for base, data in secs:
            if base <= addr and addr + size <= base + len(data):
                return data[addr - base:addr - base + size]
        raise DwarfError(f"unmapped {addr:#x}")
    return read


def oracle(types, read, name):
    v = types.variable(name)
    n = v.type.sizeof // 8
    return [int.from_bytes(read(v.address + 8 * i, 8), "little") for i in range(n)]


def test_layout_matches_compiler(elf):
    t = TypeIndex(elf)
    read = section_reader(elf)
    offs = oracle(t, read, "oracle_offsets")
    proc, thr, ctx = t.struct("process"), t.struct("thread"), t.struct("context")
    ours = [proc.offsetof(m) for m in ("pid", "small", "exit_status", "parent", "next", "threads", "u",
                                        "anon_a", "anon_b", "name", "matrix")]
    ours += [thr.offsetof(m) for m in ("tid", "state", "ctx", "next", "name")]
    ours += [ctx.offsetof("sp"), ctx.offsetof("s")]
    assert ours == offs
    sizes = oracle(t, read, "oracle_sizes")
    assert [proc.sizeof, thr.sizeof, ctx.sizeof, t.struct("list_node").sizeof,
            t.enum("thread_state").sizeof] == sizes
    assert t.typedef("process_t").strip() is proc
    assert t.enum("thread_state").strip().enumerators == {"T_RUNNABLE": 1, "T_SLEEPING": 2, "T_ZOMBIE": 7}


def test_objects_read_values(elf):
    t = TypeIndex(elf)
    read = section_reader(elf)
    head = Object.variable(t, read, "process_list")
    procs = list(walk_list(head, "next"))
    assert [p.pid.value_() for p in procs] == [1, 2]
    assert [p.name.string_() for p in procs] == ["init", "child"]
    assert procs[0].exit_status.value_() == -1 and procs[1].small.value_() == 200
    assert procs[1].u.half.lo.value_() == 0x55667788 and procs[1].u.half.hi.value_() == 0x11223344
    assert procs[0].anon_a.value_() == 7 and procs[0].anon_b.value_() == -8
    assert procs[0].matrix[2][3].value_() == 0xBEEF
    threads = list(walk_list(procs[0].threads, "next"))
    assert [th.tid.value_() for th in threads] == [10, 11]
    w = threads[1]
    assert w.state.value_() == 2 and w.ctx.sp.value_() == 0x8000 and w.name.string_() == "worker"
    assert w.flag_a.value_() == 5 and w.flag_b.value_() == 17
    # container_of: from &t1.ctx back to t1
    assert w.ctx.container_of("struct thread", "ctx").tid.value_() == 11
    assert procs[0].parent.value_() == 0
    with pytest.raises(DwarfError):
        procs[0].parent.deref()


def test_errors_are_clear(elf, tmp_path):
    t = TypeIndex(elf)
    with pytest.raises(DwarfError, match="no struct named 'nosuch'"):
        t.struct("nosuch")
    with pytest.raises(DwarfError, match="has no member 'bogus'"):
        t.struct("process").offsetof("bogus")
    with pytest.raises(DwarfError, match="does not exist"):
        TypeIndex(tmp_path / "missing.elf")
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"\x7fELF" + b"\x00" * 10)
    with pytest.raises(DwarfError):
        TypeIndex(bad)


def test_cycle_detected(elf):
    t = TypeIndex(elf)
    read = section_reader(elf)
    p0 = Object.variable(t, read, "p0")
    addr = p0.address_
    next_off = t.struct("process").offsetof("next")

    def cyclic(a, n):   # p0.next points back at p0
        if a == addr + next_off and n == 8:
            return addr.to_bytes(8, "little")
        return read(a, n)
    head = Object.variable(t, cyclic, "process_list")
    with pytest.raises(DwarfError, match="cycle"):
        list(walk_list(head, "next"))

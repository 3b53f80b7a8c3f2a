"""`ax bpf` / `axiomdbg bpf` against the kernel's own view of its eBPF objects, on all three arches.

The kernel boots with `bpfdemo` on its command line: init runs /bin/bpfdemo, which loads and
attaches /lib/bpf/syscount.o and /lib/bpf/events.o, prints `bpfdemo: ready progs=N maps=M` and
exits, leaving real programs and maps loaded. The test reads the kernel's view through the
syscalls (`bpftool prog list`, `bpftool map list`, `bpftool map dump ID` on the serial shell),
stops the CPUs and compares with what the debugger reads from kernel memory (DWARF-typed):
ids, types, names, sizes, attachment, run counts, map contents.
"""
from __future__ import annotations

import json
import re

import pytest

from axiomdbg.oneshot import run_command
from axiomdbg.pytest_plugin import axiom_session, selected_arches

pytestmark = pytest.mark.qemu

PROG = re.compile(r"^(\d+): (\S+) name (\S+) insns (\d+) verified_insns (\d+) attached (\S+) run_cnt (\d+) "
                  r"run_ns (\d+) maps (\S+)$")
MAP = re.compile(r"^(\d+): (\S+) name (\S+) key (\d+) value (\d+) max_entries (\d+) flags (0x[0-9a-f]+) mem (\d+)$")
ENTRY = re.compile(r"^key=(\S+) value=(\S+)$")


def _num(text: str) -> int:
    """bpftool prints 1/2/4/8-byte blobs as a little-endian number, others as hex:BYTES."""
    if text.startswith("hex:"):
        return int.from_bytes(bytes.fromhex(text[4:]), "little")
    return int(text)


def _le(hexstr: str) -> int:
    return int.from_bytes(bytes.fromhex(hexstr), "little")


@pytest.fixture(scope="module", params=["x86_64", "aarch64", "riscv64"])
def bpf(request):
    arch = request.param
    if arch not in selected_arches(request.config):
        pytest.skip(f"{arch} not selected")
    with axiom_session(arch, cmdline="selftest=0 bpfdemo") as t:
        console = bytes(t.machine.log).decode("utf-8", "replace").replace("\r", "")
        ready = re.search(r"bpfdemo: ready progs=(\d+) maps=(\d+)", console)
        assert ready, console[-3000:]
        progs = [PROG.match(ln.strip()) for ln in t.shell("bpftool prog list").splitlines() if ln.strip()]
        maps = [MAP.match(ln.strip()) for ln in t.shell("bpftool map list").splitlines() if ln.strip()]
        assert all(progs) and all(maps)
        procs = t.shell("cat /proc/processes")
        dumps = {}
        for m in maps:
            if m.group(2) != "ringbuf":             # a ring buffer dump pops (consumes) its records
                dumps[int(m.group(1))] = t.shell(f"bpftool map dump {m.group(1)}")
        alive = {int(ln.split()[0]) for ln in procs.splitlines()[1:] if ln.strip()}
        s = t.session                                # stops the CPUs, attaches GDB
        ours = json.loads(run_command(s, "bpf", ["--json"]))
        text = run_command(s, "bpf", ["--values"])
        yield {"arch": arch, "console": console, "n_progs": int(ready.group(1)), "n_maps": int(ready.group(2)),
               "progs": [p.groups() for p in progs], "maps": [m.groups() for m in maps], "dumps": dumps,
               "alive": alive, "ours": ours, "text": text}


def test_demo_objects_are_all_there(bpf):
    ours = bpf["ours"]
    assert len(bpf["progs"]) == bpf["n_progs"] >= 2 and len(bpf["maps"]) == bpf["n_maps"] >= 3
    assert sorted(int(p[0]) for p in bpf["progs"]) == sorted(p["id"] for p in ours["progs"])
    assert sorted(int(m[0]) for m in bpf["maps"]) == sorted(m["id"] for m in ours["maps"])
    # the ids bpfdemo announced are the ones loaded
    announced = {int(i): n for i, n in re.findall(r"bpfdemo: map (\d+) (\S+)", bpf["console"])}
    assert announced == {m["id"]: m["name"] for m in ours["maps"]}
    announced = {int(i): (n, ty) for i, n, ty in re.findall(r"bpfdemo: prog (\d+) (\S+) (\S+)", bpf["console"])}
    assert announced == {p["id"]: (p["name"], p["type_name"]) for p in ours["progs"]}


def test_progs_agree_with_bpftool(bpf):
    by_id = {p["id"]: p for p in bpf["ours"]["progs"]}
    for pid, ty, name, insns, _verified, attached, run_cnt, _ns, maps in bpf["progs"]:
        o = by_id[int(pid)]
        assert (o["type_name"], o["name"], o["insns"]) == (ty, name, int(insns))
        assert o["verified"] and not o["closed"]
        assert bool(o["attached"]) == (attached != "-")
        assert o["run_cnt"] >= int(run_cnt)               # the kernel kept running in between
        assert o["maps"] == ([] if maps == "-" else [int(x) for x in maps.split(",")])
        assert len(o["disassembly"]) >= int(insns) - sum(1 for ln in o["disassembly"] if "lddw" in ln)
        assert name in bpf["text"]


def test_maps_agree_with_bpftool(bpf):
    by_id = {m["id"]: m for m in bpf["ours"]["maps"]}
    for mid, ty, name, key, value, max_entries, _flags, mem in bpf["maps"]:
        o = by_id[int(mid)]
        assert (o["type_name"], o["name"], o["key_size"], o["value_size"], o["max_entries"], o["mem_bytes"]) == \
            (ty, name, int(key), int(value), int(max_entries), int(mem))


def test_map_contents_agree_with_bpftool(bpf):
    by_id = {m["id"]: m for m in bpf["ours"]["maps"]}
    checked_exact = 0
    for mid, dump in bpf["dumps"].items():
        o = by_id[mid]
        lines = [ln.strip() for ln in dump.splitlines() if ln.strip()]
        assert lines[-1] == f"{len(lines) - 1} entries"
        theirs = {}
        for ln in lines[:-1]:
            m = ENTRY.match(ln)
            assert m, ln
            theirs[_num(m.group(1))] = _num(m.group(2))
        if o["type_name"] == "hash":
            ours = {_le(e["key"]): _le(e["value"]) for e in o["entries"]}
            assert theirs and set(theirs) <= set(ours)
            for k, v in theirs.items():
                # syscall counters only grow; a process that had exited before the dump
                # command ran makes no more syscalls: its count must be exact
                assert ours[k] >= v, (k, ours[k], v)
                if k not in bpf["alive"] and k < max(theirs):
                    assert ours[k] == v, (k, ours[k], v)
                    checked_exact += 1
        else:
            ours = {e["key"]: _le(e["value"] if isinstance(e["value"], str) else e["value"][0])
                    for e in o["entries"]}
            assert set(ours) == set(theirs)
            assert all(ours[k] >= v for k, v in theirs.items())
            assert any(v for v in ours.values())
    assert checked_exact >= 1          # bpfdemo and the earlier bpftool runs have exited
    rb = [m for m in bpf["ours"]["maps"] if m["type_name"] == "ringbuf"]
    assert rb and all(m["entries"] and "head" in m["entries"][0] for m in rb)

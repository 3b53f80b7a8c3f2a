"""axiomdbg against a live axiom kernel, on all three arches and every paging mode.

One boot per (arch, mode): the kernel runs to `init: ready` with `selftest=0`;
for the default mode of each arch the test first reads the kernel's own /proc
views over the serial shell, then starts `cat /dev/zero > /dev/null` so a user
process is current, and stops the CPUs. Then:

* vtop/pt agree with QEMU's own MMU (`monitor gva2gpa`) for >= 1000 kernel and
  user addresses: range starts/ends/interiors from the walk, the gaps between
  ranges, random canonical and non-canonical addresses;
* ps, mounts, pmm, dmesg, per-process maps and CPUs agree with /proc.

Each boot is the plugin's `axiom_session` (what the `axiom_target` fixture uses, here
module-scoped per configuration): it owns QEMU and kills it at teardown.
"""
from __future__ import annotations

import random
import re
import time

import pytest

from axiomdbg import oneshot
from axiomdbg.pytest_plugin import axiom_session, selected_arches

pytestmark = pytest.mark.qemu

CONFIGS = [
    ("riscv64", "", None), ("riscv64", "sv48", None), ("riscv64", "sv57", None),
    ("x86_64", "", None), ("x86_64", "", "qemu64,+la57"),
    ("aarch64", "", None), ("aarch64", "16k", None), ("aarch64", "64k", None),
]
EXPECTED_MODE = {("riscv64", "", None): "sv39", ("riscv64", "sv48", None): "sv48",
                 ("riscv64", "sv57", None): "sv57", ("x86_64", "", None): "4-level",
                 ("x86_64", "", "qemu64,+la57"): "5-level", ("aarch64", "", None): "4k-48bit",
                 ("aarch64", "16k", None): "16k-48bit", ("aarch64", "64k", None): "64k-48bit"}
VIEWS = ["/proc/processes", "/proc/mounts", "/proc/meminfo", "/proc/cpus", "/proc/1/maps", "/proc/2/maps"]


def _id(c):
    return f"{c[0]}-{c[1] or (c[2] and 'la57') or 'default'}"


def in_user_mode(s) -> bool:
    if s.arch.name == "aarch64":
        return s.regs.read_reg("cpsr") & 0xC == 0          # EL0
    if s.arch.name == "riscv64":
        return s.regs.read_reg("priv") == 0                # U
    return False


def stop_in_kernel_mode(s, m, tries: int = 50) -> None:
    """QEMU's gva2gpa walks in the CPU's current regime: from EL0/U-mode it refuses
    kernel pages. Stop the CPU in the kernel while the busy `cat` is current, so
    the oracle sees both halves of cat's address space: run to a hardware
    breakpoint on the syscall entry (random re-stops alias with the guest's
    rhythm and can land in user mode every time)."""
    gdb = s.regs.inner                    # the GdbMi behind the session's registers
    for _ in range(tries):
        gdb.continue_to("syscall_handler", hardware=False)   # kernel VA: same in every space
        s.invalidate()
        try:
            busy = s.kernel.current_thread().name.string_() == "cat"
        except Exception:
            busy = False
        if busy and not in_user_mode(s):
            return
    pytest.fail("the CPU never stopped in kernel mode while running the busy `cat`")


@pytest.fixture(scope="module", params=CONFIGS, ids=_id)
def target(request):
    arch, variant, cpu = request.param
    if arch not in selected_arches(request.config):
        pytest.skip(f"{arch} not selected")
    default = not variant and not cpu
    views: dict[str, str] = {}
    with axiom_session(arch, variant=variant, cpu=cpu, cmdline="selftest=0") as t:
        if default:
            for v in VIEWS:
                views[v] = t.shell(f"cat {v}")
        t.serial.send(b"cat /dev/zero > /dev/null\n")
        time.sleep(1.0)
        s, m = t.session, t.machine          # stops the CPUs, attaches GDB
        stop_in_kernel_mode(s, m)
        yield {"arch": arch, "variant": variant, "cpu": cpu, "default": default, "s": s, "m": m,
               "views": views}


def test_paging_mode(target):
    lay = target["s"].kernel.layout_dict()
    cfg = (target["arch"], target["variant"], target["cpu"])
    assert lay["paging_mode"] == EXPECTED_MODE[cfg]
    assert lay["build_id"]


def _sample(s, rng: random.Random) -> tuple[list[int], int, int]:
    arch, cfg = s.arch, s.paging
    rs = arch.ranges(s.mem, cfg)
    assert rs, "empty address space"
    user = [r for r in rs if r.flags.user]
    kern = [r for r in rs if not r.flags.user]
    assert user, "no user mappings in the current address space (is a user process current?)"
    vas: set[int] = set()
    page = 4096

    def add(va):
        vas.add(va & ((1 << 64) - 1))

    for r in rs:
        add(r.va)
        add(r.va_end - 1)
        add(r.va - 1)                      # gap before
        add(r.va_end)                      # gap after
        for _ in range(3 if r in user else 2):
            add(r.va + rng.randrange(0, r.size // page) * page + rng.randrange(0, page))
    # more inside the biggest kernel ranges (direct map, image) and the user ones
    for r in sorted(kern, key=lambda r: -r.size)[:4] + user:
        for _ in range(80):
            add(r.va + rng.randrange(r.size))
    # gaps between ranges
    for a, b in zip(rs, rs[1:]):
        if b.va > a.va_end:
            for _ in range(4):
                add(rng.randrange(a.va_end, b.va))
    # random addresses in the lower and upper halves, and non-canonical ones
    bits = max(reg.va_bits for reg in cfg.regions)
    for _ in range(200):
        add(rng.randrange(0, 1 << (bits - 1)))
        add(((1 << 64) - (1 << (bits - 1))) + rng.randrange(0, 1 << (bits - 1)))
    for _ in range(40):
        add(rng.randrange(1 << bits, 1 << 63))
    n_user = sum(1 for va in vas if any(r.va <= va < r.va_end for r in user))
    n_kernel = sum(1 for va in vas if any(r.va <= va < r.va_end for r in kern))
    return sorted(vas), n_user, n_kernel


def test_vtop_and_pt_agree_with_qemu(target):
    s, m = target["s"], target["m"]
    rng = random.Random(f"{target['arch']}{target['variant']}{target['cpu']}")
    vas, n_user, n_kernel = _sample(s, rng)
    assert len(vas) >= 1000
    assert n_user >= 50 and n_kernel >= 300, (n_user, n_kernel)
    rs = s.arch.ranges(s.mem, s.paging)
    starts = [r.va for r in rs]
    import bisect
    bad = []
    mapped = 0
    for va in vas:
        t = s.arch.translate(s.mem, s.paging, va)
        ours = t.pa if t.mapped else None
        want = m.gva2gpa(va)
        if want != ours:
            want = m.gva2gpa(va)          # QEMU's debug walk: ask once more
        if want != ours:
            bad.append((hex(va), ours and hex(ours), want and hex(want)))
            continue
        mapped += ours is not None
        # pt: the merged range containing va gives the same PA
        i = bisect.bisect_right(starts, va) - 1
        in_range = i >= 0 and rs[i].va <= va < rs[i].va_end
        pt_pa = rs[i].pa + (va - rs[i].va) if in_range else None
        if pt_pa != ours:
            bad.append(("pt", hex(va), pt_pa and hex(pt_pa), ours and hex(ours)))
    assert not bad, f"{len(bad)} of {len(vas)} disagree, first: {bad[:8]}"
    assert mapped >= 500


def test_vtop_command_json(target):
    s = target["s"]
    import json
    lay = s.kernel.layout_dict()
    out = json.loads(oneshot.run_command(s, "vtop", [hex(lay["kernel_virt_base"]), "--json"]))
    assert out["mapped"] and out["pa"] == lay["kernel_phys_base"]
    assert out["chain"] and out["chain"][0]["table"] is not None
    bad = json.loads(oneshot.run_command(s, "vtop", ["0x1", "--json"]))
    assert not bad["mapped"]


def _proc_table(text: str) -> list[dict]:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    head = lines[0].split()
    assert head[0] == "pid", text
    return [dict(zip(head, ln.split(None, len(head) - 1))) for ln in lines[1:]]


def test_ps_agrees_with_proc(target):
    if not target["default"]:
        pytest.skip("views are compared in the default mode")
    s = target["s"]
    import json
    ours = json.loads(oneshot.run_command(s, "ps", ["--json"]))
    theirs = [p for p in _proc_table(target["views"]["/proc/processes"]) if p["name"] != "cat"]
    by_pid = {p["pid"]: p for p in ours}
    assert theirs
    for p in theirs:
        o = by_pid[int(p["pid"])]
        assert (o["ppid"], o["state"], o["threads"], o["pages"], o["name"]) == \
            (int(p["ppid"]), p["state"], int(p["threads"]), int(p["pages"]), p["name"])
    extra = {p["name"] for p in ours if str(p["pid"]) not in {q["pid"] for q in theirs}}
    assert extra == {"cat"}, extra           # only the `cat /dev/zero` we started
    for p in ours:
        assert {"pid", "ppid", "name", "state", "threads"} <= p.keys()


def test_mounts_agree_with_proc(target):
    if not target["default"]:
        pytest.skip("views are compared in the default mode")
    ours = oneshot.run_command(target["s"], "mounts", []).strip().splitlines()
    theirs = target["views"]["/proc/mounts"].strip().splitlines()
    assert ours == theirs


def test_pmm_agrees_with_proc(target):
    if not target["default"]:
        pytest.skip("views are compared in the default mode")
    import json
    ours = json.loads(oneshot.run_command(target["s"], "pmm", ["--json"]))
    theirs = dict(ln.split(None, 1) for ln in target["views"]["/proc/meminfo"].strip().splitlines()
                  if not ln.endswith("kB"))
    for key in ("page_size", "total_frames", "reserved_frames", "span_frames"):
        assert ours[key] == int(theirs[key], 0), key
    assert ours["base_pa"] == int(theirs["base_pa"], 16)
    # the guest ran `cat` processes in between: free frames move by a few pages only
    assert abs(ours["free_frames"] - int(theirs["free_frames"])) < 256


def test_maps_agree_with_proc(target):
    if not target["default"]:
        pytest.skip("views are compared in the default mode")
    for pid in (1, 2):
        ours = oneshot.run_command(target["s"], "maps", ["--pid", str(pid)]).strip().splitlines()
        theirs = target["views"][f"/proc/{pid}/maps"].strip().splitlines()
        norm = [re.sub(r"\s+", " ", ln.strip()) for ln in theirs]
        assert [re.sub(r"\s+", " ", ln) for ln in ours] == norm, pid


def test_cpus_and_current(target):
    s = target["s"]
    import json
    cpus = json.loads(oneshot.run_command(s, "cpus", ["--json"]))
    assert cpus and cpus[0]["online"]
    cur = s.kernel.current_thread()
    assert cur.name.string_() == "cat"     # the busy `cat` is what CPU 0 runs
    assert cpus[0]["current_name"] == "cat"
    if target["default"]:
        rows = _proc_table(target["views"]["/proc/cpus"].replace("cpu hwid", "pid hwid"))
        assert int(rows[0]["pid"]) == cpus[0]["cpu"] and int(rows[0]["hwid"]) == cpus[0]["hwid"]


def test_dmesg_has_boot_records(target):
    s, m = target["s"], target["m"]
    recs = s.kernel.dmesg()
    texts = [r["text"] for r in recs]
    assert any(t.startswith("axiom: started /bin/init") for t in texts)
    console = bytes(m.log).decode("utf-8", "replace")
    # every record the kernel echoed to the console is in the ring, in order
    echoed = re.findall(r"\[\s*\d+\.\d+\] (.*?)\n", console.replace("\r", ""))
    assert echoed and texts[:len(echoed)] == echoed[:len(texts)]
    assert [r["seq"] for r in recs] == list(range(recs[0]["seq"], recs[0]["seq"] + len(recs)))


def test_threads_backtrace_and_files(target):
    s = target["s"]
    k = s.kernel
    sh = k.find_process(2)
    t = k.load(sh.threads.value_(), "struct thread")
    assert k.thread_state(t) == "sleeping"
    frames = k.thread_backtrace(t)
    names = [f.function for f in frames]
    assert "sched_switch" in names and any(n and "wait" in n for n in names), names
    files = k.files(1)
    assert [f["path"] for f in files[:3]] == ["/dev/console"] * 3
    ls = {e["name"]: e for e in k.ls("/bin")}
    assert {"init", "sh", "cat"} <= ls.keys() and ls["sh"]["size"] > 0
    assert {e["name"] for e in k.ls("/dev")} >= {"null", "zero", "console", "kmsg"}


def test_bad_input_is_one_line(target):
    s = target["s"]
    from axiomdbg.errors import AxiomError
    for name, argv in (("ps", ["--pid"]), ("maps", ["--pid", "4242"]), ("bt", ["--tid", "999999"]),
                       ("ls", ["/no/such/dir"])):
        with pytest.raises(AxiomError) as e:
            oneshot.run_command(s, name, argv)
        assert "\n" not in str(e.value)

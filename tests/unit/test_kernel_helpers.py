"""Kernel helpers on synthetic memory: register synthesis for dumps, frame-pointer unwinding."""
import types as _t

import pytest

from axiomdbg.core.arch import get_arch
from axiomdbg.core.kernel import Kernel, prot_str


def test_prot_str():
    assert prot_str(0x1 | 0x4) == "r-x"
    assert prot_str(0x3, user=True) == "rw-u"


def _fake_kernel(arch, words):
    k = Kernel.__new__(Kernel)
    k.s = _t.SimpleNamespace(arch=get_arch(arch), read_virt=lambda va, n: words[va].to_bytes(8, "little"))
    return k


@pytest.mark.parametrize("arch", ["x86_64", "aarch64", "riscv64"])
def test_unwind_follows_frame_records_and_stops(arch):
    base = 0x10000
    # three frames; frame records at fp (x86/arm: [fp]=next fp, [fp+8]=ret; riscv: [fp-16]=next, [fp-8]=ret)
    fps = [base + 0x100, base + 0x200, base + 0x300]
    rets = [0x1111, 0x2222, 0]
    words = {}
    for i, fp in enumerate(fps):
        nxt = fps[i + 1] if i + 1 < len(fps) else 0
        if arch == "riscv64":
            words[fp - 16], words[fp - 8] = nxt, rets[i]
        else:
            words[fp], words[fp + 8] = nxt, rets[i]
    k = _fake_kernel(arch, words)
    frames = k.unwind(0xAAAA, fps[0], (base, base + 0x1000))
    assert frames == [(0xAAAA, fps[0]), (0x1111, fps[1]), (0x2222, fps[2])]


def test_unwind_stops_on_cycles_and_out_of_stack():
    words = {0x1100: 0x1100, 0x1108: 0x5555}          # frame pointing to itself
    k = _fake_kernel("x86_64", words)
    assert len(k.unwind(1, 0x1100, (0x1000, 0x2000))) == 2
    assert k.unwind(1, 0x9000, (0x1000, 0x2000)) == [(1, 0x9000)]


@pytest.mark.parametrize("arch,levels,page,expect", [
    ("riscv64", 3, 4096, {"satp": (8 << 60) | 0x80123}),
    ("riscv64", 5, 4096, {"satp": (10 << 60) | 0x80123}),
    ("x86_64", 5, 4096, {"cr3": 0x80123000}),
])
def test_registers_from_layout_values(arch, levels, page, expect, monkeypatch):
    from axiomdbg.core import kernel as kmod

    class FakeLayout:
        def __init__(self):
            self.vals = {"magic": kmod.LAYOUT_MAGIC, "kernel_pt_root": 0x80123000, "paging_levels": levels,
                         "va_bits": {3: 39, 4: 48, 5: 57}[levels], "page_size": page, "build_id_len": 0}

    fl = FakeLayout()

    class Obj:
        def __init__(self, *a, **kw):
            pass

        def __getattr__(self, name):
            v = fl.vals.get(name, 0)
            return _t.SimpleNamespace(value_=lambda: v, bytes_=lambda: b"")

    monkeypatch.setattr(kmod, "Object", Obj)
    monkeypatch.setattr(kmod, "_elf_virt_to_phys", lambda path, va: 0x1000)
    import axiomdbg.core.symbolize as sym
    monkeypatch.setattr(sym, "elf_build_id", lambda p: None)
    types = _t.SimpleNamespace(variable=lambda n: _t.SimpleNamespace(address=0xffff0000, type=_t.SimpleNamespace(sizeof=8)),
                               path="x")
    session = _t.SimpleNamespace(types=types, arch=get_arch(arch),
                                 raw_mem=_t.SimpleNamespace(read_phys=lambda a, n: bytes(n)))
    regs = kmod.registers_from_layout(session)
    for name, v in expect.items():
        assert regs.read_reg(name) == v
    cfg = get_arch(arch).paging_from_registers(regs)
    assert cfg.regions and cfg.regions[0].root == 0x80123000

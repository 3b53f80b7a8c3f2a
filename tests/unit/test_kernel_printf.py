"""The kernel's vsnprintf (kernel/lib/printf.c), built for the host, against the
host C library's snprintf as the oracle, for every conversion and flag the
kernel documents as supported (the header comment of printf.c)."""
from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "kernel" / "lib" / "printf.c"


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    out = tmp_path_factory.mktemp("kprintf") / "libkprintf.so"
    # Renamed so the host C library's snprintf stays the oracle.
    subprocess.run(["clang", "-std=c11", "-O1", "-fPIC", "-shared", "-fno-builtin", "-Wall", "-Werror",
                    f"-I{ROOT / 'kernel' / 'include'}", "-Dvsnprintf=axk_vsnprintf",
                    "-Dsnprintf=axk_snprintf", "-o", str(out), str(SRC)], check=True)
    return ctypes.CDLL(str(out)), ctypes.CDLL(None)


def fmt_both(libs, fmt: str, *args) -> tuple[str, str, int, int]:
    kern, libc = libs
    kb, hb = ctypes.create_string_buffer(256), ctypes.create_string_buffer(256)
    kn = kern.axk_snprintf(kb, 256, fmt.encode(), *args)
    hn = libc.snprintf(hb, 256, fmt.encode(), *args)
    return kb.value.decode(), hb.value.decode(), kn, hn


FLAGS = st.sampled_from(["", "-", "0", "#", "#0", "-#", "0#"])
WIDTH = st.sampled_from(["", "1", "5", "12", "20"])


@settings(max_examples=400, deadline=None)
@given(flags=FLAGS, width=WIDTH, conv=st.sampled_from(["x", "X", "u", "lx", "llx", "lu", "zx"]),
       v=st.integers(0, 2**64 - 1) | st.sampled_from([0, 1, 0xF, 2**32 - 1, 2**63]))
def test_unsigned_conversions_match_libc(libs, flags, width, conv, v):
    if "#" in flags and conv.endswith("u"):
        flags = flags.replace("#", "")      # '#' with %u is undefined in C
    if not conv.startswith(("l", "z")):
        v &= 0xFFFFFFFF
    arg = ctypes.c_ulonglong(v) if conv.startswith(("l", "z")) else ctypes.c_uint(v)
    k, h, kn, hn = fmt_both(libs, f"[%{flags}{width}{conv}]", arg)
    assert (k, kn) == (h, hn)


@settings(max_examples=300, deadline=None)
@given(flags=st.sampled_from(["", "-", "0"]), width=WIDTH, v=st.integers(-2**63, 2**63 - 1))
def test_signed_conversions_match_libc(libs, flags, width, v):
    k, h, kn, hn = fmt_both(libs, f"%{flags}{width}lld|%{flags}{width}d", ctypes.c_longlong(v),
                            ctypes.c_int((v + 2**31) % 2**32 - 2**31))
    assert (k, kn) == (h, hn)


@pytest.mark.parametrize("fmt,args", [
    ("%s|%-6s|%6s|%.3s", [b"abc", b"de", b"fg", b"hijkl"]),
    ("%c%c %%", [ord("o"), ord("k")]),
    ("var_off=(%#llx;%#llx)", [ctypes.c_ulonglong(0x10), ctypes.c_ulonglong(0xff00)]),
    ("%#x %#X %#08x", [ctypes.c_uint(0), ctypes.c_uint(0xab), ctypes.c_uint(0x1f)]),
])
def test_fixed_formats_match_libc(libs, fmt, args):
    k, h, kn, hn = fmt_both(libs, fmt, *args)
    assert (k, kn) == (h, hn)


def test_truncation_keeps_the_full_length(libs):
    kern, libc = libs
    for size in (0, 1, 5, 8):
        kb = ctypes.create_string_buffer(b"\xaa" * 16, 16)
        hb = ctypes.create_string_buffer(b"\xaa" * 16, 16)
        kn = kern.axk_snprintf(kb, size, b"%#x-%s", ctypes.c_uint(0xbeef), b"tail")
        hn = libc.snprintf(hb, size, b"%#x-%s", ctypes.c_uint(0xbeef), b"tail")
        assert kn == hn and kb.raw == hb.raw

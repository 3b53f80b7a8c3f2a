"""The Z3/claripy models of eBPF semantics agree with an independent plain-Python
reading of RFC 9669 on concrete values (hypothesis)."""

from hypothesis import given, settings, strategies as st

from axiomdbg.prove import model

M64, M32 = model.M64, model.M32
u64 = st.one_of(st.integers(0, M64), st.sampled_from([0, 1, M64, 1 << 63, (1 << 63) - 1, M32, 1 << 31, 0x80]))


def sx(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def tdiv(x, y):  # C truncating division on Python ints
    q = abs(x) // abs(y)
    return q if (x < 0) == (y < 0) else -q


def ref(name, x, y=0):
    w = 32 if name.endswith("32") and not name.startswith(("le", "be", "bswap", "movsx64")) else 64
    if name.startswith("movsx"):
        w = 32 if name.startswith("movsx32") else 64
    m = (1 << w) - 1
    a, b = x & m, y & m
    base = name.rstrip("0123456789")
    if base == "add": r = a + b
    elif base == "sub": r = a - b
    elif base == "mul": r = a * b
    elif base == "div": r = 0 if b == 0 else a // b
    elif base == "mod": r = a if b == 0 else a % b
    elif base == "sdiv":
        sa, sb = sx(a, w), sx(b, w)
        r = 0 if sb == 0 else -sa if sb == -1 else tdiv(sa, sb)
    elif base == "smod":
        sa, sb = sx(a, w), sx(b, w)
        r = sa if sb == 0 else 0 if sb == -1 else sa - tdiv(sa, sb) * sb
    elif base == "and": r = a & b
    elif base == "or": r = a | b
    elif base == "xor": r = a ^ b
    elif base == "lsh": r = a << (b & (w - 1))
    elif base == "rsh": r = a >> (b & (w - 1))
    elif base == "arsh": r = sx(a, w) >> (b & (w - 1))
    elif base == "neg": r = -a
    elif base == "mov": r = a
    elif name.startswith("le"): r = x & ((1 << int(name[2:])) - 1)
    elif name.startswith(("be", "bswap")):
        n = int(name[2:] if name.startswith("be") else name[5:])
        r = int.from_bytes((x & ((1 << n) - 1)).to_bytes(n // 8, "little"), "big")
    elif name.startswith("movsx"):
        n = int(name.split("_s")[1])
        r = sx(x, n)
    else:
        raise KeyError(name)
    return r & m


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(model.ALU2)), u64, u64)
def test_binary_ops_match_reference(name, x, y):
    assert model.concrete_alu(name, x, y) == ref(name, x, y)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(model.ALU1)), u64)
def test_unary_ops_match_reference(name, x):
    assert model.concrete_alu(name, x) == ref(name, x)


def ref_cond(name, x, y, is32):
    w = 32 if is32 else 64
    a, b = x & ((1 << w) - 1), y & ((1 << w) - 1)
    sa, sb = sx(a, w), sx(b, w)
    return {"jeq": a == b, "jne": a != b, "jgt": a > b, "jge": a >= b, "jlt": a < b, "jle": a <= b,
            "jsgt": sa > sb, "jsge": sa >= sb, "jslt": sa < sb, "jsle": sa <= sb, "jset": (a & b) != 0}[name]


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(sorted(model.COND)), u64, u64, st.booleans())
def test_conditions_match_reference(name, x, y, is32):
    import claripy

    c = model.COND[name](claripy.BVV(x, 64), claripy.BVV(y, 64), is32)
    assert claripy.Solver().is_true(c) == ref_cond(name, x, y, is32)


scalars = st.fixed_dictionaries({f: st.integers(0, (1 << model.FIELD_BITS[f]) - 1) for f in model.FIELDS})


@settings(max_examples=80, deadline=None)
@given(scalars, u64)
def test_membership_matches_host_library(s, x):
    """model.member (the symbolic γ) == bpf_range_contains of the host build."""
    import claripy

    from axiomdbg.prove import reproduce

    sym = {f: claripy.BVV(v, model.FIELD_BITS[f]) for f, v in s.items()}
    got = claripy.Solver().is_true(model.member(sym, claripy.BVV(x, 64)))
    assert got == model.concrete_member(s, x)
    lib = reproduce._host_lib("{}")
    import ctypes

    lib.bpf_range_contains.restype = ctypes.c_bool
    assert got == bool(lib.bpf_range_contains(ctypes.byref(reproduce._scalar(s)), ctypes.c_uint64(x)))

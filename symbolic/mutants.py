"""Mutation mode: plausible range-analysis bugs (the classes Linux has shipped),
applied one at a time to copies of the operator sources, rebuilt with the
kernel's flags (standalone link) and proved. A mutant is caught when any of
its operators' obligations comes out UNSOUND."""

from __future__ import annotations

from dataclasses import dataclass

from . import runner
from .targets import BuildError
from .targets import BPF_DIR


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str
    old: str
    new: str
    ops: tuple[str, ...]
    klass: str


CATALOGUE = [
    Mutant("and32-u32min", "range_alu.c",
           "from32(out, bpf_tnum_and(a->t, b->t), 0, hi, INT32_MIN, INT32_MAX);",
           "from32(out, bpf_tnum_and(a->t, b->t), a->u32min < b->u32min ? a->u32min : b->u32min, hi, INT32_MIN, INT32_MAX);",
           ("and32",), "wrong 32-bit bounds after and"),
    Mutant("or32-u32max", "range_alu.c",
           "from32(out, bpf_tnum_or(a->t, b->t), lo, U32_MAX, INT32_MIN, INT32_MAX);",
           "from32(out, bpf_tnum_or(a->t, b->t), lo, a->u32max > b->u32max ? a->u32max : b->u32max, INT32_MIN, INT32_MAX);",
           ("or32",), "wrong 32-bit bounds after or"),
    Mutant("xor32-u32max", "range_alu.c",
           "from32(out, bpf_tnum_xor(a->t, b->t), 0, U32_MAX, INT32_MIN, INT32_MAX);",
           "from32(out, bpf_tnum_xor(a->t, b->t), 0, a->u32max | b->u32max, INT32_MIN, INT32_MAX);",
           ("xor32",), "wrong 32-bit bounds after xor"),
    Mutant("and64-u32max-from64", "range_alu.c",
           "r.u32max = a->u32max < b->u32max ? a->u32max : b->u32max;",
           "r.u32max = (uint32_t)umin64(a->umax, b->umax);",
           ("and64",), "wrong 32-bit bounds after and (64-bit op)"),
    Mutant("jgt-offbyone", "range_jmp.c",
           "if (x->umax > y->umax - strict)\n\t\t\tx->umax = y->umax - strict;",
           "if (x->umax > y->umax - 1)\n\t\t\tx->umax = y->umax - 1;",
           ("jge64", "jle64"), "off-by-one in jump refinement"),
    Mutant("jlt-min-offbyone", "range_jmp.c",
           "if (y->umin < x->umin + strict)\n\t\t\ty->umin = x->umin + strict;",
           "if (y->umin < x->umin + 1)\n\t\t\ty->umin = x->umin + 1;",
           ("jge64",), "off-by-one in jump refinement"),
    Mutant("jsgt32-offbyone", "range_jmp.c",
           "if (x->s32max > y->s32max - strict)\n\t\t\tx->s32max = y->s32max - strict;",
           "if (x->s32max > y->s32max)\n\t\t\tx->s32max = y->s32max - 1;",
           ("jsge32",), "off-by-one in jump refinement (32-bit signed)"),
    Mutant("jeq32-upper-halves", "range_jmp.c",
           "\t\ttx.mask |= HI32;\n\t\ttx.value &= LOW32;\n\t\tty.mask |= HI32;\n\t\tty.value &= LOW32;\n",
           "",
           ("jeq32",), "32-bit jump refines the upper halves (64-bit tnum intersection on jeq32)"),
    Mutant("jeq-conflict-mask", "range_jmp.c",
           "if ((x->t.value ^ ty.value) & ~(x->t.mask | ty.mask))",
           "if ((x->t.value ^ ty.value) & ~(x->t.mask & ty.mask))",
           ("jeq64",), "wrong tristate mask (jeq reports a feasible edge infeasible)"),
    Mutant("jset-multibit", "range_jmp.c",
           "if (t && const_of(src, is32, &c) && c && (c & (c - 1)) == 0) {",
           "if (t && const_of(src, is32, &c) && c) {",
           ("jset64",), "jset taken edge sets every bit of a multi-bit mask"),
    Mutant("sub64-signconf", "range_alu.c",
           "if (__builtin_sub_overflow(a->smin, b->smax, &r.smin) ||",
           "if (__builtin_sub_overflow(a->smin, b->smin, &r.smin) ||",
           ("sub64",), "sign confusion in smin/smax"),
    Mutant("arsh64-smin", "range_alu.c",
           "r.smin = smin64(a->smin >> lo, a->smin >> hi);",
           "r.smin = (int64_t)((uint64_t)a->smin >> hi);",
           ("arsh64",), "sign confusion (logical for arithmetic shift)"),
    Mutant("tnum-xor-mask", "tnum.c",
           "uint64_t v = a.value ^ b.value, mu = a.mask | b.mask;",
           "uint64_t v = a.value ^ b.value, mu = a.mask & b.mask;",
           ("xor64",), "wrong tristate mask"),
    Mutant("tnum-or-mask", "tnum.c",
           "return TNUM(v, mu & ~v);\n}\n\nBPF_RANGE_OP struct bpf_tnum bpf_tnum_xor",
           "return TNUM(v, mu & ~v & ~1ull);\n}\n\nBPF_RANGE_OP struct bpf_tnum bpf_tnum_xor",
           ("or64",), "wrong tristate mask"),
    Mutant("add64-no-overflow", "range_alu.c",
           "if (hi >= a->umax && lo >= a->umin) {\n\t\tr.umin = lo;\n\t\tr.umax = hi;\n\t}",
           "{\n\t\tr.umin = lo;\n\t\tr.umax = hi;\n\t}",
           ("add64",), "missing overflow check in add"),
    Mutant("sub32-no-underflow", "range_alu.c",
           "if (a->u32min >= b->u32max) {\n\t\tumin = a->u32min - b->u32max;",
           "if (1) {\n\t\tumin = a->u32min - b->u32max;",
           ("sub32",), "missing overflow check in sub"),
    Mutant("add32-s32-overflow", "range_alu.c",
           "if (__builtin_add_overflow(a->s32min, b->s32min, &smin) ||\n\t    __builtin_add_overflow(a->s32max, b->s32max, &smax)) {",
           "smax = (int32_t)((uint32_t)a->s32max + (uint32_t)b->s32max); /* MUTANT */\n\tif (__builtin_add_overflow(a->s32min, b->s32min, &smin)) {",
           ("add32",), "missing overflow check in add (signed 32)"),
    Mutant("sync-deduce64", "range_sync.c",
           "\tif (s->smin >= 0 || s->smax < 0) {\n\t\ts->umin = umax64(s->umin, (uint64_t)s->smin);",
           "\tif (s->smin >= -1 || s->smax < 0) {\n\t\ts->umin = umax64(s->umin, (uint64_t)s->smin);",
           ("sync",), "sign confusion in signed/unsigned deduction"),
    # classes proved through the non-linear abstraction (nonlinear.py)
    Mutant("div64-umax-divisor", "range_alu.c",
           "\t\tr.umax = a->umax / b->umin;",
           "\t\tr.umax = a->umax / b->umax;",
           ("div64",), "wrong divisor bound in division"),
    Mutant("mul64-no-overflow-check", "range_alu.c",
           "\tif (a->umax == 0 || b->umax <= ~0ull / a->umax) {",
           "\tif (a->umax == 0 || b->umax <= ~0ull) {",
           ("mul64",), "missing overflow check in mul"),
    # the shift operators rest on bpf_tnum_shift_union's contract, proved on its own
    Mutant("shift-union-range", "tnum.c",
           "\td = hi - lo; /* 1..63 */",
           "\td = hi - lo - 1; /* 1..63 */",
           ("tnum_shift_union",), "off-by-one in the range of shift amounts"),
    Mutant("shift-union-sext32", "tnum.c",
           "\t\tany1 = (uint64_t)(int64_t)(int32_t)(uint32_t)any1;",
           "\t\tany1 = (uint32_t)any1;",
           ("tnum_shift_union",), "sign confusion (32-bit arithmetic shift not sign-extended)"),
    # sdiv64/sdiv32 rest on bpf_sdiv_bounds's contract, proved on its own
    Mutant("sdiv-bounds-corner", "range_alu.c",
           "\t\tsdiv_corners(xmin, xmax, smax64(ymin, 1), ymax, lo, hi);",
           "\t\tsdiv_corners(xmin, xmax, smax64(ymin, 2), ymax, lo, hi);",
           ("sdiv_bounds",), "off-by-one in the divisor range (the corner y = 1 left out)"),
]


def apply(m: Mutant) -> dict[str, str] | None:
    src = (BPF_DIR / m.file).read_text()
    if m.old not in src:
        return None
    return {m.file: src.replace(m.old, m.new, 1)}


def run_mutants(arches: list[str], profile: str, jobs: int = 1, timeout_ms: int = runner.DEFAULT_TIMEOUT_MS,
                console=None) -> dict:
    rows = []
    for m in CATALOGUE:
        ov = apply(m)
        if ov is None:
            rows.append({"mutant": m.name, "class": m.klass, "status": "STALE",
                         "detail": "patch no longer applies to kernel/bpf/" + m.file})
            continue
        job_list = runner.make_jobs(arches, [profile], list(m.ops), agree=False, overrides=ov,
                                    timeout_ms=timeout_ms)
        try:
            res = runner.run_jobs(job_list, jobs)
        except BuildError as e:  # the mutant does not compile (-Werror): not a result
            rows.append({"mutant": m.name, "class": m.klass, "status": "STALE",
                         "detail": "patched source does not build: " + str(e).splitlines()[0][:200]})
            if console is not None:
                console.print(f"{m.name:24} STALE   (does not build)")
            continue
        unsound = [r for r in res if r["status"] == "UNSOUND"]
        rows.append({"mutant": m.name, "class": m.klass, "ops": list(m.ops),
                     "status": "CAUGHT" if unsound else "MISSED",
                     "caught_on": sorted({r["arch"] for r in unsound}),
                     "results": res})
        if console is not None:
            console.print(f"{m.name:24} {rows[-1]['status']:7} {m.klass} "
                          f"{' '.join(rows[-1].get('caught_on', []))}")
    total = sum(r["status"] != "STALE" for r in rows)
    caught = sum(r["status"] == "CAUGHT" for r in rows)
    if console is not None:
        console.print(f"caught {caught}/{total} mutants ({100 * caught / max(total, 1):.0f}%)")
    return {"total": total, "caught": caught, "mutants": rows}

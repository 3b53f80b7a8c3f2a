"""Property tests: mangled logs never make the parser raise, and it never invents a crash."""
from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings, strategies as st

from axiomdbg.triage import KernelSet, parse_log, render, triage_texts
from axiomdbg.triage.parser import END
from axiomdbg.triage.synth import ARCH_CAUSES, NOISE, format_record

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_record(arch: str, kind: str, seed: int) -> tuple[str, dict]:
    k, cause, raw, err = ARCH_CAUSES[arch][kind]
    rng = random.Random(seed)
    bt = [0xFFFFFFFF80200000 + rng.randrange(0x10000) for _ in range(rng.randrange(1, 6))]
    fa = rng.choice([0, 0x18, 0xFFFFFFFF80201000, None])
    text = format_record(arch, kind=k, cause=cause, raw_cause=raw, error_code=err, fault_addr=fa,
                         registers={"pc": bt[0], "sp": 0xFFFFFFC000010000}, backtrace=bt, cpu=rng.randrange(4),
                         build_id=f"{seed:040x}")
    return text, {"arch": arch, "cause": cause, "raw_cause": raw, "fault_addr": fa, "bt": bt}


records = st.builds(make_record, st.sampled_from(sorted(ARCH_CAUSES)), st.sampled_from(sorted(ARCH_CAUSES["x86_64"])),
                    st.integers(0, 2**32))
noise = st.lists(st.sampled_from(NOISE) | st.text(st.characters(blacklist_categories=["Cs"]), max_size=40),
                 max_size=8)


def check_not_invented(res, originals: list[dict]) -> None:
    """Every reported record is made of values present in the input records."""
    assert len(res.records) <= len(originals)
    archs = {o["arch"] for o in originals}
    causes = {o["cause"] for o in originals}
    raws = {o["raw_cause"] for o in originals}
    fas = {o["fault_addr"] for o in originals}
    bts = {a for o in originals for a in o["bt"]}
    for r in res.records:
        assert r.arch in archs
        assert r.cause is None or any(c.startswith(r.cause) for c in causes)
        assert r.raw_cause is None or r.raw_cause in raws or any(
            hex(x).startswith(hex(r.raw_cause)) for x in raws if x is not None)
        assert r.fault_addr is None or r.fault_addr in fas or any(
            hex(x).startswith(hex(r.fault_addr)) for x in fas if x is not None)
        for a in r.backtrace:
            assert a in bts or any(f"{x:#018x}".startswith(f"{a:#x}") for x in bts)


@SETTINGS
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data):
    res = parse_log(data)
    assert res.records == []  # random bytes never contain a whole valid record


@SETTINGS
@given(st.text(max_size=2000))
def test_arbitrary_text_never_raises(text):
    parse_log(text)


@SETTINGS
@given(records, st.data())
def test_truncation_at_any_byte(rec, data):
    text, orig = rec
    cut = data.draw(st.integers(0, len(text)))
    res = parse_log(text.encode()[:cut])
    check_not_invented(res, [orig])
    if res.records:
        r = res.records[0]
        assert r.truncated == (END + "\n" not in text[:cut] and END not in text[:cut])
    if cut == len(text):
        assert len(res.records) == 1 and not res.records[0].truncated


@SETTINGS
@given(st.lists(records, min_size=1, max_size=3), noise, st.integers(0, 2**32))
def test_interleaving_with_noise_keeps_every_record(recs, extra, seed):
    rng = random.Random(seed)
    streams = [t.splitlines() for t, _ in recs]
    noise_lines = [n.replace("\n", " ").replace("\r", " ") for n in extra]
    out: list[str] = []
    # records in order, noise lines merged anywhere (not containing record keys)
    for lines in streams:
        for line in lines:
            while noise_lines and rng.random() < 0.3:
                out.append(noise_lines.pop())
            out.append(line)
    out += noise_lines
    res = parse_log("\n".join(out) + "\n")
    check_not_invented(res, [o for _, o in recs])


@SETTINGS
@given(records, records, st.integers(0, 2**32))
def test_two_records_interleaved_line_by_line(a, b, seed):
    rng = random.Random(seed)
    la, lb = a[0].splitlines(), b[0].splitlines()
    out = []
    while la or lb:
        src = la if (la and (not lb or rng.random() < 0.5)) else lb
        out.append(src.pop(0))
    res = parse_log("\n".join(out))
    check_not_invented(res, [a[1], b[1]])


@SETTINGS
@given(st.lists(records, min_size=1, max_size=3), st.sampled_from(["\n", "\r\n", "\r"]),
       st.sampled_from(["", "\x1b[31m", "\x1b[1;32m", "\x1b[0m", "\x1b[2K", "\x1b]0;title\x07"]),
       st.integers(0, 2**32))
def test_colours_and_line_endings_do_not_change_the_result(recs, eol, esc, seed):
    rng = random.Random(seed)
    clean = "".join(t for t, _ in recs)
    mangled = eol.join((esc if rng.random() < 0.5 else "") + line + ("\x1b[0m" if rng.random() < 0.5 else "")
                       for line in clean.splitlines()) + eol
    want = [r.to_dict() for r in parse_log(clean).records]
    got = [r.to_dict() for r in parse_log(mangled).records]
    for d in want + got:
        d.pop("line"), d.pop("end_line")
    assert got == want and len(got) == len(recs)


NON_ALNUM = bytes(b for b in range(256) if not chr(b).isalnum())


@SETTINGS
@given(records, st.binary(min_size=1, max_size=64).map(lambda b: bytes(x for x in b if x in NON_ALNUM) or b"#"),
       st.integers(0, 2**32))
def test_random_garbage_inserted(rec, garbage, seed):
    """Garbage (no letters or digits, so it cannot forge a different number) inserted anywhere:
    at most the original record comes out; numbers are the original ones or dropped as garbled;
    free text is the original text with garbage inside."""
    text, orig = rec
    data = bytearray(text.encode())
    rng = random.Random(seed)
    for _ in range(rng.randrange(1, 4)):
        pos = rng.randrange(len(data) + 1)
        data[pos:pos] = garbage
    res = parse_log(bytes(data))
    assert len(res.records) <= 1
    junk = set(garbage.decode("latin-1")) | {"\ufffd"}
    strip = lambda s: "".join(ch for ch in s if ch not in junk and ch.isalnum())  # noqa: E731
    for r in res.records:
        assert r.arch == orig["arch"]
        assert r.cause is None or strip(orig["cause"]).startswith(strip(r.cause))
        # a garbage newline can split a number: what is left of the line is a prefix of it
        assert r.raw_cause is None or _hex_prefix(r.raw_cause, [orig["raw_cause"]])
        assert r.fault_addr is None or _hex_prefix(r.fault_addr, [orig["fault_addr"]])
        assert all(_hex_prefix(a, orig["bt"]) for a in r.backtrace)


def _hex_prefix(v: int, originals) -> bool:
    return any(x is not None and (x == v or f"{x:#018x}".startswith(f"{v:#x}") or hex(x).startswith(hex(v)))
               for x in originals)


@settings(max_examples=40, deadline=None)
@given(st.lists(records, max_size=4), st.sampled_from(["text", "json", "markdown", "sarif"]))
def test_whole_pipeline_never_raises_without_kernels(recs, fmt):
    logs = [(f"log{i}", t[: len(t) // (i + 1)]) for i, (t, _) in enumerate(recs)]
    rep = triage_texts(logs, KernelSet())
    assert isinstance(render(rep, fmt), str)

"""The panic-record parser on hand-written logs: every documented robustness case."""
from __future__ import annotations

from axiomdbg.triage.parser import BEGIN, END, parse_log
from axiomdbg.triage.synth import format_record

REC = format_record("riscv64", kind="page-fault", cause="load page fault", raw_cause=13, fault_addr=0x10,
                    registers={"pc": 0xFFFFFFFF80200010, "sp": 0xFFFFFFC000001000},
                    backtrace=[0xFFFFFFFF80200010, 0xFFFFFFFF80200100], build_id="ab" * 20, cpu=1, pid=7, tid=9)


def test_plain_record():
    res = parse_log(REC, "a.log")
    (r,) = res.records
    assert (r.arch, r.kind, r.cause, r.raw_cause, r.fault_addr) == ("riscv64", "page-fault", "load page fault", 13, 0x10)
    assert (r.cpu, r.pid, r.tid, r.build_id) == (1, 7, 9, "ab" * 20)
    assert r.registers == {"pc": 0xFFFFFFFF80200010, "sp": 0xFFFFFFC000001000}
    assert r.backtrace == [0xFFFFFFFF80200010, 0xFFFFFFFF80200100]
    assert r.line == 1 and r.end_line == REC.count("\n") and not r.truncated and not r.notes


def test_many_records_with_boot_output_and_build_id_banner():
    log = "axiom: build-id " + "cd" * 20 + "\naxiom: riscv64 sv48 cpus=2\ninit: ready\n" + REC + "sh$ \n" + REC
    res = parse_log(log)
    assert len(res.records) == 2 and res.build_ids == ["cd" * 20]
    assert all(r.boot_build_id == "cd" * 20 and r.paging_mode == "sv48" for r in res.records)
    assert res.records[1].line == 4 + REC.count("\n") + 1


def test_interleaved_lines_ansi_and_crlf():
    lines = REC.splitlines()
    mixed = []
    for i, line in enumerate(lines):
        mixed.append(f"\x1b[1;31m{line}\x1b[0m")
        if 0 < i < len(lines) - 1:
            mixed.append("[cpu1] scheduler: tick")
    res = parse_log("\r\n".join(mixed) + "\r\n")
    (r,) = res.records
    assert r.interleaved == len(lines) - 2 and r.backtrace and r.cause == "load page fault" and not r.truncated


def test_truncated_record_is_kept_and_marked():
    cut = REC[: REC.index("bt ")]
    (r,) = parse_log(cut).records
    assert r.truncated and r.registers and not r.backtrace
    assert any("truncated" in n for n in r.notes)


def test_record_interrupted_by_a_new_begin_or_a_reboot():
    cut = REC[: REC.index("reg ")]
    res = parse_log(cut + REC)
    assert [r.truncated for r in res.records] == [True, False]
    res = parse_log(cut + "axiom: build-id " + "ef" * 20 + "\n" + REC)
    assert [r.truncated for r in res.records] == [True, False]
    assert res.records[1].boot_build_id == "ef" * 20


def test_garbled_lines_are_skipped_with_a_note():
    bad = REC.replace("bt 0xffffffff80200100", "bt 0xffffffff8020@@0100").replace(
        "raw_cause: 0xd", "raw_cause: 0xq")
    (r,) = parse_log(bad).records
    assert r.backtrace == [0xFFFFFFFF80200010] and r.raw_cause is None
    assert len(r.notes) == 2 and all("garbled" in n for n in r.notes)


def test_no_begin_no_crash_and_incomplete_records_dropped():
    assert parse_log(REC.replace(BEGIN, "")).records == []
    no_arch = REC.replace("arch: riscv64\n", "")
    res = parse_log(no_arch)
    assert res.records == [] and "dropped" in res.notes[0]
    no_cause = REC.replace("cause: load page fault\n", "").replace("raw_cause: 0xd\n", "")
    assert parse_log(no_cause).records == []
    assert parse_log(REC.replace("riscv64", "sparc")).records == []
    assert parse_log(BEGIN + "\n" + END + "\n").records == []


def test_markers_glued_to_other_output_and_prefixes():
    log = "garbage" + REC.replace("arch:", "[    0.123] arch:")
    (r,) = parse_log(log).records
    assert r.arch == "riscv64"


def test_bytes_with_invalid_utf8_and_nuls():
    data = b"\xff\xfe\x00" + REC.encode().replace(b"cpu: 1", b"cpu: 1\x00") + b"\xc3"
    (r,) = parse_log(data).records
    assert r.cpu == 1


def test_lone_cr_line_endings():
    (r,) = parse_log(REC.replace("\n", "\r")).records
    assert r.backtrace and not r.truncated


def test_duplicate_fields_keep_the_first():
    dup = REC.replace("cause: load page fault\n", "cause: load page fault\ncause: something else\n")
    (r,) = parse_log(dup).records
    assert r.cause == "load page fault" and any("duplicate" in n for n in r.notes)


def test_long_run_of_foreign_lines_closes_the_record():
    cut = REC[: REC.index("reg ")]
    log = cut + "noise\n" * 500 + "bt 0xffffffff80200010\n"
    (r,) = parse_log(log).records
    assert r.truncated and r.backtrace == []

"""The conformance-suite ``.data`` format and its runner.

A file is a list of sections, each opened by a line ``-- NAME``:
``asm`` (assembly, see :mod:`.asm`), ``raw`` (hex bytes, 8 per instruction per
line), ``mem`` (hex bytes: the program's memory, r1 points to it and r2 holds its
length), ``result`` (expected r0 in hex), ``error`` (the program must be
refused; optional message). ``#`` lines are comments; unknown sections are
ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import lib
from .asm import assemble
from .errors import AsmError, BpfError, LoadError, RunError


@dataclass
class DataTest:
    name: str
    sections: dict[str, str] = field(default_factory=dict)

    @property
    def program(self) -> bytes:
        if "raw" in self.sections:
            return parse_hex(self.sections["raw"])
        if "asm" in self.sections:
            return assemble(self.sections["asm"])
        raise BpfError(f"{self.name}: no -- asm or -- raw section")

    @property
    def memory(self) -> bytes:
        return parse_hex(self.sections.get("mem", ""))

    @property
    def expected_result(self) -> int | None:
        text = self.sections.get("result", "").strip()
        if not text:
            return None
        try:
            return int(text.split()[0], 16) & (2**64 - 1)
        except ValueError:
            raise BpfError(f"{self.name}: invalid -- result '{text}'") from None

    @property
    def expects_error(self) -> bool:
        return "error" in self.sections

    @property
    def expected_error(self) -> str:
        return self.sections.get("error", "").strip()

    @property
    def verify_error(self) -> str | None:
        """axiom extension: the verifier's expected rejection (``-- verify-error``)."""
        if "verify-error" not in self.sections:
            return None
        return self.sections["verify-error"].strip()


def parse_hex(text: str) -> bytes:
    cleaned = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        cleaned.extend(line.split())
    try:
        return bytes(int(tok, 16) for tok in cleaned)
    except ValueError:
        raise BpfError(f"invalid hex byte in '{' '.join(cleaned)[:40]}'") from None


def parse(text: str, name: str = "<data>") -> DataTest:
    test = DataTest(name)
    current: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if current is not None:
            test.sections[current] = "\n".join(lines).strip("\n") + "\n"

    for raw in text.splitlines():
        m = re.match(r"^--\s*(\S+)\s*$", raw)
        if m:
            flush()
            current, lines = m.group(1).lower(), []
            continue
        if raw.lstrip().startswith("#") and current not in ("asm",):
            continue
        if current is not None:
            lines.append(raw)
    flush()
    return test


def load(path: Path) -> DataTest:
    try:
        text = path.read_text()
    except OSError as e:
        raise BpfError(f"cannot read {path}: {e.strerror}") from None
    return parse(text, path.name)


@dataclass
class Outcome:
    name: str
    passed: bool
    detail: str


def run_test(test: DataTest, verify: bool = False, profile: str = "embedded",
             check_error_text: bool = False) -> Outcome:
    """Run one test with the kernel's interpreter (and verifier with ``verify``)."""
    try:
        prog = test.program
        mem = test.memory
    except (AsmError, BpfError) as e:
        if test.expects_error:
            return Outcome(test.name, True, f"refused: {e}")
        return Outcome(test.name, False, str(e))
    if verify and test.verify_error is not None:
        v = lib.verify(prog, "mem", profile, 1, len(mem))
        if v.ok:
            return Outcome(test.name, False, f"the verifier accepted; expected '{test.verify_error}'")
        if test.verify_error.lower() not in v.reason.lower():
            return Outcome(test.name, False, f"rejected with '{v.reason}', expected '{test.verify_error}'")
        return Outcome(test.name, True, f"rejected: {v.reason}")
    try:
        r0, _ = lib.run(prog, mem, verify=verify, profile=profile)
    except (LoadError, RunError) as e:
        if not test.expects_error:
            return Outcome(test.name, False, f"unexpected error: {e}")
        want = test.expected_error
        if check_error_text and want and want.lower() not in str(e).lower():
            return Outcome(test.name, False, f"error '{e}' does not mention '{want}'")
        return Outcome(test.name, True, f"refused: {e}")
    if test.expects_error:
        return Outcome(test.name, False, f"expected an error, got r0=0x{r0:x}")
    want = test.expected_result
    if want is None:
        return Outcome(test.name, False, "no -- result section")
    if r0 != want:
        return Outcome(test.name, False, f"r0=0x{r0:x}, expected 0x{want:x}")
    return Outcome(test.name, True, f"r0=0x{r0:x}")

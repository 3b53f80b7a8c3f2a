"""Parser of the verifier corpus (fixtures/bpf/verifier/*.txt, format in its README)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "bpf" / "verifier"
_HEADER = re.compile(r"^== (\S+)(?: \[(.*?)\])? \| (accept|reject: (.*))$")


@dataclass
class Case:
    name: str
    file: str
    accept: bool
    message: str
    asm: str
    profile: str = "embedded"
    prog_type: str = "mem"
    mem: int = 16
    maps: list[tuple[str, int, int, int]] = field(default_factory=list)


def parse_file(path: Path) -> list[Case]:
    cases: list[Case] = []
    cur: Case | None = None
    lines: list[str] = []
    for raw in path.read_text().splitlines() + ["== __end__ | accept"]:
        m = _HEADER.match(raw)
        if not m:
            if raw.startswith("=="):
                raise ValueError(f"{path.name}: malformed header '{raw}'")
            if cur is not None:
                lines.append(raw)
            continue
        if cur is not None:
            cur.asm = "\n".join(lines) + "\n"
            cases.append(cur)
        if m.group(1) == "__end__":
            break
        cur = Case(m.group(1), path.name, m.group(3) == "accept", (m.group(4) or "").strip(), "")
        lines = []
        for opt in filter(None, (o.strip() for o in (m.group(2) or "").split(","))):
            if opt in ("cloud", "embedded"):
                cur.profile = opt
            elif opt.startswith("type="):
                cur.prog_type = opt[5:]
            elif opt.startswith("mem="):
                cur.mem = int(opt[4:])
            elif opt.startswith("maps="):
                for spec in opt[5:].split(";"):
                    t, k, v, n = spec.split(":")
                    cur.maps.append((t, int(k), int(v), int(n)))
            else:
                raise ValueError(f"{path.name}: {cur.name}: unknown option '{opt}'")
    return cases


def all_cases() -> list[Case]:
    out: list[Case] = []
    for p in sorted(CORPUS.glob("*.txt")):
        out.extend(parse_file(p))
    names = [c.name for c in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"duplicate case names: {sorted(dup)}")
    return out

"""Guest memory from a QEMU `dump-guest-memory` ELF core, read with lief.

Each PT_LOAD segment's p_paddr is a guest-physical address; its file bytes are
the RAM contents at the moment of the dump. Notes carry per-CPU registers where
QEMU writes them (NT_PRSTATUS, one per CPU in CPU order, on all three arches):
:meth:`DumpMemory.cpu_registers` decodes them with GDB's register names.

The same reader opens the compact snapshots of ``fixtures/dumps/`` (written by
``scripts/gen_dump_fixtures.py``): ELF cores that keep only the pages the
debugger needs, as PT_LOAD segments, compressed with xz (``.xz``) or gzip
(``.gz``); a read of a page that was left out fails with one clear line."""

from __future__ import annotations

import bisect
import gzip
import lzma
import mmap
import struct
from pathlib import Path

from ..errors import AxiomError


class DumpError(AxiomError):
    """The dump file is missing, truncated or not a QEMU ELF core."""


class DumpMemory:
    def __init__(self, path: str | Path):
        import lief

        self.path = Path(path)
        if not self.path.exists():
            raise DumpError(f"dump file {self.path} does not exist")
        lief.logging.disable()
        self._f = None
        if self.path.suffix in (".xz", ".gz"):
            opener = lzma.open if self.path.suffix == ".xz" else gzip.open
            try:
                with opener(self.path, "rb") as f:
                    raw = f.read()
            except (OSError, EOFError, lzma.LZMAError) as e:
                raise DumpError(f"{self.path}: cannot decompress: {e}") from None
            core = lief.ELF.parse(list(raw)) if raw[:4] == b"\x7fELF" else None
            self._map = raw
        else:
            core = lief.ELF.parse(str(self.path))
        if core is None or core.header.file_type != lief.ELF.Header.FILE_TYPE.CORE:
            raise DumpError(f"{self.path} is not an ELF core file (make one with `axiomdbg snapshot` "
                            f"or QEMU's dump-guest-memory)")
        self.machine = str(core.header.machine_type).split(".")[-1]
        if self._f is None and not isinstance(getattr(self, "_map", None), bytes):
            self._f = open(self.path, "rb")
            self._map = mmap.mmap(self._f.fileno(), 0, access=mmap.ACCESS_READ)
        self._prstatus = [bytes(n.description) for n in core.notes
                          if "PRSTATUS" in str(n.type) and n.name == "CORE"]
        size = len(self._map)
        segs = []
        for seg in core.segments:
            if seg.type != lief.ELF.Segment.TYPE.LOAD or seg.physical_size == 0:
                continue
            if seg.file_offset + seg.physical_size > size:
                raise DumpError(f"{self.path} is truncated (segment at {seg.physical_address:#x} "
                                f"extends past the end of the file)")
            segs.append((seg.physical_address, seg.physical_size, seg.file_offset))
        if not segs:
            raise DumpError(f"{self.path} holds no memory segments")
        segs.sort()
        self._starts = [s[0] for s in segs]
        self._segs = segs
        self.requests = 0

    def ranges(self) -> list[tuple[int, int]]:
        return [(s, s + n) for s, n, _ in self._segs]

    def read_phys(self, addr: int, size: int) -> bytes:
        self.requests += 1
        out = bytearray()
        pa = addr
        while len(out) < size:
            i = bisect.bisect_right(self._starts, pa) - 1
            if i < 0:
                raise DumpError(f"physical address {pa:#x} is not in the dump")
            start, n, off = self._segs[i]
            if pa >= start + n:
                raise DumpError(f"physical address {pa:#x} is not in the dump")
            take = min(size - len(out), start + n - pa)
            out += self._map[off + pa - start: off + pa - start + take]
            pa += take
        return bytes(out)

    def cpu_registers(self) -> list[dict[str, int]]:
        """General registers of every CPU from the NT_PRSTATUS notes (index = CPU index,
        the order QEMU writes them), named as GDB names them. Empty if the dump has none."""
        names = _PRSTATUS_REGS.get(self.machine)
        if names is None:
            return []
        out = []
        for desc in self._prstatus:
            if len(desc) < _PR_REG + 8 * len(names):
                continue
            vals = struct.unpack_from(f"<{len(names)}Q", desc, _PR_REG)
            out.append({n: v for n, v in zip(names, vals) if n})
        return out

    def close(self) -> None:
        if isinstance(self._map, bytes):
            self._map = b""
            return
        self._map.close()
        if self._f is not None:
            self._f.close()


# struct elf_prstatus (64-bit Linux layout, what QEMU writes): pr_reg starts at byte 112;
# its layout is the arch's user_regs_struct / elf_gregset_t.
_PR_REG = 112
_PRSTATUS_REGS = {
    "X86_64": ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx",
               "rsi", "rdi", "", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es",
               "fs", "gs"],
    "AARCH64": [f"x{i}" for i in range(31)] + ["sp", "pc", "cpsr"],
    "RISCV": ["pc", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
              "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
              "t5", "t6"],
}

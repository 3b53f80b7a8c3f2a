"""Guest memory from a QEMU `dump-guest-memory` ELF core, read with lief.

Each PT_LOAD segment's p_paddr is a guest-physical address; its file bytes are
the RAM contents at the moment of the dump. Notes carry per-CPU registers where
QEMU writes them (NT_PRSTATUS)."""

from __future__ import annotations

import bisect
import mmap
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
        core = lief.ELF.parse(str(self.path))
        if core is None or core.header.file_type != lief.ELF.Header.FILE_TYPE.CORE:
            raise DumpError(f"{self.path} is not an ELF core file (make one with `axiomdbg snapshot` "
                            f"or QEMU's dump-guest-memory)")
        self.machine = str(core.header.machine_type).split(".")[-1]
        self._f = open(self.path, "rb")
        self._map = mmap.mmap(self._f.fileno(), 0, access=mmap.ACCESS_READ)
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

    def close(self) -> None:
        self._map.close()
        self._f.close()

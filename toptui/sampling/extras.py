"""PSS, USS, swap and I/O rates: read per process only when their columns are on screen.

``smaps_rollup`` walks the process's page tables in the kernel (milliseconds for a large
process), so these are read for the visible rows only, never for the whole table.
"""

from __future__ import annotations

import contextlib

from toptui.model import Extras, ProcKey
from toptui.sampling import procfs

_KB = 1024


def parse_smaps_rollup(data: bytes) -> tuple[int, int, int]:
    """(PSS, USS, swap) in bytes from /proc/PID/smaps_rollup."""
    fields: dict[bytes, int] = {}
    for line in data.splitlines()[1:]:
        name, _, rest = line.partition(b":")
        parts = rest.split()
        if parts:
            fields[name] = int(parts[0]) * _KB
    uss = (fields.get(b"Private_Clean", 0) + fields.get(b"Private_Dirty", 0)
           + fields.get(b"Private_Hugetlb", 0))  # fmt: skip
    return fields.get(b"Pss", 0), uss, fields.get(b"Swap", 0)


def parse_io(data: bytes) -> tuple[int, int]:
    """(read_bytes, write_bytes) from /proc/PID/io: what actually reached storage."""
    fields = dict(line.split(b": ", 1) for line in data.splitlines() if b": " in line)
    return int(fields.get(b"read_bytes", 0)), int(fields.get(b"write_bytes", 0))


class ExtrasReader:
    """Keeps the previous I/O counters per identity so rates are over the last interval."""

    def __init__(self) -> None:
        self._io: dict[ProcKey, tuple[float, int, int]] = {}

    def read(self, key: ProcKey, t: float) -> Extras:
        base = f"/proc/{key[0]}/"
        pss = uss = swap = None
        with contextlib.suppress(procfs.Gone, OSError, ValueError):
            pss, uss, swap = parse_smaps_rollup(procfs.read_file(base + "smaps_rollup", 4096))
        read_rate = write_rate = None
        try:
            rb, wb = parse_io(procfs.read_file(base + "io", 1024))
        except (procfs.Gone, OSError, ValueError):
            pass
        else:
            prev = self._io.get(key)
            if prev is not None and t > prev[0]:
                read_rate = max(0.0, (rb - prev[1]) / (t - prev[0]))
                write_rate = max(0.0, (wb - prev[2]) / (t - prev[0]))
            self._io[key] = (t, rb, wb)
        return Extras(pss, uss, swap, read_rate, write_rate)

    def forget_except(self, keys: set[ProcKey]) -> None:
        """Drop counters of processes no longer asked for (bounded memory)."""
        for k in [k for k in self._io if k not in keys]:
            del self._io[k]

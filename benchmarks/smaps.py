"""Issue 17's cost target: reading and summing by kind the memory of a process with 5000 small
mappings, each touched, takes <= 20 ms.

A child maps 5000 anonymous regions of one or two pages, alternately read-only and read-write
(so the kernel cannot merge neighbours into one mapping), and touches each one; then the path
toptui takes, ``toptui.sampling.smaps.read_kinds`` (/proc/PID/maps and numa_maps made by the
kernel, read, and joined into kinds and mappings), is timed in this thread's CPU clock (user +
system), median of ``REPEATS``, after one warm-up read; the target is judged on it. Beside it:
the kernel's part of each file alone (making the text and reading it), the join alone, and the
smaps path (``read_smaps``, the fallback) with its kernel part and parse.

Run alone: ``.venv/bin/python benchmarks/smaps.py``; ``make bench`` reports the same row.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from toptui.sampling.smaps import (  # noqa: E402
    _LINE_PREFIX,
    CHUNK,
    MAPS_NUMA,
    Buffers,
    _fill,
    _join,
    _parse,
    read_kinds,
    read_smaps,
)

MAPPINGS = 5000
TARGET_MS = 20.0
REPEATS = 21

CHILD = r"""
import mmap, sys
n = int(sys.argv[1])
kept = []
for i in range(n):
    writable = i % 2 == 1
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
    m = mmap.mmap(-1, mmap.PAGESIZE * (2 if writable else 1),
                  flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, prot=prot)
    if writable:
        m[0:1] = b"x"          # touched: a resident, dirty page
    else:
        m[0]                   # touched: the shared zero page, read
    kept.append(m)
print("ok", flush=True)
sys.stdin.read()
"""


def median_ms(step: Callable[[], object]) -> float:
    """The median CPU time of ``REPEATS`` calls (this thread's clock: user + system), ms."""
    clock = time.thread_time
    times: list[float] = []
    for _ in range(REPEATS):
        t0 = clock()
        step()
        times.append((clock() - t0) * 1000)
    return statistics.median(times)


def measure(mappings: int = MAPPINGS) -> dict:
    """CPU of one breakdown of a child with ``mappings`` small touched mappings (ms), by the path
    toptui takes and by smaps."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(mappings)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert child.stdout is not None
        child.stdout.readline()
        pid = child.pid
        with open(f"/proc/{pid}/maps", "rb") as f:
            counted = f.read().count(b"\n")
        bufs = Buffers()  # reused from read to read, as the monitor's reader does
        fast = read_kinds(pid, 0.0, buffers=bufs)  # warm-up
        assert fast.source == MAPS_NUMA, "no numa_maps here: toptui reads smaps"
        read_ms = median_ms(lambda: read_kinds(pid, 0.0, buffers=bufs))
        maps_ms = median_ms(lambda: _fill(f"/proc/{pid}/maps", bufs.maps, _LINE_PREFIX))
        numa_ms = median_ms(lambda: _fill(f"/proc/{pid}/numa_maps", bufs.numa, _LINE_PREFIX))
        m_end, m_failed = _fill(f"/proc/{pid}/maps", bufs.maps, _LINE_PREFIX)
        n_end, n_failed = _fill(f"/proc/{pid}/numa_maps", bufs.numa, _LINE_PREFIX)
        assert m_failed is None and n_failed is None
        join_ms = median_ms(lambda: _join(bufs.maps, m_end, bufs.numa, n_end, 0.0, frozenset()))
        fast = read_kinds(pid, 0.0, buffers=bufs)
        buf = bytearray(CHUNK)
        path = f"/proc/{pid}/smaps"
        read_smaps(pid, 0.0, buffer=buf)  # warm-up
        smaps_ms = median_ms(lambda: read_smaps(pid, 0.0, buffer=buf))
        smaps_kernel_ms = median_ms(lambda: _fill(path, buf))
        end, failed = _fill(path, buf)
        assert failed is None
        smaps_parse_ms = median_ms(lambda: _parse(buf, end, 0.0, frozenset(), ""))
        slow = read_smaps(pid, 0.0, buffer=buf)
        assert fast.kinds is not None and not fast.reason, fast.reason
        assert slow.kinds is not None and not slow.reason, slow.reason
        apart = [abs(a - b) for a, b in zip(fast.kinds, slow.kinds, strict=True)]
        return {"mappings": counted, "parsed": len(fast.mappings),
                "maps_bytes": m_end, "numa_maps_bytes": n_end, "smaps_bytes": end,
                "read_ms": read_ms, "maps_kernel_ms": maps_ms, "numa_kernel_ms": numa_ms,
                "join_ms": join_ms, "smaps_read_ms": smaps_ms,
                "smaps_kernel_ms": smaps_kernel_ms, "smaps_parse_ms": smaps_parse_ms,
                "kinds_apart_bytes": apart}  # fmt: skip
    finally:
        child.kill()
        child.wait()


def main() -> int:
    r = measure()
    print(json.dumps(r))
    return 0 if r["read_ms"] <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())

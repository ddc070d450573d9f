"""Issue 17's cost target: reading and summing the smaps of a process with 5000 small mappings,
each touched, takes <= 20 ms.

A child maps 5000 anonymous regions of one or two pages, alternately read-only and read-write
(so the kernel cannot merge neighbours into one mapping), and touches each one; then
``toptui.sampling.smaps.read_smaps`` (the kernel generating the text, reading it and parsing it
into kinds and mappings) is timed in this thread's CPU clock (user + system), median of
``REPEATS``, after one warm-up read. Beside it: the kernel's part alone (making the text and
reading it, no parsing) and parsing alone (the text already read).

Run alone: ``.venv/bin/python benchmarks/smaps.py``; ``make bench`` reports the same row.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from toptui.sampling.smaps import CHUNK, _fill, _parse, read_smaps  # noqa: E402

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


def measure(mappings: int = MAPPINGS) -> dict:
    """CPU of one read_smaps of a child with ``mappings`` small touched mappings (ms)."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(mappings)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert child.stdout is not None
        child.stdout.readline()
        with open(f"/proc/{child.pid}/maps", "rb") as f:
            counted = f.read().count(b"\n")
        buf = bytearray(CHUNK)  # reused from read to read, as the monitor's reader does
        path = f"/proc/{child.pid}/smaps"
        read_smaps(child.pid, 0.0, buffer=buf)  # warm-up
        clock = time.thread_time
        reads: list[float] = []
        parses: list[float] = []
        for _ in range(REPEATS):
            t0 = clock()
            r = read_smaps(child.pid, 0.0, buffer=buf)
            reads.append((clock() - t0) * 1000)
        kernel: list[float] = []
        for _ in range(REPEATS):  # the kernel making the text, and reading it: no parsing
            t0 = clock()
            end, failed = _fill(path, buf)
            kernel.append((clock() - t0) * 1000)
        assert failed is None
        for _ in range(REPEATS):
            t0 = clock()
            _parse(buf, end, 0.0, frozenset(), "")
            parses.append((clock() - t0) * 1000)
        assert r.kinds is not None and not r.reason, r.reason
        return {"mappings": counted, "parsed": len(r.mappings), "bytes": end,
                "read_ms": statistics.median(reads), "parse_ms": statistics.median(parses),
                "kernel_ms": statistics.median(kernel),
                "read_min_ms": min(reads)}  # fmt: skip
    finally:
        child.kill()
        child.wait()


def main() -> int:
    r = measure()
    print(json.dumps(r))
    return 0 if r["read_ms"] <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())

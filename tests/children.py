"""Real child processes that allocate real memory on command, for tests that check what toptui sees.

The child writes every byte it allocates (``b"x" * n``), so the pages are resident and RES grows
exactly as it would for a leaking program. Commands arrive on stdin, one per line; the child answers
``ok`` once the allocation is done, so a test can sample right after a known change.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from types import TracebackType

CLK_TCK = os.sysconf("SC_CLK_TCK")
# How long a test waits for something it is sure will happen: generous, since a loaded machine
# only delays it (the wait ends as soon as it happens, so a quiet machine does not pay for this).
WAIT_S = 60.0

CHILD_CODE = r"""
import sys
kept = []
sys.stdout.write("ok\n"); sys.stdout.flush()
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "grow":          # keep N more MiB (a leak step)
        kept.append(b"x" * (int(arg) * 1024 * 1024))
    elif cmd == "free":        # drop everything kept
        kept.clear()
    elif cmd == "quit":
        break
    sys.stdout.write("ok\n"); sys.stdout.flush()
"""


def statm_bytes(pid: int) -> tuple[int, int, int]:
    """(VIRT, RES, SHR) in bytes as the kernel reports them: the oracle for toptui's figures."""
    page = os.sysconf("SC_PAGE_SIZE")
    with open(f"/proc/{pid}/statm") as f:
        size, res, shr = f.read().split()[:3]
    return int(size) * page, int(res) * page, int(shr) * page


def _stat_fields(pid: int) -> list[bytes]:
    """/proc/PID/stat after the command name (which may hold spaces and parentheses)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return data[data.rfind(b")") + 2 :].split()


def cpu_ticks(pid: int) -> int:
    """utime + stime in clock ticks, as the kernel counts them: the oracle for %CPU and TIME+.

    The sum never goes down, so two reads around a sweep bound what the sweep read."""
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)


def proc_state(pid: int) -> str:
    """The state letter from /proc/PID/stat (S asleep, R running, T stopped, Z zombie)."""
    return _stat_fields(pid)[0].decode()


def wait_until(condition: Callable[[], object], what: str, timeout: float = WAIT_S) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` if it still does not after
    ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not so after {timeout:.0f} s")
        time.sleep(0.01)


def find_proc(snapshot, pid: int):
    """The row of ``pid`` in a snapshot (StopIteration if it is not there)."""
    return next(p for p in snapshot.procs if p.pid == pid)


class MemoryChild:
    """A child Python process whose resident memory the test controls."""

    def __init__(self, start_mib: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._expect_ok()
        if start_mib:
            self.grow(start_mib)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        self._expect_ok()

    def _expect_ok(self) -> None:
        assert self.proc.stdout is not None
        reply = self.proc.stdout.readline().strip()
        if reply != "ok":
            raise RuntimeError(f"child {self.proc.pid} answered {reply!r}")

    def grow(self, mib: int) -> None:
        self._send(f"grow {mib}")

    def free(self) -> None:
        self._send("free")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=WAIT_S)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(BrokenPipeError):  # killed before reading it all
                    stream.close()

    def __enter__(self) -> MemoryChild:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


LEAKER_CODE = r"""
import sys, time
rate_mib = float(sys.argv[1])
kept = []
sys.stdout.write("ok\n"); sys.stdout.flush()
t0 = time.monotonic()
i = 0
while True:
    i += 1
    kept.append(b"x" * int(rate_mib * 1024 * 1024 / 4))
    time.sleep(max(0.0, t0 + i * 0.25 - time.monotonic()))
"""


def spawn_leaker(rate_mib_per_s: float = 1.0) -> subprocess.Popen:
    """A child that leaks ``rate_mib_per_s`` MiB of resident memory per second, in real time."""
    proc = subprocess.Popen(
        [sys.executable, "-c", LEAKER_CODE, str(rate_mib_per_s)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc

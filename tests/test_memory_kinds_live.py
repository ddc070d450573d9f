"""Which memory grows, on real children: each grows one kind of memory on command, and what the
monitor reads of it (smaps every tick for the detail view's pid) must name that kind.

Each child answers ``ok`` once a step is done (its memory written or mapped and touched), so the
monitor samples right after a known change; nothing here waits on time or asserts on CPU."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator

import pytest
from children import CHILD_CODE, WAIT_S, wait_until

from toptui.analysis.memory_kinds import account, top_mappings
from toptui.engine.monitor import Monitor
from toptui.engine.sources import live_source
from toptui.mapping_model import ANON, FILE_PRIVATE, FILE_SHARED, HEAP, SHMEM, STACK
from toptui.sampling.smaps import read_smaps, read_tmpfs_devices

STEPS = 4  # growth steps per child, each followed by a sample
STEP_MIB = 8  # memory of its kind each step adds

# Maps a file in a directory given as argv[1] that grows by N MiB per step, and reads it all in.
FILE_CODE = r"""
import mmap, os, sys
path = os.path.join(sys.argv[1], "growing.dat")
f = open(path, "w+b")
maps = []
chunk = os.urandom(1 << 20)  # made once: the child's own heap stays as it was
print("ok", flush=True)
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "grow":
        f.seek(0, 2)
        for _ in range(int(arg)):
            f.write(chunk)
        f.flush()
        m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)   # the whole file, again
        total = sum(m[i] for i in range(0, len(m), 4096))   # read it in: every page resident
        for old in maps:
            old.close()                                      # one mapping of it at a time
        maps = [m]
    print("ok", flush=True)
"""

# Writes into a /dev/shm file through one shared mapping that grows by N MiB per step.
SHM_CODE = r"""
import mmap, os, sys
path = sys.argv[1]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
size = 0
maps = []
chunk = b"s" * (1 << 20)  # made once: the child's own heap stays as it was
print("ok", flush=True)
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "grow":
        old, size = size, size + (int(arg) << 20)
        os.ftruncate(fd, size)
        m = mmap.mmap(fd, size)                              # MAP_SHARED, read-write
        for at in range(old, size, len(chunk)):
            m[at : at + len(chunk)] = chunk                  # written: resident shmem
        maps.append(m)
    print("ok", flush=True)
"""

# Starts threads that never end, each touching its own stack (a C recursion through repr).
THREADS_CODE = r"""
import sys, threading
sys.setrecursionlimit(20000)
threading.stack_size(4 << 20)
nested = [0]
for _ in range(5000):
    nested = [nested]
forever = threading.Event()
def body(started):
    repr(nested)
    started.set()
    forever.wait()
print("ok", flush=True)
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "grow":
        for _ in range(int(arg)):
            started = threading.Event()
            threading.Thread(target=body, args=(started,), daemon=True).start()
            started.wait()
    print("ok", flush=True)
"""


class Child:
    """A child that grows one kind of memory per ``grow`` line and says ``ok``."""

    def __init__(self, code: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._ok()

    def _ok(self) -> None:
        assert self.proc.stdout is not None
        reply = self.proc.stdout.readline().strip()
        assert reply == "ok", f"child {self.proc.pid} answered {reply!r}"

    def grow(self, n: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"grow {n}\n")
        self.proc.stdin.flush()
        self._ok()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=WAIT_S)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(BrokenPipeError, AttributeError):
                stream.close()


@contextlib.contextmanager
def child(code: str, *args: str) -> Iterator[Child]:
    c = Child(code, *args)
    try:
        yield c
    finally:
        c.close()


def grown_kind(c: Child, per_step: int) -> tuple[int, float, Monitor]:
    """Grow the child STEPS times, sampling it through a live monitor that reads its smaps as
    the detail view's process; return the kind that accounts for the growth and its share."""
    monitor = Monitor(live_source([c.proc.pid]), interval_s=1.0)
    monitor.mappings_pids = frozenset({c.proc.pid})
    monitor.step()
    for _ in range(STEPS):
        c.grow(per_step)
        monitor.step()
    key = next(p.key for p in monitor.last.snapshot.procs if p.pid == c.proc.pid)
    series = monitor.kinds.get(key)
    assert series is not None and series.latest.reason == "", series and series.latest.reason
    assert len(series.kinds) == STEPS + 1
    found = account(series.kinds[0], series.kinds[-1])
    assert found is not None, series.kinds
    return found.kind, found.share, monitor


def test_a_leak_of_written_bytes_is_anonymous_or_heap() -> None:
    with child(CHILD_CODE) as c:
        kind, share, _ = grown_kind(c, STEP_MIB)
    assert kind in (ANON, HEAP)
    assert share > 0.9


def test_a_growing_mapped_file_read_in_is_file_backed() -> None:
    # Beside the tests, not in /tmp: a file on a tmpfs (/tmp is one on many systems) is shmem.
    here = os.path.dirname(os.path.abspath(__file__))
    st = os.stat(here)
    if (os.major(st.st_dev), os.minor(st.st_dev)) in read_tmpfs_devices(os.getpid()):
        pytest.skip("the tests' folder is on a tmpfs: no disk-backed file to map")
    with tempfile.TemporaryDirectory(dir=here) as d, child(FILE_CODE, d) as c:
        kind, share, monitor = grown_kind(c, STEP_MIB)
        key = next(p.key for p in monitor.last.snapshot.procs if p.pid == c.proc.pid)
        series = monitor.kinds.get(key)
        grown = top_mappings(
            series.first_rss, series.latest.mappings, first_rss_end=series.first_rss_end
        )
    assert kind in (FILE_PRIVATE, FILE_SHARED)
    assert share > 0.8
    # The mapping that grew most is the file, whole (the last step's mapping of all of it).
    assert grown[0][0].label.endswith("growing.dat")
    assert grown[0][1] >= STEPS * STEP_MIB << 20


def test_writes_into_a_dev_shm_file_are_shmem() -> None:
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm here")
    path = f"/dev/shm/toptui-test-{uuid.uuid4().hex}"
    try:
        with child(SHM_CODE, path) as c:
            kind, share, _ = grown_kind(c, STEP_MIB)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    assert kind == SHMEM
    assert share > 0.8


def test_threads_started_without_end_grow_the_stacks() -> None:
    with child(THREADS_CODE) as c:
        kind, share, monitor = grown_kind(c, 10)
        key = next(p.key for p in monitor.last.snapshot.procs if p.pid == c.proc.pid)
        latest = monitor.kinds.get(key).latest
    assert kind == STACK
    assert share > 0.5
    assert latest.thread_stacks >= STEPS * 10  # each thread's stack told apart by its guard


TMUX_CONF = "set -g history-limit 10000000\n"


def test_tmux_with_unbounded_history_fed_by_od_grows_heap_or_anonymous() -> None:
    """The classic case: a terminal server keeping every line of its scroll buffer."""
    if shutil.which("tmux") is None or shutil.which("od") is None:
        pytest.skip("needs tmux and od")
    with tempfile.TemporaryDirectory() as d:
        sock = os.path.join(d, "sock")
        conf = os.path.join(d, "tmux.conf")
        with open(conf, "w") as f:
            f.write(TMUX_CONF)
        tmux = ["tmux", "-S", sock, "-f", conf]
        subprocess.run([*tmux, "new-session", "-d", "-x", "120", "-y", "40",
                        "od -cx /dev/urandom"], check=True, timeout=WAIT_S)  # fmt: skip
        try:
            server = int(subprocess.run(
                [*tmux, "display-message", "-p", "#{pid}"], check=True, capture_output=True,
                text=True, timeout=WAIT_S).stdout)  # fmt: skip
            pid = server
            start = read_smaps(pid, 0.0, read_tmpfs_devices(pid))
            assert start.kinds is not None, start.reason
            grown = 64 << 20  # the scroll buffer must have grown by this much to judge it

            def far_enough() -> bool:
                now = read_smaps(pid, 1.0)
                return now.kinds is not None and sum(now.kinds) - sum(start.kinds) > grown

            wait_until(far_enough, "the tmux server's scroll buffer growing by 64 MiB")
            end = read_smaps(pid, 1.0, read_tmpfs_devices(pid))
        finally:
            subprocess.run([*tmux, "kill-server"], timeout=WAIT_S, check=False)
    found = account(start.kinds, end.kinds)
    assert found is not None and found.kind in (HEAP, ANON), found
    assert found.share > 0.9

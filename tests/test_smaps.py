"""The smaps parser and reader: each kind of mapping, the thread-stack rule, and bad input (an
unparseable line, text cut short, a process that exits mid-read, smaps that cannot be read)
giving a partial or absent breakdown with a stated reason, never an exception."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest
from children import WAIT_S, MemoryChild

from toptui.engine.monitor import Monitor
from toptui.mapping_model import (
    ANON,
    FILE_PRIVATE,
    FILE_SHARED,
    HEAP,
    KINDS,
    OTHER,
    SHMEM,
    STACK,
    CoarseSplit,
    SmapsReading,
)  # fmt: skip
from toptui.model import CpuStates, MemoryStats, ProcSample, Snapshot, SystemStats, TaskCounts
from toptui.sampling import smaps
from toptui.sampling.smaps import parse_smaps, parse_status_split, read_smaps, tmpfs_devices

KIB = 1024


def block(header: str, rss_kb: int) -> str:
    """One mapping as the kernel writes it (the fields the parser skips included)."""
    return (
        f"{header}\nSize:               {rss_kb * 2} kB\nKernelPageSize:        4 kB\n"
        f"MMUPageSize:           4 kB\nRss:                {rss_kb} kB\nPss:     {rss_kb} kB\n"
        "Private_Dirty:         0 kB\nSwap:                  0 kB\nVmFlags: rd wr mr mw me ac\n"
    )


SAMPLE = "".join([
    block("55d0c0000000-55d0c0021000 r--p 00000000 fe:00 260386     /usr/bin/prog", 100),
    block("55d0c1000000-55d0c2000000 rw-p 00000000 00:00 0          [heap]", 200),
    block("7f0000000000-7f0000100000 rw-p 00000000 00:00 0 ", 300),
    block("7f0000100000-7f0000200000 rw-s 00000000 00:01 1234       /dev/zero (deleted)", 400),
    block("7f0000200000-7f0000300000 rw-s 00000000 00:1a 77         /dev/shm/seg", 500),
    block("7f0000300000-7f0000400000 r--s 00000000 fe:00 99         /data/big file.db", 600),
    block("7f0000400000-7f0000401000 ---p 00000000 00:00 0 ", 0),  # a thread's guard page
    block("7f0000401000-7f0000c01000 rw-p 00000000 00:00 0 ", 700),  # its stack
    block("7f0000c01000-7f0000d01000 rw-p 00000000 00:00 0 ", 800),  # an arena's usable part
    block("7f0000d01000-7f0004c01000 ---p 00000000 00:00 0 ", 0),  # its reserve, too big
    block("7f0004c01000-7f0004d01000 rw-p 00000000 00:00 0 ", 900),  # above it: not a stack
    block("7f0005000000-7f0005100000 rw-p 00000000 00:2b 5          /run/user/tmp.bin", 50),
    block("7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0          [stack]", 60),
    block("7ffc00100000-7ffc00102000 r-xp 00000000 00:00 0          [vdso]", 8),
    block("7ffc00200000-7ffc00201000 rw-p 00000000 00:00 0          [anon:jit]", 4),
]).encode()  # fmt: skip
TMPFS = frozenset({(0, 0x2B)})


def test_each_mapping_counts_as_its_kind() -> None:
    r = parse_smaps(SAMPLE, 5.0, TMPFS)
    assert r.reason == "" and r.t == 5.0
    expect = dict.fromkeys(range(len(KINDS)), 0)
    expect[FILE_PRIVATE] = 100
    expect[HEAP] = 200
    expect[ANON] = 300 + 800 + 900 + 4
    expect[SHMEM] = 400 + 500 + 50  # shared anonymous, /dev/shm, a file on a tmpfs mount
    expect[FILE_SHARED] = 600
    expect[STACK] = 700 + 60
    expect[OTHER] = 8
    assert r.kinds == tuple(expect[k] * KIB for k in range(len(KINDS)))
    assert r.thread_stacks == 1
    labels = [m.label for m in r.mappings]
    assert "/data/big file.db" in labels and "[anon]" in labels and "[anon:jit]" in labels
    assert all(m.end > m.start for m in r.mappings)


def test_a_file_on_a_device_that_is_no_tmpfs_is_file_backed() -> None:
    # Without the process's tmpfs devices, a file under /run is only a file.
    r = parse_smaps(SAMPLE, 0.0, frozenset())
    assert r.kinds is not None and r.kinds[FILE_PRIVATE] == (100 + 50) * KIB


def test_tmpfs_devices_from_mountinfo() -> None:
    mountinfo = (
        b"22 1 0:21 / /dev/shm rw,nosuid,nodev shared:2 - tmpfs tmpfs rw\n"
        b"23 1 0:43 / /run/user/1000 rw - tmpfs tmpfs rw,size=1g\n"
        b"24 1 0:5 / / rw - overlay overlay rw,lowerdir=/a\n"
        b"garbage line\n"
    )
    assert tmpfs_devices(mountinfo) == {(0, 21), (0, 43)}


def test_an_unparseable_mapping_line_leaves_its_rss_out_and_says_so() -> None:
    bad = block("7f00zz000000-7f0000100000 rw-p 00000000 00:00 0 ", 1000).encode()
    worse = block("not a mapping at all", 2000).encode()
    r = parse_smaps(SAMPLE + bad + worse, 0.0, TMPFS)
    assert r.kinds is not None
    assert sum(r.kinds) == sum(parse_smaps(SAMPLE, 0.0, TMPFS).kinds)
    assert r.reason.startswith("2 mappings could not be parsed")


def test_text_cut_mid_mapping_is_partial() -> None:
    cut = SAMPLE[: SAMPLE.index(b"[vdso]") + 20]
    r = parse_smaps(cut, 0.0, TMPFS, cut="the process exited during the read")
    assert r.kinds is not None and r.kinds[OTHER] == 0  # [vdso] had no Rss line yet
    assert "exited during the read" in r.reason


def test_nothing_parseable_is_an_absent_breakdown_with_a_reason() -> None:
    for data in (b"", b"\x00\xff garbage\n" * 10, b"Rss: 4 kB\n"):
        r = parse_smaps(data)
        assert r.kinds is None and r.reason


def test_status_split() -> None:
    data = (b"Name:\tx\nVmRSS:\t  100 kB\nRssAnon:\t   60 kB\nRssFile:\t   30 kB\n"
            b"RssShmem:\t   10 kB\nVmSwap:\t    5 kB\n")  # fmt: skip
    assert parse_status_split(data, 2.0) == CoarseSplit(2.0, 60 * KIB, 30 * KIB, 10 * KIB,
                                                        5 * KIB)  # fmt: skip
    assert parse_status_split(b"Name:\tkthreadd\nState:\tS\n") is None
    assert parse_status_split(b"Name:\tx\nRssAnon:\tlots kB\n") is None


def test_real_status_split_and_kernel_thread() -> None:
    split = smaps.read_status_split(os.getpid(), 0.0)
    assert split is not None and split.anon > 0 and split.file > 0
    assert smaps.read_status_split(2, 0.0) is None  # kthreadd: no memory of its own


def test_a_process_that_has_exited_gives_an_absent_breakdown() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=WAIT_S)
    r = read_smaps(proc.pid, 0.0)
    assert r.kinds is None and r.reason == "the process has exited"


def test_a_process_that_exits_mid_read_gives_a_partial_breakdown() -> None:
    """The first 4 KiB of smaps are read, the child is killed and reaped, the read goes on."""
    with MemoryChild(8) as child:
        killed = []

        def chunks(path: str) -> Iterator[bytes]:
            fd = os.open(path, os.O_RDONLY)
            try:
                yield os.read(fd, 4096)
                child.proc.kill()
                child.proc.wait(timeout=WAIT_S)
                killed.append(True)
                while chunk := os.read(fd, 4096):
                    yield chunk
            finally:
                os.close(fd)

        r = read_smaps(child.pid, 0.0, chunks=chunks)
    assert killed
    assert "exited" in r.reason  # cut short, and said so
    assert r.kinds is None or len(r.mappings) > 0


def test_a_read_that_fails_midway_keeps_what_was_read() -> None:
    def chunks(path: str) -> Iterator[bytes]:
        yield SAMPLE[: SAMPLE.index(b"[stack]") + 200]
        raise ProcessLookupError(3, "No such process")

    r = read_smaps(1, 0.0, TMPFS, chunks=chunks)
    assert r.kinds is not None and r.kinds[HEAP] == 200 * KIB
    assert "exited during the read" in r.reason


DENIED_CODE = r"""
import os, sys
from toptui.sampling.smaps import read_smaps, read_status_split
os.setgid(65534)
os.setuid(65534)
r = read_smaps(int(sys.argv[1]), 0.0)
print(r.kinds is None, r.denied, r.reason, sep="|")
print(read_status_split(int(sys.argv[1]), 0.0) is not None)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to read as another user (nobody)")
def test_smaps_that_cannot_be_read_say_permission_denied() -> None:
    """As nobody, a root process's smaps is refused; its status (the coarse split) is not."""
    with MemoryChild(1) as child:
        out = subprocess.run([sys.executable, "-c", DENIED_CODE, str(child.pid)],
                             capture_output=True, text=True, timeout=WAIT_S, check=True,
                             cwd=os.path.dirname(os.path.dirname(__file__)))  # fmt: skip
    absent, denied, reason = out.stdout.splitlines()[0].split("|")
    assert absent == "True" and denied == "True"
    assert reason.startswith("permission denied")
    assert out.stdout.splitlines()[1] == "True"


# -- the monitor's schedule: the shown pid every tick, one flagged process per tick in turn ----

SYSTEM = SystemStats(0.0, (0.0, 0.0, 0.0), 0, CpuStates(),
                     MemoryStats(8 << 30, 4 << 30, 6 << 30, 0, 0, 0, 0), TaskCounts())  # fmt: skip


def proc(pid: int) -> ProcSample:
    return ProcSample(
        key=(pid, 7), pid=pid, ppid=1, user="u", name=f"p{pid}", command=f"p{pid}",
        state="S", priority=20, nice=0, threads=1, virt=2 << 20, res=1 << 20, shr=0,
        cpu_percent=0.0, mem_percent=0.1, cpu_time=1.0, create_time=0.0,
    )  # fmt: skip


class CountingReader:
    """Stands in for the live reader: records what the monitor asks for."""

    def __init__(self) -> None:
        self.smaps_read: list[int] = []
        self.coarse_read: list[int] = []

    def smaps(self, key: tuple[int, int], t: float) -> SmapsReading:
        self.smaps_read.append(key[0])
        return SmapsReading(t, (1,) * len(KINDS))

    def coarse(self, pid: int, t: float) -> CoarseSplit | None:
        self.coarse_read.append(pid)
        return CoarseSplit(t, 1, 2, 3, 4)

    def forget(self, key: tuple[int, int]) -> None:
        pass


def test_monitor_reads_the_shown_pid_every_tick_and_one_flagged_in_turn() -> None:
    # Judged every 50 s: the first judgement (second sample) is too young for anything but
    # collecting, the next (t=51, 51 s of history) runs the detector, and no other falls due.
    monitor = Monitor(_Fed(), interval_s=1.0, judge_every_s=50.0)
    reader = monitor.kinds_reader = CountingReader()
    procs = tuple(proc(p) for p in (10, 11, 12, 13))
    for t in (0.0, 1.0):
        monitor.ingest(Snapshot(t, t, 1.0, SYSTEM, procs))
    # Collecting is answered without the detector, and without a coarse split.
    assert {v.verdict for v in monitor.verdicts.values()} == {"collecting"}
    assert reader.coarse_read == []
    monitor.ingest(Snapshot(51.0, 51.0, 1.0, SYSTEM, procs))
    # Every process was judged in full once: its coarse split read once.
    assert sorted(reader.coarse_read) == [10, 11, 12, 13]
    for k in ((11, 7), (12, 7), (13, 7)):
        monitor.verdicts[k] = replace(monitor.verdicts[k], verdict="leak")
    monitor.mappings_pids = frozenset({10})
    reader.smaps_read.clear()
    for t in range(52, 58):
        monitor.ingest(Snapshot(float(t), float(t), 1.0, SYSTEM, procs))
    # 10 every tick; the flagged 11, 12, 13 one per tick, in turn.
    assert reader.smaps_read == [10, 11, 10, 12, 10, 13, 10, 11, 10, 12, 10, 13]
    assert sorted(reader.coarse_read) == [10, 11, 12, 13]  # not again within the period
    assert monitor.kinds.coarse_of((11, 7)) is not None
    # No judging budget left: the flagged wait, the shown one is still read.
    monitor.judge_budget_s = -1.0
    reader.smaps_read.clear()
    monitor.ingest(Snapshot(58.0, 58.0, 1.0, SYSTEM, procs))
    assert reader.smaps_read == [10]
    # A flagged process gone from the snapshot (its history and verdict still kept a while) is
    # not read: its pid may already be another process's.
    monitor.judge_budget_s = 1.0
    monitor.mappings_pids = frozenset()
    reader.smaps_read.clear()
    for t in range(59, 63):
        monitor.ingest(Snapshot(float(t), float(t), 1.0, SYSTEM, procs[:3]))
    assert (13, 7) in monitor.verdicts
    assert 13 not in reader.smaps_read and set(reader.smaps_read) == {11, 12}


def test_monitor_reads_nothing_from_a_recording() -> None:
    monitor = Monitor(_Fed(), interval_s=1.0)
    assert monitor.kinds_reader is None


class _Fed:
    live = False
    extras_for: frozenset = frozenset()

    def sample(self) -> Snapshot:  # pragma: no cover - fed by ingest
        raise RuntimeError

"""History stays bounded and never mixes two processes that shared a pid."""

from dataclasses import replace

from toptui.history import MAX_CAPACITY, History, capacity_for
from toptui.model import CpuStates, MemoryStats, ProcSample, Snapshot, SystemStats, TaskCounts

MIB = 1024 * 1024
SYSTEM = SystemStats(0.0, (0.0, 0.0, 0.0), 0, CpuStates(),
                     MemoryStats(8 << 30, 4 << 30, 6 << 30, 0, 0, 0, 0), TaskCounts())  # fmt: skip


def proc(pid: int, start: int, res: int) -> ProcSample:
    return ProcSample(
        key=(pid, start), pid=pid, ppid=1, user="u", name=f"p{pid}", command=f"p{pid}",
        state="S", priority=20, nice=0, threads=1, virt=2 * res, res=res, shr=res // 4,
        cpu_percent=1.5, mem_percent=0.1, cpu_time=1.0, create_time=0.0,
    )  # fmt: skip


def snap(t: float, *procs: ProcSample) -> Snapshot:
    return Snapshot(t, 1_700_000_000 + t, 1.0, SYSTEM, procs)


def test_ring_is_bounded_and_keeps_the_newest():
    h = History(history_s=10, interval_s=1)
    for i in range(100):
        h.ingest(snap(float(i), proc(1, 5, (10 + i) * MIB)))
    ph = h.get((1, 5))
    assert ph is not None and len(ph) == capacity_for(10, 1) == 11
    t, res = h.res_series((1, 5))
    assert t[-1] == 99.0 and res[-1] == 109 * MIB
    assert t == sorted(t)
    assert all(t[-1] - x <= 10 for x in t)
    # The baseline is the very first sample, not the oldest one still in the ring.
    assert ph.baseline.res == 10 * MIB


def test_capacity_is_capped():
    assert capacity_for(10**9, 0.1) == MAX_CAPACITY


def test_reused_pid_starts_a_fresh_history():
    h = History(history_s=100, interval_s=1, grace_s=5)
    for i in range(10):
        h.ingest(snap(float(i), proc(7, 100, (100 + 10 * i) * MIB)))
    # pid 7 exits and a new process gets pid 7 with another start time.
    for i in range(10, 20):
        h.ingest(snap(float(i), proc(7, 900, 5 * MIB)))
    new = h.series((7, 900))
    assert new is not None
    assert set(new.res) == {5 * MIB}
    assert new.baseline.res == 5 * MIB
    # The old identity is dropped after the grace period, so memory does not pile up.
    assert (7, 100) not in h


def test_churn_keeps_memory_bounded():
    h = History(history_s=60, interval_s=1, grace_s=2)
    for i in range(500):
        h.ingest(snap(float(i), proc(1000 + i, i, MIB), proc(1, 1, MIB)))
    assert len(h) <= 5


def test_series_copy_is_consistent():
    h = History(history_s=60, interval_s=1)
    p = proc(3, 3, 4 * MIB)
    for i in range(5):
        h.ingest(snap(float(i), replace(p, res=(4 + i) * MIB)))
    s = h.series((3, 3))
    assert s is not None
    assert len(s.t) == len(s.res) == len(s.shr) == len(s.virt) == len(s.cpu) == 5
    assert s.cpu[0] == 1.5
    assert s.virt[-1] == p.virt and s.res[-1] == 8 * MIB

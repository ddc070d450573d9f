"""Pid reuse: a pid given to a new process during a run starts a fresh history (identity = pid +
start time); its predecessor's growth, verdict and baseline are never shown on it.

First with synthetic snapshots through the Monitor (what the screen and batch mode use), then
with real processes, forcing the kernel to hand the same pid out again through
/proc/sys/kernel/ns_last_pid (root only).
"""

from __future__ import annotations

import json
import os
import sys

import pytest
from children import MemoryChild

from toptui.commands.batch import frame_json, frame_text
from toptui.engine.monitor import Monitor
from toptui.model import CpuStates, MemoryStats, ProcSample, Snapshot, SystemStats, TaskCounts
from toptui.sampling.sampler import Sampler

MIB = 1024 * 1024
MEMORY = MemoryStats(64 << 30, 32 << 30, 48 << 30, 0, 0, 0, 0)
SYSTEM = SystemStats(0.0, (0.0, 0.0, 0.0), 0, CpuStates(), MEMORY, TaskCounts())
PID = 4242


def proc(start: int, res: int, name: str) -> ProcSample:
    return ProcSample(
        key=(PID, start), pid=PID, ppid=1, user="u", name=name, command=name, state="S",
        priority=20, nice=0, threads=1, virt=2 * res, res=res, shr=res // 8, cpu_percent=0.0,
        mem_percent=0.1, cpu_time=1.0, create_time=1_700_000_000 + start / 100,
    )  # fmt: skip


def snap(t: float, p: ProcSample) -> Snapshot:
    return Snapshot(t, 1_700_000_000 + t, 1.0, SYSTEM, (p,))


class Replayed:
    """A sampler that hands the monitor prepared snapshots."""

    live = False  # not this machine: the Source protocol
    extras_for: frozenset = frozenset()

    def __init__(self) -> None:
        self.next: Snapshot | None = None

    def sample(self) -> Snapshot:
        assert self.next is not None
        return self.next


def test_a_reused_pid_does_not_inherit_the_leak_verdict():
    src = Replayed()
    mon = Monitor(src, interval_s=1.0, judge_every_s=1.0)  # type: ignore[arg-type]
    t = 0.0
    for i in range(120):  # the first holder of the pid leaks 1 MiB/s for two minutes
        t += 1.0
        src.next = snap(t, proc(100, (50 + i) * MIB, "leaky"))
        frame = mon.step()
    assert frame.verdicts[(PID, 100)].verdict == "leak"
    assert [k for k, _ in frame.leaks()] == [(PID, 100)]
    # It exits; a flat process is given the same pid (another start time) a tick later.
    for i in range(60):
        t += 1.0
        src.next = snap(t, proc(9000, 20 * MIB, "calm"))
        frame = mon.step()
        new = frame.verdicts.get((PID, 9000))
        assert new is None or new.verdict != "leak", (i, new)
        assert not frame.leaks()
        series = mon.history.series((PID, 9000))
        assert series is not None and set(series.res) == {20 * MIB}
        assert series.baseline.res == 20 * MIB and len(series.t) == i + 1
        (row,) = json.loads(frame_json(frame, list(frame.snapshot.procs), mon.history))["processes"]
        assert row["growth"]["verdict"] != "leak" and row["growth"]["samples"] == i + 1
        assert row["growth"]["rate_bytes_per_s"] == 0.0
        assert "/s" not in frame_text(frame, list(frame.snapshot.procs)).splitlines()[-3]


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def give_pid_again(pid: int, start_mib: int) -> MemoryChild | None:
    """A new MemoryChild holding ``pid`` (just freed), or None if another process took it."""
    for _ in range(30):
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(pid - 1))
        child = MemoryChild(start_mib=start_mib)
        if child.pid == pid:
            return child
        child.close()
    return None


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.access("/proc/sys/kernel/ns_last_pid", os.W_OK),
    reason="forcing a pid to be reused needs root (write /proc/sys/kernel/ns_last_pid)",
)
def test_a_real_reused_pid_starts_afresh():
    clock = FakeClock()
    first = MemoryChild(start_mib=5)
    pid = first.pid
    try:
        mon = Monitor(Sampler(pids=[pid], clock=clock), interval_s=1.0, judge_every_s=1.0)
        for _ in range(70):  # 1 MiB a (simulated) second: a leak to the detector
            first.grow(1)
            frame = mon.step()
            clock.t += 1.0
        old_key = frame.snapshot.procs[0].key
        old_start = frame.snapshot.procs[0].create_time
        assert frame.verdicts[old_key].verdict == "leak"
    finally:
        first.close()
    second = give_pid_again(pid, start_mib=1)
    if second is None:
        pytest.skip(f"pid {pid} was taken by another process before it could be reused")
    with second:
        for i in range(10):
            frame = mon.step()
            clock.t += 1.0
            (p,) = frame.snapshot.procs
            assert p.pid == pid and p.key != old_key  # same pid, another identity
            assert p.create_time > old_start  # started after the first one ended
            v = frame.verdicts.get(p.key)
            assert v is None or v.verdict == "collecting"
            assert not frame.leaks()
            series = mon.history.series(p.key)
            assert series is not None and len(series.t) == i + 1
            assert series.baseline.res < 40 * MIB  # its own, not the predecessor's ~75 MiB
            (row,) = json.loads(frame_json(frame, [p], mon.history))["processes"]
            assert row["growth"]["samples"] == i + 1 and row["growth"]["verdict"] == "collecting"

"""History stays bounded and never mixes two processes that shared a pid."""

import itertools
import random
import threading
from dataclasses import replace

from toptui.model import CpuStates, MemoryStats, ProcSample, Snapshot, SystemStats, TaskCounts
from toptui.store.history import BLOCK_S, MAX_CAPACITY, RECENT, History, capacity_for

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


def test_a_zombie_adds_no_sample():
    """Killed and not yet reaped, a process shows RES 0: that is not its memory falling to 0."""
    h = History(history_s=100, interval_s=1)
    for i in range(5):
        h.ingest(snap(float(i), proc(1, 5, (10 + i) * MIB)))
    h.ingest(snap(5.0, replace(proc(1, 5, 0), state="Z")))
    t, res = h.res_series((1, 5))
    assert (t[-1], res[-1]) == (4.0, 14 * MIB)


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


# -- long histories: compact, yet what the detector needs is kept ------------------------------

PAGE = 4096


def fill(h: History, values, present=lambda i: True, pid: int = 1):
    """Ingest one process with RES ``values[i]`` at t=i; returns the (t, res) actually taken."""
    taken = []
    for i, res in enumerate(values):
        t = float(i)
        if present(i):
            h.ingest(snap(t, proc(pid, 1, res)))
            taken.append((t, res))
        else:
            h.ingest(snap(t))
    return taken


def increasing(t) -> bool:
    return all(a < b for a, b in itertools.pairwise(t))


def window(h: History, taken):
    return [(t, r) for t, r in taken if t >= h.now - h.history_s]


def noisy(n: int, seed: int = 3) -> list[int]:
    rng = random.Random(seed)
    return [100 * MIB + rng.randrange(0, 2048) * PAGE for _ in range(n)]


def test_an_idle_hour_is_kept_exactly_in_a_few_bytes():
    h = History(history_s=3600, interval_s=1)
    taken = fill(h, [50 * MIB] * 7200)
    t, res = h.res_series((1, 1))
    assert list(zip(t, res, strict=True)) == window(h, taken)
    assert len(t) == 3601
    assert h.get((1, 1)).nbytes < 1024  # a full-rate copy would be ~65 KiB


def test_steps_are_kept_exactly():
    # A stair every 30 s (a slow leak): RES changes at most once per block, so nothing is lost.
    h = History(history_s=3600, interval_s=1)
    taken = fill(h, [(10 + i // 30) * MIB for i in range(5000)])
    t, res = h.res_series((1, 1))
    assert list(zip(t, res, strict=True)) == window(h, taken)


def test_a_busy_hour_is_summarised_but_never_invented():
    h = History(history_s=3600, interval_s=1)
    taken = fill(h, noisy(5000))
    win = window(h, taken)
    t, res = h.res_series((1, 1))
    assert increasing(t)
    assert set(zip(t, res, strict=True)) <= set(win)  # only real samples, at their own times
    # Every sample of the recent stretch is there...
    assert win[-RECENT:] == list(zip(t, res, strict=True))[-RECENT:]
    # ...and so is the highest point, and a floor no higher than the window's 10% low (the floor
    # the detector looks at; a single dip is not kept as the floor of a summarised block).
    values = sorted(r for _, r in win)
    assert max(res) == values[-1]
    assert values[0] <= min(res) <= values[len(values) // 10]
    assert t[0] - win[0][0] < 2 * BLOCK_S  # the window still starts where it should
    ph = h.get((1, 1))
    assert len(t) < len(win) / 2
    assert ph.nbytes < 16 * 1024  # 2000 such processes stay well inside toptui's memory budget
    assert len(ph) == h.capacity


def test_series_of_a_busy_process_is_consistent():
    h = History(history_s=3600, interval_s=1)
    taken = dict(fill(h, noisy(4000)))
    s = h.series((1, 1))
    assert len(s.t) == len(s.res) == len(s.shr) == len(s.virt) == len(s.cpu)
    assert increasing(s.t)
    assert all(taken[t] == r for t, r in zip(s.t, s.res, strict=True))
    assert s.baseline.res == taken[0.0] and s.baseline.t == 0.0
    assert s.cpu[-1] == 1.5 and s.virt[-1] == 2 * taken[3999.0]


def test_summary_counts_and_brackets_the_window():
    h = History(history_s=600, interval_s=1)
    taken = fill(h, noisy(2000))
    win = window(h, taken)
    s = h.summary((1, 1))
    assert s.samples == len(win)
    assert s.window_s == win[-1][0] - win[0][0]
    assert s.lo <= min(r for _, r in win) and s.hi >= max(r for _, r in win)
    assert s.latest == win[-1][1]
    flat = History(history_s=600, interval_s=1)
    fill(flat, [5 * MIB] * 100 + [6 * MIB] * 1000)
    f = flat.summary((1, 1))
    assert (f.lo, f.hi, f.samples) == (6 * MIB, 6 * MIB, 601)


def test_absences_leave_gaps_not_invented_samples():
    h = History(history_s=3600, interval_s=1)
    gone = set(range(1000, 1100)) | set(range(3000, 3003))
    taken = fill(h, noisy(4000), present=lambda i: i not in gone)
    t, res = h.res_series((1, 1))
    assert set(zip(t, res, strict=True)) <= set(taken)
    assert not {float(i) for i in gone} & set(t)
    assert increasing(t)


def test_a_snapshot_out_of_order_is_ignored():
    h = History(history_s=60, interval_s=1)
    h.ingest(snap(10.0, proc(1, 1, MIB)))
    h.ingest(snap(9.0, proc(1, 1, 2 * MIB)))
    h.ingest(snap(10.0, proc(1, 1, 3 * MIB)))
    assert h.res_series((1, 1)) == ([10.0], [MIB])


def test_reads_while_writing_are_consistent():
    h = History(history_s=300, interval_s=1)
    values = noisy(3000)
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                data = h.res_series((1, 1))
                s = h.series((1, 1))
                if data is not None:
                    t, res = data
                    assert len(t) == len(res) and increasing(t)
                if s is not None:
                    assert len(s.t) == len(s.res) == len(s.cpu)
        except BaseException as exc:  # reported below
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        fill(h, values)
    finally:
        done.set()
        reader.join()
    assert not errors


def test_a_pinned_history_reads_later_exactly_as_it_was_at_its_tick():
    """A judgement postponed by the CPU budget sees the window of its own sample, not a later one
    in which more of it has been summarised or trimmed."""
    values = noisy(1000)
    for pinned in (True, False):
        h = History(history_s=400, interval_s=1)
        fill(h, values[:600])
        then = h.res_series((1, 1))
        if pinned:
            assert h.pin((1, 1), 599.0)
        for i in range(600, 660):  # a minute later: chunks older than RECENT would be summarised
            h.ingest(snap(float(i), proc(1, 1, values[i])))
        later = h.res_series_at((1, 1), 599.0)
        assert (later == then) is pinned
        h.unpin((1, 1))
        fill_more = [(float(i), values[i]) for i in range(660, 700)]
        for t, v in fill_more:
            h.ingest(snap(t, proc(1, 1, v)))
        # once unpinned, what waited is summarised and trimmed as usual
        assert h.res_series((1, 1)) == history_of(values[:700])


def history_of(values: list[int]) -> tuple[list[float], list[int]]:
    h = History(history_s=400, interval_s=1)
    fill(h, values)
    return h.res_series((1, 1))

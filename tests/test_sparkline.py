"""Sparklines are drawn on a time axis: a steady leak is a straight ramp however old its history."""

from toptui.model import CpuStates, MemoryStats, ProcSample, Snapshot, SystemStats, TaskCounts
from toptui.render.sparkline import BARS, sparkline
from toptui.store.history import History

MIB = 1024 * 1024
KEY = (7, 7)


def levels(line: str) -> list[int]:
    return [BARS.index(c) for c in line]


def assert_even_ramp(line: str, width: int) -> None:
    """Monotone, from the lowest bar to the highest, each character within a level of a line."""
    got = levels(line)
    assert len(got) == width
    assert got == sorted(got), line
    assert got[0] == 0 and got[-1] == len(BARS) - 1, line
    top = len(BARS) - 1
    assert all(abs(v - i * top / (width - 1)) <= 1.0 for i, v in enumerate(got)), line
    # Each eighth of the width rises by about the same number of levels.
    eighth = width // 8
    rises = [got[min(width - 1, (k + 1) * eighth)] - got[k * eighth] for k in range(8)]
    assert max(rises) - min(rises) <= 1, (line, rises)


def test_dense_recent_and_sparse_old_samples_of_a_linear_leak_make_an_even_ramp():
    # Ten minutes summarised to a point every 20 s, then three minutes of every second.
    t = [float(s) for s in range(0, 600, 20)] + [float(s) for s in range(600, 780)]
    res = [20 * MIB + 256 * 1024 * s for s in t]
    assert_even_ramp(sparkline(res, 32, times=t), 32)
    # By sample count, the old minutes take a few characters and the line seems to level off.
    assert levels(sparkline(res, 32))[8] >= 5


def test_a_linear_leak_read_back_from_the_history_is_an_even_ramp():
    """13 minutes of a 256 KiB/s leak at 1 s, as the panel reads it (older blocks compacted)."""
    memory = MemoryStats(8 << 30, 4 << 30, 6 << 30, 0, 0, 0, 0)
    system = SystemStats(1.0, (0.0, 0.0, 0.0), 1, CpuStates(), memory, TaskCounts())
    history = History(history_s=3600, interval_s=1.0)
    for i in range(13 * 60):
        res = 20 * MIB + 256 * 1024 * i + (i * 7919 % 4) * 4096  # a little page noise
        p = ProcSample(KEY, 7, 1, "u", "leak", "leak", "S", 20, 0, 1, 100 * MIB, res, MIB,
                       0.0, 0.0, 0.0, 0.0)  # fmt: skip
        history.ingest(Snapshot(1000.0 + i, 0.0, 1.0, system, (p,)))
    data = history.res_series(KEY)
    assert data is not None
    t, res = data
    assert len(t) < 13 * 60 / 2  # the old minutes really are sparse
    for width in (8, 16, 30, 32, 60):
        assert_even_ramp(sparkline(res, width, times=t), width)


def test_a_bucket_without_a_sample_holds_the_level_before_it():
    # Flat for 90 s at one sample (a process absent, or a summarised stretch), then a step.
    assert sparkline([0, 0, 7], 10, times=[0.0, 1.0, 100.0]) == BARS[0] * 9 + BARS[-1]
    assert sparkline([7, 0, 0], 4, times=[0.0, 1.0, 100.0]) == BARS[-1] + BARS[0] * 3


def test_each_bucket_shows_its_peak():
    t = [float(s) for s in range(100)]
    res = [10.0] * 100
    res[51] = 20.0  # a single-sample peak in the middle
    line = sparkline(res, 10, times=t)
    assert line == BARS[0] * 5 + BARS[-1] + BARS[0] * 4


def test_short_and_degenerate_series():
    assert sparkline([], 10) == ""
    assert sparkline([1.0], 10, times=[5.0]) == BARS[0]
    assert sparkline([1.0, 2.0], 0, times=[0.0, 1.0]) == ""
    assert sparkline([3.0, 3.0], 4, times=[0.0, 1.0]) == BARS[0] * 4
    # Without times, equal groups of samples (and never more characters than samples).
    assert sparkline([0.0, 7.0], 10) == BARS[0] + BARS[-1]
    assert sparkline([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 4) == "▁▃▆█"

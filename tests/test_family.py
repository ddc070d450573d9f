"""Family totals turn many small per-worker growths into one visible leak."""

from toptui.analysis.family import family_total
from toptui.analysis.growth import judge

MIB = 1024 * 1024


def test_members_are_summed_on_the_heads_timestamps():
    head = ([0.0, 1.0, 2.0, 3.0], [10.0, 10.0, 10.0, 10.0])
    worker_a = ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])  # born after the head
    worker_b = ([0.0, 1.0], [5.0, 5.0])  # exited
    t, total = family_total(head, [worker_a, worker_b])
    assert t == [0.0, 1.0, 2.0, 3.0]
    assert total == [15.0, 16.0, 12.0, 13.0]


def test_pool_whose_workers_each_grow_a_little_is_a_family_leak():
    # Sixteen 20 MiB workers each keep 400 B/s more: 350 KiB in fifteen minutes, far under what
    # a single process must leak to be flagged. Together they hold 5.5 MiB more: a family leak.
    times = [float(s) for s in range(0, 900, 2)]
    workers = [(times, [20 * MIB + 400 * t for t in times]) for _ in range(16)]
    assert all(judge(*w).verdict == "no_leak" for w in workers)
    head = (times, [50 * MIB for _ in times])
    t, total = family_total(head, workers)
    verdict = judge(t, total)
    assert verdict.verdict == "leak"
    assert abs(verdict.rate_bytes_per_s - 16 * 400) < 2048


def test_members_with_fewer_points_than_the_head_are_interpolated_between_their_samples():
    # An idle head keeps every sample; a worker's older stretch is kept as a few points only.
    head = ([float(s) for s in range(0, 101)], [10.0] * 101)
    worker = ([0.0, 7.0, 20.0, 27.0, 40.0, 95.0], [0.0, 7.0, 20.0, 27.0, 40.0, 95.0])  # y = t
    _, total = family_total(head, [worker])
    assert total[:96] == [10.0 + s for s in range(96)]
    assert total[96:] == [10.0] * 5  # after its last sample the worker is gone


def test_a_pool_of_slow_leakers_is_a_family_leak_after_the_history_has_compacted_them():
    """Four workers keep 700 B/s each for 15 minutes at 1 s: each one's RES moves a page every
    few seconds, so its older minutes are summarised to a few points per block, while the idle
    parent keeps every sample. The family still leaks 2800 B/s from first to last."""
    from toptui.history import History
    from toptui.model import CpuStates, MemoryStats, ProcSample, Snapshot, SystemStats, TaskCounts

    memory = MemoryStats(16 << 30, 8 << 30, 8 << 30, 0, 0, 0, 0)
    system = SystemStats(1.0, (0.0, 0.0, 0.0), 1, CpuStates(), memory, TaskCounts())
    history = History(history_s=3600, interval_s=1.0)

    def proc(pid: int, ppid: int, res: float) -> ProcSample:
        return ProcSample((pid, 1), pid, ppid, "u", "pool", "pool", "S", 20, 0, 1, 0,
                          int(res) // 4096 * 4096, 0, 0.0, 0.0, 0.0, 0.0)  # fmt: skip

    for s in range(900):
        procs = (
            proc(300, 1, 20 * MIB),
            *(proc(301 + i, 300, 20 * MIB + 700 * s) for i in range(4)),
        )
        history.ingest(Snapshot(1000.0 + s, 0.0, 1.0, system, procs))
    head = history.res_series((300, 1))
    workers = [history.res_series((301 + i, 1)) for i in range(4)]
    assert head is not None and all(w is not None for w in workers)
    assert all(len(w[0]) < len(head[0]) / 2 for w in workers)  # compacted: sparse old minutes
    assert all(judge(*w).verdict == "no_leak" for w in workers)
    t, total = family_total(head, workers)
    verdict = judge(t, total)
    assert verdict.verdict == "leak", verdict.reasons
    assert abs(verdict.rate_bytes_per_s - 4 * 700) < 400

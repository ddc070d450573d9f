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

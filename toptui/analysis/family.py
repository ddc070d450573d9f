"""Family totals: the summed RES of a process and its descendants over time (pure).

A ``multiprocessing`` pool whose workers each keep a little too much is a leak of the family even
when no single worker crosses the detector's bar. Members come and go (a pool recycles workers),
so the total at each instant is the sum of whichever members were alive at that instant.

All series come from the same sweeps, but not every sweep is in every series: the history keeps
only a few points (first, minimum, maximum, last) of an older stretch in which RES moved, and that
happens to a slowly leaking worker and not to its idle parent. So a member's RES at one of the
head's instants is its own sample there when it has one, else the straight line between its
samples on either side; outside its first to last sample it was not alive and counts 0.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence


def family_total(
    head: tuple[Sequence[float], Sequence[float]],
    members: Iterable[tuple[Sequence[float], Sequence[float]]],
) -> tuple[list[float], list[float]]:
    """Sum member series onto the head's timestamps (see the module docstring for how).

    ``members`` is read once, one series at a time: a generator keeps only one member's series
    in memory however large the family."""
    times = list(head[0])
    totals = [float(v) for v in head[1]]
    for t, v in members:
        if not t:
            continue
        lo = bisect_left(times, t[0])
        hi = bisect_right(times, t[-1])
        j = 0  # t[j] <= times[i] < t[j + 1] once advanced
        last = len(t) - 1
        for i in range(lo, hi):
            ti = times[i]
            while j < last and t[j + 1] <= ti:
                j += 1
            tj = t[j]
            if ti == tj or j == last:
                totals[i] += v[j]
            else:
                t1 = t[j + 1]
                totals[i] += v[j] + (v[j + 1] - v[j]) * (ti - tj) / (t1 - tj)
    return times, totals

"""Family totals: the summed RES of a process and its descendants over time (pure).

A ``multiprocessing`` pool whose workers each keep a little too much is a leak of the family even
when no single worker crosses the detector's bar. Members come and go (a pool recycles workers),
so the total at each instant is the sum of whichever members were sampled at that instant; all
series come from the same sweeps, so their timestamps coincide exactly.
"""

from __future__ import annotations

from collections.abc import Sequence


def family_total(
    head: tuple[Sequence[float], Sequence[float]],
    members: Sequence[tuple[Sequence[float], Sequence[float]]],
) -> tuple[list[float], list[float]]:
    """Sum member series onto the head's timestamps (a member absent at an instant counts 0)."""
    times = list(head[0])
    totals = dict(zip(times, (float(v) for v in head[1]), strict=False))
    for t, v in members:
        for ti, vi in zip(t, v, strict=False):
            if ti in totals:
                totals[ti] += vi
    return times, [totals[t] for t in times]

"""Unicode sparklines for the growth panel: a time series squeezed into a few characters."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(
    values: Sequence[float],
    width: int,
    lo: float | None = None,
    *,
    times: Sequence[float] | None = None,
) -> str:
    """Resample ``values`` to ``width`` buckets (max of each, so peaks show) and draw them.

    With ``times`` the buckets are equal stretches of time, not of samples: the history keeps
    every recent sample but only a few points per older block, so equal sample counts would
    squeeze old minutes into the first characters and make a steady leak look like it levels
    off. A bucket no sample falls in holds the level of the last sample before it.

    The scale runs from ``lo`` (default: the buckets' minimum) to their maximum, so steady growth
    reads as a ramp even when it is small compared with the process's size.
    """
    if width <= 0 or not values:
        return ""
    if times is not None and len(times) == len(values) and times[-1] > times[0]:
        buckets = _by_time(times, values, width)
    else:
        buckets = _by_count(values, width)
    low = min(buckets) if lo is None else lo
    span = max(buckets) - low
    if span <= 0:
        return BARS[0] * len(buckets)
    top = len(BARS) - 1
    return "".join(BARS[max(0, min(top, int((v - low) / span * top + 0.5)))] for v in buckets)


def _by_count(values: Sequence[float], width: int) -> list[float]:
    """Equal groups of samples: right for evenly spaced samples only (or without times)."""
    n = len(values)
    m = min(width, n)
    return [max(values[i * n // m : max(i * n // m + 1, (i + 1) * n // m)]) for i in range(m)]


def _by_time(times: Sequence[float], values: Sequence[float], width: int) -> list[float]:
    """Equal stretches of time from the first sample to the last (times increasing)."""
    t0, span = times[0], times[-1] - times[0]
    buckets: list[float] = []
    start = 0
    held = values[0]
    for i in range(width):
        # Bucket i holds t0 + i/width*span <= t < t0 + (i+1)/width*span; the last one the end too.
        end = len(times) if i == width - 1 else bisect_left(times, t0 + (i + 1) * span / width)
        if end > start:
            buckets.append(max(values[start:end]))
            held = values[end - 1]
            start = end
        else:
            buckets.append(held)
    return buckets

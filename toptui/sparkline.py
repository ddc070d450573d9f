"""Unicode sparklines for the growth panel: a time series squeezed into a few characters."""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int, lo: float | None = None) -> str:
    """Resample ``values`` to ``width`` buckets (max of each, so peaks show) and draw them.

    The scale runs from ``lo`` (default: the series' minimum) to its maximum, so steady growth
    reads as a ramp even when it is small compared with the process's size.
    """
    if width <= 0 or not values:
        return ""
    n = len(values)
    buckets: list[float] = []
    for i in range(min(width, n)):
        a = i * n // min(width, n)
        b = max(a + 1, (i + 1) * n // min(width, n))
        buckets.append(max(values[a:b]))
    low = min(buckets) if lo is None else lo
    span = max(buckets) - low
    if span <= 0:
        return BARS[0] * len(buckets)
    top = len(BARS) - 1
    return "".join(BARS[max(0, min(top, int((v - low) / span * top + 0.5)))] for v in buckets)

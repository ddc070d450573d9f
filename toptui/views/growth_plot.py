"""A plotext graph of one process's RES and SHR over its history, with a time axis in minutes.

plotext keeps global figure state, so it is only ever driven from the UI thread.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from toptui.render import format as fmt
from toptui.store.history import Series

_UNITS = (("KiB", 1024.0), ("MiB", 1024.0**2), ("GiB", 1024.0**3), ("TiB", 1024.0**4))


def pick_unit(max_bytes: float) -> tuple[str, float]:
    """The largest unit in which the peak is still at least 1, so axis labels stay short."""
    name, div = _UNITS[0]
    for n, d in _UNITS:
        if max_bytes >= d:
            name, div = n, d
    return name, div


def time_ticks(span_s: float, count: int = 5) -> tuple[list[float], list[str]]:
    """Ticks from -span to now on an axis of seconds relative to the newest sample."""
    if span_s <= 0:
        return [0.0], ["now"]
    ticks = [-span_s + i * span_s / (count - 1) for i in range(count)]
    labels = ["now" if abs(t) < 1e-9 else "-" + fmt.duration(-t) for t in ticks]
    return ticks, labels


def render_plot(series: Series, width: int, height: int) -> str:
    """The graph as ANSI text: RES (and SHR), the baseline as a line, time in seconds ago."""
    # Loaded at the first graph, not at launch: plotext is most of a detail view's import time.
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(max(20, width), max(6, height))
    plt.theme("clear")
    if len(series.t) < 2:
        plt.title("collecting samples…")
        return plt.build()
    now = series.t[-1]
    xs = [t - now for t in series.t]
    peak = max(max(series.res), series.baseline.res)
    unit, div = pick_unit(peak)
    plt.plot(xs, [v / div for v in series.res], label="RES", color="red", marker="braille")
    plt.plot(xs, [v / div for v in series.shr], label="SHR", color="blue", marker="braille")
    plt.hline(series.baseline.res / div, color="gray")
    ticks, labels = time_ticks(-xs[0])
    plt.xticks(ticks, labels)
    lo = min(min(series.shr), min(series.res), series.baseline.res) / div
    hi = peak / div
    if hi > lo:
        yt = [lo + i * (hi - lo) / 4 for i in range(5)]
        plt.yticks(yt, [f"{y:.1f} {unit}" for y in yt])
    plt.title("gray line: baseline, RES when toptui first saw the process")
    return plt.build()


class GrowthPlot(Widget):
    """Redraws the graph at its own size whenever the series or the size changes."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._series: Series | None = None

    def show(self, series: Series | None) -> None:
        self._series = series
        self.refresh()

    def render(self) -> Text:
        if self._series is None:
            return Text("no history for this process", style="dim")
        return Text.from_ansi(render_plot(self._series, self.size.width, self.size.height))

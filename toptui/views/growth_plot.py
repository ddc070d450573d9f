"""The detail view's graph: RES over the history, the fitted growth line over the leak's span, its
projection (dashed) to the moment memory runs out or to the plot's edge, the onset marked, a
clock-time axis, and the legend on a line of its own above the plot (never on the data).

``leak_chart`` decides what to draw (pure, tested on its own); :mod:`toptui.render.chart` draws
it; ``GrowthPlot`` maps its style names to the styles in ``toptui.tcss``.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from toptui.analysis.growth import GrowthVerdict, exhaustion_seconds
from toptui.render import format as fmt
from toptui.render.chart import FRAME_ROWS, Chart, Mark, Note, Rule, Trace
from toptui.store.history import Series

# Rows of the plot itself (the braille area) it keeps at the least: at 80x24 the facts above give
# way first (DetailScreen fits them to what this leaves).
PLOT_MIN_ROWS = 12
LEGEND_ROWS = 1
MIN_HEIGHT = PLOT_MIN_ROWS + FRAME_ROWS + LEGEND_ROWS
# How far the x axis runs past now for the projection, as a share of the history shown: to the
# moment memory runs out when that is within one history's length ahead, else a third of it and
# an arrow saying when.
PROJECT_REACH = 1.0
PROJECT_ROOM = 1 / 3
# Past the moment memory runs out, this much more axis, so its mark is not on the frame.
PAST_OOM = 1.05


@dataclass(frozen=True, slots=True)
class MemoryLimit:
    """What "memory runs out" is measured against, and how much more the process can take.

    MemAvailable, or the room under the process's cgroup memory limit when that is tighter;
    the graph and the facts say its name.
    """

    name: str
    room_bytes: float


@dataclass(frozen=True, slots=True)
class LeakLine:
    """The fitted growth line: from ``t0`` to ``t1`` (seconds), at ``rate`` bytes/s, ending at
    ``y1`` bytes."""

    t0: float
    t1: float
    y1: float
    rate: float

    def at(self, t: float) -> float:
        return self.y1 + self.rate * (t - self.t1)


def fitted_line(series: Series, verdict: GrowthVerdict | None) -> LeakLine | None:
    """The detector's rate as a line over the leak's span (from its onset), placed through the
    samples there (the median offset, so a GC sawtooth's peaks do not lift it); None unless the
    process is growing (a leak, or rising)."""
    if verdict is None or verdict.verdict not in ("leak", "rising") or len(series.t) < 2:
        return None
    rate = verdict.rate_bytes_per_s
    if not rate > 0:
        return None
    t_end = series.t[-1]
    t0 = series.t[0] + (verdict.onset_s or 0.0)
    t0 = min(max(t0, series.t[0]), t_end)
    span = [(t, r) for t, r in zip(series.t, series.res, strict=True) if t >= t0]
    y1 = statistics.median(r - rate * (t - t_end) for t, r in span)
    return LeakLine(t0, t_end, y1, rate)


def leak_chart(
    series: Series,
    verdict: GrowthVerdict | None,
    limit: MemoryLimit | None,
    clock: float,
    *,
    project: bool = True,
    show_shr: bool = False,
) -> tuple[Chart, list[tuple[str, str]]]:
    """What the graph shows, and its legend as (text, style name) items, most important first.

    ``clock`` turns the series' seconds into wall-clock time (for the axis); ``project`` is False
    once the process has exited (nothing left to run out)."""
    t, res = series.t, series.res
    now = t[-1]
    span = max(now - t[0], 1.0)
    traces: list[Trace] = []
    legend: list[tuple[str, str]] = [("⣿ RES", "res")]
    if show_shr:
        traces.append(Trace(t, series.shr, "shr"))
        legend.append(("⣿ SHR", "shr"))
    line = fitted_line(series, verdict)
    marks, notes, rules = [], [], [Rule(series.baseline.res, "baseline")]
    x1 = now
    if line is not None:
        traces.append(Trace((line.t0, line.t1), (line.at(line.t0), line.y1), "fit"))
    # RES drawn after the fitted line: where they share a cell the measured data keeps its own
    # colour, and the line shows where RES strays from it (and beyond now, projected).
    traces.append(Trace(t, res, "res"))
    if line is not None:
        legend.append((f"⠤ fitted {fmt.rate(line.rate)}", "fit"))
        onset = "growing since first seen" if line.t0 <= t[0] else "onset"
        marks.append(Mark(line.t0, f"▾{onset} {_clock(line.t0 + clock)}", "onset"))
        legend.append(("┊ onset", "onset"))
        eta = exhaustion_seconds(verdict, limit.room_bytes) if verdict and limit else None
        if project and eta is not None and limit is not None:
            reach = eta * PAST_OOM if eta <= span * PROJECT_REACH else span * PROJECT_ROOM
            x1 = now + reach
            end = min(now + eta, x1)
            traces.append(Trace((now, end), (line.y1, line.at(end)), "projection", dotted=True))
            legend.append(("⠁⠂ projection", "projection"))
            if eta <= span * PROJECT_REACH:
                rules.append(Rule(line.y1 + limit.room_bytes, "limit", "─"))
                notes.append(Note(now + eta, f"{limit.name} runs out ~{_clock(now + eta + clock)}"
                                  " ✕", "limit"))  # fmt: skip
                legend.append((f"─ {limit.name} used up", "limit"))
            else:
                notes.append(Note(x1, f"OOM in ~{fmt.duration(eta)} →", "limit"))
    legend.append((f"╌ baseline {fmt.compact_bytes(series.baseline.res)}", "baseline"))
    if not show_shr:
        legend.append(("s: SHR", "dim"))
    chart = Chart(t[0], x1, traces, rules, marks, notes, clock=clock, from_zero=False)
    return chart, legend


def _clock(t_wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t_wall))


def legend_text(items: list[tuple[str, str]], width: int, styles: dict[str, Style]) -> Text:
    """The legend's items that fit in ``width``, the first (most important) kept first."""
    out = Text(no_wrap=True, overflow="crop")
    used = 0
    for text, name in items:
        need = len(text) + (2 if used else 0)
        if used + need > width:
            continue
        if used:
            out.append("  ")
        out.append(text, styles.get(name, Style()))
        used += need
    return out


class GrowthPlot(Widget):
    """Redraws the graph at its own size whenever the series or the size changes."""

    COMPONENT_CLASSES = {
        "growth-plot--res",
        "growth-plot--shr",
        "growth-plot--fit",
        "growth-plot--projection",
        "growth-plot--onset",
        "growth-plot--limit",
        "growth-plot--baseline",
        "growth-plot--axis",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._series: Series | None = None
        self._verdict: GrowthVerdict | None = None
        self._limit: MemoryLimit | None = None
        self._clock = 0.0
        self._project = True
        self.show_shr = False  # SHR takes a line of its own only when asked (s)
        self.zoomed_from = 0.0  # the y axis's lowest value as last drawn (0 unless zoomed)

    def show(
        self,
        series: Series | None,
        verdict: GrowthVerdict | None = None,
        limit: MemoryLimit | None = None,
        clock: float = 0.0,
        project: bool = True,
    ) -> None:
        self._series, self._verdict, self._limit = series, verdict, limit
        self._clock, self._project = clock, project
        self.refresh()

    def toggle_shr(self) -> None:
        self.show_shr = not self.show_shr
        self.refresh()

    def _styles(self) -> dict[str, Style]:
        styles = {}
        for name in ("res", "shr", "fit", "projection", "onset", "limit", "baseline", "axis"):
            try:
                styles[name] = self.get_component_rich_style(f"growth-plot--{name}", partial=True)
            except KeyError:  # before the stylesheet reaches the widget
                styles[name] = Style()
        styles["dim"] = Style(dim=True)
        return styles

    def render(self) -> Text:
        series = self._series
        if series is None:
            return Text("no history for this process", style="dim")
        if len(series.t) < 2:
            return Text("collecting samples…", style="dim")
        width, height = self.size.width, self.size.height
        chart, legend = leak_chart(series, self._verdict, self._limit, self._clock,
                                   project=self._project, show_shr=self.show_shr)  # fmt: skip
        rows, lo = chart.render(width, height - LEGEND_ROWS)
        self.zoomed_from = lo
        styles = self._styles()
        if lo > 0:  # said first, where it cannot be missed
            legend.insert(0, (f"y axis from {fmt.compact_bytes(lo)}, not 0", "limit"))
        out = legend_text(legend, width, styles)
        for row in rows:
            out.append("\n")
            for text, name in row:
                out.append(text, styles.get(name, Style()) if name else Style())
        return out

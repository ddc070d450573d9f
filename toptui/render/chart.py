"""A line chart drawn in braille dots, as rows of (text, style name) segments.

The detail view's growth graph is drawn here rather than by plotext: its y axis must start at 0
(or say it does not), the projection must look different from the data without colour
(``NO_COLOR``), labels must never sit on the data, and nothing may overrun the frame. Every
position is computed here, so a test can read the chart as text. Pure: no clock, no terminal;
the caller maps the style names to its own styles.

Layout, top to bottom: one row of notes above the plot (a mark's label, the projection's end),
the plot rows (a y axis of sizes on the left), the x axis, and a row of clock-time labels.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

# A braille cell is 2 dots wide and 4 high; the bit of each dot, by [row][column] (Unicode's
# braille patterns, U+2800 plus the bits).
_BRAILLE = 0x2800
_DOT_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
DOTS_X = 2
DOTS_Y = 4

# Rows the chart takes besides the plot: the notes row, the x axis and its labels.
FRAME_ROWS = 3
# Dotted traces draw this many dot columns, then leave as many out: a dashed line, told from a
# solid one without colour.
DASH_DOTS = 2
# The y axis is zoomed (does not start at 0) only when everything shown would otherwise sit in
# the top quarter of the plot, where its changes could not be seen; the chart then says so.
ZOOM_WHEN_LOW_ABOVE = 0.75
# Space above the highest point, as a share of the range, so the top line is not on the frame.
HEADROOM = 0.06
# The fewest rows between two y labels, and the spaces between two x labels.
Y_LABEL_EVERY = 3
X_LABEL_GAP = 2

_SUFFIXES = ("", "K", "M", "G", "T", "P")
# Round steps for the y axis, in the unit of its labels (below 1024 of it): tenths too, so that
# 0 to 2.1G is labelled every 0.2G rather than at 1G alone.
_Y_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)
# Round steps for the clock axis, in seconds: 1 s to 4 weeks.
_X_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
            43200, 86400, 172800, 604800, 1209600, 2419200)  # fmt: skip
DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class Trace:
    """A line through points (x in seconds, y in bytes); ``dotted`` draws it dashed."""

    xs: Sequence[float]
    ys: Sequence[float]
    style: str
    dotted: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """A horizontal line at ``y`` (drawn only where no trace is), e.g. the baseline."""

    y: float
    style: str
    char: str = "╌"


@dataclass(frozen=True, slots=True)
class Mark:
    """A vertical mark at ``x`` (where no trace is), its label in the notes row above the plot."""

    x: float
    label: str
    style: str


@dataclass(frozen=True, slots=True)
class Note:
    """Text in the notes row, its right end at ``x`` (clipped to the plot)."""

    x: float
    text: str
    style: str


Segments = list[tuple[str, str]]


def size_label(value: float, unit: float, suffix: str) -> str:
    """A tick's size in toptui's unit style: ``0``, ``512K``, ``2.5M``, ``22G``."""
    if value <= 0:
        return "0"
    n = value / unit
    text = f"{n:.0f}" if abs(n - round(n)) < 1e-6 else f"{n:.1f}"
    return text + suffix


def y_ticks(lo: float, hi: float, rows: int) -> tuple[list[float], float, str]:
    """Round tick values from ``lo`` to ``hi`` (bytes), about one per ``Y_LABEL_EVERY`` rows,
    and the unit (and its letter) they are labelled in."""
    span = max(hi - lo, 1.0)
    unit, suffix = 1.0, ""
    for i, s in enumerate(_SUFFIXES):
        if hi >= 1024.0**i:
            unit, suffix = 1024.0**i, s
    most = max(1, rows // Y_LABEL_EVERY)
    step = next((s * unit for s in _Y_STEPS if span / (s * unit) <= most), None)
    if step is None:  # a range over 500 units: the next unit up
        unit *= 1024.0
        suffix = _SUFFIXES[min(len(_SUFFIXES) - 1, _SUFFIXES.index(suffix) + 1)]
        step = next((s * unit for s in _Y_STEPS if span / (s * unit) <= most), 500 * unit)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + 1e-9:
        ticks.append(v)
        v += step
    return ticks, unit, suffix


def clock_format(step_s: float, span_s: float) -> str:
    """strftime format for clock labels: HH:MM:SS within a day (the time the header and the
    notes say), the date beyond a day."""
    if step_s >= DAY_S:
        return "%b %d"
    if span_s > DAY_S:
        return "%b %d %H:%M"
    return "%H:%M:%S"


def x_ticks(w0: float, w1: float, columns: int) -> tuple[list[float], str]:
    """Round clock times (wall-clock seconds) between ``w0`` and ``w1`` whose labels fit in
    ``columns`` side by side, and the strftime format they are labelled in."""
    span = max(w1 - w0, 1e-9)
    fmt = clock_format(_X_STEPS[-1], span)
    step = float(_X_STEPS[-1])
    for s in _X_STEPS:
        fmt = clock_format(s, span)
        width = len(time.strftime(fmt, time.localtime(w0))) + X_LABEL_GAP
        if span / s * width <= columns:
            step = float(s)
            break
    # Aligned to the local clock (a tick at 15:00, not 14:07), whatever the zone's offset.
    offset = time.localtime(w0).tm_gmtoff
    first = math.ceil((w0 + offset) / step - 1e-9) * step - offset
    ticks = []
    t = first
    while t <= w1 + 1e-9:
        ticks.append(t)
        t += step
    return ticks, fmt


class _Canvas:
    """Braille cells with one style each (the last trace drawn through a cell)."""

    def __init__(self, columns: int, rows: int) -> None:
        self.columns, self.rows = columns, rows
        self.bits = [[0] * columns for _ in range(rows)]
        self.style = [[""] * columns for _ in range(rows)]
        self.chars: dict[tuple[int, int], tuple[str, str]] = {}  # rules and marks, in empty cells

    def dot(self, px: int, py: int, style: str) -> None:
        if 0 <= px < self.columns * DOTS_X and 0 <= py < self.rows * DOTS_Y:
            row, col = py // DOTS_Y, px // DOTS_X
            self.bits[row][col] |= _DOT_BITS[py % DOTS_Y][px % DOTS_X]
            self.style[row][col] = style

    def line(self, a: tuple[float, float], b: tuple[float, float], style: str, dotted: bool):
        (x0, y0), (x1, y1) = a, b
        steps = max(1, math.ceil(max(abs(x1 - x0), abs(y1 - y0))))
        for i in range(steps + 1):
            x = x0 + (x1 - x0) * i / steps
            y = y0 + (y1 - y0) * i / steps
            px = round(x)
            if dotted and (px // DASH_DOTS) % 2:
                continue
            self.dot(px, round(y), style)

    def char(self, col: int, row: int, char: str, style: str) -> None:
        if 0 <= col < self.columns and 0 <= row < self.rows and not self.bits[row][col]:
            self.chars[(col, row)] = (char, style)

    def row_segments(self, row: int) -> Segments:
        out: Segments = []
        for col in range(self.columns):
            bits = self.bits[row][col]
            if bits:
                out.append((chr(_BRAILLE + bits), self.style[row][col]))
            else:
                out.append(self.chars.get((col, row), (" ", "")))
        return _merged(out)


def _merged(segments: Segments) -> Segments:
    """Neighbouring segments of the same style joined (fewer, longer spans to draw)."""
    out: Segments = []
    for text, style in segments:
        if out and out[-1][1] == style:
            out[-1] = (out[-1][0] + text, style)
        else:
            out.append((text, style))
    return out


@dataclass(frozen=True, slots=True)
class Chart:
    """What to draw: x from ``x0`` to ``x1`` (seconds, ``clock`` added gives wall-clock time)."""

    x0: float
    x1: float
    traces: Sequence[Trace]
    rules: Sequence[Rule] = ()
    marks: Sequence[Mark] = ()
    notes: Sequence[Note] = ()
    clock: float = 0.0  # wall-clock time minus the x values' clock
    from_zero: bool = True  # False: zoomed when the data sits high (see ZOOM_WHEN_LOW_ABOVE)

    def y_range(self) -> tuple[float, float]:
        """The y axis's range: from 0 unless zoomed, to a little above the highest point."""
        ys = [y for tr in self.traces for y in tr.ys] + [r.y for r in self.rules]
        hi = max(ys, default=1.0)
        lo_data = min(ys, default=0.0)
        hi = max(hi, 1.0)
        lo = 0.0
        if not self.from_zero and lo_data >= ZOOM_WHEN_LOW_ABOVE * hi:
            lo = max(0.0, lo_data - (hi - lo_data) * 0.5 - hi * 0.01)
        return lo, hi + (hi - lo) * HEADROOM

    def render(self, width: int, height: int) -> tuple[list[Segments], float]:
        """The chart's rows, ``width`` cells each, and the y axis's lowest value (0 unless
        zoomed). ``height`` counts the notes row, the plot and the two axis rows."""
        rows = max(1, height - FRAME_ROWS)
        lo, hi = self.y_range()
        ticks, unit, suffix = y_ticks(lo, hi, rows)
        labels = [size_label(v, unit, suffix) for v in ticks]
        label_w = max(len(s) for s in (*labels, size_label(lo, unit, suffix)))
        columns = max(1, width - label_w - 1)
        canvas = _Canvas(columns, rows)
        span_x = max(self.x1 - self.x0, 1e-9)

        def px(x: float) -> float:
            return (x - self.x0) / span_x * (columns * DOTS_X - 1)

        def py(y: float) -> float:
            return (1.0 - (y - lo) / (hi - lo)) * (rows * DOTS_Y - 1)

        for rule in self.rules:
            row = round(py(rule.y)) // DOTS_Y
            for col in range(columns):
                canvas.char(col, row, rule.char, rule.style)
        for tr in self.traces:
            points = [(px(x), py(y)) for x, y in zip(tr.xs, tr.ys, strict=True)]
            if len(points) == 1:
                canvas.dot(round(points[0][0]), round(points[0][1]), tr.style)
            for a, b in itertools.pairwise(points):
                canvas.line(a, b, tr.style, tr.dotted)
        for mark in self.marks:
            col = round(px(mark.x)) // DOTS_X
            for row in range(rows):
                canvas.char(col, row, "┊", mark.style)

        tick_rows = {}
        for v, text in zip(ticks, labels, strict=True):
            row = round(py(v)) // DOTS_Y
            if 0 <= row < rows:
                tick_rows[row] = text
        pad = " " * (label_w + 1)
        out: list[Segments] = [self._notes_row(columns, px, pad)]
        for row in range(rows):
            axis = "┤" if row in tick_rows else "│"
            out.append([(tick_rows.get(row, "").rjust(label_w) + axis, "axis"),
                        *canvas.row_segments(row)])  # fmt: skip
        out.extend(self._x_axis(columns, px, label_w))
        return out, lo

    def _notes_row(self, columns: int, px, pad: str) -> Segments:
        """Mark labels (starting at their mark) and notes (ending at their x), never overlapping:
        what does not fit is left out."""
        cells: list[tuple[str, str]] = [(" ", "")] * columns
        taken = [False] * columns
        placed = [(round(px(m.x)) // DOTS_X, m.label, m.style, False) for m in self.marks]
        placed += [(round(px(n.x)) // DOTS_X, n.text, n.style, True) for n in self.notes]
        for col, text, style, ends_here in placed:
            start = col - len(text) + 1 if ends_here else col
            start = max(0, min(start, columns - len(text)))
            end = start + len(text)
            if start < 0 or end > columns or any(taken[start:end]):
                continue
            for i, ch in enumerate(text):
                cells[start + i] = (ch, style)
                taken[start + i] = True
        return _merged([(pad, ""), *cells])

    def _x_axis(self, columns: int, px, label_w: int) -> list[Segments]:
        """The axis line with a ┬ at each labelled tick, and the clock labels centred on them."""
        w0, w1 = self.x0 + self.clock, self.x1 + self.clock
        ticks, fmt = x_ticks(w0, w1, columns)
        axis = ["─"] * columns
        labels = [" "] * columns
        free_from = 0
        for t in ticks:
            col = round(px(t - self.clock)) // DOTS_X
            text = time.strftime(fmt, time.localtime(t))
            start = max(0, min(col - len(text) // 2, columns - len(text)))
            if not 0 <= col < columns or start < free_from:
                continue
            axis[col] = "┬"
            labels[start : start + len(text)] = list(text)
            free_from = start + len(text) + X_LABEL_GAP
        corner = " " * label_w + "└"
        under = " " * (label_w + 1) + "".join(labels)
        return [[(corner + "".join(axis), "axis")], [(under, "axis")]]


def rows_text(rows: Sequence[Segments]) -> list[str]:
    """The chart as plain text lines (for tests and batch use)."""
    return ["".join(text for text, _ in row) for row in rows]

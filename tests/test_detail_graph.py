"""The detail graph explains the leak (issue 15, item 6): a y axis from 0 or a note that it is not,
the fitted growth line over the leak's span with a dashed projection to the moment memory runs out
(or the plot's edge, "OOM in ~… →"), the onset marked, clock time on the x axis readable from 45 s
to 30 days, the legend on a line of its own, SHR on a key, the graph full-screen on a key, and at
80x24 at least 12 rows of plot (the facts give way first).

The chart is tested as text (render/chart.py is pure); the screen on a synthetic machine whose
leaker grows 128 KiB per simulated second (tests/test_follow_exit.py's), at the three sizes.
"""

from __future__ import annotations

import re
import sys
import time

import pytest
from test_app import wait_for
from test_follow_exit import following_the_leaker, machine
from test_layout import screen_lines

from toptui.analysis.growth import GrowthVerdict
from toptui.engine.monitor import Monitor
from toptui.render.chart import DOTS_X, FRAME_ROWS, Chart, Trace, rows_text, x_ticks
from toptui.store.history import Baseline, Series
from toptui.views.app import TopApp
from toptui.views.detail_screen import DetailScreen, describe, in_toptui_units
from toptui.views.growth_plot import (
    LEGEND_ROWS,
    PLOT_MIN_ROWS,
    GrowthPlot,
    MemoryLimit,
    fitted_line,
    leak_chart,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux terminals")

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
RATE = 128 * KIB
CLOCK_RE = re.compile(r"\b\d\d:\d\d:\d\d\b")
BRAILLE = re.compile("[\u2801-\u28ff]")
# Wall-clock time of the series' second 0: 2023-11-14 22:13:20 UTC, any zone.
EPOCH = 1_700_000_000.0


def leaking_series(seconds: int = 120, start: float = 20 * MIB, onset: int = 30) -> Series:
    """One sample a second: flat at ``start`` until ``onset``, then RATE bytes a second."""
    t = tuple(float(i) for i in range(seconds))
    res = tuple(int(start + max(0, i - onset) * RATE) for i in range(seconds))
    flat = tuple(6 * MIB for _ in t)
    return Series((7, 1), "leaker", Baseline(0.0, res[0], 6 * MIB, 30 * MIB), t, res, flat,
                  flat, tuple(0.0 for _ in t))  # fmt: skip


def leak(onset: float = 30.0, window: float = 119.0) -> GrowthVerdict:
    return GrowthVerdict("leak", RATE, 11 * MIB, window, 120, 0.9, onset, 0.0,
                         ("floor rose 11.0 MiB in 1m29s (+128 KiB/s)",))  # fmt: skip


def plot_rows(series: Series, verdict, room: float, width: int = 80, height: int = 16):
    chart, legend = leak_chart(series, verdict, MemoryLimit("MemAvailable", room), EPOCH)
    rows, lo = chart.render(width, height)
    return rows_text(rows), legend, lo


def test_the_y_axis_starts_at_0_and_the_fitted_line_is_projected_to_the_edge():
    text, legend, lo = plot_rows(leaking_series(), leak(), room=22 * GIB)
    assert lo == 0 and text[-3].lstrip().startswith("0┤")  # the lowest plot row is 0
    assert all(len(line) == 80 for line in text)  # nothing overruns the frame
    assert "OOM in ~2d02h →" in text[0]  # 22G at 128K/s, past the plot's edge
    assert text[0].rstrip().endswith("→")  # at the plot's right edge
    assert "onset" in text[0] and time.strftime("%H:%M:%S", time.localtime(EPOCH + 30)) in text[0]
    names = [name for _, name in legend]
    assert names[:4] == ["res", "fit", "onset", "projection"]
    assert "fitted +128K/s" in legend[1][0]
    # The onset mark is a column of ┊ at second 30, where no trace is.
    onset_cols = {line.index("┊") for line in text[1:-2] if "┊" in line}
    assert len(onset_cols) == 1


def test_the_projection_is_dashed_and_reaches_the_moment_memory_runs_out_when_in_view():
    series = leaking_series()
    # 8 MiB left: run out in 64 s, within one history's length ahead: drawn to there.
    text, legend, _ = plot_rows(series, leak(), room=8 * MIB, width=120, height=20)
    out = time.strftime("%H:%M:%S", time.localtime(EPOCH + 119 + 64))
    assert f"MemAvailable runs out ~{out} ✕" in text[0]
    assert ("─ MemAvailable used up", "limit") in legend
    # Right of now the line is dashed: braille cells with gaps between them.
    chart, _ = leak_chart(series, leak(), MemoryLimit("MemAvailable", 8 * MIB), EPOCH)
    rows, _ = chart.render(120, 20)
    label_w = len(rows[1][0][0]) - 1
    now_col = round((119 - chart.x0) / (chart.x1 - chart.x0) * (120 - label_w - 1) * DOTS_X)
    future = [rows_text([r])[0][label_w + 1 + now_col // DOTS_X + 1 :] for r in rows[1:-2]]
    dashed = [BRAILLE.sub("#", f).strip() for f in future if BRAILLE.search(f)]
    assert any(" " in d for d in dashed), dashed  # gaps: dashed, not solid
    # Solid where measured: the RES trace left of now has no gaps along its path.
    fit = fitted_line(series, leak())
    assert fit is not None and fit.t0 == 30.0 and abs(fit.at(119.0) - series.res[-1]) < MIB


def test_a_high_flat_process_says_its_y_axis_does_not_start_at_0():
    series = leaking_series(start=2 * GIB, onset=10_000)  # flat at 2 GiB
    no_leak = GrowthVerdict("no_leak", 0.0, 0.0, 119.0, 120, 0.9, None, 0.0, ("flat",))
    chart, legend = leak_chart(series, no_leak, MemoryLimit("MemAvailable", GIB), EPOCH)
    _, lo = chart.render(80, 16)
    assert lo > 0  # zoomed, and the widget says so (see the pilot test below)
    assert not any(name == "fit" for _, name in legend)  # nothing fitted: no growth


@pytest.mark.parametrize("span", [45, 600, 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400,
                                  30 * 86400])  # fmt: skip
@pytest.mark.parametrize("columns", [70, 190])
def test_the_clock_axis_is_readable_from_45_seconds_to_30_days(span, columns):
    ticks, fmt = x_ticks(EPOCH, EPOCH + span, columns)
    labels = [time.strftime(fmt, time.localtime(t)) for t in ticks]
    assert len(ticks) >= 2, (span, columns, labels)
    assert sum(len(s) + 2 for s in labels) <= columns + 2  # side by side without overlapping
    if span > 86400:
        assert re.match(r"[A-Z][a-z]{2} \d\d", labels[0]), labels  # dates beyond a day
    else:
        assert CLOCK_RE.fullmatch(labels[0]), labels  # clock time, HH:MM:SS
    chart = Chart(0.0, float(span), [Trace((0.0, float(span)), (MIB, 2 * MIB), "res")],
                  clock=EPOCH)  # fmt: skip
    rows, _ = chart.render(columns + 8, 16)
    lines = rows_text(rows)
    assert all(len(line) == columns + 8 for line in lines)
    assert len(lines[-1].split()) >= 2 or fmt == "%b %d %H:%M"


def test_the_facts_use_toptuis_units_and_name_the_limit():
    series = leaking_series()
    facts = describe(series, None, leak(), MemoryLimit("MemAvailable", 22 * GIB), EPOCH)
    text = "\n".join(line.plain for line in facts)
    assert "+128K/s" in text and "KiB" not in text and "MiB" not in text
    assert "confidence" not in text
    assert in_toptui_units("rose 11.0 MiB (+128 KiB/s), 2.15 GiB left, lasts 47h59m") == (
        "rose 11.0M (+128K/s), 2.1G left, lasts 1d23h"
    )


async def open_leaker(pilot, app: TopApp, m) -> DetailScreen:
    await following_the_leaker(pilot, app)
    await wait_for(pilot, lambda: app.frame is not None and app.frame.leaks())
    await pilot.press("enter")
    screen = app.screen
    assert isinstance(screen, DetailScreen)
    plot = screen.query_one(GrowthPlot)
    await wait_for(pilot, lambda: "fitted" in plot.render().plain)
    return screen


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
async def test_the_detail_graph_of_a_leak_at_each_size(size):
    m = machine()
    app = TopApp(interval_s=0.05, monitor=Monitor(m, interval_s=1.0, judge_every_s=1.0))  # type: ignore[arg-type]
    async with app.run_test(size=size) as pilot:
        screen = await open_leaker(pilot, app, m)
        plot = screen.query_one(GrowthPlot)
        assert plot.size.height - LEGEND_ROWS - FRAME_ROWS >= PLOT_MIN_ROWS
        lines = screen_lines(app)
        text = "\n".join(lines)
        # The detector's estimate of 128 KiB/s, within a few per cent.
        assert re.search(r"fitted \+1[23]\dK/s", text) and "OOM in ~" in text, text
        assert CLOCK_RE.search(lines[plot.region.y + plot.size.height - 1])  # clock labels
        # 300 MiB growing by a few MiB: the axis is zoomed, and says so first.
        assert plot.zoomed_from > 0 and "not 0" in lines[plot.region.y]
        facts = screen.query_one("#detail-facts")
        assert "MemAvailable" in str(facts.content) or "more line" in str(facts.content)
        assert "LEAK" in str(facts.content)
        footer = lines[-1]
        for key in ("x", "e", "s", "k"):
            assert f" {key} " in f" {footer} ", footer
        # e: the graph alone; again: the facts back.
        before = plot.size.height
        await pilot.press("e")
        await wait_for(pilot, lambda: plot.size.height > before)
        assert not facts.display
        await pilot.press("e")
        await wait_for(pilot, lambda: plot.size.height == before)
        # s: SHR drawn, and said so in the legend.
        assert "s: SHR" in plot.render().plain
        await pilot.press("s")
        await wait_for(pilot, lambda: "⣿ SHR" in plot.render().plain)
        assert "s: SHR" not in plot.render().plain


async def test_at_80x24_the_facts_give_way_to_the_graph():
    m = machine()
    app = TopApp(interval_s=0.05, monitor=Monitor(m, interval_s=1.0, judge_every_s=1.0))  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_leaker(pilot, app, m)
        facts = screen.query_one("#detail-facts")
        plot = screen.query_one(GrowthPlot)
        assert plot.region.bottom <= 23  # the footer keeps its row
        assert facts.size.height + plot.size.height + 2 <= 24
        assert "more line" in str(facts.content)  # and it says what was cut
        await pilot.resize_terminal(120, 60)
        await wait_for(pilot, lambda: "more line" not in str(facts.content))


async def test_help_explains_the_statistics_the_facts_use():
    m = machine()
    app = TopApp(interval_s=0.05, monitor=Monitor(m, interval_s=1.0, judge_every_s=1.0))  # type: ignore[arg-type]
    async with app.run_test(size=(200, 50)) as pilot:
        await open_leaker(pilot, app, m)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: "Words in the detail view" in "\n".join(screen_lines(app)))
        text = "\n".join(screen_lines(app))
        for term in ("trend z", "least growth that counts", "floor", "onset", "OOM in ~"):
            assert term in text, term
        assert "Mann-Kendall" in text and "Graph full-screen" in text and "SHR" in text


async def test_a_child_under_a_tighter_cgroup_limit_runs_out_against_that_limit():
    """The facts and the graph reckon "memory runs out" against the room under the process's
    cgroup limit when it is tighter than MemAvailable, and name it."""
    from children import MemoryChild
    from test_cgroup import memory_cgroup, move_into

    limit = 512 * 2**20
    with memory_cgroup(limit) as group, MemoryChild() as boxed:
        assert group is not None
        move_into(group, boxed.pid)
        boxed.grow(64)  # charged to the cgroup: allocated after the move
        app = TopApp(interval_s=0.2, pids=[boxed.pid])
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.frames_seen >= 2)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
            screen = app.screen
            assert isinstance(screen, DetailScreen) and app.frame is not None
            room = screen.limit_for(app.frame.snapshot)
            assert room.name == "cgroup limit"
            assert 0 < room.room_bytes <= limit - 64 * 2**20

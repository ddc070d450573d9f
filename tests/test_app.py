"""The screen, driven through Textual's pilot as a person would: keys, sorting, selection, views."""

import asyncio
import os
import re
import sys
from dataclasses import replace

import pytest
from children import WAIT_S, MemoryChild

from toptui.engine.monitor import Monitor
from toptui.sampling.sampler import Sampler
from toptui.views.app import TopApp
from toptui.views.detail_screen import DetailScreen
from toptui.views.growth_panel import GrowthPanel
from toptui.views.growth_plot import GrowthPlot
from toptui.views.help_screen import HelpScreen

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
MIB = 1024 * 1024
SIZE = (160, 45)


async def wait_for(pilot, predicate, timeout: float = WAIT_S) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)


def row_text(app: TopApp, index: int) -> str:
    """What the table shows on a row, as plain text (line 0 is the column header)."""
    return app.table.render_line(index + 1 - int(app.table.scroll_offset.y)).text


async def test_shift_m_sorts_by_res_and_selection_follows_the_process():
    with MemoryChild(start_mib=300) as big:
        app = TopApp(interval_s=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.frames_seen >= 2)
            await pilot.press("M")  # Shift+M as a real terminal sends it
            await wait_for(pilot, lambda: app.table.sort_column == "RES")
            rows = app.table.rows
            assert [p.res for p in rows] == sorted((p.res for p in rows), reverse=True)
            # The largest process is on the first row (another test running beside this one
            # may hold more than our 300 MiB child, so compare with the machine's maximum).
            assert rows[0].res == max(p.res for p in rows)
            assert row_text(app, 0).split()[0] == str(rows[0].pid)
            big_row = next(i for i, p in enumerate(rows) if p.pid == big.pid)
            assert all(p.res >= rows[big_row].res for p in rows[:big_row])
            app.table.select_key(rows[big_row].key)
            assert app.table.cursor_key == rows[big_row].key
            # Refreshes re-sort (RES moves): the selection stays on the same process.
            seen = app.frames_seen
            await wait_for(pilot, lambda: app.frames_seen >= seen + 2)
            assert app.table.selected.pid == big.pid
            # A sort key asks for the top of the new order, as in top: the cursor goes there.
            await pilot.press("N")
            await wait_for(pilot, lambda: app.table.sort_column == "PID")
            pids = [p.pid for p in app.table.rows]
            assert pids == sorted(pids, reverse=True)
            assert app.table.cursor_index == 0 and app.table.scroll_offset.y == 0
            assert app.table.selected.pid == pids[0]
            # R reverses, < and > move the sort column.
            await pilot.press("R")
            pids = [p.pid for p in app.table.rows]
            assert pids == sorted(pids)
            await pilot.press("greater_than_sign")
            assert app.table.sort_column == "USER"
            await pilot.press("less_than_sign", "less_than_sign")
            assert app.table.sort_column == "COMMAND"  # wraps around, as in top
            await pilot.press("P")
            assert app.table.sort_column == "%CPU"
            await pilot.press("q")


async def test_an_untouched_cursor_stays_on_the_top_row_so_m_then_enter_opens_the_biggest():
    with MemoryChild(start_mib=40) as small, MemoryChild(start_mib=200) as big:
        app = TopApp(interval_s=0.2, pids=[small.pid, big.pid], sort="RES", descending=False)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: len(app.table.rows) == 2)
            assert app.table.selected.pid == small.pid  # smallest first
            await pilot.press("M")
            await wait_for(pilot, lambda: app.table.descending)
            assert app.table.cursor_index == 0 and app.table.selected.pid == big.pid
            await pilot.press("enter")
            assert isinstance(app.screen, DetailScreen) and app.screen.key[0] == big.pid
            await pilot.press("escape")
            # Once moved, the cursor follows its process when a refresh reorders the rows.
            await pilot.press("down")
            assert app.table.selected.pid == small.pid
            small.grow(400)  # now the bigger one: a refresh puts it on top
            await wait_for(pilot, lambda: app.table.rows[0].pid == small.pid)
            assert app.table.selected.pid == small.pid and app.table.cursor_index == 0
            await wait_for(pilot, lambda: app.table.rows[1].pid == big.pid)
            assert app.table.selected.pid == small.pid
            await pilot.press("home")  # back to "whoever is on top"
            big.grow(600)
            await wait_for(pilot, lambda: app.table.rows[0].pid == big.pid)
            await wait_for(pilot, lambda: app.table.selected.pid == big.pid)


async def test_cursor_keys_move_the_selection():
    # Sorted by PID, rows keep their places between refreshes (under %CPU they would move,
    # and the cursor would rightly move with its process).
    app = TopApp(interval_s=0.2, sort="PID", descending=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.table.rows) > 5)
        await pilot.press("home", "down", "down")
        assert app.table.cursor_index == 2
        await pilot.press("up")
        assert app.table.cursor_index == 1
        # New processes appear at the end of a PID order at any time (and the cursor follows
        # its process), so End is checked as "on the highest PID there was when pressed".
        highest = max(row.pid for row in app.table.rows)
        await pilot.press("end")
        selected = app.table.selected
        assert selected is not None and selected.pid >= highest
        await pilot.press("home", "pagedown")
        assert app.table.cursor_index > 10


async def test_enter_opens_the_detail_graph_and_escape_returns():
    with MemoryChild(start_mib=200) as child:
        app = TopApp(interval_s=0.2, pids=[child.pid])
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.frames_seen >= 3)
            await pilot.press("enter")
            assert isinstance(app.screen, DetailScreen)
            assert app.screen.key[0] == child.pid
            plot = app.screen.query_one(GrowthPlot)
            await wait_for(pilot, lambda: plot._series is not None and len(plot._series.t) >= 3)
            # Sizes in toptui's units on the y axis, clock time (HH:MM:SS) on the x axis (once
            # the plot has its size and a span wide enough for a round time's label).
            await wait_for(
                pilot,
                lambda: re.search(r"\d\d:\d\d:\d\d", plot.render().plain.splitlines()[-1]),
            )
            rendered = plot.render().plain
            assert "⣿ RES" in rendered and re.search(r"\d+M┤", rendered), rendered
            facts = str(app.screen.query_one("#detail-facts").content)
            assert "Baseline" in facts and "RES" in facts
            assert "(sleeping)" in facts  # top's S column in words: the child waits on stdin
            await pilot.press("escape")
            assert not isinstance(app.screen, DetailScreen)


async def test_help_lists_the_keys():
    app = TopApp(interval_s=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("h")
        assert isinstance(app.screen, HelpScreen)


class FakeClock:
    def __init__(self) -> None:
        self.t = 5000.0

    def __call__(self) -> float:
        return self.t


class SteppedSampler(Sampler):
    """Real RES from a real child that leaks 1 MiB per tick; the clock says a tick is 1 s."""

    def __init__(self, child: MemoryChild, quiet: MemoryChild) -> None:
        self.fake_clock = FakeClock()
        super().__init__(pids=[child.pid, quiet.pid], clock=self.fake_clock)
        self.child = child

    def sample(self):
        self.child.grow(1)
        # The wall clock follows the simulated one too, so a recording of it has 1 s ticks.
        snap = replace(super().sample(), t_wall=1_700_000_000 + self.fake_clock.t)
        self.fake_clock.t += 1.0
        return snap


async def test_growth_panel_lists_the_leaking_child_and_not_the_flat_one():
    with MemoryChild(start_mib=5) as leaker, MemoryChild(start_mib=40) as flat:
        monitor = Monitor(SteppedSampler(leaker, flat), interval_s=1.0, judge_every_s=1.0)
        app = TopApp(interval_s=0.01, monitor=monitor)
        async with app.run_test(size=SIZE) as pilot:
            panel = app.query_one(GrowthPanel)
            await wait_for(pilot, lambda: app.frames_seen >= 1)
            # No verdict yet: not an all-clear, but how long until there is one.
            assert "Not judged yet: judging" in str(panel.content)
            await wait_for(pilot, lambda: app.frame is not None and app.frame.leaks())
            leaks = app.frame.leaks()
            assert [k[0] for k, _ in leaks] == [leaker.pid]
            await wait_for(pilot, lambda: str(leaker.pid) in str(panel.content))
            text = str(panel.content)
            assert str(leaker.pid) in text and str(flat.pid) not in text
            assert "/s" in text
            # The table's GROWTH column shows the rate on the leaker's row only.
            await pilot.press("G")
            assert app.table.rows[0].pid == leaker.pid
            assert "/s" in row_text(app, 0) and "/s" not in row_text(app, 1)
            # g hides and shows the panel.
            await pilot.press("g")
            assert panel.has_class("hidden") and not panel.region.height
            await pilot.press("g")
            assert not panel.has_class("hidden") and panel.region.height


class SyntheticSampler:
    """Hundreds of steady processes and one whose RES changes every tick: no /proc needed."""

    live = False  # not this machine: the Source protocol
    extras_for: frozenset = frozenset()

    def __init__(self, n: int = 300) -> None:
        from toptui.model import CpuStates, MemoryStats, SystemStats, TaskCounts

        self.t = 100.0
        self.n = n
        self.system = SystemStats(1.0, (0.0, 0.0, 0.0), 1, CpuStates(),
                                  MemoryStats(8 << 30, 4 << 30, 6 << 30, 0, 0, 0, 0),
                                  TaskCounts(n, 0, n, 0, 0))  # fmt: skip

    def sample(self):
        from toptui.model import ProcSample, Snapshot

        self.t += 1.0
        procs = tuple(
            ProcSample(
                key=(pid, pid), pid=pid, ppid=1, user="u", name=f"proc{pid}",
                command=f"proc{pid}", state="S", priority=20, nice=0, threads=1,
                virt=10 * MIB, res=(MIB + int(self.t) * 4096) if pid == 5 else MIB, shr=MIB // 2,
                cpu_percent=0.0, mem_percent=0.0, cpu_time=1.0, create_time=0.0,
            )
            for pid in range(1, self.n + 1)
        )  # fmt: skip
        return Snapshot(self.t, 1_700_000_000 + self.t, 1.0, self.system, procs)


async def test_a_refresh_repaints_only_the_rows_that_changed():
    monitor = Monitor(SyntheticSampler(), judge_every_s=1000.0)
    app = TopApp(interval_s=0.05, monitor=monitor, sort="PID", descending=False)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(pilot, lambda: app.frames_seen >= 5)
        # Only pid 5's RES (and %MEM) moved: one line of ~40 visible ones is repainted.
        assert app.table.lines_repainted == 1
        assert "proc5" in row_text(app, 4)


@pytest.mark.parametrize("size", [(20, 5), (40, 10)])
async def test_tiny_terminal_keeps_the_table_readable(size):
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.frames_seen >= 2)
        assert app.table.region.height == size[1]  # summary, panel and footer give way
        assert "PID" in app.table.render_line(0).text
        await pilot.press("M", "enter")
        await pilot.pause(0.3)
        await pilot.press("escape", "question_mark", "escape")
        await pilot.resize_terminal(160, 45)
        await wait_for(pilot, lambda: app.query_one("#summary").region.height == 5)
        await pilot.resize_terminal(*size)
        await wait_for(pilot, lambda: app.table.region.height == size[1])


class LeakThenExit(SteppedSampler):
    """The leaker grows each tick until told to exit; then it is killed and left unreaped (a
    zombie, RES 0) for a few ticks, as a killed child of a busy parent is, then reaped."""

    exit_now = False
    zombie_ticks = 0

    def sample(self):
        if not self.exit_now:
            return super().sample()
        if self.zombie_ticks == 0:
            self.child.proc.kill()
            os.waitid(os.P_PID, self.child.pid, os.WEXITED | os.WNOWAIT)  # dead, not reaped
        elif self.zombie_ticks == 3:
            self.child.proc.wait()
        self.zombie_ticks += 1
        self.fake_clock.t += 1.0
        return replace(Sampler.sample(self), t_wall=1_700_000_000 + self.fake_clock.t)


async def test_detail_view_of_a_leak_that_exits_keeps_its_last_facts():
    with MemoryChild(start_mib=5) as leaker, MemoryChild(start_mib=40) as flat:
        sampler = LeakThenExit(leaker, flat)
        monitor = Monitor(sampler, interval_s=1.0, judge_every_s=1.0)
        app = TopApp(interval_s=0.05, monitor=monitor, sort="PID", descending=False)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.frame is not None and app.frame.leaks())
            app.table.select_key(next(k for k, _ in app.frame.leaks()))
            await pilot.press("enter")
            assert isinstance(app.screen, DetailScreen)
            await wait_for(
                pilot, lambda: "LEAK" in str(app.screen.query_one("#detail-facts").content)
            )
            sampler.exit_now = True
            facts = app.screen.query_one("#detail-facts")
            await wait_for(pilot, lambda: "exited" in str(facts.content))
            seen = app.frames_seen
            await wait_for(pilot, lambda: app.frames_seen >= seen + 5)  # and it stays so
            text = str(facts.content)
            assert "Last verdict before it exited: LEAK" in text, text
            assert "RES 0 B" not in text and "floor not rising" not in text, text
            assert "Memory exhausted" not in text


async def test_table_only_keys_are_off_in_the_detail_view():
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.frames_seen >= 2)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("slash", "backslash", "d")
        assert not app.prompt.display  # no prompt opened behind the detail view
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("escape", "slash")
        assert app.prompt.display

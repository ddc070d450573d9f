"""The growth panel on the real screen: a time-true sparkline, the table's filters, one line per
entry with a count of what does not fit, and families of one in family mode.

The machine is synthetic (no /proc): each process's RES is a straight line in simulated seconds,
so the detector's verdicts are known and a test does not wait minutes for a leak to show.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rich.cells import cell_len
from test_app import wait_for
from test_sparkline import assert_even_ramp

from toptui.analysis.tree import families
from toptui.engine.monitor import Monitor
from toptui.model import CpuStates, MemoryStats, ProcSample, Snapshot, SystemStats, TaskCounts
from toptui.render.rows import Narrowing
from toptui.render.sparkline import BARS
from toptui.views.app import TopApp
from toptui.views.growth_panel import GrowthPanel

KIB = 1024
MIB = 1024 * KIB
PAGE = 4096


@dataclass(frozen=True)
class Fake:
    pid: int
    ppid: int = 1
    rate: float = 0.0  # bytes per simulated second
    user: str = "root"
    name: str = ""
    base: int = 20 * MIB


class FakeMachine:
    """Processes whose RES grows at a fixed rate; each sample is one simulated second later."""

    live = False  # not this machine: the Source protocol
    extras_for: frozenset = frozenset()

    def __init__(self, procs: list[Fake]) -> None:
        self.procs = [Fake(1, 0, name="systemd"), *procs]  # init: its family is the machine
        self.t = 0.0
        self.step_s = 1.0  # simulated seconds per sample
        memory = MemoryStats(16 << 30, 8 << 30, 8 << 30, 0, 0, 0, 0)
        self.system = SystemStats(1.0, (0.0, 0.0, 0.0), 1, CpuStates(), memory, TaskCounts())

    def sample(self) -> Snapshot:
        self.t += self.step_s
        procs = tuple(
            ProcSample(key=(f.pid, 1), pid=f.pid, ppid=f.ppid, user=f.user,
                       name=f.name or f"proc{f.pid}", command=f"/usr/bin/{f.name} --serve",
                       state="S", priority=20, nice=0, threads=1, virt=4 * f.base,
                       res=int(f.base + f.rate * self.t) // PAGE * PAGE, shr=MIB,
                       cpu_percent=0.0, mem_percent=0.0, cpu_time=0.0, create_time=0.0)
            for f in self.procs
        )  # fmt: skip
        return Snapshot(1000.0 + self.t, 1_700_000_000 + self.t, 1.0, self.system, procs)


def monitor_after(procs: list[Fake], seconds: int, families: bool = False) -> Monitor:
    """A monitor that has already watched the machine for ``seconds`` simulated seconds (and
    judged families all along, with ``families``)."""
    monitor = Monitor(FakeMachine(procs), interval_s=1.0, judge_every_s=5.0)  # type: ignore[arg-type]
    monitor.judge_budget_s = 10.0
    monitor.families = families
    for _ in range(seconds):
        monitor.step()
    return monitor


def five_leakers() -> list[Fake]:
    """Five lone leakers (children of init), fastest first, and a flat process."""
    rates = [900, 700, 500, 400, 300]
    leakers = [Fake(1000 + i, rate=r * KIB, name=f"leaker{i}") for i, r in enumerate(rates)]
    return [*leakers, Fake(2000, name="flat")]


def panel_lines(panel: GrowthPanel) -> list[str]:
    return str(panel.content).split("\n")


async def shown(pilot, app: TopApp, n: int) -> GrowthPanel:
    """The panel once it has drawn ``n`` entries' worth of frames (leaks already judged)."""
    panel = app.growth_panel
    await wait_for(pilot, lambda: app.frames_seen >= 2 and app.frame is not None)
    await wait_for(pilot, lambda: len(app.frame.leaks()) >= n)
    await pilot.pause(0.1)
    return panel


def assert_fits(app: TopApp, panel: GrowthPanel) -> list[str]:
    """Every line of the panel is on screen, none wider than the panel (so none wraps)."""
    lines = panel_lines(panel)
    assert all(cell_len(line) <= panel.content_region.width for line in lines), lines
    assert panel.content_region.height == len(lines), (panel.content_region, lines)
    return lines


# -- 1: the sparkline is drawn against time ------------------------------------------------------


async def test_the_panel_draws_a_steady_leak_of_13_minutes_as_an_even_ramp():
    # Older history is compacted to a few points per block: by sample count, it levelled off.
    monitor = monitor_after([Fake(1000, rate=256 * KIB, name="leaker")], 13 * 60)
    app = TopApp(interval_s=0.05, monitor=monitor)
    async with app.run_test(size=(160, 45)) as pilot:
        panel = await shown(pilot, app, 1)
        line = next(x for x in panel_lines(panel) if x.split()[:1] == ["1000"])
        spark = "".join(c for c in line if c in BARS)
        assert len(spark) >= 30
        assert_even_ramp(spark, len(spark))


# -- 2: the table's filters ----------------------------------------------------------------------


def mixed_users() -> list[Fake]:
    return [
        Fake(1000, rate=900 * KIB, user="root", name="rootleak"),
        Fake(1001, rate=700 * KIB, user="nobody", name="web-worker"),
        Fake(1002, rate=500 * KIB, user="nobody", name="cron"),
        Fake(1003, rate=300 * KIB, user="root", name="web-admin"),
        Fake(2000, user="nobody", name="flat"),
    ]


def listed(panel: GrowthPanel) -> set[int]:
    """The pids on the panel's lines (not the header's, nor a message's)."""
    first = (x.split()[:1] for x in panel_lines(panel))
    return {int(w[0]) for w in first if w and w[0].isdigit()}


async def test_the_panel_lists_only_what_the_tables_filters_show():
    app = TopApp(interval_s=0.05, monitor=monitor_after(mixed_users(), 120), user="nobody")
    async with app.run_test(size=(160, 45)) as pilot:
        await shown(pilot, app, 4)
        app.paused = True  # the app does not pass the filters itself: draw by hand
        panel, table = app.growth_panel, app.table
        for text in (None, "web", "WEB-a"):
            for user in ("nobody", None):
                table.user = user
                table.set_filter(text)
                panel.show(app.frame, app.monitor.history, table.narrowing)
                await pilot.pause()
                rows = {p.pid for p in table.rows}
                leaking = {k[0] for k, _ in app.frame.leaks()}
                assert listed(panel) == rows & leaking, (user, text, str(panel.content))
                title = str(panel.border_title)
                assert (f"user {user}" in title) == (user is not None), title
                assert (f"filter {text}" in title) == bool(text), title
        # Nothing narrows: the title is as before; narrowed to no leaker: say so, and why.
        table.set_filter(None)
        panel.show(app.frame, app.monitor.history, table.narrowing)
        assert str(panel.border_title).startswith("Growing steadily: 4  (")
        table.user = "nobody"
        table.set_filter("flat")
        panel.show(app.frame, app.monitor.history, table.narrowing)
        await pilot.pause()
        assert "Growing steadily: 0 of 4 (user nobody, filter flat)" in str(panel.border_title)
        assert "4 growing not shown: filtered" in str(panel.content)


@pytest.mark.skipif(not hasattr(TopApp, "_show_growth"), reason="app.py does not pass filters yet")
async def test_the_screens_filters_narrow_the_panel_at_once():
    """End to end, once TopApp passes the table's filters to the panel (``_show_growth``)."""
    app = TopApp(interval_s=0.05, monitor=monitor_after(mixed_users(), 120), user="nobody")
    async with app.run_test(size=(160, 45)) as pilot:
        panel = await shown(pilot, app, 4)
        await wait_for(pilot, lambda: listed(panel) == {1001, 1002})
        assert "Growing steadily: 2 of 4 (user nobody)" in str(panel.border_title)
        app.paused = True  # from here on, only the keys redraw the panel
        await pilot.press("backslash", "w", "e", "b", "enter")
        assert listed(panel) == {1001}
        assert "(user nobody, filter web)" in str(panel.border_title)
        await pilot.press("escape")  # the filter goes
        assert listed(panel) == {1001, 1002}
        await pilot.press("escape")  # then the user
        assert listed(panel) == {1000, 1001, 1002, 1003}
        assert str(panel.border_title).startswith("Growing steadily: 4  (")


async def test_family_heads_are_filtered_and_the_outermost_kept_one_shown():
    # root's shell started nobody's two leakers: root's family leaks as a whole, and with the
    # table narrowed to nobody the two are shown, as their own families of one.
    procs = [
        Fake(500, user="root", name="bash"),
        Fake(1001, 500, rate=700 * KIB, user="nobody", name="leakA"),
        Fake(1002, 500, rate=500 * KIB, user="nobody", name="leakB"),
    ]
    app = TopApp(interval_s=0.05, monitor=monitor_after(procs, 120, families=True))
    async with app.run_test(size=(160, 45)) as pilot:
        await shown(pilot, app, 2)
        app.paused = True  # the monitor samples and judges on; the panel is drawn by hand
        panel = app.growth_panel
        panel.toggle_family()
        frame = app.monitor.last
        panel.show(frame, app.monitor.history)
        assert listed(panel) == {500}  # judged by the monitor, not by the panel
        assert "bash +2" in str(panel.content)
        panel.show(frame, app.monitor.history, Narrowing(user="nobody"))
        await pilot.pause()
        assert listed(panel) == {1001, 1002}
        assert "Growing families: 2 (user nobody)" in str(panel.border_title)


async def test_a_family_is_shown_by_the_smallest_one_that_explains_its_growth():
    # A leaker started from a shell in tmux leaks the shell's and the server's families too; the
    # panel names the leaker, not "tmux: server +3". A pool whose two workers share the growth
    # stays whole.
    procs = [
        Fake(400, name="tmux: server"),
        Fake(500, 400, name="bash"),
        Fake(501, 400, name="bash"),
        Fake(1001, 500, rate=700 * KIB, name="leaker"),
        Fake(300, name="pool"),
        Fake(301, 300, rate=300 * KIB, name="pool-worker"),
        Fake(302, 300, rate=300 * KIB, name="pool-worker"),
    ]
    app = TopApp(interval_s=0.05, monitor=monitor_after(procs, 120))
    async with app.run_test(size=(160, 45)) as pilot:
        panel = await shown(pilot, app, 3)
        await pilot.press("F")
        await wait_for(pilot, lambda: listed(panel) == {1001, 300})
        text = str(panel.content)
        assert "tmux" not in text and "bash" not in text and "pool +2" in text
        assert str(panel.border_title).startswith("Growing families: 2")


async def test_the_panel_shows_command_lines_when_the_table_does():
    # Two leakers both named python3 are told apart by their command lines after c.
    procs = [Fake(1001, rate=700 * KIB, name="python3"), Fake(1002, rate=500 * KIB, name="python3")]
    app = TopApp(interval_s=0.05, monitor=monitor_after(procs, 120))
    async with app.run_test(size=(160, 45)) as pilot:
        panel = await shown(pilot, app, 2)
        assert "--serve" not in str(panel.content)
        await pilot.press("c")
        await wait_for(pilot, lambda: "/usr/bin/python3 --serve" in str(panel.content))


# -- 3: one line per entry, and what does not fit is counted --------------------------------------


async def test_at_80_columns_each_entry_is_one_line_and_all_fit():
    app = TopApp(interval_s=0.05, monitor=monitor_after(five_leakers(), 120))
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await shown(pilot, app, 5)
        lines = assert_fits(app, panel)
        assert len(lines) == 6  # the header and five entries
        assert [x.split()[0] for x in lines[1:]] == ["1000", "1001", "1002", "1003", "1004"]
        assert all("/s" in x and "in ~" in x and any(c in BARS for c in x) for x in lines[1:])
        assert app.table.region.height >= 5  # the table keeps a few rows


async def test_when_entries_do_not_fit_the_fastest_stay_and_the_rest_are_counted():
    app = TopApp(interval_s=0.05, monitor=monitor_after(five_leakers(), 120))
    async with app.run_test(size=(100, 23)) as pilot:  # a short terminal: a 2-line panel
        panel = await shown(pilot, app, 5)
        lines = assert_fits(app, panel)
        assert lines[0].split()[0] == "1000"  # the fastest grower
        assert lines[-1].startswith("… 4 more")
        assert str(panel.border_title).startswith("Growing steadily: 5")
        # Taller, it all fits again, even though the width did not change (and no frame comes).
        app.paused = True
        await pilot.resize_terminal(100, 40)
        await wait_for(pilot, lambda: len(panel_lines(panel)) == 6)
        assert_fits(app, panel)
        await pilot.resize_terminal(100, 23)
        await wait_for(pilot, lambda: panel_lines(panel)[-1].startswith("… 4 more"))


async def test_many_leakers_leave_the_table_its_rows():
    procs = [Fake(1000 + i, rate=(300 + 20 * i) * KIB, name=f"w{i}") for i in range(20)]
    app = TopApp(interval_s=0.05, monitor=monitor_after(procs, 120))
    async with app.run_test(size=(120, 30)) as pilot:
        panel = await shown(pilot, app, 20)
        lines = assert_fits(app, panel)
        assert lines[0].split()[0] == "PID" and lines[1].split()[0] == "1019"  # fastest first
        hidden = 20 - (len(lines) - 2)
        assert lines[-1].startswith(f"… {hidden} more")
        assert app.table.region.height >= 5


async def test_narrow_panels_condense_the_line_rather_than_wrap():
    app = TopApp(interval_s=0.05, monitor=monitor_after(five_leakers(), 120))
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await shown(pilot, app, 5)
        app.paused = True
        wide = panel.render_entries(120, 20).plain.split("\n")
        assert max(len(x) for x in wide) <= 120 and "RES HISTORY" in wide[0]
        for width in (70, 50, 40, 30, 20):
            lines = panel.render_entries(width, 20).plain.split("\n")
            assert len(lines) == 6 and all(cell_len(x) <= width for x in lines), (width, lines)
            assert all(x.split()[0].isdigit() for x in lines[1:])  # the pid always leads
            assert all("/s" in x for x in lines[1:]) or width < 25  # and the rate stays
        # However few lines there are, the fastest grower is shown and the rest are counted.
        for height in range(1, 8):
            lines = panel.render_entries(80, height).plain.split("\n")
            pids = [x.split()[0] for x in lines if x.split()[0].isdigit()]
            assert len(lines) <= height and pids[0] == "1000", (height, lines)
            more = 5 - len(pids)
            assert (lines[-1] == f"… {more} more, growing more slowly") == (more > 0 and height > 1)
        at40 = panel.render_entries(40, 20).plain.split("\n")
        assert "/s" in at40[1] and not any(c in BARS for c in at40[1])  # the sparkline went


# -- 4: family mode lists lone leakers as families of one ---------------------------------------


def test_a_process_without_children_is_a_family_of_one():
    machine = FakeMachine([Fake(100), Fake(101, 100), Fake(102, 101), Fake(200), Fake(300, 7)])
    fam = families(machine.sample().procs)
    assert fam[(100, 1)] == [(101, 1), (102, 1)] or sorted(fam[(100, 1)]) == [(101, 1), (102, 1)]
    assert fam[(101, 1)] == [(102, 1)]
    assert fam[(102, 1)] == [] and fam[(200, 1)] == [] and fam[(300, 1)] == []
    assert (1, 1) not in fam  # init has children: its family is the whole machine


async def test_family_mode_lists_lone_leakers_and_sums_a_pool_under_its_parent():
    # Four workers each keep 400 B/s: under the detector's 1 KiB/s, none leaks alone; together
    # they do. Beside them, five lone leakers.
    pool = [Fake(300, name="pool")] + [
        Fake(301 + i, 300, rate=400, name="pool-worker") for i in range(4)
    ]
    app = TopApp(interval_s=0.05, monitor=monitor_after(five_leakers() + pool, 900))
    async with app.run_test(size=(160, 45)) as pilot:
        panel = await shown(pilot, app, 5)
        assert not {k[0] for k, _ in app.frame.leaks()} & {300, 301, 302, 303, 304}
        await pilot.press("F")
        assert app.monitor.families  # the monitor judges them from now on
        # Lone leakers at once (their own verdicts); the pool once its own state machine has
        # confirmed it, 10 s of samples later.
        await wait_for(pilot, lambda: str(panel.border_title).startswith("Growing families: 6"))
        pids = listed(panel)
        assert pids == {1000, 1001, 1002, 1003, 1004, 300}
        text = str(panel.content)
        assert "pool +4" in text and "leaker0 " in text  # a family of one has no "+0"
        await pilot.press("F")
        await wait_for(pilot, lambda: str(panel.border_title).startswith("Growing steadily: 5"))
        assert not app.monitor.families  # its family state is dropped
        await wait_for(pilot, lambda: app.monitor.last.families is None)


def test_an_oom_time_against_a_cgroup_limit_is_marked_and_the_header_says_so():
    """A container's leak runs out at its cgroup's limit: the panel marks that time, and its
    header names both limits (MemAvailable's rows stay unmarked)."""
    from toptui.views import growth_panel as gp

    def entry(pid: int, cgroup: bool) -> gp._Entry:
        p = ProcSample(key=(pid, 1), pid=pid, ppid=1, user="root", name=f"p{pid}",
                       command=f"p{pid}", state="S", priority=20, nice=0, threads=1,
                       virt=1024 * MIB, res=512 * MIB, shr=MIB, cpu_percent=0.0, mem_percent=0.0,
                       cpu_time=0.0, create_time=0.0)  # fmt: skip
        return gp._Entry(p, None, p.res, 128 * 1024, 3 * 3600.0, (), (), p.name, False, cgroup)

    boxed, free = entry(10, True), entry(11, False)
    assert gp._oom(boxed, True).endswith(gp.CGROUP_MARK)
    assert not gp._oom(free, True).endswith(gp.CGROUP_MARK)
    assert gp._layout([boxed, free], 200).cgroup and not gp._layout([free], 200).cgroup
    panel = gp.GrowthPanel()
    assert "cgroup limit" in panel._header(gp._layout([boxed, free], 200)).plain
    assert "cgroup" not in panel._header(gp._layout([free], 200)).plain

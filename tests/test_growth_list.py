"""The growth panel as a list to use (Tab, arrows, Enter, a click, L), and no false all-clear:
a countdown before the first verdicts, and growth not yet confirmed (``rising``) listed quietly.

The machine is synthetic (no /proc, see test_growth_panel): RES grows at a fixed rate per
simulated second, so which process leaks, and from when, is known.
"""

from __future__ import annotations

import io
import re
import sys
from dataclasses import replace

import pytest
from rich.cells import cell_len
from rich.console import Console
from test_app import wait_for
from test_growth_panel import KIB, Fake, FakeMachine, five_leakers, monitor_after, panel_lines
from test_key_bursts import burst
from test_layout import footer_keys, screen_lines

from toptui.engine.monitor import Monitor
from toptui.views.app import TopApp
from toptui.views.detail_screen import DetailScreen
from toptui.views.growth_panel import GrowthPanel
from toptui.views.help_screen import HelpScreen
from toptui.views.process_table import ProcessTable

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux terminals")

SIZES = [(80, 24), (120, 40), (200, 50)]


def many_leakers(n: int = 20) -> list[Fake]:
    """``n`` lone leakers, pid 1000 the fastest, and a flat process."""
    return [Fake(1000 + i, rate=(900 - 30 * i) * KIB, name=f"leak{i}") for i in range(n)] + [
        Fake(3000, name="flat")
    ]


def make_app(procs: list[Fake], seconds: int = 120, **kw) -> TopApp:
    """The app on a machine already watched for ``seconds`` (its leakers flagged), sorted by PID
    so the table's rows keep their places."""
    kw = {"sort": "PID", "descending": False, **kw}
    return TopApp(interval_s=0.05, monitor=monitor_after(procs, seconds), **kw)


async def listing(pilot, app: TopApp, n: int) -> GrowthPanel:
    panel = app.growth_panel
    await wait_for(pilot, lambda: app.frame is not None and len(app.frame.leaks()) >= n)
    await wait_for(pilot, lambda: panel.entry_count >= n)
    return panel


def cursor_line(app: TopApp) -> str:
    """The panel's line drawn with the cursor's style (reverse: seen without colour too)."""
    panel = app.growth_panel
    content = panel.content
    for line in content.split("\n"):
        if any(span.style and "reverse" in str(span.style) for span in line.spans):
            return line.plain
    raise AssertionError(f"no selected line in {content.plain!r}")


def help_text(screen: HelpScreen) -> str:
    """Every line of the help's key list, however much of it the box shows."""
    console = Console(width=300, file=io.StringIO(), record=True)
    console.print(screen._table())
    return console.export_text()


def selected_pid(app: TopApp) -> int:
    key = app.growth_panel.selected_key
    assert key is not None
    return key[0]


# -- 1. Tab, the arrows, PgUp/PgDn, Home/End, Enter, a click --------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_tab_gives_the_panel_the_keys_and_its_first_row_is_selected(size):
    app = make_app(many_leakers())
    async with app.run_test(size=size) as pilot:
        panel = await listing(pilot, app, 20)
        assert isinstance(app.focused, ProcessTable)
        app.paused = True  # from here on only the keys redraw the panel
        await pilot.press("tab")
        assert app.focused is panel
        assert selected_pid(app) == 1000  # the fastest grower
        assert cursor_line(app).split()[0] == "1000"
        assert "Tab: table" in str(panel.border_title)
        await pilot.press("down", "down")
        assert selected_pid(app) == 1002
        assert cursor_line(app).split()[0] == "1002"
        await pilot.press("end")
        assert selected_pid(app) == 1019
        # The last grower is on screen, selected, and every line still fits the panel.
        lines = panel_lines(panel)
        assert cursor_line(app).split()[0] == "1019"
        assert all(cell_len(x) <= panel.content_region.width for x in lines), lines
        assert panel.content_region.height == len(lines)
        if len(lines) < 22:  # not all fit: the last line says how many are above
            assert re.match(r"… \d+ above, 0 below", lines[-1]), lines
        await pilot.press("home")
        assert selected_pid(app) == 1000 and cursor_line(app).split()[0] == "1000"
        await pilot.press("pagedown")
        assert selected_pid(app) > 1000
        await pilot.press("pageup")
        assert selected_pid(app) == 1000
        await pilot.press("up")  # at the top it stays there
        assert selected_pid(app) == 1000
        await pilot.press("tab")
        assert app.focused is app.table
        await pilot.pause()
        assert not any("reverse" in str(s.style) for s in panel.content.spans)
        assert "Tab: choose" in str(panel.border_title)
        # Shift+Tab works both ways too, and the panel starts again at its first row.
        await pilot.press("shift+tab")
        assert app.focused is panel and selected_pid(app) == 1000
        await pilot.press("shift+tab")
        assert app.focused is app.table


async def test_enter_opens_the_selected_growers_detail_and_esc_comes_back_to_it():
    app = make_app(five_leakers())
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await listing(pilot, app, 5)
        await pilot.press("tab", "down", "down", "enter")
        assert isinstance(app.screen, DetailScreen) and app.screen.key == (1002, 1)
        # The table's cursor followed, so k and x there act on the process shown.
        assert app.table.selected.pid == 1002
        await wait_for(pilot, lambda: "1002" in str(app.screen.query_one("#detail-title").content))
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailScreen)
        await wait_for(pilot, lambda: app.focused is panel)
        await pilot.pause(0.1)
        assert selected_pid(app) == 1002  # back where it was, not at the first row again


async def test_tab_down_enter_in_one_burst_opens_the_second_grower():
    app = make_app(five_leakers())
    async with app.run_test(size=(120, 40)) as pilot:
        await listing(pilot, app, 5)
        burst(app, "tab", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert app.screen.key == (1001, 1)
        burst(app, "escape", "tab", "M")  # back, the table again, and a table key acts there
        await wait_for(pilot, lambda: app.table.sort_column == "RES")
        assert app.focused is app.table


async def test_a_click_on_a_panel_row_opens_its_detail_view():
    app = make_app(five_leakers())
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await listing(pilot, app, 5)
        await pilot.pause(0.1)
        lines = panel_lines(panel)
        row = next(i for i, x in enumerate(lines) if x.split()[:1] == ["1003"])
        top = panel.content_region.y - panel.region.y  # the border line above the content
        await pilot.click("#growth", offset=(4, top + row))
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert app.screen.key == (1003, 1)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DetailScreen))
        # A click on the header line opens nothing.
        await pilot.click("#growth", offset=(4, top))
        await pilot.pause(0.2)
        assert not isinstance(app.screen, DetailScreen)


async def test_table_keys_still_work_while_the_panel_has_the_focus():
    app = make_app(five_leakers())
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await listing(pilot, app, 5)
        await pilot.press("tab", "M")
        assert app.table.sort_column == "RES" and app.focused is panel
        await pilot.press("H")  # a key nobody knows is answered, as on the table
        await wait_for(
            pilot, lambda: any("Unknown command 'H'" in str(n.message) for n in app._notifications)
        )
        await pilot.press("g")  # hiding the panel gives the keys back to the table
        assert app.focused is app.table
        await pilot.press("tab")
        assert app.focused is app.table
        await wait_for(
            pilot, lambda: any("g shows it" in str(n.message) for n in app._notifications)
        )


@pytest.mark.parametrize("size", SIZES)
async def test_l_puts_the_tables_cursor_on_the_fastest_grower(size):
    procs = [Fake(900 + i, name=f"idle{i}") for i in range(60)] + five_leakers()
    app = make_app(procs, sort="PID", descending=False)
    async with app.run_test(size=size) as pilot:
        await listing(pilot, app, 5)
        assert app.table.selected.pid == 1  # the top row: init
        await pilot.press("L")
        assert app.table.selected.pid == 1000 and app.table.following
        assert app.focused is app.table
        # The row is on screen (the table scrolled to it), and stays selected across refreshes.
        top = int(app.table.scroll_offset.y)
        assert top <= app.table.cursor_index < top + app.table.size.height - 1
        seen = app.frames_seen
        await wait_for(pilot, lambda: app.frames_seen >= seen + 3)
        assert app.table.selected.pid == 1000
        # From the panel too: L gives the keys back to the table, on that row.
        await pilot.press("home", "tab", "down", "L")
        assert app.focused is app.table and app.table.selected.pid == 1000


async def test_l_says_so_when_nothing_grows():
    app = make_app([Fake(2000, name="flat")], seconds=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.frames_seen >= 2)
        await pilot.press("L")
        await wait_for(
            pilot,
            lambda: any("no process is growing" in str(n.message) for n in app._notifications),
        )
        await pilot.press("tab")
        assert app.focused is app.table  # nothing to choose in the panel


@pytest.mark.parametrize("size", SIZES)
async def test_g_and_l_are_in_the_footer_and_in_help(size):
    app = make_app(five_leakers())
    async with app.run_test(size=size) as pilot:
        await listing(pilot, app, 5)
        await wait_for(pilot, lambda: ("L", "Grower") in footer_keys(app))
        assert ("G", "By growth") in footer_keys(app)
        # short words, so that at 80 columns q, ?, \\, k and g come first and G and L still fit
        await wait_for(pilot, lambda: "L Grower" in screen_lines(app)[-1])
        last = screen_lines(app)[-1]
        for shown in ("q Quit", "? Help", "\\ Filter", "k Kill", "g Growth", "G By growth"):
            assert shown in last, (shown, last)
        # With the panel focused, the footer says what Enter and Tab do there.
        await pilot.press("tab")
        await wait_for(pilot, lambda: ("Tab", "Table") in footer_keys(app))
        assert ("⏎", "Details") in footer_keys(app) or ("Enter", "Details") in footer_keys(app)
        await pilot.press("tab", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = help_text(app.screen)
        for shown in ("Sort growth", "Go to grower", "Growth panel (Tab)", "Move in the list",
                      "Back to the table", "Choose in the growth panel"):  # fmt: skip
            assert shown in text, shown
        assert re.search(r"\bL\s+Go to grower", text) and re.search(r"\bG\s+Sort growth", text)
        assert "Tab Shift+Tab" in text


# -- 2. No false all-clear ------------------------------------------------------------------------


def countdown(panel: GrowthPanel) -> int | None:
    found = re.search(r"judging in (\d+) s", str(panel.content))
    return int(found.group(1)) if found else None


async def test_before_any_verdict_the_panel_counts_down_instead_of_saying_all_clear():
    flat = [Fake(2000 + i, name=f"flat{i}") for i in range(30)]
    monitor = Monitor(FakeMachine(flat), interval_s=1.0, judge_every_s=5.0)  # type: ignore[arg-type]
    # Samples a quarter second apart, each a second of the fake machine's time: what is seen of
    # the countdown depends on how busy this machine is, so only its direction is asserted.
    app = TopApp(interval_s=0.25, monitor=monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.growth_panel
        seen: list[int] = []

        def watch() -> bool:
            text = str(panel.content)
            if (n := countdown(panel)) is not None and (not seen or seen[-1] != n):
                seen.append(n)
                assert "No process is growing" not in text
                assert "31 processes collecting" in text, text  # the 30 and init
            return "No process is growing steadily" in text

        await wait_for(pilot, watch)
        assert seen, "no countdown was shown before the first verdicts"
        assert seen[0] <= 45 and seen == sorted(seen, reverse=True), seen  # it counts down
        assert re.search(r"\(\d+ judged", str(panel.content))  # then verdicts: none grows


async def test_the_countdown_follows_the_tables_filter():
    procs = [Fake(2000 + i, name=f"flat{i}") for i in range(5)] + [Fake(2100, name="web")]
    machine = FakeMachine(procs)
    machine.step_s = 0.01  # the countdown lasts 4500 samples: typing the filter takes less
    monitor = Monitor(machine, interval_s=0.01, judge_every_s=0.5)  # type: ignore[arg-type]
    app = TopApp(interval_s=0.05, monitor=monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.growth_panel
        await pilot.press("backslash", "w", "e", "b", "enter")
        await wait_for(pilot, lambda: "1 process collecting" in str(panel.content))


def rising_frame(monitor: Monitor, pid: int, limit: int = 400):
    """Step ``monitor`` until ``pid`` is shown as rising (its growth found, not yet confirmed)."""
    for _ in range(limit):
        frame = monitor.step()
        if any(k[0] == pid and v.verdict == "rising" for k, v in frame.verdicts.items()):
            return frame
    raise AssertionError(f"{pid} never rising")


class LateLeaker(FakeMachine):
    """Like FakeMachine, but pid 1500 only starts to grow at simulated second 120."""

    def sample(self):
        snap = super().sample()
        late = [
            replace(p, res=(20 << 20) + int(max(0.0, self.t - 120) * 300 * KIB) // 4096 * 4096)
            if p.pid == 1500
            else p
            for p in snap.procs
        ]
        return replace(snap, procs=tuple(late))


@pytest.mark.parametrize("no_color", [False, True])
async def test_rising_processes_are_listed_after_the_leaks_marked_with_a_question_mark(
    no_color, monkeypatch
):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    procs = [*five_leakers(), Fake(1500, name="late")]
    monitor = Monitor(LateLeaker(procs), interval_s=1.0, judge_every_s=5.0)  # type: ignore[arg-type]
    monitor.judge_budget_s = 10.0
    frame = rising_frame(monitor, 1500)
    app = TopApp(interval_s=30.0, monitor=monitor)  # one frame from its own thread, then ours
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.frames_seen >= 1)
        app.paused = True
        app._show(frame)
        await pilot.pause(0.1)
        panel = app.growth_panel
        lines = panel_lines(panel)
        pids = [x.split()[0] for x in lines[1:]]
        assert pids == ["1000", "1001", "1002", "1003", "1004", "1500"], lines
        late = lines[-1]
        assert re.search(r"\+\d+(\.\d)?K/s\?", late), late  # the rate, marked as not yet a leak
        assert "in ~" not in late  # no time to OOM for what is not a leak
        assert not any("/s?" in x for x in lines[1:-1])
        assert "Growing steadily: 5, 1 rising?" in str(panel.border_title)
        # Quieter than the leaks: not their bold red.
        text = panel.content
        row = text.split("\n")[-1]
        rate_style = next(s.style for s in row.spans if "/s?" in row.plain[s.start : s.end])
        assert "bold red" not in str(rate_style)
        on_screen = "\n".join(screen_lines(app))
        assert re.search(r"1500 late .*K/s\?", on_screen)  # readable on the screen itself


async def test_only_rising_is_not_an_all_clear_either():
    procs = [Fake(1500, name="late"), Fake(2000, name="flat")]
    monitor = Monitor(LateLeaker(procs), interval_s=1.0, judge_every_s=5.0)  # type: ignore[arg-type]
    frame = rising_frame(monitor, 1500)
    app = TopApp(interval_s=30.0, monitor=monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.frames_seen >= 1)
        app.paused = True
        app._show(frame)
        await pilot.pause(0.1)
        panel = app.growth_panel
        assert "No process is growing" not in str(panel.content)
        assert [x.split()[0] for x in panel_lines(panel)[1:]] == ["1500"]
        assert str(panel.border_title).startswith("Growing steadily: 0, 1 rising?")
        await pilot.press("L")  # the fastest grower, even if not yet confirmed
        assert app.table.selected.pid == 1500

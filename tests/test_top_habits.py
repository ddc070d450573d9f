"""What top and htop users notice: the sort direction on the sorted column's header, a help box
that says what it is and how to close and scroll it, a search that shows its match and says it is
on, dialogs as wide as what they hold, every key of a screen in its footer or help, and column
marks readable without colour."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console
from test_app import wait_for
from test_follow_exit import Machine, machine
from test_layout import footer_keys, screen_lines
from textual.binding import Binding
from textual.widgets import OptionList

from toptui.engine.monitor import Monitor
from toptui.views.app import TopApp
from toptui.views.choice_screen import ChoiceScreen
from toptui.views.columns_screen import ColumnList, ColumnsScreen
from toptui.views.detail_screen import DetailScreen
from toptui.views.growth_panel import GrowthPanel
from toptui.views.help_screen import HelpScreen, key_name
from toptui.views.process_table import ProcessTable

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux terminals")

SIZES = [(80, 24), (120, 40), (200, 50)]


def make_app(m: Machine | None = None, **kw) -> TopApp:
    monitor = Monitor(m or machine(), interval_s=1.0)  # type: ignore[arg-type]
    return TopApp(interval_s=0.05, monitor=monitor, **kw)


async def started(pilot, app: TopApp) -> None:
    await wait_for(pilot, lambda: app.frames_seen >= 2 and len(app.table.rows) == 25)
    await pilot.pause(0.1)


def header(app: TopApp) -> str:
    return app.table.render_line(0).text


# -- the sort direction ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_the_sorted_columns_header_shows_its_direction(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await started(pilot, app)
        text = header(app)
        assert "▼%CPU" in text and text.count("▼") + text.count("▲") == 1, text
        await pilot.press("M")
        text = header(app)
        assert "▼RES" in text and "%CPU" in text and "▼%CPU" not in text, text
        # The arrow sits in the cell's own padding: no other column moves.
        before = {name: text.index(name) for name in ("PID", "SHR", "COMMAND")}
        await pilot.press("R")
        text = header(app)
        assert "▲RES" in text and "▼" not in text, text
        assert {name: text.index(name) for name in before} == before
        assert [p.res for p in app.table.rows] == sorted(p.res for p in app.table.rows)
        # Left-aligned names get it after them; a name as wide as its column, in the gap after.
        await pilot.press("greater_than_sign")  # the column right of RES, the same direction
        assert "▲SHR" in header(app)
        for column, shown in (("USER", "USER▲"), ("S", "S▲"), ("COMMAND", "COMMAND▲")):
            app.table.action_sort(column)
            await pilot.pause(0.05)
            text = header(app)
            assert shown in text, (column, text)
            assert text.index("PID") == before["PID"]
        await pilot.press("N")
        assert "▼PID" in header(app)
        lines = screen_lines(app)
        assert any("▼PID" in line for line in lines)  # on screen, not only in the strip


# -- help -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_help_is_titled_says_how_to_close_and_when_to_scroll(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await started(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.query_one("#help-body")
        await pilot.pause(0.2)
        text = "\n".join(screen_lines(app))
        assert "toptui help" in text and "Esc or q closes" in text, text
        scrolls = body.max_scroll_y > 0
        if size == (80, 24):
            assert scrolls
        if size == (200, 50):
            assert not scrolls  # two lists side by side: no scroll hint to give
        await wait_for(pilot, lambda: ("PgDn" in str(body.border_subtitle)) == scrolls)
        assert ("closes · ↑↓ PgUp PgDn" in "\n".join(screen_lines(app))) == scrolls
        await pilot.press("q")  # closes help, does not quit
        assert not isinstance(app.screen, HelpScreen) and app.is_running
        await pilot.press("h", "escape")
        assert not isinstance(app.screen, HelpScreen)


# -- search -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_a_search_highlights_its_match_and_the_header_says_it_is_on(size):
    app = make_app(sort="PID", descending=False)
    async with app.run_test(size=size) as pilot:
        await started(pilot, app)
        await pilot.press("slash", *"MAL", "enter")
        assert app.table.selected.pid == 13  # "small"
        await wait_for(pilot, lambda: "[search: MAL, n: next]" in screen_lines(app)[0])
        y = app.table.cursor_index - int(app.table.scroll_offset.y) + 1
        strip = app.table.render_line(y)
        assert "small" in strip.text
        marked = [seg for seg in strip if seg.style is not None and seg.style.reverse]
        assert [seg.text for seg in marked] == ["mal"], list(strip)
        # Rows that do not match have nothing marked.
        other = app.table.render_line(1)
        assert not any(seg.style is not None and seg.style.reverse for seg in other)
        # Esc takes the search back: the note and the mark go.
        await pilot.press("escape")
        await wait_for(pilot, lambda: "[search:" not in screen_lines(app)[0])
        strip = app.table.render_line(y)
        assert not any(seg.style is not None and seg.style.reverse for seg in strip)


# -- dialogs sized to their content ---------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_dialogs_are_as_wide_as_what_they_hold(size):
    app = make_app(sort="PID", descending=False)
    async with app.run_test(size=size) as pilot:
        await started(pilot, app)
        await pilot.press("k")  # nothing is sent: the dialog is only looked at, then cancelled
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.pause(0.2)
        dialog = app.screen.query_one(".dialog")
        title = app.screen.title_text
        # The title, the border and padding (2 + 4), and nothing like 180 columns.
        assert dialog.region.width <= min(size[0], len(title) + 8), (dialog.region, title)
        options = app.screen.query_one(OptionList)
        assert options.region.width <= 20, options.region  # "15  SIGTERM" and its frame
        assert "SIGTERM" in "\n".join(screen_lines(app))
        await pilot.press("escape", "f")
        assert isinstance(app.screen, ColumnsScreen)
        await pilot.pause(0.2)
        dialog = app.screen.query_one(".dialog")
        longest = max(len(f"{n:<8} {t}") for n, t in app.screen.offered.items())
        assert dialog.region.width <= min(size[0], longest + 16), dialog.region
        await pilot.press("escape")


# -- every key of a screen in its footer or help ----------------------------------------------


def help_text(app: TopApp) -> str:
    console = Console(width=300, file=io.StringIO(), record=True)
    console.print(app.screen._table())
    return console.export_text()


TOPTUI_KEYS = {
    k.strip()
    for cls in (TopApp, ProcessTable, GrowthPanel, DetailScreen)
    for b in cls.BINDINGS
    for k in b.key.split(",")
}


async def keys_listed(pilot, app: TopApp) -> None:
    """Every toptui key that acts on the screen now is in its footer, or in the help opened
    from it."""
    active = {
        key: ab for key, ab in app.screen.active_bindings.items() if ab.enabled
    }  # fmt: skip
    footer = {k for k, _ in footer_keys(app)}
    await pilot.press("question_mark")
    listed = help_text(app)
    await pilot.press("escape")
    display = app.get_key_display
    for key, ab in active.items():
        shifted_letter = key.startswith("shift+") and len(key) == len("shift+x")
        if key not in TOPTUI_KEYS or ab.binding.system or shifted_letter:
            continue  # a shifted letter is listed as the capital
        name = key_name(key, lambda k: display(Binding(k, "")))
        shown = ab.binding.key_display or display(ab.binding)
        assert shown in footer or name in listed.split(), (key, name, sorted(footer))


async def test_every_key_of_a_screen_is_in_its_footer_or_help():
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await started(pilot, app)
        await keys_listed(pilot, app)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        await wait_for(pilot, lambda: ("x", "Export") in footer_keys(app))
        shown = footer_keys(app)
        for key in (("k", "Kill"), ("?", "Help"), ("q", "Quit")):
            assert key in shown, shown
        assert any(desc == "Back" for _, desc in shown), shown
        await keys_listed(pilot, app)


# -- the columns chooser's marks ----------------------------------------------------------------


@pytest.mark.parametrize("no_color", [False, True])
async def test_the_column_marks_read_without_colour(no_color, monkeypatch):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        assert app.no_color == no_color
        await pilot.press("f")
        assert isinstance(app.screen, ColumnsScreen)
        await pilot.pause(0.2)
        text = "\n".join(screen_lines(app))
        assert "[ ] PPID" in text and "[ ] nTH" in text and "X" not in text
        await pilot.press("space")
        await wait_for(pilot, lambda: "[x] PPID" in "\n".join(screen_lines(app)))
        assert "[ ] nTH" in "\n".join(screen_lines(app))
        options = app.screen.query_one(ColumnList)
        assert options.selected == ["PPID"]
        await pilot.press("enter")
        assert "PPID" in [c.name for c in app.table.columns]

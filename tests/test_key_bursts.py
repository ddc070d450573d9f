"""Keys as a top user types them. Keys that arrive together (a paste, tmux send-keys, a burst over a
slow ssh link) act as if typed one by one; a key toptui does not know is answered as top does."""

from __future__ import annotations

import sys

import pytest
from test_app import SIZE, wait_for
from textual import events

from toptui.views.app import TopApp
from toptui.views.detail_screen import DetailScreen

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

CHARS = {"space": " ", "backslash": "\\", "slash": "/", "enter": "\r", "escape": "\x1b"}


def burst(app: TopApp, *keys: str) -> None:
    """Post every key at once, as the terminal driver does for one read of several bytes (the
    pilot's press() waits for the app to settle after each key, which hides the problem)."""
    for key in keys:
        app.post_message(events.Key(key, CHARS.get(key, key if len(key) == 1 else None)))


async def started(pilot, app: TopApp) -> None:
    await wait_for(pilot, lambda: app.frames_seen >= 2)


async def test_filter_typed_with_the_key_that_opens_it_and_the_next_command():
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        burst(app, "backslash", *"python", "enter", "M")
        await wait_for(pilot, lambda: app.table.sort_column == "RES")
        assert app.table.filter_text == "python"
        assert type(app.screen).__name__ == "Screen" and not app.prompt.display
        burst(app, "slash", *"pyt", "escape", "N")
        await wait_for(pilot, lambda: app.table.sort_column == "PID")
        assert not app.prompt.display and app.table.filter_text == "python"


async def test_columns_toggled_in_one_burst():
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        burst(app, "f", "space", "down", "space", "down", "down", "enter")
        await wait_for(pilot, lambda: "PPID" in [c.name for c in app.table.chosen_columns])
        names = [c.name for c in app.table.chosen_columns]
        assert "PPID" in names and "nTH" in names and "START" not in names


async def test_escape_right_after_enter_closes_the_detail_view():
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        burst(app, "enter", "escape", "M")
        await wait_for(pilot, lambda: app.table.sort_column == "RES")
        assert not isinstance(app.screen, DetailScreen)


async def test_a_key_toptui_does_not_know_is_answered_as_top_does():
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("1")
        assert any("Unknown command '1'" in str(n.message) for n in app._notifications)
        await pilot.press("question_mark")  # known keys still act
        assert type(app.screen).__name__ == "HelpScreen"

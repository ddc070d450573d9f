"""Keys as a top user types them. Keys that arrive together (a paste, tmux send-keys, a burst over a
slow ssh link) act as if typed one by one; a key toptui does not know is answered as top does."""

from __future__ import annotations

import sys

import pytest
from conftest import SLEEPER_TAG as TAG
from test_app import SIZE, wait_for
from textual import events

from toptui.views.app import TopApp
from toptui.views.choice_screen import ChoiceScreen
from toptui.views.detail_screen import DetailScreen

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

CHARS = {"space": " ", "backslash": "\\", "slash": "/", "enter": "\r", "escape": "\x1b",
         "question_mark": "?"}  # fmt: skip


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
        await pilot.press("H")  # top's threads toggle
        await wait_for(
            pilot, lambda: any("Unknown command 'H'" in str(n.message) for n in app._notifications)
        )
        await pilot.press("question_mark")  # known keys still act
        assert type(app.screen).__name__ == "HelpScreen"


async def test_each_key_acts_on_what_the_one_before_left():
    """Cases from a review: text after a screen closes, a second prompt, Enter in a dialog."""
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        burst(app, "enter", "escape", "slash", *"abc")  # detail view, back, then a search
        await wait_for(pilot, lambda: app.prompt.value == "abc")
        assert app.prompt.display and app.prompt.kind == "search"
        burst(app, "escape", "question_mark", "escape", "backslash", *"abc", "enter")
        await wait_for(pilot, lambda: app.table.filter_text == "abc")
        burst(app, "escape", "backslash", "x", "enter", "slash", "a", "c")  # c types, not toggles
        await wait_for(pilot, lambda: app.prompt.value == "ac")
        assert app.prompt.kind == "search" and not app.table.full_command
        burst(app, "escape", "escape", "backslash", *"zzqqnomatch", "enter", "enter")  # no rows
        burst(app, "N")  # handled once every key before it is: then what they did is done
        await wait_for(pilot, lambda: app.table.sort_column == "PID")
        await pilot.pause()  # and what they posted on their way, handled too
        assert app.table.filter_text == "zzqqnomatch"
        assert not isinstance(app.screen, DetailScreen)
        burst(app, "escape", "u", "enter", "M")  # the dialog closes as Enter is read
        await wait_for(pilot, lambda: app.table.sort_column == "RES")
        burst(app, "k", "enter", "escape", "P")  # one screen closed per key, no crash
        await wait_for(pilot, lambda: app.table.sort_column == "%CPU")
        assert type(app.screen).__name__ == "Screen"


async def test_keys_keep_their_order_when_the_terminal_is_not_focused():
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        app.post_message(events.AppBlur())
        await pilot.pause()
        burst(app, "backslash", *"python", "enter", "M")
        await wait_for(pilot, lambda: app.table.sort_column == "RES")
        assert app.table.filter_text == "python" and type(app.screen).__name__ == "Screen"


async def test_a_key_after_a_search_acts_on_the_row_found(sleepers):
    first, second = sleepers
    pids = [first.pid, second.pid]
    app = TopApp(interval_s=0.2, pids=pids, sort="PID", descending=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.table.rows) == 2)
        burst(app, "slash", *f"{TAG}1", "enter", "k")  # search the second one's command line
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        assert str(second.pid) in str(app.screen.title_text)


async def test_escape_right_after_a_typed_filter_clears_it():
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        burst(app, "backslash", *"a-very-long-filter-text-xyz", "enter")
        burst(app, "escape", "M")  # M is handled once Escape is: then what they did is done
        await wait_for(pilot, lambda: app.table.sort_column == "RES")
        await pilot.pause()  # and what they posted on their way (live filter text), handled too
        assert app.table.filter_text is None

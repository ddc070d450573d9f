"""toptui's own memory under use: opening and closing views must not leave widgets behind.

Textual 8.2 kept every footer key ever composed (a data_bind watcher on the Footer) and up to
1024 dead widgets' rendered lines (an lru_cache keyed on StylesCache); toptui's RSS climbed by
about 1 MB per help or detail view opened. These tests count what is still alive.
"""

import gc
import sys

import pytest
from test_app import wait_for
from textual._styles_cache import StylesCache
from textual.widgets._footer import FooterKey

from toptui.views.app import TopApp
from toptui.views.detail_screen import DetailScreen
from toptui.views.help_screen import HelpScreen
from toptui.views.key_footer import drop_dead_watchers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def alive(kind: type) -> int:
    gc.collect()
    return sum(isinstance(o, kind) for o in gc.get_objects())


@pytest.mark.parametrize(
    ("key", "screen"), [("question_mark", HelpScreen), ("enter", DetailScreen)]
)
async def test_opening_and_closing_a_view_leaves_nothing_behind(key: str, screen: type) -> None:
    app = TopApp(interval_s=0.5)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: app.frames_seen >= 2)  # rows for Enter to open

        async def open_and_close(times: int) -> None:
            for _ in range(times):
                await pilot.press(key)
                await pilot.pause(0.05)
                assert isinstance(app.screen, screen)
                await pilot.press("escape")
                await pilot.pause(0.05)

        await open_and_close(5)
        keys, caches = alive(FooterKey), alive(StylesCache)
        await open_and_close(20)
        # before the fix: about 26 more footer keys and 21 more styles caches per view opened
        assert alive(FooterKey) <= keys + 5
        assert alive(StylesCache) <= caches + 10


async def test_drop_dead_watchers_keeps_the_live_ones() -> None:
    app = TopApp(interval_s=0.5)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause(0.5)
        footer = app.screen.query_one("KeyFooter")
        for _ in range(3):
            await pilot.press("question_mark")
            await pilot.pause(0.05)
            await pilot.press("escape")
            await pilot.pause(0.05)
        watchers = getattr(footer, "__watchers")["compact"]
        assert watchers and all(not (owner._closing or owner._closed) for owner, _ in watchers)
        assert drop_dead_watchers(footer) == 0
        footer.compact = not footer.compact  # the live keys still follow the footer
        await pilot.pause(0.05)
        assert all(key.compact == footer.compact for key in footer.query(FooterKey))

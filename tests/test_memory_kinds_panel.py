"""The detail view's breakdown by kind, through Textual's pilot on a real child, and its text for
what cannot be read (permission denied, a recording)."""

from __future__ import annotations

import sys

import pytest
from children import WAIT_S, MemoryChild
from test_app import wait_for

from toptui.mapping_model import ANON, KINDS, CoarseSplit, Mapping, SmapsReading
from toptui.store.kinds import KindsHistory
from toptui.views.app import TopApp
from toptui.views.detail_screen import DetailScreen
from toptui.views.memory_kinds_panel import MemoryKindsPanel, render_kinds

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
SIZE = (160, 45)
MIB = 1 << 20


def panel_text(app: TopApp) -> str:
    return str(app.screen.query_one(MemoryKindsPanel).render())


async def test_the_detail_view_names_anonymous_memory_for_a_leak_of_written_bytes() -> None:
    with MemoryChild() as child:
        app = TopApp(interval_s=0.2, pids=[child.pid])
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.frames_seen >= 2)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
            assert app.monitor.mappings_pids == {child.pid}
            await wait_for(pilot, lambda: "reading" in panel_text(app) or "kind" in panel_text(app))
            for _ in range(4):  # each step seen by a frame: the history holds the growth
                seen = app.frames_seen
                child.grow(8)
                await wait_for(pilot, lambda s=seen: app.frames_seen >= s + 2)
            await wait_for(pilot, lambda: "of the growth is anonymous memory" in panel_text(app))
            text = panel_text(app)
            assert "anonymous private" in text and "Mappings that grew most" in text
            assert "[anon]" in text
            # Killed and not reaped (a zombie: the monitor forgets it at once), then reaped: the
            # view keeps the last breakdown, as it keeps the last graph.
            child.proc.kill()
            screen = app.screen
            await wait_for(pilot, lambda: screen.exited_at is not None)
            child.proc.wait(timeout=WAIT_S)
            seen = app.frames_seen
            await wait_for(pilot, lambda: app.frames_seen >= seen + 3)
            assert "of the growth is anonymous memory" in panel_text(app)
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, DetailScreen))
            assert app.monitor.mappings_pids == frozenset()
            await pilot.press("q")


def test_permission_denied_says_so_and_shows_the_coarse_split() -> None:
    kinds = KindsHistory()
    reason = "permission denied: reading /proc/42/smaps needs the right to trace the process"
    kinds.record((42, 1), SmapsReading(1.0, None, reason=reason, denied=True))
    kinds.coarse((42, 1), CoarseSplit(0.0, 10 * MIB, 5 * MIB, 0, 0))
    kinds.coarse((42, 1), CoarseSplit(9.0, 90 * MIB, 5 * MIB, 0, 0))
    text = str(render_kinds(kinds.get((42, 1)), kinds.coarse_of((42, 1)), 1, pid=42))
    assert reason in text
    assert "100% of the growth is anonymous (with heap and stacks) (from /proc/PID/status)" in text


def test_a_recording_holds_no_breakdown() -> None:
    text = str(render_kinds(None, None, 1, live=False, pid=42))
    assert "the recording holds no breakdown by kind" in text


def test_threads_whose_stacks_cannot_be_told_apart_are_said_to_count_as_anonymous() -> None:
    kinds = KindsHistory()
    row = [0] * len(KINDS)
    for t, anon in ((0.0, 1 * MIB), (5.0, 9 * MIB)):
        row[ANON] = anon
        m = Mapping(0x7F0000000000, 0x7F0001000000, "[anon]", ANON, anon)
        kinds.record((42, 1), SmapsReading(t, tuple(row), (m,), thread_stacks=0))
    text = str(render_kinds(kinds.get((42, 1)), None, 8, pid=42))
    assert "none of the 7 other threads' stacks could be told apart" in text
    assert "100% of the growth is anonymous memory (malloc/mmap)" in text
    assert "7f0000000000-7f0001000000" in text and "+8.0M" in text

"""What top and htop users reach for, through the pilot: filter, search, kill, renice, tag,
pause, delay, columns, tree, user, mouse sorting and saved settings."""

import json
import os
import pwd
import signal
import subprocess
import sys

import pytest
from children import WAIT_S
from conftest import SLEEPER_TAG as TAG
from test_app import SIZE, wait_for

from toptui.render.columns import RowContext
from toptui.views.app import TopApp
from toptui.views.choice_screen import ChoiceScreen
from toptui.views.columns_screen import ColumnList, ColumnsScreen
from toptui.views.confirm_screen import ConfirmScreen

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


async def started(pilot, app):
    await wait_for(pilot, lambda: app.frames_seen >= 2)


async def type_text(pilot, text: str) -> None:
    await pilot.press(*list(text))


async def test_filter_shows_only_matches_and_escape_clears(sleepers):
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("backslash")
        await type_text(pilot, TAG)
        await pilot.press("enter")
        await wait_for(pilot, lambda: {p.pid for p in app.table.rows} == {s.pid for s in sleepers})
        assert f"filter: {TAG}" in str(app.query_one("#summary").content)
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(app.table.rows) > 2)
        assert app.table.filter_text is None


async def test_search_jumps_to_matches(sleepers):
    app = TopApp(interval_s=0.2, sort="PID", descending=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("home", "slash")
        await type_text(pilot, f"{TAG}0")
        await pilot.press("enter")
        assert app.table.selected.pid == sleepers[0].pid
        await pilot.press("slash")
        await type_text(pilot, TAG)
        await pilot.press("enter", "n")
        assert app.table.selected.pid == sleepers[1].pid
        await pilot.press("n")  # wraps around
        assert app.table.selected.pid == sleepers[0].pid


async def test_kill_asks_which_signal_and_confirms(sleepers):
    victim, other = sleepers
    app = TopApp(interval_s=0.2, pids=[victim.pid, other.pid], sort="PID", descending=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("home", "k")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("enter")  # SIGTERM is first and highlighted
        assert isinstance(app.screen, ConfirmScreen)
        assert str(victim.pid) in app.screen.question and "SIGTERM" in app.screen.question
        await pilot.press("n")  # changed their mind: nothing happens
        assert victim.poll() is None
        await pilot.press("k", "enter", "y")
        assert victim.wait(timeout=WAIT_S) == -signal.SIGTERM
        assert other.poll() is None


async def test_dialogs_take_a_typed_signal_number_or_user_name_as_top_does(sleepers):
    victim, other = sleepers
    app = TopApp(interval_s=0.2, pids=[victim.pid, other.pid], sort="PID", descending=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("u", *"nosuchuser", "enter")  # nothing matches: Enter picks nothing
        assert isinstance(app.screen, ChoiceScreen)
        assert "nothing matches 'nosuchuser'" in str(app.screen.query_one("#typed").render())
        await pilot.press("escape")
        assert app.table.user is None
        me = pwd.getpwuid(os.getuid()).pw_name
        await pilot.press("u", *me, "enter")
        assert app.table.user == me
        await pilot.press("home", "k", "9", "enter")  # top's k: the signal by its number
        assert isinstance(app.screen, ConfirmScreen) and "SIGKILL" in app.screen.question
        await pilot.press("y")
        assert victim.wait(timeout=WAIT_S) == -signal.SIGKILL
        assert other.poll() is None


async def test_tagged_processes_are_signalled_together(sleepers):
    app = TopApp(interval_s=0.2, pids=[s.pid for s in sleepers], sort="PID", descending=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("home", "space", "space")
        assert len(app.table.tagged) == 2
        await pilot.press("k", "down", "enter", "y")  # second signal in the list: SIGKILL
        for s in sleepers:
            assert s.wait(timeout=WAIT_S) == -signal.SIGKILL
        # One notification says so for both (a toast each stacked up over the table).
        sent = [str(n.message) for n in app._notifications if "sent SIGKILL" in str(n.message)]
        assert len(sent) == 1 and all(f"PID {s.pid}" in sent[0] for s in sleepers)


async def test_tree_and_tags_show_in_the_header_at_once(sleepers):
    """[tree] and [N tagged] appear as the key is pressed, not at the next refresh (30 s away)."""
    app = TopApp(interval_s=30.0, pids=[s.pid for s in sleepers], sort="PID", descending=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.table.rows) == len(sleepers))
        shown = app.frames_seen

        def header() -> str:
            return str(app.query_one("#summary").content)

        await pilot.press("V")
        await wait_for(pilot, lambda: "[tree]" in header())
        await pilot.press("V", "home", "space", "space")
        await wait_for(pilot, lambda: "[2 tagged]" in header() and "[tree]" not in header())
        await pilot.press("U")
        await wait_for(pilot, lambda: "tagged" not in header())
        assert app.frames_seen == shown


async def test_i_hides_idle_tasks_as_top_does(sleepers):
    """top's i: only tasks that used CPU since the last refresh; a busy loop stays, sleepers go."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        pids = [s.pid for s in sleepers] + [busy.pid]
        app = TopApp(interval_s=0.2, pids=pids, sort="PID", descending=False)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: len(app.table.rows) == len(pids))
            await pilot.press("i")
            await wait_for(pilot, lambda: [p.pid for p in app.table.rows] == [busy.pid])
            assert "[active only" in str(app.query_one("#summary").content)
            await pilot.press("i")
            await wait_for(pilot, lambda: len(app.table.rows) == len(pids))
    finally:
        busy.kill()
        busy.wait()


async def test_renice_prompt(sleepers):
    app = TopApp(interval_s=0.2, pids=[sleepers[0].pid])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("r")
        await type_text(pilot, "7")
        await pilot.press("enter")
        assert os.getpriority(os.PRIO_PROCESS, sleepers[0].pid) == 7


async def test_pause_freezes_display_while_sampling_goes_on():
    app = TopApp(interval_s=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("Z")
        shown, ticks = app.frames_seen, app.monitor.tick
        await wait_for(pilot, lambda: app.monitor.tick > ticks + 2)  # sampling goes on ...
        assert app.frames_seen == shown  # ... while the display stays
        assert "PAUSED" in str(app.query_one("#summary").content)
        await pilot.press("Z")
        await wait_for(pilot, lambda: app.frames_seen > shown)


async def test_delay_changes_live():
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        for typed, expected in (("0.5", 0.5), ("-1", 0.5), ("0.05", 0.05)):
            await pilot.press("d")  # what -d accepts, the d key accepts
            await type_text(pilot, typed)
            await pilot.press("enter")
            assert app.interval_s == expected


@pytest.mark.parametrize("screen_key", [None, "question_mark", "f"])
async def test_ctrl_c_quits_like_top(screen_key):
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        if screen_key:  # help, the columns dialog: Ctrl+C quits from there too
            await pilot.press(screen_key)
            await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


async def test_a_delay_too_fast_for_the_history_is_refused():
    """The history was sized for 2 s ticks: at 0.01 s it would hold 18 s, too little to judge."""
    app = TopApp(interval_s=2.0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("d", *"0.01", "enter")
        assert app.interval_s == 2.0
        await wait_for(pilot, lambda: any("too fast" in str(n.message) for n in app._notifications))


async def test_columns_tree_and_header_clicks(sleepers):
    app = TopApp(interval_s=0.2, sort="PID", descending=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("f")
        assert isinstance(app.screen, ColumnsScreen)
        await pilot.press("space", "enter")  # PPID is the first choice
        assert "PPID" in [c.name for c in app.table.columns]
        await pilot.press("V")
        assert "SUBTREE" in [c.name for c in app.table.columns]
        pids = [p.pid for p in app.table.rows]
        me = os.getpid()
        assert pids.index(me) < pids.index(sleepers[0].pid)  # child below its parent
        await pilot.press("V")
        # Clicking the RES header sorts by it; clicking again reverses.
        x = app.table.render_line(0).text.index("RES")
        await pilot.click("#table", offset=(x, 0))
        assert app.table.sort_column == "RES" and app.table.descending
        await pilot.click("#table", offset=(x, 0))
        assert app.table.sort_column == "RES" and not app.table.descending


async def test_user_picker():
    app = TopApp(interval_s=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("u")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("down", "enter")
        user = app.table.user
        assert user
        assert {p.user for p in app.table.rows} == {user}
        await pilot.press("escape")  # Esc takes the user filter back too
        assert app.table.user is None


async def test_save_settings_and_read_them_back(tmp_path):
    from toptui.views import settings

    path = tmp_path / "config.json"
    app = TopApp(interval_s=0.2, settings_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("M", "R", "e", "g", "W")
    saved = json.loads(path.read_text())
    assert saved["sort"] == "RES" and saved["descending"] is False
    assert saved["unit"] == 1 and saved["growth_panel"] is False
    prefs, warning = settings.load(path)
    assert warning is None
    app = TopApp(interval_s=0.2, prefs=prefs)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert app.table.sort_column == "RES" and not app.table.descending
        assert app.table.unit == 1


async def test_export_writes_the_selected_history_as_a_recording(sleepers, tmp_path, monkeypatch):
    from toptui.store.recording import read_series

    monkeypatch.chdir(tmp_path)
    app = TopApp(interval_s=0.1, pids=[sleepers[0].pid])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.frames_seen >= 4)
        await pilot.press("x")
        await wait_for(pilot, lambda: list(tmp_path.glob(f"toptui-{sleepers[0].pid}-*.csv")))
    (path,) = tmp_path.glob(f"toptui-{sleepers[0].pid}-*.csv")
    (series,) = read_series(str(path))
    assert series.pid == sleepers[0].pid
    assert len(series.t) >= 4
    assert all(b > a for a, b in zip(series.t, series.t[1:], strict=False))


async def test_replay_plays_a_recording_with_pause_and_step(tmp_path):
    from children import MemoryChild
    from test_app import SteppedSampler

    from toptui.engine.monitor import Monitor
    from toptui.sampling.replay import ReplaySampler
    from toptui.store.recording import Recorder

    path = tmp_path / "rec.csv"
    with MemoryChild(start_mib=5) as leaker, MemoryChild(start_mib=30) as flat:
        with Recorder(path) as rec:
            mon = Monitor(SteppedSampler(leaker, flat), judge_every_s=1.0, recorder=rec)
            for _ in range(120):
                mon.step()
        replay = ReplaySampler(path)
        app = TopApp(interval_s=0.01, replay=replay)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: replay.position >= 3)
            await pilot.press("Z")
            await pilot.pause(0.3)
            at = replay.position
            await pilot.pause(0.3)
            assert replay.position == at  # paused replay does not advance
            await pilot.press("full_stop")
            await wait_for(pilot, lambda: replay.position == at + 1)
            await pilot.press("Z")
            await wait_for(pilot, lambda: replay.done)
            await wait_for(pilot, lambda: app.frame is not None and app.frame.leaks())
            assert [k[0] for k, _ in app.frame.leaks()] == [leaker.pid]
            summary = str(app.query_one("#summary").content)
            assert "replay" in summary and "Mem: this machine" in summary
            # What a recording does not hold is said, not shown as an idle machine's zeros.
            assert "from a recording: no uptime, users or load" in summary
            assert "load average" not in summary and " id," not in summary
            assert "Tasks:   2 recorded" in summary
            # Columns a recording has nothing for are left out, not filled with made-up values.
            names = [c.name for c in app.table.columns]
            assert {"RES", "SHR", "VIRT", "%CPU", "COMMAND"} <= set(names)
            assert not {"USER", "PR", "NI", "S", "TIME+"} & set(names)
            # ... nor offered: T says TIME+ is not recorded, f lists only what a recording has.
            await pilot.press("M", "T")
            await pilot.pause()
            assert app.table.sort_column == "RES"
            await wait_for(
                pilot,
                lambda: any(
                    "TIME+ is not in a recording" in str(n.message) for n in app._notifications
                ),
            )
            await pilot.press("f")
            await wait_for(pilot, lambda: isinstance(app.screen, ColumnsScreen))
            offered = app.screen.query_one(ColumnList)
            values = [offered.get_option_at_index(i).value for i in range(offered.option_count)]
            assert values == ["PPID", "START"]  # a format 2 recording keeps parent pids
            await pilot.press("escape")
            await pilot.press("c", "V", "F", "1")
            await wait_for(pilot, lambda: app.table.tree_view and app.growth_panel.family_mode)
            # a format 2 recording keeps parent pids: tree view and families work on its replay
            assert not app.table.full_command
            assert not app.summary.per_cpu
            said = " ".join(str(n.message) for n in app._notifications)
            assert "no CPU states" in said
            assert "no tree" not in said and "no families" not in said


async def test_replay_steps_once_per_press_however_fast(tmp_path):
    """Five '.' presses in a row are five ticks, at once, whatever the refresh interval."""
    from test_recording import proc, snap

    from toptui.sampling.replay import ReplaySampler
    from toptui.store.recording import Recorder

    path = tmp_path / "rec.csv"
    with Recorder(path) as rec:
        for i in range(20):
            rec.record(snap(1_700_000_000.0 + i, [proc(1, "a", (i + 1) * 1 << 20)]))
    replay = ReplaySampler(path)
    app = TopApp(interval_s=30.0, replay=replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay.position >= 1)
        await pilot.press("Z")
        at = replay.position
        await pilot.press(*["full_stop"] * 5)
        await wait_for(pilot, lambda: replay.position == at + 5)
        await pilot.pause(0.3)
        assert replay.position == at + 5


async def test_a_replay_signals_and_renices_nothing(tmp_path):
    """A recorded pid may belong to another process by now: k and r say so and do nothing."""
    from test_recording import proc, snap

    from toptui.sampling.replay import ReplaySampler
    from toptui.store.recording import Recorder

    path = tmp_path / "rec.csv"
    with Recorder(path) as rec:
        for i in range(3):
            rec.record(snap(1_700_000_000.0 + i, [proc(os.getpid(), "me", 1 << 20)]))
    app = TopApp(interval_s=0.05, replay=ReplaySampler(path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.frames_seen >= 1)
        await pilot.press("k")
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceScreen)
        await pilot.press("r")
        await pilot.pause()
        assert not app.prompt.display
        await wait_for(
            pilot, lambda: any("nothing to signal" in str(n.message) for n in app._notifications)
        )


def test_replay_and_saved_delay_apply_when_no_delay_is_given(tmp_path):
    from toptui.commands.cli import build_parser
    from toptui.views import settings

    assert build_parser().parse_args([]).delay is None
    assert TopApp(interval_s=None, prefs=settings.Settings(interval_s=10.0)).interval_s == 10.0
    assert TopApp(interval_s=None, prefs=settings.Settings(interval_s=10.0),
                  replay=object()).interval_s == 0.5  # fmt: skip
    assert TopApp(interval_s=3.0, prefs=settings.Settings(interval_s=10.0)).interval_s == 3.0


async def test_pss_column_is_read_for_visible_rows(sleepers):
    app = TopApp(interval_s=0.1, pids=[s.pid for s in sleepers], sort="PID", descending=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("f")
        await pilot.pause()
        await pilot.press("down", "down", "down", "space", "enter")
        await pilot.pause()
        names = [c.name for c in app.table.columns]
        assert "PSS" in names
        await wait_for(pilot, lambda: all(p.extras is not None for p in app.table.rows))
        col = names.index("PSS")
        cells = [c.cell(app.table.rows[0], RowContext()) for c in app.table.columns]
        assert cells[col].strip() not in ("", "?")
        assert app.table.rows[0].extras.pss > 0

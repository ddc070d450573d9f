"""The full-screen monitor: top's summary, the process table, the growth panel, a detail view.

Sampling, history and judging run in the engine's :class:`~toptui.engine.runner.Runner`, in a
plain daemon thread (a /proc sweep inline in the event loop would block key presses); it hands
whole frames to the UI with ``post_message``, which is thread-safe, and the UI only ever reads.
Styles live in ``toptui.tcss``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import threading
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.app import ComposeResult, SystemCommand
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.screen import Screen

from toptui.analysis.growth import MIN_WINDOW_S
from toptui.engine.monitor import Frame, Monitor, SnapshotSink, judge_every_for
from toptui.engine.pacing import choose_delay
from toptui.engine.runner import Runner
from toptui.engine.sources import RecordedSource, live_source
from toptui.render.columns import EXTRA_COLUMNS
from toptui.store.recording import WRITING
from toptui.views import settings
from toptui.views.growth_panel import GrowthPanel
from toptui.views.help_screen import HelpScreen
from toptui.views.key_footer import KeyFooter
from toptui.views.messages import FrameReady, SamplingFailed
from toptui.views.ordered_keys import OrderedKeysApp
from toptui.views.process_table import ProcessTable
from toptui.views.prompt_bar import PromptBar
from toptui.views.render_caches import release_render_caches
from toptui.views.summary_header import SummaryHeader

if TYPE_CHECKING:
    from types import ModuleType

    from toptui.engine.first_step import FirstStep

# The least history, in seconds, a new refresh interval must leave room for: the detector's
# minimum window, twice over.
MIN_JUDGED_S = 2 * MIN_WINDOW_S
# How long a signalled exit may take before the process just ends (see TopApp._end_on_signal).
EXIT_GRACE_S = 5.0


def _detail_screen() -> ModuleType:
    """The detail view's module, imported when first opened: at launch it is 20 ms of CPU (its
    graph and panels) that the first frame does not need."""
    from toptui.views import detail_screen

    return detail_screen


def _collect_from_now_on() -> None:
    """After the first frame is painted: garbage collection is back (the command line stops it
    for the launch, see cli._run_screen), and what the launch made is frozen out of it, so no
    later full collection walks Textual's and the modules' million objects again."""
    gc.freeze()
    gc.enable()


def _exit_between_writes() -> None:
    """End the process now, but not in the middle of a recorded tick's write."""
    WRITING.acquire(timeout=EXIT_GRACE_S)
    os._exit(0)


class TopApp(OrderedKeysApp[int]):
    CSS_PATH = "toptui.tcss"
    TITLE = "toptui"
    # Short terminals drop the summary, then the growth panel and footer, so rows stay visible.
    VERTICAL_BREAKPOINTS = [(0, "-tiny"), (12, "-short"), (24, "-tall")]

    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),  # as top, on any screen
        Binding("question_mark,h", "help", "Help", key_display="?"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("backslash,f4", "filter", "Filter", key_display="\\"),
        Binding("g", "toggle_growth", "Growth"),
        Binding("1", "toggle_per_cpu", "Per-CPU lines", show=False),
        Binding("F", "toggle_family", "Family growth", show=False),
        Binding("Z", "toggle_pause", "Pause", key_display="Z", show=False),
        Binding("full_stop", "step", "Step (replay)", show=False),
        Binding("d,s", "delay", "Delay", show=False),
        Binding("W", "save_settings", "Save settings", show=False),
        Binding("ctrl+z", "suspend_process", "Suspend (fg resumes)", show=False),
    ]

    def __init__(
        self,
        *,
        interval_s: float | None = None,
        history_s: float = 3600.0,
        pids: Iterable[int] | None = None,
        user: str | None = None,
        sort: str | None = None,
        descending: bool | None = None,
        monitor: Monitor | None = None,
        prefs: settings.Settings | None = None,
        settings_path: Path | None = None,
        startup_warning: str | None = None,
        recorder: SnapshotSink | None = None,
        replay: RecordedSource | None = None,
        first_step: FirstStep | None = None,
    ) -> None:
        super().__init__()
        self.prefs = prefs or settings.Settings()
        self.interval_s = interval_s if interval_s is not None else self.prefs.interval_s
        self.replay = replay
        if replay is not None and interval_s is None:
            self.interval_s = 0.5  # a recording plays back faster than it was taken
        # Judged at the samples' own interval: a replay's is the recording's, not the playback's.
        sampled_s = getattr(replay, "interval_s", self.interval_s)
        self.monitor = monitor or Monitor(
            replay or live_source(pids),
            interval_s=sampled_s,
            history_s=history_s,
            judge_every_s=judge_every_for(sampled_s),
            recorder=recorder,
        )
        # A paused replay (or one at its end) waits for '.' presses; live sampling never stops.
        self.runner = Runner(self._step, self.interval_s, self._publish,
                             on_error=self._failed, held=self._replay_held)  # fmt: skip
        self.user = user
        self._sort = (sort or self.prefs.sort, self.prefs.descending if descending is None
                      else descending)  # fmt: skip
        self.settings_path = settings_path
        self._sampler_thread: threading.Thread | None = None
        self.frame: Frame | None = None
        self.frames_seen = 0
        self.paused = False
        self._selected_key = None
        self._record_error_shown = False
        self._startup_warning = startup_warning
        # ``monitor``'s first step, already under way (the command line starts it before Textual
        # is imported): the sampling loop's first frame.
        self._first_step = first_step

    def compose(self) -> ComposeResult:
        # Kept as attributes: frames can arrive while another screen is on top, or while the
        # app is shutting down, when a query from the app would find nothing.
        self.table = ProcessTable(sort=self._sort[0], descending=self._sort[1], user=self.user,
                                  history=self.monitor.history, id="table")  # fmt: skip
        self.summary = SummaryHeader(id="summary")
        self.growth_panel = GrowthPanel(id="growth")
        self.prompt = PromptBar(id="prompt")
        yield self.summary
        yield self.table
        yield self.growth_panel
        yield self.prompt
        yield KeyFooter()

    def _install_signal_handlers(self) -> None:
        """SIGTERM, SIGHUP (terminal closed) and SIGINT end toptui cleanly: the terminal is
        restored and a recording ends on a whole line (each tick is one write)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._end_on_signal)
        self._suspend_on_the_loop(loop)

    def _suspend_on_the_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """SIGTSTP (Ctrl+Z, ``kill -TSTP``) and SIGCONT (fg) run Textual's suspend and resume
        from the event loop, not from a signal handler.

        Textual's driver handles them with ``signal.signal``: Python runs such a handler in the
        main thread between any two bytecodes, and this one writes to the output queue. Come in
        the middle of a frame's write, inside ``queue.put``, it took the queue's lock a second
        time and the screen hung for ever, never stopped (1 of ~40 SIGTSTPs at -d 0.05). From
        the loop, both run between two callbacks, when no write is under way."""
        driver = self._driver
        if driver is None or not hasattr(driver, "_sigtstp_application"):
            return  # a headless or web driver: it installs no such handlers
        for sig, handler in ((signal.SIGTSTP, driver._sigtstp_application),
                             (signal.SIGCONT, driver._sigcont_application)):  # fmt: skip
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, handler)

    def _end_on_signal(self) -> None:
        """Exit as asked, and never hang doing so.

        After a hang-up, Textual's output thread can die on EIO from the vanished terminal and
        leave the shutdown blocked on its full queue for ever (6 of 60 hang-ups under load). With
        no terminal there is nothing left to restore, and a recorded tick is one write made under
        the recording's lock, so past a grace period the process ends between two writes.
        """
        self.exit()
        watchdog = threading.Timer(EXIT_GRACE_S, _exit_between_writes)
        watchdog.daemon = True
        watchdog.start()

    def on_mount(self) -> None:
        self._install_signal_handlers()
        prefs = self.prefs
        self.theme = prefs.theme
        table = self.table
        table.unit = prefs.unit
        table.tree_view = prefs.tree and self.replay is None  # a recording keeps no parents
        self.summary.per_cpu = prefs.per_cpu
        table.hide_idle = prefs.hide_idle
        if self.replay is not None:
            table.unrecorded = self.replay.unrecorded_columns
        table.set_columns(prefs.extra_columns, prefs.full_command)
        self.growth_panel.set_class(not prefs.growth_panel, "hidden")
        table.focus()
        if self._startup_warning:
            self.notify(self._startup_warning, severity="warning", timeout=8)
        self._sampler_thread = self.runner.start()
        if not gc.isenabled():  # and if no frame comes at all (sampling keeps failing)
            self.set_timer(10.0, _collect_from_now_on)

    def on_unmount(self) -> None:
        # Stopped and waited for: the command line closes the recording once the app returns,
        # and a tick being written then must end first (one whole line each).
        self.runner.stop()
        if self._sampler_thread is not None:
            self._sampler_thread.join(EXIT_GRACE_S)

    # -- the sampling thread (the runner's): never touches widgets ----------------------------

    def _step(self) -> Frame:
        first, self._first_step = self._first_step, None
        if first is not None:
            return first.take()
        selected = self._selected_key  # judged first, so the detail view is never behind
        return self.monitor.step([selected] if selected is not None else [])

    def _publish(self, frame: Frame) -> None:
        self.post_message(FrameReady(frame, stepped=self.replay is not None))

    def _failed(self, exc: Exception) -> None:
        # Surfaced, and sampling goes on: the next tick may well work.
        self.post_message(SamplingFailed(f"{exc!r}\n{traceback.format_exc(limit=3)}"))

    def _replay_held(self) -> bool:
        return self.replay is not None and (self.paused or self.replay.done)

    # -- frames ------------------------------------------------------------------------------

    def on_frame_ready(self, message: FrameReady) -> None:
        if not self.table.is_mounted or self.runner.stopped:
            return
        if self.paused and not message.stepped:
            return  # history and judging go on in the thread; only the display is frozen
        self._show(message.frame)

    def _show(self, frame: Frame) -> None:
        self.frame = frame
        self.frames_seen += 1
        if self.frames_seen == 1 and not gc.isenabled():
            self.call_after_refresh(_collect_from_now_on)
        table = self.table
        table.set_frame(frame)
        self._selected_key = table.cursor_key
        self._ask_for_extras()
        self._update_header()
        self._show_growth()
        screen = self.screen
        if len(self.screen_stack) > 1 and isinstance(screen, _detail_screen().DetailScreen):
            screen.show(frame, frame.verdicts.get(screen.key))
        if self.monitor.record_error and not self._record_error_shown:
            self._record_error_shown = True
            self.notify(self.monitor.record_error, severity="error", timeout=10)

    def _show_growth(self) -> None:
        """The growth panel, narrowed as the table is (user, \\ filter), so it lists only
        processes the table shows."""
        if self.frame is None:
            return
        table = self.table
        panel = self.growth_panel
        panel.full_command = table.full_command
        panel.show(self.frame, self.monitor.history, table.narrowing)
        if panel.has_focus and not panel.entry_count:  # nothing left to choose
            self.action_focus_table()

    def _ask_for_extras(self) -> None:
        """PSS/USS/swap/I/O are read for the visible rows only, and only when shown."""
        if not self.monitor.sampler.live:
            return  # a replay has no live processes to read
        table = self.table
        wanted = frozenset()
        if any(c.name in EXTRA_COLUMNS for c in table.columns):
            wanted = frozenset(table.visible_keys())
        self.monitor.sampler.extras_for = wanted

    def _update_header(self) -> None:
        if self.frame is None:
            return
        table = self.table
        notes = []
        if self.replay is not None:
            state = "end" if self.replay.done else ("paused" if self.paused else "playing")
            # A recording keeps no system figures: the memory lines are this machine's (for
            # time-to-OOM), and the summary says what is not recorded (summary_lines).
            notes.append(
                f"[replay {self.replay.position}/{self.replay.total} {state}; Mem: this machine]"
            )
        if self.paused:
            notes.append("[PAUSED: Z resumes" + (", . steps]" if self.replay else "]"))
        if table.filter_text:
            notes.append(f"[filter: {table.filter_text}]")
        if table.search_text:
            notes.append(f"[search: {table.search_text}, n: next]")
        if table.user:
            notes.append(f"[user: {table.user}]")
        if table.tree_view:
            notes.append("[tree]")
        if table.hide_idle:
            notes.append("[active only: i shows all]")
        if table.tagged:
            notes.append(f"[{len(table.tagged)} tagged]")
        snap = self.frame.snapshot
        self.summary.show(snap.system, snap.t_wall, " ".join(notes))

    def on_sampling_failed(self, message: SamplingFailed) -> None:
        self.notify(message.error, title="Sampling failed", severity="error", timeout=8)

    def on_process_table_cursor_moved(self, message: ProcessTable.CursorMoved) -> None:
        self._selected_key = message.key

    def on_process_table_followed_exited(self, message: ProcessTable.FollowedExited) -> None:
        p = message.proc
        self.notify(f"PID {p.pid} ({p.shown_name}) exited", timeout=4)

    def on_process_table_notes_changed(self) -> None:
        self._narrowed()

    async def route_here(self, key: events.Key) -> bool:
        """The table takes keys only through bindings: run them as the key is dequeued (cheaper
        than Textual's round trip through the table), and answer a key nobody knows as top does
        (its H, o, O ... do not exist here). With the growth panel focused, its own keys and the
        screen's go their usual way, and the table's keys (M, P, G, V ...) still act on the
        table."""
        focused = self.focused
        if isinstance(focused, GrowthPanel):
            if any(key.key in b.key_to_bindings for _, b in self.screen._binding_chain):
                return False
            for binding in self.table._bindings.key_to_bindings.get(key.key, ()):
                if await self.run_action(binding.action, self.table):
                    return True
        elif not isinstance(focused, ProcessTable):
            return False
        else:
            for priority in (True, False):
                if await self._check_bindings(key.key, priority=priority):
                    return True
        if key.is_printable and key.character:
            self.notify(f"Unknown command {key.character!r}: ? or h for help", timeout=2)
            return True
        return False

    def action_open_detail(self, source: str = "table") -> None:
        """The detail view of the table's selected process, or (``growth``) of the growth
        panel's selected line, which the table's cursor then follows too."""
        # Pushed here, at once, rather than through a message from the table: a key typed right
        # after Enter (Esc) must find the detail view already open (see ordered_keys).
        if source == "growth":
            key = self.growth_panel.selected_key
            if key is None:
                return
            self.table.select_key(key)  # so that k, x and the table agree with what is shown
            self.growth_panel.keep_cursor_once = True  # back from the view: on the same line
        else:
            key = self.table.cursor_key
            if key is None:
                return
            self.table.following = True  # k, x and the monitor's re-judging act on the one shown
        self._selected_key = key
        screen = _detail_screen().DetailScreen(key, self.monitor.history)
        self.push_screen(screen)
        if self.frame is not None:
            screen.call_after_refresh(screen.show, self.frame, self.frame.verdicts.get(key))

    def action_focus_growth(self) -> None:
        """Tab: the growth panel takes the keys, its first line (the fastest grower) selected."""
        panel = self.growth_panel
        if panel.has_class("hidden") or not panel.display or not panel.region.height:
            self.notify("the growth panel is hidden: g shows it", timeout=2)
        elif not panel.entry_count:
            self.notify("the growth panel lists no process yet", timeout=2)
        else:
            panel.keep_cursor_once = not panel.has_focus  # selected here, at once: the next
            panel.select_first()  # key may be Enter, before the panel hears of its focus
            self.table.screen.set_focus(panel)

    def action_focus_table(self) -> None:
        self.table.screen.set_focus(self.table)

    def action_fastest_grower(self) -> None:
        """Put the table's cursor on the fastest grower (the growth panel's first line)."""
        panel, table = self.growth_panel, self.table
        key = panel.first_key
        if key is None:
            self.notify("no process is growing steadily (yet)", timeout=2)
            return
        table.screen.set_focus(table)
        if not table.select_key(key):
            why = "i hides idle tasks" if table.hide_idle else "not in the table"
            self.notify(f"PID {key[0]} is growing but not shown: {why}", timeout=3)

    def pop_screen(self) -> AwaitComplete:
        # Help, detail and every dialog close through here (Screen.dismiss calls it too).
        closed = super().pop_screen()
        release_render_caches()
        return closed

    # Actions that work on the table's own screen only (their prompt bar and the table live
    # there); on the detail view or a dialog they are disabled and left out of the footer.
    _TABLE_ONLY = frozenset(
        {"search", "filter", "delay", "toggle_growth", "toggle_family", "save_settings"}
    )  # fmt: skip

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in self._TABLE_ONLY and len(self.screen_stack) > 1)

    # -- prompts -----------------------------------------------------------------------------

    def action_search(self) -> None:
        self.prompt.ask("search", "Search command lines (Enter: go; then n for the next match)")

    def action_filter(self) -> None:
        table = self.table
        self.prompt.ask("filter", "Filter by name or command", table.filter_text or "")

    def action_delay(self) -> None:
        self.prompt.ask("delay", f"Change delay from {self.interval_s:g}s to")

    def on_prompt_bar_typed(self, message: PromptBar.Typed) -> None:
        if not self.prompt.display:
            # Typed while open, arriving after the answer (a burst): the answer has the last
            # word, and a later Esc must not see the filter come back.
            return
        if message.kind == "filter":
            self.table.set_filter(message.value)
            self._narrowed()
        elif message.kind == "search":
            self.table.search(message.value)
            self._update_header()

    def on_prompt_bar_answered(self, message: PromptBar.Answered) -> None:
        table_screen = self.table.screen
        if table_screen.focused is None:  # the prompt gives the focus back itself; at once
            table_screen.set_focus(self.table)
        kind, value = message.kind, message.value
        if kind == "filter":
            self.table.set_filter(value)
            self._narrowed()
        elif kind == "search":
            if value and not self.table.search(value):
                self.notify(f"no match for {value!r}", timeout=2)
            if value is None:
                self.table.search(None)
            self._update_header()
        elif kind == "delay" and value is not None:
            history = self.monitor.history
            choice = choose_delay(value, history.capacity, history.history_s, MIN_JUDGED_S)
            if choice.message:
                self.notify(choice.message, severity=choice.severity, timeout=5)  # type: ignore[arg-type]
            if choice.delay_s is None:
                return
            delay = choice.delay_s
            self.interval_s = self.runner.period_s = delay
            if self.replay is None:  # judged at the new sampling interval from now on
                self.monitor.interval_s = delay
                self.monitor.judge_every_s = judge_every_for(delay)
            self.runner.wake()  # the next refresh comes at the new pace, not after the old one
            self.notify(f"refreshing every {delay:g}s", timeout=2)
        elif kind == "renice" and value is not None:
            self.table.reniced(value)

    # -- display -----------------------------------------------------------------------------

    def action_toggle_growth(self) -> None:
        panel = self.growth_panel
        panel.toggle_class("hidden")
        if panel.has_class("hidden") and panel.has_focus:
            self.action_focus_table()

    def action_toggle_per_cpu(self) -> None:
        """top's 1: a %Cpu line per CPU instead of %Cpu(s)."""
        if self.replay is not None:
            self.notify("a recording keeps no CPU states", timeout=2)
            return
        self.summary.per_cpu = not self.summary.per_cpu
        self._update_header()

    def action_toggle_family(self) -> None:
        """Judge each process together with its descendants (a pool leaks as a family)."""
        if self.replay is not None and "PPID" in self.replay.unrecorded_columns:
            self.notify("this recording keeps no parent pids: no families", timeout=2)
            return
        panel = self.growth_panel
        panel.toggle_family()
        # The monitor judges families only while they are shown: off, their state is dropped.
        self.monitor.families = panel.family_mode
        panel.remove_class("hidden")
        self._show_growth()
        mode = "families (process + descendants)" if panel.family_mode else "single processes"
        self.notify(f"growth panel judges {mode}", timeout=2)

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.replay is not None:
            if not self.paused:  # steps asked for while paused are void once it plays on
                self.runner.drop_steps()
            self.runner.wake()  # a replay stops at once (live sampling goes on while paused)
        if not self.paused and self.monitor.last is not None:
            self._show(self.monitor.last)
        self._update_header()

    def action_step(self) -> None:
        """Replay only: advance one recorded tick while paused."""
        if self.replay is None:
            return
        self.paused = True
        self.runner.press_step()

    def _narrowed(self) -> None:
        """The table's filters changed: the header says so and the growth panel follows."""
        self._update_header()
        self._show_growth()

    def action_save_settings(self) -> None:
        table = self.table
        prefs = settings.Settings(
            sort=table.sort_column,
            descending=table.descending,
            interval_s=self.interval_s,
            unit=table.unit,
            growth_panel=not self.growth_panel.has_class("hidden"),
            tree=table.tree_view,
            full_command=table.full_command,
            per_cpu=self.summary.per_cpu,
            hide_idle=table.hide_idle,
            extra_columns=list(table.extra_columns),
            theme=self.theme if self.theme in settings.THEMES else "textual-dark",
        )
        try:
            path = settings.save(prefs, self.settings_path)
        except OSError as exc:
            self.notify(f"could not save settings: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"settings saved to {path}", timeout=3)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        detail = _detail_screen()
        groups = [
            ("Process table", list(ProcessTable.BINDINGS)),
            ("Screen", list(self.BINDINGS)),
            ("Growth panel (Tab)", list(GrowthPanel.HELP)),
            ("Detail view", list(detail.DetailScreen.BINDINGS)),
        ]
        # From the detail view, help also explains the words and statistics its facts use.
        notes = detail.GLOSSARY if isinstance(self.screen, detail.DetailScreen) else None
        self.push_screen(HelpScreen(groups, notes))

    def get_system_commands(self, screen: Screen) -> Iterator[SystemCommand]:
        yield from super().get_system_commands(screen)
        table = self.table
        yield SystemCommand(
            "Sort by memory (RES)", "Like Shift+M", lambda: table.action_sort("RES")
        )
        yield SystemCommand("Sort by growth rate", "Leaking processes first",
                            lambda: table.action_sort("GROWTH"))  # fmt: skip
        yield SystemCommand("Tree view", "Processes under their parents", table.action_toggle_tree)
        yield SystemCommand("Search", "Find a process by command line", self.action_search)
        yield SystemCommand("Filter", "Show only matching processes", self.action_filter)
        yield SystemCommand("Kill", "Send a signal to the selected process", table.action_kill)
        yield SystemCommand("Pause", "Freeze the display", self.action_toggle_pause)
        yield SystemCommand("Save settings", "Like W in top", self.action_save_settings)

"""The full-screen monitor: top's summary, the process table, the growth panel, a detail view.

Sampling, history and judging run in a plain daemon thread (a /proc sweep inline in the event loop
would block key presses); the thread hands whole frames to the UI with ``post_message``, which is
thread-safe, and the UI only ever reads. Styles live in ``toptui.tcss``.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterable

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer

from toptui.monitor import Frame, Monitor
from toptui.sampling.sampler import Sampler
from toptui.views.detail_screen import DetailScreen
from toptui.views.growth_panel import GrowthPanel
from toptui.views.help_screen import HelpScreen
from toptui.views.messages import FrameReady, SamplingFailed
from toptui.views.process_table import ProcessTable
from toptui.views.summary_header import SummaryHeader


class TopApp(App[int]):
    CSS_PATH = "toptui.tcss"
    TITLE = "toptui"
    ENABLE_COMMAND_PALETTE = False

    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,h", "help", "Help", key_display="?"),
        Binding("g", "toggle_growth", "Growth panel"),
    ]

    def __init__(
        self,
        *,
        interval_s: float = 2.0,
        history_s: float = 3600.0,
        pids: Iterable[int] | None = None,
        user: str | None = None,
        sort: str = "%CPU",
        descending: bool = True,
        monitor: Monitor | None = None,
    ) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.monitor = monitor or Monitor(
            Sampler(pids=pids), interval_s=interval_s, history_s=history_s
        )
        self.user = user
        self._sort = (sort, descending)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frame: Frame | None = None
        self.frames_seen = 0

    def compose(self) -> ComposeResult:
        yield SummaryHeader(id="summary")
        yield ProcessTable(sort=self._sort[0], descending=self._sort[1], user=self.user, id="table")
        yield GrowthPanel(id="growth")
        yield Footer()

    @property
    def table(self) -> ProcessTable:
        return self.query_one(ProcessTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._thread = threading.Thread(
            target=self._sample_loop, name="toptui-sampler", daemon=True
        )
        self._thread.start()

    def on_unmount(self) -> None:
        self._stop.set()

    # -- the sampling thread: never touches widgets ----------------------------------------

    def _sample_loop(self) -> None:
        deadline = time.monotonic()
        while not self._stop.is_set():
            urgent = []
            selected = self._selected_key
            if selected is not None:
                urgent.append(selected)
            try:
                frame = self.monitor.step(urgent)
            except Exception as exc:  # surface it, keep sampling: the next tick may well work
                self.post_message(SamplingFailed(f"{exc!r}\n{traceback.format_exc(limit=3)}"))
            else:
                self.post_message(FrameReady(frame))
            deadline += self.interval_s
            now = time.monotonic()
            if deadline < now:  # a sweep overran the interval: don't try to catch up
                deadline = now
            self._stop.wait(deadline - now)

    _selected_key = None

    # -- frames ------------------------------------------------------------------------------

    def on_frame_ready(self, message: FrameReady) -> None:
        frame = message.frame
        self.frame = frame
        self.frames_seen += 1
        snap = frame.snapshot
        self.query_one(SummaryHeader).show(snap.system, snap.t_wall)
        table = self.table
        table.set_frame(frame)
        self._selected_key = table.cursor_key
        self.query_one(GrowthPanel).show(frame, self.monitor.history)
        screen = self.screen
        if isinstance(screen, DetailScreen):
            screen.show(frame, frame.verdicts.get(screen.key))

    def on_sampling_failed(self, message: SamplingFailed) -> None:
        self.notify(message.error, title="Sampling failed", severity="error", timeout=8)

    def on_process_table_cursor_moved(self, message: ProcessTable.CursorMoved) -> None:
        self._selected_key = message.key

    def on_process_table_opened(self, message: ProcessTable.Opened) -> None:
        screen = DetailScreen(message.key, self.monitor.history)
        self.push_screen(screen)
        if self.frame is not None:
            screen.call_after_refresh(screen.show, self.frame, self.frame.verdicts.get(message.key))

    # -- actions -----------------------------------------------------------------------------

    def action_toggle_growth(self) -> None:
        panel = self.query_one(GrowthPanel)
        panel.display = not panel.display

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        groups = [
            ("Process table", list(ProcessTable.BINDINGS)),
            ("Screen", list(self.BINDINGS)),
            ("Detail view", list(DetailScreen.BINDINGS)),
        ]
        self.push_screen(HelpScreen(groups))

"""The process table: a line-API scroll view whose cursor follows a process, not a row number.

Only visible lines are formatted (``render_line``), with a sticky column header on the first line.
A refresh re-sorts and repaints; the cursor keeps its process identity, so re-sorting or a new
snapshot never moves the selection to someone else. Sorting keys are top's (M, P, T, N, <, >, R).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from toptui.analysis.growth import GrowthVerdict
from toptui.columns import BY_NAME, COLUMNS, Column, RowContext, header_cell, sort_rows
from toptui.format import UNIT_NAMES
from toptui.model import ProcKey, ProcSample
from toptui.monitor import Frame

_SORT_ORDER = [c.name for c in COLUMNS]


class ProcessTable(ScrollView, can_focus=True):
    """Rows of ProcSample, sorted like top, drawn a line at a time."""

    COMPONENT_CLASSES = {
        "proctable--header",
        "proctable--sorted",
        "proctable--cursor",
        "proctable--leak",
        "proctable--growth",
        "proctable--running",
    }

    BINDINGS = [
        Binding("M,shift+m", "sort('RES')", "Sort mem", key_display="M"),
        Binding("P,shift+p", "sort('%CPU')", "Sort CPU", key_display="P"),
        Binding("T,shift+t", "sort('TIME+')", "Sort time", show=False),
        Binding("N,shift+n", "sort('PID')", "Sort PID", show=False),
        Binding("G", "sort('GROWTH')", "Sort growth", show=False),
        Binding("less_than_sign", "shift_sort(-1)", "Sort left", show=False),
        Binding("greater_than_sign", "shift_sort(1)", "Sort right", show=False),
        Binding("R,shift+r", "reverse", "Reverse", show=False),
        Binding("e", "cycle_units", "Units", show=False),
        Binding("enter", "open", "Details"),
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    sort_column: reactive[str] = reactive("%CPU", init=False)
    descending: reactive[bool] = reactive(True, init=False)
    unit: reactive[int] = reactive(0, init=False)

    class Opened(Message):
        """Enter on a row: show that process in detail."""

        def __init__(self, key: ProcKey) -> None:
            super().__init__()
            self.key = key

    class CursorMoved(Message):
        def __init__(self, key: ProcKey | None) -> None:
            super().__init__()
            self.key = key

    def __init__(
        self,
        sort: str = "%CPU",
        descending: bool = True,
        user: str | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(ProcessTable.sort_column, sort)
        self.set_reactive(ProcessTable.descending, descending)
        self.user = user
        self.columns: Sequence[Column] = COLUMNS
        self._procs: tuple[ProcSample, ...] = ()
        self._verdicts: dict[ProcKey, GrowthVerdict] = {}
        self.rows: list[ProcSample] = []
        self._index: dict[ProcKey, int] = {}
        self.cursor_key: ProcKey | None = None
        self.cursor_index = 0
        self._styles: dict[str, Style] = {}

    # -- data ----------------------------------------------------------------------------

    def set_frame(self, frame: Frame) -> None:
        self._procs = frame.snapshot.procs
        self._verdicts = frame.verdicts
        self._resort()

    def _resort(self) -> None:
        procs = self._procs
        if self.user is not None:
            procs = tuple(p for p in procs if p.user == self.user)
        self.rows = sort_rows(procs, self.sort_column, self.descending, self._verdicts)
        self._index = {p.key: i for i, p in enumerate(self.rows)}
        if self.cursor_key in self._index:
            self.cursor_index = self._index[self.cursor_key]
        else:
            # The followed process exited (or there was none): stay at the same screen row.
            self.cursor_index = min(self.cursor_index, max(0, len(self.rows) - 1))
            self.cursor_key = self.rows[self.cursor_index].key if self.rows else None
            self.post_message(self.CursorMoved(self.cursor_key))
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        self._scroll_cursor_into_view()
        self.refresh()

    @property
    def selected(self) -> ProcSample | None:
        return self.rows[self.cursor_index] if self.rows else None

    def select_key(self, key: ProcKey) -> bool:
        if key not in self._index:
            return False
        self._move_to(self._index[key])
        return True

    # -- reactives -----------------------------------------------------------------------

    def watch_sort_column(self) -> None:
        self._resort()

    def watch_descending(self) -> None:
        self._resort()

    def watch_unit(self) -> None:
        self.refresh()

    # -- actions -------------------------------------------------------------------------

    def action_sort(self, column: str) -> None:
        """Sort by a column in its natural order (largest first for numbers), like top."""
        self.set_reactive(ProcessTable.descending, BY_NAME[column].numeric)
        self.set_reactive(ProcessTable.sort_column, column)
        self._resort()

    def action_shift_sort(self, delta: int) -> None:
        i = _SORT_ORDER.index(self.sort_column)
        self.sort_column = _SORT_ORDER[(i + delta) % len(_SORT_ORDER)]

    def action_reverse(self) -> None:
        self.descending = not self.descending

    def action_cycle_units(self) -> None:
        self.unit = (self.unit + 1) % len(UNIT_NAMES)
        self.notify(f"Memory columns in {UNIT_NAMES[self.unit]}", timeout=1.5)

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor_index + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor_index + direction * max(1, self._body_height() - 1))

    def action_jump(self, where: int) -> None:
        self._move_to(0 if where == 0 else len(self.rows) - 1)

    def action_open(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.Opened(self.cursor_key))

    def _move_to(self, index: int) -> None:
        if not self.rows:
            return
        index = max(0, min(len(self.rows) - 1, index))
        old = self.cursor_index
        self.cursor_index = index
        self.cursor_key = self.rows[index].key
        self._scroll_cursor_into_view()
        self.refresh_line(old + 1)
        self.refresh_line(index + 1)
        self.post_message(self.CursorMoved(self.cursor_key))

    def _body_height(self) -> int:
        return max(1, self.size.height - 1)

    def _scroll_cursor_into_view(self) -> None:
        top = int(self.scroll_offset.y)
        h = self._body_height()
        if self.cursor_index < top:
            self.scroll_to(y=self.cursor_index, animate=False, immediate=True)
        elif self.cursor_index >= top + h:
            self.scroll_to(y=self.cursor_index - h + 1, animate=False, immediate=True)

    # -- mouse ---------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            return
        self._move_to(int(self.scroll_offset.y) + event.y - 1)

    # -- drawing -------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self.get_component_rich_style(name, partial=True)
            self._styles[name] = style
        return style

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            return self._header_strip(width, base)
        index = int(self.scroll_offset.y) + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, base)
        p = self.rows[index]
        verdict = self._verdicts.get(p.key)
        ctx = RowContext(unit=self.unit, verdict=verdict)
        leak = verdict is not None and verdict.verdict == "leak"
        row_style = base
        if leak:
            row_style = base + self._style("proctable--leak")
        elif p.state == "R":
            row_style = base + self._style("proctable--running")
        if index == self.cursor_index:
            row_style = row_style + self._style("proctable--cursor")
        segments = []
        for i, col in enumerate(self.columns):
            if i:
                segments.append(Segment(" ", row_style))
            style = row_style
            if col.name == "GROWTH" and leak:
                style = row_style + self._style("proctable--growth")
            segments.append(Segment(col.cell(p, ctx), style))
        return Strip(segments).adjust_cell_length(width, row_style).crop(0, width)

    def _header_strip(self, width: int, base: Style) -> Strip:
        header = base + self._style("proctable--header")
        sorted_style = header + self._style("proctable--sorted")
        segments = []
        for i, col in enumerate(self.columns):
            if i:
                segments.append(Segment(" ", header))
            text = header_cell(col)
            segments.append(Segment(text, sorted_style if col.name == self.sort_column else header))
        return Strip(segments).adjust_cell_length(width, header).crop(0, width)

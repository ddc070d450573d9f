"""The process table: a line-API scroll view whose cursor follows a process, not a row number.

Only visible lines are formatted (``render_line``), with a sticky column header on the first line.
A refresh re-sorts and repaints. Once the person has moved the cursor it keeps its process
identity, so a new snapshot never moves the selection to someone else; until then, and after a
sort key (which asks for the top of the new order), it stays on the top row. Sorting keys are
top's (M, P, T, N, <, >, R).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from toptui.analysis.growth import GrowthVerdict
from toptui.analysis.tree import TreeRow, build_tree
from toptui.engine.monitor import Frame
from toptui.model import ProcKey, ProcSample, Snapshot
from toptui.render.columns import (
    ALL_COLUMNS,
    Column,
    RowContext,
    fit_columns,
    header_cell,
    sort_rows,
    visible_columns,
)
from toptui.render.format import UNIT_NAMES
from toptui.render.rows import Narrowing, matches
from toptui.store.history import History
from toptui.views import process_actions
from toptui.views.choice_screen import ChoiceScreen
from toptui.views.columns_screen import ColumnsScreen
from toptui.views.prompt_bar import PromptBar


class ProcessTable(ScrollView, can_focus=True):
    """Rows of ProcSample, sorted like top, drawn a line at a time."""

    COMPONENT_CLASSES = {
        "proctable--header",
        "proctable--sorted",
        "proctable--cursor",
        "proctable--leak",
        "proctable--growth",
        "proctable--rising",
        "proctable--running",
        "proctable--tagged",
        "proctable--match",
        "proctable--match-text",
    }

    BINDINGS = [
        # Short words for the footer (80 columns keep them), the whole ones for help (tooltip).
        Binding("M,shift+m", "sort('RES')", "Mem", key_display="M", tooltip="Sort mem"),
        Binding("P,shift+p", "sort('%CPU')", "Sort CPU", key_display="P"),
        Binding("T,shift+t", "sort('TIME+')", "Sort time", show=False),
        Binding("N,shift+n", "sort('PID')", "Sort PID", show=False),
        Binding("G", "sort('GROWTH')", "By growth", key_display="G", tooltip="Sort growth"),
        Binding("L", "app.fastest_grower", "Grower", key_display="L", tooltip="Go to grower"),
        Binding("tab,shift+tab", "app.focus_growth", "Choose in the growth panel", show=False),
        Binding("less_than_sign", "shift_sort(-1)", "Sort left", show=False),
        Binding("greater_than_sign", "shift_sort(1)", "Sort right", show=False),
        Binding("R,shift+r", "reverse", "Reverse", show=False),
        Binding("e", "cycle_units", "Units", show=False),
        Binding("enter", "app.open_detail", "Details"),
        Binding("V", "toggle_tree", "Tree", key_display="V"),
        Binding("k", "kill", "Kill"),
        Binding("r", "renice", "Renice", show=False),
        Binding("x", "export", "Export history", show=False),
        Binding("u", "pick_user", "User", show=False),
        Binding("f,f2", "columns", "Columns", show=False),
        Binding("escape", "clear", "Clear filter", show=False),
        Binding("space", "tag", "Tag", show=False),
        Binding("U", "untag_all", "Untag all", show=False),
        Binding("c", "toggle_command", "Command line", show=False),
        Binding("i", "toggle_idle", "Idle tasks", show=False),
        Binding("n,f3", "next_match", "Next match", show=False),
        Binding("plus", "fold(False)", "Expand", show=False),
        Binding("minus", "fold(True)", "Collapse", show=False),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    sort_column: reactive[str] = reactive("%CPU", init=False)
    descending: reactive[bool] = reactive(True, init=False)
    unit: reactive[int] = reactive(0, init=False)

    class CursorMoved(Message):
        def __init__(self, key: ProcKey | None) -> None:
            super().__init__()
            self.key = key

    class NotesChanged(Message):
        """Tree view, idle tasks or the tags changed: the header's notes say so at once."""

    class FollowedExited(Message):
        """The process the cursor followed exited (or became a zombie): the cursor went to the
        row after it in the order (``proc`` is how it was last seen)."""

        def __init__(self, proc: ProcSample) -> None:
            super().__init__()
            self.proc = proc

    def __init__(
        self,
        sort: str = "%CPU",
        descending: bool = True,
        user: str | None = None,
        *,
        history: History | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(ProcessTable.sort_column, sort)
        self.set_reactive(ProcessTable.descending, descending)
        self.user = user
        self.history = history  # for x: the selected process's history, exported
        self._snapshot: Snapshot | None = None
        self._renice_targets: list[ProcSample] = []
        self.filter_text: str | None = None
        self.hide_idle = False  # top's i: only tasks that used CPU since the last refresh
        self.search_text: str | None = None
        self.tree_view = False
        self.collapsed: set[ProcKey] = set()
        self.tagged: set[ProcKey] = set()
        self.extra_columns: list[str] = []
        self.full_command = False
        self._tree_rows: dict[ProcKey, TreeRow] = {}
        # What the person chose (top's fields plus the extras), and what of it fits the width.
        self.chosen_columns: Sequence[Column] = visible_columns()
        self.unrecorded: frozenset[str] = frozenset()  # not shown: a replay has no data for them
        self.columns: Sequence[Column] = self.chosen_columns
        self._fitted_for: tuple = ()
        self._procs: tuple[ProcSample, ...] = ()
        self._verdicts: dict[ProcKey, GrowthVerdict] = {}
        self.rows: list[ProcSample] = []
        self._index: dict[ProcKey, int] = {}
        self.cursor_key: ProcKey | None = None
        self.cursor_index = 0
        # Until the person moves the cursor it stays on the top row, whoever is there (so Shift+M
        # then Enter opens the biggest process); once moved, it follows the process chosen.
        self.following = False
        self._chose_zombie = False  # the cursor was put on a zombie: it is not "exiting" then
        self._styles: dict[str, Style] = {}
        self._base: Style | None = None  # rich_style, until the styles change (see _base_style)
        # Screen line -> ((signature, width), strip) as last painted.
        self._painted: dict[int, tuple[tuple, Strip]] = {}
        self.lines_repainted = 0
        self._header_sig: tuple = ()
        # Per process: (row object, columns, what else the cells show, the cells): see
        # _row_signature.
        self._cells: dict[ProcKey, tuple[ProcSample, Sequence[Column], tuple, tuple[str, ...]]] = {}

    # -- data ----------------------------------------------------------------------------

    def set_frame(self, frame: Frame) -> None:
        self._snapshot = frame.snapshot
        self._procs = frame.snapshot.procs
        self._verdicts = frame.verdicts
        self._resort()

    @property
    def narrowing(self) -> Narrowing:
        """The user and \\ filter the rows are narrowed by (the growth panel follows it)."""
        return Narrowing(self.user, self.filter_text)

    def _order(self, procs: Sequence[ProcSample]) -> list[ProcSample]:
        return sort_rows(procs, self.sort_column, self.descending, self._verdicts)

    def _resort(self) -> None:
        before, at = self.rows, self.cursor_index
        procs: Sequence[ProcSample] = self._procs
        procs = self.narrowing.apply(procs)
        if self.hide_idle:
            procs = [p for p in procs if p.cpu_percent > 0]
        if self.tree_view:
            tree = build_tree(procs, self._order, self.collapsed)
            self._tree_rows = {r.proc.key: r for r in tree}
            self.rows = [r.proc for r in tree]
        else:
            self._tree_rows = {}
            self.rows = self._order(procs)
        if self.tagged:
            self.tagged &= {p.key for p in self._procs}
        self._index = {p.key: i for i, p in enumerate(self.rows)}
        i = self._index.get(self.cursor_key) if self.cursor_key is not None else None
        died = i is not None and self.rows[i].state == "Z" and not self._chose_zombie
        if self.following and i is not None and not died:
            self.cursor_index = i
        elif self.following and self.cursor_key is not None and self.rows:
            # The followed process exited (or is a zombie now), or a filter hides it: the cursor
            # stays at its place in the order, on the row that came after it (before it, at the
            # end), never on a zombie, and follows that process from now on.
            if not (at < len(before) and before[at].key == self.cursor_key):
                at = next((k for k, p in enumerate(before) if p.key == self.cursor_key), at)
            gone = before[at] if at < len(before) and before[at].key == self.cursor_key else None
            self.cursor_index = self._successor(before, at)
            self.cursor_key = self.rows[self.cursor_index].key
            self._chose_zombie = False
            self.post_message(self.CursorMoved(self.cursor_key))
            if gone is not None and (died or gone.key not in self._alive()):
                self.post_message(self.FollowedExited(gone))
        else:
            # Nothing chosen yet, or the followed process exited: stay at the same screen row.
            self.cursor_index = min(self.cursor_index, max(0, len(self.rows) - 1))
            key = self.rows[self.cursor_index].key if self.rows else None
            if key != self.cursor_key:
                self.cursor_key = key
                self.post_message(self.CursorMoved(key))
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        self._scroll_cursor_into_view()
        self._refresh_changed()

    def _alive(self) -> set[ProcKey]:
        return {p.key for p in self._procs if p.state != "Z"}

    def _successor(self, before: Sequence[ProcSample], at: int) -> int:
        """Where the cursor goes when its process left the rows: the first row after it in the
        previous order that is still shown and not a zombie, else the nearest one before it."""
        index, rows = self._index, self.rows
        for p in (*before[at + 1 :], *reversed(before[:at])):
            i = index.get(p.key)
            if i is not None and rows[i].state != "Z":
                return i
        live = [i for i, p in enumerate(rows) if p.state != "Z"]
        return min(live, key=lambda i: abs(i - at)) if live else min(at, len(rows) - 1)

    def visible_keys(self) -> list[ProcKey]:
        top = int(self.scroll_offset.y)
        return [p.key for p in self.rows[top : top + self._body_height()]]

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
        self._fit_columns()
        self._resort()

    def watch_descending(self) -> None:
        self._resort()

    def watch_unit(self) -> None:
        self.refresh()

    # -- actions -------------------------------------------------------------------------

    def _to_top(self) -> None:
        """A sort key asks for the top of the new order, as in top (which has no cursor): the
        cursor goes back to the first row and stays there until it is moved again."""
        self.following = False
        self.cursor_index = 0

    def action_sort(self, column: str) -> None:
        """Sort by a column in its natural order (largest first for numbers), like top."""
        if column in self.unrecorded:
            self.notify(f"{column} is not in a recording: nothing to sort by", timeout=2)
            return
        self._to_top()
        self.set_reactive(ProcessTable.descending, ALL_COLUMNS[column].numeric)
        self.set_reactive(ProcessTable.sort_column, column)
        self._fit_columns()
        self._resort()

    def action_shift_sort(self, delta: int) -> None:
        self._to_top()
        order = [c.name for c in self.columns]
        i = order.index(self.sort_column) if self.sort_column in order else 0
        self.sort_column = order[(i + delta) % len(order)]

    def set_columns(self, extra: Sequence[str], full_command: bool) -> None:
        self.extra_columns = list(extra)
        self.full_command = full_command
        self.chosen_columns = visible_columns(self.extra_columns, self.tree_view)
        if self.sort_column not in ALL_COLUMNS or self.sort_column in self.unrecorded:
            self.set_reactive(ProcessTable.sort_column, "%CPU")
        self._fit_columns()
        self._resort()

    def set_filter(self, text: str | None) -> None:
        self.filter_text = text or None
        self._resort()

    def action_toggle_tree(self) -> None:
        if "PPID" in self.unrecorded:
            self.notify("a recording keeps no parent pids: no tree", timeout=2)
            return
        self.tree_view = not self.tree_view
        self.chosen_columns = visible_columns(self.extra_columns, self.tree_view)
        self._fit_columns()
        self._resort()
        self.post_message(self.NotesChanged())

    def action_toggle_idle(self) -> None:
        """top's i: hide the tasks that used no CPU since the last refresh, or show them again."""
        self.hide_idle = not self.hide_idle
        self._resort()
        self.refresh()
        self.post_message(self.NotesChanged())

    def action_toggle_command(self) -> None:
        if "FULLCMD" in self.unrecorded:
            self.notify("a recording keeps process names, not command lines", timeout=2)
            return
        self.full_command = not self.full_command
        self.refresh()

    def action_fold(self, collapse: bool) -> None:
        if not self.tree_view or self.cursor_key is None:
            return
        if collapse:
            self.collapsed.add(self.cursor_key)
        else:
            self.collapsed.discard(self.cursor_key)
        self._resort()

    def action_tag(self) -> None:
        """Tag or untag the selected process and move down, as htop's Space does."""
        if self.cursor_key is None:
            return
        self.tagged ^= {self.cursor_key}
        self.refresh_line(self.cursor_index + 1)
        self._move_to(self.cursor_index + 1)
        self.post_message(self.NotesChanged())

    def action_untag_all(self) -> None:
        self.tagged.clear()
        self.refresh()
        self.post_message(self.NotesChanged())

    # -- narrowing and columns -------------------------------------------------------------

    def set_user(self, user: str | None) -> None:
        self.user = user
        self._resort()
        self.post_message(self.NotesChanged())

    def action_pick_user(self) -> None:
        options = [("", "(all users)"), *((u, u) for u in sorted({p.user for p in self._procs}))]

        def picked(user: str | None) -> None:
            if user is not None:
                self.set_user(user or None)

        self.app.push_screen(
            ChoiceScreen("Show which user's processes? (or type a name)", options), picked
        )

    def action_clear(self) -> None:
        """Esc takes back one narrowing per press: the filter, then the search, then the user."""
        if self.filter_text:
            self.set_filter(None)
        elif self.search_text:
            self.search(None)
        elif self.user is not None:
            self.user = None
            self._resort()
        self.post_message(self.NotesChanged())

    def action_columns(self) -> None:
        chosen = list(self.extra_columns) + (["FULLCMD"] if self.full_command else [])

        def picked(names: list[str] | None) -> None:
            if names is not None:
                self.set_columns([n for n in names if n != "FULLCMD"], "FULLCMD" in names)

        self.app.push_screen(ColumnsScreen(chosen, hidden=self.unrecorded), picked)

    # -- acting on the tagged processes, or else the selected one (htop's rule) --------------

    def targets(self) -> list[ProcSample]:
        if self.tagged:
            return [p for p in self.rows if p.key in self.tagged]
        return [self.selected] if self.selected is not None else []

    def action_kill(self) -> None:
        process_actions.ask_signal(self.app, self.targets())

    def action_renice(self) -> None:
        if not process_actions.live_only(self.app, "renice"):
            return
        targets = self.targets()
        if targets:
            self._renice_targets = targets
            # Asked at once, not through a message: the next key of a burst (r 5 Enter) is
            # already the prompt's.
            prompt = f"Renice {process_actions.names(targets)} to nice value"
            self.screen.query_one(PromptBar).ask("renice", prompt)

    def reniced(self, value: str) -> None:
        """The renice prompt's answer, for the processes it was asked about."""
        process_actions.renice(self.app, self._renice_targets, value)

    def action_export(self) -> None:
        proc = self.selected
        series = self.history.series(proc.key) if proc and self.history else None
        process_actions.export(self.app, proc, series, self._snapshot)

    def search(self, text: str | None, start_here: bool = True) -> bool:
        """Jump to the next row matching ``text`` (wrapping); False when nothing matches."""
        self.search_text = text or None
        if not self.search_text or not self.rows:
            self.refresh()
            return False
        n = len(self.rows)
        first = self.cursor_index if start_here else self.cursor_index + 1
        for step in range(n):
            i = (first + step) % n
            if matches(self.rows[i], self.search_text):
                self._move_to(i)
                self.refresh()
                return True
        self.refresh()
        return False

    def action_next_match(self) -> None:
        if self.search_text and not self.search(self.search_text, start_here=False):
            self.notify(f"no match for {self.search_text!r}", timeout=2)

    def action_reverse(self) -> None:
        self._to_top()
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
        if where == 0:
            self.following = False  # Home: back to "whoever is on top", as before any move

    def _move_to(self, index: int) -> None:
        if not self.rows:
            return
        index = max(0, min(len(self.rows) - 1, index))
        self.following = True
        old = self.cursor_index
        self.cursor_index = index
        self.cursor_key = self.rows[index].key
        self._chose_zombie = self.rows[index].state == "Z"
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
            self._sort_by_header(event.x)
            return
        self._move_to(int(self.scroll_offset.y) + event.y - 1)

    def _sort_by_header(self, x: int) -> None:
        """Click a header to sort by it; click it again to reverse (htop's header clicks)."""
        pos = 0
        for col in self.columns:
            end = pos + (col.width or 10_000)
            if pos <= x < end:
                if col.name == self.sort_column:
                    self.action_reverse()
                else:
                    self.action_sort(col.name)
                return
            pos = end + 1

    # -- drawing -------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._base = None
        self._painted.clear()

    def _base_style(self) -> Style:
        """``rich_style``, kept until the styles change: Textual walks every ancestor's styles to
        make it, and a full repaint asks for it once per line."""
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self.get_component_rich_style(name, partial=True)
            self._styles[name] = style
        return style

    def on_resize(self) -> None:
        self._fit_columns()
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)

    def _fit_columns(self) -> bool:
        """Choose the columns that fit the width (COMMAND keeps a readable width; see
        ``fit_columns``); True when they changed. The sort column is never the one dropped."""
        width = self.size.width
        wanted = (width, self.sort_column, tuple(c.name for c in self.chosen_columns))
        if wanted == self._fitted_for:
            return False
        self._fitted_for = wanted
        chosen = [c for c in self.chosen_columns if c.name not in self.unrecorded]
        columns = fit_columns(chosen, width, keep=(self.sort_column,))
        if [c.name for c in columns] == [c.name for c in self.columns]:
            return False
        self.columns = columns
        self.refresh()
        return True

    # A row's look is fully described by its cell texts and a few flags; a frame repaints only
    # the screen lines whose description changed (most rows of an idle machine do not).
    def _row_signature(self, index: int) -> tuple | None:
        if index >= len(self.rows):
            return None
        p = self.rows[index]
        verdict = self._verdicts.get(p.key)
        tree_row = self._tree_rows.get(p.key)
        prefix = ""
        if tree_row is not None:
            prefix = tree_row.prefix + ("[+] " if tree_row.collapsed else "")
        subtree_res = tree_row.subtree_res if tree_row is not None else p.res
        # The cells as last formatted for this process, while nothing they show changed: the
        # sampler hands over the same row object for a process that did not move.
        growth = None if verdict is None else (verdict.verdict, verdict.rate_bytes_per_s)
        rest = (growth, self.unit, self.full_command, prefix, subtree_res)
        kept = self._cells.get(p.key)
        if kept is not None and kept[0] is p and kept[1] is self.columns and kept[2] == rest:
            cells = kept[3]
        else:
            ctx = RowContext(
                unit=self.unit,
                verdict=verdict,
                full_command=self.full_command,
                tree_prefix=prefix,
                subtree_res=subtree_res,
            )
            cells = tuple(col.cell(p, ctx) for col in self.columns)
            if len(self._cells) > 4096:
                self._cells.clear()  # exited processes' cells go too
            self._cells[p.key] = (p, self.columns, rest, cells)
        match = bool(self.search_text) and matches(p, self.search_text)
        flags = (
            verdict.verdict if verdict is not None else None,
            p.key in self.tagged,
            self.search_text if match else None,
            p.state == "R",
            index == self.cursor_index,
        )
        return cells, flags

    def _strip_for(self, signature: tuple | None, width: int) -> Strip:
        base = self._base_style()
        if signature is None:
            return Strip.blank(width, base)
        cells, (verdict, tagged, match, running, cursor) = signature
        leak = verdict == "leak"
        row_style = base
        if tagged:
            row_style = base + self._style("proctable--tagged")
        elif match:
            row_style = base + self._style("proctable--match")
        if leak:
            row_style = row_style + self._style("proctable--leak")
        elif running:
            row_style = row_style + self._style("proctable--running")
        if cursor:
            row_style = row_style + self._style("proctable--cursor")
        # GROWTH in the growth panel's colours: a leak's rate bold in the row's red, a rising
        # one (marked ?) in the panel's quieter colour.
        growth_style = row_style
        if leak:
            growth_style = row_style + self._style("proctable--growth")
        elif verdict == "rising":
            growth_style = row_style + self._style("proctable--rising")
        names = [col.name for col in self.columns]
        if not match and not (growth_style is not row_style and "GROWTH" in names):
            # One style for the whole line: one segment, which is all the compositor then
            # divides, filters and writes (a segment per cell cost it more than the row itself).
            line = " ".join(cells)
            if line.isascii() and line.isprintable():  # one cell per character
                return Strip([Segment(line[:width].ljust(width), row_style)], width)
            segments = [Segment(line, row_style)]
        elif not match:  # growing: GROWTH in its own style, the rest of the line in the row's
            at = names.index("GROWTH")
            before, after = " ".join(cells[:at]), " ".join(cells[at + 1 :])
            segments = [Segment(cells[at], growth_style)]
            if before:
                segments.insert(0, Segment(before + " ", row_style))
            if after:
                segments.append(Segment(" " + after, row_style))
        else:
            segments = []
            for i, (name, text) in enumerate(zip(names, cells, strict=True)):
                if i:
                    segments.append(Segment(" ", row_style))
                if name == "COMMAND":
                    found = row_style + self._style("proctable--match-text")
                    segments.extend(_marked(text, match, row_style, found))
                    continue
                segments.append(Segment(text, growth_style if name == "GROWTH" else row_style))
        return Strip(segments).adjust_cell_length(width, row_style).crop(0, width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        self._fit_columns()  # the width can change without a Resize (a scrollbar comes or goes)
        if y == 0:
            return self._header_strip(width, self._base_style())
        signature = self._row_signature(int(self.scroll_offset.y) + y - 1)
        cached = self._painted.get(y)
        if cached is not None and cached[0] == (signature, width):
            return cached[1]
        strip = self._strip_for(signature, width)
        self._painted[y] = ((signature, width), strip)
        return strip

    def _refresh_changed(self) -> None:
        """After new data: repaint only the visible lines whose content changed."""
        top = int(self.scroll_offset.y)
        width = self.size.width
        dirty = [
            y
            for y in range(1, self.size.height)
            if (c := self._painted.get(y)) is None
            or c[0] != (self._row_signature(top + y - 1), width)
        ]
        header = (self.sort_column, self.descending, tuple(c.name for c in self.columns), width)
        if header != self._header_sig:
            self._header_sig = header
            dirty.append(0)
        self.lines_repainted = len(dirty)
        for y in dirty:
            self.refresh(Region(0, y, width, 1))

    def _header_strip(self, width: int, base: Style) -> Strip:
        header = base + self._style("proctable--header")
        sorted_style = header + self._style("proctable--sorted")
        cells = [header_cell(col) for col in self.columns]
        gaps = [" "] * len(cells)  # the space before each cell (none before the first)
        gaps[0] = ""
        if self.sort_column in (col.name for col in self.columns):
            at = next(i for i, col in enumerate(self.columns) if col.name == self.sort_column)
            cells[at], gaps = _with_arrow(self.columns, cells, gaps, at, self.descending)
        segments = []
        for i, (col, text) in enumerate(zip(self.columns, cells, strict=True)):
            if gaps[i]:
                segments.append(Segment(gaps[i], header))
            segments.append(Segment(text, sorted_style if col.name == self.sort_column else header))
        return Strip(segments).adjust_cell_length(width, header).crop(0, width)


def _marked(text: str, needle: str, style: Style, found: Style) -> list[Segment]:
    """``text`` with every (case-insensitive) occurrence of ``needle`` in the ``found`` style:
    the search's match, as less and htop show it."""
    out: list[Segment] = []
    low, n = text.lower(), needle.lower()
    if len(low) != len(text):  # a character whose lower case is longer: no places to mark
        return [Segment(text, style)]
    pos = 0
    while n:
        at = low.find(n, pos)
        if at < 0:
            break
        if at > pos:
            out.append(Segment(text[pos:at], style))
        out.append(Segment(text[at : at + len(n)], found))
        pos = at + len(n)
    if pos < len(text):
        out.append(Segment(text[pos:], style))
    return out


SORT_ARROWS = {True: "▼", False: "▲"}  # descending, ascending (as htop and spreadsheets)


def _with_arrow(
    columns: Sequence[Column], cells: list[str], gaps: list[str], at: int, descending: bool
) -> tuple[str, list[str]]:
    """The sorted column's header cell with ▼ (high to low) or ▲ beside its name, in the cell's
    padding (a right-aligned name gets it before, a left-aligned one after); a name that fills
    its cell takes the space between it and its neighbour instead, so nothing moves."""
    arrow = SORT_ARROWS[descending]
    col, text = columns[at], cells[at]
    gaps = list(gaps)
    if col.right:
        if text.startswith(" "):
            return text[1 : len(text) - len(text.lstrip())] + arrow + text.lstrip(), gaps
        if at > 0 and gaps[at]:
            gaps[at] = ""
            return arrow + text, gaps
        return text, gaps
    if not col.width:  # the last, variable-width column (COMMAND)
        return text + arrow, gaps
    if text.endswith(" "):
        name = text.rstrip()
        return name + arrow + text[len(name) + 1 :], gaps
    if at + 1 < len(gaps) and gaps[at + 1]:
        gaps[at + 1] = ""
        return text + arrow, gaps
    return text, gaps

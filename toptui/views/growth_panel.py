"""The growth panel: one line per process whose resident memory grows steadily, as a list to use.

Tab gives it the focus (its first line, the fastest grower, is selected); the arrows, PgUp/PgDn and
Home/End move in it; Enter or a click opens that process's detail view; Tab goes back to the table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widgets import Static

from toptui.analysis.families import named
from toptui.analysis.growth import GrowthVerdict, exhaustion_seconds
from toptui.analysis.headroom import Headroom, choose_headroom
from toptui.engine.monitor import Frame
from toptui.model import ProcKey, ProcSample
from toptui.render import format as fmt
from toptui.render.rows import Narrowing
from toptui.render.sparkline import sparkline
from toptui.store.history import History

SPARK_MAX = 60  # the sparkline takes what the other columns leave, up to this
SPARK_MIN = 8  # narrower than this it says nothing: dropped instead
NAME_WIDTH = 24  # "python3 leaker.py", "node server.js": the sparkline gives way first
FULL_NAME_WIDTH = 40  # with the command line shown (c), before the sparkline gives way
NAME_MIN = 8
# A growth the state machine has not confirmed yet ("rising") is marked so, after its rate, as the
# table's GROWTH column marks it: readable without colour (NO_COLOR), not only quieter in colour.
RISING_MARK = "?"

Keep = Callable[[ProcSample], bool]
NOT_NARROWED = Narrowing()


@dataclass(frozen=True, slots=True)
class _Entry:
    """One line of the panel: a process, or a family headed by it."""

    proc: ProcSample
    members: int | None  # None for a single process; a family's descendants (0: alone)
    res: float  # RES, or the family's total
    rate: float
    eta_s: float | None
    times: Sequence[float]
    values: Sequence[float]
    name: str = ""  # what COMMAND shows: the name, or the command line (the table's c key)
    rising: bool = False  # growing, not yet confirmed as a leak: listed after the leaks, quieter
    cgroup: bool = False  # eta_s is reckoned against its cgroup's limit (tighter than MemAvailable)


CGROUP_MARK = "*"  # after an OOM time reckoned against the process's cgroup limit


@dataclass(frozen=True, slots=True)
class _Layout:
    pid: int
    name: int
    res: int  # 0: dropped
    rate: int
    spark: int  # 0: dropped
    oom: int  # 0: nothing to show
    oom_prefix: bool  # "in ~3h" or just "3h"
    cgroup: bool = False  # some OOM is reckoned against a cgroup limit (marked CGROUP_MARK)


class GrowthPanel(Static, can_focus=True):
    """Fastest grower first: PID, name, RES, rate, a sparkline of RES, and time to OOM; then the
    processes whose growth is not yet confirmed (``rising``), in a quieter style with ``?`` after
    the rate. Before any process has a verdict it says so, with a countdown, rather than "no
    process is growing" (which would read as an all-clear).

    In family mode (``F``) it shows the families the monitor judged (``Frame.families``: each
    process together with its descendants, so a pool whose workers each keep a little too much
    shows as one growing family; a process with no children is a family of one), named by
    :func:`toptui.analysis.families.named`. It judges nothing itself.

    Each entry is one line fitted to the width (the sparkline shrinks first), and when the panel
    (capped by the CSS ``max-height``, so the table keeps its rows) cannot hold them all, the
    fastest growers stay and the last line says how many more there are; with the focus, the
    lines scroll to keep the selected one in view.

    It is a list to use: focusable while it lists anything (Tab from the table), with a selected
    line while it has the focus. Enter or a click asks the app to open the selected process's
    detail view (``app.open_detail('growth')``).
    """

    COMPONENT_CLASSES = {"growth-panel--cursor", "growth-panel--rising"}

    BINDINGS = [
        Binding("enter", "app.open_detail('growth')", "Details"),
        Binding("tab,shift+tab", "app.focus_table", "Table", key_display="Tab"),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    # How help lists the keys above: one line for the moves (see TopApp.action_help).
    HELP = [
        Binding("tab,shift+tab", "", "Back to the table"),
        Binding("up,down", "", "Move in the list (and PgUp PgDn Home End)"),
        Binding("enter", "", "Details of that process (or click it)"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.family_mode = False  # the app switches the monitor's family judging with it
        self.full_command = False  # COMMAND shows command lines, as the table does after c
        self._entries: list[_Entry] = []
        self._message: Text | None = None  # shown instead of entries when there are none
        self._drawn_for = (-1, -1)  # (width, lines) the content was last fitted to
        self._height = -1  # lines of the content last shown (see _put)
        self._shown: Text | None = None  # the text last given to update (see _put)
        self.can_focus = False  # until it lists something
        self.cursor = 0  # the selected entry, while focused
        self._cursor_key: ProcKey | None = None  # and its process: followed across refreshes
        self._top = 0  # the first entry shown when not all fit
        self._lines: list[int | None] = []  # content line -> entry index (None: header, "more")
        self.keep_cursor_once = False  # the next focus is a return (from the detail view)
        self._title_parts: tuple[str, int, int, str | None, int] | None = None

    def toggle_family(self) -> None:
        self.family_mode = not self.family_mode

    # -- the list ----------------------------------------------------------------------------

    @property
    def entry_count(self) -> int:
        return len(self._entries)

    @property
    def first_key(self) -> ProcKey | None:
        """The fastest grower shown (a family's head in family mode), or None."""
        return self._entries[0].proc.key if self._entries else None

    @property
    def selected_key(self) -> ProcKey | None:
        """The process of the selected line, or None when nothing is listed."""
        if not self._entries:
            return None
        return self._entries[min(self.cursor, len(self._entries) - 1)].proc.key

    def select_first(self) -> None:
        """Select the first entry (the fastest grower), as when the panel takes the focus."""
        self._set_cursor(0)
        self._top = 0
        self._draw()

    @property
    def _focused(self) -> bool:
        """Whether the panel has the focus, already in its own Focus and Blur handlers (which run
        before Widget's, where ``has_focus`` changes)."""
        return self.is_attached and self.screen.focused is self

    def on_focus(self, event: events.Focus) -> None:
        if self.keep_cursor_once:
            self.keep_cursor_once = False
            self._draw()
            return
        self.select_first()

    def on_blur(self, event: events.Blur) -> None:
        self._draw()

    def _set_cursor(self, index: int) -> None:
        n = len(self._entries)
        self.cursor = max(0, min(n - 1, index)) if n else 0
        self._cursor_key = self._entries[self.cursor].proc.key if n else None

    def _move(self, index: int) -> None:
        self._set_cursor(index)
        self._draw()

    def action_cursor(self, delta: int) -> None:
        self._move(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move(self.cursor + direction * max(1, self._room() - 1))

    def action_jump(self, where: int) -> None:
        self._move(0 if where == 0 else len(self._entries) - 1)

    async def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or not 0 <= offset.y < len(self._lines):
            return
        index = self._lines[offset.y]
        if index is None:
            return
        event.stop()
        self._move(index)
        await self.run_action("app.open_detail('growth')")

    # -- what to show ------------------------------------------------------------------------

    def show(self, frame: Frame, history: History, narrowing: Narrowing = NOT_NARROWED) -> None:
        """Refresh from a frame; ``narrowing`` narrows the processes (family heads in family
        mode) as the table's rows are, and the title says how."""
        keep, note = (narrowing.keeps if narrowing else None), narrowing.note
        procs = {p.key: p for p in frame.snapshot.procs}
        available = float(frame.snapshot.system.memory.available)
        if self.family_mode:
            self._show_families(frame, history, procs, available, keep, note)
            return
        leaks = frame.leaks()
        rising = _rising(frame, procs)
        kept = [(k, v) for k, v in leaks if _kept(procs[k], keep)]
        kept_rising = [(k, v) for k, v in rising if _kept(procs[k], keep)]
        self._title_parts = ("Growing steadily", len(kept), len(leaks), note, len(kept_rising))
        entries = []
        for key, verdict in [*kept, *kept_rising]:
            p = procs[key]
            data = history.res_series(key)
            t, values = data if data else ((), ())
            room = self._headroom(p.pid, available)
            eta = exhaustion_seconds(verdict, room.bytes)
            entries.append(
                _Entry(p, None, p.res, verdict.rate_bytes_per_s, eta, t, values,
                       self._command_text(p), verdict.verdict == "rising", room.from_cgroup)
            )  # fmt: skip
        self._message = None
        if not entries:
            self._message = _not_judged_yet(frame, history, procs, keep) or self._none_growing(
                frame, procs, keep, len(leaks) + len(rising)
            )
        self._set_entries(entries)

    def _headroom(self, pid: int, available: float) -> Headroom:
        """What the process's time to OOM is counted against: its cgroup's room where tighter."""
        monitor = getattr(self.app, "monitor", None)
        if monitor is None:
            return choose_headroom(available, None)
        return monitor.headroom(pid, available)

    def _show_families(
        self,
        frame: Frame,
        history: History,
        procs: dict[ProcKey, ProcSample],
        available: float,
        keep: Keep | None,
        note: str | None,
    ) -> None:
        judged = frame.families
        found = named(judged or (), procs.__contains__, rising=True)
        shown = named(judged or (), lambda k: k in procs and _kept(procs[k], keep), rising=True)
        # Leaks first (fastest first, as named() orders them), then the rising ones.
        shown.sort(key=lambda f: f.verdict.verdict == "rising")
        leaks = [f for f in found if f.verdict.verdict != "rising"]
        shown_leaks = [f for f in shown if f.verdict.verdict != "rising"]
        rising = len(shown) - len(shown_leaks)
        self._title_parts = ("Growing families", len(shown_leaks), len(leaks), note, rising)
        entries = []
        for f in shown:
            p = procs[f.head]
            times, values = f.times, f.total
            if not times:  # a family of one: the process's own history
                data = history.res_series(f.head)
                times, values = data if data else ((), ())
            eta = exhaustion_seconds(f.verdict, available)
            entries.append(
                _Entry(p, f.size, f.res, f.verdict.rate_bytes_per_s, eta, times, values,
                       self._command_text(p), f.verdict.verdict == "rising")
            )  # fmt: skip
        self._message = None
        if judged is None:  # switched on since this frame was judged: the next one has them
            self._message = Text("Judging process families…", style="bold")
        elif not shown:
            self._message = _not_judged_yet(frame, history, procs, keep)
            if self._message is None:
                self._message = Text("No process family is growing steadily", style="bold")
                if found:
                    self._message.append(f"  ({len(found)} not shown: filtered)", style="dim")
        self._set_entries(entries)

    def _hint(self) -> str:
        if self._focused:
            return "(↑↓ Enter: details, Tab: table)"
        family = "F: single processes" if self.family_mode else "F: families"
        return f"(Tab: choose, g hides, {family})"

    def _set_entries(self, entries: list[_Entry]) -> None:
        """New entries; the selection stays on its process while it is listed."""
        self._entries = entries
        keys = [e.proc.key for e in entries]
        if self._cursor_key in keys:
            self.cursor = keys.index(self._cursor_key)
        self._set_cursor(self.cursor)
        self.can_focus = bool(entries)
        self._draw()

    def _command_text(self, p: ProcSample) -> str:
        return (p.command or p.name) if self.full_command else p.shown_name

    @staticmethod
    def _none_growing(frame: Frame, procs: dict, keep: Keep | None, hidden: int) -> Text:
        if keep is None:
            verdicts = [v for k, v in frame.verdicts.items() if k in procs]
        else:
            verdicts = [v for k, v in frame.verdicts.items() if k in procs and keep(procs[k])]
        judged = sum(1 for v in verdicts if v.verdict != "collecting")
        collecting = len(verdicts) - judged
        text = Text(
            "No process is growing steadily", style="bold", no_wrap=True, overflow="ellipsis"
        )
        text.append(f"  ({judged} judged", style="dim")
        if collecting:
            text.append(f", {collecting} still collecting history", style="dim")
        if hidden:
            text.append(f"; {hidden} growing not shown: filtered", style="dim")
        text.append(")", style="dim")
        return text

    # -- fitting it to the panel -------------------------------------------------------------

    def on_resize(self) -> None:
        if self._fit() != self._drawn_for:
            self._draw()

    def notify_style_update(self) -> None:
        # A breakpoint class (-short, -tall) changes max-height without necessarily resizing.
        super().notify_style_update()
        if self.is_mounted:
            self.call_after_refresh(self.on_resize)

    def _fit(self) -> tuple[int, int]:
        """(width, lines) the content may take: the content width, and the CSS max-height less
        the border (the layout gives the panel what its content asks for, up to that)."""
        gutter = self.styles.gutter
        width = self.size.width or (self.app.size.width if self.is_attached else 0)
        width = max(1, width - gutter.width)
        cap = self.styles.max_height
        if cap is None or self.parent is None:
            return width, 1 << 16
        lines = int(cap.resolve(self.parent.size, self.app.size)) - gutter.height
        return width, max(1, lines)

    def _room(self) -> int:
        """Entries shown at once when not all fit (one line says how many more there are)."""
        lines = self._drawn_for[1] if self._drawn_for[1] > 0 else self._fit()[1]
        n = len(self._entries)
        return n if n <= lines else max(1, lines - 1 - (lines >= 4))

    def _draw(self) -> None:
        if self._title_parts is not None:
            what, shown, total, note, rising = self._title_parts
            self.border_title = _title(what, shown, total, note, self._hint(), rising)
        width, lines = self._drawn_for = self._fit()
        if self._message is not None and not self._entries:
            text = self._message.copy()
            text.truncate(width)
            self._lines = []
            self._put(text)
            return
        self._put(self.render_entries(width, lines))

    def _put(self, text: Text) -> None:
        """Show ``text``; the panel's height follows its number of lines alone (each is cropped
        to the width), so the whole screen is laid out again only when that changes."""
        if text == self._shown:
            return  # the same lines (a quiet machine's message): nothing to repaint
        self._shown = text
        height = text.plain.count("\n") + 1
        self.update(text, layout=height != self._height)
        self._height = height

    def render_entries(self, width: int, lines: int) -> Text:
        """The entries as lines cropped to ``width``; when more than ``lines`` would be needed,
        the fastest growers (first; with the focus, those around the selected one) and a last
        line saying how many more there are."""
        entries = self._entries
        n = len(entries)
        header = n + 1 <= lines
        top = 0
        room = n
        if n > lines:
            # Not all fit: the "more" line takes one; the header goes first when space is short.
            header = lines >= 4
            room = max(1, lines - 1 - header)
        focused = self._focused and n > 0
        if room < n and focused:
            top = min(max(0, self._top), n - room)
            if self.cursor < top:
                top = self.cursor
            elif self.cursor >= top + room:
                top = self.cursor - room + 1
        self._top = top
        shown = entries[top : top + room]
        lay = _layout(shown, width, FULL_NAME_WIDTH if self.full_command else NAME_WIDTH)
        out: list[Text] = []
        index: list[int | None] = []
        if header:
            out.append(self._header(lay))
            index.append(None)
        rising_style = self._component_style("growth-panel--rising", Style(color="yellow"))
        for i, e in enumerate(shown, start=top):
            line = _line(e, lay, rising_style)
            if focused and i == self.cursor:
                line.pad_right(max(0, width - line.cell_len))
                line.stylize(self._component_style("growth-panel--cursor", Style(reverse=True)))
            out.append(line)
            index.append(i)
        if len(shown) < n and lines >= 2:
            out.append(Text(_more(entries, top, len(shown)), style="dim"))
            index.append(None)
        for line in out:
            line.truncate(width)
        self._lines = index
        return Text("\n").join(out)

    def _component_style(self, name: str, fallback: Style) -> Style:
        """A style from toptui.tcss; ``fallback`` before the stylesheet reaches the widget."""
        try:
            return self.get_component_rich_style(name, partial=True)
        except KeyError:
            return fallback

    def _header(self, lay: _Layout) -> Text:
        family = self.family_mode
        cells = [
            f"{'PID':>{lay.pid}}",
            f"{('FAMILY' if family else 'COMMAND')[: lay.name]:<{lay.name}}",
        ]
        if lay.res:
            cells.append(f"{'RES':>{lay.res}}")
        cells.append(f"{'RATE':>{lay.rate}}")
        text = " ".join(cells)
        if lay.spark:
            label = "FAMILY RES HISTORY" if family else "RES HISTORY"
            if len(label) > lay.spark:
                label = "HISTORY"
            text += f"  {label[: lay.spark]:<{lay.spark}}"
        if lay.oom:  # what "runs out" is measured against
            text += "  OOM (MemAvailable; * cgroup limit)" if lay.cgroup else "  OOM (MemAvailable)"
        return Text(text, style="bold")


def _kept(p: ProcSample, keep: Keep | None) -> bool:
    return keep is None or keep(p)


def _rising(frame: Frame, procs: dict[ProcKey, ProcSample]) -> list[tuple[ProcKey, GrowthVerdict]]:
    """Processes whose growth the state machine has not confirmed yet, still alive (a zombie has
    no memory of its own), fastest first."""
    found = [
        (k, v)
        for k, v in frame.verdicts.items()
        if v.verdict == "rising" and k in procs and procs[k].state != "Z"
    ]
    found.sort(key=lambda kv: kv[1].rate_bytes_per_s, reverse=True)
    return found


def _not_judged_yet(
    frame: Frame, history: History, procs: dict[ProcKey, ProcSample], keep: Keep | None
) -> Text | None:
    """Before any process shown has a verdict: that it is too early to say, and for how long,
    instead of "no process is growing" (an all-clear nobody has given). None once one has."""
    if keep is None:
        alive = [p for p in procs.values() if p.state != "Z"]
    else:
        alive = [p for p in procs.values() if p.state != "Z" and keep(p)]
    if not alive:
        return None
    get = frame.verdicts.get
    waiting = []
    for p in alive:  # stops at the first verdict: once there is one, every frame has one
        v = get(p.key)
        if v is not None:
            if v.verdict != "collecting":
                return None
            waiting.append((v, p.key))
    when = "soon"
    if waiting:
        # The verdict that needs least, less the history gained since it was given (verdicts are
        # re-judged every few seconds): the countdown moves with every refresh.
        verdict, key = min(waiting, key=lambda vk: vk[0].need_s)
        summary = history.summary(key)
        gained = max(0.0, summary.window_s - verdict.window_s) if summary is not None else 0.0
        left = verdict.need_s - gained
        when = f"in {left:.0f} s" if left >= 0.5 else "now"
    text = Text("Not judged yet", style="bold", no_wrap=True, overflow="ellipsis")
    count = len(alive)
    text.append(f": judging {when} · {count} process{'es' if count != 1 else ''} collecting")
    text.append(" history (no verdict, leak or not, until then)", style="dim")
    return text


def _more(entries: Sequence[_Entry], top: int, shown: int) -> str:
    """The last line when not every entry fits: how many are not shown, and where."""
    below = entries[top + shown :]
    if top:
        return f"… {top} above, {len(below)} below"
    if any(e.rising for e in below):
        return f"… {len(below)} more"
    return f"… {len(below)} more, growing more slowly"


def _title(what: str, shown: int, total: int, note: str | None, hint: str, rising: int = 0) -> str:
    count = f"{shown} of {total}" if note and total > shown else f"{shown}"
    if rising:
        count += f", {rising} rising{RISING_MARK}"
    return f"{what}: {count}{f' ({note})' if note else ''}  {hint}"


def _label(e: _Entry, width: int) -> str:
    """The name, with a family's ``+N`` members kept whole when the name is cut."""
    suffix = f" +{e.members}" if e.members else ""
    return (e.name or e.proc.shown_name)[: max(1, width - len(suffix))] + suffix


def _rate(e: _Entry) -> str:
    return fmt.rate(e.rate) + (RISING_MARK if e.rising else "")


def _oom(e: _Entry, prefix: bool) -> str:
    if e.eta_s is None:
        return ""
    mark = CGROUP_MARK if e.cgroup else ""
    return (f"in ~{fmt.duration(e.eta_s)}" if prefix else fmt.duration(e.eta_s)) + mark


def _layout(entries: Sequence[_Entry], width: int, name_cap: int = NAME_WIDTH) -> _Layout:
    """Column widths for ``width``: the sparkline shrinks first, then the name, then "in ~" goes
    from the OOM column, then the sparkline and at last RES are dropped (the line is cropped
    beyond that). PID and rate, which say who and how bad, stay."""
    pid = max([3, *(len(str(e.proc.pid)) for e in entries)])
    name = min(name_cap, max([len("COMMAND"), *(len(_label(e, name_cap)) for e in entries)]))
    res = max([3, *(len(fmt.compact_bytes(e.res)) for e in entries)])
    rate = max([4, *(len(_rate(e)) for e in entries)])
    oom = max([0, *(len(_oom(e, True)) for e in entries)])
    oom = max(oom, 3) if oom else 0

    def spare(name: int, res: int, oom: int) -> int:
        """Columns left for the sparkline (with its two separating spaces)."""
        used = pid + 1 + name + 1 + (res + 1 if res else 0) + rate + (2 + oom if oom else 0)
        return width - used - 2

    prefix = True
    free = spare(name, res, oom)
    if free < SPARK_MIN:
        name = max(NAME_MIN, min(name, name - (SPARK_MIN - free)))
        free = spare(name, res, oom)
    if free < SPARK_MIN and oom:
        prefix = False
        oom = max(3, max(len(_oom(e, False)) for e in entries))
        free = spare(name, res, oom)
    if free < SPARK_MIN:
        free = 0
        if spare(name, res, oom) + 2 < 0:
            res = 0
    cgroup = any(e.cgroup and e.eta_s is not None for e in entries)
    return _Layout(pid, name, res, rate, min(SPARK_MAX, max(0, free)), oom, prefix, cgroup)


def _line(e: _Entry, lay: _Layout, rising_style: Style | str = "yellow") -> Text:
    """One entry; a rising one (not yet a leak) in the quieter style, its rate marked ``?``."""
    text = Text(no_wrap=True, overflow="crop")
    text.append(f"{e.proc.pid:>{lay.pid}} {_label(e, lay.name):<{lay.name}} ")
    if lay.res:
        text.append(f"{fmt.compact_bytes(e.res):>{lay.res}} ")
    text.append(f"{_rate(e):>{lay.rate}}", style=rising_style if e.rising else "bold red")
    if lay.spark:
        spark = sparkline(e.values, lay.spark, times=e.times) if e.values else ""
        text.append("  ")
        text.append(f"{spark:<{lay.spark}}", style=rising_style if e.rising else "red")
    if lay.oom:
        text.append(f"  {_oom(e, lay.oom_prefix)}")
    return text

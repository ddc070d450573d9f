"""The growth panel: one line per process whose resident memory grows steadily."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from toptui import format as fmt
from toptui.analysis.families import named
from toptui.analysis.growth import exhaustion_seconds
from toptui.history import History
from toptui.model import ProcKey, ProcSample
from toptui.monitor import Frame
from toptui.sparkline import sparkline
from toptui.views.process_table import matches

SPARK_MAX = 60  # the sparkline takes what the other columns leave, up to this
SPARK_MIN = 8  # narrower than this it says nothing: dropped instead
NAME_WIDTH = 16
FULL_NAME_WIDTH = 40  # with the command line shown (c), before the sparkline gives way
NAME_MIN = 8

Keep = Callable[[ProcSample], bool]


def table_filter(user: str | None, text: str | None) -> tuple[Keep | None, str | None]:
    """The process table's narrowing (``-u``/``u`` user, ``\\`` text) as a predicate for
    :meth:`GrowthPanel.show`, with the same semantics as the table's rows, and a short note for
    the panel's title; ``(None, None)`` when nothing narrows the table."""
    if user is None and not text:
        return None, None

    def keep(p: ProcSample) -> bool:
        return (user is None or p.user == user) and (not text or matches(p, text))

    notes = ([f"user {user}"] if user is not None else []) + ([f"filter {text}"] if text else [])
    return keep, ", ".join(notes)


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


@dataclass(frozen=True, slots=True)
class _Layout:
    pid: int
    name: int
    res: int  # 0: dropped
    rate: int
    spark: int  # 0: dropped
    oom: int  # 0: nothing to show
    oom_prefix: bool  # "in ~3h" or just "3h"


class GrowthPanel(Static):
    """Fastest grower first: PID, name, RES, rate, a sparkline of RES, and time to OOM.

    In family mode (``F``) it shows the families the monitor judged (``Frame.families``: each
    process together with its descendants, so a pool whose workers each keep a little too much
    shows as one growing family; a process with no children is a family of one), named by
    :func:`toptui.analysis.families.named`. It judges nothing itself.

    Each entry is one line fitted to the width (the sparkline shrinks first), and when the panel
    (capped by the CSS ``max-height``, so the table keeps its rows) cannot hold them all, the
    fastest growers stay and the last line says how many more there are.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.family_mode = False  # the app switches the monitor's family judging with it
        self.full_command = False  # COMMAND shows command lines, as the table does after c
        self._entries: list[_Entry] = []
        self._message: Text | None = None  # shown instead of entries when there are none
        self._drawn_for = (-1, -1)  # (width, lines) the content was last fitted to

    def toggle_family(self) -> None:
        self.family_mode = not self.family_mode

    # -- what to show ------------------------------------------------------------------------

    def show(
        self, frame: Frame, history: History, keep: Keep | None = None, note: str | None = None
    ) -> None:
        """Refresh from a frame; ``keep`` narrows the processes (family heads in family mode)
        as the table is narrowed, and ``note`` says how in the title (see :func:`table_filter`)."""
        procs = {p.key: p for p in frame.snapshot.procs}
        available = float(frame.snapshot.system.memory.available)
        if self.family_mode:
            self._show_families(frame, history, procs, available, keep, note)
            return
        leaks = frame.leaks()
        kept = [(k, v) for k, v in leaks if _kept(procs[k], keep)]
        self.border_title = _title("Growing steadily", len(kept), len(leaks), note,
                                   "(g hides, F: families)")  # fmt: skip
        self._entries = []
        for key, verdict in kept:
            p = procs[key]
            data = history.res_series(key)
            t, values = data if data else ((), ())
            eta = exhaustion_seconds(verdict, available)
            self._entries.append(
                _Entry(
                    p, None, p.res, verdict.rate_bytes_per_s, eta, t, values, self._command_text(p)
                )
            )
        self._message = None if kept else self._none_growing(frame, procs, keep, len(leaks))
        self._draw()

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
        found = named(judged or (), procs.__contains__)
        shown = named(judged or (), lambda k: k in procs and _kept(procs[k], keep))
        self.border_title = _title("Growing families", len(shown), len(found), note,
                                   "(F: single processes)")  # fmt: skip
        self._entries = []
        for f in shown:
            p = procs[f.head]
            times, values = f.times, f.total
            if not times:  # a family of one: the process's own history
                data = history.res_series(f.head)
                times, values = data if data else ((), ())
            eta = exhaustion_seconds(f.verdict, available)
            self._entries.append(
                _Entry(p, f.size, f.res, f.verdict.rate_bytes_per_s, eta, times, values,
                       self._command_text(p))
            )  # fmt: skip
        self._message = None
        if judged is None:  # switched on since this frame was judged: the next one has them
            self._message = Text("Judging process families…", style="bold")
        elif not shown:
            self._message = Text("No process family is growing steadily", style="bold")
            if found:
                self._message.append(f"  ({len(found)} not shown: filtered)", style="dim")
        self._draw()

    def _command_text(self, p: ProcSample) -> str:
        return (p.command or p.name) if self.full_command else p.shown_name

    @staticmethod
    def _none_growing(frame: Frame, procs: dict, keep: Keep | None, hidden: int) -> Text:
        verdicts = [v for k, v in frame.verdicts.items() if k in procs and _kept(procs[k], keep)]
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

    def _draw(self) -> None:
        width, lines = self._drawn_for = self._fit()
        if self._message is not None:
            text = self._message.copy()
            text.truncate(width)
            self.update(text)
            return
        self.update(self.render_entries(width, lines))

    def render_entries(self, width: int, lines: int) -> Text:
        """The entries as lines cropped to ``width``; when more than ``lines`` would be needed,
        the fastest growers (first) and a last line saying how many more there are."""
        entries = self._entries
        n = len(entries)
        header = n + 1 <= lines
        if n > lines:
            # Not all fit: the "more" line takes one; the header goes first when space is short.
            header = lines >= 4
            entries = entries[: max(1, lines - 1 - header)]
        lay = _layout(entries, width, FULL_NAME_WIDTH if self.full_command else NAME_WIDTH)
        out: list[Text] = []
        if header:
            out.append(self._header(lay))
        out.extend(_line(e, lay) for e in entries)
        if len(entries) < n and lines >= 2:
            out.append(Text(f"… {n - len(entries)} more, growing more slowly", style="dim"))
        for line in out:
            line.truncate(width)
        return Text("\n").join(out)

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
        if lay.oom:
            text += "  OOM"
        return Text(text, style="bold")


def _kept(p: ProcSample, keep: Keep | None) -> bool:
    return keep is None or keep(p)


def _title(what: str, shown: int, total: int, note: str | None, hint: str) -> str:
    count = f"{shown} of {total}" if note and total > shown else f"{shown}"
    return f"{what}: {count}{f' ({note})' if note else ''}  {hint}"


def _label(e: _Entry, width: int) -> str:
    """The name, with a family's ``+N`` members kept whole when the name is cut."""
    suffix = f" +{e.members}" if e.members else ""
    return (e.name or e.proc.shown_name)[: max(1, width - len(suffix))] + suffix


def _oom(e: _Entry, prefix: bool) -> str:
    if e.eta_s is None:
        return ""
    return f"in ~{fmt.duration(e.eta_s)}" if prefix else fmt.duration(e.eta_s)


def _layout(entries: Sequence[_Entry], width: int, name_cap: int = NAME_WIDTH) -> _Layout:
    """Column widths for ``width``: the sparkline shrinks first, then the name, then "in ~" goes
    from the OOM column, then the sparkline and at last RES are dropped (the line is cropped
    beyond that). PID and rate, which say who and how bad, stay."""
    pid = max([3, *(len(str(e.proc.pid)) for e in entries)])
    name = min(name_cap, max([len("COMMAND"), *(len(_label(e, name_cap)) for e in entries)]))
    res = max([3, *(len(fmt.compact_bytes(e.res)) for e in entries)])
    rate = max([4, *(len(fmt.rate(e.rate)) for e in entries)])
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
    return _Layout(pid, name, res, rate, min(SPARK_MAX, max(0, free)), oom, prefix)


def _line(e: _Entry, lay: _Layout) -> Text:
    text = Text(no_wrap=True, overflow="crop")
    text.append(f"{e.proc.pid:>{lay.pid}} {_label(e, lay.name):<{lay.name}} ")
    if lay.res:
        text.append(f"{fmt.compact_bytes(e.res):>{lay.res}} ")
    text.append(f"{fmt.rate(e.rate):>{lay.rate}}", style="bold red")
    if lay.spark:
        spark = sparkline(e.values, lay.spark, times=e.times) if e.values else ""
        text.append("  ")
        text.append(f"{spark:<{lay.spark}}", style="red")
    if lay.oom:
        text.append(f"  {_oom(e, lay.oom_prefix)}")
    return text

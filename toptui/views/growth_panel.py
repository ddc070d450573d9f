"""The growth panel: one line per process whose resident memory grows steadily."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from toptui import format as fmt
from toptui.analysis.family import family_total
from toptui.analysis.growth import GrowthVerdict, exhaustion_seconds, judge
from toptui.history import History
from toptui.model import ProcKey, ProcSample
from toptui.monitor import Frame
from toptui.sparkline import sparkline
from toptui.tree import families
from toptui.views.process_table import matches

SPARK_MAX = 60  # the sparkline takes what the other columns leave, up to this
SPARK_MIN = 8  # narrower than this it says nothing: dropped instead
NAME_WIDTH = 16
FULL_NAME_WIDTH = 40  # with the command line shown (c), before the sparkline gives way
NAME_MIN = 8
FAMILY_EVERY_S = 5.0  # family totals are re-judged this often, not on every frame
EXPLAINED_SHARE = 0.75  # an inner leaking family this share of an outer one's rate stands for it

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
class _Family:
    """A leaking family as judged (every one, inner ones too: the filter picks among them)."""

    head: ProcKey
    verdict: GrowthVerdict
    times: list[float]
    total: list[float]
    members: int


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

    In family mode (``F``) it judges each process together with its descendants, so a pool whose
    workers each keep a little too much shows as one growing family; a process with no children
    is a family of one.

    Each entry is one line fitted to the width (the sparkline shrinks first), and when the panel
    (capped by the CSS ``max-height``, so the table keeps its rows) cannot hold them all, the
    fastest growers stay and the last line says how many more there are.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.family_mode = False
        self.own_pid: int | None = None  # toptui's own, left out of family sums (judge_families)
        self.full_command = False  # COMMAND shows command lines, as the table does after c
        self._found: list[_Family] = []
        self._family_at = float("-inf")
        self._family_busy = False  # a judging thread is running
        self._last_show: tuple[Frame, History, Keep | None, str | None] | None = None
        self._entries: list[_Entry] = []
        self._message: Text | None = None  # shown instead of entries when there are none
        self._drawn_for = (-1, -1)  # (width, lines) the content was last fitted to

    def toggle_family(self) -> None:
        self.family_mode = not self.family_mode
        self._family_at = float("-inf")

    # -- what to show ------------------------------------------------------------------------

    def show(
        self, frame: Frame, history: History, keep: Keep | None = None, note: str | None = None
    ) -> None:
        """Refresh from a frame; ``keep`` narrows the processes (family heads in family mode)
        as the table is narrowed, and ``note`` says how in the title (see :func:`table_filter`)."""
        self._last_show = (frame, history, keep, note)
        procs = {p.key: p for p in frame.snapshot.procs}
        available = float(frame.snapshot.system.memory.available)
        if self.family_mode:
            self._judge_families(frame, history)
            found = self._outermost(self._found, procs)
            kept = [f for f in self._found if f.head in procs and _kept(procs[f.head], keep)]
            shown = self._outermost(kept, procs)
            self.border_title = _title("Growing families", len(shown), len(found), note,
                                       "(F: single processes)")  # fmt: skip
            self._entries = [
                _Entry(procs[f.head], f.members, f.total[-1], f.verdict.rate_bytes_per_s,
                       exhaustion_seconds(f.verdict, available), f.times, f.total,
                       self._command_text(procs[f.head]))
                for f in shown
            ]  # fmt: skip
            self._message = None
            if not shown:
                self._message = Text("No process family is growing steadily", style="bold")
                if found:
                    self._message.append(f"  ({len(found)} not shown: filtered)", style="dim")
            self._draw()
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

    def _command_text(self, p: ProcSample) -> str:
        return (p.command or p.name) if self.full_command else p.name

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

    def _judge_families(self, frame: Frame, history: History) -> None:
        """Start re-judging the families in a thread when due: summing every family's members
        over an hour of history can take a second with a thousand pool workers, and the screen
        must not stop for it. The panel shows the last result until the new one arrives."""
        now = frame.snapshot.t_mono
        if now - self._family_at < FAMILY_EVERY_S or self._family_busy:
            return
        self._family_at = now
        self._family_busy = True
        self.run_worker(
            lambda: self._families_done(judge_families(frame, history, self.own_pid)),
            thread=True, group="families", exit_on_error=False,
        )  # fmt: skip

    def _families_done(self, found: list[_Family]) -> None:
        """In the worker thread: hand the result to the UI thread and redraw there."""

        def deliver() -> None:
            self._family_busy = False
            self._found = found
            if self._last_show is not None and self.family_mode:
                self.show(*self._last_show)

        with contextlib.suppress(RuntimeError):  # the app is closing: nobody to tell
            self.app.call_from_thread(deliver)

    @staticmethod
    def _outermost(found: list[_Family], procs: dict[ProcKey, ProcSample]) -> list[_Family]:
        """The smallest leaking families that explain the growth, fastest first.

        A family is dropped when one leaking family inside it grows at EXPLAINED_SHARE of its
        rate or more: a leaker started from a shell in tmux leaks the shell's and the tmux
        server's families too, and "tmux: server +40" would hide which process it is. A pool
        whose workers each keep a little stays whole, as no one worker explains it. Of the rest,
        a family inside another one is not shown (the outer total already holds it). Two
        unrelated leakers of similar rates under one tmux still show as the tmux family: by
        shape alone they look like a pool of two.
        """
        found = [f for f in found if f.head in procs]
        by_head = {f.head: f for f in found}
        by_pid = {p.pid: p for p in procs.values()}

        def enclosing(key: ProcKey) -> list[_Family]:
            """The leaking families this process is inside of, innermost first."""
            out = []
            p: ProcSample | None = procs[key]
            seen = set()
            while p is not None and p.ppid in by_pid and p.pid not in seen:
                seen.add(p.pid)
                p = by_pid[p.ppid]
                if p.key in by_head:
                    out.append(by_head[p.key])
            return out

        around = {f.head: enclosing(f.head) for f in found}
        explained = {
            outer.head
            for f in found
            for outer in around[f.head]
            if f.verdict.rate_bytes_per_s >= EXPLAINED_SHARE * outer.verdict.rate_bytes_per_s
        }
        out = [
            f
            for f in found
            if f.head not in explained and all(o.head in explained for o in around[f.head])
        ]
        out.sort(key=lambda f: f.verdict.rate_bytes_per_s, reverse=True)
        return out

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
    return (e.name or e.proc.name)[: max(1, width - len(suffix))] + suffix


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


def judge_families(frame: Frame, history: History, own_pid: int | None = None) -> list[_Family]:
    """Every family (a process and its descendants) whose summed RES leaks; a process without
    children is a family of one, taken from the monitor's own verdict (pure; runs in a thread).

    ``own_pid`` (toptui's, when live) is left out of the sums: its memory grows by design while
    its history fills, and its parent (a shell, tmux) would be flagged for it. Its own verdict
    still stands as a family of one.
    """
    available = float(frame.snapshot.system.memory.available)
    found = []
    for head, members in families(frame.snapshot.procs).items():
        members = [k for k in members if k[0] != own_pid]
        if not members:
            verdict = frame.verdicts.get(head)
            if verdict is None or verdict.verdict != "leak":
                continue
            data = history.res_series(head)
            if data is not None and data[0]:
                found.append(_Family(head, verdict, list(data[0]), list(map(float, data[1])), 0))
            continue
        head_series = history.res_series(head)
        if head_series is None:
            continue
        series = [s for s in map(history.res_series, members) if s is not None]
        t, total = family_total(head_series, series)
        verdict = judge(t, total, available_bytes=available)
        if verdict.verdict == "leak":
            found.append(_Family(head, verdict, t, total, len(members)))
    return found

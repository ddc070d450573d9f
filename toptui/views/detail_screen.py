"""One process in detail: growth graph, baseline, rate, verdict with reasons, time to OOM."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Static

from toptui.analysis.growth import (
    MIN_GROWTH_BYTES,
    MIN_GROWTH_FRAC,
    Z_MIN,
    GrowthVerdict,
    exhaustion_seconds,
)
from toptui.engine.monitor import Frame
from toptui.model import ProcKey, ProcSample, Snapshot
from toptui.render import format as fmt
from toptui.store.history import History, Series
from toptui.views import process_actions
from toptui.views.growth_plot import MIN_HEIGHT, GrowthPlot, MemoryLimit
from toptui.views.key_footer import KeyFooter
from toptui.views.memory_kinds_panel import MemoryKindsPanel

# top's S column in words (proc(5)): a top user reads "running" as R only.
_STATES = {
    "R": "running", "S": "sleeping", "D": "uninterruptible sleep", "T": "stopped",
    "t": "stopped by a debugger", "Z": "zombie", "I": "idle", "X": "dead",
}  # fmt: skip


# The detector's reasons name sizes as "129 KiB" and "1.5 MiB"; the facts say them in toptui's own
# unit style ("129K", "1.5M"), as the panel and the graph do.
_SIZE_WORDS = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?) (B|KiB|MiB|GiB|TiB|PiB)\b")
_UNIT_BYTES = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
               "PiB": 1 << 50}  # fmt: skip


# What the facts and the detector's reasons say, in help (?): each statistic explained.
GLOSSARY = (
    "Words in the detail view",
    [
        ("floor", "RES at its low points (after each GC): a leak's floor keeps rising"),
        ("onset", "when the growth began: the ┊ mark where the fitted line starts"),
        ("rising?", "growing steadily, not yet for long enough to be called a leak"),
        ("trend z", f"Mann-Kendall trend of the floors, in standard deviations: {Z_MIN:g}+ is "
                    "steady"),
        ("least growth that counts", f"{fmt.compact_bytes(MIN_GROWTH_BYTES)} or "
                                     f"{MIN_GROWTH_FRAC:.0%} of RES, whichever is more"),
        ("GC sawtooth", "RES climbing and dropping at each collection: the floor counts"),
        ("OOM in ~", "when the room left (MemAvailable or a cgroup limit) is used up"),
        ("y axis from …", "the graph is zoomed (not from 0), so a small growth shows"),
    ],
)  # fmt: skip


# ... and long durations as "47h59m", which toptui says "1d23h".
_HOURS_WORDS = re.compile(r"(?<![\w.])(\d+)h(\d\d)m\b")


def in_toptui_units(words: str) -> str:
    """``words`` with every "N KiB/MiB/GiB" size said as toptui says sizes (``compact_bytes``),
    and every duration as toptui says durations (``duration``)."""
    words = _SIZE_WORDS.sub(
        lambda m: fmt.compact_bytes(float(m.group(1)) * _UNIT_BYTES[m.group(2)]), words
    )
    return _HOURS_WORDS.sub(
        lambda m: fmt.duration(int(m.group(1)) * 3600 + int(m.group(2)) * 60), words
    )


def _signed(n: float) -> str:
    return ("+" if n >= 0 else "") + fmt.compact_bytes(n)


def describe(
    series: Series | None,
    proc: ProcSample | None,
    verdict: GrowthVerdict | None,
    limit: MemoryLimit | None,
    clock: float = 0.0,
) -> list[Text]:
    """The facts above the graph, one line each, most important first (at 80x24 the last ones
    give way to the graph). Sizes, rates and durations in toptui's unit style; ``clock`` turns
    the series' seconds into wall-clock time."""
    if series is None:
        return [Text("This process is no longer in the history.", style="bold")]
    res_now = series.res[-1] if series.res else series.baseline.res
    base = series.baseline.res
    change = res_now - base
    pct = f" ({change / base * 100:+.1f}%)" if base else ""
    first_seen = series.t[-1] - series.baseline.t if series.t else 0.0
    state = _STATES.get(proc.state, f"state {proc.state}") if proc is not None else "exited"
    head = Text()
    head.append(f"RES {fmt.compact_bytes(res_now)}", style="bold")
    head.append(f"   SHR {fmt.compact_bytes(series.shr[-1] if series.shr else 0)}")
    head.append(f"   VIRT {fmt.compact_bytes(series.virt[-1] if series.virt else 0)}   ({state})")
    lines = [head]
    seen = f"when first seen {fmt.duration(first_seen)} ago"
    baseline = Text(
        f"Baseline {fmt.compact_bytes(base)} {seen}; change since {_signed(change)}{pct}"
    )
    swap = None
    if proc is not None and proc.swap > 0:
        # The history (and the verdict) counts swap in, so a leak pushed out to swap stays one.
        swap = Text(f"{fmt.compact_bytes(proc.swap)} in swap: growth below is RES plus swap")
    if verdict is None:
        lines.append(Text("Verdict: collecting history…", style="bold"))
        return [*lines, *([swap] if swap else []), baseline]
    style = {"leak": "bold red", "no_leak": "bold green", "rising": "yellow"}.get(
        verdict.verdict, "bold yellow"
    )
    label = {
        "leak": "LEAK — resident memory grows steadily",
        "rising": "rising? — growing steadily, not yet for long enough to call it a leak",
        "no_leak": "no leak",
        "collecting": f"collecting (about {fmt.duration(verdict.need_s)} more history needed)",
    }[verdict.verdict]
    said = Text("Verdict: " if proc is not None else "Last verdict before it exited: ")
    said.append(label, style=style)
    rate = fmt.rate(verdict.rate_bytes_per_s)
    if rate and verdict.verdict in ("leak", "rising"):
        said.append(f"   {rate}", style="bold")
        if verdict.onset_s is not None and series.t:
            said.append(f" since {_clock(series.t[0] + verdict.onset_s + clock)}")
    said.append(f"   judged {verdict.samples} samples over {fmt.duration(verdict.window_s)}")
    lines.append(said)
    eta = exhaustion_seconds(verdict, limit.room_bytes) if proc is not None and limit else None
    if eta is not None and limit is not None:
        oom = Text(f"OOM in ~{fmt.duration(eta)} at this rate", style="bold red")
        oom.append(f": {fmt.compact_bytes(limit.room_bytes)} {limit.name} left")
        lines.append(oom)
    if swap is not None:
        lines.append(swap)
    lines.append(baseline)
    lines.extend(Text(f"  • {in_toptui_units(reason)}") for reason in verdict.reasons)
    return lines


def fit_lines(lines: list[Text], room: int, height: Callable[[Text], int] = lambda t: 1) -> Text:
    """The lines that fit in ``room`` rows (``height``: the rows a line takes, wrapped); when
    some do not, the last row kept says how many lines are cut."""
    heights = [height(line) for line in lines]
    if sum(heights) <= room:
        return Text("\n").join(lines)
    kept: list[Text] = []
    used = 0
    for line, need in zip(lines, heights, strict=True):
        if used + need + 1 > room:  # a row stays for the line saying what is cut
            break
        kept.append(line)
        used += need
    cut = len(lines) - len(kept)
    if room > used:
        more = f"… {cut} more line{'s' if cut != 1 else ''} (a taller terminal shows them)"
        kept.append(Text(more, style="dim", no_wrap=True, overflow="ellipsis"))
    return Text("\n").join(kept)


KINDS_MIN_ROWS = 4  # fewer rows than this cannot show a kind, its rate and what it means


class DetailScreen(Screen):
    """Shown on Enter; updated live with every frame until Esc."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.quit", "Quit"),
        # In this view k and x act on the process shown (even after it exited, for x).
        Binding("k", "kill", "Kill"),
        Binding("x", "export", "Export", tooltip="Export history"),
        Binding("e", "expand", "Graph only", tooltip="Graph full-screen (again: the facts too)"),
        Binding("s", "toggle_shr", "SHR", tooltip="Show / hide SHR in the graph"),
    ]

    def __init__(self, key: ProcKey, history: History) -> None:
        super().__init__()
        self.key = key
        self.history = history
        self._last_verdict: GrowthVerdict | None = None  # kept for after the process exits
        # The process and its history as last seen alive: after it exits the view keeps them
        # (the graph stays as it was), marked with when it was first seen gone.
        self.last_proc: ProcSample | None = None
        self.last_series: Series | None = None
        self.exited_at: float | None = None  # wall-clock time of the first frame without it
        self._snapshot: Snapshot | None = None
        self._facts: list[Text] = []
        self.expanded = False  # e: the graph takes everything but the title and the footer

    def compose(self) -> ComposeResult:
        yield Static(id="detail-title")
        yield Static(id="detail-facts")
        yield MemoryKindsPanel()
        yield GrowthPlot(id="detail-plot")
        yield KeyFooter()

    def limit_for(self, snapshot: Snapshot) -> MemoryLimit:
        """What "memory runs out" means for the process shown: the room under its cgroup's limit
        when that is tighter than MemAvailable (a container's leak is killed there), else
        MemAvailable; the graph and the facts say which."""
        room = self.app.monitor.headroom(self.key[0], float(snapshot.system.memory.available))
        return MemoryLimit(room.source, room.bytes)

    def show(self, frame: Frame, verdict: GrowthVerdict | None) -> None:
        try:
            title_w = self.query_one("#detail-title", Static)
            plot = self.query_one(GrowthPlot)
        except NoMatches:  # a frame that arrives while the screen is being taken down
            return
        self._snapshot = frame.snapshot
        proc = next((p for p in frame.snapshot.procs if p.key == self.key), None)
        if proc is not None and proc.state == "Z":
            proc = None  # exited, not yet reaped: no memory of its own to show
        if verdict is None and proc is None:
            verdict = self._last_verdict
        self._last_verdict = verdict
        if proc is not None:
            self.exited_at = None  # (a replay stepped back, or a late frame: alive after all)
            self.last_proc = proc
            self.last_series = self.history.series(self.key)
        elif self.exited_at is None:
            self.exited_at = frame.snapshot.t_wall
            if self.last_series is None:  # opened on a process already gone
                self.last_series = self.history.series(self.key)
        series = self.last_series
        title = Text(f"PID {self.key[0]}", style="bold")
        last = self.last_proc
        name = last.shown_name if last else (series.name if series else "?")
        title.append(f"  {name}", style="bold")
        if last is not None:
            title.append(f"  {last.user}  {last.command[:200]}", style="dim")
        if self.exited_at is None:
            title.append(f"   {_clock(frame.snapshot.t_wall)}")
        else:
            # Said first, where it cannot be cut off: the graph below is its last.
            title = Text.assemble((f"exited at {_clock(self.exited_at)}", "bold reverse"), "  ",
                                  title)  # fmt: skip
        title_w.update(title)
        clock = frame.snapshot.t_wall - frame.snapshot.t_mono  # series seconds -> wall clock
        limit = self.limit_for(frame.snapshot)
        self._facts = describe(series, proc, verdict, limit, clock)
        kind = self.query_one(MemoryKindsPanel).show(self.app.monitor, self.key, proc)
        if kind and verdict is not None and verdict.verdict in ("leak", "rising"):
            self._facts.append(Text(f"  • {kind}"))  # the verdict's reasons name the kind
        self._fit_facts()
        # After an exit, the last graph as it was (and nothing projected: nothing left to grow).
        plot.show(series, verdict, limit, clock, project=proc is not None)

    def _fit_facts(self) -> None:
        """The facts get what the graph leaves: it keeps MIN_HEIGHT rows (12 of plot at 80x24);
        the facts' last lines give way first, and the last one kept says how many are cut."""
        try:
            facts_w = self.query_one("#detail-facts", Static)
            plot = self.query_one(GrowthPlot)
        except NoMatches:
            return
        kinds = self.query_one(MemoryKindsPanel)
        others = sum(w.outer_size.height for w in self.children
                     if w not in (facts_w, plot, kinds) and w.display)  # fmt: skip
        room = max(0, self.size.height - others - MIN_HEIGHT)
        width = max(1, facts_w.content_region.width or self.size.width - 2)
        console = self.app.console

        def height(line: Text) -> int:
            return len(line.wrap(console, width))

        # The facts first (the verdict and its reasons), then the breakdown in what is left:
        # hidden rather than cut to a line or two that could not say what grows.
        need = sum(height(line) for line in self._facts)
        facts_w.update(fit_lines(self._facts, min(room, need), height))
        left = room - min(room, need)
        kinds.display = not self.expanded and left >= KINDS_MIN_ROWS
        kinds.styles.max_height = max(left, KINDS_MIN_ROWS)

    def on_resize(self) -> None:
        self._fit_facts()

    def action_expand(self) -> None:
        """bottom's expand: the graph alone (with the title and the footer), and back."""
        self.expanded = not self.expanded
        plot = self.query_one(GrowthPlot)
        for widget in self.children:
            if (
                widget is not plot
                and widget.id != "detail-title"
                and not isinstance(widget, KeyFooter)
            ):
                widget.display = not self.expanded
        self.call_after_refresh(self._fit_facts)

    def action_toggle_shr(self) -> None:
        self.query_one(GrowthPlot).toggle_shr()

    def on_mount(self) -> None:
        self.app.monitor.mappings_pids = frozenset({self.key[0]})  # smaps read while shown

    def on_unmount(self) -> None:
        self.app.monitor.mappings_pids = frozenset()

    def action_kill(self) -> None:
        if self.exited_at is not None or self.last_proc is None:
            self.notify(f"PID {self.key[0]} has exited", timeout=3)
            return
        process_actions.ask_signal(self.app, [self.last_proc])

    def action_export(self) -> None:
        process_actions.export(self.app, self.last_proc, self.last_series, self._snapshot)


def _clock(t_wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t_wall))

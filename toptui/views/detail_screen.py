"""One process in detail: growth graph, baseline, rate, verdict with reasons, time to OOM."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Static

from toptui.analysis.growth import GrowthVerdict, exhaustion_seconds
from toptui.engine.monitor import Frame
from toptui.model import ProcKey, ProcSample, Snapshot
from toptui.render import format as fmt
from toptui.store.history import History, Series
from toptui.views import process_actions
from toptui.views.growth_plot import GrowthPlot
from toptui.views.key_footer import KeyFooter
from toptui.views.memory_kinds_panel import MemoryKindsPanel

# top's S column in words (proc(5)): a top user reads "running" as R only.
_STATES = {
    "R": "running", "S": "sleeping", "D": "uninterruptible sleep", "T": "stopped",
    "t": "stopped by a debugger", "Z": "zombie", "I": "idle", "X": "dead",
}  # fmt: skip


def describe(
    series: Series | None,
    proc: ProcSample | None,
    verdict: GrowthVerdict | None,
    available: float,
) -> Text:
    """The facts beside the graph, in plain words and numbers."""
    out = Text()
    if series is None:
        out.append("This process is no longer in the history.", style="bold")
        return out
    res_now = series.res[-1] if series.res else series.baseline.res
    base = series.baseline.res
    change = res_now - base
    pct = f" ({change / base * 100:+.1f}%)" if base else ""
    first_seen = series.t[-1] - series.baseline.t if series.t else 0.0
    state = _STATES.get(proc.state, f"state {proc.state}") if proc is not None else "exited"
    out.append(f"RES {fmt.human_bytes(res_now)}", style="bold")
    out.append(f"   SHR {fmt.human_bytes(series.shr[-1] if series.shr else 0)}")
    out.append(f"   VIRT {fmt.human_bytes(series.virt[-1] if series.virt else 0)}   ({state})\n")
    if proc is not None and proc.swap > 0:
        # The history (and the verdict) counts swap in, so a leak pushed out to swap stays one.
        out.append(f"{fmt.human_bytes(proc.swap)} in swap: growth below is RES plus swap\n")
    out.append(f"Baseline {fmt.human_bytes(base)} when first seen {fmt.duration(first_seen)} ago; ")
    out.append(f"change since {fmt.human_bytes(change)}{pct}\n")
    if verdict is None:
        out.append("Verdict: collecting history…\n", style="bold")
        return out
    style = {"leak": "bold red", "no_leak": "bold green", "rising": "yellow"}.get(
        verdict.verdict, "bold yellow"
    )
    label = {
        "leak": "LEAK — resident memory grows steadily",
        "rising": "rising? — growing steadily, not yet for long enough to call it a leak",
        "no_leak": "no leak",
        "collecting": f"collecting (about {fmt.duration(verdict.need_s)} more history needed)",
    }[verdict.verdict]
    out.append("Verdict: " if proc is not None else "Last verdict before it exited: ")
    out.append(label, style=style)
    out.append(f"   rate {fmt.rate(verdict.rate_bytes_per_s) or '0'}")
    out.append(f"   judged {verdict.samples} samples over {fmt.duration(verdict.window_s)}")
    out.append(f"   confidence {verdict.confidence:.0%}\n")
    eta = exhaustion_seconds(verdict, available) if proc is not None else None
    if eta is not None:
        out.append(f"Memory exhausted in ~{fmt.duration(eta)} at this rate ", style="bold red")
        out.append(f"({fmt.human_bytes(available)} available)\n")
    for reason in verdict.reasons:
        out.append(f"  • {reason}\n")
    return out


class DetailScreen(Screen):
    """Shown on Enter; updated live with every frame until Esc."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.quit", "Quit"),
        # In this view k and x act on the process shown (even after it exited, for x).
        Binding("k", "kill", "Kill"),
        Binding("x", "export", "Export history"),
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

    def compose(self) -> ComposeResult:
        yield Static(id="detail-title")
        yield Static(id="detail-facts")
        yield MemoryKindsPanel()
        yield GrowthPlot(id="detail-plot")
        yield KeyFooter()

    def show(self, frame: Frame, verdict: GrowthVerdict | None) -> None:
        try:
            title_w = self.query_one("#detail-title", Static)
            facts_w = self.query_one("#detail-facts", Static)
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
        available = float(frame.snapshot.system.memory.available)
        facts = describe(series, proc, verdict, available)
        kind = self.query_one(MemoryKindsPanel).show(self.app.monitor, self.key, proc)
        if kind and verdict is not None and verdict.verdict in ("leak", "rising"):
            facts.append(f"  • {kind}\n")  # the verdict's reasons name the kind (issue 17)
        facts_w.update(facts)
        plot.show(series)  # after an exit, the last graph as it was

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

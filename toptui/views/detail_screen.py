"""One process in detail: growth graph, baseline, rate, verdict with reasons, time to OOM."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Static

from toptui import format as fmt
from toptui.analysis.growth import GrowthVerdict, exhaustion_seconds
from toptui.history import History, Series
from toptui.model import ProcKey, ProcSample
from toptui.monitor import Frame
from toptui.views.growth_plot import GrowthPlot
from toptui.views.key_footer import KeyFooter

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
    ]

    def __init__(self, key: ProcKey, history: History) -> None:
        super().__init__()
        self.key = key
        self.history = history
        self._last_verdict: GrowthVerdict | None = None  # kept for after the process exits

    def compose(self) -> ComposeResult:
        yield Static(id="detail-title")
        yield Static(id="detail-facts")
        yield GrowthPlot(id="detail-plot")
        yield KeyFooter()

    def show(self, frame: Frame, verdict: GrowthVerdict | None) -> None:
        try:
            title_w = self.query_one("#detail-title", Static)
            facts_w = self.query_one("#detail-facts", Static)
            plot = self.query_one(GrowthPlot)
        except NoMatches:  # a frame that arrives while the screen is being taken down
            return
        proc = next((p for p in frame.snapshot.procs if p.key == self.key), None)
        if proc is not None and proc.state == "Z":
            proc = None  # exited, not yet reaped: no memory of its own to show
        if verdict is None and proc is None:
            verdict = self._last_verdict
        self._last_verdict = verdict
        series = self.history.series(self.key)
        title = Text(f"PID {self.key[0]}", style="bold")
        name = proc.shown_name if proc else (series.name if series else "?")
        title.append(f"  {name}", style="bold")
        if proc is not None:
            title.append(f"  {proc.user}  {proc.command[:200]}", style="dim")
        title.append(f"   {time.strftime('%H:%M:%S', time.localtime(frame.snapshot.t_wall))}")
        title_w.update(title)
        available = float(frame.snapshot.system.memory.available)
        facts = describe(series, proc, verdict, available)
        facts_w.update(facts)
        plot.show(series)

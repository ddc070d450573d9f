"""The growth panel: one line per process whose resident memory grows steadily."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from toptui import format as fmt
from toptui.analysis.growth import exhaustion_seconds
from toptui.history import History
from toptui.model import ProcSample
from toptui.monitor import Frame
from toptui.sparkline import sparkline

SPARK_WIDTH = 30


class GrowthPanel(Static):
    """Fastest grower first: PID, name, RES, rate, a sparkline of RES, and time to OOM."""

    def show(self, frame: Frame, history: History) -> None:
        procs: dict = {p.key: p for p in frame.snapshot.procs}
        leaks = frame.leaks()
        available = float(frame.snapshot.system.memory.available)
        if not leaks:
            judged = sum(1 for v in frame.verdicts.values() if v.verdict != "collecting")
            collecting = len(frame.verdicts) - judged
            text = Text("No process is growing steadily", style="bold")
            text.append(f"  ({judged} judged", style="dim")
            if collecting:
                text.append(f", {collecting} still collecting history", style="dim")
            text.append(")", style="dim")
            self.update(text)
            return
        out = Text()
        out.append(
            f"{'PID':>7} {'COMMAND':<16} {'RES':>9} {'RATE':>9}  "
            f"{'RES HISTORY':<{SPARK_WIDTH}}  OOM",
            style="bold",
        )
        for key, verdict in leaks:
            p: ProcSample = procs[key]
            data = history.res_series(key)
            spark = sparkline(data[1], SPARK_WIDTH) if data else ""
            eta = exhaustion_seconds(verdict, available)
            eta_text = f"in ~{fmt.duration(eta)}" if eta is not None else ""
            out.append("\n")
            out.append(f"{p.pid:>7} {p.name[:16]:<16} {fmt.compact_bytes(p.res):>9} ")
            out.append(f"{fmt.rate(verdict.rate_bytes_per_s):>9}", style="bold red")
            out.append("  ")
            out.append(f"{spark:<{SPARK_WIDTH}}", style="red")
            out.append(f"  {eta_text}")
        self.update(out)

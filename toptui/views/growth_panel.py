"""The growth panel: one line per process whose resident memory grows steadily."""

from __future__ import annotations

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

SPARK_WIDTH = 30
FAMILY_EVERY_S = 5.0  # family totals are re-judged this often, not on every frame


class GrowthPanel(Static):
    """Fastest grower first: PID, name, RES, rate, a sparkline of RES, and time to OOM.

    In family mode (``F``) it judges each process together with its descendants, so a pool whose
    workers each keep a little too much shows as one growing family.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.family_mode = False
        self._family: list[tuple[ProcKey, GrowthVerdict, list[float], int]] = []
        self._family_at = float("-inf")

    def toggle_family(self) -> None:
        self.family_mode = not self.family_mode
        self._family_at = float("-inf")

    def _judge_families(self, frame: Frame, history: History) -> None:
        now = frame.snapshot.t_mono
        if now - self._family_at < FAMILY_EVERY_S:
            return
        self._family_at = now
        available = float(frame.snapshot.system.memory.available)
        found = []
        for head, members in families(frame.snapshot.procs).items():
            head_series = history.res_series(head)
            if head_series is None:
                continue
            series = [s for s in map(history.res_series, members) if s is not None]
            t, total = family_total(head_series, series)
            verdict = judge(t, total, available_bytes=available)
            if verdict.verdict == "leak":
                found.append((head, verdict, total, len(members)))
        # Report the outermost leaking family only: its parent's family would repeat it.
        heads = {k for k, *_ in found}
        by_key = {p.key: p for p in frame.snapshot.procs}
        by_pid = {p.pid: p for p in frame.snapshot.procs}

        def inside_another(key: ProcKey) -> bool:
            p = by_key.get(key)
            while p is not None and p.ppid in by_pid:
                p = by_pid[p.ppid]
                if p.key in heads:
                    return True
            return False

        found = [f for f in found if not inside_another(f[0])]
        found.sort(key=lambda f: f[1].rate_bytes_per_s, reverse=True)
        self._family = found

    def show(self, frame: Frame, history: History) -> None:
        procs: dict = {p.key: p for p in frame.snapshot.procs}
        if self.family_mode:
            self._judge_families(frame, history)
            self._show_families(frame, procs)
            self.border_title = f"Growing families: {len(self._family)}  (F: single processes)"
            return
        leaks = frame.leaks()
        self.border_title = f"Growing steadily: {len(leaks)}  (g hides, F: families)"
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

    def _show_families(self, frame: Frame, procs: dict) -> None:
        available = float(frame.snapshot.system.memory.available)
        if not self._family:
            self.update(Text("No process family is growing steadily (family mode: F)",
                             style="bold"))  # fmt: skip
            return
        out = Text()
        out.append(f"{'PID':>7} {'FAMILY':<16} {'TOTAL RES':>9} {'RATE':>9}  "
                   f"{'FAMILY RES HISTORY':<{SPARK_WIDTH}}  OOM", style="bold")  # fmt: skip
        for key, verdict, total, n in self._family:
            p: ProcSample | None = procs.get(key)
            if p is None:
                continue
            eta = exhaustion_seconds(verdict, available)
            out.append("\n")
            label = f"{p.name[:10]} +{n}"
            out.append(f"{p.pid:>7} {label:<16} {fmt.compact_bytes(total[-1]):>9} ")
            out.append(f"{fmt.rate(verdict.rate_bytes_per_s):>9}", style="bold red")
            out.append(f"  {sparkline(total, SPARK_WIDTH):<{SPARK_WIDTH}}", style="red")
            out.append(f"  in ~{fmt.duration(eta)}" if eta is not None else "")
        self.update(out)

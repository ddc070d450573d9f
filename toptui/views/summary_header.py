"""top's summary area (uptime, tasks, CPU, memory, swap) above the table."""

from __future__ import annotations

from textual.widgets import Static

from toptui.model import SystemStats
from toptui.summary import summary_lines


class SummaryHeader(Static):
    """Five lines with the same figures as top's, refreshed with every frame."""

    def show(self, system: SystemStats, wall: float, note: str = "") -> None:
        lines = summary_lines(system, wall)
        if note:
            lines[0] = f"{lines[0]}   {note}"
        self.update("\n".join(lines))

"""top's summary area (uptime, tasks, CPU, memory, swap) above the table."""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Size
from textual.widgets import Static

from toptui.model import SystemStats
from toptui.summary import summary_lines, with_note

# summary_lines' order: 0 uptime/load (and toptui's notes), 1 Tasks, 2 %Cpu, 3 MiB Mem, 4 MiB Swap
# (with avail Mem). When the terminal is short, lines give way from the end of this order: for a
# memory monitor the memory lines stay longest. A line carrying a note ([PAUSED], [filter: ...])
# says how to read everything else, so then it comes first.
KEEP_ORDER = (3, 4, 0, 2, 1)
KEEP_ORDER_WITH_NOTE = (0, 3, 4, 2, 1)


def summary_height(screen_height: int) -> int:
    """How many summary lines a terminal this tall shows.

    top shows all five at 24 rows; toptui also has a growth panel and a footer, so at 20 rows and
    more it shows five, and below that it gives up Tasks, then %Cpu, so that the table keeps about
    five rows even at 12 (below 12 the summary is hidden altogether, see toptui.tcss).
    """
    if screen_height >= 20:
        return 5
    if screen_height >= 17:
        return 4
    return 3


def pick_lines(lines: list[str], count: int, noted: bool = False) -> list[str]:
    """The ``count`` most useful of top's summary lines, in top's order."""
    order = KEEP_ORDER_WITH_NOTE if noted else KEEP_ORDER
    keep = sorted(order[: max(0, count)])
    return [lines[i] for i in keep if i < len(lines)]


class SummaryHeader(Static):
    """top's five lines, with the same figures, refreshed with every frame.

    Each line is cropped at the right edge, never wrapped (a wrapped line would push the memory
    lines out of the area, as in a narrow top). ``content`` holds all five lines; what is drawn
    is as many as the height the layout gave, chosen by ``pick_lines``, so a short terminal
    keeps the memory lines.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        # Notes hold user text (a filter such as "[b]") that must not be read as markup.
        super().__init__("", markup=False, id=id, classes=classes)
        self._lines: list[str] = []
        self._note = ""

    def show(self, system: SystemStats, wall: float, note: str = "") -> None:
        self._lines = summary_lines(system, wall)
        self._note = note
        self.update(Content("\n".join([with_note(self._lines[0], note, 10_000), *self._lines[1:]])))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # The viewport is the terminal: re-asked on every resize, so the height follows it.
        return summary_height(viewport.height)

    def render(self) -> Content:
        if not self._lines:
            return Content("")
        lines = [with_note(self._lines[0], self._note, self.size.width), *self._lines[1:]]
        return Content("\n".join(pick_lines(lines, self.size.height, bool(self._note))))

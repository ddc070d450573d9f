"""top's summary area (uptime, tasks, CPU, memory, swap) above the table."""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Size
from textual.widgets import Static

from toptui.model import SystemStats
from toptui.render.summary import cpu_line, summary_lines, with_note

# summary_lines' order: 0 uptime/load (and toptui's notes), 1 Tasks, 2 %Cpu (one row, or the rows
# of top's per-CPU lines with the 1 key), 3 MiB Mem, 4 MiB Swap (with avail Mem). When the terminal
# is short, groups give way from the end of this order: for a memory monitor the memory lines stay
# longest. A line carrying a note ([PAUSED], [filter: ...]) says how to read everything else, so
# then it comes first.
KEEP_ORDER = (3, 4, 0, 2, 1)
KEEP_ORDER_WITH_NOTE = (0, 3, 4, 2, 1)
CPU_GAP = "   "  # between per-CPU lines set side by side, as top does on a wide terminal


def summary_height(screen_height: int, cpu_rows: int = 1) -> int:
    """How many summary lines a terminal this tall shows.

    top shows all five at 24 rows; toptui also has a growth panel and a footer, so at 20 rows and
    more it shows five, and below that it gives up Tasks, then %Cpu, so that the table keeps about
    five rows even at 12 (below 12 the summary is hidden altogether, see toptui.tcss). Per-CPU
    rows (top's 1) are added when all of them fit in a third of the screen less the five, so the
    table and the growth panel keep theirs; otherwise the %Cpu(s) line stays (pick_lines).
    """
    if screen_height >= 20:
        extra = cpu_rows - 1
        return 5 + (extra if extra <= screen_height // 3 - 5 else 0)
    if screen_height >= 17:
        return 4
    return 3


def cpu_rows(lines: list[str], width: int) -> list[str]:
    """Per-CPU lines packed side by side as far as ``width`` allows (a 2-CPU machine at 170
    columns gets one row); a single %Cpu(s) line is left as it is."""
    if len(lines) < 2:
        return lines
    per_row = max(1, (width + len(CPU_GAP)) // (len(lines[0]) + len(CPU_GAP)))
    return [CPU_GAP.join(lines[i : i + per_row]) for i in range(0, len(lines), per_row)]


def pick_lines(groups: list[list[str]], count: int, noted: bool = False,
               cpu_summary: str | None = None) -> list[str]:  # fmt: skip
    """The ``count`` most useful of top's summary lines, in top's order.

    ``groups`` follow summary_lines' order, the CPU rows as one group. Per-CPU rows that do not
    all fit give way to ``cpu_summary`` (the %Cpu(s) line): some CPUs' states would read as all.
    """
    order = KEEP_ORDER_WITH_NOTE if noted else KEEP_ORDER
    left = max(0, count)
    taken: dict[int, list[str]] = {}
    for i in order:
        if i >= len(groups) or left <= 0:
            continue
        group = groups[i]
        if len(group) > left and cpu_summary is not None and i == 2:
            n = sum(row.count("%Cpu") for row in group)
            group = [f"{cpu_summary}{CPU_GAP}[{n} CPUs: a taller terminal shows each]"]
        taken[i] = group[:left]
        left -= len(taken[i])
    return [line for i in sorted(taken) for line in taken[i]]


def groups_of(lines: list[str], width: int) -> list[list[str]]:
    """summary_lines' output as the five groups pick_lines takes."""
    cpus = lines[2:-2]
    return [[lines[0]], [lines[1]], cpu_rows(cpus, width), [lines[-2]], [lines[-1]]]


class SummaryHeader(Static):
    """top's summary lines, with the same figures, refreshed with every frame.

    Each line is cropped at the right edge, never wrapped (a wrapped line would push the memory
    lines out of the area, as in a narrow top). ``content`` holds every line; what is drawn is
    as many as the height the layout gave, chosen by ``pick_lines``, so a short terminal keeps
    the memory lines.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        # Notes hold user text (a filter such as "[b]") that must not be read as markup.
        super().__init__("", markup=False, id=id, classes=classes)
        self._lines: list[str] = []
        self._note = ""
        self._cpu_summary: str | None = None
        self.per_cpu = False  # top's 1 key: a line per CPU

    def show(self, system: SystemStats, wall: float, note: str = "") -> None:
        # The height follows the number of lines alone (and the size, whose change lays out
        # anyway): the same number, no layout pass over the whole screen on every frame.
        before = len(self._lines)
        self._lines = summary_lines(system, wall, per_cpu=self.per_cpu)
        relayout = len(self._lines) != before
        self._cpu_summary = cpu_line("%Cpu(s)", system.cpu)
        self._note = note
        text = "\n".join([with_note(self._lines[0], note, 10_000), *self._lines[1:]])
        self.update(Content(text), layout=relayout)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # The viewport is the terminal: re-asked on every resize, so the height follows it.
        rows = len(cpu_rows(self._lines[2:-2], width)) if self._lines else 1
        return summary_height(viewport.height, rows)

    def render(self) -> Content:
        if not self._lines:
            return Content("")
        width = self.size.width
        lines = [with_note(self._lines[0], self._note, width), *self._lines[1:]]
        picked = pick_lines(
            groups_of(lines, width), self.size.height, bool(self._note), self._cpu_summary
        )
        return Content("\n".join(picked))

"""Choose the optional columns (htop's F2, top's f): Space toggles, Enter applies, Esc cancels."""

from __future__ import annotations

from collections.abc import Collection

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.strip import Strip
from textual.widgets import Label, SelectionList

from toptui.views.list_dialog import ListDialog

DESCRIPTIONS = {
    "PPID": "parent process id",
    "nTH": "number of threads",
    "START": "when the process started",
    "PSS": "proportional set size: shared pages split among their users (smaps_rollup)",
    "USS": "unique set size: memory freed if the process exits",
    "SWAP": "memory swapped out",
    "READ/s": "bytes read from storage per second",
    "WRITE/s": "bytes written to storage per second",
    "FULLCMD": "the full command line in COMMAND (also the c key)",
}


# The marks of a chosen and an unchosen column. SelectionList draws an X in both, told apart by
# colour alone, which NO_COLOR (and a monochrome terminal) takes away.
CHECKED = "[x]"
UNCHECKED = "[ ]"


class ColumnList(SelectionList[str]):
    """A SelectionList whose Space toggles at once, with marks readable without colour.

    SelectionList's Space posts a message and toggles whichever option is highlighted when that
    message is handled, so Space, Down, Space typed in one burst toggled the second option twice.
    """

    def action_select(self) -> None:
        if self.highlighted is not None:
            self.toggle(self.get_option_at_index(self.highlighted))

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        index = int(self.scroll_offset.y) + y
        if not 0 <= index < self.option_count:
            return line
        chosen = self.get_option_at_index(index).value in self.selected
        segments = list(line.crop(len(CHECKED)))  # SelectionList's three-cell button
        style = next(iter(segments)).style if segments else None
        mark = Segment(CHECKED if chosen else UNCHECKED, (style or Style()) + Style(bold=chosen))
        return Strip([mark, *segments], line.cell_length)


class ColumnsScreen(ListDialog[list[str] | None]):
    # For the footer: Enter itself is taken as it is read (ListDialog.on_key -> accept).
    BINDINGS = [Binding("enter", "apply", "Apply")]

    def __init__(self, chosen: list[str], hidden: Collection[str] = ()) -> None:
        """``hidden``: columns with no data here (a replay's), not offered at all."""
        super().__init__()
        self.chosen = chosen
        self.offered = {name: text for name, text in DESCRIPTIONS.items() if name not in hidden}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Columns — Space toggles, Enter applies", classes="dialog-title")
            yield ColumnList(
                *((f"{name:<8} {text}", name, name in self.chosen)
                  for name, text in self.offered.items())
            )  # fmt: skip

    def accept(self) -> None:
        self.action_apply()

    def action_apply(self) -> None:
        # Chosen columns that are not offered here stay chosen (a replay must not drop the saved
        # choice of PSS or SWAP that it cannot show).
        kept = [name for name in self.chosen if name not in self.offered]
        self.finish(kept + list(self.query_one(ColumnList).selected))

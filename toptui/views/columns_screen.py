"""Choose the optional columns (htop's F2, top's f): Space toggles, Enter applies, Esc cancels."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList

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


class ColumnsScreen(ModalScreen[list[str] | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "apply", "Apply", priority=True),
    ]

    def __init__(self, chosen: list[str]) -> None:
        super().__init__()
        self.chosen = chosen

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Columns — Space toggles, Enter applies", classes="dialog-title")
            yield SelectionList[str](
                *((f"{name:<8} {text}", name, name in self.chosen)
                  for name, text in DESCRIPTIONS.items())
            )  # fmt: skip

    def on_mount(self) -> None:
        selection = self.query_one(SelectionList)
        selection.highlighted = 0
        selection.focus()

    def action_apply(self) -> None:
        self.dismiss(list(self.query_one(SelectionList).selected))

    def action_cancel(self) -> None:
        self.dismiss(None)

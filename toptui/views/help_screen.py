"""Help: every key, generated from the bindings the widgets declare, so it cannot drift."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

_KEY_NAMES = {
    "less_than_sign": "<",
    "greater_than_sign": ">",
    "question_mark": "?",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "escape": "Esc",
    "enter": "Enter",
    "up": "↑",
    "down": "↓",
    "home": "Home",
    "end": "End",
}


def key_text(binding: Binding) -> str:
    keys = [k.strip() for k in binding.key.split(",") if not k.strip().startswith("shift+")]
    return " ".join(_KEY_NAMES.get(k, k) for k in keys)


def bindings_table(groups: list[tuple[str, list[Binding]]]) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for title, bindings in groups:
        table.add_row(f"[underline]{title}[/]", "")
        for b in bindings:
            table.add_row(key_text(b), b.description)
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark,h", "app.pop_screen", "Close help"),
    ]

    def __init__(self, groups: list[tuple[str, list[Binding]]]) -> None:
        super().__init__()
        self.groups = groups

    def compose(self) -> ComposeResult:
        yield Static(bindings_table(self.groups), id="help-body")

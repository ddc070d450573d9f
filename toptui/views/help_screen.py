"""Help: every key, generated from the bindings the widgets declare, so it cannot drift."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Static

# Names as a keyboard (and top's and htop's help) prints them, where Textual's own display names
# ("pgdn", "esc", "⏎", "f4") read less well in a list of keys.
_KEY_NAMES = {
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "escape": "Esc",
    "enter": "Enter",
    "space": "Space",
    "tab": "Tab",
    "home": "Home",
    "end": "End",
    "insert": "Ins",
    "delete": "Del",
    "backspace": "Backspace",
}


def _default_display(key: str) -> str:
    return format_key(key)


def key_name(key: str, display: Callable[[str], str] = _default_display) -> str:
    """One key as it is printed: ``plus`` -> ``+``, ``f4`` -> ``F4``, ``ctrl+z`` -> ``Ctrl+Z``.

    ``display`` is Textual's name for a key without modifiers (the app's ``get_key_display``),
    which turns ``plus``, ``slash`` or ``full_stop`` into the character itself.
    """
    *modifiers, base = key.split("+")  # Textual spells '+' itself "plus"
    if base in _KEY_NAMES:
        name = _KEY_NAMES[base]
    else:
        name = display(base)
        function_key = name[:1] == "f" and name[1:].isdigit()  # F3, not f3
        if function_key or (modifiers and len(name) == 1):  # Ctrl+Z, not ctrl+z
            name = name.upper()
    return "+".join([*(m.capitalize() for m in modifiers), name])


def key_text(binding: Binding, display: Callable[[str], str] = _default_display) -> str:
    """All keys of a binding, as printed (a shifted letter is listed once, as the capital)."""
    keys = [k.strip() for k in binding.key.split(",") if not k.strip().startswith("shift+")]
    return " ".join(key_name(k, display) for k in keys)


def bindings_table(
    groups: list[tuple[str, list[Binding]]], display: Callable[[str], str] = _default_display
) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2), pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for i, (title, bindings) in enumerate(groups):
        if i:
            table.add_row("", "")
        table.add_row(Text(title, style="underline"), "")
        for b in bindings:
            # As Text, not markup: a key such as '\\' or '[' must print as itself.
            table.add_row(Text(key_text(b, display)), Text(b.description))
    return table


class HelpScreen(ModalScreen[None]):
    """The key list in a scrolling box: arrows, PgUp/PgDn, Home/End and the mouse wheel move it
    (longer than most terminals are tall)."""

    BINDINGS = [
        Binding("escape,q,question_mark,h", "app.pop_screen", "Close help"),
    ]

    def __init__(self, groups: list[tuple[str, list[Binding]]]) -> None:
        super().__init__()
        self.groups = groups

    def _display(self, key: str) -> str:
        return self.app.get_key_display(Binding(key, ""))

    def compose(self) -> ComposeResult:
        body = VerticalScroll(id="help-body")
        # A container of auto width lays its children out at width 0 when it may shrink, which
        # leaves a table nothing; this one takes the table's own width, up to its max-width.
        body.shrink = False
        with body:
            yield Static(bindings_table(self.groups, self._display), id="help-keys")

    def on_mount(self) -> None:
        self.query_one("#help-body", VerticalScroll).focus()

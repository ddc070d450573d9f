"""Help: every key, generated from the bindings the widgets declare, so it cannot drift."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
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
    keys = [k.strip() for k in binding.key.split(",")]
    shown = [k for k in keys if not (k.startswith("shift+") and len(k) == len("shift+x"))]
    return " ".join(key_name(k, display) for k in shown)


def _group_rows(
    groups: list[tuple[str, list[Binding]]], display: Callable[[str], str]
) -> list[tuple[Text, Text]]:
    rows: list[tuple[Text, Text]] = []
    for i, (title, bindings) in enumerate(groups):
        if i:
            rows.append((Text(""), Text("")))
        rows.append((Text(title, style="underline"), Text("")))
        # As Text, not markup: a key such as '\\' or '[' must print as itself.
        # the whole words: a binding's footer label may be shortened, its tooltip is not
        rows.extend(
            (Text(key_text(b, display)), Text(b.tooltip or b.description)) for b in bindings
        )
    return rows


def _note_rows(title: str, notes: list[tuple[str, str]]) -> list[tuple[Text, Text]]:
    """A glossary as rows like the key lists': the term in the key column."""
    rows = [(Text(""), Text("")), (Text(title, style="underline"), Text(""))]
    rows.extend((Text(term), Text(meaning)) for term, meaning in notes)
    return rows


def _width(rows: list[tuple[Text, Text]]) -> int:
    """Cells one key column and its descriptions take, with the table's padding."""
    return max(len(k) for k, _ in rows) + 2 + max(len(d) for _, d in rows)


def bindings_table(
    groups: list[tuple[str, list[Binding]]],
    display: Callable[[str], str] = _default_display,
    width: int | None = None,
    notes: tuple[str, list[tuple[str, str]]] | None = None,
) -> Table:
    """The key list; when ``width`` has room for two lists side by side, the first group (the
    process table's keys, the longest) goes left and the others right, so that at 160x45 the
    whole list is seen at once (at 80x24 it is one list that scrolls)."""
    table = Table(box=None, show_header=False, padding=(0, 2), pad_edge=False)
    glossary = _note_rows(*notes) if notes else []
    left, right = _group_rows(groups[:1], display), _group_rows(groups[1:], display) + glossary
    if width is None or not right or width < _width(left) + _width(right) + 8:
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for row in _group_rows(groups, display) + glossary:
            table.add_row(*row)
        return table
    for _ in range(2):
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
    blank = (Text(""), Text(""))
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else blank
        b = right[i] if i < len(right) else blank
        table.add_row(*a, *b)
    return table


class HelpScreen(ModalScreen[None]):
    """The key list in a scrolling box: arrows, PgUp/PgDn, Home/End and the mouse wheel move it
    (longer than most terminals are tall)."""

    BINDINGS = [
        Binding("escape,q,question_mark,h", "app.pop_screen", "Close help"),
    ]

    def __init__(
        self,
        groups: list[tuple[str, list[Binding]]],
        notes: tuple[str, list[tuple[str, str]]] | None = None,
    ) -> None:
        """``notes``: a titled glossary after the keys (the words the detail view uses)."""
        super().__init__()
        self.groups = groups
        self.notes = notes

    def _display(self, key: str) -> str:
        return self.app.get_key_display(Binding(key, ""))

    TITLE_TEXT = "toptui help: every key"
    CLOSE_HINT = "Esc or q closes"
    SCROLL_HINT = "↑↓ PgUp PgDn Home End scroll"

    def compose(self) -> ComposeResult:
        body = VerticalScroll(id="help-body")
        # A container of auto width lays its children out at width 0 when it may shrink, which
        # leaves a table nothing; this one takes the table's own width, up to its max-width.
        body.shrink = False
        body.border_title = self.TITLE_TEXT
        body.border_subtitle = self.CLOSE_HINT
        with body:
            yield Static(self._table(), id="help-keys")

    def _table(self) -> Table:
        # The box takes up to 90% of the screen, less its border and padding.
        room = int(self.app.size.width * 0.9) - 6
        return bindings_table(self.groups, self._display, room, self.notes)

    def on_resize(self) -> None:
        self.query_one("#help-keys", Static).update(self._table())
        self.call_after_refresh(self._hint_scrolling)

    def on_mount(self) -> None:
        self.query_one("#help-body", VerticalScroll).focus()
        self.call_after_refresh(self._hint_scrolling)

    def _hint_scrolling(self) -> None:
        """The box's bottom edge says how to close it, and how to scroll when it does not fit."""
        try:
            body = self.query_one("#help-body", VerticalScroll)
        except NoMatches:  # closed before it was drawn (? Esc in one burst)
            return
        scrolls = body.max_scroll_y > 0
        body.border_subtitle = f"{self.CLOSE_HINT} · {self.SCROLL_HINT}" if scrolls else (
            self.CLOSE_HINT
        )  # fmt: skip

"""Pick one item from a list (a signal to send, a user to show): Enter picks, Esc cancels."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from toptui.views.list_dialog import ListDialog


class ChoiceScreen(ListDialog[str | None]):
    """Dismisses with the chosen option's id, or None."""

    def __init__(self, title: str, options: list[tuple[str, str]], initial: int = 0) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(*(Option(label, id=ident) for ident, label in self.options))

    def accept(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.finish(options.get_option_at_index(options.highlighted).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.finish(event.option.id)  # a click

"""The base of the dialogs that are one list taking the keys (pick a signal, a user, columns)."""

from __future__ import annotations

from typing import Generic, TypeVar

from textual import events
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList

ResultT = TypeVar("ResultT")


class ListDialog(ModalScreen[ResultT], Generic[ResultT]):
    """A modal screen whose list has the keys, highlighted at ``initial``; typing picks.

    Enter acts as the key is read (``accept``), and the dialog closes once (``finish``): the app
    hands on the next key when this one is done (``ordered_keys``), and the list's own Enter
    would only post a message that came after it.

    Typed text moves the highlight to the first option with a word starting with it (else
    containing it): top's ``k`` takes a signal number and ``u`` a user name, so `k 9 Enter`
    sends SIGKILL and `u postgres Enter` shows postgres. While nothing matches, the dialog says
    so and Enter does nothing, rather than picking whatever was highlighted.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    initial = 0  # the option highlighted first

    def __init__(self) -> None:
        super().__init__()
        self.typed = ""
        self._done = False

    def accept(self) -> None:
        """Enter: what the dialog does with the highlighted option (at once, see on_key)."""

    def action_cancel(self) -> None:
        self.finish(None)

    def finish(self, result: ResultT | None) -> None:
        """Dismiss once: a second Enter or Esc queued behind the first must not pop again."""
        if not self._done:
            self._done = True
            self.dismiss(result)

    def on_mount(self) -> None:
        try:
            options = self.query_one(OptionList)
        except NoMatches:  # closed (the app ending) before it was mounted: nothing to set up
            return
        options.highlighted = self.initial
        self.set_focus(options)
        typed = Label("", id="typed", classes="dialog-typed")
        typed.display = False
        self.query_one(".dialog").mount(typed)

    def on_key(self, event: events.Key) -> None:
        if event.key == "backspace" and self.typed:
            self._type(self.typed[:-1])
        elif event.key == "enter":
            # Acted on here, as the key is read: the list's own Enter posts a message that
            # comes after the keys typed behind it, which then went to this closing dialog.
            if not self.typed or self._match(self.typed) is not None:
                self.accept()
        elif event.is_printable and event.character and event.character != " ":
            self._type(self.typed + event.character)
        else:
            if event.key in ("up", "down", "pageup", "pagedown", "home", "end"):
                self._type("", move=False)
            return
        event.stop()
        event.prevent_default()

    def _match(self, text: str) -> int | None:
        options = self.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt).lower()
                   for i in range(options.option_count)]  # fmt: skip
        text = text.lower()
        for i, prompt in enumerate(prompts):
            if any(word.startswith(text) for word in prompt.split()):
                return i
        return next((i for i, prompt in enumerate(prompts) if text in prompt), None)

    def _type(self, text: str, move: bool = True) -> None:
        self.typed = text
        found = self._match(text) if text else None
        if found is not None and move:
            self.query_one(OptionList).highlighted = found
        hint = ""
        if text:
            hint = f"typed: {text}" if found is not None else f"nothing matches {text!r}"
        if self.query("#typed"):
            label = self.query_one("#typed", Label)
            label.update(hint)
            label.display = bool(hint)

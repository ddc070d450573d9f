"""A one-line prompt above the footer, for search, filter, renice and delay (top asks there too)."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input

# What Enter does, per prompt, as the footer says it.
_ACCEPT = {"search": "Find", "filter": "Apply filter", "delay": "Set delay", "renice": "Renice"}


class PromptBar(Input):
    """Hidden until asked; Enter answers, Esc cancels. Typing in search/filter acts live."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def footer_keys(self) -> list[tuple[str, str, str, str]]:
        """The only keys the footer shows while the prompt is open: (key, shown as, what, action).

        Every other key types into the prompt, so the screen's keys (/ Search, q Quit ...) in the
        footer would be wrong there (KeyFooter asks the focused widget for this).
        """
        return [
            ("enter", "Enter", _ACCEPT.get(self.kind, "Accept"), "submit"),
            ("escape", "Esc", "Cancel", "cancel"),
        ]

    class Answered(Message):
        def __init__(self, kind: str, value: str | None) -> None:
            super().__init__()
            self.kind = kind
            self.value = value  # None when cancelled

    class Typed(Message):
        def __init__(self, kind: str, value: str) -> None:
            super().__init__()
            self.kind = kind
            self.value = value

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = ""
        self.display = False
        self._before: Widget | None = None  # what had the focus when the prompt was opened

    def ask(self, kind: str, prompt: str, value: str = "") -> None:
        self.kind = kind
        self.placeholder = prompt
        self.border_title = prompt
        self.value = value
        self.display = True
        if self.screen.focused is not self:  # asked again while open (the palette): keep the first
            self._before = self.screen.focused
        # At once, not later as focus() does: the next key is handed on as soon as the one that
        # opened the prompt has been handled (ordered_keys), and must land here.
        self.screen.set_focus(self)

    def _answer(self, value: str | None) -> None:
        self.display = False
        self.screen.set_focus(self._before)
        # Straight to the app, not bubbling through the screen: the app hands on the next key
        # (ordered_keys) through its own queue, and it must find the answer applied.
        self.app.post_message(self.Answered(self.kind, value))

    def on_key(self, event: events.Key) -> None:
        """Enter and Esc answer as the key is read, not when Input's binding runs later.

        The app hands on the next key once this one is stopped (``ordered_keys``); answering
        here means that key finds the prompt closed, the focus back and the answer on its way
        first. Before, `\\python`, Enter, `M` typed in one burst became the filter "pythonM".
        """
        if self.display and event.key in ("enter", "escape"):
            self._answer(self.value if event.key == "enter" else None)
            event.prevent_default()
            event.stop()  # last: stopping it hands on the next key, which must come after

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.display:
            self.post_message(self.Typed(self.kind, event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.display:
            self._answer(event.value)

    def action_cancel(self) -> None:
        if self.display:
            self._answer(None)

"""A one-line prompt above the footer, for search, filter, renice and delay (top asks there too)."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
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

    def ask(self, kind: str, prompt: str, value: str = "") -> None:
        self.kind = kind
        self.placeholder = prompt
        self.border_title = prompt
        self.value = value
        self.display = True
        self.focus()

    def _close(self) -> None:
        self.display = False

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.display:
            self.post_message(self.Typed(self.kind, event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._close()
        self.post_message(self.Answered(self.kind, event.value))

    def action_cancel(self) -> None:
        self._close()
        self.post_message(self.Answered(self.kind, None))

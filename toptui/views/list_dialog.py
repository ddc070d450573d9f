"""The base of the dialogs that are one list taking the keys (pick a signal, a user, columns)."""

from __future__ import annotations

from typing import Generic, TypeVar

from textual.screen import ModalScreen
from textual.widgets import OptionList

ResultT = TypeVar("ResultT")


class ListDialog(ModalScreen[ResultT], Generic[ResultT]):
    """A modal screen whose list has the keys, highlighted at ``initial``.

    Keys typed together with the one that opened the dialog (a paste, tmux send-keys, a burst
    over ssh) wait in the screen's queue until it is mounted, so they find the list ready.
    """

    initial = 0  # the option highlighted first

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = self.initial
        self.set_focus(options)

"""An App base that hands keys on one at a time, each after the one before has been handled.

Textual routes a key to the focused widget as soon as it is dequeued, but runs its binding
only when the key has bubbled back up to the app, and a screen or prompt that a binding opens
takes the focus later still. Keys that arrive together (tmux send-keys, a burst over a slow
ssh link, a fast typist) were all routed before the first one had acted: `\\python` opened the
filter and gave "h" to the table (help); `Enter Esc / abc` lost the text; `k Enter Esc` popped
two screens and crashed. Here a key is routed only once the key before it has finished: it
bubbled back to the app (its bindings ran), a widget stopped it (an input took the character),
or the app handled it without forwarding it. A key whose message was lost (the screen or the
widget it went to was closed before reading it) is let go as soon as that is seen, checked every
KEY_CHECK_S; a key still in hand after KEY_TIMEOUT_S is let go anyway, so typing never stalls for
long. Neither depends on how fast the machine is: a slow machine makes keys wait their turn longer,
never act out of turn (a fixed 1 s timeout did, under load).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Generic, Self, TypeVar

from textual import events
from textual.app import App
from textual.command import CommandPalette
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget

KEY_CHECK_S = 0.25
KEY_TIMEOUT_S = 5.0  # longer than any key takes on a loaded machine, short enough not to feel hung
ReturnT = TypeVar("ReturnT")


class TrackedKey(events.Key):
    """A key that says when a widget stops it (``stop`` is how a widget says "mine")."""

    def __init__(self, key: str, character: str | None, done: Callable[[TrackedKey], None]):
        super().__init__(key, character)
        self._done = done
        # Textual stops a message at the child of its sender "so that it ends after the
        # parent", then bubbles it on anyway: with the app as sender that stop() is not a widget
        # taking the key. A key from the terminal has no sender that matters.
        self._sender = None

    def stop(self, stop: bool = True) -> Self:
        super().stop(stop)
        if stop:
            self._done(self)
        return self


TrackedKey.handler_name = events.Key.handler_name  # dispatched to on_key like any key


class KeyTurn(Message):
    """The next queued key's turn: posted to the app, behind what the last key posted there."""

    def __init__(self, key: events.Key) -> None:
        super().__init__()
        self.key = key


class OrderedKeysApp(App[ReturnT], Generic[ReturnT]):
    """See the module docstring. ``route_here`` may take a key before Textual routes it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._keys_waiting: deque[events.Key] = deque()
        self._key_busy: TrackedKey | bool = False  # the key in hand, or True: a turn is posted
        self._key_timer: Timer | None = None
        self._key_on_palette = False  # the key in hand went to the command palette
        self._key_screen: Screen | None = None  # the screen the key in hand went to
        self._key_widget: Widget | None = None  # and the widget focused there
        self._key_since = 0.0

    async def route_here(self, key: events.Key) -> bool:
        """Handle ``key`` before Textual's routing; True when done with it."""
        return False

    async def on_event(self, event: events.Event) -> None:
        if not isinstance(event, events.Key):
            await super().on_event(event)
        elif event.is_forwarded:  # back from the focused widget: its bindings run now
            await super().on_event(event)
            if isinstance(event, TrackedKey):
                self._key_finished(event)
        elif self._key_busy or self._keys_waiting:
            self._keys_waiting.append(event)
        else:
            await self._route(event)

    async def on_key_turn(self, message: KeyTurn) -> None:
        self._key_busy = False
        await self._route(message.key)

    async def _route(self, event: events.Key) -> None:
        key = TrackedKey(event.key, event.character, self._key_finished)
        self._key_busy = key
        self._key_on_palette = isinstance(self.screen, CommandPalette)
        self._key_screen, self._key_widget = self.screen, self.screen.focused
        self._key_since = time.monotonic()
        self._key_timer = self.set_interval(KEY_CHECK_S, lambda: self._key_lost(key))
        if not self.app_focus:
            self.app_focus = True  # as Textual does for a key
        if await self.route_here(key):
            self._key_finished(key)
            return
        await super().on_event(key)
        if not key.is_forwarded:  # a priority binding took it, or nothing could
            self._key_finished(key)

    def _key_lost(self, key: TrackedKey) -> None:
        """Let the key go once what it went to is gone (its message will never be read)."""
        screen, widget = self._key_screen, self._key_widget
        gone = (screen is not None and screen not in self.screen_stack) or (
            widget is not None and not widget.is_attached
        )
        late = time.monotonic() - self._key_since > KEY_TIMEOUT_S
        if gone or late:
            self._key_finished(key)

    def _key_finished(self, key: TrackedKey) -> None:
        if self._key_busy is not key:
            return
        if self._key_timer is not None:
            self._key_timer.stop()
            self._key_timer = None
        self._key_busy = False
        if self._keys_waiting:
            self._key_busy = True
            turn = KeyTurn(self._keys_waiting.popleft())
            if self._key_on_palette:
                # The command palette runs a chosen command later still (call_later after its
                # own dismiss): the next key waits for the screen to be redrawn after it.
                self.call_after_refresh(self.post_message, turn)
            else:
                self.post_message(turn)

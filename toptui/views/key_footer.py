"""The key footer: Textual's Footer without the memory it keeps each time the keys change.

Every screen change recomposes the Footer, and each new FooterKey binds to ``Footer.compact`` with
``data_bind``. Textual stores that watcher on the Footer and only prunes dead ones when
``compact`` changes, which it never does here, so every FooterKey ever made stayed reachable
(about 1 MB per help or detail view opened; Textualize/textual#6666). This footer drops the
watchers of removed keys after each recompose.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


def drop_dead_watchers(node: DOMNode) -> int:
    """Forget watchers on ``node`` whose owners are closed (removed); how many were dropped.

    The same test Textual applies when the watched value changes, applied now.
    """
    watchers = getattr(node, "__watchers", None)  # Textual's own name (textual.reactive._watch)
    if not isinstance(watchers, dict):
        return 0
    dropped = 0
    for entries in watchers.values():
        live = [(owner, cb) for owner, cb in entries if not (owner._closing or owner._closed)]
        dropped += len(entries) - len(live)
        entries[:] = live
    return dropped


# Actions whose keys come first in the footer, in this order (see KeyFooter._keys_in_order).
FIRST = ("quit", "help", "filter", "kill", "toggle_growth", "sort('RES')", "sort('GROWTH')",
         "app.fastest_grower", "app.open_detail")  # fmt: skip


PALETTE_HINT_MIN_WIDTH = 100


class KeyFooter(Footer):
    """Also: a focused widget with ``footer_keys()`` (the prompt bar) shows only its own keys.

    While typing in a prompt every letter goes into the prompt, so the screen's keys (``/``,
    ``\\``, ``q``) would be wrong in the footer; Enter and Esc are what work there.
    """

    _shown: tuple | None = None  # the keys as last composed (see _specs)
    _pending = False  # a check for changed keys is already scheduled

    def compose(self) -> ComposeResult:
        specs = self._specs()
        self._shown = specs
        if specs is None:
            return
        keys, columns = specs
        if columns is not None:
            self.styles.grid_size_columns = columns
        for key, shown, description, action, disabled, tooltip, classes in keys:
            yield FooterKey(
                key, shown, description, action, classes=classes, disabled=disabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)  # fmt: skip

    def _specs(self) -> tuple | None:
        """What :meth:`compose` shows, as plain values: ((key, display, description, action,
        disabled, tooltip, classes), ...) and the grid's column count (None: left as it is);
        None while the bindings are not ready."""
        footer_keys = (
            getattr(self.screen.focused, "footer_keys", None) if self.is_attached else None
        )
        if not self._bindings_ready:
            return None
        if callable(footer_keys):
            own = tuple(
                (key, shown, description, action, False, "", "")
                for key, shown, description, action in footer_keys()
            )
            return own, None
        return self._keys_in_order()

    def _keys_in_order(self) -> tuple:
        """The screen's shown keys, the ones a narrow terminal must keep first (FIRST), then the
        rest in their own order: at 80 columns quitting, help, filter, kill and the growth panel
        stay on screen, as top's and htop's do, and the rest runs off the right edge."""
        first: dict[str, tuple[Binding, bool, str]] = {}
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show:
                first.setdefault(binding.action, (binding, enabled, tooltip))
        rank = {action: i for i, action in enumerate(FIRST)}
        ordered = sorted(first.values(), key=lambda b: rank.get(b[0].action, len(FIRST)))
        keys = [
            (binding.key, self.app.get_key_display(binding), binding.description,
             binding.action, not enabled, tooltip, "")
            for binding, enabled, tooltip in ordered
        ]  # fmt: skip
        # "^p palette" takes 12 columns that an 80-column footer needs for the keys (^p still works)
        wide = self.app.size.width >= PALETTE_HINT_MIN_WIDTH
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and wide:
            found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _, binding, enabled, _ = found
                tip = binding.tooltip or binding.description
                keys.append((binding.key, self.app.get_key_display(binding),
                             binding.description, binding.action, not enabled, tip,
                             "-command-palette"))  # fmt: skip
        return tuple(keys), len(ordered)

    def bindings_changed(self, screen: Screen) -> None:
        """Textual recomposes the footer on every bindings signal (each focus change, several
        at launch), and mounting its keys restyles each one: recompose once per refresh, and
        only when the keys shown would differ."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._pending = False
        if self.is_attached and self._specs() != self._shown:
            await self.recompose()

    async def recompose(self) -> None:
        await super().recompose()
        drop_dead_watchers(self)

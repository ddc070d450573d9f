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

    def compose(self) -> ComposeResult:
        footer_keys = (
            getattr(self.screen.focused, "footer_keys", None) if self.is_attached else None
        )
        if not self._bindings_ready:
            return
        if callable(footer_keys):
            for key, shown, description, action in footer_keys():
                yield FooterKey(key, shown, description, action).data_bind(compact=Footer.compact)
            return
        yield from self._keys_in_order()

    def _keys_in_order(self) -> ComposeResult:
        """The screen's shown keys, the ones a narrow terminal must keep first (FIRST), then the
        rest in their own order: at 80 columns quitting, help, filter, kill and the growth panel
        stay on screen, as top's and htop's do, and the rest runs off the right edge."""
        first: dict[str, tuple[Binding, bool, str]] = {}
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show:
                first.setdefault(binding.action, (binding, enabled, tooltip))
        rank = {action: i for i, action in enumerate(FIRST)}
        ordered = sorted(first.values(), key=lambda b: rank.get(b[0].action, len(FIRST)))
        self.styles.grid_size_columns = len(ordered)
        for binding, enabled, tooltip in ordered:
            yield FooterKey(
                binding.key, self.app.get_key_display(binding), binding.description,
                binding.action, disabled=not enabled, tooltip=tooltip,
            ).data_bind(compact=Footer.compact)  # fmt: skip
        # "^p palette" takes 12 columns that an 80-column footer needs for the keys (^p still works)
        wide = self.app.size.width >= PALETTE_HINT_MIN_WIDTH
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and wide:
            found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _, binding, enabled, _ = found
                yield FooterKey(
                    binding.key, self.app.get_key_display(binding), binding.description,
                    binding.action, classes="-command-palette", disabled=not enabled,
                    tooltip=binding.tooltip or binding.description,
                )  # fmt: skip

    async def recompose(self) -> None:
        await super().recompose()
        drop_dead_watchers(self)

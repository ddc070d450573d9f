"""The key footer: Textual's Footer without the memory it keeps each time the keys change.

Every screen change recomposes the Footer, and each new FooterKey binds to ``Footer.compact`` with
``data_bind``. Textual stores that watcher on the Footer and only prunes dead ones when
``compact`` changes, which it never does here, so every FooterKey ever made stayed reachable
(about 1 MB per help or detail view opened; Textualize/textual#6666). This footer drops the
watchers of removed keys after each recompose.
"""

from __future__ import annotations

from textual.app import ComposeResult
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


class KeyFooter(Footer):
    """Also: a focused widget with ``footer_keys()`` (the prompt bar) shows only its own keys.

    While typing in a prompt every letter goes into the prompt, so the screen's keys (``/``,
    ``\\``, ``q``) would be wrong in the footer; Enter and Esc are what work there.
    """

    def compose(self) -> ComposeResult:
        footer_keys = (
            getattr(self.screen.focused, "footer_keys", None) if self.is_attached else None
        )
        if not (self._bindings_ready and callable(footer_keys)):
            yield from super().compose()
            return
        for key, shown, description, action in footer_keys():
            yield FooterKey(key, shown, description, action).data_bind(compact=Footer.compact)

    async def recompose(self) -> None:
        await super().recompose()
        drop_dead_watchers(self)

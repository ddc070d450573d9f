"""The key footer: Textual's Footer without the memory it keeps each time the keys change.

Every screen change recomposes the Footer, and each new FooterKey binds to ``Footer.compact`` with
``data_bind``. Textual stores that watcher on the Footer and only prunes dead ones when
``compact`` changes, which it never does here, so every FooterKey ever made stayed reachable
(about 1 MB per help or detail view opened; Textualize/textual#6666). This footer drops the
watchers of removed keys after each recompose.
"""

from __future__ import annotations

from textual.dom import DOMNode
from textual.widgets import Footer


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
    async def recompose(self) -> None:
        await super().recompose()
        drop_dead_watchers(self)

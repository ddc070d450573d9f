"""Memory Textual's renderer keeps for widgets that are gone, given back when a screen closes.

``StylesCache.get_inner_outer`` (Textual 8.2) is an ``lru_cache`` on an instance method: its keys
hold up to 1024 StylesCache objects, each with every line it cached for its widget. Opening and
closing the help or detail view leaves about 20 of them behind each time, so toptui's own
memory climbed by tens of MB in a few minutes of use. The cache only memoizes two Style objects
per colour pair, so emptying it when a screen closes costs next to nothing.
"""

from __future__ import annotations

from textual._styles_cache import StylesCache


def release_render_caches() -> None:
    cache_clear = getattr(getattr(StylesCache, "get_inner_outer", None), "cache_clear", None)
    if callable(cache_clear):
        cache_clear()

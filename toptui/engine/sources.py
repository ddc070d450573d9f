"""The snapshot sources a screen, batch run or service can be given, chosen in one place.

The views know only the :class:`toptui.engine.monitor.Source` protocol (and a recorded source's
extra figures); which concrete source runs, the live sampler or a recording's replay, is decided
here and by the command line. The live sampler imports psutil, so it is imported only when asked
for.
"""

from __future__ import annotations

from collections.abc import Iterable

from toptui.engine.monitor import RecordedSource, Source


def live_source(pids: Iterable[int] | None = None) -> Source:
    """This machine's processes now (``pids``: only these, as top -p)."""
    from toptui.sampling.sampler import Sampler

    return Sampler(pids=pids)


def replay_source(path: str, pids: Iterable[int] | None = None) -> RecordedSource:
    """A recording played back tick by tick (raises the recording's errors, one line each)."""
    from toptui.sampling.replay import ReplaySampler

    return ReplaySampler(path, pids=pids)

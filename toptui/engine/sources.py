"""The snapshot sources a screen, batch run or service can be given, chosen in one place.

The views and the monitor know only the :class:`Source` protocol (and a recorded source's
extra figures); which concrete source runs, the live sampler or a recording's replay, is decided
here and by the command line. The live sampler imports psutil, so it is imported only when asked
for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from toptui.model import ProcKey, Snapshot


class Source(Protocol):
    """Where snapshots come from: the live sampler, a replay, or a test's own series.

    ``live`` is true only when the snapshots are of this machine now (toptui's own pid is then in
    them, and treated as such). ``extras_for`` names the identities whose costlier figures (PSS,
    USS, swap, I/O) to read with the next snapshot; a source without such figures ignores it."""

    live: bool
    extras_for: frozenset[ProcKey]

    def sample(self) -> Snapshot: ...


class RecordedSource(Source, Protocol):
    """A source that plays back what was recorded: how far it is, and what it does not hold."""

    position: int  # ticks returned so far
    total: int  # ticks in the recording
    interval_s: float  # the recorded sampling interval
    unrecorded_columns: frozenset[str]  # columns it has no data for
    has_parents: bool  # its processes' parent pids are known (recording format 2)

    @property
    def done(self) -> bool: ...


def live_source(pids: Iterable[int] | None = None) -> Source:
    """This machine's processes now (``pids``: only these, as top -p)."""
    from toptui.sampling.sampler import Sampler

    return Sampler(pids=pids)


def replay_source(path: str, pids: Iterable[int] | None = None) -> RecordedSource:
    """A recording played back tick by tick (raises the recording's errors, one line each)."""
    from toptui.sampling.replay import ReplaySampler

    return ReplaySampler(path, pids=pids)

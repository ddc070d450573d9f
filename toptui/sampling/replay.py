"""Plays a recording back as snapshots, one recorded tick per ``sample()`` call.

A drop-in for :class:`toptui.sampling.sampler.Sampler`: the monitor, history and detector see the
recorded timeline (``t_mono`` is the recorded time), so a replay flags what the live run would
have flagged. The file is streamed, never loaded whole: an hour of 2000 processes is about seven
million rows, far more than memory should hold as snapshots. Opening makes one validating pass that
counts the ticks (for ``position``/``total``), so a malformed file fails at once, with its line
number, instead of halfway through a replay; 100k rows take well under a second per pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from itertools import pairwise

from toptui.mapping_model import ProcKinds
from toptui.model import (
    CpuStates,
    MemoryStats,
    ProcKey,
    ProcSample,
    Snapshot,
    SystemStats,
    TaskCounts,
)
from toptui.sampling.system import read_memory
from toptui.store.recording import RecordingError, RecordingFormatError, RecordingReader, Row

_ZERO_MEMORY = MemoryStats(0, 0, 0, 0, 0, 0, 0)


def _live_memory() -> MemoryStats:
    """This machine's memory (the recording has none), so time-to-OOM still means something."""
    try:
        return read_memory()
    except (OSError, RuntimeError):
        return _ZERO_MEMORY


# Columns a recording has nothing for (it keeps pid, start, name, RES, VIRT, SHR and %CPU): the
# screen leaves them out of a replay rather than show _proc's neutral fill-ins as facts, and does
# not offer them to sort by or to add. FULLCMD is the command line (the c key), which is not kept.
UNRECORDED_COLUMNS = frozenset(
    {"USER", "PR", "NI", "S", "TIME+", "PPID", "nTH", "PSS", "USS", "SWAP", "READ/s", "WRITE/s",
     "FULLCMD"}
)  # fmt: skip


def _proc(r: Row, mem_total: int) -> ProcSample:
    """A ProcSample from a recorded row; what a recording does not keep gets a neutral value."""
    return ProcSample(
        # create_time is recorded to 1/100 s, a clock tick: distinct starts stay distinct keys.
        key=(r.pid, round(r.create_time * 100)),
        pid=r.pid,
        ppid=max(0, r.ppid),  # format 1 keeps none (NO_PARENT): 0, as for a root
        user="?",
        name=r.name,
        command=r.name,
        state="S",
        priority=20,
        nice=0,
        threads=0,
        virt=r.vms,
        res=r.rss,
        shr=r.shared,
        cpu_percent=r.cpu_percent,
        mem_percent=100.0 * r.rss / mem_total if mem_total else 0.0,
        cpu_time=0.0,
        create_time=r.create_time,
        swap=r.swap,  # format 3 keeps it: a leak pushed out to swap stays a leak in a replay
    )


class ReplaySampler:
    """Returns the recorded ticks of ``path`` in order; once ``done``, keeps returning the last.

    Raises :class:`toptui.store.recording.RecordingFormatError` (a ValueError whose message names
    the file and line) when the file is not a readable recording or holds no tick, and
    :class:`toptui.store.recording.RecordingError` (an OSError, one line) when it cannot be read.
    """

    live = False  # a recording: its pids are not this machine's
    unrecorded_columns = UNRECORDED_COLUMNS
    has_parents = False
    extras_for: frozenset[ProcKey] = frozenset()  # nothing extra to read: ignored

    def __init__(self, path: str | os.PathLike[str], pids: Iterable[int] | None = None) -> None:
        self.path = os.fspath(path)
        self._only = frozenset(pids) if pids else None  # like top -p: only these processes
        try:
            times = [t for t, _ in self._read()]
            # format 2 keeps parent pids: then tree view and families work on a replay too
            self.has_parents = self._reader.has_parents
            if self.has_parents:
                self.unrecorded_columns = UNRECORDED_COLUMNS - {"PPID"}
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            raise RecordingError(
                self.path, f"cannot replay {self.path}: {reason}", exc.errno
            ) from None
        self.total = len(times)
        # The recorded sampling interval (the median spacing of its ticks): the monitor judges
        # at the recording's own sample times, as it did live.
        gaps = sorted(b - a for a, b in pairwise(times) if b > a)
        self.interval_s = gaps[len(gaps) // 2] if gaps else 1.0
        if self.total == 0:
            what = "no samples"
            if self._only:
                what += f" of process {', '.join(map(str, sorted(self._only)))}"
            raise RecordingFormatError(self.path, 1, f"the recording holds {what}")
        self.position = 0
        self._ticks: Iterator[tuple[float, list[Row]]] = self._read()
        self._next = self._advance()
        self._last: Snapshot | None = None
        self._last_t: float | None = None

    def _read(self) -> Iterator[tuple[float, list[Row]]]:
        self._reader = RecordingReader(self.path)
        ticks = self._reader.ticks()
        if self._only is None:
            return ticks
        only = self._only
        picked = ((t, [r for r in rows if r.pid in only]) for t, rows in ticks)
        return ((t, rows) for t, rows in picked if rows)

    @property
    def done(self) -> bool:
        """True once the last recorded tick has been returned."""
        return self._next is None

    def _advance(self) -> tuple[float, list[Row]] | None:
        try:
            return next(self._ticks)
        except (StopIteration, RecordingFormatError, OSError):
            # Validated on open; a file rewritten since then simply ends the replay here.
            return None

    def sample(self) -> Snapshot:
        tick = self._next
        if tick is None:
            assert self._last is not None  # total > 0 guarantees one tick was returned
            return self._last
        self._next = self._advance()
        t, rows = tick
        memory = _live_memory()
        procs = tuple(_proc(r, memory.total) for r in rows)
        interval = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        self._last_t = t
        self.position += 1
        self.total = max(self.total, self.position)  # the file may have grown since it was opened
        system = SystemStats(
            uptime_s=0.0,
            load=(0.0, 0.0, 0.0),
            users=0,
            cpu=CpuStates(),
            memory=memory,
            tasks=TaskCounts(total=len(procs)),
            recorded=True,
        )
        # The memory by kind recorded that tick (format 4), handed on as it was read.
        kinds = {p.key: ProcKinds(r.coarse, r.kinds) for p, r in zip(procs, rows, strict=True)
                 if r.coarse is not None or r.kinds is not None}  # fmt: skip
        snap = Snapshot(t_mono=t, t_wall=t, interval_s=interval, system=system, procs=procs,
                        kinds=kinds or None)  # fmt: skip
        self._last = snap
        return snap

"""A bounded history of resident memory by kind, for the few processes whose smaps is read.

smaps is read only for the process in the detail view and the flagged ones (see
``engine/monitor.py``), so at most ``MAX_PROCESSES`` are kept (the least recently read goes
first). Per process: at most ``MAX_POINTS`` readings' per-kind totals (when full, every other
older one is dropped, so the span stays whole at half the resolution), the first reading's Rss per
mapping (by start and by end address: the heap grows at its end, merged anonymous regions at
their start), and the latest reading. Every process also keeps its first and latest coarse split
from /proc/PID/status. Reads copy under a lock: the sampler thread writes, the UI thread reads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from toptui.mapping_model import CoarseSplit, SmapsReading
from toptui.model import ProcKey

MAX_PROCESSES = 16  # the detail view's process and the flagged ones, read in turn
MAX_POINTS = 240  # per-kind readings kept per process (thinned by half when full)


@dataclass(frozen=True, slots=True)
class KindSeries:
    """One process's per-kind history, as copied out for a view or batch mode."""

    t: tuple[float, ...]  # monotonic seconds of each reading with kinds
    kinds: tuple[tuple[int, ...], ...]  # per reading, bytes in KINDS order
    first_rss: dict[int, int]  # start address -> Rss at the first reading (bytes)
    first_rss_end: dict[int, int]  # end address -> the same (anonymous regions grow downwards)
    latest: SmapsReading  # the last reading, whole, partial or absent


@dataclass(slots=True)
class _Kept:
    t: list[float]
    kinds: list[tuple[int, ...]]
    first_rss: dict[int, int]
    first_rss_end: dict[int, int]
    latest: SmapsReading


class KindsHistory:
    """Per-kind readings of a bounded number of processes, and everyone's coarse split."""

    def __init__(self) -> None:
        self._kept: OrderedDict[ProcKey, _Kept] = OrderedDict()
        self._coarse: dict[ProcKey, tuple[CoarseSplit, CoarseSplit]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def record(self, key: ProcKey, reading: SmapsReading) -> None:
        """Add one smaps reading (an absent one is kept as the latest, with its reason)."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                kept = self._kept[key] = _Kept([], [], {}, {}, reading)
                while len(self._kept) > MAX_PROCESSES:
                    self._kept.popitem(last=False)
            else:
                self._kept.move_to_end(key)
            kept.latest = reading
            if reading.kinds is None:
                return
            if not kept.t:
                kept.first_rss = {m.start: m.rss for m in reading.mappings}
                kept.first_rss_end = {m.end: m.rss for m in reading.mappings}
            elif reading.t <= kept.t[-1]:
                return  # times must increase (a replayed or repeated tick)
            kept.t.append(reading.t)
            kept.kinds.append(reading.kinds)
            if len(kept.t) > MAX_POINTS:
                # Every other one of the older half goes; the newest half stays whole.
                half = len(kept.t) // 2
                kept.t[:half] = kept.t[:half:2]
                kept.kinds[:half] = kept.kinds[:half:2]

    def coarse(self, key: ProcKey, split: CoarseSplit) -> None:
        """Keep a process's first coarse split and its latest."""
        with self._lock:
            first = self._coarse.get(key)
            self._coarse[key] = (first[0] if first else split, split)

    def get(self, key: ProcKey) -> KindSeries | None:
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            return KindSeries(tuple(kept.t), tuple(kept.kinds), dict(kept.first_rss),
                              dict(kept.first_rss_end), kept.latest)  # fmt: skip

    def coarse_of(self, key: ProcKey) -> tuple[CoarseSplit, CoarseSplit] | None:
        """(first, latest) coarse split of a process, or None if never read."""
        with self._lock:
            return self._coarse.get(key)

    def forget(self, key: ProcKey) -> None:
        with self._lock:
            self._kept.pop(key, None)
            self._coarse.pop(key, None)

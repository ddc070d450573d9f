"""Bounded per-process memory history: compact ring buffers keyed by process identity.

Each process keeps RES, SHR and VIRT (in pages, 4 bytes each) and %CPU (2 bytes) per tick in
``array`` ring buffers, plus its own timestamps, and the first sample ever seen as the baseline.
A ring holds at most ``capacity`` samples, and identities that stop appearing are dropped after a
short grace period, so toptui's own memory stays bounded however long it runs and however many
processes come and go. Reads copy under a lock: the sampler thread writes, the UI thread reads.
"""

from __future__ import annotations

import bisect
import math
import threading
from array import array
from dataclasses import dataclass

from toptui.model import ProcKey, Snapshot

PAGE = 4096
_MAX_PAGES = 2**32 - 1
MAX_CAPACITY = 7200  # samples per process: one hour at 0.5 s, two hours at 1 s
DEFAULT_GRACE_S = 60.0  # keep an exited process's history this long (its detail view stays useful)


@dataclass(frozen=True, slots=True)
class Baseline:
    t: float
    res: int
    shr: int
    virt: int


@dataclass(frozen=True, slots=True)
class Series:
    """A copy of one process's history, oldest first, in seconds and bytes."""

    key: ProcKey
    name: str
    baseline: Baseline
    t: tuple[float, ...]
    res: tuple[int, ...]
    shr: tuple[int, ...]
    virt: tuple[int, ...]
    cpu: tuple[float, ...]


def capacity_for(history_s: float, interval_s: float) -> int:
    """Samples needed to cover ``history_s`` at ``interval_s``, capped to stay compact."""
    if interval_s <= 0:
        interval_s = 1.0
    return max(2, min(MAX_CAPACITY, math.ceil(history_s / interval_s) + 1))


def _pages(n: int) -> int:
    return min(_MAX_PAGES, max(0, n // PAGE))


class ProcHistory:
    """Ring buffers for one process identity."""

    __slots__ = ("_head", "baseline", "capacity", "cpu", "last_seen", "name", "res", "shr", "t",
                 "virt")  # fmt: skip

    def __init__(self, capacity: int, name: str, baseline: Baseline) -> None:
        self.capacity = capacity
        self.name = name
        self.baseline = baseline
        self.t = array("d")
        self.res = array("I")
        self.shr = array("I")
        self.virt = array("I")
        self.cpu = array("H")  # tenths of a percent
        self._head = 0  # index of the oldest sample once the ring is full
        self.last_seen = baseline.t

    def __len__(self) -> int:
        return len(self.t)

    def append(self, t: float, res: int, shr: int, virt: int, cpu: float) -> None:
        values = (t, _pages(res), _pages(shr), _pages(virt), min(65535, int(cpu * 10 + 0.5)))
        arrays = (self.t, self.res, self.shr, self.virt, self.cpu)
        if len(self.t) < self.capacity:
            for arr, v in zip(arrays, values, strict=True):
                arr.append(v)
        else:
            i = self._head
            for arr, v in zip(arrays, values, strict=True):
                arr[i] = v
            self._head = (i + 1) % self.capacity
        self.last_seen = t

    def _ordered(self, arr: array) -> list:
        h = self._head
        return arr[h:].tolist() + arr[:h].tolist() if h else arr.tolist()

    def times(self) -> list[float]:
        return self._ordered(self.t)

    def res_bytes(self) -> list[int]:
        return [p * PAGE for p in self._ordered(self.res)]

    def latest_res(self) -> int:
        if not self.res:
            return self.baseline.res
        return self.res[(self._head - 1) % len(self.res)] * PAGE

    def series(self, key: ProcKey, since: float | None = None) -> Series:
        t = self._ordered(self.t)
        res, shr, virt, cpu = (self._ordered(a) for a in (self.res, self.shr, self.virt, self.cpu))
        start = 0 if since is None else bisect.bisect_left(t, since)
        return Series(
            key=key,
            name=self.name,
            baseline=self.baseline,
            t=tuple(t[start:]),
            res=tuple(p * PAGE for p in res[start:]),
            shr=tuple(p * PAGE for p in shr[start:]),
            virt=tuple(p * PAGE for p in virt[start:]),
            cpu=tuple(c / 10 for c in cpu[start:]),
        )


class History:
    """All processes' histories; fed whole snapshots, read by key."""

    def __init__(
        self,
        history_s: float = 3600.0,
        interval_s: float = 1.0,
        grace_s: float = DEFAULT_GRACE_S,
        max_processes: int = 65536,
    ) -> None:
        self.history_s = history_s
        self.capacity = capacity_for(history_s, interval_s)
        self.grace_s = grace_s
        self.max_processes = max_processes
        self._procs: dict[ProcKey, ProcHistory] = {}
        self._lock = threading.Lock()
        self.now = 0.0

    def __len__(self) -> int:
        return len(self._procs)

    def __contains__(self, key: object) -> bool:
        return key in self._procs

    def ingest(self, snap: Snapshot) -> None:
        """Append every process of a snapshot, then drop identities gone for longer than grace."""
        t = snap.t_mono
        with self._lock:
            self.now = t
            procs = self._procs
            for p in snap.procs:
                h = procs.get(p.key)
                if h is None:
                    if len(procs) >= self.max_processes:
                        continue
                    h = ProcHistory(self.capacity, p.name, Baseline(t, p.res, p.shr, p.virt))
                    procs[p.key] = h
                h.append(t, p.res, p.shr, p.virt, p.cpu_percent)
            cutoff = t - self.grace_s
            stale = [k for k, h in procs.items() if h.last_seen < cutoff]
            for k in stale:
                del procs[k]

    def get(self, key: ProcKey) -> ProcHistory | None:
        return self._procs.get(key)

    def keys(self) -> list[ProcKey]:
        with self._lock:
            return list(self._procs)

    def series(self, key: ProcKey) -> Series | None:
        """A consistent copy of one process's history within the window, or None if unknown."""
        with self._lock:
            h = self._procs.get(key)
            if h is None:
                return None
            return h.series(key, since=self.now - self.history_s)

    def res_series(self, key: ProcKey) -> tuple[list[float], list[int]] | None:
        """Times and RES within the window: what the growth detector judges."""
        with self._lock:
            h = self._procs.get(key)
            if h is None:
                return None
            t, res = h.times(), h.res_bytes()
        start = bisect.bisect_left(t, self.now - self.history_s)
        return t[start:], res[start:]

    def is_alive(self, key: ProcKey) -> bool:
        h = self._procs.get(key)
        return h is not None and h.last_seen >= self.now

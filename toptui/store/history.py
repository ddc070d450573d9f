"""Bounded per-process memory history, compact enough for thousands of processes over hours.

A full hour at one sample a second for 2000 processes would take ~130 MB as plain arrays, so each
process keeps its history in two tiers (figures in pages, CPU in tenths of a percent):

* **recent**: every sample of the last ``RECENT`` ticks as it was taken (RES, SHR, VIRT, CPU; their
  ticks are consecutive, so only the first is kept: a process missing from a snapshot has its
  recent samples summarised at once and starts a new run);
* **blocks**: older samples summarised per block of up to ``block`` consecutive ticks: RES first,
  floor (its 10% low, as the detector takes a floor: one dip is not the floor), maximum and last
  (with where the floor and maximum occurred), the last SHR and VIRT and the mean CPU.

A block loses nothing when its RES changes at most once (flat, or one step): it is expanded back
to every sample on reading. Blocks in which SHR, VIRT and CPU are constant too are made at once,
not after ``RECENT`` ticks, and a run of identical ones is merged, so an idle process costs a few
hundred bytes whatever the window (a busy one about 10 KiB for an hour at 1 s). Only RES that
moves more than once within a block is summarised: its floor and maximum (what the leak detector
looks at, and the peak) at the ticks they occurred, between its first and last values,
so the shape and the time axis stay faithful.

Times are kept once per tick for everybody (:class:`_Timeline`), not per sample. A process keeps
at most ``capacity`` ticks' worth of samples, identities that stop appearing are dropped after a
grace period, and a reused pid (another start time) is another key, so it starts afresh. Reads
copy under a lock: the sampler thread writes, the UI thread reads.
"""

from __future__ import annotations

import math
import sys
import threading
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from toptui.model import ProcKey, Snapshot

PAGE = 4096
_MAX_PAGES = 2**32 - 1
MAX_CAPACITY = 7200  # samples per process: one hour at 0.5 s, two hours at 1 s
DEFAULT_GRACE_S = 60.0  # keep an exited process's history this long (its detail view stays useful)
# How far back (ticks) a judgement postponed by the monitor's CPU budget may still read the history
# as it was (see History.pin).
PIN_TICKS = 240
RECENT = 180  # ticks kept sample by sample even when RES moves: the detector's freshest evidence
BLOCK_S = 20.0  # older samples are summarised per block of about this many seconds
# A summarised block's floor: this quantile of its RES, as the detector's block floor takes it
# (from this many samples on; below, the minimum).
_FLOOR_Q = 0.1
_FLOOR_MIN_N = 10

# The recent tier is one array of 4-tuples (RES, SHR, VIRT, CPU); a block is 9 words:
# tick of its first sample, count | exact flags | index of min | index of max,
# RES first, min, max, last, SHR last, VIRT last, CPU mean.
_R = 4
_B = 9
_RES_EXACT = 1 << 14  # RES changed at most once in the block: expanded to every sample on reading
_ALL_EXACT = 1 << 15  # ... and SHR, VIRT and CPU were constant: the whole block is exact
_COUNT = (1 << 14) - 1  # a merged run of identical exact blocks holds up to this many samples


class Sample(Protocol):
    """What the history reads of a sample: a ProcSample's fields of these names."""

    @property
    def key(self) -> ProcKey: ...
    @property
    def name(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def res(self) -> int: ...
    @property
    def shr(self) -> int: ...
    @property
    def virt(self) -> int: ...
    @property
    def swap(self) -> int: ...
    @property
    def cpu_percent(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Baseline:
    """The first sample ever seen of a process: what "change since" is measured from."""

    t: float
    res: int
    shr: int
    virt: int


@dataclass(frozen=True, slots=True)
class Series:
    """A copy of one process's history, oldest first, in seconds and bytes.

    Recent samples are all there; older ones are where a block summary put them (see the module
    docstring), so this can hold fewer points than :meth:`History.res_series`. Times are strictly
    increasing.
    """

    key: ProcKey
    name: str
    baseline: Baseline
    t: tuple[float, ...]
    res: tuple[int, ...]
    shr: tuple[int, ...]
    virt: tuple[int, ...]
    cpu: tuple[float, ...]


class ResSummary(NamedTuple):
    """What the scheduler needs to decide whether a process is worth judging, without copying."""

    samples: int  # samples taken within the window (summarised ones included)
    window_s: float  # first to last sample in the window
    lo: int  # RES low (block floors) and high in bytes, over at least the window
    hi: int
    latest: int


def capacity_for(history_s: float, interval_s: float) -> int:
    """Samples needed to cover ``history_s`` at ``interval_s``, capped to stay compact."""
    if not interval_s > 0:
        interval_s = 1.0
    ratio = history_s / interval_s
    if not ratio < MAX_CAPACITY:  # also inf and nan: ceil() would overflow
        return MAX_CAPACITY
    return max(2, math.ceil(ratio) + 1)


class _Timeline:
    """The time of each of the last ``size`` ticks, shared by every process."""

    __slots__ = ("size", "t", "tick")

    def __init__(self, size: int) -> None:
        self.size = size
        self.t = array("d", bytes(8 * size))
        self.tick = -1

    def push(self, t: float) -> int:
        self.tick += 1
        self.t[self.tick % self.size] = t
        return self.tick

    def oldest(self) -> int:
        """The oldest tick whose time is still known."""
        return max(0, self.tick - self.size + 1)

    def time(self, tick: int) -> float:
        return self.t[tick % self.size]

    def span(self, first: int, n: int) -> list[float]:
        """Times of ticks ``first`` .. ``first + n - 1`` (all known)."""
        size = self.size
        i = first % size
        if i + n <= size:
            return self.t[i : i + n].tolist()
        return self.t[i:].tolist() + self.t[: i + n - size].tolist()


class ProcHistory:
    """The two tiers of one process identity, plus its first sample as the baseline."""

    __slots__ = ("_bhi", "_blo", "_blocks", "_hold", "_last_change", "_last_res", "_last_tick",
                 "_limit", "_prev", "_recent", "_rhi", "_rlo", "_rtick", "_tl", "_vals",
                 "baseline", "block", "capacity", "last_seen", "name", "pin",
                 "samples")  # fmt: skip

    def __init__(
        self, capacity: int, name: str, baseline: Baseline, timeline: _Timeline, block: int
    ) -> None:
        self.capacity = capacity
        self.name = name
        self.baseline = baseline
        self.block = block
        self.last_seen = baseline.t
        self.samples = 0  # stored (possibly summarised) samples, before trimming to the window
        self._tl = timeline
        self._recent = array("I")
        self._rtick = 0  # tick of the first recent sample; the others follow one tick apart
        self._blocks = array("I")
        self._last_res = -1  # pages
        self._last_change = -1  # tick of the latest sample whose RES differed from the one before
        self._last_tick = -2
        self._limit = _R * 2 * block  # recent words at which to try summarising
        self._prev: Sample | None = None  # the latest sample and its stored values: the
        self._vals = (0, 0, 0, 0)  # sampler hands over the same object for an unchanged process
        # RES range (pages) of the blocks and of the recent samples, kept as they change, so the
        # scheduler's "is it quiet?" costs nothing. A value equal to the one before is not
        # added (it is already inside), and a range is recomputed when its extreme leaves.
        self._blo, self._bhi, self._rlo, self._rhi = _MAX_PAGES, -1, _MAX_PAGES, -1
        self._hold = 0  # no point trying to summarise before this tick (the oldest chunk is recent)
        # A judgement of the history as it was at this tick is still to come (-1: none): until
        # then nothing is summarised or trimmed that had not been by that tick.
        self.pin = -1

    def __len__(self) -> int:
        """Samples covering the window (summarised ones count for the samples they stand for)."""
        return min(self.samples, self.capacity)

    @property
    def nbytes(self) -> int:
        """Bytes of this history's arrays, allocation included (what grows with time)."""
        return sys.getsizeof(self._recent) + sys.getsizeof(self._blocks)

    def _values(self, p: Sample) -> tuple[int, int, int, int]:
        """RES, SHR, VIRT in pages and CPU in tenths, as stored; noted as the latest sample's."""
        # RES as the detector judges it: plus swap, so a leak pushed out to swap stays a leak.
        res, shr, virt = (p.res + p.swap) // PAGE, p.shr // PAGE, p.virt // PAGE
        cpu = int(p.cpu_percent * 10 + 0.5)
        m = _MAX_PAGES
        if not (0 <= res <= m and 0 <= shr <= m and 0 <= virt <= m and 0 <= cpu <= 65535):
            res, shr, virt = (min(m, max(0, v)) for v in (res, shr, virt))
            cpu = min(65535, max(0, cpu))
        vals = (res, shr, virt, cpu)
        self._prev, self._vals = p, vals
        return vals

    def _restart(self, tick: int) -> None:
        """A new run of consecutive ticks (the first sample, or after an absence)."""
        if self._recent:
            self._compact(tick, flush=True)
        self._rtick = tick
        self._hold = 0

    # -- writing blocks ---------------------------------------------------------------------

    def _compact(self, now_tick: int, flush: bool = False) -> None:
        """Turn the oldest recent samples into blocks: lossless ones at once, others when old.

        ``flush`` summarises every recent sample (the run of consecutive ticks has ended).
        """
        rec = self._recent
        k = self.block
        keep = min(RECENT, self.capacity)
        if self.pin >= 0:
            now_tick = min(now_tick, self.pin)
        oldest = now_tick - self.capacity + 1
        while len(rec) >= (_R if flush else _R * k):
            n = min(k, len(rec) // _R)
            t0 = self._rtick
            chunk = rec[: _R * n]
            res, shr, virt, cpu = chunk[0::_R], chunk[1::_R], chunk[2::_R], chunk[3::_R]
            first, last = res[0], res[-1]
            j = res.index(last)
            # Exact: res[:j] all first and res[j:] all last, j the first occurrence of last.
            if first == last:
                res_exact = res.count(first) == n
            else:
                res_exact = res.count(first) == j and res.count(last) == n - j
            same_rest = (
                shr.count(shr[0]) == n and virt.count(virt[0]) == n and cpu.count(cpu[0]) == n
            )
            lo, hi = min(res), max(res)
            if t0 + n - 1 < oldest:  # already out of the window
                self.samples -= n
                self._drop_recent(n, lo, hi)
                continue
            if not flush and not (res_exact and same_rest) and t0 + n + keep > now_tick + 1:
                self._hold = t0 + n + keep - 1  # recent, and summarising it would lose something
                break
            flags = (_RES_EXACT if res_exact else 0) | (
                _ALL_EXACT if res_exact and same_rest else 0
            )
            mean_cpu = (sum(cpu) + n // 2) // n
            # A summarised block keeps its floor as the detector takes it (a low quantile, not
            # the single lowest sample): one dip must not become the floor of 20 seconds.
            low = lo if res_exact or n < _FLOOR_MIN_N else sorted(res)[int(_FLOOR_Q * n)]
            self._add_block(t0, n, flags, res.index(low), res.index(hi),
                            (first, low, hi, last, shr[-1], virt[-1], mean_cpu))  # fmt: skip
            self._drop_recent(n, lo, hi)
        self._trim()

    def _drop_recent(self, n: int, lo: int, hi: int) -> None:
        rec = self._recent
        del rec[: _R * n]
        self._rtick += n
        if lo <= self._rlo or hi >= self._rhi:
            self._rlo = min(rec[0::_R], default=_MAX_PAGES)
            self._rhi = max(rec[0::_R], default=-1)

    def _add_block(
        self, t0: int, n: int, flags: int, i_lo: int, i_hi: int, vals: tuple[int, ...]
    ) -> None:
        b = self._blocks
        if (flags & _ALL_EXACT) and vals[0] == vals[3] and len(b) >= _B:
            # Merge into the previous block if it is the same flat run, contiguous.
            p = len(b) - _B
            meta = b[p + 1]
            count = meta & _COUNT
            if (
                meta & _ALL_EXACT
                and b[p + 2] == b[p + 5]
                and b[p] + count == t0
                and count + n <= _COUNT
                and tuple(b[p + 2 : p + 9]) == vals
            ):
                b[p + 1] = meta + n
                return
        b.extend((t0, n | flags | (i_lo << 16) | (i_hi << 24), *vals))
        self._blo = min(self._blo, vals[1])
        self._bhi = max(self._bhi, vals[2])

    def _trim(self) -> None:
        """Drop samples older than the capacity, so memory stays bounded."""
        now = self._tl.tick if self.pin < 0 else min(self._tl.tick, self.pin)
        oldest = now - self.capacity + 1
        b = self._blocks
        drop = 0
        while drop < len(b):
            t0, meta = b[drop], b[drop + 1]
            n = meta & _COUNT
            if t0 + n - 1 >= oldest:
                if t0 < oldest and meta & _ALL_EXACT and b[drop + 2] == b[drop + 5]:
                    cut = oldest - t0  # a flat run: shorten it from the front
                    b[drop] = oldest
                    b[drop + 1] = meta - cut
                    self.samples -= cut
                break
            self.samples -= n
            drop += _B
        if drop:
            gone_lo, gone_hi = min(b[3:drop:_B]), max(b[4:drop:_B])
            del b[:drop]
            if gone_lo <= self._blo or gone_hi >= self._bhi:
                self._blo = min(b[3::_B], default=_MAX_PAGES)
                self._bhi = max(b[4::_B], default=-1)

    # -- reading ----------------------------------------------------------------------------

    def res_points(self, lo_tick: int) -> tuple[list[float], list[int]]:
        """Times and RES (bytes) from tick ``lo_tick`` on; summarised blocks yield their points."""
        tl = self._tl
        tt, size = tl.t, tl.size
        t: list[float] = []
        res: list[int] = []
        b = self._blocks
        cols = (b[0::_B], b[1::_B], b[2::_B], b[3::_B], b[4::_B], b[5::_B])
        for t0, meta, first, lo, hi, last in zip(*cols, strict=True):  # faster than indexing
            n = meta & _COUNT
            if t0 + n <= lo_tick:
                continue
            if meta & _RES_EXACT:
                j = n if first == last else (meta >> 16 & 0xFF if last == lo else meta >> 24)
                start = lo_tick - t0 if t0 < lo_tick else 0
                t += tl.span(t0 + start, n - start)
                if start < j:
                    res += [first * PAGE] * (j - start)
                res += [last * PAGE] * (n - (j if j > start else start))
            elif t0 >= lo_tick:  # a summarised block, inlined _points (the hot case)
                i_lo, i_hi = meta >> 16 & 0xFF, meta >> 24
                if i_lo < i_hi:
                    ia, va, ic, vc = i_lo, lo, i_hi, hi
                else:
                    ia, va, ic, vc = i_hi, hi, i_lo, lo
                if ia:
                    t.append(tt[t0 % size])
                    res.append(first * PAGE)
                t.append(tt[(t0 + ia) % size])
                t.append(tt[(t0 + ic) % size])
                res.append(va * PAGE)
                res.append(vc * PAGE)
                if ic < n - 1:
                    t.append(tt[(t0 + n - 1) % size])
                    res.append(last * PAGE)
            else:
                for i, v in _points(meta, n, first, lo, hi, last):
                    if t0 + i >= lo_tick:
                        t.append(tl.time(t0 + i))
                        res.append(v * PAGE)
        rec = self._recent
        start = max(0, lo_tick - self._rtick)
        t += tl.span(self._rtick + start, len(rec) // _R - start)
        res += [p * PAGE for p in rec[_R * start :: _R]]
        return t, res

    def series(self, key: ProcKey, lo_tick: int) -> Series:
        tl = self._tl
        t: list[float] = []
        res: list[int] = []
        shr: list[int] = []
        virt: list[int] = []
        cpu: list[float] = []
        b = self._blocks
        cols = [b[i::_B] for i in range(_B)]
        for t0, meta, first, lo, hi, last, s, v, c in zip(*cols, strict=True):
            n = meta & _COUNT
            if t0 + n <= lo_tick:
                continue
            if meta & _ALL_EXACT:
                j = n if first == last else (meta >> 16 & 0xFF if last == lo else meta >> 24)
                start = lo_tick - t0 if t0 < lo_tick else 0
                t += tl.span(t0 + start, n - start)
                if start < j:
                    res += [first * PAGE] * (j - start)
                res += [last * PAGE] * (n - (j if j > start else start))
                shr += [s * PAGE] * (n - start)
                virt += [v * PAGE] * (n - start)
                cpu += [c / 10] * (n - start)
            else:
                for i, val in _points(meta, n, first, lo, hi, last):
                    if t0 + i >= lo_tick:
                        t.append(tl.time(t0 + i))
                        res.append(val * PAGE)
                        shr.append(s * PAGE)
                        virt.append(v * PAGE)
                        cpu.append(c / 10)
        rec = self._recent
        start = max(0, lo_tick - self._rtick)
        tail = rec[_R * start :]
        t += tl.span(self._rtick + start, len(tail) // _R)
        res += [p * PAGE for p in tail[0::_R]]
        shr += [p * PAGE for p in tail[1::_R]]
        virt += [p * PAGE for p in tail[2::_R]]
        cpu += [c / 10 for c in tail[3::_R]]
        return Series(key, self.name, self.baseline, tuple(t), tuple(res), tuple(shr),
                      tuple(virt), tuple(cpu))  # fmt: skip

    def summary(self, lo_tick: int) -> ResSummary:
        latest = self._last_res * PAGE
        b = self._blocks
        skipped = 0  # stored samples before the window: only the oldest block or two
        first_tick = -1
        for p in range(0, len(b), _B):
            t0, count = b[p], b[p + 1] & _COUNT
            if t0 + count - 1 >= lo_tick:
                skipped += max(0, lo_tick - t0)
                first_tick = max(t0, lo_tick)
                break
            skipped += count
        else:
            count = len(self._recent) // _R
            start = min(count, max(0, lo_tick - self._rtick))
            skipped += start
            if start < count:
                first_tick = self._rtick + start
        n = self.samples - skipped
        if first_tick < 0 or n <= 0:
            return ResSummary(0, 0.0, latest, latest, latest)
        window = self._tl.time(self._last_tick) - self._tl.time(first_tick)
        return self._ranged(n, window, first_tick)

    def _ranged(self, n: int, window: float, first_tick: int) -> ResSummary:
        """The summary of ``n`` samples over ``window`` seconds from ``first_tick``: its RES range
        from the running minima and maxima, or the latest RES if it is flat over the window."""
        latest = self._last_res * PAGE
        if self._last_change <= first_tick:  # flat over the whole window
            return ResSummary(n, window, latest, latest, latest)
        lo = min(self._blo, self._rlo, self._last_res)
        hi = max(self._bhi, self._rhi, self._last_res)
        return ResSummary(n, window, lo * PAGE, hi * PAGE, latest)

    def young(self, lo_tick: int, limit_s: float) -> ResSummary | None:
        """:meth:`summary`, when it is exactly what :meth:`res_points` from ``lo_tick`` would
        give a detector: the latest sample taken at the latest tick, every block expanded to
        all its samples (RES-exact), and fewer than 3 samples or under ``limit_s`` seconds.
        Then samples = points and window_s = last time - first time. Else None."""
        tl = self._tl
        last = self._last_tick
        if last != tl.tick:
            return None
        b = self._blocks
        if b:
            first = b[0]
            if not all(m & _RES_EXACT for m in b[1::_B]):
                return None
        else:
            first = self._rtick
        if first < lo_tick or (not self._recent and not b):
            s = self.summary(lo_tick)  # the window begins within the history: count it
            if s.samples >= 3 and not s.window_s < limit_s:
                return None
            return s
        # Nothing stored before the window: every sample is in it (summary's answer, inlined).
        n = self.samples
        tt, size = tl.t, tl.size
        window = tt[last % size] - tt[first % size]
        if n >= 3 and not window < limit_s:
            return None
        return self._ranged(n, window, first)

    def previous_t(self) -> float | None:
        """The time of the sample before the latest one, or None if there is none."""
        if len(self._recent) >= 2 * _R:
            return self._tl.time(self._last_tick - 1)
        b = self._blocks
        if not b:
            return None
        if self._tl.oldest() > b[-_B] + (b[-_B + 1] & _COUNT) - 1:
            return None
        return self._tl.time(b[-_B] + (b[-_B + 1] & _COUNT) - 1)


def _points(
    meta: int, n: int, first: int, lo: int, hi: int, last: int
) -> tuple[tuple[int, int], ...]:
    """A block's points, in time order: first, floor, maximum, last (each index once)."""
    if lo == hi:
        return ((0, first), (n - 1, last)) if n > 1 else ((0, first),)
    i_lo, i_hi = meta >> 16 & 0xFF, meta >> 24
    a, va, c, vc = (i_lo, lo, i_hi, hi) if i_lo < i_hi else (i_hi, hi, i_lo, lo)
    if a:
        return (
            ((0, first), (a, va), (c, vc), (n - 1, last))
            if c < n - 1
            else ((0, first), (a, va), (c, vc))
        )
    return ((a, va), (c, vc), (n - 1, last)) if c < n - 1 else ((a, va), (c, vc))


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
        # Block length in samples: about BLOCK_S seconds, and indices within it fit in a byte.
        self.block = max(2, min(255, round(BLOCK_S / (interval_s if interval_s > 0 else 1.0))))
        # Times are kept PIN_TICKS further back than the window: a pinned reader needs them.
        self._tl = _Timeline(self.capacity + 1 + PIN_TICKS)
        self._first = (-1, 0)  # (tick, first tick in the window) cached: the same for everybody
        self._ticks_at: tuple[int, dict[float, int | None]] = (-1, {})  # see _tick_at
        self._procs: dict[ProcKey, ProcHistory] = {}
        self._lock = threading.Lock()
        self.now = 0.0
        # Identities dropped so far (gone for longer than the grace): a reader keeping something
        # per identity need only look for what to drop when this has moved.
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._procs)

    def __contains__(self, key: object) -> bool:
        return key in self._procs

    def ingest(self, snap: Snapshot) -> None:
        """Append every process of a snapshot, then drop identities gone for longer than grace.

        A snapshot not later than the previous one is ignored: times must stay increasing.
        """
        self.ingest_samples(snap.t_mono, snap.procs)

    def ingest_samples(self, t: float, samples: Iterable[Sample]) -> None:
        """:meth:`ingest` of samples taken at ``t``: ProcSamples, or a store's lighter rows."""
        with self._lock:
            # Finite and increasing: a detector judges such times as they are.
            if not math.isfinite(t) or (self._tl.tick >= 0 and t <= self.now):
                return
            self.now = t
            tick = self._tl.push(t)
            procs = self._procs
            for p in samples:
                if p.state == "Z":
                    # A zombie has exited: its RES of 0 is no measurement of the process's
                    # memory, and as a last sample it would read as all memory freed.
                    continue
                h = procs.get(p.key)
                if h is None:
                    if len(procs) >= self.max_processes:
                        continue
                    base = Baseline(t, p.res, p.shr, p.virt)
                    h = ProcHistory(self.capacity, p.name, base, self._tl, self.block)
                    procs[p.key] = h
                # Inlined append: this runs for every process on every tick.
                vals = h._vals if p is h._prev else h._values(p)
                r = vals[0]
                if r != h._last_res:
                    h._last_res = r
                    h._last_change = tick
                    if r < h._rlo:
                        h._rlo = r
                    if r > h._rhi:
                        h._rhi = r
                if h._last_tick != tick - 1:
                    h._restart(tick)
                h._recent.extend(vals)
                h.samples += 1
                h._last_tick = tick
                h.last_seen = t
                if tick >= h._hold and len(h._recent) >= h._limit:
                    h._compact(tick)
            cutoff = t - self.grace_s
            stale = [k for k, h in procs.items() if h.last_seen < cutoff]
            for k in stale:
                del procs[k]
            self.dropped += len(stale)

    def _first_tick(self) -> int:
        """The oldest tick a reader may see: within the capacity and the window (under lock)."""
        tl = self._tl
        if self._first[0] == tl.tick:
            return self._first[1]
        a = self._first_tick_at(tl.tick)
        self._first = (tl.tick, a)
        return a

    def _first_tick_at(self, tick: int) -> int:
        """The oldest tick a reader saw when ``tick`` was the latest."""
        tl = self._tl
        since = tl.time(tick) - self.history_s
        a = max(tl.oldest(), tick - self.capacity + 1)
        z = tick + 1
        while a < z:  # the first tick at or after since (times are increasing)
            m = (a + z) // 2
            if tl.time(m) < since:
                a = m + 1
            else:
                z = m
        return a

    def _tick_at(self, t: float) -> int | None:
        """The latest tick taken at or before time ``t``, if its time is still known.

        Remembered until the next tick: the monitor pins most postponed processes at the same
        few times each tick, thousands of searches for one answer (under lock)."""
        tl = self._tl
        at_tick, known = self._ticks_at
        if at_tick != tl.tick:
            known = {}
            self._ticks_at = (tl.tick, known)
        elif t in known:
            return known[t]
        known[t] = found = self._search_tick(t)
        return found

    def _search_tick(self, t: float) -> int | None:
        tl = self._tl
        a, z = tl.oldest(), tl.tick + 1
        if z <= a or tl.time(a) > t:
            return None
        while z - a > 1:
            m = (a + z) // 2
            if tl.time(m) <= t:
                a = m
            else:
                z = m
        return a

    def pin(self, key: ProcKey, t: float) -> bool:
        """Keep ``key``'s history readable as it was at the first tick at or after time ``t``
        (see :meth:`res_series_at`), until :meth:`unpin`; False when that is no longer possible."""
        with self._lock:
            h = self._procs.get(key)
            tick = self._tick_at(t)
            if tick is not None and self._tl.time(tick) < t:
                tick += 1
            if (
                h is None
                or tick is None
                or tick > self._tl.tick
                or self._tl.tick - tick >= PIN_TICKS
            ):
                return False
            h.pin = tick
            # moved forward: summarise now what had been by that tick (a judgement of it may
            # follow before the next sample is taken)
            if h._recent and self._tl.tick >= h._hold:
                h._compact(self._tl.tick)
            return True

    def unpin(self, key: ProcKey) -> None:
        with self._lock:
            h = self._procs.get(key)
            if h is not None and h.pin >= 0:
                h.pin = -1
                h._hold = 0  # what waited for the pin is summarised at the next tick

    def res_series_at(self, key: ProcKey, t: float) -> tuple[list[float], list[int]] | None:
        """Times and RES exactly as :meth:`res_series` gave them when the sample at time ``t``
        was the latest, provided the history was pinned at or before ``t`` since then."""
        with self._lock:
            h = self._procs.get(key)
            tick = self._tick_at(t)
            if h is None or tick is None:
                return None
            times, res = h.res_points(self._first_tick_at(tick))
        k = bisect_right(times, t)
        return times[:k], res[:k]

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
            return h.series(key, self._first_tick())

    def res_series(self, key: ProcKey) -> tuple[list[float], list[int]] | None:
        """Times and RES within the window: what the growth detector judges.

        Every sample of the last ``RECENT`` ticks and of every block in which RES changed at most
        once; older stretches in which RES moved more are represented by their first, floor (10%
        low), maximum and last samples (see the module docstring). Times are strictly increasing.
        """
        with self._lock:
            h = self._procs.get(key)
            if h is None:
                return None
            return h.res_points(self._first_tick())

    def young(self, key: ProcKey, due: float, limit_s: float) -> ResSummary | None:
        """For a judgement due at ``due`` that falls on the latest sample: the window's
        :meth:`summary` when it holds fewer than 3 samples or spans under ``limit_s``, and
        :meth:`res_series` would give one point per sample (so judge's answer follows from
        the count and span alone); else None. Copies nothing: the monitor asks this of every
        young process on every tick."""
        with self._lock:
            h = self._procs.get(key)
            if h is None:
                return None
            s = h.young(self._first_tick(), limit_s)
            if s is None or s.samples == 0:
                return None
            if s.samples > 1:
                before = h.previous_t()
                if before is None or not before < due:
                    return None  # due at an earlier sample: not the latest
            return s

    def summary(self, key: ProcKey) -> ResSummary | None:
        """Sample count, window length and RES range, without copying the series."""
        with self._lock:
            h = self._procs.get(key)
            if h is None:
                return None
            return h.summary(self._first_tick())


# -- saving and restoring (the store's checkpoint, toptui.store.state_store) ---------------------


@dataclass(slots=True)
class ProcDump:
    """One process's history as kept: its two tiers' arrays and the counters that go with them."""

    key: ProcKey
    name: str
    baseline: Baseline
    block: int
    rtick: int
    last_res: int
    last_change: int
    last_tick: int
    samples: int
    last_seen: float
    recent: array
    blocks: array
    hold: int = 0  # no point trying to summarise before this tick (see ProcHistory._hold)


@dataclass(slots=True)
class HistoryDump:
    """A whole :class:`History` as kept, so a reader restores it without re-ingesting an hour."""

    history_s: float
    capacity: int
    tick: int
    first_tick: int  # the oldest tick whose time is in ``times``
    times: array  # the times of ticks first_tick .. tick
    procs: list[ProcDump]


def _dump(key: ProcKey, h: ProcHistory) -> ProcDump:
    return ProcDump(key, h.name, h.baseline, h.block, h._rtick, h._last_res, h._last_change,
                    h._last_tick, h.samples, h.last_seen, array("I", h._recent),
                    array("I", h._blocks), h._hold)  # fmt: skip


def dump_history(history: History) -> HistoryDump:
    """A consistent copy of everything ``history`` keeps (under its lock; arrays are copied)."""
    with history._lock:
        tl = history._tl
        first = tl.oldest()
        times = array("d", tl.span(first, tl.tick - first + 1)) if tl.tick >= 0 else array("d")
        procs = [_dump(k, h) for k, h in history._procs.items()]
        return HistoryDump(history.history_s, history.capacity, tl.tick, first, times, procs)


def restore_history(history: History, dump: HistoryDump, keys: set[ProcKey] | None = None) -> int:
    """Put ``dump``'s processes (only ``keys``, when given) into an empty ``history``, ticks and
    all, so that the next snapshot simply follows on; returns how many were restored.

    The history grows to the dump's capacity when that is larger (sampled at a shorter interval),
    so nothing the dump holds within ``history_s`` is dropped.
    """
    with history._lock:
        if history._tl.tick >= 0 or history._procs:
            raise ValueError("restore_history needs an empty history")
        if dump.tick < 0 or not dump.times:
            return 0
        if dump.capacity > history.capacity:
            history.capacity = min(MAX_CAPACITY, dump.capacity)
        tl = history._tl = _Timeline(history.capacity + 1 + PIN_TICKS)
        first = max(dump.first_tick, dump.tick - tl.size + 1)
        skip = first - dump.first_tick
        for i, t in enumerate(dump.times[skip:]):
            tl.t[(first + i) % tl.size] = t
        tl.tick = dump.tick
        history.now = dump.times[-1]
        history._first = (-1, 0)
        restored = 0
        for d in dump.procs:
            if keys is not None and d.key not in keys:
                continue
            if len(history._procs) >= history.max_processes:
                break
            h = ProcHistory(history.capacity, d.name, d.baseline, tl, d.block)
            h._rtick, h._last_res, h._last_change = d.rtick, d.last_res, d.last_change
            h._last_tick, h.samples, h.last_seen = d.last_tick, d.samples, d.last_seen
            h._recent, h._blocks = array("I", d.recent), array("I", d.blocks)
            h._hold = d.hold
            rec, blk = h._recent, h._blocks
            h._rlo, h._rhi = min(rec[0::_R], default=_MAX_PAGES), max(rec[0::_R], default=-1)
            h._blo, h._bhi = min(blk[3::_B], default=_MAX_PAGES), max(blk[4::_B], default=-1)
            h._trim()  # within this history's capacity and timeline
            # Recent samples older than the timeline (a smaller capacity) are out of the window.
            while h._recent and h._rtick < tl.oldest():
                n = min(len(h._recent) // _R, tl.oldest() - h._rtick)
                h.samples -= n
                h._drop_recent(n, 0, _MAX_PAGES)
            history._procs[d.key] = h
            restored += 1
        return restored

"""The core loop shared by the screen and batch mode: sample → history → analysis → Frame.

Nothing here imports Textual. The screen runs :meth:`Monitor.step` in a worker thread and posts the
resulting :class:`Frame` to the UI; batch mode calls it in a plain loop.

Judging every process on every tick would cost O(processes × history), so:

* each process is judged at most every ``judge_every_s`` seconds, staggered by pid so the work
  spreads across ticks;
* a process whose RES moved less than ``QUIET_BYTES`` over its whole window, and whose last full
  judgement was on such a window, is not judged again: the detector needs 1 MiB of growth and
  cannot find it in a quarter of that. Its verdict is kept, with the new sample count and window
  (its reasons stay those of that last judgement). The history answers the range from its
  per-block minima and maxima without copying the series. ``urgent`` keys (the process on
  screen) are always judged in full;
* a process whose window is still too short for any verdict but collecting (under
  ``growth.MIN_WINDOW_S``, or fewer than 3 samples: every process for its first 45 s, and at
  start-up every process on the machine) gets judge's collecting answer from the history's
  sample count and span (History.young), without copying its series or running the detector;
  it costs no part of the CPU budget, and processes sampled at the same ticks share one verdict;
* a verdict's ``samples`` and ``window_s`` are the samples taken within the window, whether or not
  the history has summarised older ones;
* full judgements stop for the tick once they have taken ``judge_budget_s`` of CPU; the rest stay
  due and go first next tick (oldest verdict first), so a machine full of busy processes costs a
  bounded slice of a core and each verdict is merely refreshed less often.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import os
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice, pairwise
from typing import TYPE_CHECKING, Any, Protocol

from toptui.analysis.families import FamilyJudge, FamilyVerdict
from toptui.analysis.growth import MIN_WINDOW_S, GrowthVerdict, judge, too_young
from toptui.analysis.headroom import Headroom, choose_headroom
from toptui.analysis.verdict_state import VerdictState
from toptui.engine.sources import Source, live_source
from toptui.mapping_model import CoarseSplit, ProcKinds, SmapsReading
from toptui.model import (
    CpuStates,
    MemoryStats,
    ProcKey,
    ProcSample,
    Snapshot,
    SystemStats,
    TaskCounts,
)
from toptui.store.history import History, HistoryDump, Sample, restore_history
from toptui.store.kinds import KindsHistory

if TYPE_CHECKING:
    from toptui.sampling.cgroup import CgroupReader

NO_LEAK = "no_leak"
FLAGGED = ("leak", "rising")  # verdicts whose process has its smaps read in turn (issue 17)
# Well under the detector's minimum growth (1 MiB and 1% of the process): a window whose RES range
# is below this holds nothing for it to find.
QUIET_BYTES = 256 * 1024
JUDGE_BUDGET_S = 0.010  # CPU for full detector runs per refresh (then the rest wait a tick)
# A process is judged on the first sample at least the judging period, less this share of the
# sampling interval, after the sample of its last judgement: sampling jitter must not skip a tick.
DUE_SHARE = 0.5
# A judgement postponed by the budget runs later on the history as it was at its own sample, so
# the verdicts do not depend on the machine's load; one postponed for longer than this (seconds:
# the machine cannot keep up for a minute) jumps to the present instead.
MAX_LAG_S = 60.0
# Restored processes whose judgement fell due before the first sample are spread over this many
# slots of the judging period (by pid).
RESTORE_STAGGER = 16


def _minutes(s: float) -> str:
    return f"{s / 60:.0f} min"


def collecting_verdict(t: Sequence[float], res: Sequence[float]) -> GrowthVerdict | None:
    """What :func:`~toptui.analysis.growth.judge` answers for a window too short to judge
    (fewer than 3 samples, or under ``MIN_WINDOW_S``), without running it; None otherwise.

    Why: every process starts that way, and at start-up that is every process on the machine,
    judged every period for the first ``MIN_WINDOW_S``; the detector's only work then is to say
    so. Only for a window judge would take as it is (finite, strictly increasing times, as a
    history's are): anything else goes to judge, which cleans it first. tests/test_monitor.py
    checks the answer is judge's, field for field.
    """
    n = len(t)
    if n == 0 or n != len(res):
        return None
    span = float(t[-1] - t[0])
    if n >= 3 and not span < MIN_WINDOW_S:
        return None
    if not (math.isfinite(sum(t)) and math.isfinite(sum(res))):
        return None
    if n > 1 and not all(map(operator.lt, t, t[1:])):
        return None
    return too_young(n, span)


@dataclass(frozen=True, slots=True)
class Frame:
    """What the views need for one refresh: the snapshot and every verdict known so far."""

    snapshot: Snapshot
    verdicts: dict[ProcKey, GrowthVerdict] = field(default_factory=dict)
    tick: int = 0
    # Growing families (leak or rising, inner ones too) while family judging is on, else None:
    # see Monitor.families and toptui.analysis.families.named for what to name among them.
    families: tuple[FamilyVerdict, ...] | None = None

    def leaks(self) -> list[tuple[ProcKey, GrowthVerdict]]:
        """Flagged processes still alive in this snapshot, fastest grower first."""
        alive = {p.key for p in self.snapshot.procs}
        found = [(k, v) for k, v in self.verdicts.items() if v.verdict == "leak" and k in alive]
        found.sort(key=lambda kv: kv[1].rate_bytes_per_s, reverse=True)
        return found


class KindsSource(Protocol):
    """Where the breakdown by kind comes from: sampling/smaps.py's KindsReader, or a test's."""

    def smaps(self, key: ProcKey, t: float) -> SmapsReading: ...

    def coarse(self, pid: int, t: float) -> CoarseSplit | None: ...

    def forget(self, key: ProcKey) -> None: ...


class SnapshotSink(Protocol):
    """Something that keeps every snapshot (a recording); may raise OSError when it cannot."""

    def record(self, snap: Snapshot) -> None: ...


@dataclass(slots=True)
class Preload:
    """History to start from (a store's checkpoint, see toptui.store.state_store): restored
    before the first snapshot is ingested, for the processes alive in it only.

    ``states`` are :meth:`Monitor.export_states` entries; ``tail`` gives, once asked with the first
    snapshot, the samples taken after the checkpoint, per tick (time, samples keyed as that
    snapshot's processes)."""

    history: HistoryDump
    states: dict[ProcKey, dict[str, Any]]
    tail: Callable[[Snapshot], Iterable[tuple[float, Iterable[Sample]]]] | None = None
    restored: int = 0  # filled in: processes whose history was restored
    replayed: int = 0  # filled in: snapshots of the tail ingested


_VERDICT_FIELDS = tuple(f.name for f in dataclasses.fields(GrowthVerdict))
_STATE_FIELDS = tuple(f.name for f in dataclasses.fields(VerdictState))


def _verdict_to_json(v: GrowthVerdict | None) -> dict[str, Any] | None:
    # Shallow (dataclasses.asdict deep-copies): a checkpoint exports thousands every 10 s.
    return None if v is None else {n: getattr(v, n) for n in _VERDICT_FIELDS}


def _verdict_from_json(d: dict[str, Any] | None) -> GrowthVerdict | None:
    if d is None:
        return None
    return GrowthVerdict(**{**d, "reasons": tuple(d["reasons"])})


def _state_to_json(s: VerdictState) -> dict[str, Any]:
    out = {n: getattr(s, n) for n in _STATE_FIELDS}
    out["last_leak"] = _verdict_to_json(s.last_leak)
    out["_window"] = None if s._window is None else [list(p) for p in s._window]
    return out


def _state_from_json(d: dict[str, Any]) -> VerdictState:
    d = {k: v for k, v in d.items() if k in _STATE_FIELDS}  # a later version's are ignored
    s = VerdictState(**d)
    s.last_leak = _verdict_from_json(d.get("last_leak"))
    if s.cleared is not None:
        s.cleared = (float(s.cleared[0]), str(s.cleared[1]))
    window = d.get("_window")
    s._window = None if window is None else deque((float(a), float(b)) for a, b in window)
    return s


class Monitor:
    """Owns a source, the history and the latest verdicts; call :meth:`step` once per tick."""

    def __init__(
        self,
        sampler: Source | None = None,
        history: History | None = None,
        *,
        interval_s: float = 1.0,
        history_s: float = 3600.0,
        judge_every_s: float = 5.0,
        recorder: SnapshotSink | None = None,
    ) -> None:
        if sampler is None:
            sampler = live_source()
        self.sampler = sampler
        # `is not None`: an empty History is falsy (it has a length), yet it is the caller's.
        self.history = (
            history if history is not None else History(history_s=history_s, interval_s=interval_s)
        )
        self.judge_every_s = judge_every_s
        self.interval_s = interval_s
        self.verdicts: dict[ProcKey, GrowthVerdict] = {}
        self._states: dict[ProcKey, VerdictState] = {}
        # Per identity: the sample time at which its next judgement is due (see _judge_due).
        self._due_at: dict[ProcKey, float] = {}
        self._pinned: set[ProcKey] = set()  # histories kept as of a postponed judgement's sample
        self._quiet: set[ProcKey] = set()  # last judged on a window with RES range < QUIET_BYTES
        self.judge_budget_s = JUDGE_BUDGET_S
        self.judged = 0  # full detector runs so far (the rest were quiet and refreshed)
        self.tick = 0
        self.last: Frame | None = None
        self.recorder = recorder
        # The last recording error, for the UI to show once; sampling goes on without recording.
        self.record_error: str | None = None
        # toptui's own pid when sampling live (a replay's pids are the recording's), else None.
        self.own_pid = os.getpid() if getattr(self.sampler, "live", False) else None
        self._started: float | None = None
        self._family_judge: FamilyJudge | None = None  # see "Families" below
        # Which memory grows (issue 17), read live only: see _read_kinds.
        self.kinds = KindsHistory()
        self.mappings_pids: frozenset[int] = frozenset()  # smaps read every tick (detail view)
        self.kinds_reader: KindsSource | None = None
        if self.own_pid is not None:
            from toptui.sampling.smaps import KindsReader

            self.kinds_reader = KindsReader()
        self._kinds_turn: ProcKey | None = None  # the flagged process whose smaps was read last
        # What a live process's time to OOM is counted against: its cgroup limit when tighter.
        self.cgroups: CgroupReader | None = None
        if self.own_pid is not None:
            from toptui.sampling.cgroup import CgroupReader

            self.cgroups = CgroupReader()
        self._fresh: list[ProcKey] = []  # judged in full this tick: their coarse split is due
        self._judge_deadline = 0.0  # when this tick's judging budget ends (thread CPU time)
        self._dropped = -1  # history.dropped when what goes with it was last dropped here
        self._young: dict[tuple[int, float], GrowthVerdict] = {}  # see _judge_young
        # This tick's quiet refreshes: (verdict before, samples, window) -> (before, after)
        self._refreshed: dict[tuple[int, int, float], tuple[GrowthVerdict, GrowthVerdict]] = {}
        self._interned: dict[GrowthVerdict, GrowthVerdict] = {}  # this tick's no_leak verdicts
        self._full = False  # whether the last _judge ran the detector (see collecting_verdict)
        # History to start from, restored with the first snapshot (see Preload), or what finds
        # it then (so a store is read in the sampling thread, beside the screen's start); None
        # after.
        self.preload: Preload | Callable[[], Preload | None] | None = None
        self.restored: Preload | None = None  # the preload once restored (how much it gave)
        # export_states' last entries, reused for the processes not judged since
        self._exported: dict[ProcKey, tuple[tuple[Any, ...], dict[str, Any]]] = {}

    def headroom(self, pid: int, available_bytes: float) -> Headroom:
        """The memory a live process can still take: the room under its cgroup's limit when that
        is tighter than MemAvailable, else MemAvailable (a replay has only MemAvailable)."""
        reader = self.cgroups
        limit = reader.memory(pid) if reader is not None and reader.mounts else None
        if limit is None:
            return choose_headroom(available_bytes, None)
        return choose_headroom(available_bytes, limit.room_bytes, limit.limit_bytes)

    def step(self, urgent: Iterable[ProcKey] = ()) -> Frame:
        """Take one snapshot, record it, re-judge what is due (``urgent`` keys first), return it."""
        snap = self.sampler.sample()
        if self.preload is not None:
            self._restore(snap)
        return self.ingest(snap, urgent)

    # -- a store's history to start from, and what goes into one --------------------------------

    def export_states(self) -> dict[ProcKey, dict[str, Any]]:
        """Per process: its verdict state, shown verdict and next judgement, as plain JSON, so a
        reader of the store shows the verdict without judging an hour of history again."""
        out: dict[ProcKey, dict[str, Any]] = {}
        cache, self._exported = self._exported, {}
        for key, state in list(self._states.items()):
            verdict, due = self.verdicts.get(key), self._due_at.get(key)
            mark = (state.last_t, verdict, due)  # verdicts are immutable: replaced when changed
            kept = cache.get(key)
            if kept is not None and kept[0] == mark:
                entry = kept[1]  # not judged since the last export: the same entry
            else:
                entry = {"state": _state_to_json(state), "verdict": _verdict_to_json(verdict),
                         "due_at": due, "quiet": key in self._quiet}  # fmt: skip
            out[key] = entry
            self._exported[key] = (mark, entry)
        return out

    def _restore(self, snap: Snapshot) -> None:
        """Start from the preloaded history: the processes alive in ``snap`` (same pid and start
        time) get their history, verdict state and verdict back before ``snap`` is ingested."""
        pre, self.preload = self.preload, None
        if callable(pre):
            pre = pre()
        if pre is None or self.history.keys():
            return  # already sampling: too late to start from a store
        alive = {p.key for p in snap.procs if p.state != "Z"}
        pre.restored = restore_history(self.history, pre.history, alive)
        for key, entry in pre.states.items():
            if key not in alive or key not in self.history:
                continue
            try:
                state = _state_from_json(entry["state"])
                verdict = _verdict_from_json(entry.get("verdict"))
            except (KeyError, TypeError, ValueError):
                continue  # judged afresh
            self._states[key] = state
            if verdict is not None:
                self.verdicts[key] = verdict
            due = entry.get("due_at")
            if isinstance(due, (int, float)):
                # Due while nobody sampled (the checkpoint's age): judged over the next period
                # instead of all at the first sample, staggered by pid (the verdict restored is
                # shown meanwhile), so the first frame costs what any frame does.
                stagger = (key[0] % RESTORE_STAGGER) / RESTORE_STAGGER * self.judge_every_s
                self._due_at[key] = max(float(due), snap.t_mono + stagger)
            if entry.get("quiet"):
                self._quiet.add(key)
        if pre.tail is not None:
            for t, samples in pre.tail(snap):
                if t < snap.t_mono:
                    self.history.ingest_samples(t, samples)
                    pre.replayed += 1
        self.restored = pre

    def ingest(self, snap: Snapshot, urgent: Iterable[ProcKey] = ()) -> Frame:
        """Ingest an already-taken snapshot (used by step, replays and tests), then record it
        with the memory by kind read this tick (after judging, which decides what is read)."""
        self.history.ingest(snap)
        self.tick += 1
        self._judge_due(snap, set(urgent))
        read = self._read_kinds(snap)
        if read:
            snap = replace(snap, kinds=read)
        if self.recorder is not None:
            try:
                self.recorder.record(snap)
            except OSError as exc:
                self.record_error = f"recording stopped: {exc.strerror or exc}"
                self.recorder = None
        frame = Frame(snap, dict(self.verdicts), self.tick, self._judge_families(snap))
        self.last = frame
        return frame

    # -- Which memory grows (issue 17) --------------------------------------------------------

    def _read_kinds(self, snap: Snapshot) -> dict[ProcKey, ProcKinds]:
        """The coarse split of each process judged in full this tick (so at most once per
        judging period), smaps of the ``mappings_pids`` every tick, and of one flagged process
        (leak or rising) in turn while this tick's judging budget lasts. Returns what was read
        (whole smaps readings only: a partial one's sums fall short), for the recording."""
        reader = self.kinds_reader
        fresh, self._fresh = self._fresh, []
        read: dict[ProcKey, ProcKinds] = {}
        if reader is None:
            if snap.kinds:  # a replay of a recording that kept them (format 4)
                self._recorded_kinds(snap)
            return read
        t = snap.t_mono
        for key in fresh:
            split = reader.coarse(key[0], t)
            if split is not None:
                self.kinds.coarse(key, split)
                read[key] = ProcKinds((split.anon, split.file, split.shmem))
        shown = self.mappings_pids
        if shown:
            for p in snap.procs:
                if p.pid in shown and p.state != "Z":
                    self._smaps(p.key, reader.smaps(p.key, t), read)
        if time.thread_time() >= self._judge_deadline:
            return read  # the budget went on judging: the turn waits
        verdicts = self.verdicts.items()
        flagged = [k for k, v in verdicts if v.verdict in FLAGGED and k[0] not in shown]
        if not flagged:
            return read
        # Alive in this snapshot only: an exited one's pid may already be another process's.
        alive = {p.key for p in snap.procs if p.state != "Z"}
        flagged = sorted(k for k in flagged if k in alive)
        if not flagged:
            return read
        turn = self._kinds_turn
        key = next((k for k in flagged if turn is None or k > turn), flagged[0])
        self._kinds_turn = key
        self._smaps(key, reader.smaps(key, t), read)
        return read

    def _recorded_kinds(self, snap: Snapshot) -> None:
        """What a recording kept of each kind, into the same history as a live reading (the
        detail view shows it); a recording keeps no mappings, so none grew most."""
        assert snap.kinds is not None
        t = snap.t_mono
        swap = {p.key: p.swap for p in snap.procs}
        for key, found in snap.kinds.items():
            if found.coarse is not None:
                self.kinds.coarse(key, CoarseSplit(t, *found.coarse, swap.get(key, 0)))
            if found.kinds is not None:
                self.kinds.record(key, SmapsReading(t, found.kinds))

    def _smaps(self, key: ProcKey, reading: SmapsReading, read: dict[ProcKey, ProcKinds]) -> None:
        self.kinds.record(key, reading)
        if reading.kinds is not None and not reading.reason:
            read[key] = ProcKinds(read.get(key, ProcKinds()).coarse, reading.kinds)

    # -- Families: a process and its descendants judged as one, only while switched on ----------

    @property
    def families(self) -> bool:
        """Whether families are judged (the screen's F, batch --families); see
        :mod:`toptui.analysis.families`. Switched off, their state and series are dropped."""
        return self._family_judge is not None

    @families.setter
    def families(self, on: bool) -> None:
        if not on:
            self._family_judge = None
        elif self._family_judge is None:
            self._family_judge = FamilyJudge(own_pid=self.own_pid)

    def _judge_families(self, snap: Snapshot) -> tuple[FamilyVerdict, ...] | None:
        judge_ = self._family_judge  # once: the screen may switch it off meanwhile
        if judge_ is None:
            return None
        return judge_.update(snap, self.history, self.verdicts, self.interval_s)

    # -- (end of Families) ----------------------------------------------------------------------

    def _judge_young(self, key: ProcKey, due: float) -> float | None:
        """:meth:`_judge` of a window that can only be collecting, on the latest sample, from
        the history's count and span alone (History.young: nothing copied); None when that
        does not apply (then _judge does it all). Processes seen at the same ticks (everybody
        running when toptui started) share one verdict object per tick."""
        if key[0] == self.own_pid:
            return None
        s = self.history.young(key, due, MIN_WINDOW_S)
        if s is None:
            return None
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = VerdictState()
        elif state.shown == "leak":
            return None  # the state machine follows the floor: it needs the samples
        mark = (s.samples, s.window_s)
        raw = self._young.get(mark)
        if raw is None:
            raw = self._young[mark] = too_young(s.samples, s.window_s)
        now = self.history.now
        # Not flagged, and a collecting answer: the state machine reads no samples for it.
        self.verdicts[key] = state.update(now, raw, (), ())
        if s.hi - s.lo < QUIET_BYTES:
            self._quiet.add(key)
        else:
            self._quiet.discard(key)
        return now

    def _judge(self, key: ProcKey, due: float, available: float | None) -> float | None:
        """Judge the window as it was at the first sample at or after ``due`` (seconds), and
        advance the shown state; returns that sample's time, or None if there is none.

        A window too short for any verdict but collecting gets judge's answer from
        :func:`collecting_verdict` instead: not a full judgement (not counted in ``judged``,
        no coarse split read for it, no part of the CPU budget's count)."""
        data = self.history.res_series(key)
        if data is None or not data[0]:
            return None
        t, res = data
        k = bisect_left(t, due)
        if k >= len(t):
            return None
        latest = k == len(t) - 1
        if not latest:  # postponed: the window exactly as it was at its own sample (pinned)
            then = self.history.res_series_at(key, t[k])
            t, res = then if then is not None and then[0] else (t[: k + 1], res[: k + 1])
        raw = None if key[0] == self.own_pid else collecting_verdict(t, res)
        self._full = raw is None
        if raw is None:
            if key[0] == self.own_pid:
                raw = self._judge_own(t, res, available)
            else:
                raw = judge(t, res, available_bytes=available)
            self.judged += 1
            if latest:
                self._fresh.append(key)
        if max(res) - min(res) < QUIET_BYTES:
            self._quiet.add(key)
        else:
            self._quiet.discard(key)
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = VerdictState()
        shown = state.update(t[-1], raw, t, res)
        shown = self._counted(key, shown) if latest else shown
        if shown.verdict == NO_LEAK:
            # Equal verdicts of one tick are one object, so their quiet refreshes are shared
            # (_refresh_quiet): thousands of idle processes judged alike cost one each tick.
            shown = self._interned.setdefault(shown, shown)
        self.verdicts[key] = shown
        return t[-1]

    def _judge_own(
        self, t: list[float], res: list[float], available: float | None
    ) -> GrowthVerdict:
        """toptui's own memory grows by design until its history is full (every process's ring
        fills for ``history_s``) and its screen's caches are warm; flagging itself then is noise.
        So it is judged on the samples taken after that only, like any process from then on."""
        started = self._started if self._started is not None else t[0]
        filled = started + self.history.history_s
        if t[-1] < filled:
            verdict = judge(t, res, available_bytes=available)
            if verdict.verdict != "leak":
                return verdict
            why = (
                f"toptui itself, {_minutes(t[-1] - started)} into filling its "
                f"{_minutes(self.history.history_s)} of history: growth until then is by design "
                "(bounded)"
            )
            return replace(verdict, verdict=NO_LEAK, onset_s=None, reasons=(why, *verdict.reasons))
        i = bisect_left(t, filled)
        return judge(t[i:], res[i:], available_bytes=available)

    def _counted(self, key: ProcKey, verdict: GrowthVerdict) -> GrowthVerdict:
        """The verdict with the samples taken in the window (older ones may be summarised)."""
        s = self.history.summary(key)
        if s is None or (s.samples == verdict.samples and s.window_s == verdict.window_s):
            return verdict
        return replace(verdict, samples=s.samples, window_s=s.window_s)

    def _refresh_quiet(self, key: ProcKey) -> bool:
        """Keep a quiet process's verdict without judging it again, if it is still quiet."""
        prev = self.verdicts.get(key)
        if prev is None or prev.verdict != NO_LEAK or key not in self._quiet:
            return False
        s = self.history.summary(key)
        if s is None or s.hi - s.lo >= QUIET_BYTES:
            return False
        if s.samples != prev.samples or s.window_s != prev.window_s:
            # Shared by the processes refreshed from the same verdict this tick (see _judge).
            mark = (id(prev), s.samples, s.window_s)
            done = self._refreshed.get(mark)
            if done is None or done[0] is not prev:
                done = self._refreshed[mark] = (
                    prev,
                    replace(prev, samples=s.samples, window_s=s.window_s),
                )
            self.verdicts[key] = done[1]
        return True

    def _forget(self, key: ProcKey) -> None:
        if key in self._pinned:
            self._pinned.discard(key)
            self.history.unpin(key)
        self.verdicts.pop(key, None)
        self._states.pop(key, None)
        self._due_at.pop(key, None)
        self._quiet.discard(key)
        self.kinds.forget(key)
        if self.kinds_reader is not None:
            self.kinds_reader.forget(key)

    def _judge_due(self, snap: Snapshot, urgent: set[ProcKey]) -> None:
        """Judge every process whose judgement is due, in sample-time order, within the budget.

        The schedule is a function of the samples alone: a process is first judged at its second
        sample, then at the first sample about ``judge_every_s`` (less DUE_SHARE of the interval)
        after the sample of its last judgement. What the budget postpones keeps its own sample
        time, its history is pinned (History.pin: nothing it held is summarised or trimmed), and
        it is judged later on the history as it was then (oldest first, several per process if
        need be), so
        the shown verdict for a sample is the same whatever the load; :func:`series_verdicts`
        (analyze) follows the same schedule with no budget.
        """
        now = snap.t_mono
        if self._started is None:
            self._started = now
        gap = max(0.0, self.judge_every_s - DUE_SHARE * self.interval_s)
        due_at = self._due_at
        history = self.history
        available = float(snap.system.memory.available)
        due: list[tuple[int, float, ProcKey]] = []
        for p in snap.procs:
            key = p.key
            if p.state == "Z":
                # Exited, not yet reaped: no memory to judge, and its last verdict (a leak, say)
                # must not stay on show for as long as its parent leaves it unreaped.
                self._forget(key)
                continue
            at = due_at.get(key)
            if at is None:
                # One sample is no trend, and at start-up that is every process: from the second.
                h = history.get(key)
                if h is None or len(h) < 2:
                    continue
                at = due_at[key] = now
            if at <= now:
                if now - at > MAX_LAG_S:
                    at = due_at[key] = now
                    if key in self._pinned:
                        history.unpin(key)
                        self._pinned.discard(key)
                due.append((0 if key in urgent else 1, at, key))
        due.sort(key=_URGENCY_AND_TIME)  # ties stay in the snapshot's (pid) order
        self._young.clear()  # a collecting verdict per (samples, window) of this tick
        self._refreshed.clear()
        self._interned.clear()
        clock = time.thread_time
        deadline = self._judge_deadline = clock() + self.judge_budget_s
        full = 0
        over = False  # the budget is spent: no more clock reads this tick
        pinned = self._pinned
        for urgency, at, key in due:
            free = urgency == 0  # the process on screen: one judgement beyond the budget
            while at <= now:
                if self._refresh_quiet(key):  # still no_leak, whatever sample it was due at
                    due_at[key] = now + gap
                    break
                judged_at = self._judge_young(key, at)
                if judged_at is not None:  # collecting, as judge would say: cheap, no budget
                    due_at[key] = at = judged_at + gap
                    continue
                if full and (over or clock() >= deadline):
                    # Over budget: stays due at its own sample, first in line next tick, and its
                    # history is kept as it was then (History.pin) until it has been judged. A
                    # key pinned already is pinned as of ``at`` (or could not be): left as is,
                    # so a long backlog costs little per tick.
                    over = True
                    if key not in pinned and history.pin(key, now):
                        pinned.add(key)
                    break
                judged_at = self._judge(key, at, available)
                if judged_at is None:
                    due_at.pop(key, None)
                    break
                if not self._full:
                    pass  # a young window's collecting: cheap, not counted
                elif free:
                    free = False
                else:
                    full += 1
                due_at[key] = at = judged_at + gap
                if key in pinned and at <= now:
                    history.pin(key, at)  # still behind: now as of its next due sample
            if key in pinned and due_at.get(key, now + 1) > now:
                history.unpin(key)  # caught up
                pinned.discard(key)
        # Everything kept per process goes with its history: a process postponed at its first
        # judgement and gone before it is in _due_at (and maybe pinned) alone. Every key kept
        # here was in the history once, so there is only something to drop once it dropped some.
        if history.dropped != self._dropped:
            self._dropped = history.dropped
            kept = self._states.keys() | self.verdicts.keys() | self._due_at.keys()
            alive = {p.key for p in snap.procs if p.state != "Z"}
            for key in [k for k in kept if k not in alive and k not in history]:
                self._forget(key)


_URGENCY_AND_TIME = operator.itemgetter(0, 1)


def judge_every_for(interval_s: float) -> float:
    """The judging period for a sampling interval: every sample, between 0.5 s and 5 s apart."""
    return min(5.0, max(interval_s, 0.5))


_NO_SYSTEM = SystemStats(
    uptime_s=0.0, load=(0.0, 0.0, 0.0), users=0, cpu=CpuStates(),
    memory=MemoryStats(0, 0, 0, 0, 0, 0, 0), tasks=TaskCounts(), recorded=True,
)  # fmt: skip


#: series_verdicts takes a series' sampling interval as the median of this many first gaps.
INTERVAL_GAPS = 10


def series_verdicts(
    t: Sequence[float],
    rss: Sequence[float],
    lengths: Iterable[int],
    history_s: float = 3600.0,
    available: float | None = None,
) -> dict[int, GrowthVerdict | None]:
    """The verdict the screen would show after each of ``lengths`` samples of one series.

    The series goes through the same history (and its compaction), judging schedule and state
    machine as a live process sampled at the series' own times, with no CPU budget: so the answer
    for the first N samples is the same as for a file holding only those N samples.
    """
    n = len(t)
    wanted = sorted({min(max(0, k), n) for k in lengths})
    out: dict[int, GrowthVerdict | None] = dict.fromkeys(wanted)
    if n == 0:
        return out
    # The interval from the series' first gaps only, so that it is the same for the first N
    # samples as for the whole series (it sizes the history's blocks and the judging period).
    dts = sorted(b - a for a, b in islice(pairwise(t), INTERVAL_GAPS) if b > a)
    interval = dts[len(dts) // 2] if dts else 1.0
    history = History(history_s=history_s, interval_s=interval)
    monitor = Monitor(
        _NoSource(), history, judge_every_s=judge_every_for(interval), interval_s=interval
    )
    monitor.judge_budget_s = float("inf")
    system = _NO_SYSTEM
    if available is not None:
        a = int(available)
        system = replace(_NO_SYSTEM, memory=MemoryStats(a, a, a, 0, 0, 0, 0))
    key: ProcKey = (1, 0)
    stops = iter(wanted)
    stop = next(stops, None)
    while stop == 0:
        stop = next(stops, None)
    last = float("-inf")
    for i, (ti, xi) in enumerate(zip(t, rss, strict=True)):
        if ti > last:  # as the history does: times must increase
            res = int(xi)
            proc = ProcSample(key, 1, 0, "", "", "", "S", 20, 0, 1, res, res, 0, 0.0, 0.0, 0.0,
                              0.0)  # fmt: skip
            monitor.ingest(Snapshot(float(ti), float(ti), 0.0, system, (proc,)))
            last = ti
        while stop is not None and stop == i + 1:
            out[stop] = monitor.verdicts.get(key)
            stop = next(stops, None)
    return out


class _NoSource:
    """A monitor fed with :meth:`Monitor.ingest` only."""

    live = False
    extras_for: frozenset[ProcKey] = frozenset()

    def sample(self) -> Snapshot:  # pragma: no cover - never called
        raise RuntimeError("fed by ingest")

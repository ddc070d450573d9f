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
* a verdict's ``samples`` and ``window_s`` are the samples taken within the window, whether or not
  the history has summarised older ones;
* full judgements stop for the tick once they have taken ``judge_budget_s`` of CPU; the rest stay
  due and go first next tick (oldest verdict first), so a machine full of busy processes costs a
  bounded slice of a core and each verdict is merely refreshed less often.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from toptui.analysis.growth import GrowthVerdict, judge
from toptui.history import History
from toptui.model import ProcKey, Snapshot
from toptui.sampling.sampler import Sampler

NO_LEAK = "no_leak"
# Well under the detector's minimum growth (1 MiB and 1% of the process): a window whose RES range
# is below this holds nothing for it to find.
QUIET_BYTES = 256 * 1024
JUDGE_BUDGET_S = 0.010  # CPU for full detector runs per refresh (then the rest wait a tick)


def _minutes(s: float) -> str:
    return f"{s / 60:.0f} min"


@dataclass(frozen=True, slots=True)
class Frame:
    """What the views need for one refresh: the snapshot and every verdict known so far."""

    snapshot: Snapshot
    verdicts: dict[ProcKey, GrowthVerdict] = field(default_factory=dict)
    tick: int = 0

    def leaks(self) -> list[tuple[ProcKey, GrowthVerdict]]:
        """Flagged processes still alive in this snapshot, fastest grower first."""
        alive = {p.key for p in self.snapshot.procs}
        found = [(k, v) for k, v in self.verdicts.items() if v.verdict == "leak" and k in alive]
        found.sort(key=lambda kv: kv[1].rate_bytes_per_s, reverse=True)
        return found


class SnapshotSink(Protocol):
    """Something that keeps every snapshot (a recording); may raise OSError when it cannot."""

    def record(self, snap: Snapshot) -> None: ...


class Monitor:
    """Owns a sampler, the history and the latest verdicts; call :meth:`step` once per tick."""

    def __init__(
        self,
        sampler: Sampler | None = None,
        history: History | None = None,
        *,
        interval_s: float = 1.0,
        history_s: float = 3600.0,
        judge_every_s: float = 5.0,
        recorder: SnapshotSink | None = None,
    ) -> None:
        self.sampler = sampler if sampler is not None else Sampler()
        # `is not None`: an empty History is falsy (it has a length), yet it is the caller's.
        self.history = (
            history if history is not None else History(history_s=history_s, interval_s=interval_s)
        )
        self.judge_every_s = judge_every_s
        self.verdicts: dict[ProcKey, GrowthVerdict] = {}
        self._judged_at: dict[ProcKey, float] = {}
        self._quiet: set[ProcKey] = set()  # last judged on a window with RES range < QUIET_BYTES
        self.judge_budget_s = JUDGE_BUDGET_S
        self.judged = 0  # full detector runs so far (the rest were quiet and refreshed)
        self.tick = 0
        self.last: Frame | None = None
        self.recorder = recorder
        # The last recording error, for the UI to show once; sampling goes on without recording.
        self.record_error: str | None = None
        # toptui itself, when watching this machine (not a replay): see _judge_own.
        # toptui's own pid when sampling live (a replay's pids are the recording's), else None.
        self.own_pid = os.getpid() if isinstance(self.sampler, Sampler) else None
        self._started: float | None = None

    def step(self, urgent: Iterable[ProcKey] = ()) -> Frame:
        """Take one snapshot, record it, re-judge what is due (and ``urgent`` keys), return it."""
        snap = self.sampler.sample()
        return self.ingest(snap, urgent)

    def ingest(self, snap: Snapshot, urgent: Iterable[ProcKey] = ()) -> Frame:
        """Record an already-taken snapshot (used by step, replays and tests)."""
        if self.recorder is not None:
            try:
                self.recorder.record(snap)
            except OSError as exc:
                self.record_error = f"recording stopped: {exc.strerror or exc}"
                self.recorder = None
        self.history.ingest(snap)
        self.tick += 1
        self._judge_due(snap, set(urgent))
        frame = Frame(snap, dict(self.verdicts), self.tick)
        self.last = frame
        return frame

    def _judge(self, key: ProcKey, available: float | None) -> GrowthVerdict | None:
        """Run the detector on the window; remember whether that window was quiet."""
        data = self.history.res_series(key)
        if data is None:
            return None
        t, res = data
        if key[0] == self.own_pid:
            verdict = self._judge_own(t, res, available)
        else:
            verdict = judge(t, res, available_bytes=available)
        self.judged += 1
        if res and max(res) - min(res) < QUIET_BYTES:
            self._quiet.add(key)
        else:
            self._quiet.discard(key)
        self.verdicts[key] = verdict = self._counted(key, verdict)
        return verdict

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
            self.verdicts[key] = replace(prev, samples=s.samples, window_s=s.window_s)
        return True

    def _judge_due(self, snap: Snapshot, urgent: set[ProcKey]) -> None:
        now = snap.t_mono
        if self._started is None:
            self._started = now
        every = self.judge_every_s
        judged_at = self._judged_at
        history = self.history
        available = float(snap.system.memory.available)
        alive = set()
        due: list[tuple[float, ProcKey, int]] = []
        for p in snap.procs:
            key = p.key
            if p.state == "Z":
                # Exited, not yet reaped: no memory to judge, and its last verdict (a leak, say)
                # must not stay on show for as long as its parent leaves it unreaped.
                if self.verdicts.pop(key, None) is not None:
                    judged_at.pop(key, None)
                    self._quiet.discard(key)
                continue
            alive.add(key)
            last = judged_at.get(key)
            if key in urgent:
                if self._judge(key, available) is not None:
                    judged_at[key] = now
            elif last is None:
                # Never judged: first in line (it is cheap: collecting), from its second sample
                # on; one sample is no trend, and at start-up that is every process.
                h = history.get(key)
                if h is not None and len(h) >= 2:
                    due.append((-1.0, key, p.pid))
            elif now - last >= every:
                due.append((last, key, p.pid))
        due.sort()
        clock = time.thread_time
        deadline = clock() + self.judge_budget_s
        full = 0
        for last, key, pid in due:
            if self._refresh_quiet(key):
                judged_at[key] = now
                continue
            if full and clock() > deadline:
                continue  # over budget: stays due, and is among the first next tick
            if self._judge(key, available) is None:
                continue
            full += 1
            # Offset the next judgement by pid so processes spread over the judging period.
            judged_at[key] = now - ((pid % 7) / 7.0 * every if last < 0 else 0.0)
        for key in [k for k in self.verdicts if k not in alive and k not in self.history]:
            del self.verdicts[key]
            judged_at.pop(key, None)
            self._quiet.discard(key)

"""The core loop shared by the screen and batch mode: sample → history → analysis → Frame.

Nothing here imports Textual. The screen runs :meth:`Monitor.step` in a worker thread and posts the
resulting :class:`Frame` to the UI; batch mode calls it in a plain loop. Judging every process on
every tick would cost O(processes × history); instead each process is judged at most every
``judge_every_s`` seconds (staggered by pid so the work spreads across ticks); the detector itself
returns at once for a series whose range is below the leak magnitude.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from toptui.analysis.growth import GrowthVerdict, judge
from toptui.history import History
from toptui.model import ProcKey, Snapshot
from toptui.sampling.sampler import Sampler

COLLECTING = "collecting"


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
        self.sampler = sampler or Sampler()
        self.history = history or History(history_s=history_s, interval_s=interval_s)
        self.judge_every_s = judge_every_s
        self.verdicts: dict[ProcKey, GrowthVerdict] = {}
        self._judged_at: dict[ProcKey, float] = {}
        self.tick = 0
        self.last: Frame | None = None
        self.recorder = recorder
        # The last recording error, for the UI to show once; sampling goes on without recording.
        self.record_error: str | None = None

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

    def judge_now(self, key: ProcKey) -> GrowthVerdict | None:
        """Judge one process immediately (the detail view wants a fresh verdict)."""
        data = self.history.res_series(key)
        if data is None:
            return None
        verdict = judge(*data, available_bytes=self._available())
        self.verdicts[key] = verdict
        self._judged_at[key] = self.history.now
        return verdict

    def _available(self) -> float | None:
        return float(self.last.snapshot.system.memory.available) if self.last else None

    def _judge_due(self, snap: Snapshot, urgent: set[ProcKey]) -> None:
        now = snap.t_mono
        alive = set()
        available = float(snap.system.memory.available)
        for p in snap.procs:
            key = p.key
            alive.add(key)
            last = self._judged_at.get(key)
            due = last is None or now - last >= self.judge_every_s
            if not due and key not in urgent:
                continue
            data = self.history.res_series(key)
            if data is None:
                continue
            self.verdicts[key] = judge(*data, available_bytes=available)
            # Offset the next judgement by pid so processes spread over the judging period.
            jitter = (p.pid % 7) / 7.0 * self.judge_every_s if last is None else 0.0
            self._judged_at[key] = now - jitter
        for key in [k for k in self.verdicts if k not in alive and k not in self.history]:
            del self.verdicts[key]
            self._judged_at.pop(key, None)

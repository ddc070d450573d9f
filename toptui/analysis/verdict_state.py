"""What the screen shows over time: a state machine on top of the pure detector.

The detector (:func:`toptui.analysis.growth.judge`) answers for one window of history. Judged
again a second later, on a window one sample longer, it may answer otherwise: a collection just
happened, a burst hides the floor, a leak that slowed looks like a warm-up for a while. A monitor
is read at the moment someone looks, so what it shows must not flicker. This module decides what
is *shown*, from the detector's successive answers and the memory floor itself:

``collecting``
    not enough history yet (the detector's own answer).
``no_leak``
    the detector finds no steady growth, or a flagged leak's floor has stopped rising.
``rising``
    the detector has just found steady growth, but not yet for ``CONFIRM_S`` seconds in a row
    (or on less than ``FLAG_MIN_WINDOW_S`` of history): shown quietly, like an alert that is
    pending before it fires. Not a leak: JSON names it, ``analyze --fail-on-leak`` does not fail
    on it.
``leak``
    entered when the detector has found steady growth at every judgement for ``CONFIRM_S``
    seconds. It then stays while the floor keeps rising, whatever single judgements say, and is
    cleared only when the floor has not reached a new high for ``CLEAR_S`` seconds and the
    detector has not said leak for ``CLEAR_AGREE_S`` (growth stopped), sooner on stronger
    evidence, when the detector has found no steady growth for ``DISAGREE_S`` however the floor
    creeps, when it has seen the rise slowing like a cache filling for ``SLOWING_S``, when the
    floor gave the growth back (below where it was before the flag, or falling steadily over
    2 * ``FALL_S``), or when the process exits (the caller drops its state).

The floor at time t is the 10% low of the last ``FLOOR_S`` seconds of samples: a GC collection, a
burst of short-lived allocations or noise never raises it, and retained memory does. It counts as
a new high when it exceeds the last counted high by ``RISE_FRAC`` of the least growth that counts
(max(``RISE_MIN_BYTES``, 1% of the floor)), so a few pages of wander do not hold a flag.

Everything here is a function of the samples and of the times they were taken: the same series
judged at the same sample times gives the same states, whatever the machine's load. Pure: no
clock, no Textual, no psutil.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

from toptui.analysis.growth import GrowthVerdict, fmt_duration, fmt_size

#: The detector must say "leak" at every judgement for this long before the flag is raised
#: (until then the state is "rising"). Short: the detector already demands minutes of evidence;
#: this only keeps a single judgement that tips over from flashing a flag.
CONFIRM_S = 10.0
#: Nor before this much history (seconds): in its first minute a process seen mid-way up one GC
#: cycle's ramp, before any collection, looks like a leak to the detector, and the collection
#: that follows would drop the flag (the labelled suites' GC sawtooths with cycles over 45 s).
FLAG_MIN_WINDOW_S = 60.0
#: Evidence for a flag is time the detector said "leak"; time it said otherwise takes it back at
#: this rate, so a single judgement that tips over now and then never adds up to a flag.
FORGET_RATE = 1.0
#: A flagged leak is cleared once its floor has made no new high for this long: "growth stopped".
#: Long enough for a GC runtime that collects every ~80 s and for leaks that grow in steps up to a
#: minute apart; short enough that a cache which filled in a straight line is cleared soon after
#: it levels off.
CLEAR_S = 120.0
#: Sooner when the detector has also found no steady growth for this long.
AGREE_S = 90.0
#: However the floor creeps, a flag is cleared once the detector has found no steady growth for
#: this long: a cache filling ever more slowly keeps setting small new highs for many minutes
#: while the detector sees it slowing or stopped. On the labelled suites the longest such spell
#: in a held leak (stairs a minute apart) is 168 s; this leaves a margin over it.
DISAGREE_S = 240.0
#: A flag is cleared, however the floor rises, once the detector has seen the rise slowing down
#: the way a cache fills (GrowthVerdict.slowing) at every judgement for this long: a warm-up
#: flagged on its first straight minute sets new highs all the while it fills.
SLOWING_S = 60.0
#: A flag is cleared when the detector does not say leak and the floor fell by FALL_GATES times the
#: least growth that counts in each of the last two FALL_S: memory given back steadily (the
#: falling half of an oscillation) was not kept. A GC collection is one step down, which never
#: fills both spans (nor is the rule used while the detector sees a GC sawtooth), and a leak's
#: floor under noise does not fall that far twice in a row.
FALL_S = 30.0
FALL_GATES = 2.0
#: ... and by FALL_SHARE of the rise since before the flag: noise on a large leak is not a fall.
FALL_SHARE = 0.15
#: CLEAR_S of flat floor clears a flag only once the detector has said something other than leak
#: for this long: a slow leak (a few KiB/s under noise, or stairs) can go two minutes without a
#: new high while the detector still sees its trend, and one judgement that tips over must not
#: end it. Short against CLEAR_S, so a warm-up that levelled off is still cleared about two
#: minutes after it stopped.
CLEAR_AGREE_S = 15.0
#: The floor is the lowest sample in this trailing window (seconds).
FLOOR_S = 15.0
#: A new high must add this share of the least growth that counts (max(1 MiB, 1% of the floor)):
#: a slow wander or a few pages of noise are not growth, and a leak at the least rate that counts
#: (1 KiB/s) still adds it well within CLEAR_S.
RISE_FRAC = 0.1
RISE_MIN_BYTES = 1024.0 * 1024.0
#: Memory before the growth: the floor of this many seconds before the flag (long enough to hold
#: the trough of a GC cycle of a minute or two, which a sawtooth leak never goes below). A floor
#: that falls below it by GIVE_BACK_FRAC of the least growth that counts (max(1 MiB, 1%)), gave the
#: growth back and more (the end of an oscillation's rise): it was not kept. Just back to that
#: level is not enough: a slow leak under noise gets there now and then.
REF_S = 180.0
GIVE_BACK_FRAC = 0.5  # below the level before the flag by half the least growth that counts
GIVE_BACK_MIN_BYTES = 1024.0 * 1024.0
#: The floor of a stretch of samples: this low quantile (robust to a single dip).
FLOOR_QUANTILE = 0.1


def _low(values: list[float]) -> float:
    values = sorted(values)
    return values[int(FLOOR_QUANTILE * len(values))]


@dataclass(slots=True)
class VerdictState:
    """One process identity's shown state; feed it every judgement in sample order."""

    shown: str = "collecting"
    evidence: float = 0.0  # seconds of detector "leak"s, less what later answers took back
    last_t: float | None = None  # sample time of the previous judgement
    raw_other_since: float | None = None  # since when the detector has said something else
    slowing_since: float | None = None  # since when it has seen the rise slowing like a warm-up
    last_leak: GrowthVerdict | None = None  # the detector's latest "leak" while flagged
    flagged_at: float | None = None
    high: float = float("-inf")  # the floor's last counted high (bytes) and when it was reached
    high_t: float = float("-inf")
    seen_t: float = float("-inf")  # floors are known up to this sample time
    cleared: tuple[float, str] | None = None  # when a flag was last cleared, and why
    gave_back: bool = False
    rise_step: float = 0.0
    collection: float = 0.0  # the largest drop from a peak since the last new high (bytes)
    given_back_at: float = float("-inf")  # a floor at or below this gave the growth back
    _window: deque[tuple[float, float]] | None = None  # the samples of the last FLOOR_S
    # [time, floor] over the last 2 * FALL_S while flagged (lists: the monitor's store keeps them)
    _floors: list[list[float]] | None = None

    def update(
        self, t: float, raw: GrowthVerdict, times: Sequence[float], values: Sequence[float]
    ) -> GrowthVerdict:
        """The verdict to show as of sample time ``t``, given the detector's answer ``raw`` on
        the window ending there and that window's samples (``times``/``values``)."""
        dt = 0.0 if self.last_t is None else max(0.0, t - self.last_t)
        self.last_t = t
        if raw.verdict == "leak":
            self.evidence += dt
            self.raw_other_since = None
        else:
            self.evidence = max(0.0, self.evidence - FORGET_RATE * dt)
            if self.raw_other_since is None:
                self.raw_other_since = t
        if not raw.slowing:
            self.slowing_since = None
        elif self.slowing_since is None:
            self.slowing_since = t
        if self.shown == "leak":
            self._follow_floor(times, values, t)
            if raw.verdict == "leak":
                self.last_leak = raw
            return self._held(t, raw)
        if raw.verdict != "leak":
            self.shown = raw.verdict
            if self.cleared is not None and raw.verdict == "no_leak":
                when, why = self.cleared
                note = f"a leak until {fmt_duration(t - when)} ago: {why}"
                return replace(raw, reasons=(note, *raw.reasons))
            return raw
        self.cleared = None
        if self.evidence < CONFIRM_S or raw.window_s < FLAG_MIN_WINDOW_S:
            self.shown = "rising"
            wait = max(CONFIRM_S - self.evidence, FLAG_MIN_WINDOW_S - raw.window_s)
            return replace(
                raw,
                verdict="rising",
                reasons=(f"growing: a leak if it goes on for {fmt_duration(wait)} more",
                         *raw.reasons),
            )  # fmt: skip
        self.shown = "leak"
        self.last_leak = raw
        self.flagged_at = t
        self.gave_back = False
        # where memory was before the growth: the floor of the REF_S before the flag
        k = bisect_left(times, t - REF_S)
        before = [float(v) for v in values[k:]]
        ref = _low(before) if before else 0.0
        self.given_back_at = ref - GIVE_BACK_FRAC * max(GIVE_BACK_MIN_BYTES, 0.01 * ref)
        # the floor as of the flag: the last FLOOR_S of samples
        k = bisect_left(times, t - FLOOR_S)
        recent = zip(times[k:], values[k:], strict=True)
        self._window = deque((float(a), float(b)) for a, b in recent)
        self.high = _low([v for _, v in self._window]) if self._window else float("-inf")
        self.rise_step = RISE_FRAC * max(RISE_MIN_BYTES, 0.01 * self.high)
        self.high_t = self.seen_t = t  # the flag itself is the first evidence
        self.collection = 0.0
        self._floors = [[t, self.high]]
        return raw

    def _follow_floor(self, times: Sequence[float], values: Sequence[float], t: float) -> None:
        """Advance the floor over the samples after ``seen_t``, up to ``t``: note each new high,
        and whether it fell back to where it was before the flag."""
        window, floors = self._window, self._floors
        assert window is not None and floors is not None and self.last_leak is not None
        step = self.rise_step
        n = len(times)
        start = self.seen_t
        i = n
        while i > 0 and times[i - 1] > start:
            i -= 1
        for k in range(i, n):
            tk = times[k]
            if tk > t:
                break
            window.append((tk, float(values[k])))
            while window[0][0] < tk - FLOOR_S:
                window.popleft()
            self.seen_t = tk
            floor = _low([v for _, v in window])
            if floor >= self.high + step:
                self.high, self.high_t = floor, tk
                self.collection = 0.0
            given = max(v for _, v in window) - window[-1][1]
            if given >= step / RISE_FRAC:  # at least the least growth that counts
                self.collection = max(self.collection, given)
            self.gave_back = floor <= self.given_back_at
            floors.append([tk, floor])
        k = bisect_left([p[0] for p in floors], t - 2 * FALL_S) - 1  # keep one at or before
        if k > 0:
            del floors[:k]

    def _fell(self, t: float) -> float:
        """How far the floor fell over the last 2 * FALL_S, if it fell by FALL_GATES times the least
        growth that counts in each FALL_S of it; else 0."""
        floors = self._floors
        assert floors is not None
        if floors[0][0] > t - 2 * FALL_S:
            return 0.0
        times = [p[0] for p in floors]
        mid = floors[min(len(floors) - 1, bisect_left(times, t - FALL_S))][1]
        first, last = floors[0][1], floors[-1][1]
        rise = self.high - self.given_back_at
        need = max(FALL_GATES * self.rise_step / RISE_FRAC, FALL_SHARE * rise)
        return first - last if first - mid >= need and mid - last >= need else 0.0

    def _held(self, t: float, raw: GrowthVerdict) -> GrowthVerdict:
        flat = t - self.high_t
        why = ""
        if self.gave_back and raw.verdict != "leak":
            why = "memory fell back to where it was before it grew: not kept"
        elif raw.verdict != "leak" and not self.last_leak.collections and (fell := self._fell(t)):
            why = f"floor fell {fmt_size(fell)} in {fmt_duration(2 * FALL_S)}: given back, not kept"
        elif self.slowing_since is not None and t - self.slowing_since >= SLOWING_S:
            why = (
                f"rising ever more slowly for {fmt_duration(t - self.slowing_since)}, the way a "
                "cache fills: not a leak"
            )
        elif (
            self.raw_other_since is not None
            and t - self.raw_other_since >= AGREE_S
            and flat >= AGREE_S
        ):
            why = (
                f"flat for {fmt_duration(flat)} and no steady growth for "
                f"{fmt_duration(t - self.raw_other_since)}: growth stopped"
            )
        elif self.raw_other_since is not None and t - self.raw_other_since >= DISAGREE_S:
            why = (
                f"no steady growth for {fmt_duration(t - self.raw_other_since)}, though the "
                f"floor still creeps up (last new high {fmt_duration(flat)} ago): not a leak"
            )
        elif (
            flat >= CLEAR_S
            and self.raw_other_since is not None
            and t - self.raw_other_since >= CLEAR_AGREE_S
        ):
            why = f"flat for {fmt_duration(flat)}: growth stopped (floor {fmt_size(self.high)})"
        if why:
            self.cleared = (t, why)
            self.shown = "no_leak"
            self.last_leak = None
            self.flagged_at = None
            self._window = None
            self._floors = None
            base = raw if raw.verdict == "no_leak" else replace(raw, verdict="no_leak")
            return replace(base, onset_s=None, reasons=(why, *raw.reasons))
        last = self.last_leak
        assert last is not None
        if raw.verdict == "leak":
            return raw
        ago = "just now" if flat < 1 else f"{fmt_duration(flat)} ago"
        why = f"still rising: the floor reached a new high {ago}"
        if self.collection:
            why = f"still rising after a {fmt_size(self.collection)} collection: new high {ago}"
        return replace(
            last,
            window_s=raw.window_s,
            samples=raw.samples,
            reasons=(why, f"detector alone: {'; '.join(raw.reasons[:2])}", *last.reasons),
        )

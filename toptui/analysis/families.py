"""Families (a process and all its descendants) judged as one, through the same state machine.

A ``multiprocessing`` pool whose workers each keep a little too much is a leak of the family even
when no single worker crosses the detector's bar. Family mode (the screen's ``F``, batch
``--families``) judges the summed RES of each process with its descendants
(:func:`toptui.analysis.family.family_total`) with :func:`toptui.analysis.growth.judge`, and what
is shown goes through a :class:`VerdictState` per family, keyed by its head's identity, exactly as
a process's verdict does: ``rising`` first, ``leak`` after ``CONFIRM_S`` of evidence, held while
the family's floor keeps rising, cleared when it stops.

Schedule: every family is judged at one sample (a *sweep*), the first one ``FAMILY_EVERY_S`` of
sample time (less half an interval for jitter) after the previous sweep, and on the history as it
is at that sample. So the same snapshots give the same family verdicts whatever the machine's
load. A family's state starts at the first sweep that judges it (family mode switched on, the head
got its first child), so a family leak is confirmed ``CONFIRM_S`` after that at the earliest.

Bounded: a family's state lives only while its head is alive, has children and moved enough to
be judged at the latest sweep (a family whose members' RES moved less, all together, than the
detector's least growth that counts for its size is not judged: most families are quiet). The
family series is built at the sweep, one member at a time, and kept only for the families found
growing (for the screen's sparkline) until the next sweep. Dropping the :class:`FamilyJudge`
(family mode off) drops everything.

A process without children is a *family of one*: its verdict is the monitor's own for the
process, not judged again. toptui's own process (``own_pid``) is left out of every family's sum:
its memory grows by design while its history fills, and its parent (a shell, tmux) would be
flagged for it.

:func:`named` picks what family mode names: the smallest leaking family that explains the growth.

Pure: no clock, no Textual, no psutil.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from toptui.analysis.family import family_total
from toptui.analysis.growth import (
    GATE_SLACK,
    MIN_GROWTH_BYTES,
    MIN_GROWTH_FRAC,
    GrowthVerdict,
    judge,
)
from toptui.analysis.tree import families as descendants
from toptui.analysis.verdict_state import VerdictState
from toptui.model import ProcKey, ProcSample, Snapshot

#: Families are judged every this many seconds of sample time (processes: every sample).
FAMILY_EVERY_S = 5.0
#: A sweep is due at the first sample this share of the sampling interval before its time, so
#: sampling jitter does not push it a whole interval late (as the monitor's DUE_SHARE).
DUE_SHARE = 0.5
#: An inner leaking family that grows at this share of an outer one's rate or more stands for it.
EXPLAINED_SHARE = 0.75
#: What a family may be shown as while it grows (the rest are not reported).
GROWING = ("leak", "rising")


class SeriesSource(Protocol):
    """What family judging reads of the history (:class:`toptui.store.history.History` is one)."""

    def res_series(self, key: ProcKey) -> tuple[list[float], list[int]] | None: ...

    def summary(self, key: ProcKey): ...  # a ResSummary (window_s, lo, hi), or None


@dataclass(frozen=True, slots=True)
class FamilyVerdict:
    """A growing family as shown: its head, its members, their RES now, and its verdict."""

    head: ProcKey
    name: str  # the head's
    members: tuple[ProcKey, ...]  # the family's processes: head, then the rest by pid (not toptui)
    res: int  # the members' RES summed, as of the latest snapshot (bytes)
    verdict: GrowthVerdict
    # The family's summed RES as judged at the last sweep; empty for a family of one (its series
    # is the process's own, in the history).
    times: tuple[float, ...] = ()
    total: tuple[float, ...] = ()
    # The growing families inside this one (the outermost of them) when they explain its growth:
    # without their memory, the rest of the family is no leak (noted at the sweeps; see
    # :func:`named`). Empty when they do not, or when none inside is growing.
    explained_by: tuple[ProcKey, ...] = ()

    @property
    def size(self) -> int:
        """Members besides the head (0: a family of one)."""
        return len(self.members) - 1


class FamilyJudge:
    """Every family's shown verdict, judged at sweeps ``every_s`` seconds of sample time apart.

    Feed it each snapshot after the history has ingested it and the processes' verdicts are
    updated (:meth:`update`); it returns the growing families (``leak`` or ``rising``, inner ones
    too) as of that snapshot. :func:`named` picks what to name among them.
    """

    def __init__(self, own_pid: int | None = None, every_s: float = FAMILY_EVERY_S) -> None:
        self.own_pid = own_pid
        self.every_s = every_s
        self.states: dict[ProcKey, VerdictState] = {}  # families judged at the last sweep
        self._growing: dict[ProcKey, FamilyVerdict] = {}  # of them, those shown growing
        # Family -> the growing families inside it, and the state of the rest of it (_explain).
        self._rests: dict[ProcKey, tuple[tuple[ProcKey, ...], VerdictState]] = {}
        self._due = float("-inf")
        self._last_sweep = float("-inf")  # sample time of the previous sweep
        self.sweeps = 0
        self.judged = 0  # detector runs on family totals so far

    def __len__(self) -> int:
        return len(self.states)

    def update(
        self,
        snap: Snapshot,
        history: SeriesSource,
        verdicts: dict[ProcKey, GrowthVerdict],
        interval_s: float = 1.0,
    ) -> tuple[FamilyVerdict, ...]:
        """Sweep if one is due at this snapshot; the growing families as of it, fastest first."""
        procs = [p for p in snap.procs if p.state != "Z"]  # exited: no memory, no family
        t = snap.t_mono
        if t >= self._due:
            self._sweep(procs, history, verdicts, float(snap.system.memory.available))
            self._last_sweep = t
            self._due = t + max(0.0, self.every_s - DUE_SHARE * interval_s)
        return self._current(procs, verdicts)

    def _sweep(
        self,
        procs: list[ProcSample],
        history: SeriesSource,
        verdicts: dict[ProcKey, GrowthVerdict],
        available: float,
    ) -> None:
        self.sweeps += 1
        own = self.own_pid
        names = {p.key: p.name for p in procs}
        states: dict[ProcKey, VerdictState] = {}
        rests: dict[ProcKey, tuple[tuple[ProcKey, ...], VerdictState]] = {}
        growing: dict[ProcKey, FamilyVerdict] = {}
        # Growing families found so far, from processes without children up: inner families are
        # judged before the ones around them (fewer members), so each can be explained at once.
        inner = self._alone(procs, verdicts, {})
        for head, members in sorted(
            ((h, sorted(k for k in d if k[0] != own)) for h, d in descendants(procs).items()),
            key=lambda hm: (len(hm[1]), hm[0]),
        ):
            if not members or head[0] == own:
                continue  # a family of one: the process's own verdict stands for it
            state = self.states.get(head)
            if (state is None or state.shown != "leak") and _quiet(history, head, members):
                continue  # the detector would say no_leak at a glance; a state is dropped
            head_series = history.res_series(head)
            if head_series is None or not head_series[0]:
                continue
            series = (s for s in map(history.res_series, members) if s is not None)
            times, total = family_total(head_series, series)  # one member's series at a time
            raw = judge(times, total, available_bytes=available)
            self.judged += 1
            if state is None:
                state = VerdictState()
            shown = state.update(times[-1], raw, times, total)
            states[head] = state
            fam = FamilyVerdict(head, names.get(head, ""), (head, *members), int(total[-1]),
                                shown, tuple(times), tuple(total))  # fmt: skip
            by = self._explain(fam, inner, rests, history, available)
            if shown.verdict in GROWING:
                growing[head] = replace(fam, explained_by=by) if by else fam
                inner.append(growing[head])
        self.states = states  # heads gone, childless or quiet are dropped here
        self._rests = rests
        self._growing = growing

    def _explain(
        self,
        fam: FamilyVerdict,
        inner: list[FamilyVerdict],
        rests: dict[ProcKey, tuple[tuple[ProcKey, ...], VerdictState]],
        history: SeriesSource,
        available: float,
    ) -> tuple[ProcKey, ...]:
        """The growing families inside ``fam`` (the outermost of them) if they explain its
        growth: if the rest of the family, without their memory, is no leak; else ().

        "The rest" goes through a state machine of its own, from the first sweep at which the
        same ones grow inside (judged as of the sweep before too, as the family was, so that its
        evidence counts over the same time), so it is a leak only on the same evidence as
        anything else. In its first minutes a tmux server's total can look like a leak because a
        sawtooth's rise adds to its leaker's: both grow, the rest (a holder) does not, so the
        server is explained by the two, and named only if both are leaks on their own.
        """
        head = fam.head
        inside = [f for f in inner if f.head != head and f.head in fam.members]
        if not inside:
            return ()
        within = {k for f in inside for k in f.members if k != f.head}
        growing = sorted(f.head for f in inside if f.head not in within)
        by = tuple(growing)
        prev = self._rests.get(head)
        state = prev[1] if prev is not None and prev[0] == by else None
        outer = {f.head: f for f in inside}
        series = []
        for key in by:
            f = outer[key]
            data = (f.times, f.total) if f.times else history.res_series(key)
            if data is None or not data[0]:
                return ()
            series.append((data[0], [-float(x) for x in data[1]]))
        times, values = family_total((fam.times, fam.total), series)
        if state is None:
            state = VerdictState()
            k = bisect_right(times, self._last_sweep)
            if k >= 2:
                self.judged += 1
                was = judge(times[:k], values[:k], available_bytes=available)
                state.update(times[k - 1], was, times[:k], values[:k])
        self.judged += 1
        raw = judge(times, values, available_bytes=available)
        shown = state.update(times[-1], raw, times, values)
        rests[head] = (by, state)
        return by if shown.verdict != "leak" else ()

    def _current(
        self, procs: list[ProcSample], verdicts: dict[ProcKey, GrowthVerdict]
    ) -> tuple[FamilyVerdict, ...]:
        """The last sweep's growing families whose head is alive (RES summed anew), and every
        growing process without children as a family of one."""
        by_key = {p.key: p for p in procs}
        out: list[FamilyVerdict] = []
        for head, fam in self._growing.items():
            if head not in by_key:
                continue
            res = sum(by_key[k].res for k in fam.members if k in by_key)
            out.append(fam if res == fam.res else replace(fam, res=res))
        out += self._alone(procs, verdicts, self._growing)
        out.sort(key=lambda f: (-f.verdict.rate_bytes_per_s, f.head))
        return tuple(out)

    def _alone(
        self,
        procs: list[ProcSample],
        verdicts: dict[ProcKey, GrowthVerdict],
        judged: dict[ProcKey, FamilyVerdict],
    ) -> list[FamilyVerdict]:
        """Growing processes without children (toptui's own aside), not in ``judged``: families
        of one, with the process's own verdict."""
        own = self.own_pid
        parents = {p.ppid for p in procs if p.pid != own and p.ppid != p.pid}
        by_key = {p.key: p for p in procs}
        out = []
        for key, v in verdicts.items():
            if v.verdict not in GROWING or key in judged:
                continue
            p = by_key.get(key)
            if p is None or (p.pid in parents and p.pid != own):
                continue  # has children: judged as a family at the sweeps
            out.append(FamilyVerdict(key, p.name, (key,), p.res, v))
        return out


def _quiet(history: SeriesSource, head: ProcKey, members: Sequence[ProcKey]) -> bool:
    """Whether the detector's cheap exit would certainly say no_leak of the family's total: its
    members' RES ranges over the window add up to less than the least growth that counts of the
    family (a member younger than the head counts its whole RES: it was 0 in the total before it
    started). Reads summaries only, no series: most families on a machine are quiet."""
    s = history.summary(head)
    if s is None:
        return False
    span = s.window_s
    moved, low = s.hi - s.lo, s.lo
    for key in members:
        m = history.summary(key)
        if m is None:
            continue
        if m.window_s >= span:
            moved += m.hi - m.lo
            low += m.lo
        else:
            moved += m.hi
    return moved < GATE_SLACK * max(MIN_GROWTH_BYTES, MIN_GROWTH_FRAC * low)


def named(
    found: Iterable[FamilyVerdict],
    keep: Callable[[ProcKey], bool] | None = None,
    rising: bool = False,
) -> list[FamilyVerdict]:
    """What family mode names among ``found`` (those whose head ``keep`` lets through: alive,
    and not filtered out), fastest first: the smallest leaking families that explain the growth.

    A leaking family is not named when what grows inside it explains it:

    * one leaking family inside it grows at EXPLAINED_SHARE of its rate or more: a leaker
      started from a shell in tmux leaks the shell's and the tmux server's families too, and
      "tmux: server +40" would hide which process it is;
    * or, without the growing families inside it (``explained_by``, judged at the sweeps), the
      rest of the family is no leak, and fewer than two of them are leaks on their own evidence.
      In its first minutes a tmux server's total can look like a leak much faster than its
      leaker's because a sawtooth's rise adds to it: the sawtooth is not a leak on its own, so
      the server is not named; the leaker is, once it is a leak itself.

    A pool whose workers each keep a little stays whole, as no one worker explains it; so does a
    pool whose workers leak on their own, once two of them do. Of the rest, a family inside another
    one is not named (the outer total already holds it). Two unrelated leakers of similar rates
    under one tmux still show as the tmux family: by shape alone they look like a pool of two.

    With ``rising``, families shown as ``rising`` are named too, by the same rules among
    themselves, where no leaking family is inside or around them (batch JSON lists them; the
    screen shows leaks only).
    """
    found = list(found)
    status = {f.head: f.verdict.verdict for f in found}
    fams = [f for f in found if keep is None or keep(f.head)]
    leaking = [f for f in fams if f.verdict.verdict == "leak"]
    leaks = _smallest(leaking, keep, status)
    if not rising:
        return leaks
    apart = [
        f
        for f in fams
        if f.verdict.verdict == "rising"
        and not any(_inside(f, g) or _inside(g, f) for g in leaking)
    ]
    out = leaks + _smallest(apart, keep, status)
    out.sort(key=lambda f: (-f.verdict.rate_bytes_per_s, f.head))
    return out


def _inside(f: FamilyVerdict, outer: FamilyVerdict) -> bool:
    return f.head != outer.head and f.head in outer.members


def _smallest(
    found: list[FamilyVerdict],
    keep: Callable[[ProcKey], bool] | None,
    status: dict[ProcKey, str],
) -> list[FamilyVerdict]:
    """See :func:`named`: drop the explained, then keep the outermost of the rest."""
    around = {f.head: [g for g in found if _inside(f, g)] for f in found}
    explained = {
        outer.head
        for f in found
        for outer in around[f.head]
        if f.verdict.rate_bytes_per_s >= EXPLAINED_SHARE * outer.verdict.rate_bytes_per_s
    }
    for f in found:
        by = f.explained_by
        if not by or (keep is not None and not all(map(keep, by))):
            continue  # nothing inside explains it (or the table's filters hide what does)
        if sum(status.get(k) == "leak" for k in by) < 2:  # not a pool of leakers (yet)
            explained.add(f.head)
    out = [
        f
        for f in found
        if f.head not in explained and all(o.head in explained for o in around[f.head])
    ]
    out.sort(key=lambda f: (-f.verdict.rate_bytes_per_s, f.head))
    return out

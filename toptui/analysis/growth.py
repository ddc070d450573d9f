"""Memory-growth (leak) detector: is the *floor* of a process's resident memory rising steadily?

A process that is merely large, a cache that warmed up and levelled off, a GC sawtooth whose
post-collection floor is flat, a one-off allocation, load bursts, slow oscillation, shrinking and
an idle process creeping a page at a time are not leaks. Steady growth of the memory that is never
given back is. The detector works on that floor, in seconds and bytes (never sample counts):

1. Memory that never moved by the least growth that counts is "no_leak" at once (cheap exit).
2. Time blocks (window/20, at least 2 s and one sampling interval) -> the floor of each block is
   a low quantile of its samples, robust to GC peaks, bursts, spikes and single-sample dips.
   Gaps (the machine slept, the monitor stopped) are squeezed out of the time axis first.
3. GC sawtooth: sudden drops back to the cycle's floor that are neither spikes nor dips mark
   collections; every block then takes the lowest point of the collection cycles it touches, so
   the ramp inside a cycle never counts as floor.
4. Two least-squares models of the floor: *continuing* (flat, then a ramp up to the last sample;
   its knee is the onset, kept only if it fits clearly better than one ramp from the start) and
   *stopped* (flat, ramp, flat again).
5. A leak needs all of: growth >= max(1 MiB, 1% of the base) and >= 1 KiB/s (with some slack for
   noise), growth of at least 15% of the GC swing, no flat tail that the stopped model explains
   much better (on a GC sawtooth, none within a cycle and a half of a collection that left a
   higher trough), in the first minutes no slowing-down curve (a cache filling), a monotone
   trend after the onset (Mann-Kendall on the floors, or on the raw samples deflated for
   autocorrelation), and the floor at a new high.

``judge`` is pure (standard library, no clock), O(n) over the samples plus O(blocks^2) statistics
on at most ~20 block floors (plus a Mann-Kendall test on at most 120 raw samples, in
O(n log n), only when the floors show no trend), and never raises. docs/detector.md has the
measured scores.
"""

import math
import operator
import statistics
from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, compress, pairwise, repeat
from typing import Literal, NamedTuple

#: "rising" is never the detector's own answer: the verdict state machine
#: (toptui.analysis.verdict_state) shows it while fresh growth is not yet confirmed.
Verdict = Literal["leak", "no_leak", "collecting", "rising"]

KIB = 1024.0
MIB = 1024.0 * KIB
GIB = 1024.0 * MIB

#: Least history (seconds) before any verdict other than "collecting".
MIN_WINDOW_S: float = 45.0

# What counts as a leak (the label rule): at least max(1 MiB, 1% of the base) and 1 KiB/s.
MIN_GROWTH_BYTES = 1.0 * MIB
MIN_GROWTH_FRAC = 0.01
MIN_RATE = 1.0 * KIB
# Measured growth may fall short of the truth (floor noise); accept 60% of the minimum. An idle
# process creeping a page at a time stays far below even that.
GATE_SLACK = 0.6

# Blocks: about 20 per window, each at least 2 s and one sampling interval; need 6 to judge.
N_BLOCKS = 20
MIN_BLOCK_S = 2.0
MIN_BLOCKS = 6
# Floor of a block: this quantile of its samples (the minimum for blocks under 10 samples).
FLOOR_QUANTILE = 0.1

# Gaps longer than this (and than 5 typical intervals) are taken out: a gap is not growth.
GAP_MIN_S = 30.0
GAP_FACTOR = 5.0
# The level change across a gap: floors of this many block widths of samples on each side.
GAP_REACH = 1.0

# GC collections: a drop 6x the typical movement, back to the floor of the cycle it ends, that is
# not the end of a spike (risen within 3 s before) nor a dip (recovered within 3 s after); cycles
# over 1.5x the median cycle are ignored.
DROP_K = 6.0
SPIKE_S = 3.0
SPIKE_FRAC = 0.5
CYCLE_MULT = 1.5
# With GC swings, the floor must rise by at least this share of a swing.
SWING_FRAC = 0.15

# Trend after the onset: one-sided Mann-Kendall z (about p < 0.01). Without GC cycles the raw
# samples are tested too (30 to 120 of them), their z deflated for autocorrelation.
Z_MIN = 2.3
RAW_TREND_MIN = 30
RAW_TREND_MAX = 120
# Onset: a knee (flat, then ramp) must fit better than one ramp from the first block by this many
# robust residual variances; otherwise noise would pick a late knee and hide a steady leak.
ONSET_PENALTY = 2.0
# Warm-up: in windows up to WARMUP_WINDOW_S, growth whose end rate is under DECEL_RATIO of its mean
# rate, with a curvature t-statistic under -DECEL_T, is slowing down the way a cache fills.
WARMUP_WINDOW_S = 200.0
DECEL_RATIO = 0.8
DECEL_T = 3.0
# Past WARMUP_WINDOW_S only a plainer slowing-down counts (end rate under 60% of the mean, t under
# -5): a cache filling on a log or exponential curve keeps slowing for many minutes and would be
# flagged all that time, while a leak that slows by 40% or starts fast and then leaks steadily
# stays above these bounds (tests/test_verdict_state.py).
DECEL_RATIO_LONG = 0.6
DECEL_T_LONG = 5.0
# ... and only while it is still slowing: the last third of the growth rising at under LATE_RATIO
# of the middle third's rate (each third at least THIRD_MIN_BLOCKS floors).
LATE_RATIO = 0.85
THIRD_MIN_BLOCKS = 3
# The floor must end above every floor before the onset by 30% of its rise (a new high).
NEW_HIGH_FRAC = 0.3
# Stopped: a flat tail at least 20% of the window (shorter for a quick step: as long as the step
# took, and at least 30 s; never more than 3 minutes, so an hour of history does not keep a leak
# that has stopped on the screen for 12), rising less than 30% of what continued growth would
# have added, and fitting much better than continued growth (drop in squared error >= 9 robust
# variances).
TAIL_FRAC = 0.2
STEP_MULT = 1.0
STEP_MIN_S = 30.0
TAIL_RISE = 0.3
STOP_K = 9.0
STOP_ABS_S = 180.0
# On a GC sawtooth with at least STOP_DROPS collections, growth is not stopped within STOP_CYCLES
# cycles (at most STOP_ABS_S) of the last collection that left a trough TROUGH_RISE least growths
# above the one before it.
STOP_DROPS = 3
STOP_CYCLES = 1.5
TROUGH_RISE = 0.5
# A robust spread: the median absolute deviation times this estimates a normal standard deviation.
MAD_TO_SIGMA = 1.4826
# Lag-1 autocorrelation is capped here when deflating a trend's z (higher would erase any trend).
RHO_MAX = 0.95


@dataclass(frozen=True, slots=True)
class GrowthVerdict:
    """The detector's answer for one process, with the numbers and words behind it."""

    verdict: Verdict
    rate_bytes_per_s: float  # robust growth rate of the memory floor (0.0 when not growing)
    growth_bytes: float  # floor growth over the judged window (may be negative)
    window_s: float  # time span judged (last t - first t)
    samples: int  # number of samples judged
    confidence: float  # 0..1
    onset_s: float | None  # onset of growth, seconds from the first sample; None if no leak
    need_s: float  # when collecting: seconds of further history still needed; else 0.0
    reasons: tuple[str, ...]  # plain words and numbers
    slowing: bool = False  # no_leak because the rise slows down the way a cache fills
    collections: int = 0  # GC collections seen in the window, when judged as a sawtooth


# ----------------------------------------------------------------------------- formatting


def _size(b: float) -> str:
    a = abs(b)
    sign = "-" if b < 0 else ""
    if a >= GIB:
        return f"{sign}{a / GIB:.2f} GiB"
    if a >= MIB:
        return f"{sign}{a / MIB:.1f} MiB"
    if a >= KIB:
        return f"{sign}{a / KIB:.0f} KiB"
    return f"{sign}{a:.0f} B"  # a creep of 200 B/s is not "+0 KiB/s"


def _delta(b: float) -> str:
    return f"{'+' if b >= 0 else ''}{_size(b)}"


def _rate(bps: float) -> str:
    return f"{_delta(bps)}/s"


def _dur(s: float) -> str:
    s = max(0.0, s)
    if s < 10:
        return f"{s:.1f}s".replace(".0s", "s")
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"


fmt_size = _size
fmt_duration = _dur


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


# ----------------------------------------------------------------------------- preparation


def _clean(times: Sequence[float], rss: Sequence[float]) -> tuple[list[float], list[float]]:
    """Float lists with strictly increasing finite times and finite sizes (fast path if clean)."""
    t = list(times)
    x = list(rss)
    if len(t) != len(x):
        k = min(len(t), len(x))
        t, x = t[:k], x[:k]
    try:
        # a non-finite value makes the sum non-finite; sum() is far cheaper than a check per item
        if math.isfinite(sum(t)) and math.isfinite(sum(x)) and all(map(operator.lt, t, t[1:])):
            return t, x
    except (TypeError, ValueError, OverflowError):
        pass
    tt: list[float] = []
    xx: list[float] = []
    last = -math.inf
    for a, b in zip(t, x, strict=True):
        try:
            fa, fb = float(a), float(b)
        except (TypeError, ValueError, OverflowError):
            continue
        if math.isfinite(fa) and math.isfinite(fb) and fa > last:
            tt.append(fa)
            xx.append(fb)
            last = fa
    return tt, xx


def _low(values: list[float]) -> float:
    """The block floor statistic: a low quantile, the minimum below 10 values."""
    k = int(FLOOR_QUANTILE * len(values))
    return sorted(values)[k] if k else min(values)


def _squeeze_gaps(t: list[float]) -> tuple[list[float], float, list[int]]:
    """(times, origin, gaps): every long gap cut to one typical interval; gaps are the indices of
    the first sample after each cut.

    The gap does not count as time over which the floor could have risen. Without gaps, or when
    the stretches between them are too short to judge on their own (short runs far apart are
    how that series was sampled), the input list is returned (no copy) and no gaps.
    """
    if max(map(operator.sub, t[1:], t[:-1])) <= GAP_MIN_S:
        return t, t[0], []
    dts = list(map(operator.sub, t[1:], t[:-1]))
    typ = statistics.median(dts)
    thr = max(GAP_MIN_S, GAP_FACTOR * typ)
    gaps = [i + 1 for i, d in enumerate(dts) if d > thr]
    stretches = [t[b - 1] - t[a] for a, b in pairwise([0, *gaps, len(t)])]
    if len(gaps) >= 3 and statistics.median(stretches) < MIN_WINDOW_S:
        return t, t[0], []  # short runs far apart (say 10 samples an hour): that is the sampling
    return [0.0, *accumulate(d if d <= thr else typ for d in dts)], 0.0, gaps


def _close_gaps(
    u: list[float], x: list[float], gaps: list[int], reach: float
) -> tuple[list[float], float]:
    """(sizes, total rise): each step up across a gap taken out of the samples after it.

    Why: across a gap nobody saw when memory moved. In the live monitor a gap means toptui was
    stopped while the process ran on (the monotonic clock skips a machine's sleep), so a leak
    shows a step there and then a flat-looking tail; counted as a step, that reads as "growth
    stopped". Taken out, each stretch is judged on the growth seen within it; a step that
    happened during the gap (a warm-up that finished) leaves two flat stretches, not a leak.
    The step taken out is how far the floor (low quantile) of the samples after the gap lies above
    every sample before it (``reach`` seconds on each side): noise, a GC cycle's phase and a drop
    are not steps, and a leak keeps the growth seen on each side.
    """
    bounds = [0, *gaps, len(x)]
    out: list[float] = x[: bounds[1]]
    total = 0.0
    for a, g, b in zip(bounds, bounds[1:], bounds[2:], strict=False):
        i = bisect_left(u, u[g - 1] - reach, a, g - 1)
        j = bisect_right(u, u[g] + reach, g + 1, b)
        total += max(0.0, _low(x[g:j]) - max(x[i:g]))  # both sides share earlier shifts
        out.extend([v - total for v in x[g:b]] if total else x[g:b])
    return out, total


def _block_floors(
    u: list[float], origin: float, x: list[float], nb: int, width: float
) -> tuple[list[float], list[float], list[int]]:
    """Per time block: centre (seconds from origin), floor (low quantile), first sample index."""
    taus: list[float] = []
    floors: list[float] = []
    starts: list[int] = []
    n = len(x)
    start = 0
    for k in range(1, nb + 1):
        end = bisect_left(u, origin + k * width, start) if k < nb else n
        c = end - start
        if c > 0:
            floors.append(_low(x[start:end]))
            taus.append((k - 0.5) * width)
            starts.append(start)
        start = end
    return taus, floors, starts


class _Cycles(NamedTuple):
    """GC cycles: the median length of the complete ones, and each cycle's start (seconds from
    the first sample) and trough (inf for a cycle too long to count)."""

    length: float
    starts: list[float]
    troughs: list[float]


def _gc_floors(
    u: list[float], x: list[float], floors: list[float], starts: list[int], typ_dt: float
) -> tuple[list[float], float, int, _Cycles | None]:
    """Block floors lowered to the trough of every GC cycle they touch; (floors, swing, drops,
    the cycles: None without two collections).

    Why: with collections rarer than blocks, a block inside a cycle holds only ramp, and its
    minimum says nothing about what is retained. The trough after each collection does.
    """
    n = len(x)
    diffs = list(map(operator.sub, x[1:], x[:-1]))
    if not diffs:
        return floors, 0.0, 0, None
    obs = u[-1] - u[0]
    # typical movement per sample or per second, whichever is larger (so that repeated samples
    # at a fast rate do not make ordinary noise look like collections)
    thr = DROP_K * sum(map(abs, diffs)) / max(1.0, min(len(diffs), obs))
    if min(diffs) >= -thr:
        return floors, 0.0, 0, None
    look = max(1, round(SPIKE_S / typ_dt))
    cuts: list[int] = []
    swings: list[float] = []
    for i in compress(range(len(diffs)), map(operator.lt, diffs, repeat(-thr))):
        d = -diffs[i]
        risen = x[i] - min(x[max(0, i - look) : i + 1])  # a spike rises just before
        rebound = max(x[i + 1 : i + 2 + look]) - x[i + 1]  # a dip recovers just after
        if risen < SPIKE_FRAC * d and rebound < SPIKE_FRAC * d:
            # a collection returns to the floor of the cycle it ends; the end of a long spike on
            # a growing series only returns to the current level, far above that floor
            if x[i + 1] - min(x[cuts[-1] if cuts else 0 : i + 1]) >= SPIKE_FRAC * d:
                continue
            cuts.append(i + 1)
            swings.append(d)
    if len(cuts) < 2:
        return floors, 0.0, len(cuts), None
    bounds = [0, *cuts, n]
    lens = [u[b - 1] - u[a] for a, b in pairwise(bounds)]
    cycle = statistics.median(lens[1:-1])
    longest = CYCLE_MULT * cycle
    troughs = [
        min(x[a:b]) if ln <= longest else math.inf
        for (a, b), ln in zip(pairwise(bounds), lens, strict=True)
    ]
    # before the first collection we see only part of a ramp: its floor is at most the next trough
    troughs[0] = min(troughs[0], troughs[1])
    out: list[float] = []
    ends = [*starts[1:], n]
    c = 0
    for f, a, b in zip(floors, starts, ends, strict=True):
        while c + 1 < len(troughs) and bounds[c + 1] <= a:
            c += 1
        j = c
        while j < len(troughs) and bounds[j] < b:
            f = min(f, troughs[j])
            j += 1
        out.append(f)
    starts_s = [u[b] - u[0] for b in bounds[:-1]]
    return out, statistics.median(swings), len(cuts), _Cycles(cycle, starts_s, troughs)


# ----------------------------------------------------------------------------- statistics


class Fit(NamedTuple):
    """A flat-ramp-flat least-squares fit of the floors (in gates, over shares of the time)."""

    sse: float  # squared error
    start: int  # the ramp runs from block ``start`` ...
    end: int  # ... to block ``end`` (the last block: still rising at the end)
    level: float  # the flat level before the ramp
    rise: float  # how much the ramp adds


def _fit_ramps(ts: list[float], ys: list[float]) -> tuple[Fit, Fit]:
    """Least-squares flat-ramp-flat fits of ys(ts): (best overall, best ending in a ramp).

    The ramp runs from ts[i] to ts[j]; the second fit has j = last (growth continuing to the
    end). One O(m^2) pass with prefix sums.
    """
    m = len(ys)
    p_t = [0.0, *accumulate(ts)]
    p_tt = [0.0, *accumulate(v * v for v in ts)]
    p_y = [0.0, *accumulate(ys)]
    p_ty = [0.0, *accumulate(map(operator.mul, ts, ys))]
    sy = p_y[m]
    syy = math.fsum(y * y for y in ys)
    best = (math.inf, 0, m - 1, 0.0, 0.0)  # plain tuples in the O(m^2) loop: cheaper
    cont = best
    for j in range(1, m):
        tj = ts[j]
        n_after = m - j
        y_after = sy - p_y[j]
        row = (math.inf, 0, j, 0.0, 0.0)
        for i in range(j):
            ti = ts[i]
            span = tj - ti
            n_in = j - i - 1
            st = p_t[j] - p_t[i + 1]
            stt = p_tt[j] - p_tt[i + 1]
            sy_in = p_y[j] - p_y[i + 1]
            sty = p_ty[j] - p_ty[i + 1]
            sg = (st - n_in * ti) / span + n_after
            sgg = (stt - 2 * ti * st + n_in * ti * ti) / (span * span) + n_after
            sgy = (sty - ti * sy_in) / span + y_after
            det = m * sgg - sg * sg
            if det <= 1e-12:
                continue
            rise = (m * sgy - sg * sy) / det
            level = (sy - rise * sg) / m
            sse = syy - level * sy - rise * sgy
            if sse < row[0]:
                row = (sse, i, j, level, rise)
        if row[0] < best[0]:
            best = row
        if j == m - 1:
            cont = row
    return Fit(*best), Fit(*cont)


def _theil_sen(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Median of pairwise slopes: a line fit that a few outliers cannot move."""
    n = len(xs)
    slopes = [
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(n)
        for j in range(i + 1, n)
        if xs[j] > xs[i]
    ]
    return statistics.median(slopes) if slopes else 0.0


def _mann_kendall(ys: Sequence[float]) -> tuple[float, float]:
    """(z, share of later-above-earlier pairs): how monotone the floor is, without a model.

    Counted in O(n log n): for each value, how many earlier values lie below and above it.
    """
    n = len(ys)
    if n < 3:
        return 0.0, 0.0
    seen: list[float] = []
    up = down = 0
    for y in ys:
        below = bisect_left(seen, y)
        up += below
        down += len(seen) - bisect_right(seen, y, below)
        insort(seen, y, below)
    s = up - down
    var = n * (n - 1) * (2 * n + 5) / 18.0
    z = (s - 1) / math.sqrt(var) if s > 0 else (s + 1) / math.sqrt(var) if s < 0 else 0.0
    return z, up / (n * (n - 1) / 2)


def _line_residuals(
    ts: Sequence[float], ys: Sequence[float]
) -> tuple[float, float, float, float, list[float]]:
    """Least-squares line: (sse, value at ts[0], rise to ts[-1], robust variance, residuals)."""
    mt = statistics.fmean(ts)
    my = statistics.fmean(ys)
    sxx = math.fsum((a - mt) ** 2 for a in ts)
    b = math.fsum((a - mt) * (y - my) for a, y in zip(ts, ys, strict=True)) / sxx if sxx else 0.0
    a0 = my - b * mt
    res = [y - a0 - b * a for a, y in zip(ts, ys, strict=True)]
    sse = math.fsum(r * r for r in res)
    var = (MAD_TO_SIGMA * statistics.median(map(abs, res))) ** 2
    return sse, a0 + b * ts[0], b * (ts[-1] - ts[0]), max(var, 1e-12), res


def _curvature(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """(end slope / mean slope, t-statistic of the curvature) of a quadratic fit of ys(xs).

    A cache filling up rises ever more slowly (ratio well under 1, clearly negative curvature);
    a leak keeps its pace or speeds up.
    """
    n = len(xs)
    span = (xs[-1] - xs[0]) or 1.0
    u = [(v - xs[0]) / span for v in xs]
    p = [float(n), math.fsum(u), math.fsum(v**2 for v in u), math.fsum(v**3 for v in u)]
    p.append(math.fsum(v**4 for v in u))
    m = [[p[0], p[1], p[2]], [p[1], p[2], p[3]], [p[2], p[3], p[4]]]
    rhs = [math.fsum(ys), math.fsum(map(operator.mul, u, ys))]
    rhs.append(math.fsum(v * v * y for v, y in zip(u, ys, strict=True)))

    def det(a: list[list[float]]) -> float:
        return (
            a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        )

    d = det(m)
    if n < 6 or abs(d) < 1e-12:
        return 1.0, 0.0
    c0, c1, c2 = (
        det([[rhs[r] if k == col else m[r][k] for k in range(3)] for r in range(3)]) / d
        for col in range(3)
    )
    sse = math.fsum((y - c0 - c1 * v - c2 * v * v) ** 2 for v, y in zip(u, ys, strict=True))
    var_c2 = sse / (n - 3) * (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / d
    t = c2 / math.sqrt(var_c2) if var_c2 > 0 else math.copysign(math.inf, c2) if c2 else 0.0
    mean_slope = c1 + c2
    return ((c1 + 2.0 * c2) / mean_slope if mean_slope > 0 else 1.0), t


def _raw_trend_z(ts: Sequence[float], xs: Sequence[float]) -> float:
    """Mann-Kendall z of the raw samples, deflated for lag-1 autocorrelation.

    Block floors throw away most samples; under heavy white noise a steady leak shows in the
    samples long before it shows in 20 floors. A slow wander is autocorrelated: the deflation by
    sqrt((1 + rho) / (1 - rho)) keeps it from passing as a trend.
    """
    n = len(xs)
    if n < RAW_TREND_MIN:
        return 0.0
    if n > RAW_TREND_MAX:
        step = n / RAW_TREND_MAX
        pick = [int(i * step) for i in range(RAW_TREND_MAX)]
        ts, xs, n = [ts[i] for i in pick], [xs[i] for i in pick], RAW_TREND_MAX
    z, _ = _mann_kendall(xs)
    if z <= 0:
        return z
    _, _, _, _, dev = _line_residuals(ts, xs)
    den = math.fsum(v * v for v in dev)
    if den <= 0:
        return z
    rho = min(RHO_MAX, max(0.0, math.fsum(map(operator.mul, dev, dev[1:])) / den))
    return z / math.sqrt((1.0 + rho) / (1.0 - rho))


# ----------------------------------------------------------------------------- the verdict


def judge(
    times: Sequence[float], rss: Sequence[float], *, available_bytes: float | None = None
) -> GrowthVerdict:
    """Judge one process: ``times`` in seconds (any origin, increasing), ``rss`` in bytes.

    Never raises: unusable input gives "collecting" or a "no_leak" with the reason.
    """
    try:
        return _judge(times, rss, available_bytes)
    except (ArithmeticError, ValueError, TypeError, IndexError) as exc:  # pragma: no cover
        return GrowthVerdict(
            verdict="no_leak", rate_bytes_per_s=0.0, growth_bytes=0.0, window_s=0.0, samples=0,
            confidence=0.0, onset_s=None, need_s=0.0, reasons=(f"could not judge: {exc!r}",),
        )  # fmt: skip


def _judge(
    times: Sequence[float], rss: Sequence[float], available_bytes: float | None
) -> GrowthVerdict:
    """The stages in order; each may answer early (see the module docstring for why)."""
    w = _window(times, rss)
    if isinstance(w, GrowthVerdict):
        return w
    f = _floors(w)
    if isinstance(f, GrowthVerdict):
        return f
    m = _model(w, f)
    rejected = _not_growing_enough(w, f, m) or _stopped(w, f, m) or _warm_up(w, m)
    if rejected is not None:
        return rejected
    z, steady = _trend(w, f, m)
    rejected = _no_trend(m, z, steady) or _no_new_high(f, m)
    if rejected is not None:
        return rejected
    return _leak(w, f, m, z, steady, available_bytes)


# Confidence of each answer: how sure a rule is when it decides (shown in the detail view).
CONF_QUIET = 0.95  # memory never moved by the least growth that counts
CONF_NOT_RISING = 0.9  # the floor's median rate is not positive
CONF_SMALL_MAX = 0.95  # grew less than the least that counts: 1 - half the share grown, up to this
CONF_SLOW = 0.8  # slower than the least rate that counts
CONF_SWING = 0.8  # small against the GC swings
CONF_STOPPED = 0.8  # growth stopped and stayed flat
CONF_WARM_UP = 0.6  # slowing down like a cache filling (it may still be a slowing leak)
CONF_OLD_HIGH = 0.7  # only back near an earlier high
# No steady trend: from CONF_TREND_LOW (z just under Z_MIN) up to CONF_TREND_HIGH (z at 0 or less).
CONF_TREND_LOW = 0.5
CONF_TREND_HIGH = 0.9
# A leak: P(trend) times how far past the least growth that counts, full at four times it.
CONF_LEAK_BASE = 0.5
CONF_LEAK_FULL_GATES = 4.0
# The base size (for the least growth that counts): median floor of the first share of blocks.
BASE_SHARE = 0.15
BASE_MIN_BLOCKS = 2
# A flat tail must be at least this many block widths long to say "stopped".
STOP_MIN_WIDTHS = 2.0


@dataclass(slots=True)
class _Window:
    """The samples to judge: cleaned, long gaps squeezed out of the time axis and closed."""

    t: list[float]  # sample times as given (cleaned)
    x: list[float]  # sizes, less any step across a gap
    n: int
    span: float  # last minus first time
    u: list[float]  # times with long gaps cut to one interval
    origin: float
    obs: float  # time observed (span less the gaps)
    typ_dt: float
    width: float  # block width (seconds of observed time)
    nb: int  # blocks
    jumped: float  # the rise taken out across gaps
    gap_note: str


@dataclass(slots=True)
class _Floors:
    """The memory floor per time block (GC troughs taken where there are collections)."""

    taus: list[float]  # block centres, seconds from the origin
    floors: list[float]
    starts: list[int]  # first sample index of each block
    swing: float  # median GC swing (0 without collections)
    drops: int  # collections seen
    cycles: _Cycles | None  # the GC cycles (None without two collections)


@dataclass(slots=True)
class _Model:
    """The floor's growth: the fitted ramps, the onset and the rate after it."""

    gate: float  # the least growth that counts, for this process
    ref: float  # the first floor: ys are measured from it, in gates
    ys: list[float]
    ts: list[float]  # block centres as a share of the observed time
    best: Fit  # the best flat-ramp-flat fit (may end flat)
    cont: Fit  # the best fit that is still rising at the end
    onset_obs: float  # observed seconds before the growth began (0 from the start)
    grew_for: float
    growth: float  # bytes, the continuing ramp extended to the window's edges
    post_t: list[float]  # the block centres and floors after the onset
    post_f: list[float]
    slope: float  # robust rate of the floor after the onset (may be negative)
    rate: float  # the same, at least 0
    risen: str  # the words for what the floor did
    sawtooth: str  # the words for the GC cycles ("" without)
    span: float
    n: int
    gap_note: str

    def no(
        self, confidence: float, *why: str, rate: float | None = None, slowing: bool = False
    ) -> GrowthVerdict:
        """A no_leak answer with these words (and the sawtooth and gap notes)."""
        words = tuple(w for w in (*why, self.sawtooth, self.gap_note) if w)
        return GrowthVerdict(
            verdict="no_leak", rate_bytes_per_s=self.rate if rate is None else rate,
            growth_bytes=self.growth, window_s=self.span, samples=self.n, confidence=confidence,
            onset_s=None, need_s=0.0, reasons=words, slowing=slowing,
        )  # fmt: skip


def _collecting(span: float, n: int, need: float, why: str) -> GrowthVerdict:
    return GrowthVerdict(
        verdict="collecting", rate_bytes_per_s=0.0, growth_bytes=0.0, window_s=span, samples=n,
        confidence=0.0, onset_s=None, need_s=max(1.0, need), reasons=(why,),
    )  # fmt: skip


def too_young(n: int, span: float) -> GrowthVerdict:
    """The answer for ``n`` clean samples over ``span`` seconds when that is too little to judge
    (fewer than 3, or under ``MIN_WINDOW_S``): collecting, and how much longer. Public so that
    the monitor answers its youngest processes without copying their series into :func:`judge`.
    """
    more_samples = (3 - n) * span / (n - 1) if 1 < n < 3 else 0.0
    need = max(MIN_WINDOW_S - span, more_samples)
    return _collecting(span, n, need, f"{n} samples over {_dur(span)} so far")


def _window(times: Sequence[float], rss: Sequence[float]) -> _Window | GrowthVerdict:
    """Stage 1: enough history? moved at all? Then the time axis without gaps, and the blocks."""
    t, x = _clean(times, rss)
    n = len(t)
    span = float(t[-1] - t[0]) if n else 0.0
    if n < 3 or span < MIN_WINDOW_S:
        return too_young(n, span)

    # Cheap exit (most processes): memory that never moved by the least growth that counts
    # cannot be leaking, whatever the shape.
    lo, hi = min(x), max(x)
    least_growth = max(MIN_GROWTH_BYTES, MIN_GROWTH_FRAC * lo)
    if hi - lo < GATE_SLACK * least_growth:
        return GrowthVerdict(
            verdict="no_leak", rate_bytes_per_s=0.0, growth_bytes=float(x[-1] - x[0]),
            window_s=span, samples=n, confidence=CONF_QUIET, onset_s=None, need_s=0.0,
            reasons=(f"memory moved only {_size(hi - lo)} in {_dur(span)}",
                     f"least growth that counts: {_size(least_growth)}"),
        )  # fmt: skip

    u, origin, gaps = _squeeze_gaps(t)
    obs = u[-1] - origin
    typ_dt = obs / (n - 1)
    least = max(MIN_WINDOW_S, MIN_BLOCKS * max(MIN_BLOCK_S, typ_dt))
    if obs < least:
        return _collecting(span, n, least - obs, f"{_dur(obs)} of history, need {_dur(least)}")

    width = max(MIN_BLOCK_S, obs / N_BLOCKS, typ_dt)
    nb = max(1, int(obs / width))
    width = obs / nb
    gap_note, jumped = "", 0.0
    if gaps:
        x, jumped = _close_gaps(u, x, gaps, GAP_REACH * width)
        gap_note = (
            ""
            if jumped == 0
            else (
                f"{len(gaps)} gap{'s' if len(gaps) > 1 else ''} in the samples "
                f"({_dur(span - obs)} unseen): the {_delta(jumped)} change across "
                f"{'them' if len(gaps) > 1 else 'it'} is not counted"
            )
        )
    return _Window(t, x, n, span, u, origin, obs, typ_dt, width, nb, jumped, gap_note)


def _floors(w: _Window) -> _Floors | GrowthVerdict:
    """Stage 2: the floor of each block, lowered to the GC troughs it touches."""
    taus, floors, starts = _block_floors(w.u, w.origin, w.x, w.nb, w.width)
    floors, swing, drops, cycles = _gc_floors(w.u, w.x, floors, starts, w.typ_dt)
    m = len(floors)
    if m < MIN_BLOCKS:  # only with very irregular sampling
        need = MIN_BLOCKS * w.width - w.obs
        return _collecting(w.span, w.n, need, f"only {m} time blocks with samples")
    return _Floors(taus, floors, starts, swing, drops, cycles)


def _model(w: _Window, f: _Floors) -> _Model:
    """Stage 3: fit the floor (continuing and stopped ramps), find the onset and the rate."""
    floors, taus, obs = f.floors, f.taus, w.obs
    q = max(BASE_MIN_BLOCKS, round(len(floors) * BASE_SHARE))
    base = statistics.median(floors[:q])
    gate = max(MIN_GROWTH_BYTES, MIN_GROWTH_FRAC * base)
    ref = floors[0]
    ys = [(v - ref) / gate for v in floors]  # in units of the least growth that counts
    ts = [v / obs for v in taus]
    best, cont = _fit_ramps(ts, ys)
    if cont.start > 0:
        sse_l, level_l, rise_l, var_l, _ = _line_residuals(ts, ys)
        if sse_l - cont.sse < ONSET_PENALTY * var_l:
            cont = Fit(sse_l, 0, cont.end, level_l, rise_l)
    ic = cont.start
    # the ramp is fitted between block centres: extend it to the window's edges
    onset_obs = taus[ic] if ic > 0 else 0.0
    grew_for = obs - onset_obs
    growth = cont.rise * gate * grew_for / max(w.width, taus[-1] - taus[ic])
    post_t, post_f = taus[ic:], floors[ic:]
    slope = _theil_sen(post_t, post_f) if len(post_f) >= 2 else 0.0
    # The words give measured floors, not the fitted ramp: a ramp fitted through growth that has
    # since stopped overshoots, and "rose 260 MiB" of a process holding 241 MiB reads as wrong.
    seen = floors[-1] - floors[ic]
    moved = f"{'rose' if seen >= 0 else 'fell'} {_size(abs(seen))}"
    risen = f"floor {moved} in {_dur(grew_for)} ({_rate(slope)})"
    sawtooth = f"GC sawtooth: {f.drops} collections, floor taken after each" if f.swing else ""
    return _Model(gate, ref, ys, ts, best, cont, onset_obs, grew_for, growth, post_t, post_f,
                  slope, max(0.0, slope), risen, sawtooth, w.span, w.n, w.gap_note)  # fmt: skip


def _not_growing_enough(w: _Window, f: _Floors, m: _Model) -> GrowthVerdict | None:
    """Stage 4a: not rising, too little, too slow, or small against the GC swings."""
    growth, gate = m.growth, m.gate
    if growth <= 0 or m.slope <= 0:
        why = f"floor not rising: median rate {_rate(m.slope)} over {_dur(m.grew_for)}"
        return m.no(CONF_NOT_RISING, why, rate=0.0)
    if growth < GATE_SLACK * gate:
        confidence = min(CONF_SMALL_MAX, 1.0 - 0.5 * growth / gate)
        return m.no(confidence, m.risen, f"least growth that counts: {_size(gate)}")
    if m.rate < GATE_SLACK * MIN_RATE:
        return m.no(
            CONF_SLOW, m.risen, f"slower than the least rate that counts ({_rate(MIN_RATE)})"
        )
    if growth < SWING_FRAC * f.swing:
        return m.no(CONF_SWING, m.risen, f"small against GC swings of {_size(f.swing)}")
    return None


def _stopped(w: _Window, f: _Floors, m: _Model) -> GrowthVerdict | None:
    """Stage 4b: growth that ended a while ago and stayed flat is a warm-up or a one-off step."""
    best, obs, taus = m.best, w.obs, f.taus
    ib, jb = best.start, best.end
    tail = obs - taus[jb]
    ramp_s = max(taus[jb] - taus[ib], w.width)
    need_tail = min(
        TAIL_FRAC * obs, max(STEP_MULT * ramp_s, STEP_MIN_S, STOP_MIN_WIDTHS * w.width), STOP_ABS_S
    )
    if f.cycles is not None and f.drops >= STOP_DROPS:
        # A cycle's trough is known from its collection on, so the floor after the last
        # collection is flat by construction: it is no evidence that growth stopped. Growth went
        # on at least to the last collection that left a higher trough than the one before it.
        c = f.cycles
        rose = [
            at for at, (a, b) in zip(c.starts[1:], pairwise(c.troughs), strict=True)
            if b - a >= TROUGH_RISE * m.gate and not math.isinf(b)
        ]  # fmt: skip
        if rose and obs - rose[-1] < min(STOP_CYCLES * c.length, STOP_ABS_S):
            return None
    if tail < need_tail or best.rise <= 0:
        return None
    ys, ts = m.ys, m.ts
    ti, tj = ts[ib], ts[jb]
    resid = [
        y - best.level - best.rise * min(1.0, max(0.0, (tk - ti) / (tj - ti)))
        for y, tk in zip(ys, ts, strict=True)
    ]
    sigma = MAD_TO_SIGMA * statistics.median(map(abs, resid))
    tail_rise = _theil_sen(taus[jb:], ys[jb:]) * tail if len(f.floors) - jb >= 2 else 0.0
    expected = best.rise * tail / ramp_s
    if tail_rise < TAIL_RISE * expected and m.cont.sse - best.sse >= STOP_K * max(sigma**2, 1e-12):
        return m.no(
            CONF_STOPPED,
            f"growth stopped {_dur(tail)} ago: flat for {tail / obs:.0%} of the window",
            f"rose {_size(best.rise * m.gate)} before that",
            rate=0.0,
        )
    return None


def _warm_up(w: _Window, m: _Model) -> GrowthVerdict | None:
    """Stage 4c: a rise slowing down the way a cache fills (more plainly so after the first
    minutes)."""
    if len(m.post_f) >= 6:
        early = w.obs <= WARMUP_WINDOW_S
        ratio_max, t_max = (DECEL_RATIO, DECEL_T) if early else (DECEL_RATIO_LONG, DECEL_T_LONG)
        ratio, t_curv = _curvature(m.post_t, m.post_f)
        if ratio < ratio_max and t_curv < -t_max and (early or _still_slowing(m)):
            why = f"slowing down like a warm-up: rising at {ratio:.0%} of its mean rate"
            return m.no(CONF_WARM_UP, m.risen, why, slowing=True)
    return None


def _still_slowing(m: _Model) -> bool:
    """Whether the floor rose more slowly in the last third of the growth than in the middle
    third. A cache filling keeps slowing down; a leak whose rate dropped once (by 40%, say)
    then keeps its new pace, which a quadratic over the whole growth reads as slowing too."""
    ts, fs = m.post_t, m.post_f
    a, b = ts[0], ts[-1]
    cut1, cut2 = a + (b - a) / 3, a + 2 * (b - a) / 3
    i, j = bisect_left(ts, cut1), bisect_left(ts, cut2)
    if j - i < THIRD_MIN_BLOCKS or len(ts) - j < THIRD_MIN_BLOCKS:
        return True
    return _theil_sen(ts[j:], fs[j:]) < LATE_RATIO * _theil_sen(ts[i:j], fs[i:j])


def _trend(w: _Window, f: _Floors, m: _Model) -> tuple[float, str]:
    """Stage 5: how monotone the growth is since the onset: (z, the words for it)."""
    ic = m.cont.start
    seg = f.floors[max(0, ic - 1) :]
    z, up = _mann_kendall(seg) if len(seg) >= 4 else (0.0, 0.0)
    steady = f"later floors above earlier ones in {up:.0%} of pairs (trend z {z:.1f})"
    if z < Z_MIN and not f.swing:
        k = f.starts[max(0, ic - 1)]  # the samples of the floors just tested
        z_raw = _raw_trend_z(w.u[k:], w.x[k:])
        if z_raw >= Z_MIN:
            z = z_raw
            steady = f"samples trend up through the noise (z {z:.1f}, corrected for wander)"
    return z, steady


def _no_trend(m: _Model, z: float, steady: str) -> GrowthVerdict | None:
    if z < Z_MIN:
        confidence = min(
            CONF_TREND_HIGH,
            CONF_TREND_LOW + (CONF_TREND_HIGH - CONF_TREND_LOW) * (Z_MIN - z) / Z_MIN,
        )
        return m.no(confidence, m.risen, f"no steady trend: {steady}")
    return None


def _no_new_high(f: _Floors, m: _Model) -> GrowthVerdict | None:
    """Stage 6: growth after an onset must take the floor to a new high, not back to an old one."""
    cont, floors = m.cont, f.floors
    ic = cont.start
    final = (cont.level + cont.rise) * m.gate + m.ref
    if ic > 0:
        pre_hi, pre_lo = max(floors[: ic + 1]), min(floors[: ic + 1])
        if final - pre_hi <= NEW_HIGH_FRAC * (final - pre_lo):
            return m.no(
                CONF_OLD_HIGH, m.risen, f"floor only back near its earlier high of {_size(pre_hi)}"
            )
    return None


def _leak(
    w: _Window, f: _Floors, m: _Model, z: float, steady: str, available_bytes: float | None
) -> GrowthVerdict:
    """Every rule passed: a leak, with its rate, onset and the words for each piece of evidence."""
    reasons = [m.risen, steady]
    onset_s = 0.0
    if m.cont.start > 0:
        k = min(w.n - 1, bisect_left(w.u, w.origin + m.onset_obs))
        onset_s = float(w.t[k] - w.t[0])
        reasons.append(f"growth began {_dur(onset_s)} after the first sample")
    reasons.append(
        f"still rising at the end: the floor is at a new high ({_size(f.floors[-1] + w.jumped)})"
    )
    if m.sawtooth:
        reasons.append(m.sawtooth)
    if w.gap_note:
        reasons.append(w.gap_note)
    rate = m.rate
    if available_bytes is not None and available_bytes > 0 and rate > 0:
        reasons.append(f"{_size(available_bytes)} available lasts {_dur(available_bytes / rate)}")
    confidence = _phi(z) * min(1.0, CONF_LEAK_BASE + m.growth / (CONF_LEAK_FULL_GATES * m.gate))
    return GrowthVerdict(
        verdict="leak", rate_bytes_per_s=rate, growth_bytes=m.growth, window_s=w.span,
        samples=w.n, confidence=round(confidence, 3), onset_s=onset_s, need_s=0.0,
        reasons=tuple(reasons), collections=f.drops if f.swing else 0,
    )  # fmt: skip


def exhaustion_seconds(verdict: GrowthVerdict, available_bytes: float) -> float | None:
    """Seconds until ``available_bytes`` are used up at the leak's rate; None unless a leak."""
    try:
        if verdict.verdict != "leak" or not verdict.rate_bytes_per_s > 0:
            return None
        secs = max(0.0, float(available_bytes)) / verdict.rate_bytes_per_s
    except (TypeError, ValueError, ArithmeticError):
        return None
    return secs if math.isfinite(secs) else None


def eval_verdict(t: Sequence[float], rss: Sequence[float]) -> str:
    """Adapter for the trace scorer: "leak" or "no_leak" ("collecting" counts as "no_leak")."""
    return "leak" if judge(t, rss).verdict == "leak" else "no_leak"

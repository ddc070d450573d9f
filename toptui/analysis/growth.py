"""Memory-growth (leak) detector: v2 exploration."""

import heapq
import math
import operator
import statistics
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Literal

Verdict = Literal["leak", "no_leak", "collecting"]

KIB = 1024.0
MIB = 1024.0 * 1024.0

MIN_WINDOW_S: float = 45.0
MIN_GROWTH_BYTES = 1.0 * MIB
MIN_GROWTH_FRAC = 0.01
MIN_RATE = 1.0 * KIB
GATE_SLACK = 0.5
N_BLOCKS = 20
MIN_BLOCKS = 6
MIN_BLOCK_S = 2.0
QUANT = 0.1
GAP_MIN_S = 30.0
GAP_FACTOR = 5.0
DROP_FRAC = 0.0
DROP_K = 6.0
SPIKE_LOOK = 3
SPIKE_FRAC = 0.5
SAW_FRAC = 0.25
Z_MIN = 2.3
TAIL_FRAC = 0.2
STOP_K = 9.0
STAIR_MULT = 1.0
STAIR_SIG = 3.0
PRE_DROP = 10.0


@dataclass(frozen=True, slots=True)
class GrowthVerdict:
    verdict: Verdict
    rate_bytes_per_s: float
    growth_bytes: float
    window_s: float
    samples: int
    confidence: float
    onset_s: float | None
    need_s: float
    reasons: tuple[str, ...]


def _clean(times: Sequence[float], rss: Sequence[float]) -> tuple[list[float], list[float]]:
    t = list(times)
    x = list(rss)
    if len(t) != len(x):
        k = min(len(t), len(x))
        t, x = t[:k], x[:k]
    try:
        ok = (
            all(map(math.isfinite, t))
            and all(map(math.isfinite, x))
            and all(map(operator.lt, t, t[1:]))
        )
    except (TypeError, ValueError):
        ok = False
    if ok:
        return [float(v) for v in t], [float(v) for v in x]
    tt: list[float] = []
    xx: list[float] = []
    last = -math.inf
    for a, b in zip(t, x, strict=True):
        try:
            fa, fb = float(a), float(b)
        except (TypeError, ValueError):
            continue
        if math.isfinite(fa) and math.isfinite(fb) and fa > last:
            tt.append(fa)
            xx.append(fb)
            last = fa
    return tt, xx


def _observed_time(t: list[float]) -> list[float]:
    """Time since the first sample with long gaps squeezed to one typical interval."""
    t0 = t[0]
    dts = list(map(operator.sub, t[1:], t[:-1]))
    if not dts or max(dts) <= GAP_MIN_S:
        return [v - t0 for v in t]
    typ = statistics.median(dts)
    thr = max(GAP_MIN_S, GAP_FACTOR * typ)
    return [0.0, *accumulate(d if d <= thr else typ for d in dts)]


def _mk_z(ys: Sequence[float]) -> float:
    n = len(ys)
    if n < 3:
        return 0.0
    s = 0
    for i in range(n - 1):
        yi = ys[i]
        for j in range(i + 1, n):
            d = ys[j] - yi
            s += (d > 0) - (d < 0)
    var = n * (n - 1) * (2 * n + 5) / 18.0
    if s > 0:
        return (s - 1) / math.sqrt(var)
    if s < 0:
        return (s + 1) / math.sqrt(var)
    return 0.0


def _fit3(
    ts: list[float], ys: list[float], j_fixed: int | None = None
) -> tuple[float, int, int, float, float]:
    """Least-squares flat-ramp-flat fit; returns (sse, i, j, c0, delta)."""
    m = len(ys)
    p1t = [0.0, *accumulate(ts)]
    p1tt = [0.0, *accumulate(v * v for v in ts)]
    p1y = [0.0, *accumulate(ys)]
    p1ty = [0.0, *accumulate(map(operator.mul, ts, ys))]
    sy = p1y[m]
    syy = math.fsum(y * y for y in ys)
    best = (math.inf, 0, m - 1, 0.0, 0.0)
    js = range(1, m) if j_fixed is None else (j_fixed,)
    for j in js:
        tj = ts[j]
        tail_n = m - j
        tail_y = sy - p1y[j]
        for i in range(j):
            ti = ts[i]
            span = tj - ti
            n_in = j - i - 1
            st = p1t[j] - p1t[i + 1]
            stt = p1tt[j] - p1tt[i + 1]
            sy_in = p1y[j] - p1y[i + 1]
            sty = p1ty[j] - p1ty[i + 1]
            sg = (st - n_in * ti) / span + tail_n
            sgg = (stt - 2 * ti * st + n_in * ti * ti) / (span * span) + tail_n
            sgy = (sty - ti * sy_in) / span + tail_y
            det = m * sgg - sg * sg
            if det <= 1e-12:
                continue
            d = (m * sgy - sg * sy) / det
            c0 = (sy - d * sg) / m
            sse = syy - c0 * sy - d * sgy
            if sse < best[0]:
                best = (sse, i, j, c0, d)
    return best


def _collecting(span: float, n: int, need: float, why: str) -> GrowthVerdict:
    return GrowthVerdict("collecting", 0.0, 0.0, span, n, 0.0, None, max(0.0, need), (why,))


def _analyze(t: list[float], x: list[float]) -> dict[str, Any]:
    """All intermediate quantities (kept separate so they can be inspected)."""
    n = len(t)
    r: dict[str, Any] = {"n": n, "span": t[-1] - t[0] if n else 0.0}
    if n < 2:
        r["collect"] = (MIN_WINDOW_S, "no history yet")
        return r
    u = _observed_time(t)
    obs = u[-1]
    r["obs"] = obs
    if obs < MIN_WINDOW_S:
        r["collect"] = (MIN_WINDOW_S - obs, f"{obs:.0f}s of history")
        return r
    lo, hi = min(x), max(x)
    typ_dt = obs / (n - 1)
    B = max(MIN_BLOCK_S, obs / N_BLOCKS, 2.0 * typ_dt)
    nb = max(1, int(obs / B))
    B = obs / nb
    floors: list[float] = []
    taus: list[float] = []
    start = 0
    for k in range(1, nb + 1):
        end = bisect_left(u, k * B, start) if k < nb else n
        c = end - start
        if c > 0:
            kq = int(QUANT * c) + 1
            floors.append(heapq.nsmallest(kq, x[start:end])[-1] if kq > 1 else min(x[start:end]))
            taus.append((k - 0.5) * B)
        start = end
    m = len(floors)
    r.update(u=u, B=B, taus=taus, raw_floors=floors)
    if m < MIN_BLOCKS:
        r["collect"] = (MIN_BLOCKS * B - obs, "too few blocks")
        return r
    q = max(2, round(m * 0.15))
    base = statistics.median(floors[:q])
    gate = max(MIN_GROWTH_BYTES, MIN_GROWTH_FRAC * base)
    r.update(base=base, gate=gate)
    if hi - lo < GATE_SLACK * gate:
        r["exit"] = "range below magnitude minimum"
        return r
    # GC-aware floors: a block's floor is the lowest point of every drop-to-drop cycle
    # it touches, so the ramp inside a GC cycle never counts as floor.
    diffs = list(map(operator.sub, x[1:], x[:-1]))
    thr = max(DROP_FRAC * (hi - lo), DROP_K * math.fsum(map(abs, diffs)) / len(diffs))
    ev = []
    amps = []
    for i, d in enumerate(diffs):
        if (
            d < -thr
            and x[i] - min(x[max(0, i - SPIKE_LOOK) : i + 1]) < -SPIKE_FRAC * d
            and max(x[i + 1 : i + 2 + SPIKE_LOOK]) - x[i + 1] < -SPIKE_FRAC * d
        ):
            ev.append(i + 1)
            amps.append(-d)
    h = len(ev)
    amp = statistics.median(amps) if len(amps) >= 2 else 0.0
    if ev:
        bounds = [0, *ev, n]
        cmins = [min(x[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        # sample index where each block starts
        bstart = [bisect_left(u, (tk / B - 0.5) * B) for tk in taus]
        bend = [*bstart[1:], n]
        fl = floors
        floors = []
        ci = 0
        for k in range(m):
            while ci + 1 < len(cmins) and bounds[ci + 1] <= bstart[k]:
                ci += 1
            cj = ci
            v = fl[k]
            while cj < len(cmins) and bounds[cj] < bend[k]:
                v = min(v, cmins[cj])
                cj += 1
            floors.append(v)
    r.update(floors=floors, h=h, amp=amp)
    ref = floors[0]
    ys = [(f - ref) / gate for f in floors]
    ts = [tk / obs for tk in taus]
    best = _fit3(ts, ys)
    cont = _fit3(ts, ys, m - 1)
    r.update(ys=ys, ts=ts, best=best, cont=cont, ref=ref)
    return r


def judge(
    times: Sequence[float], rss: Sequence[float], *, available_bytes: float | None = None
) -> GrowthVerdict:
    t, x = _clean(times, rss)
    r = _analyze(t, x)
    n, span = r["n"], r["span"]
    if "collect" in r:
        need, why = r["collect"]
        return _collecting(span, n, need, why)
    if "exit" in r:
        return GrowthVerdict("no_leak", 0.0, 0.0, span, n, 0.9, None, 0.0, (r["exit"],))
    obs, B, gate, floors, taus = r["obs"], r["B"], r["gate"], r["floors"], r["taus"]
    m = len(floors)
    sse_b, ib, jb, c0b, db = r["best"]
    sse_c, ic, jc, c0c, dc = r["cont"]
    sig2 = max(sse_b / max(1, m - 4), 1e-12)
    growth = dc * gate
    onset_t = taus[ic]
    rate = growth / max(obs - onset_t, B)
    reasons = [
        f"rate {rate / KIB:.1f} KiB/s",
        f"growth {growth / MIB:.2f} MiB",
        f"onset {onset_t:.0f}s",
        f"stop {taus[jb]:.0f}s/{obs:.0f}s",
        f"dsse {(sse_c - sse_b) / sig2:.1f}",
        f"h {r['h']}",
    ]

    def no(conf: float, why: str) -> GrowthVerdict:
        return GrowthVerdict(
            "no_leak", max(0.0, rate), growth, span, n, conf, None, 0.0, (why, *reasons)
        )

    if growth < GATE_SLACK * gate or rate < GATE_SLACK * MIN_RATE:
        return no(0.7, "small")
    if growth < SAW_FRAC * r["amp"]:
        return no(0.7, "small vs GC swing")
    tail = obs - taus[jb]
    if tail >= TAIL_FRAC * obs and db > 0 and (sse_c - sse_b) >= STOP_K * sig2:
        # stairs exception: a flat stretch inside the growth phase as long as the tail
        ys = r["ys"]
        dd = [abs(b - a) for a, b in zip(ys[1:], ys[:-1], strict=False)]
        sd = 1.4826 * statistics.median(dd) / math.sqrt(2) if dd else 0.0
        delta = max(STAIR_SIG * sd, 0.05 * db)
        last_rec = taus[ib]
        run_max = ys[ib]
        longest = 0.0
        for k in range(ib + 1, jb + 1):
            if ys[k] > run_max + delta:
                longest = max(longest, taus[k] - last_rec)
                last_rec = taus[k]
                run_max = ys[k]
            else:
                run_max = max(run_max, ys[k]) if False else run_max
        if tail > STAIR_MULT * longest:
            return no(0.6, "stopped")
    seg = floors[max(0, ic - 1) :]
    z = _mk_z(seg) if len(seg) >= 4 else 0.0
    reasons.append(f"z {z:.2f}")
    if z < Z_MIN:
        return no(0.6, "weak trend")
    pre = floors[: ic + 1]
    final = (c0c + dc) * gate + r["ref"]
    if ic > 0 and final <= max(pre):
        return no(0.6, "no new high")
    return GrowthVerdict("leak", rate, growth, span, n, 0.8, onset_t, 0.0, tuple(reasons))


def exhaustion_seconds(verdict: GrowthVerdict, available_bytes: float) -> float | None:
    if verdict.verdict != "leak" or verdict.rate_bytes_per_s <= 0:
        return None
    return max(0.0, available_bytes) / verdict.rate_bytes_per_s


def eval_verdict(t: Sequence[float], rss: Sequence[float]) -> str:
    return "leak" if judge(t, rss).verdict == "leak" else "no_leak"

"""The leak detector on synthetic series: one test per kind of memory behaviour, plus the edges.

Every series is built here from a fixed seed (page-rounded, with allocator jitter and the odd
spike), so each test takes milliseconds and fails if the detector confuses the kinds.
"""

import json
import math
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from toptui.analysis import growth
from toptui.analysis.growth import (
    MIN_WINDOW_S,
    GrowthVerdict,
    eval_verdict,
    exhaustion_seconds,
    judge,
)

KIB = 1024.0
MIB = 1024.0 * KIB
GIB = 1024.0 * MIB
BASE = 200 * MIB
PAGE = 4096

Shape = Callable[[float], float]  # seconds -> bytes above BASE


def make(
    shape: Shape,
    *,
    duration: float = 600.0,
    dt: float = 1.0,
    jitter: float = 0.3 * MIB,
    spikes: float = 0.01,
    base: float = BASE,
    seed: int = 7,
) -> tuple[list[float], list[float]]:
    """A sampled series: base + shape(t) + jitter, rare one-sample spikes, whole pages."""
    rnd = random.Random(seed)
    times = [i * dt for i in range(int(duration / dt) + 1)]
    rss = []
    for t in times:
        v = base + shape(t) + rnd.gauss(0.0, jitter)
        if rnd.random() < spikes:
            v += 20 * MIB
        rss.append(float(int(v) // PAGE * PAGE))
    return times, rss


def sawtooth(period: float, amp: Callable[[float], float]) -> Shape:
    """GC cycles: memory ramps up by amp(t) over each period, then drops back to the floor."""
    return lambda t: amp(t) * ((t % period) / period)


LEAKS: dict[str, Shape] = {
    "linear": lambda t: 100 * KIB * t,
    "sawtooth_rising_floor": lambda t: 50 * KIB * t + sawtooth(40.0, lambda _: 60 * MIB)(t),
    "stairs": lambda t: 2 * MIB * (t // 30),
    "midway": lambda t: 200 * KIB * max(0.0, t - 400),
    "accelerating": lambda t: 40 * MIB * (t / 600) ** 3,
}

NOT_LEAKS: dict[str, Shape] = {
    "flat": lambda t: 0.0,
    "flat_floor_sawtooth_growing_peaks": sawtooth(50.0, lambda t: 30 * MIB + 50 * MIB * t / 600),
    "cache_warmup_then_flat": lambda t: 80 * MIB * (1 - math.exp(-t / 60)),
    "startup_ramp": lambda t: 100 * MIB * min(1.0, t / 20),
    "one_off_step": lambda t: 50 * MIB if t >= 200 else 0.0,
    "load_bursts": lambda t: 60 * MIB if t % 120 < 20 else 0.0,
    "slow_oscillation": lambda t: 40 * MIB * math.sin(2 * math.pi * t / 300),
    # starts in a trough: the last swing up is high, but no higher than the one before
    "slow_oscillation_from_a_trough": lambda t: 40 * MIB * math.sin(2 * math.pi * (t / 300 + 0.75)),
    "shrinking": lambda t: 100 * MIB - 80 * KIB * t,
}


@pytest.mark.parametrize("kind", sorted(LEAKS))
def test_leaks_are_flagged(kind: str) -> None:
    v = judge(*make(LEAKS[kind]))
    assert v.verdict == "leak", (kind, v.reasons)
    assert v.rate_bytes_per_s > 1 * KIB
    assert v.growth_bytes > 1 * MIB
    assert 0.5 < v.confidence <= 1.0
    assert v.onset_s is not None and v.need_s == 0.0
    assert v.reasons


def test_slow_leak_under_heavy_noise_is_flagged() -> None:
    """40 KiB/s under 2 MiB of white noise: the trend is only visible in the floor statistics."""
    v = judge(*make(lambda t: 40 * KIB * t, jitter=2 * MIB, spikes=0.03, seed=3))
    assert v.verdict == "leak", v.reasons
    assert v.rate_bytes_per_s == pytest.approx(40 * KIB, rel=0.5)


@pytest.mark.parametrize("kind", sorted(NOT_LEAKS))
def test_not_leaks_are_not_flagged(kind: str) -> None:
    duration = 480.0 if kind == "slow_oscillation_from_a_trough" else 600.0
    v = judge(*make(NOT_LEAKS[kind], duration=duration))
    assert v.verdict == "no_leak", (kind, v.reasons)
    assert v.onset_s is None
    assert v.reasons


def test_idle_page_creep_is_far_below_the_magnitude_minimum() -> None:
    """A quiet process growing one page a minute rises steadily, but by kilobytes."""
    times = [float(t) for t in range(1200)]
    rss = [BASE + PAGE * (t // 60) for t in range(1200)]
    v = judge(times, rss)
    assert v.verdict == "no_leak"
    assert "least growth" in " ".join(v.reasons)


def test_slow_page_creep_below_one_percent_is_not_a_leak() -> None:
    """A page every 2 s (2 KiB/s) for 10 minutes: steady, but 1.2 MiB on a 200 MiB process."""
    v = judge(*make(lambda t: PAGE * (t // 2), jitter=64 * KIB))
    assert v.verdict == "no_leak", v.reasons
    assert "least growth" in " ".join(v.reasons)


def test_creep_slower_than_1_kib_per_second_is_not_a_leak() -> None:
    """0.5 KiB/s for an hour adds 1.8 MiB to a 100 MiB process: enough bytes, far too slow."""
    t, x = make(lambda t: 512 * t, duration=3600, dt=2.0, base=100 * MIB, jitter=64 * KIB)
    v = judge(t, x)
    assert v.verdict == "no_leak", v.reasons
    assert "rate" in " ".join(v.reasons)


@pytest.mark.parametrize("period", [90.0, 120.0])
def test_long_gc_cycles(period: float) -> None:
    """Collections every 1.5-2 minutes: blocks inside a cycle hold only ramp, never the floor."""
    rising = make(lambda t: 30 * KIB * t + sawtooth(period, lambda _: 60 * MIB)(t), duration=900)
    assert judge(*rising).verdict == "leak"
    peaks = sawtooth(period, lambda t: 60 * MIB + 100 * MIB * t / 1200)
    assert judge(*make(peaks, duration=1200)).verdict == "no_leak"


def test_floor_creep_small_against_gc_swings_is_not_a_leak() -> None:
    """Troughs drifting 6 MiB under 100 MiB GC swings: within what a post-GC floor can tell."""
    gc = sawtooth(60.0, lambda _: 100 * MIB)
    v = judge(*make(lambda t: 6 * MIB * t / 900 + gc(t), duration=900))
    assert v.verdict == "no_leak", v.reasons
    assert "GC" in " ".join(v.reasons)


def test_slow_leak_under_large_gc_swings_is_a_leak() -> None:
    """Troughs rising 22 MiB in 15 minutes under 100 MiB swings (a fifth of a swing): retained."""
    gc = sawtooth(60.0, lambda _: 100 * MIB)
    v = judge(*make(lambda t: 25 * KIB * t + gc(t), duration=900))
    assert v.verdict == "leak", v.reasons
    assert v.collections >= 10


def _sawtooth_leak_judged_at(
    ends: range, stop_drops: int, monkeypatch: pytest.MonkeyPatch
) -> dict[int, GrowthVerdict]:
    """A sawtooth leak (31 s cycles, 600 KiB/s kept) judged on windows ending at ``ends``."""
    monkeypatch.setattr(growth, "STOP_DROPS", stop_drops)
    t, x = make(lambda t: 600 * KIB * t + sawtooth(31.0, lambda _: 60 * MIB)(t), duration=200)
    return {end: judge(t[: end + 1], x[: end + 1]) for end in ends}


def test_sawtooth_leak_is_not_stopped_between_collections(monkeypatch: pytest.MonkeyPatch) -> None:
    """With three collections or more, the floor after the last one is flat by construction: a
    trough that rose at the last collection says the growth went on, so no "growth stopped"."""
    ends = range(95, 200)
    shown = _sawtooth_leak_judged_at(ends, growth.STOP_DROPS, monkeypatch)
    assert [e for e, v in shown.items() if v.verdict != "leak"] == []
    # without the rule the same windows read as stopped: the case exercises it
    before = _sawtooth_leak_judged_at(ends, 10**9, monkeypatch)
    assert any("growth stopped" in v.reasons[0] for v in before.values())


def test_sawtooth_leak_that_stopped_reads_as_stopped_within_minutes() -> None:
    """Troughs rise for 5 minutes, then stay: "growth stopped" within 2.5 minutes of the last
    rise (a cycle and a half after the last higher trough, and the stopped model's own tail)."""
    shape = lambda t: 600 * KIB * min(t, 300.0) + sawtooth(31.0, lambda _: 60 * MIB)(t)  # noqa: E731
    t, x = make(shape, duration=600)
    assert judge(t[:301], x[:301]).verdict == "leak"
    v = judge(t[:451], x[:451])
    assert v.verdict == "no_leak" and "growth stopped" in v.reasons[0], v.reasons


def test_heavy_noise_rarely_alarms() -> None:
    """Flat, with allocator noise as large as the least growth that counts, judged over windows
    from one to ten minutes: chance runs in the noise may alarm, but rarely."""
    alarms = 0
    for seed in range(20):
        t, x = make(lambda t: 0.0, jitter=2 * MIB, spikes=0.03, base=50 * MIB, seed=seed)
        for end in (60, 90, 120, 180, 300, 600):
            alarms += judge(t[: end + 1], x[: end + 1]).verdict == "leak"
    assert alarms <= 2


def test_a_leak_that_stopped_is_cleared_within_minutes_even_after_an_hour() -> None:
    """An hour of growth, then none: the flat tail that says "stopped" is at most 3 minutes of
    blocks, not 20% of the window (12 minutes of a stale rate on the screen)."""
    for flat, verdict in ((60, "leak"), (360, "no_leak")):
        v = judge(*make(lambda t, f=flat: 100 * KIB * min(t, 3600 - f), duration=3600, seed=3))
        assert v.verdict == verdict, (flat, v.reasons)
    assert "growth stopped" in v.reasons[0]
    # The words are measured floors: never above what the process holds.
    t, x = make(lambda t: 260 * KIB * min(t, 1050), duration=1230)
    v = judge(t, x)
    rose = float(v.reasons[0].split()[2])
    assert rose * MIB <= max(x) - min(x)


@pytest.mark.parametrize("window", [60, 90, 120, 180])
def test_cache_warming_up_in_its_first_minutes_is_not_yet_a_leak(window: int) -> None:
    """A cache filling towards 80 MiB (time constant 90 s) is still rising at every one of these
    windows, but ever more slowly; a leak of the same size keeps its pace and is flagged."""
    warm = lambda t: 80 * MIB * (1 - math.exp(-t / 90))  # noqa: E731
    for seed in range(5):
        v = judge(*make(warm, duration=window, seed=seed))
        assert v.verdict == "no_leak", (seed, v.reasons)
        assert judge(*make(lambda t: 300 * KIB * t, duration=window, seed=seed)).verdict == "leak"
    assert any("slowing down" in r for r in judge(*make(warm, duration=90)).reasons)


@pytest.mark.parametrize("window", [300, 480, 720, 1200])
def test_a_cache_filling_on_a_log_curve_for_twenty_minutes_is_not_a_leak(window: int) -> None:
    """150 MiB over 20 minutes on a log curve (time constant 120 s): still rising at every
    window, ever more slowly, long after the first minutes' warm-up rule ends; the plainer
    slowing-down rule for long windows says so. A leak of the same size is still flagged."""
    total = 1200.0
    warm = lambda t: 150 * MIB * math.log1p(t / 120) / math.log1p(total / 120)  # noqa: E731
    v = judge(*make(warm, duration=window, seed=3))
    assert v.verdict == "no_leak", v.reasons
    assert any("slowing down" in r for r in v.reasons)
    steady = lambda t: 150 * MIB * t / total  # noqa: E731
    assert judge(*make(steady, duration=window, seed=3)).verdict == "leak"


def test_slow_leak_under_heavy_noise_is_seen_within_a_minute() -> None:
    """60 KiB/s under 2 MiB of white noise: 20 block floors barely show it after 60 s, the 60
    samples do (their test is deflated for autocorrelation, so a slow wander is not a trend)."""
    hits = 0
    for seed in range(10):
        t, x = make(lambda t: 60 * KIB * t, duration=60, jitter=2 * MIB, spikes=0.0, seed=seed)
        hits += judge(t, x).verdict == "leak"
    assert hits >= 8


def test_midway_leak_reports_its_onset() -> None:
    v = judge(*make(LEAKS["midway"]))
    assert v.verdict == "leak"
    assert v.onset_s == pytest.approx(400, abs=60)
    assert v.rate_bytes_per_s == pytest.approx(200 * KIB, rel=0.2)


def test_rate_is_in_bytes_per_second() -> None:
    v = judge(*make(lambda t: MIB * t, duration=300))
    assert v.verdict == "leak"
    assert v.rate_bytes_per_s == pytest.approx(MIB, rel=0.05)
    assert v.growth_bytes == pytest.approx(300 * MIB, rel=0.1)
    assert v.window_s == pytest.approx(300)
    assert v.samples == 301


def test_short_history_is_collecting_with_need() -> None:
    t, x = make(LEAKS["linear"], duration=20)
    v = judge(t, x)
    assert v.verdict == "collecting"
    assert v.need_s == pytest.approx(MIN_WINDOW_S - 20, abs=1.5)
    assert eval_verdict(t, x) == "no_leak"
    t, x = make(LEAKS["linear"], duration=MIN_WINDOW_S + 15)
    assert judge(t, x).verdict == "leak"


@pytest.mark.parametrize("dt", [0.5, 1.0, 5.0, 10.0])
@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("linear", "leak"),
        ("stairs", "leak"),
        ("midway", "leak"),
        ("flat", "no_leak"),
        ("cache_warmup_then_flat", "no_leak"),
        ("one_off_step", "no_leak"),
        ("load_bursts", "no_leak"),
    ],
)
def test_same_verdict_at_any_sampling_interval(kind: str, dt: float, expected: str) -> None:
    shapes = LEAKS | NOT_LEAKS
    v = judge(*make(shapes[kind], duration=1200, dt=dt))
    assert v.verdict == expected, (kind, dt, v.reasons)


def test_ten_second_sampling_is_judged_after_a_minute_and_a_half() -> None:
    """Blocks are one sampling interval wide at the least: 10 samples 10 s apart are enough."""
    t, x = make(LEAKS["linear"], duration=90, dt=10.0)
    assert len(t) == 10
    assert judge(t, x).verdict == "leak"
    assert judge(*make(NOT_LEAKS["flat"], duration=90, dt=10.0)).verdict == "no_leak"


def test_gap_is_not_growth() -> None:
    """A flat process, a 10-minute suspension, then flat again 3 MiB higher: not a leak."""
    t1, x1 = make(NOT_LEAKS["flat"], duration=300, seed=1)
    t2, x2 = make(NOT_LEAKS["flat"], duration=300, seed=2, base=BASE + 3 * MIB)
    times = t1 + [t + 300 + 600 for t in t2]
    v = judge(times, x1 + x2)
    assert v.verdict == "no_leak", v.reasons
    assert v.window_s == pytest.approx(1200)


def test_leak_paused_by_sleep_keeps_its_rate() -> None:
    """The machine slept 10 minutes in the middle of a 100 KiB/s leak: the sleep is not counted
    as time, so the rate is not diluted (and the level it resumes at is not growth)."""
    t1, x1 = make(LEAKS["linear"], duration=300, seed=1)
    t2, x2 = make(LEAKS["linear"], duration=300, seed=2, base=BASE + 100 * KIB * 300)
    v = judge(t1 + [t + 300 + 600 for t in t2], x1 + x2)
    assert v.verdict == "leak", v.reasons
    assert v.rate_bytes_per_s == pytest.approx(100 * KIB, rel=0.15)
    assert v.window_s == pytest.approx(1200)


def _stopped_for(gap: float, shape: Shape, before: float = 300, after: float = 300, **kw: float):
    """toptui stopped (Ctrl+Z) for ``gap`` seconds while the process ran on: the samples of that
    time are missing, the memory kept moving."""
    t, x = make(shape, duration=before + gap + after, **kw)
    keep = [i for i, s in enumerate(t) if not before < s <= before + gap]
    return [t[i] for i in keep], [x[i] for i in keep]


@pytest.mark.parametrize(("gap", "rate"), [(3600.0, 10 * KIB), (600.0, 1 * MIB)])
def test_leak_that_went_on_while_toptui_was_stopped(gap: float, rate: float) -> None:
    """The growth during the gap is one step up; then the leak goes on. Judged as a step it
    read as "growth stopped" after the resume; each stretch shows the leak and its rate."""
    after = 120.0 if rate > 100 * KIB else 300.0
    v = judge(*_stopped_for(gap, lambda t: rate * t, before=after, after=after, jitter=50 * KIB))
    assert v.verdict == "leak", v.reasons
    assert v.rate_bytes_per_s == pytest.approx(rate, rel=0.15)
    assert "gap in the samples" in v.reasons[-1] and "not counted" in v.reasons[-1]


def test_warm_up_that_ended_while_toptui_was_stopped() -> None:
    """Flat, a 50 MiB step somewhere in a one-hour gap, flat again: not a leak."""
    v = judge(*_stopped_for(3600.0, lambda t: 50 * MIB if t > 2000 else 0.0))
    assert v.verdict == "no_leak", v.reasons


def test_gc_phase_across_a_gap_is_not_a_step() -> None:
    """A flat-floor sawtooth with cycles longer than a block: whatever phase the samples on each
    side of the gap catch, nothing is taken out and the verdict stays no_leak."""
    for gap in (300.0, 410.0, 530.0):
        v = judge(*_stopped_for(gap, sawtooth(150.0, lambda _: 60 * MIB), before=450, after=450))
        assert v.verdict == "no_leak", (gap, v.reasons)


def test_short_runs_far_apart_are_judged_on_the_clock() -> None:
    """Ten samples at the top of every hour for a day (a cron job appending to a recording): the
    stretches are too short to judge alone, so the hours between them count as time."""
    t = [h * 3600.0 + i for h in range(24) for i in range(10)]
    rnd = random.Random(2)
    x = [BASE + 1 * KIB * s + rnd.gauss(0.0, 20 * KIB) for s in t]
    v = judge(t, x)
    assert v.verdict == "leak", v.reasons
    assert v.rate_bytes_per_s == pytest.approx(1 * KIB, rel=0.1)
    assert not any("gap" in r for r in v.reasons)


def test_irregular_timestamps_are_fine() -> None:
    rnd = random.Random(5)
    t, x = make(LEAKS["stairs"], duration=900)
    times = [v + rnd.uniform(-0.4, 0.4) for v in t]
    assert judge(times, x).verdict == "leak"
    t, x = make(NOT_LEAKS["one_off_step"], duration=900)
    times = [v + rnd.uniform(-0.4, 0.4) for v in t]
    assert judge(times, x).verdict == "no_leak"


def test_epoch_timestamps_give_the_same_verdict() -> None:
    t, x = make(LEAKS["sawtooth_rising_floor"])
    epoch = [v + 1.7e9 for v in t]
    assert judge(epoch, x).verdict == judge(t, x).verdict == "leak"


def test_a_40_gib_flat_process_is_not_a_leak() -> None:
    t, x = make(NOT_LEAKS["flat"], base=40 * GIB, jitter=30 * MIB, duration=1800)
    v = judge(t, x)
    assert v.verdict == "no_leak"


def test_a_40_gib_process_leaking_is_a_leak() -> None:
    t, x = make(lambda t: 2 * MIB * t, base=40 * GIB, jitter=30 * MIB, duration=1800)
    v = judge(t, x)
    assert v.verdict == "leak", v.reasons
    assert v.rate_bytes_per_s == pytest.approx(2 * MIB, rel=0.1)


def test_exhaustion_seconds() -> None:
    leak = judge(*make(lambda t: MIB * t, duration=300))
    assert leak.verdict == "leak"
    eta = exhaustion_seconds(leak, 600 * MIB)
    assert eta == pytest.approx(600, rel=0.1)
    assert exhaustion_seconds(leak, 0) == 0.0
    assert exhaustion_seconds(judge(*make(NOT_LEAKS["flat"])), 600 * MIB) is None
    collecting = judge([0.0, 1.0], [BASE, BASE])
    assert exhaustion_seconds(collecting, 600 * MIB) is None
    with_available = judge(*make(lambda t: MIB * t, duration=300), available_bytes=600 * MIB)
    assert any("available lasts" in r for r in with_available.reasons)


@pytest.mark.parametrize(
    ("times", "rss"),
    [
        ([], []),
        ([0.0], [BASE]),
        ([0.0, 1.0], [BASE, BASE]),
        ([float(i) for i in range(600)], [BASE] * 600),
        ([float(i) for i in range(600)], [0.0] * 600),
        ([float(i) for i in range(600)], [1e300 * (i % 2) for i in range(600)]),
        ([float(i) for i in range(600)], [-float(i) * MIB for i in range(600)]),
        ([float(i) for i in range(600)], [float("nan")] * 300 + [BASE] * 300),
        ([float(i % 300) for i in range(600)], [BASE + i * MIB for i in range(600)]),
        ([5.0] * 600, [BASE + i for i in range(600)]),
        ([float(i) for i in range(600)], [BASE] * 10),
        ([float(i) for i in range(0, 6000, 10)], [float(i % 7) * GIB for i in range(600)]),
    ],
)
def test_never_raises(times: list[float], rss: list[float]) -> None:
    # The inner function has no catch-all: if these inputs reached judge's "could not judge"
    # fallback, this would raise here instead of passing.
    v = growth._judge(times, rss, None)
    assert judge(times, rss) == v
    assert not any(r.startswith("could not judge") for r in v.reasons)
    assert isinstance(v, GrowthVerdict)
    assert v.verdict in ("leak", "no_leak", "collecting")
    assert 0.0 <= v.confidence <= 1.0
    assert v.need_s >= 0.0
    assert (v.verdict == "collecting") == (v.need_s > 0)


def test_empty_and_one_sample_are_collecting() -> None:
    for times, rss in (([], []), ([1.0], [BASE])):
        v = judge(times, rss)
        assert v.verdict == "collecting"
        assert v.need_s == pytest.approx(MIN_WINDOW_S)


@pytest.mark.needs_shared("leak-traces/dev/labels.json")
def test_dev_traces_score_at_least_093() -> None:
    """The labelled development traces beside the checkout (a failure under CI=true without)."""
    suite = Path(__file__).parents[2] / "shared" / "leak-traces" / "dev"
    labels_path = suite / "labels.json"
    labels = json.loads(labels_path.read_text())
    tp = fp = fn = 0
    for name, meta in labels.items():
        rows = [line.split(",") for line in (suite / name).read_text().split()[1:]]
        flagged = eval_verdict([float(a) for a, _ in rows], [float(b) for _, b in rows]) == "leak"
        truth = meta["label"] == "leak"
        tp += flagged and truth
        fp += flagged and not truth
        fn += truth and not flagged
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert f1 >= 0.93, (tp, fp, fn)

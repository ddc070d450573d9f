"""Verdicts that hold: what the screen shows over time, on series of the shapes real programs make.

Each series is played through the screen's own path (history, judging schedule, state machine)
by ``series_verdicts``; the verdict is read every 10 samples, as a person glancing at the screen
would see it. Synthetic series: these run in milliseconds and never depend on the machine's load.
"""

from __future__ import annotations

import json
import math
import random

import pytest
from test_recording import proc, snap

from toptui.analysis import verdict_state
from toptui.commands import analyze
from toptui.engine.monitor import Monitor, judge_every_for, series_verdicts
from toptui.sampling.replay import ReplaySampler
from toptui.store.recording import Recorder

KIB = 1024
MIB = 1024 * KIB
PAGE = 4096


def shown(x: list[float], every: int = 10) -> dict[int, str]:
    """The verdict word after every ``every`` samples of a 1 Hz series."""
    t = [float(i) for i in range(len(x))]
    got = series_verdicts(t, x, range(every, len(x) + 1, every))
    return {n: (v.verdict if v is not None else "collecting") for n, v in got.items()}


def first_leak(words: dict[int, str]) -> int:
    return next(n for n, w in words.items() if w == "leak")


def assert_held(words: dict[int, str], since: int | None = None) -> None:
    """Once flagged (or from ``since`` on), every later look says leak."""
    start = first_leak(words) if since is None else since
    dropped = [n for n, w in words.items() if n >= start and w != "leak"]
    assert not dropped, f"flagged at {start}, not a leak at {dropped}"


def noise(r: random.Random, pages: int = 32) -> int:
    return r.randint(0, pages) * PAGE


def test_a_fast_start_then_a_steady_leak_stays_flagged():
    # ~90 MB in the first minute (a warm-up look-alike), then 230 KiB/s for ever
    r = random.Random(1)
    x = [100 * MIB + min(i, 60) * 1.5 * MIB + max(0, i - 60) * 230 * KIB + noise(r)
         for i in range(600)]  # fmt: skip
    words = shown(x)
    assert first_leak(words) <= 120
    assert_held(words)


def test_a_leak_that_slows_by_40_percent_stays_flagged():
    r = random.Random(2)
    x = [100 * MIB + (i * 165 * KIB if i < 200 else 200 * 165 * KIB + (i - 200) * 100 * KIB)
         + noise(r) for i in range(600)]  # fmt: skip
    assert_held(shown(x))


def test_collections_of_15_to_20_mb_every_80_s_on_a_230_kib_s_leak_stay_flagged():
    r = random.Random(3)
    x, kept, extra = [], 200 * MIB, 0.0
    for i in range(720):
        if i and i % 80 == 0:
            extra = 0.0  # the collection gives back what this cycle allocated
        extra += r.uniform(15, 20) * MIB / 80
        kept += 230 * KIB
        x.append(kept + extra + noise(r))
    words = shown(x)
    assert first_leak(words) <= 240
    assert_held(words)
    # while a collection hides the growth, the reasons say the flag is held through it
    t = [float(i) for i in range(len(x))]
    got = series_verdicts(t, x, range(1, len(x) + 1))
    after = [v.reasons[0] for v in got.values() if v is not None and v.verdict == "leak"]
    held = [r for r in after if r.startswith("still rising after a ")]
    assert held, after[:5]
    size = float(held[0].split()[4])  # "still rising after a 17.0 MiB collection: ..."
    assert 12 <= size <= 21, held[0]


def test_a_leak_under_up_to_6_mib_of_short_lived_allocations_stays_flagged():
    r = random.Random(4)
    x = [100 * MIB + i * 250 * KIB + r.uniform(0, 6) * MIB for i in range(600)]
    words = shown(x)
    assert first_leak(words) <= 120
    assert_held(words)


def test_a_straight_line_warm_up_is_cleared_soon_after_it_levels_off():
    # 150 MB in 60 s, then flat. While it climbs it may be shown as rising or even as a leak
    # (nothing tells it from one yet); once level it is cleared within the stated time.
    r = random.Random(5)
    x = [50 * MIB + min(i, 60) * 150 * MIB / 60 + noise(r, 8) for i in range(600)]
    words = shown(x)
    cleared_by = 60 + verdict_state.FLOOR_S + verdict_state.CLEAR_S
    late = {n: w for n, w in words.items() if n > cleared_by}
    assert set(late.values()) == {"no_leak"}, late


def test_a_cache_filling_ever_more_slowly_is_cleared_while_it_still_creeps():
    # 150 MiB over 20 minutes on a log curve: flagged in its first minute (nothing tells it from
    # a leak yet), then the detector sees it slowing down like a warm-up; its floor keeps setting
    # small new highs, but the flag goes once the detector has seen it slowing for SLOWING_S (or
    # at the latest once it has disagreed for DISAGREE_S).
    r = random.Random(10)
    x = [100 * MIB + 150 * MIB * math.log1p(i / 120) / math.log1p(1200 / 120) + noise(r)
         for i in range(1200)]  # fmt: skip
    t = [float(i) for i in range(len(x))]
    got = series_verdicts(t, x, range(10, len(x) + 1, 10))
    words = {n: v.verdict for n, v in got.items() if v is not None}
    flagged = first_leak(words)
    cleared_by = flagged + verdict_state.DISAGREE_S + 60
    late = {n: w for n, w in words.items() if n > cleared_by}
    assert set(late.values()) == {"no_leak"}, late
    why = next(v.reasons[0] for n, v in got.items() if n > flagged and v and v.verdict == "no_leak")
    assert "not a leak" in why, why
    assert "the way a cache fills" in why or "no steady growth for" in why, why


@pytest.mark.parametrize(
    "shape",
    [
        lambda i, r: 300 * MIB + noise(r),  # a large holder
        lambda i, r: 50 * MIB + (i % 40) / 40 * 80 * MIB,  # an 80 MB sawtooth
        lambda i, r: 80 * MIB + r.uniform(0, 6) * MIB,  # bursts, nothing kept
    ],
    ids=["holder", "sawtooth", "bursts"],
)
def test_healthy_processes_are_never_flagged(shape):
    r = random.Random(6)
    words = shown([shape(i, r) for i in range(600)])
    assert "leak" not in words.values(), words


def test_rising_comes_before_leak_and_is_not_a_leak():
    r = random.Random(7)
    x = [100 * MIB + i * 300 * KIB + noise(r) for i in range(300)]
    words = shown(x, every=1)
    first = first_leak(words)
    before = [w for n, w in words.items() if n < first]
    assert "rising" in before
    assert before[-1] == "rising"
    # never a flag on less than FLAG_MIN_WINDOW_S of history (n samples span n - 1 seconds)
    assert first - 1 >= verdict_state.FLAG_MIN_WINDOW_S


def test_reasons_say_why_a_flag_was_cleared():
    r = random.Random(8)
    x = [50 * MIB + min(i, 90) * MIB + noise(r, 8) for i in range(500)]
    t = [float(i) for i in range(len(x))]
    got = series_verdicts(t, x, range(10, len(x) + 1, 10))
    words = [v.verdict for v in got.values() if v is not None]
    assert "leak" in words
    last = got[len(x)]
    assert last is not None and last.verdict == "no_leak"
    assert last.reasons[0].startswith("a leak until ")
    assert "growth stopped" in last.reasons[0]


def test_the_verdict_for_sample_n_depends_on_the_samples_up_to_n_only():
    r = random.Random(9)
    x = [100 * MIB + (i > 100) * (i - 100) * 200 * KIB + noise(r) for i in range(400)]
    t = [float(i) for i in range(len(x))]
    whole = series_verdicts(t, x, range(30, 401, 37))
    for n, v in whole.items():
        alone = series_verdicts(t[:n], x[:n], [n])[n]
        assert alone == v


def test_analyze_on_the_first_n_samples_of_a_recording_gives_what_the_replay_showed(tmp_path):
    """The scorer's prefixes measure what a user sees: analyze(first N) == the screen at N."""
    r = random.Random(10)
    path = tmp_path / "rec.csv"
    n = 420
    with Recorder(path) as rec:
        for i, t in enumerate(range(n)):
            leaker = 80 * MIB + max(0, i - 50) * 180 * KIB + noise(r)
            breather = 60 * MIB + (i % 50) * 600 * KIB
            holder = 200 * MIB + noise(r, 4)
            rec.record(snap(1_700_000_000.0 + t, [proc(11, "leaker", int(leaker)),
                                                  proc(12, "breather", int(breather)),
                                                  proc(13, "holder", int(holder))]))  # fmt: skip
    monitor = Monitor(ReplaySampler(path), interval_s=1.0, judge_every_s=judge_every_for(1.0))
    monitor.judge_budget_s = float("inf")
    screen: dict[int, list[str]] = {11: [], 12: [], 13: []}
    for _ in range(n):
        frame = monitor.step()
        by_pid = {k[0]: v for k, v in frame.verdicts.items()}
        for pid, seen in screen.items():
            v = by_pid.get(pid)
            seen.append(v.verdict if v is not None else "collecting")
    assert "leak" in screen[11] and "leak" not in screen[13]
    rows = path.read_text().splitlines()
    header, body = rows[0], rows[1:]
    for cut in (45, 60, 90, 120, 150, 200, 300, n):
        part = tmp_path / f"first{cut}.csv"
        part.write_text("\n".join([header, *body[: 3 * cut]]) + "\n")
        results = analyze.judge_traces(analyze.load(str(part)).traces, None)
        for res in results:
            assert res.verdict.verdict == screen[res.trace.pid][cut - 1], (cut, res.trace.pid)


def test_analyze_json_names_rising_and_fail_on_leak_ignores_it(tmp_path, capsys):
    r = random.Random(11)
    x = [100 * MIB + i * 300 * KIB + noise(r) for i in range(300)]
    words = shown(x, every=1)
    n = next(k for k, w in words.items() if w == "rising")
    path = tmp_path / "rising.csv"
    path.write_text("t,rss\n" + "".join(f"{i},{int(v)}\n" for i, v in enumerate(x[:n])))
    assert analyze.main([str(path), "--format", "json", "--fail-on-leak"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "rising"


def test_an_oscillation_flagged_on_its_rise_is_cleared_as_it_gives_memory_back():
    # 200 MiB up and down over 4 minutes: the rise is flagged (nothing tells it from a leak in its
    # first minute); once the floor falls steadily for a minute the flag goes, well before it is
    # back below where it started or flat for CLEAR_S.
    r = random.Random(11)
    period = 240
    x = [500 * MIB + 100 * MIB * (1 - math.cos(2 * math.pi * i / period)) + noise(r)
         for i in range(480)]  # fmt: skip
    t = [float(i) for i in range(len(x))]
    got = series_verdicts(t, x, range(10, len(x) + 1, 10))
    words = {n: v.verdict for n, v in got.items() if v is not None}
    flagged = first_leak(words)
    assert flagged < period // 2
    peak = period // 2
    cleared = min(n for n, w in words.items() if n > flagged and w != "leak")
    assert cleared <= peak + 2 * verdict_state.FALL_S + 30, (cleared, words)
    why = got[cleared].reasons[0]
    assert "given back" in why, why

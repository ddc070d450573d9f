"""The labelled suites' stability numbers (eval.py's) in a few seconds per try, with the verdict
state machine's constants changed at will.

``eval.py --mode stability`` (``../shared/leak-traces``) runs ``toptui analyze`` on some 30 000
prefixes, about a minute per suite. What the screen shows after each prefix is what one replay of
the whole trace shows at that sample, and the detector's answers (``growth.judge``) do not depend
on the state machine that turns them into shown verdicts. So ``record`` plays every trace once
through :func:`toptui.engine.monitor.series_verdicts` (the screen's own history, judging schedule
and state machine) and keeps each judgement; ``score`` replays only the state machine over those
judgements, with any of ``toptui.analysis.verdict_state``'s constants overridden, and prints the
scorer's numbers. Without overrides the replay must give exactly the recorded verdicts at every
prefix (it says so, and exits 1 if not). A change to the detector itself needs a new ``record``.

The replay feeds the state machine the trace's own samples; the monitor feeds it its history,
which keeps only the last ``RECENT`` samples (3 minutes at 1 Hz) one by one. The state machine
reads the window back ``REF_S`` and ``FLOOR_S`` seconds, so an override of either beyond that is
an approximation (``score`` says so).

    .venv/bin/python scripts/verdict_sweep.py record                 # dev and dev2, ~2 min
    .venv/bin/python scripts/verdict_sweep.py score                  # the recorded state machine
    .venv/bin/python scripts/verdict_sweep.py score CONFIRM_S=5 -v   # and which traces changed
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import pickle
import sys
from collections.abc import Sequence
from multiprocessing import get_context
from pathlib import Path

from toptui.analysis import verdict_state
from toptui.analysis.growth import GrowthVerdict
from toptui.engine import monitor
from toptui.store.history import RECENT

TRACES = Path(__file__).resolve().parents[2] / "shared" / "leak-traces"
CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "toptui"
    / "verdict-sweep.pkl"
)
#: eval.py's stability schedule: every 10 samples to 300, every 30 to 1200, and the whole trace.
PREFIXES = [*range(30, 300, 10), *range(300, 1201, 30)]
#: eval.py counts no_leak prefixes from this length as frames (a "leak" there is a false frame).
FRAME_MIN = 60

Judgement = tuple[float, GrowthVerdict, bool]  # sample time, the detector's answer, had samples


class _Recording(verdict_state.VerdictState):
    """A VerdictState that keeps every judgement it is fed (in the recording process only)."""

    seen: list[Judgement] = []

    def update(self, t, raw, times, values):  # type: ignore[no-untyped-def]
        _Recording.seen.append((t, raw, len(times) > 0))
        return super().update(t, raw, times, values)


def read_trace(path: Path) -> tuple[list[float], list[float]]:
    rows = [line.split(",") for line in path.read_text().split()[1:]]
    return [float(a) for a, _ in rows], [float(b) for _, b in rows]


def prefixes(n: int) -> list[int]:
    return [k for k in PREFIXES if k < n] + [n]


def _record_one(path: Path) -> tuple[str, list[Judgement], dict[int, str]]:
    t, x = read_trace(path)
    _Recording.seen = []
    shown = monitor.series_verdicts(t, x, prefixes(len(t)))
    words = {k: v.verdict if v else "none" for k, v in shown.items()}
    return path.name, _Recording.seen, words


def record(suites: Sequence[Path], cache: Path, jobs: int) -> None:
    """Play every trace of each suite through the screen's replay once; keep its judgements."""
    data = {}
    # the monitor makes a VerdictState per series: make it a recording one (inherited by workers)
    was = monitor.VerdictState
    monitor.VerdictState = _Recording  # type: ignore[misc]
    try:
        for suite in suites:
            labels = json.loads((suite / "labels.json").read_text())
            paths = [suite / n for n in sorted(labels)]
            if jobs > 1:  # forked, so the workers see the recording class
                with get_context("fork").Pool(jobs) as pool:
                    got = pool.map(_record_one, paths, chunksize=4)
            else:  # in this process (no fork: the tests run it inside a threaded worker)
                got = [_record_one(p) for p in paths]
            traces = {n: (read_trace(suite / n), rec, words) for n, rec, words in got}
            data[suite.name] = (labels, traces)
            print(f"{suite.name}: {len(traces)} traces recorded", file=sys.stderr)
    finally:
        monitor.VerdictState = was  # type: ignore[misc]
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("wb") as f:
        pickle.dump(data, f)


def replay(t: list[float], x: list[float], judged: list[Judgement], n: int) -> dict[int, str]:
    """What a fresh state machine shows after each of the eval prefixes, fed these judgements."""
    state = verdict_state.VerdictState()
    wanted = prefixes(n)
    out: dict[int, str] = {}
    shown, w = "none", 0
    for at, raw, had in judged:
        i = bisect.bisect_right(t, at)  # the judgement saw the samples up to this one
        while w < len(wanted) and wanted[w] < i:  # shown after the last judgement before it
            out[wanted[w]] = shown
            w += 1
        got = state.update(at, raw, t[:i], x[:i]) if had else state.update(at, raw, (), ())
        shown = got.verdict
    for k in wanted[w:]:
        out[k] = shown
    return out


def _q(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p * (len(xs) - 1))))] if xs else float("nan")


def stability(labels: dict, shown: dict[str, dict[int, str]]) -> tuple[dict, dict]:
    """eval.py's stability numbers, and per trace what they rest on."""
    after, drops, held, post_n, false, frames, alarmed = [], 0, 0, 0, 0, 0, 0
    per: dict[str, object] = {}
    for name, seq in shown.items():
        lab, steps = labels[name], sorted(seq.items())
        if lab["label"] == "leak":
            first = next((k for k, v in steps if v == "leak" and k > lab["onset_s"]), None)
            post = [v for k, v in steps if first is not None and k > first]
            lost = [k for k, v in steps if first is not None and k > first and v != "leak"]
            if first is not None:
                after.append(first - lab["onset_s"])
            held += post.count("leak")
            post_n += len(post)
            drops += bool(lost)
            per[name] = (first, lost)
        else:
            late = [(k, v) for k, v in steps if k >= FRAME_MIN]
            flagged = [k for k, v in late if v == "leak"]
            frames += len(late)
            false += len(flagged)
            alarmed += bool(flagged)
            per[name] = flagged
    n_leak = sum(1 for n in shown if labels[n]["label"] == "leak")
    summary = {
        "dropped": f"{drops}/{n_leak}",
        "held": f"{held / max(1, post_n):.2%} ({held}/{post_n})",
        "alarmed": f"{alarmed}/{len(shown) - n_leak}",
        "false frames": f"{false / max(1, frames):.2%} ({false}/{frames})",
        "latency": f"{_q(after, 0.5):g}/{_q(after, 0.75):g}/{_q(after, 0.9):g}",
    }
    return summary, per


def score(cache: Path, overrides: dict[str, float], verbose: bool) -> int:
    with cache.open("rb") as f:
        try:
            data = pickle.load(f)
        except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as e:
            raise _CacheError(
                f"{cache}: not a recording of this version ({e}); run `record`"
            ) from e
    for name in ("REF_S", "FLOOR_S"):
        if overrides.get(name, 0.0) > RECENT:
            print(
                f"      ({name} beyond the {RECENT} samples the history keeps one by one: the "
                "replay only approximates the monitor)"
            )
    saved = {name: getattr(verdict_state, name) for name in overrides}
    try:
        for name, value in overrides.items():
            setattr(verdict_state, name, value)
        return _score(data, bool(overrides), verbose)
    finally:
        for name, value in saved.items():
            setattr(verdict_state, name, value)


def _score(data: dict, overridden: bool, verbose: bool) -> int:
    status = 0
    for suite, (labels, traces) in data.items():
        recorded = {n: words for n, (_, _, words) in traces.items()}
        shown = {n: replay(t, x, rec, len(t)) for n, ((t, x), rec, _) in traces.items()}
        same = sum(shown[n] == recorded[n] for n in shown)
        now, per = stability(labels, shown)
        print(f"{suite:5} " + "  ".join(f"{k} {v}" for k, v in now.items()))
        if not overridden:
            print(f"      replay equals the recorded screen verdicts on {same}/{len(shown)} traces")
            status |= same != len(shown)
        elif verbose:
            _, was = stability(labels, recorded)
            for n in sorted(per):
                if per[n] != was[n]:
                    what = f"{labels[n]['label']:7} {labels[n]['kind']:18}"
                    print(f"      {n} {what} {was[n]} -> {per[n]}")
    return status


class _CacheError(Exception):
    """The recording cannot be read: one line for the user."""


def _value(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    if not name.isupper() or not hasattr(verdict_state, name):
        raise argparse.ArgumentTypeError(f"not a verdict_state constant: {name}")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: not a number: {value!r}") from None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record", help="replay every trace once and keep its judgements")
    rec.add_argument("suites", nargs="*", type=Path, default=[TRACES / "dev", TRACES / "dev2"])
    rec.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    sc = sub.add_parser("score", help="the scores, with verdict_state constants overridden")
    sc.add_argument("overrides", nargs="*", type=_value, metavar="NAME=VALUE")
    sc.add_argument("-v", "--verbose", action="store_true", help="list the traces that changed")
    for p in (rec, sc):
        p.add_argument("--cache", type=Path, default=CACHE)
    args = ap.parse_args()
    try:
        if args.cmd == "record":
            record(args.suites, args.cache, args.jobs)
            return 0
        return score(args.cache, dict(args.overrides), args.verbose)
    except FileNotFoundError as e:
        hint = " (run `record` first?)" if args.cmd == "score" else ""
        print(f"verdict_sweep: {e.filename}: not found{hint}", file=sys.stderr)
        return 2
    except (_CacheError, OSError) as e:
        print(f"verdict_sweep: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

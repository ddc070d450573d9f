"""Detection latency of toptui's detector on the labelled suites, at three prefix schedules.

``../shared/leak-traces/eval.py`` feeds growing prefixes of each trace to a detector and reports
the first prefix called "leak", in samples after the leak's onset. Its code uses the prefixes
30, 60, 120, 180, 300, ... while its docstring and README list 30, 60, 90, 120, 180, 240, ...;
with no prefix between 60 and 120, a leak flagged at sample 61 and one flagged at 120 both count
as 120. This script runs the scorer unchanged except for its ``PREFIXES`` list, so the three
readings can be compared side by side:

- ``code``: the list as shipped in eval.py;
- ``documented``: the list its docstring and README give;
- ``every10``: every 10 samples up to 1500, which is as close to the true latency as the
  scorer's one-prefix-at-a-time walk gets (and the hardest on prefix alarms: 150 looks per trace).

    python scripts/leak_latency.py [--suites dev dev2] [--schedules code documented every10]

The suites are read from ``../shared/leak-traces`` beside the checkout (not part of this
repository); the script says so and exits 2 when they are not there.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT.parent / "shared" / "leak-traces"
DETECTOR = ROOT / "toptui" / "analysis" / "growth.py"

SCHEDULES = {
    "code": None,  # whatever eval.py itself holds
    "documented": [30, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1200, 1500],
    "every10": list(range(10, 1501, 10)),
}

FIGURES = {
    "median": re.compile(r"misses = inf.*?median (\S+)"),
    "p75": re.compile(r"misses = inf.*?p75 (\S+)"),
    "early": re.compile(r"early alarm\): (\d+)"),
    "prefix alarms": re.compile(r"alarm at some prefix: (\d+/\d+)"),
}


def load_scorer() -> object:
    spec = importlib.util.spec_from_file_location("leak_eval", TRACES / "eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(scorer: object, suite: str, prefixes: list[int] | None) -> dict[str, str]:
    """One latency run of the unmodified scorer, its printout parsed into the figures above."""
    original = scorer.PREFIXES
    if prefixes is not None:
        scorer.PREFIXES = prefixes
    argv = sys.argv
    sys.argv = [
        "eval.py",
        "--suite",
        str(TRACES / suite),
        "--mode",
        "latency",
        "--prefix-fp",
        "--py",
        f"{DETECTOR}:eval_verdict",
    ]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            scorer.main()
    finally:
        sys.argv = argv
        scorer.PREFIXES = original
    text = out.getvalue()
    return {k: (m.group(1) if (m := rx.search(text)) else "?") for k, rx in FIGURES.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suites", nargs="+", default=["dev", "dev2"])
    ap.add_argument("--schedules", nargs="+", choices=list(SCHEDULES), default=list(SCHEDULES))
    args = ap.parse_args()
    if not (TRACES / "eval.py").is_file():
        print(f"leak_latency: no scorer at {TRACES / 'eval.py'}", file=sys.stderr)
        return 2
    scorer = load_scorer()
    print(f"eval.py's own PREFIXES: {scorer.PREFIXES}")
    print(
        f"{'suite':6} {'schedule':11} {'median':>7} {'p75':>5} {'early':>6} {'prefix alarms':>14}"
    )
    for suite in args.suites:
        for name in args.schedules:
            got = run(scorer, suite, SCHEDULES[name])
            print(
                f"{suite:6} {name:11} {got['median']:>7} {got['p75']:>5} {got['early']:>6} "
                f"{got['prefix alarms']:>14}"
            )
    print("median/p75: samples after onset, misses counted as never; early: leak traces alarmed")
    print("before their onset; prefix alarms: no_leak traces called leak at some prefix")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""scripts/verdict_sweep.py: its replay of the state machine is what the screen's replay shows."""

from __future__ import annotations

import importlib.util
import json
import math
import pickle
from pathlib import Path

import pytest

from toptui.analysis import verdict_state
from toptui.engine import monitor
from toptui.engine.monitor import series_verdicts

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024.0 * 1024.0


def _load():
    spec = importlib.util.spec_from_file_location(
        "verdict_sweep", ROOT / "scripts" / "verdict_sweep.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


TRACES = {  # name -> (label, kind, rss at t)
    "trace_001.csv": ("leak", "leak_linear", lambda t: 200 * MIB + 300 * 1024.0 * t),
    "trace_002.csv": ("no_leak", "cache_warmup", lambda t: 200 * MIB + 90 * MIB * min(1, t / 90)),
    "trace_003.csv": ("leak", "leak_sawtooth",
                      lambda t: 200 * MIB + 200 * 1024.0 * t + 40 * MIB * ((t % 30) / 30)),
    "trace_004.csv": ("no_leak", "slow_oscillation",
                      lambda t: 300 * MIB + 60 * MIB * math.sin(2 * math.pi * t / 400)),
}  # fmt: skip


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    labels = {}
    for name, (label, kind, rss) in TRACES.items():
        rows = "".join(f"{t},{int(rss(t)) // 4096 * 4096}\n" for t in range(400))
        (tmp_path / name).write_text("t,rss\n" + rows)
        labels[name] = {"label": label, "kind": kind, "onset_s": 0, "hard": False}
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    return tmp_path


def test_replayed_verdicts_equal_the_screens_replay(suite: Path, tmp_path: Path, capsys) -> None:
    sweep = _load()
    cache = tmp_path / "sweep.pkl"
    sweep.record([suite], cache, jobs=1)
    assert sweep.score(cache, {}, verbose=False) == 0
    assert "replay equals the recorded screen verdicts on 4/4 traces" in capsys.readouterr().out
    # and each recorded verdict is the screen's own (series_verdicts) at that prefix
    for name in TRACES:
        t, x = sweep.read_trace(suite / name)
        want = series_verdicts(t, x, sweep.prefixes(len(t)))
        _, traces = pickle.loads(cache.read_bytes())[suite.name]
        _, judged, words = traces[name]
        assert words == {k: v.verdict for k, v in want.items()}
        assert sweep.replay(t, x, judged, len(t)) == words


def test_an_override_changes_what_is_shown(suite: Path, tmp_path: Path, capsys) -> None:
    sweep = _load()
    cache = tmp_path / "sweep.pkl"
    sweep.record([suite], cache, jobs=1)
    sweep.score(cache, {"FLAG_MIN_WINDOW_S": 200.0}, verbose=True)
    out = capsys.readouterr().out
    assert "trace_001.csv leak" in out  # the linear leak is flagged later with 200 s required
    assert verdict_state.FLAG_MIN_WINDOW_S == 60.0  # put back
    assert monitor.VerdictState is verdict_state.VerdictState

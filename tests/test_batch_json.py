"""Batch JSON frames: rows kept from the previous frame must still say exactly what json.dumps of
the whole frame says, for every kind of verdict, after processes change, and in ASCII."""

import json
import sys
import time
from dataclasses import replace

import pytest
from children import MemoryChild

from toptui.analysis.growth import GrowthVerdict
from toptui.commands.batch import JsonFrames, growth_json, process_fields
from toptui.engine.monitor import Frame, Monitor
from toptui.sampling.sampler import Sampler

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

LEAK = GrowthVerdict("leak", 1234.5678, 9.9e6, 321.25, 322, 0.97, 10.0, 0.0, ("floor rose",))
NO_LEAK = GrowthVerdict("no_leak", 0.0, -5.0, 60.0, 61, 0.9, None, 0.0, ("flat",))


def reference(frame: Frame, procs, history, ensure_ascii: bool) -> str:
    m = frame.snapshot.system.memory
    obj = {
        "time": round(frame.snapshot.t_wall, 3),
        "memory": {"total": m.total, "available": m.available, "free": m.free, "used": m.used,
                   "buffers": m.buffers, "cached": m.cached, "swap_total": m.swap_total,
                   "swap_free": m.swap_free},
        "processes": [
            {**process_fields(p),
             "growth": growth_json(frame.verdicts.get(p.key), len(history.get(p.key) or ()),
                                   float(m.available))}
            for p in procs
        ],
    }  # fmt: skip
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=ensure_ascii)


@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_kept_rows_write_what_json_dumps_writes(ensure_ascii: bool) -> None:
    with MemoryChild(start_mib=20) as child:
        mon = Monitor(Sampler(), interval_s=0.2, history_s=60, judge_every_s=0.2)
        to_json = JsonFrames(ensure_ascii)
        for tick in range(4):
            frame = mon.step()
            procs = list(frame.snapshot.procs)
            # every kind of growth object: collecting (none), no_leak, and a leak with an ETA
            keys = [p.key for p in procs]
            frame.verdicts.update({keys[0]: LEAK, keys[1]: NO_LEAK})
            procs[3] = replace(procs[3], name="wörker-é")  # not ASCII
            if tick == 3:  # a row that changed object between frames gets new text
                procs[2] = replace(procs[2], res=procs[2].res + 4096)
            line = to_json(frame, procs, mon.history)
            assert line == reference(frame, procs, mon.history, ensure_ascii)
            parsed = json.loads(line)
            assert any(p["pid"] == child.pid for p in parsed["processes"])
            assert parsed["processes"][0]["growth"]["exhaustion_s"] > 0
            time.sleep(0.2)
        assert line.isascii() == ensure_ascii


def test_families_in_batch_json():
    """``--families``: each iteration gets a ``families`` list of what family mode names, each
    entry with root, name, members (pids, root first), res (their RES summed), verdict and rate;
    without it there is no such key."""
    import io

    from test_family import MIB, Tree, monitor_for, pool

    from toptui.commands.batch import BatchOptions, run_batch

    # A pool of four workers keeping 400 B/s each, and a lone process: 15 minutes of samples.
    procs = [*pool(4, 400.0), (900, 1, "lone", lambda i: 30 * MIB)]
    mon = monitor_for(Tree(procs))
    for _ in range(900):
        mon.step()
    out = io.StringIO()
    run_batch(BatchOptions(iterations=3, delay_s=0.01, fmt="json", families=True), out, mon)
    frames = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(frames) == 3
    for frame in frames:
        (fam,) = frame["families"]
        assert set(fam) == {"root", "name", "members", "res", "verdict", "rate_bytes_per_s"}
        assert fam["root"] == 300 and fam["name"] == "pool"
        assert fam["members"] == [300, 301, 302, 303, 304]
        res = {p["pid"]: p["res"] for p in frame["processes"]}
        assert fam["res"] == sum(res[pid] for pid in fam["members"])
        assert fam["verdict"] == "leak"
        assert fam["rate_bytes_per_s"] == pytest.approx(1600, abs=400)
    # Without --families: no key, and the monitor judges no family.
    mon.families = False
    out = io.StringIO()
    run_batch(BatchOptions(iterations=1, delay_s=0.01, fmt="json"), out, mon)
    assert "families" not in json.loads(out.getvalue())
    assert mon.last.families is None


def test_families_from_the_command_line():
    import os
    import subprocess

    with MemoryChild(start_mib=8) as child:
        r = subprocess.run(
            [sys.executable, "-m", "toptui", "-b", "-n", "2", "-d", "0.2", "--format", "json",
             "--families", "-p", f"{os.getpid()},{child.pid}"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert r.returncode == 0, r.stderr
    frames = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(frames) == 2 and all(f["families"] == [] for f in frames)  # nothing grows yet

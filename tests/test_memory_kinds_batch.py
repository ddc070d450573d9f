"""``toptui -b --format json --mappings -p PID``: resident bytes by kind in each iteration, on a
real child that grows anonymous memory while the batch run watches it."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from children import WAIT_S, MemoryChild

from toptui.mapping_model import KINDS

TOPTUI = [sys.executable, "-m", "toptui"]
MIB = 1 << 20


def test_batch_json_mappings_name_the_growing_kind() -> None:
    with MemoryChild(4) as child:
        run = subprocess.Popen(
            [*TOPTUI, "-b", "-d", "0.2", "-n", "100000", "--format", "json", "--mappings",
             "-p", str(child.pid)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert run.stdout is not None
            first = json.loads(run.stdout.readline())
            child.grow(16)
            end = time.monotonic() + WAIT_S
            while True:  # each line is one iteration; the growth shows once one is after it
                frame = json.loads(run.stdout.readline())
                m = frame["processes"][0]["mappings"]
                if m.get("growing") or time.monotonic() > end:
                    break
        finally:
            run.kill()
            run.wait(timeout=WAIT_S)
    before = first["processes"][0]["mappings"]
    assert set(KINDS) <= before.keys() and "reason" not in before
    assert m["growing"]["kind"] == "anon" and m["growing"]["share"] > 0.9
    assert m["anon"] - before["anon"] >= 16 * MIB
    # The kinds add up to RES as top shows it (smaps' Rss and statm count the same pages).
    res = frame["processes"][0]["res"]
    assert abs(sum(m[k] for k in KINDS) - res) <= res * 0.05


def test_mappings_outside_batch_json_or_without_pids_is_refused() -> None:
    for args in (["-b", "--mappings", "-p", "1"], ["-b", "--format", "json", "--mappings"]):
        out = subprocess.run([*TOPTUI, *args], capture_output=True, text=True, timeout=WAIT_S)
        assert out.returncode == 2
        assert out.stderr.startswith("toptui: --mappings ")
        assert len(out.stderr.splitlines()) == 1

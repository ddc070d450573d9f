"""The whole program, in real time: a child leaking ~1 MiB/s beside one that is large and flat.

This is the promise of the README, checked as a script would check it: within 90 s of history,
``toptui -b --format json`` calls the leaker a leak and the flat process not.
"""

import json
import subprocess
import sys

import pytest
from children import MemoryChild, spawn_leaker

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]


def test_batch_json_flags_a_real_leak_within_90_seconds():
    leaker = spawn_leaker(1.0)
    try:
        with MemoryChild(start_mib=40) as flat:
            r = subprocess.run(
                [sys.executable, "-m", "toptui", "-b", "--format", "json", "-d", "1", "-n", "91",
                 "-p", f"{leaker.pid},{flat.pid}"],
                capture_output=True, text=True, timeout=180,
            )  # fmt: skip
    finally:
        leaker.kill()
        leaker.wait()
    assert r.returncode == 0, r.stderr
    frames = [json.loads(line) for line in r.stdout.splitlines()]
    # 91 samples 1 s apart: 90 s of history, counted in samples rather than measured on the
    # wall clock (where a loaded machine would add its delays to the last sample's time).
    assert len(frames) == 91

    def verdicts(pid: int) -> list[str]:
        return [p["growth"]["verdict"] for f in frames for p in f["processes"] if p["pid"] == pid]

    leak = verdicts(leaker.pid)
    assert "leak" in leak, leak
    assert leak[-1] == "leak"
    assert "leak" not in verdicts(flat.pid)
    last = next(p for p in frames[-1]["processes"] if p["pid"] == leaker.pid)
    growth = last["growth"]
    assert growth["rate_bytes_per_s"] == pytest.approx(1024 * 1024, rel=0.35)
    available = frames[-1]["memory"]["available"]
    assert growth["exhaustion_s"] == pytest.approx(available / growth["rate_bytes_per_s"], rel=0.01)

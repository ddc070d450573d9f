"""Measurements that need a process of their own: a clean RSS, an in-process CPU clock.

``python benchmarks/workers.py sampler N`` and ``python benchmarks/workers.py monitor MIX`` print
one JSON object; benchmarks/run.py starts them while its idle processes exist.
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def sampler(samples: int, moved: bool = False) -> dict:
    """CPU per Sampler.sample() over every process, after the first sweeps (first sight).

    ``moved``: as if every process had run since the last sweep (each one's remembered ``stat``
    is forgotten before a sweep, outside the clock), so nothing can be reused: both files read
    and parsed, a new row built, for every process.
    """
    from toptui.sampling.sampler import Sampler

    s = Sampler()
    s.sample()
    s.sample()
    cpu = 0.0
    for _ in range(samples):
        if moved:
            for info in s._by_pid.values():
                info.stat = b""
        t0 = time.process_time()
        snap = s.sample()
        cpu += time.process_time() - t0
    return {"ms": cpu / samples * 1000, "procs": len(snap.procs)}


def monitor(mix: str, ticks: int = 60, history_s: int = 3600) -> dict:
    """An hour of synthetic history for every real process, then judging and memory.

    Batch mode's modules are loaded (not Textual's), the Monitor is the screen's (1 s interval,
    judged every 5 s), its sampler has swept the real processes, and the history is filled with
    ``history_s`` synthetic ticks keyed by those processes. Judging is then measured over
    ``ticks`` further ticks, after one unlimited round (in real life each process is first judged
    young, cheaply); last, three real sweeps, and the RSS.
    """
    from synthetic import behaviours

    import toptui.commands.batch
    import toptui.commands.cli  # with batch, what batch mode loads: the RSS is batch mode's
    from toptui.engine.monitor import DUE_SHARE
    from toptui.model import Snapshot

    mon = toptui.commands.batch.Monitor(
        interval_s=1.0, history_s=float(history_s)
    )  # the screen's settings
    real = mon.sampler.sample()
    beh = behaviours(list(real.procs), mix)
    t0 = time.monotonic() - history_s - ticks - 60
    system = real.system
    hist = mon.history
    c = time.process_time()
    for i in range(history_s):
        hist.ingest(Snapshot(t0 + i, time.time(), 1.0, system, tuple(b.step(i) for b in beh)))
    fill_s = time.process_time() - c

    def snap(i: int) -> Snapshot:
        return Snapshot(t0 + i, time.time(), 1.0, system, tuple(b.step(i) for b in beh))

    budget, mon.judge_budget_s = mon.judge_budget_s, float("inf")
    mon.ingest(snap(history_s))
    mon.judge_budget_s = budget

    ingest_cpu = 0.0
    real_ingest = hist.ingest

    def timed_ingest(s: Snapshot) -> None:
        nonlocal ingest_cpu
        c = time.thread_time()
        real_ingest(s)
        ingest_cpu += time.thread_time() - c

    hist.ingest = timed_ingest  # type: ignore[method-assign]
    per_tick: list[float] = []
    judged0 = mon.judged
    for i in range(history_s + 1, history_s + 1 + ticks):
        s = snap(i)  # made outside the clock
        before = ingest_cpu
        c = time.thread_time()
        mon.ingest(s)
        per_tick.append(time.thread_time() - c - (ingest_cpu - before))
    hist.ingest = real_ingest  # type: ignore[method-assign]
    full = (mon.judged - judged0) / ticks
    now = t0 + history_s + ticks
    # The monitor keeps when each process is next due (its last judgement's sample + the gap).
    gap = max(0.0, mon.judge_every_s - DUE_SHARE * mon.interval_s)
    ages = [now - (at - gap) for at in mon._due_at.values()]
    for _ in range(3):
        mon.step()
    arrays = sum(h.nbytes for h in map(hist.get, hist.keys()) if h is not None)
    per_tick.sort()
    return {
        "procs": len(real.procs),
        "judge_ms": 1000 * sum(per_tick) / ticks,
        "judge_p95_ms": 1000 * per_tick[int(0.95 * (ticks - 1))],
        "ingest_ms": 1000 * ingest_cpu / ticks,
        "full_per_tick": full,
        "max_age_s": max(ages) if ages else 0.0,
        "fill_s": fill_s,
        "rss_mb": _status_mb("VmRSS"),
        "hwm_mb": _status_mb("VmHWM"),
        "history_arrays_mb": arrays / 2**20,
    }


def main(argv: list[str]) -> int:
    what = argv[0]
    if what == "sampler":
        out = sampler(int(argv[1]), moved=argv[2:] == ["moved"])
    elif what == "monitor":
        out = monitor(argv[1])
    else:
        raise SystemExit(f"unknown worker {what!r}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

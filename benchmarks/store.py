"""Issue 16's store figures: its size for 2000 processes over an hour, what keeping it costs, and
the screen's launch to its first full frame from it (target: within 1 s).

With ~2000 idle processes alive (benchmarks/procs.py), a worker process writes an hour of
synthetic 1 s history keyed by those real processes (benchmarks/synthetic.py's realistic mix)
through the serve's own path: the Monitor (judging within its budget) and the StoreKeeper
(segments, rotation, compression, a checkpoint every 10 s), the last checkpoint 10 ticks before
the end (the most rows a launch has to replay on top of it). Then:

- the store's bytes on disk (segments, checkpoint), and the keeper's CPU per tick and per
  checkpoint during the fill;
- in a fresh process: the monitor's first step from that store (read the checkpoint, restore
  the processes alive, replay the tail, sample, judge what is due), CPU and wall;
- ``toptui -d 1 --state-dir DIR`` launched in a 200×50 pty until its first full frame
  (benchmarks/targets.py's first_frame_s), beside ``toptui -d 1 --no-state``, interleaved,
  medians of 5.

Run alone: ``.venv/bin/python benchmarks/store.py [--processes 2000] [--seconds 3600]``;
``make bench`` (benchmarks/run.py) reports the same rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

LAUNCH_S = 1.0  # issue 16: the first frame within 1 s with an hour of 2000 processes stored
TAIL_TICKS = 10  # = CHECKPOINT_S at 1 s: the rows after the last checkpoint, at most
REPEATS = 5


def fill(directory: str, history_s: int) -> dict:
    """Worker: an hour of synthetic history for every real process, kept as serve keeps it."""
    from synthetic import behaviours

    from toptui.engine.monitor import Monitor, judge_every_for
    from toptui.engine.state import StoreKeeper
    from toptui.model import Snapshot

    mon = Monitor(interval_s=1.0, history_s=3600.0, judge_every_s=judge_every_for(1.0))
    real = mon.sampler.sample()
    beh = behaviours(list(real.procs), "realistic")
    keeper = StoreKeeper(directory, mon, lambda line: print(line, file=sys.stderr))
    mono0 = time.monotonic() - history_s - 5
    wall0 = time.time() - history_s - 5
    write_cpu = checkpoint_cpu = 0.0
    checkpoints = 0
    c0 = time.process_time()
    last_checkpoint_at = history_s - TAIL_TICKS
    for i in range(history_s):
        procs = tuple(b.step(i) for b in beh)
        frame = mon.ingest(Snapshot(mono0 + i, wall0 + i, 1.0, real.system, procs))
        if i >= last_checkpoint_at:
            keeper._next_checkpoint = float("inf")  # the tail: rows after the last checkpoint
        before = keeper.checkpoints
        c = time.thread_time()
        if i == last_checkpoint_at:
            keeper.writer.record(frame.snapshot)
            keeper.checkpoint()
        else:
            keeper.after(frame)
        took = time.thread_time() - c
        if keeper.checkpoints > before:
            checkpoint_cpu += took
            checkpoints += 1
        else:
            write_cpu += took
    # As a running serve has it at a launch: the newest segment being written, not compressed,
    # with up to TAIL_TICKS rows after the checkpoint.
    keeper.writer.release(compress=False)
    fill_s = time.process_time() - c0
    files = {p.name: p.stat().st_size for p in Path(directory).iterdir()}
    return {
        "procs": len(real.procs),
        "fill_cpu_s": fill_s,
        "write_ms_per_tick": 1000 * write_cpu / (history_s - checkpoints),
        "checkpoint_ms": 1000 * checkpoint_cpu / max(1, checkpoints),
        "checkpoints": checkpoints,
        "segments_bytes": sum(v for k, v in files.items() if k.startswith("history-")),
        "segments": sum(1 for k in files if k.startswith("history-")),
        "checkpoint_bytes": files.get("checkpoint", 0),
    }


def first_step(directory: str) -> dict:
    """Worker: what the screen's sampling thread does before its first frame, from the store."""
    from toptui.engine.monitor import Monitor, judge_every_for
    from toptui.engine.state import lazy_store

    mon = Monitor(interval_s=1.0, history_s=3600.0, judge_every_s=judge_every_for(1.0))
    mon.preload = lazy_store([directory], lambda line: print(line, file=sys.stderr))
    w, c = time.perf_counter(), time.process_time()
    frame = mon.step()
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    assert mon.restored is not None
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "restored": mon.restored.restored,
        "replayed": mon.restored.replayed,
        "verdicts": len(frame.verdicts),
        "procs": len(frame.snapshot.procs),
    }


def _worker(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return json.loads(out.stdout)


def measure(history_s: int = 3600) -> list:
    """The rows (targets.Row), with the idle processes already running."""
    import targets

    rows = []
    with tempfile.TemporaryDirectory(prefix="toptui-bench-store-") as tmp:
        store = os.path.join(tmp, "store")
        filled = _worker("fill", store, str(history_s))
        n = filled["procs"]
        total = filled["segments_bytes"] + filled["checkpoint_bytes"]
        rows.append(targets.Row(
            f"store size, {n} procs, {history_s / 3600:g} h at 1 s", f"{total / 2**20:6.1f} MiB",
            0.0, "(the README's figure)",
            f"{filled['segments']} segments {filled['segments_bytes'] / 2**20:.1f} MiB gzip'd, "
            f"checkpoint {filled['checkpoint_bytes'] / 2**20:.1f} MiB"))  # fmt: skip
        rows.append(targets.Row(
            f"store keeping, {n} procs at 1 s", f"{filled['write_ms_per_tick']:5.2f} ms/tick",
            0.0, "(information)",
            f"+ {filled['checkpoint_ms']:.0f} ms per checkpoint every 10 s "
            f"({filled['checkpoints']} taken); fill {filled['fill_cpu_s']:.0f} s CPU"))  # fmt: skip
        step = _worker("first-step", store)
        rows.append(targets.Row(
            f"first step from the store, {n} procs", f"{step['wall_s']:.3f} s wall",
            0.0, "(information)",
            f"{step['cpu_s']:.3f} s CPU; restored {step['restored']}, replayed "
            f"{step['replayed']} ticks, {step['verdicts']} verdicts"))  # fmt: skip
        homes = targets.Homes(Path(tmp))
        for sub in ("config", "state", "data", "cache"):
            (homes.root / sub).mkdir()
        env = targets.cached_bytecode_env(homes.env(), str(homes.root / "pycache"))
        env["COLUMNS"] = "200"
        toptui = targets.toptui_path()
        cmds = {"store": [toptui, "-d", "1", "--state-dir", store],
                "none": [toptui, "-d", "1", "--no-state"]}  # fmt: skip
        targets.first_frame_s(cmds["none"], env)  # fills the bytecode cache
        launch = {k: statistics.median(v) for k, v in
                  targets.launch_times(cmds, env, REPEATS).items()}  # fmt: skip
        rows.append(targets.Row(
            f"launch -> first full frame from an hour's store, {n} procs",
            f"{launch['store']:.3f} s", launch["store"] / LAUNCH_S, f"<= {LAUNCH_S} s",
            f"without the store {launch['none']:.3f} s; median of {REPEATS}"))  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=2000)
    ap.add_argument("--seconds", type=int, default=3600)
    ap.add_argument("--worker", nargs="+")
    args = ap.parse_args(argv)
    if args.worker:
        what, *rest = args.worker
        out = fill(rest[0], int(rest[1])) if what == "fill" else first_step(rest[0])
        print(json.dumps(out))
        return 0
    import targets
    from procs import IdleProcesses

    with IdleProcesses(total=args.processes):
        print(f"load before: {os.getloadavg()}", flush=True)
        rows = measure(args.seconds)
        for row in rows:
            targets.print_row(row)
        print(f"load after: {os.getloadavg()}", flush=True)
    return 0 if all(r.met for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

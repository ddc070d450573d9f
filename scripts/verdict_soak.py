"""Verdict soak: how stable are toptui's shown verdicts beside real processes, over minutes?

The detector is scored on labelled traces (``docs/detector.md``); this measures what a user would
see instead: ``toptui -b -d 1 --format json -p PIDS`` runs beside eight real child processes for
``--minutes`` (10 by default), and every child's verdict is read from every JSON line. The children
are Python processes that really write every byte they keep (``b"x" * n`` kept in a list), and
give memory back through anonymous ``mmap`` closed with ``munmap``, so RES really drops:

====  ============  ==========================================================================
  #   name          behaviour
====  ============  ==========================================================================
  1   steady        leaks 200 KiB/s
  2   fast-start    80 MB in the first 60 s, then leaks 230 KiB/s
  3   slowing       leaks 165 KiB/s for 3 minutes, then 100 KiB/s
  4   gc-like       leaks 230 KiB/s; a temporary buffer grows to 18 MB and is freed every 80 s
  5   transients    leaks 250 KiB/s; each second 0–6 MiB is allocated, held a moment, freed
  6   holder        allocates 300 MB once, then idle                                (healthy)
  7   sawtooth      allocates up to 80 MB over 40 s, then frees it all, repeatedly  (healthy)
  8   warm-up       fills 150 MB in a straight line over 60 s, then flat            (healthy)
====  ============  ==========================================================================

Children 1–5 leak for the whole run. All schedules are functions of the time since a common
origin (so a busy machine delays a child's allocations, never shifts its plan), and the times
reported are seconds since that origin. For each child the script counts:

- ``first leak``: when ``leak`` was first shown;
- ``changes``: how often the verdict changed from one tick to the next (``collecting`` ->
  ``no_leak`` counts);
- ``lost``: how often a shown ``leak`` turned into anything else (for a leaker that is a flag it
  should have kept);
- ``leak ticks``: ticks that showed ``leak`` (for a healthy child each one is a false alarm);
- for the warm-up, how long after its level-off (60 s) ``leak`` was last shown.

It prints one table row per child, then each child's verdicts as runs (``leak 63-600s``). With
``--json FILE`` the raw per-tick sequences (time, verdict, RES, rate) are saved too. Exit status 0
when the run completed, 1 when toptui could not be run or ended early, 130 on Ctrl+C (after
printing what was seen so far). Children and toptui are always ended on the way out.

    .venv/bin/python scripts/verdict_soak.py --minutes 10 [--json verdicts.json]
    make verdict-soak MINUTES=10

Linux only (children name themselves through /proc/self/comm). Standard library only; toptui is
used through its command line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import mmap
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KIB = 1024
MIB = 1024 * 1024
MB = 1_000_000
TICK_S = 0.1  # how often a child catches up with its plan
START_DELAY_S = 1.5  # children and toptui start before the origin; the plans start at it
BLOCK = b"x" * (64 * KIB)  # written into mmap buffers, so every byte of them is touched
WARM_UP_LEVEL_OFF_S = 60.0


# -- the children ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    healthy: bool
    behaviour: str


KINDS = [
    Kind("steady", False, "leaks 200 KiB/s"),
    Kind("fast-start", False, "80 MB in 60 s, then leaks 230 KiB/s"),
    Kind("slowing", False, "leaks 165 KiB/s for 3 min, then 100 KiB/s"),
    Kind("gc-like", False, "leaks 230 KiB/s + 18 MB buffer freed every 80 s"),
    Kind("transients", False, "leaks 250 KiB/s + 0-6 MiB for a moment each second"),
    Kind("holder", True, "300 MB once, then idle"),
    Kind("sawtooth", True, "80 MB over 40 s, then all freed, repeatedly"),
    Kind("warm-up", True, "150 MB in a line over 60 s, then flat"),
]


def kept_bytes(kind: str, t: float) -> int:
    """How many bytes the child keeps (never frees) by ``t`` seconds after the origin."""
    t = max(0.0, t)
    if kind == "steady":
        return int(200 * KIB * t)
    if kind == "fast-start":
        return int(80 * MB * min(t, 60.0) / 60.0 + 230 * KIB * max(0.0, t - 60.0))
    if kind == "slowing":
        return int(165 * KIB * min(t, 180.0) + 100 * KIB * max(0.0, t - 180.0))
    if kind == "gc-like":
        return int(230 * KIB * t)
    if kind == "transients":
        return int(250 * KIB * t)
    if kind == "holder":
        return 300 * MB
    if kind == "sawtooth":
        return 0
    if kind == "warm-up":
        return int(150 * MB * min(t, WARM_UP_LEVEL_OFF_S) / WARM_UP_LEVEL_OFF_S)
    raise ValueError(kind)


class Buffer:
    """Anonymous memory that is given back to the kernel (munmap) when closed."""

    def __init__(self, size: int) -> None:
        self.map = mmap.mmap(-1, max(size, mmap.PAGESIZE))
        self.filled = 0

    def fill_to(self, n: int) -> None:
        n = min(n, len(self.map))
        while self.filled < n:
            step = min(len(BLOCK), n - self.filled)
            self.map[self.filled : self.filled + step] = BLOCK[:step]
            self.filled += step

    def close(self) -> None:
        self.map.close()


def run_child(kind: str, origin: float, parent: int) -> None:
    """A child's whole life: follow ``kind``'s plan until the parent goes away or kills it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl+C: end quietly, the parent reports
    with contextlib.suppress(OSError), open("/proc/self/comm", "w") as f:
        f.write(f"vs-{kind}"[:15])
    kept: list[bytes] = []
    have = 0
    temp: Buffer | None = None  # gc-like's growing buffer, sawtooth's tooth
    cycle = -1
    burst: Buffer | None = None  # transients' short-lived allocation
    burst_second = -1
    burst_end = 0.0
    rng = random.Random(os.getpid())
    time.sleep(max(0.0, origin - time.time()))
    while os.getppid() == parent:
        t = time.time() - origin
        want = kept_bytes(kind, t)
        if want > have:
            kept.append(b"x" * (want - have))
            have = want
        if kind in ("gc-like", "sawtooth"):
            period, top = (80.0, 18 * MB) if kind == "gc-like" else (40.0, 80 * MB)
            if int(t // period) != cycle:
                cycle = int(t // period)
                if temp is not None:
                    temp.close()  # all of it given back at once
                temp = Buffer(top)
            temp.fill_to(int(top * (t % period) / period))
        elif kind == "transients":
            if burst is not None and t >= burst_end:
                burst.close()
                burst = None
            if int(t) != burst_second:
                burst_second = int(t)
                size = rng.randrange(0, 6 * MIB + 1)
                if burst is not None:
                    burst.close()
                burst = Buffer(size)
                burst.fill_to(size)
                burst_end = burst_second + rng.uniform(0.1, 0.9)
        time.sleep(TICK_S)


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Track:
    """One child as toptui showed it."""

    index: int
    kind: Kind
    pid: int
    #: (seconds since the origin, verdict, RES bytes, rate in bytes/s), one per toptui frame
    ticks: list[tuple[float, str, int, float]] = field(default_factory=list)


def spawn_children(origin: float) -> list[subprocess.Popen]:
    children = []
    for kind in KINDS:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind.name,
               "--origin", repr(origin), "--parent", str(os.getpid())]  # fmt: skip
        # Own session: a Ctrl+C reaches only this script, which ends them in order.
        children.append(subprocess.Popen(cmd, start_new_session=True))
    return children


def end_process(p: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    if p.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            p.send_signal(sig)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            p.kill()
        p.wait()


def read_frames(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def run(minutes: float) -> tuple[list[Track], list[str], bool]:
    """Run the children and toptui; return the tracks, problems, and whether it was cut short."""
    origin = time.time() + START_DELAY_S
    deadline = origin + minutes * 60
    children: list[subprocess.Popen] = []
    top: subprocess.Popen | None = None
    problems: list[str] = []
    interrupted = False
    tracks: list[Track] = []
    previous_term = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        children = spawn_children(origin)  # one per kind, in order
        pairs = zip(KINDS, children, strict=True)
        tracks = [Track(i + 1, kind, c.pid) for i, (kind, c) in enumerate(pairs)]
        by_pid = {tr.pid: tr for tr in tracks}
        pids = ",".join(str(tr.pid) for tr in tracks)
        cmd = [sys.executable, "-m", "toptui", "-b", "-d", "1", "--format", "json", "-p", pids]
        top = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)  # fmt: skip
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=read_frames, args=(top.stdout, lines), daemon=True).start()
        frames = 0
        missing: set[int] = set()
        next_report = origin + 60
        while time.time() < deadline:
            try:
                line = lines.get(timeout=max(0.05, min(5.0, deadline - time.time())))
            except queue.Empty:
                continue
            if line is None:
                problems.append(f"toptui ended early with status {top.wait()}")
                break
            try:
                frame = json.loads(line)
            except ValueError as exc:
                problems.append(f"line {frames + 1} of toptui's output is not JSON: {exc}")
                continue
            frames += 1
            t = round(frame["time"] - origin, 3)
            for p in frame["processes"]:
                tr = by_pid.get(p["pid"])
                if tr is not None:
                    g = p["growth"]
                    tr.ticks.append((t, g["verdict"], p["res"], g["rate_bytes_per_s"]))
            for tr in tracks:
                if t > 0 and tr.index not in missing and (not tr.ticks or tr.ticks[-1][0] != t):
                    missing.add(tr.index)  # said once per child
                    problems.append(f"child {tr.index} ({tr.kind.name}) not shown at {t:.0f}s")
            if time.time() >= next_report:
                next_report += 60
                now = "  ".join(f"{tr.index}:{tr.ticks[-1][1] if tr.ticks else '-'}"
                                for tr in tracks)  # fmt: skip
                print(f"{t:5.0f}s  {frames} frames  {now}", flush=True)
        for c, tr in zip(children, tracks, strict=True):
            if c.poll() is not None:
                problems.append(f"child {tr.index} ({tr.kind.name}) died: status {c.returncode}")
    except KeyboardInterrupt:
        interrupted = True
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        if top is not None:
            end_process(top, signal.SIGTERM)
            if top.stderr is not None:
                err = top.stderr.read().strip()
                if err:
                    problems.append(f"toptui wrote to stderr: {err[:300]}")
        for c in children:
            end_process(c)
    if not any(tr.ticks for tr in tracks) and not interrupted:
        problems.append("toptui showed none of the children")
    return tracks, problems, interrupted


# -- the counts ------------------------------------------------------------------------------


def runs(ticks: list[tuple[float, str, int, float]]) -> list[tuple[str, float, float]]:
    """The verdicts as (verdict, first t, last t) runs."""
    out: list[tuple[str, float, float]] = []
    for t, v, _, _ in ticks:
        if out and out[-1][0] == v:
            out[-1] = (v, out[-1][1], t)
        else:
            out.append((v, t, t))
    return out


def counts(tr: Track) -> dict[str, object]:
    verdicts = [v for _, v, _, _ in tr.ticks]
    first_leak = next((t for t, v, _, _ in tr.ticks if v == "leak"), None)
    changes = sum(a != b for a, b in pairwise(verdicts))
    lost = sum(a == "leak" and b != "leak" for a, b in pairwise(verdicts))
    leak_ticks = verdicts.count("leak")
    after_first = [v for t, v, _, _ in tr.ticks if first_leak is not None and t >= first_leak]
    note = ""
    if tr.kind.name == "warm-up":
        last_leak = max((t for t, v, _, _ in tr.ticks if v == "leak"), default=None)
        if last_leak is None:
            note = "never shown leak"
        else:
            note = f"last leak {last_leak - WARM_UP_LEVEL_OFF_S:.0f}s after level-off (60s)"
    elif not tr.kind.healthy and first_leak is not None:
        share = after_first.count("leak") / len(after_first)
        note = f"leak on {share:.0%} of ticks after first leak"
    return {
        "first_leak": first_leak,
        "changes": changes,
        "lost": lost,
        "leak_ticks": leak_ticks,
        "ticks": len(verdicts),
        "end": verdicts[-1] if verdicts else "-",
        "res_end": tr.ticks[-1][2] if tr.ticks else 0,
        "note": note,
    }


def report(tracks: list[Track], minutes: float) -> None:
    head = ("#", "child", "expect", "pid", "first leak", "changes", "lost leak", "leak ticks",
            "ticks", "RES end", "at end", "note")  # fmt: skip
    rows = []
    for tr in tracks:
        c = counts(tr)
        first = "never" if c["first_leak"] is None else f"{c['first_leak']:.0f}s"
        rows.append((str(tr.index), tr.kind.name, "healthy" if tr.kind.healthy else "leak",
                     str(tr.pid), first, str(c["changes"]),
                     "-" if tr.kind.healthy else str(c["lost"]), str(c["leak_ticks"]),
                     str(c["ticks"]), f"{c['res_end'] / MIB:.0f}M", str(c["end"]),
                     str(c["note"])))  # fmt: skip
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    right = {0, 3, 4, 5, 6, 7, 8, 9}

    def line(cells: tuple[str, ...]) -> str:
        cols = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in cols).rstrip()

    print()
    print(f"verdict soak: {minutes:g} min, toptui -b -d 1 --format json -p <8 children>; "
          "times are seconds since the children's common start")  # fmt: skip
    print(line(head))
    print(line(tuple("-" * w for w in widths)))
    for r in rows:
        print(line(r))
    print()
    print("behaviour:")
    for tr in tracks:
        print(f"  {tr.index} {tr.kind.name:<11} {tr.kind.behaviour}")
    print()
    print("verdicts over time (first-last tick of each run):")
    for tr in tracks:
        parts = [f"{v} {a:.0f}-{b:.0f}s" for v, a, b in runs(tr.ticks)]
        if len(parts) > 24:
            parts = [*parts[:12], f"... {len(parts) - 24} more ...", *parts[-12:]]
        print(f"  {tr.index} {tr.kind.name:<11} " + (", ".join(parts) or "(not seen)"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="how long (default 10)")
    p.add_argument("--json", type=Path, metavar="FILE", help="save the raw verdict sequences")
    p.add_argument("--child", choices=[k.name for k in KINDS], help=argparse.SUPPRESS)
    p.add_argument("--origin", type=float, help=argparse.SUPPRESS)
    p.add_argument("--parent", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        run_child(args.child, args.origin, args.parent)
        return 0
    if args.minutes <= 0:
        p.error("--minutes must be more than 0")
    tracks, problems, interrupted = run(args.minutes)
    report(tracks, args.minutes)
    if args.json is not None:
        data = {
            "minutes": args.minutes,
            "tick_fields": ["t_s", "verdict", "res_bytes", "rate_bytes_per_s"],
            "children": [
                {"index": tr.index, "name": tr.kind.name, "healthy": tr.kind.healthy,
                 "behaviour": tr.kind.behaviour, "pid": tr.pid, "counts": counts(tr),
                 "ticks": tr.ticks}
                for tr in tracks
            ],
        }  # fmt: skip
        args.json.write_text(json.dumps(data) + "\n")
        print(f"\nraw sequences: {args.json}")
    for msg in problems:
        print(f"problem: {msg}")
    if interrupted:
        print("interrupted: the counts above cover only part of the run")
        return 130
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

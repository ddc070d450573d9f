"""Soak: run ``toptui -b --format json --record`` for a long time under process churn, and judge
toptui's own memory with toptui's own detector.

A monitor is opened when a machine is already in trouble, often for hours; a monitor that leaks
itself would end up as the process it should be pointing at. This script:

1. starts a churn of short-lived processes (``sh -c true``, forks that rename themselves and exit,
   threads that start and end: ``--rate`` births per second, 250 by default);
2. runs ``toptui -b -d DELAY --format json --record FILE`` beside it, parsing every JSON line
   (a line that does not parse, or a row whose name is not its pid's, fails the soak);
3. samples toptui's RSS from /proc/PID/statm every few seconds;
4. ends toptui with SIGTERM (it must exit 0, leaving the recording with whole lines only), then
   judges the RSS series with ``toptui.analysis.growth.judge`` and the toptui rows of the
   recording with ``toptui analyze``; both must say ``no_leak``.

Exit status 0 when everything held, 1 otherwise. ``--churn-only`` runs just the churn (the tests
use it). Linux only: the churn names its children through /proc/self/comm.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024
# Churn children rename themselves to this prefix + their pid: a row showing such a name under
# another pid is a row that mixes two processes' fields.
CHURN_PREFIX = "k"
WARM_UP_S = 10.0


# -- the churn -------------------------------------------------------------------------------


def _thread_churn(rate: float, parent: int) -> None:
    """Threads that start and end at once: tasks come and go inside one process."""
    period = 1.0 / rate
    while os.getppid() == parent:  # ends with the churn, however that ended
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
        time.sleep(period)


def _forked_child() -> None:
    """In a forked child: take the name ``k<pid>``, live a little, exit without cleanup."""
    try:
        fd = os.open("/proc/self/comm", os.O_WRONLY)
        os.write(fd, f"{CHURN_PREFIX}{os.getpid()}".encode())
        os.close(fd)
        time.sleep(random.uniform(0.0, 0.2))  # some live long enough for a sweep to see them
    finally:
        os._exit(0)


def churn(rate: float) -> None:
    """Spawn ``rate`` processes per second until killed; print ``births N`` every second.

    Half are ``sh -c true`` (posix_spawn: born and gone in a millisecond), half are forks that
    rename themselves and exit within 0.2 s; a separate process starts and ends ``rate / 2``
    threads per second. Children are reaped every 50 ms, so there are always a few zombies.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the finally below runs
    parent = os.getpid()
    threads = os.fork()
    if threads == 0:
        try:
            _thread_churn(max(1.0, rate / 2), parent)
        finally:
            os._exit(0)
    sh = ["sh", "-c", "true"]
    env = dict(os.environ)
    period = 1.0 / rate
    births = 0
    t0 = next_report = time.monotonic()
    next_reap = t0
    i = 0
    try:
        while True:
            i += 1
            if i % 2:
                try:
                    os.posix_spawnp("sh", sh, env)
                    births += 1
                except OSError:
                    pass  # out of pids or memory: that is the kind of machine toptui must bear
            else:
                try:
                    pid = os.fork()
                except OSError:
                    pid = -1
                if pid == 0:
                    _forked_child()
                births += pid > 0
            now = time.monotonic()
            if now >= next_reap:
                next_reap = now + 0.05
                while True:
                    try:
                        done, _ = os.waitpid(-1, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if done == 0:
                        break
            if now >= next_report:
                print(f"births {births}", flush=True)
                births = 0
                next_report += 1.0
            time.sleep(max(0.0, t0 + i * period - time.monotonic()))
    finally:
        os.kill(threads, signal.SIGKILL)


def start_churn(rate: float) -> subprocess.Popen:
    """The churn in its own process group (``os.killpg(p.pid, SIGKILL)`` ends all of it)."""
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--churn-only", "--rate", str(rate)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def stop_churn(p: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    if p.stdout is not None:
        p.stdout.close()


# -- the soak --------------------------------------------------------------------------------


@dataclass
class Watch:
    """What the reader thread saw on toptui's stdout."""

    lines: int = 0
    bad: list[str] = field(default_factory=list)
    own_rows: int = 0


def read_json(stream, watch: Watch, own_pid: int) -> None:
    for line in stream:
        watch.lines += 1
        try:
            frame = json.loads(line)
        except ValueError as exc:
            watch.bad.append(f"line {watch.lines} is not JSON: {exc}")
            continue
        for p in frame["processes"]:
            name = p["name"]
            if name.startswith(CHURN_PREFIX) and name[1:].isdigit() and name[1:] != str(p["pid"]):
                watch.bad.append(f"line {watch.lines}: pid {p['pid']} shown as {name!r}")
            watch.own_rows += p["pid"] == own_pid


def rss_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return None


def soak(minutes: float, rate: float, delay: float, keep: Path | None) -> int:
    sys.path.insert(0, str(ROOT))
    from toptui.analysis.growth import judge

    workdir = Path(tempfile.mkdtemp(prefix="toptui-soak-")) if keep is None else keep
    workdir.mkdir(parents=True, exist_ok=True)
    record = workdir / "soak.csv"
    churner = start_churn(rate)
    births: list[int] = []

    def count_births() -> None:
        assert churner.stdout is not None
        for line in churner.stdout:
            if line.startswith("births "):
                births.append(int(line.split()[1]))

    threading.Thread(target=count_births, daemon=True).start()
    cmd = [sys.executable, "-m", "toptui", "-b", "-d", str(delay), "--format", "json",
           "--record", str(record)]  # fmt: skip
    top = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = Watch()
    reader = threading.Thread(target=read_json, args=(top.stdout, watch, top.pid), daemon=True)
    reader.start()
    samples: list[tuple[float, int]] = []
    t0 = time.monotonic()
    end = t0 + minutes * 60
    every = max(1.0, min(10.0, minutes * 60 / 200))
    problems: list[str] = []
    try:
        while time.monotonic() < end:
            if top.poll() is not None:
                problems.append(f"toptui ended early with status {top.returncode}")
                break
            rss = rss_of(top.pid)
            if rss is not None:
                samples.append((time.monotonic() - t0, rss))
            if len(samples) % 30 == 1:
                mean = sum(births[-10:]) / max(1, len(births[-10:]))
                t, rss = samples[-1]
                print(f"{t:7.0f}s  toptui RSS {rss / MIB:7.1f} MiB  churn {mean:5.0f} births/s  "
                      f"{watch.lines} JSON lines", flush=True)  # fmt: skip
            time.sleep(every)
    finally:
        if top.poll() is None:
            top.send_signal(signal.SIGTERM)
        try:
            status = top.wait(timeout=60)
        except subprocess.TimeoutExpired:
            top.kill()
            status = top.wait()
            problems.append("toptui did not end within 60 s of SIGTERM")
        stop_churn(churner)
        reader.join(timeout=30)
    stderr = top.stderr.read() if top.stderr is not None else ""
    if status != 0:
        problems.append(f"toptui exited with status {status} after SIGTERM")
    if stderr.strip():
        problems.append(f"toptui wrote to stderr: {stderr.strip()[:500]}")
    problems += watch.bad[:20]
    data = record.read_bytes()[-2:] if record.exists() else b""
    if data and not data.endswith(b"\n"):
        problems.append("the recording does not end with a whole line")

    mean_births = sum(births) / max(1, len(births))
    # From the first full sweep on: the interpreter starting up is not what is being judged.
    steady = [(t, r) for t, r in samples if t >= WARM_UP_S] or samples
    verdict = judge([t for t, _ in steady], [r for _, r in steady])
    analyze = subprocess.run(
        [sys.executable, "-m", "toptui", "analyze", "--format", "json", "-p", str(top.pid),
         str(record)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    try:
        analyzed = [json.loads(line)["verdict"] for line in analyze.stdout.splitlines() if line]
    except (ValueError, KeyError, TypeError):
        analyzed = [f"unreadable analyze output (status {analyze.returncode}): "
                    f"{(analyze.stdout + analyze.stderr)[:300]}"]  # fmt: skip
    if verdict.verdict != "no_leak":
        problems.append(f"toptui's RSS, judged by its own detector: {verdict.verdict} "
                        f"({'; '.join(verdict.reasons)})")  # fmt: skip
    if not analyzed or any(v != "no_leak" for v in analyzed):
        problems.append(f"toptui analyze of its own rows in the recording: {analyzed}")

    print()
    print(f"soak: {minutes:g} min, churn {mean_births:.0f} births/s, toptui -d {delay:g}, "
          f"{watch.lines} JSON lines, {watch.own_rows} of them show toptui itself")  # fmt: skip
    if steady:
        print(f"toptui RSS: start {steady[0][1] / MIB:.1f} MiB (at {steady[0][0]:.0f} s), "
              f"peak {max(r for _, r in steady) / MIB:.1f} MiB, end {steady[-1][1] / MIB:.1f} MiB "
              f"(at {steady[-1][0]:.0f} s)")  # fmt: skip
    print(f"detector on toptui's RSS: {verdict.verdict} ({'; '.join(verdict.reasons)})")
    print(f"toptui analyze on its own recorded rows: {', '.join(analyzed) or 'none'}")
    print(f"recording: {record} ({record.stat().st_size / MIB:.0f} MiB)" if record.exists() else "")
    if keep is None and record.exists():
        record.unlink()
        workdir.rmdir()
    for p in problems:
        print(f"FAIL: {p}")
    print("soak: OK" if not problems else "soak: FAILED")
    return 1 if problems else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0, help="how long (default 30)")
    p.add_argument("--rate", type=float, default=250.0, help="process births per second")
    p.add_argument("--delay", type=float, default=1.0, help="toptui's -d (default 1)")
    p.add_argument("--keep", type=Path, help="keep the recording in this directory")
    p.add_argument("--churn-only", action="store_true", help="only run the churn, until killed")
    args = p.parse_args()
    if args.churn_only:
        churn(args.rate)
        return 0
    return soak(args.minutes, args.rate, args.delay, args.keep)


if __name__ == "__main__":
    sys.exit(main())

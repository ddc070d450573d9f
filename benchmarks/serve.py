"""Issue 16's cost targets for ``toptui serve`` (item 7), with ~2000 processes on the machine.

a. serve's CPU at ``-d 1`` against ``top -b -d 1``: both run at once (with a ``--no-state``
   serve beside them, for information), and each one's own utime+stime is read from /proc over
   the same windows (WINDOWS of WINDOW_S, after WARMUP_S: serve's first sweeps see every process
   for the first time). The row is the median of the windows' ratios: serve <= 1.0x top -b.
   serve keeps its store in a directory of its own (its default), and is not scraped meanwhile.
b. A scrape of ``/metrics`` at ``--top 100`` (serve at ``-d 1``, without the store): SCRAPES
   scrapes about one a tick (each one sees a new sample, so the collector chooses and labels the
   exported processes anew, as a 15 s Prometheus scrape does), each timed from the request's
   first byte to the response's last. Median and p90 <= 50 ms. The server's CPU per scrape is
   the process's CPU over all the scrapes minus that of the threads alive throughout (sampling,
   the listener; their /proc/PID/task/TID/schedstat, in ns), over the number of scrapes: what
   the threads that answered used (wsgiref's request thread and its deadline timer).

Run alone: ``.venv/bin/python benchmarks/serve.py [--processes 2000] [--seconds 20]
[--windows 5] [--scrapes 40]``; ``make bench`` (benchmarks/run.py) reports the same rows.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from procs import count_processes  # noqa: E402
from targets import Row, run_rows, toptui_path  # noqa: E402

CPU_RATIO = 1.0  # serve's CPU / top -b's, at -d 1
SCRAPE_MS = 50.0  # request to last byte, median and p90; and the server's CPU per scrape
TOP = 100
WARMUP_S = 10.0
WINDOW_S = 20.0
WINDOWS = 5
SCRAPES = 40
CLK_TCK = os.sysconf("SC_CLK_TCK")
ENV = {**os.environ, "COLUMNS": "200", "LC_ALL": "C"}
# What Prometheus 2.x sends (scrape/scrape.go): OpenMetrics preferred, gzip accepted.
PROMETHEUS_REQUEST = (
    b"GET /metrics HTTP/1.1\r\nHost: bench\r\nUser-Agent: Prometheus/2.42.0\r\n"
    b"Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    b"version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
    b"Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n"
    b"Connection: close\r\n\r\n"
)
_SERVING = re.compile(rb"serving http://([^:/]+):(\d+)/metrics")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (its exited threads included), from /proc."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    fields = data[data.rfind(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_ns(pid: int) -> dict[int, int]:
    """Each live thread's CPU time so far, in ns (schedstat: exact, unlike the stat's ticks)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/task/{tid}/schedstat",
                                                            "rb") as f:  # fmt: skip
            out[int(tid)] = int(f.read().split()[0])
    return out


@contextlib.contextmanager
def serving(args: list[str]) -> Iterator[tuple[subprocess.Popen, int]]:
    """``toptui serve ARGS`` on a free loopback port, until it says it serves: (process, port)."""
    p = subprocess.Popen([toptui_path(), "serve", "--listen", "127.0.0.1:0", *args],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)  # fmt: skip
    try:
        assert p.stderr is not None
        line = p.stderr.readline()
        m = _SERVING.search(line)
        if m is None:
            raise RuntimeError(f"toptui serve did not start: {line!r}")
        yield p, int(m.group(2))
    finally:
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if p.stderr is not None:
            p.stderr.close()


def scrape(port: int) -> tuple[float, int]:
    """(seconds from sending the request to the response's last byte, bytes received)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        t0 = time.perf_counter()
        s.sendall(PROMETHEUS_REQUEST)
        size = 0
        while chunk := s.recv(1 << 16):
            size += len(chunk)
        took = time.perf_counter() - t0
    return took, size


def wait_samples(port: int, n: int, limit: float = 60.0) -> None:
    """Until serve has published ``n`` samples (its first sweeps meet every process anew)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            body = b"".join(iter(lambda: s.recv(1 << 16), b""))
        m = re.search(rb"^toptui_samples_total (\S+)", body, re.M)
        if m is not None and float(m.group(1)) >= n:
            return
        time.sleep(0.5)
    raise RuntimeError(f"toptui serve published fewer than {n} samples in {limit:.0f} s")


# -- a. serve's CPU beside top -b ------------------------------------------------------------


def cpu_beside_top(seconds: float = WINDOW_S, windows: int = WINDOWS) -> dict[str, list[float]]:
    """CPU seconds of serve (with its store), serve --no-state and top -b, all at -d 1 and
    running at once, in each of ``windows`` consecutive windows of ``seconds``."""
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="toptui-bench-serve-"))
        served, _ = stack.enter_context(serving(["-d", "1", "--state-dir", tmp]))
        bare, _ = stack.enter_context(serving(["-d", "1", "--no-state"]))
        top = subprocess.Popen(["top", "-b", "-d", "1"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=ENV)  # fmt: skip
        stack.callback(top.wait)
        stack.callback(top.terminate)
        pids = {"serve": served.pid, "serve --no-state": bare.pid, "top": top.pid}
        time.sleep(WARMUP_S)
        marks = {name: cpu_seconds(pid) for name, pid in pids.items()}
        out: dict[str, list[float]] = {name: [] for name in pids}
        for _ in range(windows):
            time.sleep(seconds)
            now = {name: cpu_seconds(pid) for name, pid in pids.items()}
            for name in pids:
                out[name].append(now[name] - marks[name])
            marks = now
        return out


# -- b. a scrape at --top 100 ------------------------------------------------------------------


def scrapes(n: int = SCRAPES) -> dict[str, float]:
    """``n`` scrapes of serve --top 100 at -d 1, 1 to 2 s apart: each sees a sample of its own,
    at a moment of the tick drawn at random (a scrape may meet a sweep, as Prometheus's do)."""
    rng = random.Random(16)
    with serving(["-d", "1", "--no-state", "--top", str(TOP)]) as (p, port):
        wait_samples(port, 3)
        scrape(port)  # the first scrape imports and builds what later ones reuse
        walls: list[float] = []
        sizes: list[int] = []
        before_ns = thread_ns(p.pid)
        before_cpu = cpu_seconds(p.pid)
        t_next = time.monotonic()
        for _ in range(n):
            t_next += 1.0 + rng.random()
            took, size = scrape(port)
            walls.append(took)
            sizes.append(size)
            time.sleep(max(0.0, t_next - time.monotonic()))
        # The answering threads are gone: only those alive throughout are left.
        end = time.monotonic() + 10
        while len(os.listdir(f"/proc/{p.pid}/task")) > len(before_ns) and time.monotonic() < end:
            time.sleep(0.05)
        after_cpu = cpu_seconds(p.pid)
        after_ns = thread_ns(p.pid)
        kept_s = sum(after_ns[t] - before_ns[t] for t in after_ns if t in before_ns) / 1e9
        answered_s = (after_cpu - before_cpu) - kept_s
    walls.sort()
    return {
        "median_ms": 1000 * statistics.median(walls),
        "p90_ms": 1000 * walls[int(0.9 * (len(walls) - 1))],
        "max_ms": 1000 * walls[-1],
        "cpu_ms": 1000 * max(0.0, answered_s) / n,
        "kept_cpu_s": kept_s,
        "bytes": statistics.median(sizes),
        "scrapes": n,
    }


def measure(
    seconds: float = WINDOW_S, windows: int = WINDOWS, n: int = SCRAPES, only: str | None = None
) -> list[Row]:
    """The rows; the caller provides the ~2000 processes."""
    procs = count_processes()
    rows: list[Row] = []
    if only != "scrape":
        rows.append(cpu_row(procs, seconds, windows))
    if only != "cpu":
        rows.extend(scrape_rows(procs, n))
    return rows


def cpu_row(procs: int, seconds: float, windows: int) -> Row:
    load = os.getloadavg()[0]
    cpu = cpu_beside_top(seconds, windows)
    ratios = [_ratio(s, t) for s, t in zip(cpu["serve"], cpu["top"], strict=True)]
    bare = [_ratio(s, t) for s, t in zip(cpu["serve --no-state"], cpu["top"], strict=True)]
    pct = {name: 100 * statistics.median(v) / seconds for name, v in cpu.items()}
    ratio = statistics.median(ratios)
    return Row(f"serve CPU at -d 1, {procs} procs, beside top -b -d 1",
               f"serve {pct['serve']:4.1f}%, top {pct['top']:4.1f}% of a core",
               ratio / CPU_RATIO, f"<= {CPU_RATIO:.1f}x top -b",
               f"ratio {ratio:.2f} (windows {', '.join(f'{r:.2f}' for r in ratios)}); "
               f"--no-state {pct['serve --no-state']:.1f}%, ratio {statistics.median(bare):.2f}; "
               f"median of {windows} x {seconds:.0f} s, load {load:.2f}")  # fmt: skip


def _ratio(mine: float, top: float) -> float:
    return mine / top if top > 0 else float("inf")


def scrape_rows(procs: int, n: int) -> list[Row]:
    load = os.getloadavg()[0]
    r = scrapes(n)
    rows = []
    detail = (f"max {r['max_ms']:.1f} ms; {r['bytes'] / 1e3:.0f} kB gzip'd OpenMetrics, as "
              f"Prometheus asks; {r['scrapes']} scrapes 1-2 s apart at -d 1")  # fmt: skip
    rows.append(Row(f"/metrics scrape median, --top {TOP}, {procs} procs",
                    f"{r['median_ms']:5.1f} ms", r["median_ms"] / SCRAPE_MS,
                    f"<= {SCRAPE_MS:.0f} ms", detail))  # fmt: skip
    rows.append(Row(f"/metrics scrape p90, --top {TOP}, {procs} procs",
                    f"{r['p90_ms']:5.1f} ms", r["p90_ms"] / SCRAPE_MS,
                    f"<= {SCRAPE_MS:.0f} ms", "request to last byte"))  # fmt: skip
    rows.append(Row(f"/metrics server CPU per scrape, --top {TOP}, {procs} procs",
                    f"{r['cpu_ms']:5.1f} ms", r["cpu_ms"] / SCRAPE_MS,
                    f"<= {SCRAPE_MS:.0f} ms",
                    f"mean over {r['scrapes']}; the sampling and listening threads' "
                    f"{r['kept_cpu_s']:.2f} s left out; load {load:.2f}"))  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=WINDOW_S)
    ap.add_argument("--windows", type=int, default=WINDOWS)
    ap.add_argument("--scrapes", type=int, default=SCRAPES)
    ap.add_argument("--only", choices=("cpu", "scrape"), help="measure only this part")
    args = ap.parse_args(argv)
    return run_rows(
        args.processes, lambda: measure(args.seconds, args.windows, args.scrapes, args.only)
    )


if __name__ == "__main__":
    sys.exit(main())

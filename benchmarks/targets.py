"""Issue 18's four targets ("lighter than top"), each measured beside top (and htop) in one run.

With ~2000 processes on the machine (benchmarks/procs.py):

a. The running screen's CPU at a 1 s refresh: ``toptui -d 1``, ``top -d 1`` and ``htop -d 10``
   run side by side, each in a 200×50 terminal of its own (tmux), and each one's own
   utime+stime is read from /proc over the same window (60 s, after 5 s): toptui <= 1.0x top.
b. A key press to a painted frame at 200×50 (benchmarks/screen.py's key_latency): toptui's
   median <= 10 ms and p90 <= 20 ms. htop is timed the same way, for reference.
c. The whole batch JSON loop at 1 s: CPU per frame of ``toptui -b -d 1 --format json`` against
   ``top -b -d 1``, each as (N+1 frames - 1 frame) / N, interleaved, medians: <= 0.8x top.
   The whole runs' CPU (start-up included) is shown beside it.
d. Launch to the first full frame: from starting ``toptui -d 1`` in a 200×50 pty with empty
   config and state directories (no saved settings; the screen loads no history) until the last
   byte of the first frame whose table shows process rows: <= 0.5 s. Python's bytecode is cached
   as an installed package's is (PYTHONPYCACHEPREFIX, after one launch that fills it). top and
   htop are timed the same way, for reference.

Every program that could save settings (htop writes its htoprc on exit) gets a HOME and XDG
directories of its own, removed afterwards.

Run alone: ``.venv/bin/python benchmarks/targets.py [--processes 2000] [--seconds 60]
[--windows 1] [--only screen,keys,launch,batch] [--beside 'CMD ...']`` (``--windows 5``: five
consecutive 60 s windows, to see the screen settle; ``--only``: those rows alone; ``--beside``:
another toptui command line, say an older checkout's ``env PYTHONPATH=/tmp/old python -m toptui``,
measured in the same run for rows a and b, with ``-d ...`` appended as for toptui);
``make bench`` (benchmarks/run.py) reports the same rows.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import select
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import screen  # noqa: E402
from procs import IdleProcesses, count_processes  # noqa: E402

SCREEN_RATIO = 1.0  # toptui's screen CPU / top's, at 1 s
KEY_MEDIAN_MS = 10.0
KEY_P90_MS = 20.0
BATCH_RATIO = 0.8  # toptui -b --format json CPU per frame / top -b's, at 1 s
LAUNCH_S = 0.5
BATCH_FRAMES = 20
# htop has no R (top's reverse sort); the rest are the keys benchmarks/screen.py sends toptui.
HTOP_KEYS = [v for k, v in screen.KEYS.items() if k != "R"]
# A frame is "full" once this many distinct process rows (PID USER PR NI VIRT ...) are painted;
# a 200×50 terminal shows about 30 to 40.
FULL_ROWS = 20

_ESCAPES = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: cursor moves, colours, modes
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, clipboard
    rb"|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHMNOZc]"  # charsets, keypad, save/restore
    rb"|[\x00-\x08\x0e-\x1f]"  # other control bytes
)
# A process row as top, htop and toptui write it: PID USER PR NI VIRT (PR may be "rt").
_ROW = re.compile(rb"(?<![\d.])(\d{1,7}) +\S+ +(?:-?\d+|rt|RT) +-?\d+ +\d")


def toptui_path() -> str:
    return str(Path(sys.executable).with_name("toptui"))


@dataclass
class Homes:
    """A HOME and XDG directories of its own (nothing saved before, nothing left after)."""

    root: Path

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env.update(
            HOME=str(self.root),
            XDG_CONFIG_HOME=str(self.root / "config"),
            XDG_STATE_HOME=str(self.root / "state"),
            XDG_DATA_HOME=str(self.root / "data"),
            XDG_CACHE_HOME=str(self.root / "cache"),
            LC_ALL="C.UTF-8",
        )
        return env


def cached_bytecode_env(base: dict[str, str], cache: str) -> dict[str, str]:
    """Bytecode written once to ``cache`` and read afterwards, as for an installed package (the
    checkout may run with PYTHONDONTWRITEBYTECODE, which compiles every module every run)."""
    env = {k: v for k, v in base.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


# -- a. the running screen's CPU, side by side -------------------------------------------------


def screen_cpu_side_by_side(
    commands: dict[str, list[str]],
    seconds: float = 60.0,
    warmup: float = 5.0,
    windows: int = 1,
    env: dict[str, str] | None = None,
) -> dict[str, list[float]]:
    """CPU seconds each program itself used in each of ``windows`` consecutive windows of
    ``seconds``, all running at once, each in a 200×50 tmux terminal of its own."""
    sockets: dict[str, str] = {}
    try:
        for name, argv in commands.items():
            sock = f"toptui-bench-{os.getpid()}-{name}"
            subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
            subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d",
                            "-x", str(screen.COLS), "-y", str(screen.ROWS), *argv],
                           check=True, env=env)  # fmt: skip
            sockets[name] = sock
        time.sleep(warmup)
        pids = {name: screen._pane_pid(sock) for name, sock in sockets.items()}
        marks = {name: screen._cpu_seconds(pid) for name, pid in pids.items()}
        out: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(windows):
            time.sleep(seconds)
            now = {name: screen._cpu_seconds(pid) for name, pid in pids.items()}
            for name in commands:
                out[name].append(now[name] - marks[name])
            marks = now
        return out
    finally:
        for sock in sockets.values():
            subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)


# -- d. launch to the first full frame -----------------------------------------------------------


def first_frame_s(argv: Sequence[str], env: dict[str, str], limit: float = 20.0) -> float:
    """Seconds from starting ``argv`` in a 200×50 pty until the last byte of its first frame
    with FULL_ROWS process rows (the output then pauses for screen.QUIET_S)."""
    t0 = time.perf_counter()
    pid, fd = screen.spawn_in_pty(argv, env)
    try:
        buf = bytearray()
        found = False
        last = t0
        end = t0 + limit
        while True:
            left = end - time.perf_counter()
            if left <= 0:
                raise RuntimeError(f"{argv[0]}: no full frame within {limit:.0f} s")
            ready, _, _ = select.select([fd], [], [], screen.QUIET_S if found else left)
            if not ready:
                if found:
                    return last - t0
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                raise RuntimeError(f"{argv[0]} ended before a full frame")
            last = time.perf_counter()
            if not found:
                buf += data
                text = _ESCAPES.sub(b" ", bytes(buf))  # a cursor move may stand for spaces
                found = len({m.group(1) for m in _ROW.finditer(text)}) >= FULL_ROWS
    finally:
        screen.end_in_pty(pid, fd)


def launch_times(
    commands: dict[str, list[str]], env: dict[str, str], repeats: int = 7
) -> dict[str, list[float]]:
    """Each command's launch-to-first-full-frame, ``repeats`` times, taken in turn."""
    out: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, argv in commands.items():
            out[name].append(first_frame_s(argv, env))
    return out


# -- c. the batch JSON loop at 1 s ---------------------------------------------------------------


def children_cpu(cmd: list[str], env: dict[str, str]) -> float:
    """CPU seconds (user + system) a command used, from RUSAGE_CHILDREN before and after."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def batch_frames(
    cmd: list[str], env: dict[str, str], frames: int = BATCH_FRAMES
) -> tuple[float, float]:
    """(ms of CPU per frame after the first, CPU seconds of the whole run of frames + 1)."""
    many = children_cpu([*cmd, "-d", "1", "-n", str(frames + 1)], env)
    one = children_cpu([*cmd, "-d", "1", "-n", "1"], env)
    return (many - one) / frames * 1000, many


def batch_loop_1s(
    env: dict[str, str], repeats: int = 3, frames: int = BATCH_FRAMES
) -> dict[str, tuple[float, float]]:
    """Medians of :func:`batch_frames` for toptui's JSON and top -b, interleaved."""
    cmds = {
        "toptui": [toptui_path(), "-b", "--format", "json"],
        "top": ["top", "-b"],
    }
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for _ in range(repeats):
        for name, cmd in cmds.items():
            runs[name].append(batch_frames(cmd, env, frames))
    return {
        name: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
        for name, rs in runs.items()
    }


# -- all four --------------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    value: str
    ratio: float  # measured / target: <= 1.0 is met
    target: str
    detail: str = ""

    @property
    def met(self) -> bool:
        return self.ratio <= 1.0


ROWS = ("keys", "launch", "batch", "screen")


def measure(
    seconds: float = 60.0,
    windows: int = 1,
    repeats: int = 3,
    only: Sequence[str] = ROWS,
    beside: Sequence[str] = (),
) -> list[Row]:
    """The four targets' rows (a few minutes), or those in ``only``; the caller provides the
    ~2000 processes. ``beside``: another toptui command line for rows a and b, for reference."""
    n = count_processes()
    toptui = toptui_path()
    htop = shutil.which("htop")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="toptui-bench-") as tmp:
        homes = Homes(Path(tmp))
        env = homes.env()
        for sub in ("config", "state", "data", "cache"):
            (homes.root / sub).mkdir()
        env = cached_bytecode_env(env, str(homes.root / "pycache"))
        env["COLUMNS"] = "200"

        # b. key press -> painted frame
        if "keys" in only:
            rows += _key_rows(toptui, htop, env, n, beside)
        if "launch" in only:
            rows.append(_launch_row(toptui, htop, env, n))
        if "batch" in only:
            rows.append(_batch_row(env, repeats, n))
        if "screen" in only:
            rows += _screen_rows(toptui, htop, env, n, seconds, windows, beside)
    return rows


def _key_rows(
    toptui: str, htop: str | None, env: dict[str, str], n: int, beside: Sequence[str]
) -> list[Row]:
    rows: list[Row] = []
    lat = sorted(screen.key_latency([toptui, "-d", "30"], env=env))
    med, p90 = statistics.median(lat), lat[int(0.9 * (len(lat) - 1))]
    ref = ""
    if beside:
        other = sorted(screen.key_latency([*beside, "-d", "30"], env=env))
        ref = (f"beside: median {statistics.median(other):.1f} ms, "
               f"p90 {other[int(0.9 * (len(other) - 1))]:.1f} ms; ")  # fmt: skip
    if htop is not None:
        theirs = sorted(screen.key_latency([htop, "-d", "300"], keys=HTOP_KEYS, env=env))
        ref += (f"htop median {statistics.median(theirs):.1f} ms, "
               f"p90 {theirs[int(0.9 * (len(theirs) - 1))]:.1f} ms")  # fmt: skip
    rows.append(Row(f"key -> painted frame median, {n} procs, 200x50", f"{med:5.1f} ms",
                    med / KEY_MEDIAN_MS, f"<= {KEY_MEDIAN_MS:.0f} ms", ref))  # fmt: skip
    rows.append(Row(f"key -> painted frame p90, {n} procs, 200x50", f"{p90:5.1f} ms",
                    p90 / KEY_P90_MS, f"<= {KEY_P90_MS:.0f} ms",
                    f"max {lat[-1]:.1f} ms, {len(lat)} keys"))  # fmt: skip
    return rows


def _launch_row(toptui: str, htop: str | None, env: dict[str, str], n: int) -> Row:
    # d. launch -> first full frame (the bytecode cache was filled by the runs above)
    cmds = {"toptui": [toptui, "-d", "1"], "top": ["top", "-d", "1"]}
    if htop is not None:
        cmds["htop"] = [htop, "-d", "10"]
    launch = {k: statistics.median(v) for k, v in launch_times(cmds, env).items()}
    ref = ", ".join(f"{k} {v:.3f} s" for k, v in launch.items() if k != "toptui")
    return Row(f"launch -> first full frame, {n} procs, 200x50",
               f"{launch['toptui']:.3f} s", launch["toptui"] / LAUNCH_S,
               f"<= {LAUNCH_S} s", ref + "; no saved settings or history")  # fmt: skip


def _batch_row(env: dict[str, str], repeats: int, n: int) -> Row:
    # c. the batch JSON loop at 1 s
    loop = batch_loop_1s(env, repeats)
    (mine, mine_all), (top, top_all) = loop["toptui"], loop["top"]
    return Row(f"batch JSON loop CPU/frame at 1 s, {n} procs",
               f"toptui {mine:5.1f} ms, top -b {top:5.1f} ms",
               mine / top / BATCH_RATIO, f"<= {BATCH_RATIO}x top -b",
               f"ratio {mine / top:.2f}; whole runs of {BATCH_FRAMES + 1} frames: "
               f"toptui {mine_all:.2f} s, top {top_all:.2f} s, "
               f"ratio {mine_all / top_all:.2f}")  # fmt: skip


def _screen_rows(
    toptui: str,
    htop: str | None,
    env: dict[str, str],
    n: int,
    seconds: float,
    windows: int,
    beside: Sequence[str],
) -> list[Row]:
    rows: list[Row] = []
    # a. the screen's CPU, side by side
    cmds = {"toptui": [toptui, "-d", "1"], "top": ["top", "-d", "1"]}
    if htop is not None:
        cmds["htop"] = [htop, "-d", "10"]
    if beside:
        cmds["beside"] = [*beside, "-d", "1"]
    cpu = screen_cpu_side_by_side(cmds, seconds, windows=windows, env=env)
    for i in range(windows):
        ours, theirs = cpu["toptui"][i], cpu["top"][i]
        ratio = ours / theirs if theirs > 0 else float("inf")
        when = f"{5 + i * seconds:.0f}-{5 + (i + 1) * seconds:.0f} s" if windows > 1 else ""
        extra = vs_htop = ""
        if htop is not None:
            extra = f", htop {cpu['htop'][i]:5.2f} s"
            vs_htop = f"; toptui/htop {ours / cpu['htop'][i]:.2f}" if cpu["htop"][i] else ""
        if beside:
            extra += f", beside {cpu['beside'][i]:5.2f} s"
        rows.append(Row(f"screen CPU over {seconds:.0f} s at 1 s, {n} procs {when}".rstrip(),
                        f"toptui {ours:5.2f} s, top {theirs:5.2f} s{extra}",
                        ratio / SCREEN_RATIO,
                        f"<= {SCREEN_RATIO:.1f}x top",
                        f"{100 * ours / seconds:.1f}% vs {100 * theirs / seconds:.1f}% of a "
                        f"core; ratio {ratio:.2f}{vs_htop}"))  # fmt: skip
    return rows


def print_row(row: Row) -> None:
    extra = f"  ({row.detail})" if row.detail else ""
    print(f"{'ok    ' if row.met else 'MISSED'} {row.label:<52} {row.value:<40} "
          f"ratio {row.ratio:4.2f}  target {row.target}{extra}", flush=True)  # fmt: skip


def run_rows(processes: int, measure_rows: Callable[[], list[Row]]) -> int:
    """Beside ``processes`` idle processes in all, the rows printed between the load before and
    after; 0 if every target is met, else 1 (the exit status of a benchmark run alone)."""
    with IdleProcesses(total=processes):
        print(f"load before: {os.getloadavg()}", flush=True)
        rows = measure_rows()
        for row in rows:
            print_row(row)
        print(f"load after: {os.getloadavg()}", flush=True)
    return 0 if all(r.met for r in rows) else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--windows", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", default=",".join(ROWS), help="comma-separated: " + ",".join(ROWS))
    ap.add_argument("--beside", default="", help="another toptui command line, for reference")
    args = ap.parse_args(argv)
    only = [r for r in args.only.split(",") if r]
    unknown = set(only) - set(ROWS)
    if unknown:
        ap.error(f"--only: unknown rows {sorted(unknown)}")
    beside = shlex.split(args.beside)
    return run_rows(
        args.processes, lambda: measure(args.seconds, args.windows, args.repeats, only, beside)
    )


if __name__ == "__main__":
    sys.exit(main())

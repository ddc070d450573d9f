"""The running screen's costs, with ~2000 real idle processes on the machine.

- Key press → painted frame: the real app headless at 200×50 with the live sampler; each key
  (sort, scroll, page) is timed from the press until the app is idle again (handler, re-sort and
  the compositor's repaint done).
- CPU over 60 s at a 1 s refresh: toptui and htop each run in a real terminal (tmux), and their
  own utime+stime is read from /proc over the same-length window. The htop row is skipped when
  htop is not installed (Debian's ``htop`` package).

Run: ``.venv/bin/python benchmarks/screen.py [--seconds 60] [--processes 2000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from procs import IdleProcesses

CLK_TCK = os.sysconf("SC_CLK_TCK")
# Keys as a terminal sends them: sorts, scrolling and paging.
KEYS = {
    "M": b"M", "P": b"P", "N": b"N", "T": b"T", "R": b"R", "PgDn": b"\x1b[6~",
    "Down": b"\x1b[B", "Up": b"\x1b[A", "PgUp": b"\x1b[5~", "End": b"\x1b[F", "Home": b"\x1b[H",
}  # fmt: skip
ROWS, COLS = 50, 200  # the terminal every program is measured in
QUIET_S = 0.015  # a frame is complete once the terminal has had no output for this long


def _read_until_quiet(fd: int, quiet: float, limit: float = 5.0) -> tuple[float, int]:
    """Drain output; return when the last byte arrived (perf_counter) and how many came."""
    last = time.perf_counter()
    end = last + limit
    total = 0
    while time.perf_counter() < end:
        # Before the first byte, wait as long as it takes (up to the limit); after it, a gap of
        # ``quiet`` means the frame is complete.
        ready, _, _ = select.select([fd], [], [], quiet if total else end - time.perf_counter())
        if not ready:
            break
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        total += len(data)
        last = time.perf_counter()
    return last, total


def spawn_in_pty(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[int, int]:
    """Start ``argv`` in a new 200×50 pseudo-terminal; returns (pid, the terminal's fd).

    The size is set by the child on its own terminal before it runs the program, so even a
    program that reads it at once (top, htop) starts at 200×50.
    """
    env = {**(os.environ if env is None else env), "TERM": "xterm-256color"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the program itself
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
            os.execvpe(argv[0], list(argv), env)
        finally:
            os._exit(127)
    return pid, fd


def end_in_pty(pid: int, fd: int) -> None:
    """Stop a program started by :func:`spawn_in_pty` and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    reaped = False
    while not reaped and time.monotonic() < deadline:
        reaped = os.waitpid(pid, os.WNOHANG) != (0, 0)
        with contextlib.suppress(OSError):  # keep its output flowing while it exits
            if not reaped and select.select([fd], [], [], 0.05)[0]:
                os.read(fd, 65536)
    if not reaped:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)


def key_latency(
    command: str | Sequence[str],
    rounds: int = 3,
    keys: Sequence[bytes] | None = None,
    env: dict[str, str] | None = None,
) -> list[float]:
    """Milliseconds from writing a key to the pty until the program has finished painting.

    ``command`` is toptui's path (then it runs as ``toptui -d 30``, so no refresh interferes) or
    a whole command line (htop: ``htop -d 300``). It runs for real in a 200×50 pseudo-terminal;
    the time includes the handler, the re-sort, the compositor and writing the escape codes.
    """
    argv = [command, "-d", "30"] if isinstance(command, str) else list(command)
    pid, fd = spawn_in_pty(argv, env)
    times: list[float] = []
    try:
        _read_until_quiet(fd, 1.5, limit=20.0)  # first frames, until the screen settles
        for _ in range(rounds):
            for data in KEYS.values() if keys is None else keys:
                t0 = time.perf_counter()
                os.write(fd, data)
                t1, n = _read_until_quiet(fd, QUIET_S)
                if n == 0:
                    raise RuntimeError(f"no repaint after key {data!r}: nothing to time")
                times.append((t1 - t0) * 1000)
                _read_until_quiet(fd, 0.05, limit=0.25)  # trailing output, if any
    finally:
        end_in_pty(pid, fd)
    return times


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    fields = data[data.rfind(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _pane_pid(socket: str) -> int:
    out = subprocess.check_output(["tmux", "-L", socket, "list-panes", "-F", "#{pane_pid}"])
    return int(out.split()[0])


def screen_cpu(command: list[str], seconds: float, warmup: float = 5.0) -> float:
    """CPU seconds the program itself used over ``seconds`` in a 200×50 tmux terminal."""
    socket = f"toptui-bench-{os.getpid()}"
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    subprocess.run(
        ["tmux", "-L", socket, "new-session", "-d", "-x", "200", "-y", "50", *command],
        check=True,
    )
    try:
        time.sleep(warmup)
        pid = _pane_pid(socket)
        start = _cpu_seconds(pid)
        time.sleep(seconds)
        return _cpu_seconds(pid) - start
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--processes", type=int, default=2000)
    args = ap.parse_args(argv)
    toptui = str(Path(sys.executable).with_name("toptui"))
    with IdleProcesses(total=args.processes):
        lat = sorted(key_latency(toptui))
        p50 = statistics.median(lat)
        p90 = lat[int(0.9 * (len(lat) - 1))]
        ok = "ok" if p90 <= 50 else "MISSED"
        print(f"key press -> painted frame, {args.processes} rows, 200x50: median {p50:.1f} ms, "
              f"p90 {p90:.1f} ms, max {lat[-1]:.1f} ms   (target <= 50 ms: {ok})")  # fmt: skip
        ours = screen_cpu([toptui, "-d", "1"], args.seconds)
        line = f"screen CPU over {args.seconds:.0f} s at 1 s refresh: toptui {ours:.2f} s"
        htop = shutil.which("htop")
        if htop is None:
            print(line + "   (htop not installed: apt-get install htop; row skipped)")
        else:
            theirs = screen_cpu([htop, "-d", "10"], args.seconds)
            ratio = ours / theirs if theirs > 0 else float("inf")
            ok = "ok" if ratio <= 1.0 else "MISSED"
            print(f"{line}, htop {theirs:.2f} s, ratio {ratio:.2f}x   (target <= 1.0x: {ok})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

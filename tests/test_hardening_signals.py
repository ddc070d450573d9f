"""Signals: SIGTERM, SIGINT and SIGHUP end toptui cleanly (terminal restored, a recording on a whole
line, JSON lines whole); SIGTSTP/SIGCONT suspend and resume, and the pause is a gap in what is
recorded, not a burst of samples.

The screen runs on a real pseudo-terminal (conftest.PtyApp), batch mode as a subprocess. Every
wait is for an event (output seen, a state in /proc, ticks recorded), with a generous limit.
"""

from __future__ import annotations

import array
import fcntl
import json
import os
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from children import WAIT_S, proc_state, wait_until
from conftest import TOPTUI

from toptui.analysis.growth import judge
from toptui.store.recording import RecordingReader

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

ALT_ON, ALT_OFF = b"\x1b[?1049h", b"\x1b[?1049l"
# How long toptui is kept stopped: at 0.2 s a tick, a backlog would be 15 samples back to back.
PAUSE_S = 3.0


def ticks(path: Path) -> list[float]:
    """The recorded tick times; the file must hold whole lines only."""
    data = path.read_bytes()
    assert data.endswith(b"\r\n"), data[-80:]
    reader = RecordingReader(path)
    times = sorted({row.time for row in reader.rows()})
    assert reader.truncated_line is None
    return times


def wait_ticks(path: Path, n: int, timeout: float = WAIT_S) -> None:
    end = time.monotonic() + timeout
    while not (path.exists() and path.read_bytes().count(b"\r\n") > 1 and len(ticks(path)) >= n):
        assert time.monotonic() < end, f"fewer than {n} ticks recorded in {timeout}s"
        time.sleep(0.1)


def assert_terminal_restored(app) -> None:
    out = app.output
    assert out.rfind(ALT_OFF) > out.rfind(ALT_ON) >= 0, out[-300:]
    lflag = app.termios_lflag()
    assert lflag & termios.ECHO and lflag & termios.ICANON
    assert b"Traceback" not in out


def assert_a_gap_then_the_normal_pace(
    times: list[float], stopped_at: float, resumed_at: float, period: float
) -> None:
    """``times`` (wall clock, as recorded: 1 ms steps) hold nothing from the moment toptui was
    seen stopped to the moment it was resumed; and after the resume no backlog: the samples are
    spaced as the schedule spaces them, ``period`` apart on the whole (the one that was due when
    it stopped may come at once). A loaded machine can only spread them further."""
    assert [t for t in times if stopped_at + 0.001 < t < resumed_at - 0.001] == [], times
    assert times[0] < stopped_at
    after = [t for t in times if t >= resumed_at]
    assert len(after) >= 5, times
    assert after[-1] - after[0] >= (len(after) - 2) * period - 0.01, after


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_ends_the_screen_cleanly(pty_app, tmp_path, sig):
    rec = tmp_path / "rec.csv"
    app = pty_app(["-d", "0.2", "--record", str(rec)])
    app.wait_output(b"load average")
    wait_ticks(rec, 3)
    app.kill(sig)
    assert app.wait() == 0
    assert_terminal_restored(app)
    ticks(rec)


def test_signal_right_at_start_still_restores_the_terminal(pty_app):
    """SIGTERM as soon as the screen is up, before the first frame is drawn."""
    app = pty_app(["-d", "0.2"])
    app.wait_output(ALT_ON)
    app.kill(signal.SIGTERM)
    app.wait()
    assert_terminal_restored(app)


def test_hang_up_ends_the_screen(pty_app, tmp_path):
    """The terminal goes away (ssh dropped): toptui ends, does not spin, keeps its recording."""
    rec = tmp_path / "rec.csv"
    app = pty_app(["-d", "0.2", "--record", str(rec)])
    app.wait_output(b"load average")
    wait_ticks(rec, 2)
    app.hang_up()
    app.wait()
    ticks(rec)


def test_suspend_and_resume_the_screen(pty_app, tmp_path):
    rec = tmp_path / "rec.csv"
    app = pty_app(["-d", "0.2", "--record", str(rec)])
    app.wait_output(b"load average")
    wait_ticks(rec, 3)
    app.kill(signal.SIGTSTP)  # what the shell's Ctrl+Z sends
    wait_until(lambda: app.state() == "T", "toptui stopped on SIGTSTP")
    stopped_at = time.time()
    # The shell gets its screen back (the reader thread may still be draining the pty).
    app.wait_output(ALT_OFF, start=app.output.rfind(ALT_ON))
    mark = len(app.output)
    before = len(ticks(rec))
    time.sleep(PAUSE_S)  # the suspension itself, not a wait for toptui
    resumed_at = time.time()
    app.kill(signal.SIGCONT)  # fg
    app.wait_output(ALT_ON, start=mark)
    app.wait_output(b"load average", start=mark)
    wait_ticks(rec, before + 6)
    app.send(b"q")
    assert app.wait() == 0
    assert_a_gap_then_the_normal_pace(ticks(rec), stopped_at, resumed_at, 0.2)


def test_every_sigtstp_stops_the_screen_even_mid_frame(pty_app):
    """SIGTSTP again and again while frames are written (a 0.05 s refresh, each resume repaints
    the whole screen): every one must stop toptui. Textual's own handler ran as a Python signal
    handler and could come inside the output queue's put, take its lock a second time and hang
    for ever (about 1 SIGTSTP in 40 here, before the app handled them on its event loop)."""
    app = pty_app(["-d", "0.05", "--no-state"])
    app.wait_output(b"load average")
    for i in range(40):
        time.sleep(0.01 * (i * 7 % 25))  # a different moment of the frames each time, not a wait
        mark = len(app.output)
        app.kill(signal.SIGTSTP)
        wait_until(lambda: app.state() == "T", f"toptui stopped on SIGTSTP number {i + 1}")
        app.kill(signal.SIGCONT)
        app.wait_output(ALT_ON, start=mark)
        app.wait_output(b"load average", start=mark)
    app.send(b"q")
    assert app.wait() == 0
    assert_terminal_restored(app)


def test_ctrl_z_key_suspends_the_screen(pty_app):
    """In raw mode Ctrl+Z is a key, not a signal: the app must suspend itself."""
    app = pty_app(["-d", "0.2"])
    app.wait_output(b"load average")
    app.send(b"\x1a")
    wait_until(lambda: app.state() == "T", "Ctrl+Z suspended toptui")
    app.kill(signal.SIGCONT)
    mark = len(app.output)
    app.wait_output(b"load average", start=mark)
    app.send(b"q")
    assert app.wait() == 0
    assert_terminal_restored(app)


# -- batch mode ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sig,status", [(signal.SIGTERM, 0), (signal.SIGINT, 130), (signal.SIGHUP, 0)]
)
def test_signal_ends_batch_mode_on_a_whole_line(tmp_path, sig, status):
    rec = tmp_path / "rec.csv"
    p = subprocess.Popen([*TOPTUI, "-b", "-d", "0.1", "--format", "json", "--record", str(rec)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert p.stdout is not None
    for _ in range(3):
        assert p.stdout.readline().endswith(b"\n")
    p.send_signal(sig)
    out, err = p.communicate(timeout=WAIT_S)
    assert p.returncode == status, err
    assert err == b""
    assert out == b"" or out.endswith(b"\n")
    for line in out.splitlines():
        json.loads(line)
    ticks(rec)


def test_batch_signal_during_a_slow_reader_leaves_whole_lines():
    """stdout is a pipe nobody reads for a while: the signal waits for the frame to be written.

    The pipe holds one page, and the one process shown has a command line of several pages, so
    every frame is bigger than the pipe: once the first bytes are in it, toptui is in the middle
    of a write that cannot finish until the pipe is read. That is when the signal comes.
    """
    big = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()", "x" * 20_000],
                           stdin=subprocess.PIPE)  # fmt: skip
    page = os.sysconf("SC_PAGE_SIZE")
    r, w = os.pipe()
    p = None
    try:
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, page)
        p = subprocess.Popen([*TOPTUI, "-b", "-d", "0.05", "--format", "json", "-p", str(big.pid)],
                             stdout=w, stderr=subprocess.PIPE)  # fmt: skip
        os.close(w)
        w = -1
        queued = array.array("i", [0])

        def writing() -> bool:
            fcntl.ioctl(r, termios.FIONREAD, queued)
            return queued[0] > 0

        wait_until(writing, "toptui has begun to write its first frame")
        wait_until(lambda: proc_state(p.pid) == "S", "toptui waits for room in the pipe")
        p.send_signal(signal.SIGTERM)
        with os.fdopen(r, "rb") as reader:
            r = -1
            out = reader.read()
        _, err = p.communicate(timeout=WAIT_S)
        assert p.returncode == 0 and err == b""
    finally:
        for fd in (r, w):
            if fd >= 0:
                os.close(fd)
        if p is not None and p.poll() is None:
            p.kill()
            p.communicate()
        big.kill()
        big.communicate()
    lines = out.splitlines()
    assert lines and out.endswith(b"\n")
    assert len(lines[0]) > page  # so that frame's write was cut short by the full pipe
    for line in lines:
        json.loads(line)


def test_batch_suspend_is_a_gap_not_a_burst():
    """SIGSTOP/SIGCONT (Ctrl+Z, fg) in batch mode: sampling resumes at its pace."""
    p = subprocess.Popen([*TOPTUI, "-b", "-d", "0.2", "--format", "json", "-p", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert p.stdout is not None
    try:
        times = [json.loads(p.stdout.readline())["time"] for _ in range(3)]
        p.send_signal(signal.SIGSTOP)
        wait_until(lambda: proc_state(p.pid) == "T", "toptui stopped on SIGSTOP")
        stopped_at = time.time()
        time.sleep(PAUSE_S)  # the suspension itself, not a wait for toptui
        resumed_at = time.time()
        p.send_signal(signal.SIGCONT)
        while len([t for t in times if t >= resumed_at]) < 8:
            times.append(json.loads(p.stdout.readline())["time"])
    finally:
        p.terminate()
        p.communicate(timeout=WAIT_S)
    assert_a_gap_then_the_normal_pace(times, stopped_at, resumed_at, 0.2)


def test_the_detector_treats_a_pause_as_a_gap():
    """Flat before and after a long suspension, one step in between: no growth is invented."""
    mib = 1024 * 1024
    t = [float(i) for i in range(120)] + [600.0 + i for i in range(120)]
    flat = [100 * mib] * 120 + [100 * mib] * 120
    assert judge(t, flat).verdict == "no_leak"
    step = [100 * mib] * 120 + [120 * mib] * 120
    assert judge(t, step).verdict == "no_leak"

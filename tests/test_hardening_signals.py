"""Signals: SIGTERM, SIGINT and SIGHUP end toptui cleanly (terminal restored, a recording on a whole
line, JSON lines whole); SIGTSTP/SIGCONT suspend and resume, and the pause is a gap in what is
recorded, not a burst of samples.

The screen runs on a real pseudo-terminal (conftest.PtyApp), batch mode as a subprocess.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from conftest import TOPTUI

from toptui.analysis.growth import judge
from toptui.recording import RecordingReader

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

ALT_ON, ALT_OFF = b"\x1b[?1049h", b"\x1b[?1049l"


def ticks(path: Path) -> list[float]:
    """The recorded tick times; the file must hold whole lines only."""
    data = path.read_bytes()
    assert data.endswith(b"\r\n"), data[-80:]
    reader = RecordingReader(path)
    times = sorted({row.time for row in reader.rows()})
    assert reader.truncated_line is None
    return times


def wait_ticks(path: Path, n: int, timeout: float = 20.0) -> None:
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
    app.wait(timeout=20)
    ticks(rec)


def test_suspend_and_resume_the_screen(pty_app, tmp_path):
    rec = tmp_path / "rec.csv"
    app = pty_app(["-d", "0.2", "--record", str(rec)])
    app.wait_output(b"load average")
    wait_ticks(rec, 3)
    app.kill(signal.SIGTSTP)  # what the shell's Ctrl+Z sends
    end = time.monotonic() + 10
    while app.state() != "T":
        assert time.monotonic() < end, f"not stopped: state {app.state()!r}"
        time.sleep(0.05)
    # The shell gets its screen back (the reader thread may still be draining the pty).
    app.wait_output(ALT_OFF, timeout=5, start=app.output.rfind(ALT_ON))
    mark = len(app.output)
    before = len(ticks(rec))
    time.sleep(3)
    assert len(ticks(rec)) == before  # nothing sampled while stopped
    app.kill(signal.SIGCONT)  # fg
    app.wait_output(ALT_ON, start=mark)
    app.wait_output(b"load average", start=mark)
    wait_ticks(rec, before + 5)
    app.send(b"q")
    assert app.wait() == 0
    times = ticks(rec)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) >= 2.5
    after = times[gaps.index(max(gaps)) + 1 :]
    # Resumed at the normal pace: no backlog of samples taken back to back (the one that was due
    # when it stopped may come at once).
    fast = [b - a for a, b in itertools.pairwise(after) if b - a < 0.1]
    assert len(fast) <= 1, after


def test_ctrl_z_key_suspends_the_screen(pty_app):
    """In raw mode Ctrl+Z is a key, not a signal: the app must suspend itself."""
    app = pty_app(["-d", "0.2"])
    app.wait_output(b"load average")
    app.send(b"\x1a")
    end = time.monotonic() + 10
    while app.state() != "T":
        assert time.monotonic() < end, f"Ctrl+Z did not suspend: state {app.state()!r}"
        time.sleep(0.05)
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
    out, err = p.communicate(timeout=20)
    assert p.returncode == status, err
    assert err == b""
    assert out == b"" or out.endswith(b"\n")
    for line in out.splitlines():
        json.loads(line)
    ticks(rec)


def test_batch_signal_during_a_slow_reader_leaves_whole_lines(tmp_path):
    """stdout is a pipe nobody reads for a while: the signal waits for the frame to be written."""
    p = subprocess.Popen([*TOPTUI, "-b", "-d", "0.05", "--format", "json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    time.sleep(3)  # ~60 frames of all processes: far more than a pipe holds, so a write blocks
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0 and err == b""
    lines = out.splitlines()
    assert lines and out.endswith(b"\n")
    for line in lines:
        json.loads(line)


def test_batch_suspend_is_a_gap_not_a_burst():
    """SIGSTOP/SIGCONT (Ctrl+Z, fg) in batch mode: sampling resumes at its pace."""
    p = subprocess.Popen([*TOPTUI, "-b", "-d", "0.2", "--format", "json", "-p", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert p.stdout is not None
    for _ in range(3):
        p.stdout.readline()
    p.send_signal(signal.SIGSTOP)
    time.sleep(3)
    p.send_signal(signal.SIGCONT)
    times = []
    for _ in range(8):
        times.append(json.loads(p.stdout.readline())["time"])
    p.terminate()
    p.communicate(timeout=20)
    # At most the one frame that was due when it stopped comes at once; then the normal pace.
    fast = [b - a for a, b in itertools.pairwise(times) if b - a < 0.1]
    assert len(fast) <= 1, times


def test_the_detector_treats_a_pause_as_a_gap():
    """Flat before and after a long suspension, one step in between: no growth is invented."""
    mib = 1024 * 1024
    t = [float(i) for i in range(120)] + [600.0 + i for i in range(120)]
    flat = [100 * mib] * 120 + [100 * mib] * 120
    assert judge(t, flat).verdict == "no_leak"
    step = [100 * mib] * 120 + [120 * mib] * 120
    assert judge(t, step).verdict == "no_leak"

"""Bad input everywhere: each invalid value, file or output gives one line naming the problem and a
non-zero status, never a traceback. (tests/test_cli.py has the basic flag cases; these are the
rest: bounds, empty values, recordings and replays that cannot be used, outputs that fail.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TOPTUI

from toptui.store.recording import HEADER_V1_LINE as HEADER_LINE  # hand-made format 1 rows

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*TOPTUI, *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, **kw)  # fmt: skip


def one_line(r: subprocess.CompletedProcess, status: int, *needles: str) -> str:
    assert r.returncode == status, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("toptui"), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["-u", ""], "unknown user"),
        (["-b", "-u", "4294967296"], "unknown user"),  # beyond any uid
        (["-o", ""], "unknown sort field"),
        (["-o", "+"], "unknown sort field"),
        (["--sort=-"], "unknown sort field"),
        (["-d", "1e10"], "at most"),  # a wait longer than the platform's time_t allows
        (["-d", "0.001"], "at least"),
        (["-d", "nan"], "-d"),
        (["-d", "inf"], "-d"),
        (["-d", "-inf"], "-d"),
        (["-d", ""], "-d"),
        (["--history", "1e308"], "at most"),  # history / delay would overflow to infinity
        (["--history", "nan"], "--history"),
        (["-b", "-n", "-5"], "-n"),
        (["-b", "-n", "1.5"], "-n"),
        (["-b", "-n", ""], "-n"),
        (["-p", "1,,x"], "process id"),
        (["-p", "1.5"], "process id"),
        (["-p", ""], "process id"),
        (["-p", "99999999999999999999999"], "no such process"),
        (["-n", "3"], "batch mode"),
        (["-b", "--replay", "x.csv"], "--replay"),
        (["-b", "-n", "1", "--record", ""], "--record needs a file name"),
        (["--replay", " "], "--replay needs a file name"),
        (["--replay", "x.csv", "--record", "y.csv"], "do not go together"),
        (["--replay", "x.csv", "-u", "root"], "-u cannot filter a replay"),
    ],
)
def test_bad_values_are_one_line_and_exit_2(args, needle):
    one_line(run(*args), 2, needle)


BAD_ROW = f"{HEADER_LINE}\r\n1,2,3,x,4,5,6,7\r\n1,2,3,x,big,5,6,7\r\n".encode()


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda d: str(d / "missing.csv"), "missing.csv"),
        (lambda d: str(d), "directory"),
        (lambda d: "/dev/zero", "not a regular file"),  # would be one endless line
        (lambda d: write(d / "empty.csv", b""), "empty"),
        (lambda d: write(d / "garbage.csv", os.urandom(4096)), "garbage.csv"),
        (lambda d: write(d / "passwd.csv", b"root:x:0:0:root:/root:/bin/bash\n"), "passwd.csv:1"),
        (lambda d: write(d / "badrow.csv", BAD_ROW), "badrow.csv:3"),
        (lambda d: write(d / "fields.csv", f"{HEADER_LINE}\r\n1,2,3\r\n".encode()), "fields.csv:2"),
    ],
    ids=["missing", "directory", "dev-zero", "empty", "garbage", "passwd", "bad-row", "fields"],
)
def test_a_recording_that_cannot_be_replayed_is_one_line(tmp_path, make, needle):
    one_line(run("--replay", make(tmp_path)), 2, needle)


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda d: str(d / "no" / "such" / "dir.csv"), "no such directory"),
        (lambda d: str(d), "directory"),
        (lambda d: write(d / "notes.txt", b"my notes\n"), "not a toptui recording"),
    ],
    ids=["missing-dir", "directory", "foreign-file"],
)
def test_a_recording_that_cannot_be_written_is_one_line(tmp_path, make, needle):
    """One line says so, and the monitor runs on without recording (as after a full disk)."""
    path = make(tmp_path)
    before = Path(path).read_bytes() if Path(path).is_file() else None
    r = run("-b", "-n", "2", "-d", "0.1", "-p", "1", "--record", path)
    one_line(r, 0, needle, "monitoring without recording")
    assert r.stdout.count("PID") == 2  # both frames were printed
    if before is not None:
        assert Path(path).read_bytes() == before  # a mistyped path never damages a file


def test_a_uid_without_a_passwd_entry_is_a_user():
    """As with top, -u 55555 shows that uid's processes (the USER column prints the number)."""
    r = run("-b", "-n", "1", "-u", "55555")
    assert r.returncode == 0 and not r.stderr, r.stderr
    assert "PID USER" in r.stdout


def test_a_full_output_is_one_line_and_exit_1():
    with open("/dev/full", "w") as full:
        r = subprocess.run([*TOPTUI, "-b", "-n", "2", "-d", "0.1", "-p", "1"], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=60)  # fmt: skip
    one_line(r, 1, "No space left")


def test_a_closed_stdout_is_one_line():
    r = subprocess.run([*TOPTUI, "-b", "-n", "1", "-p", "1"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=60,
                       preexec_fn=lambda: os.close(1))  # fmt: skip
    one_line(r, 2, "standard output")


@pytest.mark.parametrize(
    "content,needle",
    [
        (b"{not json", "damaged"),
        (b"\xff\xfe\x00garbage", "damaged"),
        (b"[" * 100_000, "damaged"),  # deep enough to exhaust json's recursion limit
        (b'["a list"]', "damaged"),
        (b'{"sort": "NOPE", "interval_s": -1, "extra_columns": 7}', "ignored bad values"),
        (None, "cannot read"),  # config.json is a directory
    ],
    ids=["syntax", "binary", "nested", "list", "bad-values", "directory"],
)
def test_a_damaged_config_warns_in_one_line_and_the_screen_starts(pty_app, tmp_path, content,
                                                                  needle):  # fmt: skip
    """README: a damaged settings file gives a warning and the defaults, never a crash."""
    cfg = tmp_path / "config" / "toptui" / "config.json"
    cfg.parent.mkdir(parents=True)
    if content is None:
        cfg.mkdir()
    else:
        cfg.write_bytes(content)
    app = pty_app(["-d", "0.3"])
    app.wait_output(b"load average")
    app.send(b"q")
    assert app.wait() == 0
    before_screen = app.output.split(b"\x1b[?1049h")[0].decode().strip()
    assert before_screen.startswith("toptui: ") and needle in before_screen, before_screen
    assert "\n" not in before_screen and str(cfg) in before_screen
    assert b"Traceback" not in app.output

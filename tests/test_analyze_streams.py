"""``toptui analyze`` and its standard streams: inputs that can be read only once (``-``, pipes,
FIFOs) and output or messages that cannot be written (a full disk, a closed stream)."""

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_analyze import EPOCH, MIB, TOPTUI, flat, leaking, write_csv
from test_recording import proc, snap

from toptui.commands import analyze
from toptui.store.recording import Recorder

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /dev paths")
needs_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
TIMEOUT = 30  # the old FIFO reopen waited forever: a hang fails here instead


def run(*args: str, data: bytes = b"", **kw: Any) -> subprocess.CompletedProcess:
    """``toptui analyze ARGS`` with ``data`` on its standard input; output decoded."""
    r = subprocess.run([*TOPTUI, *args], input=data, capture_output=True, timeout=TIMEOUT, **kw)
    return subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode(), r.stderr.decode())


def shell(redirect: str, *args: str) -> subprocess.CompletedProcess:
    """``toptui analyze ARGS`` under a shell redirection such as ``>&-`` (stdout closed)."""
    cmd = ["sh", "-c", f'exec "$@" {redirect}', "sh", *TOPTUI, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)


def recording(path: Path, ticks: int = 200) -> Path:
    """A recording of one leaking and one flat process, large enough to need several reads."""
    with Recorder(path) as rec:
        for i in range(ticks):
            rec.record(
                snap(EPOCH + i, [proc(11, "up", 10 * MIB + i * 65536), proc(22, "flat", MIB)])
            )
    return path


def mprof(path: Path) -> Path:
    lines = ["CMDLINE python service.py"]
    for i, (main, child) in enumerate(zip(flat(), leaking(), strict=True)):
        lines += [
            f"MEM {main / MIB:.6f} {EPOCH + i:.4f}",
            f"CHLD 7 {child / MIB:.6f} {EPOCH + i:.4f}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def inputs(tmp_path: Path) -> dict[str, Path]:
    return {
        "recording": recording(tmp_path / "rec.csv"),
        "csv": write_csv(tmp_path / "up.csv", leaking(1800)),
        "mprof": mprof(tmp_path / "run.dat"),
    }


def verdicts(stdout: str) -> list[tuple]:
    """What a JSON report says of each series, but its source and name (from the path)."""
    objs = [json.loads(line) for line in stdout.splitlines()]
    return [(o["pid"], o["samples"], o["verdict"], o["last_rss"]) for o in objs]


@contextlib.contextmanager
def feeding(path: str, data: bytes, chunk: int = 4096) -> Iterator[None]:
    """A thread writes ``data`` into the FIFO ``path`` in small pieces, as a slow producer would."""

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), open(path, "wb", buffering=0) as f:
            for i in range(0, len(data), chunk):
                f.write(data[i : i + chunk])

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield
    finally:
        if writer.is_alive():  # nobody opened the FIFO: open it for reading to release the writer
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(5)


@pytest.mark.parametrize("kind", ["recording", "csv", "mprof"])
def test_a_fifo_is_read_once_like_the_file(tmp_path, kind):
    path = inputs(tmp_path)[kind]
    want = run("--format", "json", str(path))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with feeding(str(fifo), path.read_bytes()):
        got = run("--format", "json", str(fifo))
    assert got.returncode == want.returncode == 0, got.stderr
    assert got.stderr == ""
    assert verdicts(got.stdout) == verdicts(want.stdout) and "leak" in got.stdout
    assert all(json.loads(x)["source"] == str(fifo) for x in got.stdout.splitlines())


@pytest.mark.parametrize("kind", ["recording", "csv", "mprof"])
def test_dash_is_standard_input(tmp_path, kind):
    path = inputs(tmp_path)[kind]
    got = run("-", str(path), data=path.read_bytes())
    assert got.returncode == 0 and got.stderr == ""
    lines = got.stdout.splitlines()
    n = len(lines) // 2  # the same input twice: from standard input, then as a file
    assert n and [ln.split()[0] for ln in lines] == ["-"] * n + [str(path)] * n
    rest = [ln.split()[1:] for ln in lines]
    if kind == "csv":  # a CSV's series is named after its file
        assert rest[0][1] == "-" and rest[n][1] == path.name
        rest = [r[:1] + r[2:] for r in rest]
    assert rest[:n] == rest[n:]


@linux_only
def test_dev_stdin_and_a_process_substitution_are_read_from_the_pipe(tmp_path):
    path = recording(tmp_path / "rec.csv")
    data = path.read_bytes()
    want = run("--format", "json", str(path))
    stdin = run("--format", "json", "/dev/stdin", data=data)
    assert stdin.returncode == 0, stdin.stderr
    assert verdicts(stdin.stdout) == verdicts(want.stdout)
    # `toptui analyze <(zcat rec.csv.gz)`: a pipe's read end passed as /dev/fd/N.
    r, w = os.pipe()

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), open(w, "wb") as f:
            f.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        sub = run("--format", "json", f"/dev/fd/{r}", pass_fds=(r,))
    finally:
        os.close(r)
        writer.join(5)
    assert sub.returncode == 0, sub.stderr
    assert verdicts(sub.stdout) == verdicts(want.stdout)


def test_a_cut_off_recording_on_standard_input_is_reported_like_a_file(tmp_path):
    data = recording(tmp_path / "rec.csv", ticks=50).read_bytes() + b"1700000100.000,11,17000"
    r = run("--format", "json", "-", data=data)
    assert r.returncode == 2
    assert r.stderr.startswith("toptui analyze: -:102: incomplete last line")
    assert [json.loads(x)["samples"] for x in r.stdout.splitlines()] == [50, 50]


@linux_only
def test_an_endless_device_is_refused_without_reading_it_all():
    r = run("/dev/zero")
    assert r.returncode == 2 and "/dev/zero:1: binary data" in r.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="speed measured on Linux")
def test_200_csvs_of_1800_samples_are_read_quickly(tmp_path):
    paths = [str(write_csv(tmp_path / f"{i}.csv", leaking(1800, seed=i))) for i in range(200)]
    t0 = time.process_time()  # CPU time: other work on the machine does not count
    loaded = [analyze.load(p) for p in paths]
    elapsed = time.process_time() - t0
    assert all(len(x.traces[0].t) == 1800 for x in loaded)
    assert elapsed < 2.0  # about 0.35 s on the project's 2-core machine


# -- output that cannot be written ---------------------------------------------------------------


@needs_full
@pytest.mark.parametrize("form", ["text", "json"])
def test_a_full_disk_for_the_output_is_one_line_and_status_2_not_1(tmp_path, form):
    path = write_csv(tmp_path / "flat.csv", flat())
    r = shell(">/dev/full", "--format", form, "--fail-on-leak", str(path))
    assert r.returncode == 2
    assert r.stderr == "toptui analyze: cannot write the output: No space left on device\n"


def test_a_closed_stdout_is_one_line_and_status_2(tmp_path):
    path = write_csv(tmp_path / "flat.csv", flat())
    r = shell(">&-", str(path))
    assert r.returncode == 2
    assert r.stderr == "toptui analyze: cannot write the output: standard output is closed\n"


@pytest.mark.parametrize("redirect", ["2>&-", "2>/dev/full", ">/dev/full 2>/dev/full", ">&- 2>&-"])
def test_a_closed_or_full_stderr_keeps_status_2_for_an_unreadable_input(tmp_path, redirect):
    if "/dev/full" in redirect and not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    good = write_csv(tmp_path / "flat.csv", flat())
    r = shell(redirect, str(tmp_path / "missing.csv"), str(good))
    assert r.returncode == 2
    if redirect in ("2>&-", "2>/dev/full"):
        assert [ln.split()[-1] for ln in r.stdout.splitlines()] == ["error", "no_leak"]


@needs_full
def test_a_usage_error_on_a_full_stderr_is_still_status_2():
    r = shell("2>/dev/full", "--format", "xml", "x")
    assert r.returncode == 2 and r.stdout == ""


def test_a_reader_that_leaves_early_is_not_an_error(tmp_path):
    path = write_csv(tmp_path / "short.csv", flat(20))
    # ~3000 lines: more than a pipe holds, so analyze is still writing when the reader leaves.
    p = subprocess.Popen(
        [*TOPTUI, *[str(path)] * 3000], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert p.stdout is not None and p.stderr is not None
    first = p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(TIMEOUT) == 0
    assert first.split()[-1] == b"collecting" and err == b""

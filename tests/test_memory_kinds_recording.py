"""Recorded memory by kind (recording format 4), end to end on real children: ``toptui -b
--record`` keeps what it read of each kind, and ``toptui analyze`` names the kind that grew.

A leak of written bytes, recorded with ``--mappings`` (smaps read every iteration), comes out as
anonymous memory or the heap; writes into a ``/dev/shm`` file through a shared mapping,
recorded without (the coarse split of /proc/PID/status only), come out as shmem. Each waits on
the recording's own rows, never on time."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from children import WAIT_S, MemoryChild, wait_until
from test_memory_kinds_live import SHM_CODE, child

from toptui.engine.monitor import Monitor
from toptui.sampling.replay import ReplaySampler
from toptui.store.recording import RecordingFormatError, RecordingReader, Row
from toptui.views.memory_kinds_panel import render_kinds

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
TOPTUI = [sys.executable, "-m", "toptui"]
MIB = 1 << 20
GROW_MIB = 16  # what each child adds of its kind after the first reading


@contextlib.contextmanager
def recording(path: Path, pid: int, *extra: str) -> Iterator[subprocess.Popen]:
    """``toptui -b --record path -p pid`` until the block ends, then stopped with SIGTERM
    (batch mode ends between two ticks: the recording keeps whole lines only)."""
    run = subprocess.Popen(
        [*TOPTUI, "-b", "-d", "0.2", "-n", "100000", "-p", str(pid), "--record", str(path),
         *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        yield run
    finally:
        run.terminate()
        _, err = run.communicate(timeout=WAIT_S)
    assert run.returncode == 0, err


def rows_of(path: Path, pid: int) -> list[Row]:
    """The recorded rows of ``pid`` so far (the last line may be being written: left out)."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    try:
        return [r for r in RecordingReader(path).rows() if r.pid == pid]
    except RecordingFormatError:  # only the header's first bytes are written yet
        return []


def analyze(path: Path, pid: int) -> tuple[dict, str]:
    """``toptui analyze``'s JSON object for ``pid``, and its piped text line."""
    out = {}
    for form in ("json", "text"):
        r = subprocess.run([*TOPTUI, "analyze", "--format", form, "-p", str(pid), str(path)],
                           capture_output=True, text=True, timeout=WAIT_S)  # fmt: skip
        assert r.returncode == 0, r.stderr
        out[form] = r.stdout
    (line,) = out["json"].splitlines()
    (text,) = out["text"].splitlines()
    return json.loads(line), text


def test_a_recorded_leak_of_written_bytes_is_named_anonymous_or_heap(tmp_path) -> None:
    path = tmp_path / "leak.csv"
    with MemoryChild(4) as c, recording(path, c.pid, "--format", "json", "--mappings"):
        wait_until(lambda: any(r.kinds for r in rows_of(path, c.pid)), "a first smaps reading")
        first = next(r.kinds for r in rows_of(path, c.pid) if r.kinds)
        c.grow(GROW_MIB)
        after = first[1] + GROW_MIB * MIB  # the anonymous kind, with the new bytes

        def grown() -> bool:
            return any(r.kinds and r.kinds[0] + r.kinds[1] >= after for r in rows_of(path, c.pid))

        wait_until(grown, "a recorded smaps reading with the growth")
    header = path.read_bytes().decode().split("\r\n", 1)[0]
    assert header.endswith(",rss_anon,rss_file,rss_shmem,heap,anon,file_private,file_shared,"
                           "shmem,stack,other")  # fmt: skip
    found, text = analyze(path, c.pid)
    growing = found["growing"]
    assert growing["kind"] in ("anon", "heap") and growing["share"] > 0.9, growing
    assert growing["source"] == "smaps" and growing["growth_bytes"] >= GROW_MIB * MIB * 0.9
    assert "objects the program keeps" in growing["meaning"]
    # Text: the GROWS column before the verdict, which stays the last word.
    assert f" {growing['kind']} " in text and text.split()[-1] == found["verdict"]
    # A replay hands the recorded kinds on: the detail view's breakdown names the same kind.
    monitor = Monitor(ReplaySampler(path))
    replay = monitor.sampler
    while not replay.done:
        monitor.step()
    key = next(p.key for p in monitor.last.snapshot.procs if p.pid == c.pid)
    panel = str(render_kinds(monitor.kinds.get(key), monitor.kinds.coarse_of(key), 1, False, c.pid))
    assert "recorded from smaps" in panel and growing["meaning"] in panel


def test_a_recorded_dev_shm_mapping_is_named_shmem(tmp_path) -> None:
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm")
    shm = f"/dev/shm/toptui-test-{uuid.uuid4().hex}"
    path = tmp_path / "shm.csv"
    try:
        with child(SHM_CODE, shm) as c, recording(path, c.proc.pid):
            pid = c.proc.pid
            # No --mappings: the coarse split, read at each full judgement, is what is recorded.
            wait_until(lambda: any(r.coarse for r in rows_of(path, pid)), "a coarse split")
            c.grow(GROW_MIB)

            def grown() -> bool:
                return any(r.coarse and r.coarse[2] >= GROW_MIB * MIB for r in rows_of(path, pid))

            wait_until(grown, "a recorded coarse split with the shmem grown")
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(shm)
    rows = rows_of(path, pid)
    assert all(r.kinds is None for r in rows)  # no smaps read: those cells stay empty
    # Empty cells where nothing was read that tick: most rows hold none of the split.
    assert any(r.coarse is None for r in rows)
    found, text = analyze(path, pid)
    growing = found["growing"]
    assert growing["kind"] == "rss_shmem" and growing["share"] > 0.9, growing
    assert growing["source"] == "/proc/PID/status" and "shmem" in growing["meaning"]
    assert " rss_shmem " in text


def test_growing_kind_takes_smaps_first_then_the_coarse_split() -> None:
    from toptui.analysis.memory_kinds import COARSE_SOURCE, SMAPS_SOURCE, growing_kind

    flat, shm = (0,) * 7, (0, 0, 0, 0, 8 * MIB, 0, 0)
    coarse = ((MIB, 0, 0, 0), (9 * MIB, 0, 0, 0))
    assert growing_kind(None, None) is None
    found = growing_kind((flat, shm), coarse)
    assert found is not None and (found.kind, found.source) == ("shmem", SMAPS_SOURCE)
    # smaps with too little growth: the coarse split, which grew, speaks instead
    found = growing_kind((flat, flat), coarse)
    assert found is not None and (found.kind, found.source) == ("rss_anon", COARSE_SOURCE)
    assert growing_kind((flat, flat), (coarse[0], coarse[0])) is None

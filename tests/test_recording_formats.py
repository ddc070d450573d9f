"""Every recording format still reads, with one reader: format 1 (no ppid), format 2 (no swap),
format 3 (swap), and a format 3 file with columns a later version added, which are ignored; old
files are appended to in their own format. The files are recordings of a real child process."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest
from children import WAIT_S, MemoryChild

from toptui.sampling.replay import ReplaySampler
from toptui.sampling.sampler import Sampler
from toptui.store.recording import (
    HEADER,
    HEADER_LINE,
    HEADER_V1_LINE,
    HEADER_V2_LINE,
    NO_PARENT,
    Recorder,
    RecordingReader,
    format_of,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
MIB = 1024 * 1024


def _rows(child: MemoryChild, n: int = 3) -> list[tuple]:
    """``n`` samples of the child, as (time, pid, create_time, name, rss, vms, shr, cpu, ppid)."""
    sampler = Sampler(pids=[child.pid])
    out = []
    for i in range(n):
        p = next(p for p in sampler.sample().procs if p.pid == child.pid)
        out.append((1700000000.0 + i, p.pid, round(p.create_time, 2), p.name, p.res, p.virt,
                    p.shr, 0.0, p.ppid))  # fmt: skip
    return out


def _line(values: tuple) -> str:
    return ",".join(str(v) for v in values) + "\r\n"


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_every_format_reads(tmp_path, version):
    with MemoryChild(start_mib=4) as child:
        rows = _rows(child)
    if version == 1:
        text = HEADER_V1_LINE + "\r\n" + "".join(_line(r[:8]) for r in rows)
    elif version == 2:
        text = HEADER_V2_LINE + "\r\n" + "".join(_line(r) for r in rows)
    elif version == 3:
        text = HEADER_LINE + "\r\n" + "".join(_line((*r, 4096)) for r in rows)
    else:  # what a later version may write: more columns after format 3's, which are ignored
        text = HEADER_LINE + ",anon,file\r\n" + "".join(_line((*r, 4096, 7, 8)) for r in rows)
    path = tmp_path / "rec.csv"
    path.write_text(text, newline="")
    reader = RecordingReader(path)
    got = list(reader.rows())
    assert [(r.pid, r.rss, r.vms, r.shared) for r in got] == [(r[1], r[4], r[5], r[6])
                                                             for r in rows]  # fmt: skip
    assert all(r.ppid == (NO_PARENT if version == 1 else rows[0][8]) for r in got)
    assert all(r.swap == (4096 if version >= 3 else 0) for r in got)
    assert reader.has_parents == (version >= 2)
    assert format_of(reader.header) == min(version, 3)
    replay = ReplaySampler(path)
    snap = replay.sample()
    assert snap.procs[0].swap == (4096 if version >= 3 else 0)
    r = subprocess.run([sys.executable, "-m", "toptui", "analyze", str(path)],
                       capture_output=True, text=True, timeout=WAIT_S)  # fmt: skip
    assert r.returncode == 0 and str(rows[0][1]) in r.stdout, r.stderr


@pytest.mark.parametrize("header", [HEADER_V1_LINE, HEADER_V2_LINE, HEADER_LINE + ",anon"])
def test_an_old_file_is_appended_to_in_its_own_format(tmp_path, header):
    with MemoryChild(start_mib=2) as child:
        sampler = Sampler(pids=[child.pid])
        path = tmp_path / "rec.csv"
        path.write_text(header + "\r\n", newline="")
        with Recorder(path) as rec:
            snap = sampler.sample()
            rec.record(replace(snap, procs=tuple(replace(p, swap=MIB) for p in snap.procs)))
    lines = path.read_bytes().decode().split("\r\n")
    assert lines[0] == header and lines[-1] == ""
    columns = header.count(",") + 1
    assert lines[1].count(",") + 1 == columns
    (row,) = RecordingReader(path).rows()
    assert row.pid == child.pid
    assert row.swap == (MIB if columns > len(HEADER) - 1 else 0)


def test_a_new_recording_is_format_3(tmp_path):
    with MemoryChild(start_mib=2) as child, Recorder(tmp_path / "new.csv") as rec:
        rec.record(Sampler(pids=[child.pid]).sample())
    assert (tmp_path / "new.csv").read_bytes().decode().startswith(HEADER_LINE + "\r\n")
    assert HEADER[-2:] == ("ppid", "swap")

"""Every recording format still reads, with one reader: format 1 (no ppid), format 2 (no swap),
format 3 (swap), format 4 (per-kind columns), and format 3 and 4 files with columns a later
version added, which are ignored; old files are appended to in their own format. The files are
recordings of a real child process."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest
from children import WAIT_S, MemoryChild

from toptui.mapping_model import ProcKinds
from toptui.sampling.replay import ReplaySampler
from toptui.sampling.sampler import Sampler
from toptui.store.recording import (
    HEADER_LINE,
    HEADER_V1_LINE,
    HEADER_V2_LINE,
    HEADER_V3,
    HEADER_V3_LINE,
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


COARSE = (5 * MIB, 6 * MIB, 7 * MIB)
KINDS7 = tuple(i * MIB for i in range(1, 8))


@pytest.mark.parametrize("version", [1, 2, 3, 4, "3+", "4+"])
def test_every_format_reads(tmp_path, version):
    with MemoryChild(start_mib=4) as child:
        rows = _rows(child)
    if version == 1:
        text = HEADER_V1_LINE + "\r\n" + "".join(_line(r[:8]) for r in rows)
    elif version == 2:
        text = HEADER_V2_LINE + "\r\n" + "".join(_line(r) for r in rows)
    elif version == 3:
        text = HEADER_V3_LINE + "\r\n" + "".join(_line((*r, 4096)) for r in rows)
    elif version == "3+":  # further columns after format 3's, which are ignored
        text = HEADER_V3_LINE + ",anon,file\r\n" + "".join(_line((*r, 4096, 7, 8)) for r in rows)
    elif version == 4:  # the first row read both groups, the second none, the third the coarse
        cells = [(*COARSE, *KINDS7), ("",) * 10, (*COARSE, *("",) * 7)]
        lines = (_line((*r, 4096, *c)) for r, c in zip(rows, cells, strict=True))
        text = HEADER_LINE + "\r\n" + "".join(lines)
    else:  # what a later version may write after format 4's columns: ignored
        text = HEADER_LINE + ",later\r\n" + "".join(_line((*r, 4096, *("",) * 10, 9))
                                                     for r in rows)  # fmt: skip
    number = int(str(version)[0])
    path = tmp_path / "rec.csv"
    path.write_text(text, newline="")
    reader = RecordingReader(path)
    got = list(reader.rows())
    assert [(r.pid, r.rss, r.vms, r.shared) for r in got] == [(r[1], r[4], r[5], r[6])
                                                             for r in rows]  # fmt: skip
    assert all(r.ppid == (NO_PARENT if number == 1 else rows[0][8]) for r in got)
    assert all(r.swap == (4096 if number >= 3 else 0) for r in got)
    assert reader.has_parents == (number >= 2)
    assert format_of(reader.header) == number
    if version == 4:
        assert [(r.coarse, r.kinds) for r in got] == [(COARSE, KINDS7), (None, None),
                                                       (COARSE, None)]  # fmt: skip
    else:
        assert all(r.coarse is None and r.kinds is None for r in got)
    replay = ReplaySampler(path)
    snap = replay.sample()
    assert snap.procs[0].swap == (4096 if number >= 3 else 0)
    if version == 4:  # the replay hands the kinds on, keyed as its processes
        assert snap.kinds == {snap.procs[0].key: (COARSE, KINDS7)}
        assert replay.sample().kinds is None
    else:
        assert snap.kinds is None
    r = subprocess.run([sys.executable, "-m", "toptui", "analyze", str(path)],
                       capture_output=True, text=True, timeout=WAIT_S)  # fmt: skip
    assert r.returncode == 0 and str(rows[0][1]) in r.stdout, r.stderr
    # Without per-kind columns (or with too little growth in them) analyze says nothing of them.
    assert "GROWS" not in r.stdout and len(r.stdout.split()) == 10


@pytest.mark.parametrize(
    "header",
    [HEADER_V1_LINE, HEADER_V2_LINE, HEADER_V3_LINE, HEADER_V3_LINE + ",anon", HEADER_LINE + ",x"],
)
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
    assert row.swap == (MIB if columns >= len(HEADER_V3) else 0)
    assert row.coarse is None and row.kinds is None


def test_a_new_recording_is_format_4(tmp_path):
    with MemoryChild(start_mib=2) as child, Recorder(tmp_path / "new.csv") as rec:
        snap = Sampler(pids=[child.pid]).sample()
        key = next(p.key for p in snap.procs if p.pid == child.pid)
        rec.record(replace(snap, kinds={key: ProcKinds(COARSE, None)}))
        assert rec.format == 4
    text = (tmp_path / "new.csv").read_bytes().decode()
    assert text.startswith(HEADER_LINE + "\r\n")
    assert HEADER_V3[-2:] == ("ppid", "swap")
    rows = {r.pid: r for r in RecordingReader(tmp_path / "new.csv").rows()}
    assert rows[child.pid].coarse == COARSE and rows[child.pid].kinds is None
    # Every other process: empty cells only, ten commas a row.
    others = [
        line
        for line in text.split("\r\n")[1:-1]
        if not line.startswith(f"{snap.t_wall:.3f},{child.pid},")
    ]
    assert all(line.endswith("," * 10) for line in others)


@pytest.mark.parametrize(
    ("cells", "said"),
    [
        ((*COARSE[:2], "", *("",) * 7), "rss_shmem is not a number of bytes"),
        (("", "", "", *KINDS7[:6], "x"), "other is not a number of bytes"),
        ((*COARSE, *KINDS7[:6], -1), "memory size out of range"),
    ],
)
def test_a_format_4_row_with_bad_kind_cells_is_a_stated_reason(tmp_path, cells, said):
    with MemoryChild(start_mib=2) as child:
        (row,) = _rows(child, 1)
    path = tmp_path / "rec.csv"
    path.write_text(HEADER_LINE + "\r\n" + _line((*row, 0, *cells)), newline="")
    r = subprocess.run([sys.executable, "-m", "toptui", "analyze", str(path)],
                       capture_output=True, text=True, timeout=WAIT_S)  # fmt: skip
    assert r.returncode == 2
    (line,) = r.stderr.splitlines()  # one line naming the file and line: never a traceback
    assert line.startswith(f"toptui analyze: {path}:2: {said}"), line

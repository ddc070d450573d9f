"""The recording format: round trip, appending, whole-line writes, and readable errors."""

import io
import os
import sys

import pytest

from toptui.engine.monitor import Monitor
from toptui.model import CpuStates, MemoryStats, ProcSample, Snapshot, SystemStats, TaskCounts
from toptui.store.recording import (
    HEADER_LINE,
    HEADER_V1_LINE,
    Recorder,
    RecordingError,
    RecordingFormatError,
    RecordingReader,
    read_series,
)

MIB = 1024 * 1024
NAMES = ["plain", "with,comma", 'say "hi"', "two  spaces ", "new\nline", "cr\rlf", "bad\udcffutf8",
         "ünïcødé", ""]  # fmt: skip
MEMORY = MemoryStats(8 * 1024 * MIB, 0, 4 * 1024 * MIB, 0, 0, 0, 0)
SYSTEM = SystemStats(0.0, (0.0, 0.0, 0.0), 0, CpuStates(), MEMORY, TaskCounts())


def proc(pid: int, name: str, res: int, create_time: float = 1_700_000_000.25, cpu: float = 1.5):
    return ProcSample(
        key=(pid, round(create_time * 100)),
        pid=pid,
        ppid=1,
        user="u",
        name=name,
        command=name,
        state="S",
        priority=20,
        nice=0,
        threads=1,
        virt=res * 3,
        res=res,
        shr=res // 4,
        cpu_percent=cpu,
        mem_percent=0.0,
        cpu_time=0.0,
        create_time=create_time,
    )


def snap(t: float, procs) -> Snapshot:
    return Snapshot(t_mono=t, t_wall=t, interval_s=1.0, system=SYSTEM, procs=tuple(procs))


def ticks(n: int, start: float = 1_700_000_100.0):
    """n snapshots: one process per odd name, each growing a page per tick."""
    return [
        snap(start + i, [proc(100 + j, nm, (j + 1) * MIB + i * 4096) for j, nm in enumerate(NAMES)])
        for i in range(n)
    ]


def test_round_trip_keeps_every_name_and_number(tmp_path):
    path = tmp_path / "rec.csv"
    snaps = ticks(5)
    with Recorder(path) as rec:
        for s in snaps:
            rec.record(s)
    series = read_series(path)
    # A byte that is not UTF-8 reads back as U+FFFD, as the sampler decodes names from the kernel.
    assert [s.name for s in series] == [n.replace("\udcff", "\ufffd") for n in NAMES]
    for j, s in enumerate(series):
        assert s.pid == 100 + j
        assert s.create_time == 1_700_000_000.25
        assert list(s.t) == [x.t_wall for x in snaps]
        assert list(s.rss) == [x.procs[j].res for x in snaps]
        assert list(s.vms) == [x.procs[j].virt for x in snaps]
        assert list(s.shared) == [x.procs[j].shr for x in snaps]
        assert list(s.cpu_percent) == [1.5] * 5
    # A surrogate-escaped byte goes to disk as the original byte, not as an escape.
    assert b"bad\xffutf8" in path.read_bytes()


def test_same_pid_with_another_start_is_another_identity(tmp_path):
    path = tmp_path / "rec.csv"
    with Recorder(path) as rec:
        rec.record(snap(10.0, [proc(7, "old", MIB, create_time=1.0)]))
        rec.record(snap(11.0, [proc(7, "new", 2 * MIB, create_time=5.0)]))
    series = read_series(path)
    got = [(s.pid, s.name, list(s.rss)) for s in series]
    assert got == [(7, "old", [MIB]), (7, "new", [2 * MIB])]


def test_appending_keeps_what_is_there_and_writes_the_header_once(tmp_path):
    path = tmp_path / "rec.csv"
    snaps = ticks(6)
    with Recorder(path) as rec:
        for s in snaps[:3]:
            rec.record(s)
    before = path.read_bytes()
    with Recorder(path) as rec:  # a second run appends
        for s in snaps[3:]:
            rec.record(s)
    after = path.read_bytes()
    assert after.startswith(before)
    assert after.count(HEADER_LINE.encode()) == 1
    assert after.startswith(HEADER_LINE.encode() + b"\r\n")
    assert [len(s.t) for s in read_series(path)] == [6] * len(NAMES)


def test_an_empty_existing_file_gets_the_header(tmp_path):
    path = tmp_path / "rec.csv"
    path.write_bytes(b"")
    with Recorder(path) as rec:
        rec.record(ticks(1)[0])
    assert path.read_bytes().startswith(HEADER_LINE.encode() + b"\r\n")


def test_each_tick_is_one_write_of_whole_lines(tmp_path, monkeypatch):
    import toptui.store.recording as recording

    writes: list[bytes] = []
    real_write = os.write

    def spy(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(recording.os, "write", spy)
    path = tmp_path / "rec.csv"
    many = snap(5.0, [proc(1000 + i, f"p{i}", MIB) for i in range(500)])
    with Recorder(path) as rec:
        rec.record(many)
        rec.record(many)
    assert len(writes) == 2
    assert all(w.endswith(b"\n") for w in writes)
    assert writes[0].count(b"\n") == 501 and writes[1].count(b"\n") == 500


def test_a_foreign_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("my precious notes\n")
    with pytest.raises(RecordingError) as info:
        Recorder(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert path.read_text() == "my precious notes\n"


@pytest.mark.parametrize("content", [b"tim", b"time,pid,create", HEADER_LINE.encode()[:-1]])
def test_a_file_holding_only_the_start_of_the_header_is_refused_not_truncated(tmp_path, content):
    path = tmp_path / "notes.csv"
    path.write_bytes(content)
    with pytest.raises(RecordingError, match="not a toptui recording"):
        Recorder(path)
    assert path.read_bytes() == content


@pytest.mark.parametrize("end", [b"", b"\r"])
def test_a_recording_cut_off_before_the_header_line_end_is_continued(tmp_path, end):
    path = tmp_path / "rec.csv"
    path.write_bytes(HEADER_LINE.encode() + end)
    with Recorder(path) as rec:
        rec.record(ticks(1)[0])
    assert path.read_bytes().startswith(HEADER_LINE.encode() + b"\r\n")
    assert [len(s.t) for s in read_series(path)] == [1] * len(NAMES)


def test_a_recording_with_a_byte_order_mark_is_appended_to(tmp_path):
    path = tmp_path / "rec.csv"
    with Recorder(path) as rec:
        rec.record(ticks(1)[0])
    saved = b"\xef\xbb\xbf" + path.read_bytes()  # as an editor may save it
    path.write_bytes(saved)
    with Recorder(path) as rec:
        rec.record(ticks(2)[1])
    assert path.read_bytes().startswith(saved)
    assert [len(s.t) for s in read_series(path)] == [2] * len(NAMES)


@pytest.mark.parametrize("case", ["missing_dir", "is_dir", "no_permission"])
def test_opening_failures_are_one_line_naming_the_file(tmp_path, case):
    if case == "missing_dir":
        path = tmp_path / "nowhere" / "rec.csv"
    elif case == "is_dir":
        path = tmp_path
    else:
        if os.geteuid() == 0:
            pytest.skip("root may write anywhere")
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        path = ro / "rec.csv"
    with pytest.raises(OSError) as info:
        Recorder(path)
    assert isinstance(info.value, RecordingError)
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg and "Errno" not in msg


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_stops_recording_but_not_the_monitor():
    class OneTick:
        def sample(self) -> Snapshot:
            return ticks(1)[0]

    mon = Monitor(OneTick(), recorder=Recorder("/dev/full"))
    mon.step()
    mon.step()
    assert mon.recorder is None
    assert mon.record_error is not None and "/dev/full" in mon.record_error
    assert mon.tick == 2


def test_a_cut_off_last_line_is_skipped_and_reported(tmp_path):
    path = tmp_path / "rec.csv"
    with Recorder(path) as rec:
        for s in ticks(3):
            rec.record(s)
    whole = path.read_bytes()
    # Line numbers count physical lines as Python reads them: a quoted "\r" ends one too.
    lines = len(io.StringIO(whole.decode("utf-8", "surrogateescape"), newline="").readlines())
    for tail in (b"1700000200.000,5,17000", b'1700000200.000,5,1.00,"na\nme'):
        path.write_bytes(whole + tail)
        reader = RecordingReader(path)
        assert [len(s.t) for s in read_series(reader)] == [3] * len(NAMES)
        assert reader.truncated_line == lines + 1 + tail.count(b"\n")  # the last line


def test_recording_again_after_a_crash_drops_only_the_partial_line(tmp_path):
    path = tmp_path / "rec.csv"
    with Recorder(path) as rec:
        rec.record(ticks(1)[0])
    whole = path.read_bytes()
    path.write_bytes(whole + b"1700000200.000,5,17")
    with Recorder(path) as rec:
        rec.record(ticks(2)[1])
    assert path.read_bytes().startswith(whole)
    reader = RecordingReader(path)
    assert [len(s.t) for s in read_series(reader)] == [2] * len(NAMES)
    assert reader.truncated_line is None


@pytest.mark.parametrize(
    "body,line,needle",
    [
        (b"1.0,1,1.0,a,1,1,1\n", 2, "expected 8 fields"),
        (b"1.0,1,1.0,a,1,1,1,0.0\n2.0,x,1.0,a,1,1,1,0.0\n", 3, "pid is not a number"),
        (b"1.0,1,1.0,a,1e999,1,1,0.0\n", 2, "rss is not a number"),
        (b"1.0,1,1.0,a," + b"9" * 30 + b",1,1,0.0\n", 2, "out of range"),
        (b"inf,1,1.0,a,1,1,1,0.0\n", 2, "time out of range"),
    ],
)
def test_a_malformed_row_names_its_line(tmp_path, body, line, needle):
    path = tmp_path / "rec.csv"
    path.write_bytes(HEADER_V1_LINE.encode() + b"\n" + body)  # format 1
    with pytest.raises(RecordingFormatError) as info:
        read_series(path)
    assert info.value.line == line
    assert needle in str(info.value) and str(path) in str(info.value)


def test_not_a_recording(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("t,rss\n0,1\n")
    with pytest.raises(RecordingFormatError, match="not a toptui recording"):
        read_series(path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="speed measured on Linux")
def test_reading_100k_rows_is_quick(tmp_path):
    import time

    path = tmp_path / "big.csv"
    procs = [proc(p, f"proc{p}", MIB + p * 4096) for p in range(500)]
    with Recorder(path) as rec:
        for i in range(200):
            rec.record(snap(1000.0 + i, procs))
    t0 = time.process_time()  # CPU time: other work on the machine does not count
    series = read_series(path)
    elapsed = time.process_time() - t0
    assert sum(len(s.t) for s in series) == 100_000
    assert elapsed < 3.0  # about 0.5 s on the project's 2-core machine


def test_format_2_keeps_parent_pids_and_format_1_still_reads_and_is_appended_to_as_it_is(tmp_path):
    from dataclasses import replace

    from toptui.store.recording import NO_PARENT, RecordingReader

    new = tmp_path / "new.csv"
    with Recorder(new) as rec:
        rec.record(snap(1_700_000_100.0, [replace(proc(7, "child", MIB), ppid=42)]))
    assert new.read_bytes().startswith(HEADER_LINE.encode() + b"\r\n")
    (row,) = RecordingReader(str(new)).rows()
    assert row.ppid == 42

    old = tmp_path / "old.csv"
    old.write_bytes(
        HEADER_V1_LINE.encode() + b"\r\n1700000000.000,7,1.00,child,4096,4096,0,0.0\r\n"
    )
    reader = RecordingReader(str(old))
    (row,) = reader.rows()
    assert row.ppid == NO_PARENT and not reader.has_parents
    with Recorder(old) as rec:  # appended to in its own format: no ppid column
        rec.record(snap(1_700_000_101.0, [replace(proc(7, "child", MIB), ppid=42)]))
    rows = list(RecordingReader(str(old)).rows())
    assert [r.ppid for r in rows] == [NO_PARENT, NO_PARENT]
    assert old.read_text().count("time,pid,") == 1

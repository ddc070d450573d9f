"""Replaying a recording tick by tick through the same monitor that watched it live."""

import sys

import pytest
from test_analyze import EPOCH, record_leaking_child
from test_recording import proc, snap

from toptui.engine.monitor import Monitor
from toptui.sampling.replay import ReplaySampler
from toptui.store.recording import Recorder, RecordingError, RecordingFormatError

MIB = 1024 * 1024


def test_ticks_come_back_in_order_with_the_recorded_timeline(tmp_path):
    path = tmp_path / "rec.csv"
    recorded = [
        snap(EPOCH + 0.0, [proc(1, "a", MIB, create_time=100.0), proc(2, "b", 2 * MIB)]),
        snap(EPOCH + 2.5, [proc(1, "a", 3 * MIB, create_time=100.0)]),
        # pid 1 again, but a new process: a different start time
        snap(EPOCH + 5.0, [proc(1, "a2", 4 * MIB, create_time=200.0), proc(3, "c,d", 5 * MIB)]),
    ]
    with Recorder(path) as rec:
        for s in recorded:
            rec.record(s)
    r = ReplaySampler(path)
    assert (r.position, r.total, r.done) == (0, 3, False)
    got = []
    for i in range(3):
        s = r.sample()
        got.append(s)
        assert r.position == i + 1
    assert r.done
    assert [s.t_mono for s in got] == [EPOCH, EPOCH + 2.5, EPOCH + 5.0]
    assert [s.interval_s for s in got] == [0.0, 2.5, 2.5]
    assert [[(p.pid, p.name, p.res) for p in s.procs] for s in got] == [
        [(1, "a", MIB), (2, "b", 2 * MIB)],
        [(1, "a", 3 * MIB)],
        [(1, "a2", 4 * MIB), (3, "c,d", 5 * MIB)],
    ]
    assert got[0].procs[0].key == got[1].procs[0].key != got[2].procs[0].key
    p = got[0].procs[1]
    assert (p.virt, p.shr, p.cpu_percent, p.user, p.state) == (6 * MIB, MIB // 2, 1.5, "?", "S")
    assert got[0].system.memory.total >= 0
    # Past the end: the last tick again, still done.
    assert r.sample() is got[-1] and r.done and r.position == 3


def test_replay_of_some_pids_plays_only_their_ticks(tmp_path):
    """-p with --replay names the recording's processes (long gone from this machine)."""
    path = tmp_path / "rec.csv"
    with Recorder(path) as rec:
        rec.record(snap(EPOCH + 0.0, [proc(1, "a", MIB), proc(2, "b", 2 * MIB)]))
        rec.record(snap(EPOCH + 1.0, [proc(2, "b", 3 * MIB)]))
        rec.record(snap(EPOCH + 2.0, [proc(1, "a", 4 * MIB), proc(2, "b", 3 * MIB)]))
    r = ReplaySampler(path, pids=[1])
    assert r.total == 2
    assert [[p.pid for p in r.sample().procs] for _ in range(2)] == [[1], [1]]
    assert r.done
    with pytest.raises(RecordingFormatError, match="no samples of process 7, 9"):
        ReplaySampler(path, pids=[9, 7])


def test_an_empty_or_broken_recording_fails_at_once(tmp_path):
    path = tmp_path / "rec.csv"
    with pytest.raises(RecordingError) as missing:
        ReplaySampler(path)
    assert str(missing.value) == f"cannot replay {path}: no such file or directory"
    with Recorder(path) as rec:
        rec.record(snap(EPOCH, []))
    with pytest.raises(RecordingFormatError, match="no samples"):
        ReplaySampler(path)
    with Recorder(path) as rec:
        rec.record(snap(EPOCH, [proc(1, "a", MIB)]))
    with path.open("a") as f:
        f.write("garbage\r\n" + "1.0,1,1.0,a,1,1,1,0.0\r\n")
    with pytest.raises(RecordingFormatError) as info:
        ReplaySampler(path)
    assert info.value.line == 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_replaying_a_real_leak_flags_it_again(tmp_path):
    path = tmp_path / "run.csv"
    pid, live, live_first_flag = record_leaking_child(path)
    (_, live_verdict), *_ = live.last.leaks()

    replay = ReplaySampler(path)
    assert replay.total == 121
    mon = Monitor(replay, interval_s=1.0, judge_every_s=1.0)
    frames = []
    while not replay.done:
        frames.append(mon.step())
    assert len(frames) == 121
    leaks = frames[-1].leaks()
    assert [k[0] for k, _ in leaks] == [pid]
    verdict = leaks[0][1]
    assert verdict.rate_bytes_per_s == pytest.approx(live_verdict.rate_bytes_per_s, rel=0.05)
    assert frames[-1].snapshot.t_mono - frames[0].snapshot.t_mono == pytest.approx(120.0)
    # Flagged at the same point of the timeline as live: the detector sees the same series.
    assert next(i for i, f in enumerate(frames) if f.leaks()) == live_first_flag


def test_100k_rows_replay_quickly(tmp_path):
    import time

    path = tmp_path / "big.csv"
    procs = [proc(p, f"p{p}", MIB + p * 4096) for p in range(1000)]
    with Recorder(path) as rec:
        for i in range(100):
            rec.record(snap(EPOCH + i, procs))
    t0 = time.process_time()  # CPU time: other work on the machine does not count
    r = ReplaySampler(path)
    n = 0
    while not r.done:
        n += len(r.sample().procs)
    assert n == 100_000 and r.total == 100
    assert time.process_time() - t0 < 5.0  # about 1.5 s on the project's 2-core machine


def test_a_format_2_replay_has_parents_so_families_are_judged(tmp_path):
    """A recording that keeps ppid replays with tree view and families; a format 1 one says so."""
    from dataclasses import replace

    from toptui.store.recording import HEADER_V1_LINE

    path = tmp_path / "rec.csv"
    with Recorder(path) as rec:
        for i in range(120):
            head = replace(proc(10, "pool", 50 * 1024 * 1024), ppid=1)
            worker = replace(proc(11, "worker", 20 * 1024 * 1024 + i * 200 * 1024), ppid=10)
            rec.record(snap(1_700_000_000.0 + i, [head, worker]))
    replay = ReplaySampler(path)
    assert replay.has_parents and "PPID" not in replay.unrecorded_columns
    mon = Monitor(replay, interval_s=1.0, judge_every_s=1.0)
    mon.families = True
    for _ in range(120):
        frame = mon.step()
    assert {p.pid: p.ppid for p in frame.snapshot.procs} == {10: 1, 11: 10}
    assert frame.families is not None

    old = tmp_path / "old.csv"
    old.write_text(HEADER_V1_LINE + "\r\n1700000000.000,7,1.00,x,4096,4096,0,0.0\r\n")
    assert not ReplaySampler(old).has_parents
    assert "PPID" in ReplaySampler(old).unrecorded_columns

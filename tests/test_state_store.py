"""toptui serve's rolling store, and the screen starting from it: real ``toptui serve`` processes
beside real children that write real memory, a store cut off mid-line or by ``kill -9``, another
boot's store, a reused pid, and ``analyze`` and ``--replay`` reading a store."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from children import WAIT_S, MemoryChild, spawn_leaker, wait_until

from toptui.engine.monitor import Monitor, Preload
from toptui.engine.sources import live_source
from toptui.engine.state import StoreKeeper, lazy_store, load_store
from toptui.sampling.replay import ReplaySampler
from toptui.store.history import History, dump_history, restore_history
from toptui.store.recording import RecordingReader, store_segments
from toptui.store.state_store import (
    CHECKPOINT,
    Checkpoint,
    StoreError,
    StoreWriter,
    boot_id,
    find_store,
    read_checkpoint,
    write_checkpoint,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
TOPTUI = [sys.executable, "-m", "toptui"]
MIB = 1024 * 1024
# Ticks taken in a tight loop can fall in the same millisecond, which a row's time cannot tell
# apart; this spaces them (the interval of a real run is 10 ms at least).
SPACING_S = 0.01


class Serve:
    """``toptui serve`` writing a store in ``state``, on a free port; stderr kept."""

    def __init__(self, state: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*TOPTUI, "serve", "--listen", "127.0.0.1:0", "--state-dir", str(state), *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(lambda: any("serving" in x for x in self.lines) or self.proc.poll() is not None,
                   "toptui serve listening")  # fmt: skip
        assert self.proc.poll() is None, self.lines

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=WAIT_S)


def _checkpoint_state(state: Path, pid: int) -> str | None:
    """The shown verdict the store's checkpoint holds for ``pid`` (None before there is one)."""
    try:
        cp = read_checkpoint(str(state))
    except StoreError:
        return None
    for key, entry in cp.states.items():
        if key[0] == pid:
            return entry["state"]["shown"]
    return None


def test_serve_writes_a_store_and_the_screen_shows_the_leak_on_its_first_frame(tmp_path):
    """The whole story: toptui serve watches a real leaker and keeps its store; it ends on
    SIGTERM; the screen launched afterwards has the leaker's history and its leak verdict on the
    very first frame, without waiting the 45 s a verdict takes to collect."""
    from toptui.views.app import TopApp

    state = tmp_path / "state"
    leaker = spawn_leaker(1.0)
    try:
        serve = Serve(state, "-d", "0.5", "-p", str(leaker.pid))
        try:
            wait_until(
                lambda: _checkpoint_state(state, leaker.pid) == "leak",
                "the store's checkpoint holds the leaker as a leak",
                timeout=4 * WAIT_S,
            )
        finally:
            assert serve.stop() == 0, serve.lines
        assert not [x for x in serve.lines if "serving" not in x], serve.lines
        cp = read_checkpoint(str(state))
        assert cp.boot_id == boot_id()
        stored = next(d for d in cp.history.procs if d.key[0] == leaker.pid)

        app = TopApp(interval_s=0.5, pids=[leaker.pid])
        app.monitor.preload = lazy_store([str(state)], print)
        frames = []
        ingest = app.monitor.ingest

        def first_frames(snap, urgent=()):
            frame = ingest(snap, urgent)
            frames.append(frame)
            return frame

        app.monitor.ingest = first_frames

        async def run() -> None:
            async with app.run_test(size=(160, 45)) as pilot:
                loop = asyncio.get_running_loop()
                end = loop.time() + WAIT_S
                while app.frames_seen < 1 and loop.time() < end:
                    await pilot.pause(0.05)
                assert app.frames_seen >= 1
                first = frames[0]
                key = next(p.key for p in first.snapshot.procs if p.pid == leaker.pid)
                assert key == stored.key  # the same process: same pid and start time
                assert first.verdicts[key].verdict == "leak", first.verdicts.get(key)
                assert [k for k, _ in first.leaks()] == [key]
                series = app.monitor.history.series(key)
                assert series is not None
                # The history began when serve first saw the leaker, not now.
                assert series.t[-1] - series.t[0] >= 45.0
                assert series.baseline.t == stored.baseline.t
                assert app.monitor.restored is not None and app.monitor.restored.restored == 1

        asyncio.run(run())
    finally:
        leaker.kill()
        leaker.wait(timeout=WAIT_S)


def test_kill_9_leaves_a_store_that_reads_and_a_torn_tail_is_skipped(tmp_path):
    state = tmp_path / "state"
    with MemoryChild(start_mib=5) as child:
        serve = Serve(state, "-d", "0.05", "-p", str(child.pid))
        wait_until(lambda: os.path.exists(state / CHECKPOINT), "a first checkpoint")
        wait_until(lambda: sum(1 for _ in RecordingReader(str(state)).rows()) >= 20, "20 rows")
        serve.stop(signal.SIGKILL)
        rows = list(RecordingReader(str(state)).rows())
        assert rows and all(r.pid == child.pid for r in rows)
        # Cut the newest segment in the middle of its last line, as a power cut might.
        seg = store_segments(str(state))[-1]
        data = Path(seg).read_bytes() if seg.endswith(".csv") else None
        if data is None:  # already compressed: cut a plain copy instead
            import gzip

            data = gzip.decompress(Path(seg).read_bytes())
            os.unlink(seg)
            seg = seg.removesuffix(".gz")
        Path(seg).write_bytes(data[: data.rindex(b"\r\n") - 3])
        reader = RecordingReader(str(state))
        again = list(reader.rows())
        assert len(again) == len(rows) - 1 and reader.torn == [seg]
        assert reader.truncated_line is None  # a store's torn tail is no failure
        # analyze and a replay read it too; a new serve takes the store over.
        r = subprocess.run([*TOPTUI, "analyze", str(state)], capture_output=True, text=True,
                           timeout=WAIT_S)  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert re.search(rf"^\S+ +{child.pid} ", r.stdout, re.M), r.stdout
        replay = ReplaySampler(str(state))
        assert replay.total == len({r.time for r in again})
        serve = Serve(state, "-d", "0.05", "-p", str(child.pid))
        n = len(again)
        wait_until(lambda: sum(1 for _ in RecordingReader(str(state)).rows()) > n + 5,
                   "the new serve appends")  # fmt: skip
        assert serve.stop() == 0
        assert not [x for x in serve.lines if "serving" not in x], serve.lines
        assert all(s.endswith(".gz") for s in store_segments(str(state)))


def _store_of(tmp_path: Path, child: MemoryChild, ticks: int = 6) -> tuple[Path, Monitor]:
    """A store written by the monitor itself (as serve does), of one real child."""
    state = tmp_path / "state"
    mon = Monitor(live_source([child.pid]), interval_s=0.1, judge_every_s=0.5)
    keeper = StoreKeeper(str(state), mon, print)
    for i in range(ticks):
        if i == ticks // 2:
            child.grow(3)
        keeper.after(mon.step())
    keeper.close()
    return state, mon


def test_another_boots_store_is_ignored(tmp_path):
    with MemoryChild(start_mib=2) as child:
        state, _ = _store_of(tmp_path, child)
        cp = read_checkpoint(str(state))
        assert find_store([str(state)], boot_id())[0] == str(state)
        write_checkpoint(str(state), replace(cp, boot_id="another-boot"))
        assert find_store([str(state)], boot_id()) == (None, None, [])
        mon = Monitor(live_source([child.pid]), interval_s=0.1)
        mon.preload = lazy_store([str(state)], print)
        mon.step()
        (key,) = mon.history.keys()
        assert mon.restored is None and len(mon.history.series(key).t) == 1


def test_a_reused_pid_does_not_inherit_the_stores_history(tmp_path):
    with MemoryChild(start_mib=2) as child:
        state, _ = _store_of(tmp_path, child)
        cp = read_checkpoint(str(state))
        (key,) = [d.key for d in cp.history.procs]
        # The same pid with another start time: another process (the pid was reused).
        other = (key[0], key[1] - 100)
        cp.history.procs[0] = replace(cp.history.procs[0], key=other)
        cp.states = {other: cp.states[key]}
        write_checkpoint(str(state), cp)
        mon = Monitor(live_source([child.pid]), interval_s=0.1)
        mon.preload = lazy_store([str(state)], print)
        frame = mon.step()
        assert mon.restored is not None and mon.restored.restored == 0
        assert other not in mon.history and key not in frame.verdicts
        assert len(mon.history.series(key).t) == 1  # its own history only, from now


def test_the_restored_history_is_the_kept_one_and_the_tail_follows(tmp_path):
    with MemoryChild(start_mib=2) as child:
        state, old = _store_of(tmp_path, child, ticks=12)
        (key,) = old.history.keys()
        kept = old.history.series(key)
        mon = Monitor(live_source([child.pid]), interval_s=0.1)
        preload, where, notes = load_store([str(state)])
        assert where == str(state) and not notes and preload is not None
        mon.preload = preload
        mon.step()
        got = mon.history.series(key)
        assert got.t[: len(kept.t)] == kept.t and got.res[: len(kept.res)] == kept.res
        assert got.baseline == kept.baseline and len(got.t) == len(kept.t) + 1
        assert mon.verdicts[key].verdict == old.verdicts[key].verdict
        # A dump restored into a smaller history keeps what fits.
        small = History(history_s=3600, interval_s=1.0)
        dump = dump_history(old.history)
        assert restore_history(small, dump) == 1
        assert small.series(key).res == kept.res


def test_rows_after_the_checkpoint_are_replayed_into_the_history(tmp_path):
    with MemoryChild(start_mib=2) as child:
        state = tmp_path / "state"
        mon = Monitor(live_source([child.pid]), interval_s=0.1)
        keeper = StoreKeeper(str(state), mon, print)
        for _ in range(4):
            keeper.after(mon.step())
        keeper.checkpoint()
        child.grow(4)
        for _ in range(3):  # written to the segment, not in the checkpoint
            time.sleep(SPACING_S)  # rows keep wall time to the millisecond: ticks a bit apart
            mon_frame = mon.step()
            keeper.writer.record(mon_frame.snapshot)
        keeper.writer.sync()
        (key,) = mon.history.keys()
        kept = mon.history.series(key)
        again = Monitor(live_source([child.pid]), interval_s=0.1)
        again.preload = lazy_store([str(state)], print)
        again.step()
        assert again.restored is not None and again.restored.replayed == 3
        got = again.history.series(key)
        assert got.res[: len(kept.res)] == kept.res
        # The rows keep wall time to the millisecond: the replayed times are those, on the
        # monotonic clock.
        assert got.t[4:7] == pytest.approx(kept.t[4:7], abs=0.005)


def test_a_damaged_checkpoint_is_said_once_and_nothing_is_loaded(tmp_path):
    with MemoryChild(start_mib=2) as child:
        state, _ = _store_of(tmp_path, child)
        path = state / CHECKPOINT
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        said: list[str] = []
        mon = Monitor(live_source([child.pid]), interval_s=0.1)
        mon.preload = lazy_store([str(state)], said.append)
        mon.step()
        assert mon.restored is None
        assert len(said) == 1 and "damaged" in said[0] and str(path) in said[0]


def test_the_store_is_bounded_by_history_and_written_by_one_serve_at_a_time(tmp_path):
    with MemoryChild(start_mib=2) as child:
        state = tmp_path / "state"
        mon = Monitor(live_source([child.pid]), interval_s=1.0, history_s=120.0)
        writer = StoreWriter(str(state), history_s=120.0)
        with pytest.raises(StoreError, match="another toptui serve"):
            StoreWriter(str(state), history_s=120.0)
        snap = mon.sampler.sample()
        t0 = snap.t_wall - 600
        for i in range(600):  # ten minutes of samples, 1 s apart
            writer.record(replace(snap, t_wall=t0 + i, t_mono=snap.t_mono - 600 + i))
        writer.release()
        segments = store_segments(str(state))
        # 120 s of history, in segments of 60 s: at most three cover it, the rest are gone.
        assert 2 <= len(segments) <= 4
        times = [r.time for r in RecordingReader(str(state)).rows()]
        assert times[-1] - times[0] <= 120 + 60
        assert times[-1] == pytest.approx(t0 + 599, abs=0.01)
        StoreWriter(str(state), history_s=120.0).release()  # free again


def test_serve_says_once_when_the_state_directory_cannot_be_written(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    state = tmp_path / "file" / "state"  # cannot be made, not even by root
    with MemoryChild() as child:
        serve = Serve(state, "-d", "0.05", "-p", str(child.pid))
        wait_until(lambda: len(serve.lines) >= 2, "the warning")
        assert serve.stop() == 0
    warnings = [x for x in serve.lines if "serving" not in x]
    assert len(warnings) == 1 and str(state) in warnings[0], serve.lines
    assert "Traceback" not in "\n".join(serve.lines)


def test_state_flags_are_checked(tmp_path):
    r = subprocess.run([*TOPTUI, "serve", "--state-dir", str(tmp_path), "--no-state"],
                       capture_output=True, text=True, timeout=WAIT_S)  # fmt: skip
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    for args in (["--state-dir", ""], ["--no-state", "-b", "-n", "1"]):
        r = subprocess.run([*TOPTUI, *args], capture_output=True, text=True, timeout=WAIT_S)
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
        assert "Traceback" not in r.stderr


def test_preload_is_taken_once_and_only_into_an_empty_history(tmp_path):
    with MemoryChild(start_mib=2) as child:
        state, _ = _store_of(tmp_path, child)
        cp: Checkpoint = read_checkpoint(str(state))
        mon = Monitor(live_source([child.pid]), interval_s=0.1)
        mon.step()
        mon.preload = Preload(cp.history, cp.states)
        mon.step()  # already sampling: too late, ignored
        assert mon.preload is None and mon.restored is None

"""``toptui serve``'s rolling on-disk history, and what the screen loads from it at launch.

A store is a directory (``$XDG_STATE_HOME/toptui``, ``/var/lib/toptui`` for the system unit):

* ``history-<start ms>.csv``: the samples, a recording in format 3 (toptui.store.recording), one
  file per ``ROTATE_S``. Each tick is one write of whole lines; at every rotation the segment is
  fsync'd, then compressed to ``.csv.gz`` (written aside, fsync'd, renamed over), and segments
  wholly older than ``--history`` are deleted. A crash leaves at most a torn last line, which
  every reader skips. ``toptui --replay DIR`` and ``toptui analyze DIR`` read the segments as one
  recording.
* ``checkpoint``: the history as the monitor keeps it (compacted, :class:`HistoryDump`) with each
  process's verdict state, written every ``CHECKPOINT_S`` aside and renamed over (fsync'd first),
  so a reader restores an hour of 2000 processes at once instead of parsing and re-judging seven
  million rows. It names the boot it was taken in (``/proc/sys/kernel/random/boot_id``): its
  process keys and monotonic times mean something in that boot only. Layout (format 3): the line
  ``toptui-checkpoint 3``, an 8-byte little-endian length and that many bytes of JSON (the
  counters, per-process scalars and verdict states), the arrays' bytes, then a CRC-32 of all
  before it; a damaged or foreign checkpoint is ignored, with one line saying so.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import os
import shutil
import struct
import sys
import time
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, NamedTuple

from toptui.model import ProcKey, Snapshot
from toptui.store.history import Baseline, HistoryDump, ProcDump
from toptui.store.recording import (
    SEGMENT_PREFIX,
    Recorder,
    RecordingError,
    lines_after,
    parse_fields,
    segment_start,
    store_segments,
)

ROTATE_S = 60.0  # a segment's span: fsync'd, compressed and pruned this often
# The checkpoint is rewritten this often: a screen launched now replays at most this much of the
# newest segment on top of it (about 20k rows for 2000 processes at 1 s).
CHECKPOINT_S = 10.0
CHECKPOINT = "checkpoint"
ALL_OF_IT = -1  # a checkpoint's segment_size when it covers that segment whole (serve stopped)
LOCK = "lock"  # held (flock) by the one toptui serve writing the store
# The checkpoint's own format (it was numbered as the recording format 3 of its time; a recording
# is format 4 now, the checkpoint is unchanged).
CHECKPOINT_FORMAT = 3
_MAGIC = f"toptui-checkpoint {CHECKPOINT_FORMAT}\n".encode()
_LEN = struct.Struct("<Q")
_CRC = struct.Struct("<I")
# gzip level for rotated segments: level 1 is already 6x smaller on these rows, at a third of
# level 6's CPU.
GZIP_LEVEL = 1
BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"
SYSTEM_STATE_DIR = "/var/lib/toptui"  # the system unit's StateDirectory=toptui
_DIR_MODE = 0o700  # process names and command lines are the machine's business


class StoreError(OSError):
    """The store cannot be written or read; ``str()`` is one line naming the path."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def boot_id() -> str | None:
    """This boot's id (None where the kernel has none): process keys and monotonic times are
    only comparable within one boot."""
    try:
        with open(BOOT_ID_PATH) as f:
            return f.read().strip() or None
    except OSError:
        return None


def default_state_dir() -> str:
    """``$XDG_STATE_HOME/toptui``, by default ``~/.local/state/toptui``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "toptui")


def _why(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


# -- the checkpoint ------------------------------------------------------------------------------


@dataclass(slots=True)
class Checkpoint:
    """What a checkpoint holds: the history, each process's verdict state (``states``, plain JSON
    as toptui.engine.monitor exports it), the boot, and where the samples after it begin."""

    boot_id: str | None
    interval_s: float
    mono_offset: float  # wall minus monotonic time when it was taken
    history: HistoryDump
    states: dict[ProcKey, dict[str, Any]]
    segment: str = ""  # the segment being written then, and its size: the rows after it
    segment_size: int = 0  # ALL_OF_IT: the segment was closed, the checkpoint covers it whole


def write_checkpoint(directory: str, cp: Checkpoint) -> int:
    """Write ``cp`` aside, fsync it and rename it over the last one; returns its size in bytes."""
    h = cp.history
    blobs: list[bytes] = [h.times.tobytes()]
    procs = []
    for d in h.procs:
        b = d.baseline
        procs.append([list(d.key), d.name, [b.t, b.res, b.shr, b.virt], d.block, d.rtick,
                      d.last_res, d.last_change, d.last_tick, d.samples, d.last_seen,
                      len(d.recent), len(d.blocks), cp.states.get(d.key), d.hold])  # fmt: skip
        blobs.append(d.recent.tobytes())
        blobs.append(d.blocks.tobytes())
    meta = {
        "format": CHECKPOINT_FORMAT,
        "byteorder": sys.byteorder,
        "boot_id": cp.boot_id,
        "interval_s": cp.interval_s,
        "mono_offset": cp.mono_offset,
        "history_s": h.history_s,
        "capacity": h.capacity,
        "tick": h.tick,
        "first_tick": h.first_tick,
        "segment": cp.segment,
        "segment_size": cp.segment_size,
        "procs": procs,
    }
    head = json.dumps(meta, separators=(",", ":")).encode()
    parts = [_MAGIC, _LEN.pack(len(head)), head, *blobs]
    crc = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
    path = os.path.join(directory, CHECKPOINT)
    tmp = path + ".tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb", closefd=False) as f:
                for part in parts:
                    f.write(part)
                f.write(_CRC.pack(crc))
            os.fsync(fd)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _sync_dir(directory)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StoreError(f"cannot write {path}: {_why(exc)}") from None
    return size


def read_checkpoint(directory: str) -> Checkpoint:
    """The checkpoint of the store in ``directory``; StoreError (one line) when there is none or
    it is damaged (a wrong checksum, a foreign format)."""
    path = os.path.join(directory, CHECKPOINT)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {_why(exc)}") from None
    bad = StoreError(f"{path} is damaged; not loading it")
    if not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + _LEN.size + _CRC.size:
        raise bad
    (crc,) = _CRC.unpack_from(data, len(data) - _CRC.size)
    if zlib.crc32(memoryview(data)[: -_CRC.size]) != crc:
        raise bad
    pos = len(_MAGIC)
    (n,) = _LEN.unpack_from(data, pos)
    pos += _LEN.size
    try:
        meta = json.loads(data[pos : pos + n])
        pos += n
        if meta["format"] != CHECKPOINT_FORMAT or meta["byteorder"] != sys.byteorder:
            raise bad
        body = memoryview(data)[: -_CRC.size]

        def take(code: str, count: int) -> array:
            nonlocal pos
            a = array(code)
            size = count * a.itemsize
            a.frombytes(body[pos : pos + size])
            if len(a) != count:
                raise bad
            pos += size
            return a

        tick, first = int(meta["tick"]), int(meta["first_tick"])
        times = take("d", tick - first + 1 if tick >= 0 else 0)
        procs: list[ProcDump] = []
        states: dict[ProcKey, dict[str, Any]] = {}
        for entry in meta["procs"]:
            (key_l, name, base, block, rtick, last_res, last_change, last_tick, samples,
             last_seen, n_recent, n_blocks, state) = entry[:13]  # fmt: skip
            hold = entry[13] if len(entry) > 13 else 0  # later fields, if any, are ignored
            key: ProcKey = (int(key_l[0]), int(key_l[1]))
            recent, blocks = take("I", n_recent), take("I", n_blocks)
            procs.append(ProcDump(key, str(name), Baseline(*base), int(block), int(rtick),
                                  int(last_res), int(last_change), int(last_tick), int(samples),
                                  float(last_seen), recent, blocks, int(hold)))  # fmt: skip
            if state is not None:
                states[key] = state
    except (KeyError, TypeError, ValueError) as exc:
        raise bad from exc
    dump = HistoryDump(float(meta["history_s"]), int(meta["capacity"]), tick, first, times, procs)
    return Checkpoint(meta["boot_id"], float(meta["interval_s"]), float(meta["mono_offset"]),
                      dump, states, str(meta["segment"]), int(meta["segment_size"]))  # fmt: skip


def _start_key(pid: int, create_time: float) -> tuple[int, int]:
    """A process as a segment's row names it: pid and start time to the 1/100 s recorded."""
    return pid, round(float(f"{create_time:.2f}") * 100)


class TailSample(NamedTuple):
    """A row after the checkpoint as the history reads it (a ProcSample's fields of the same
    names): far cheaper to make than a ProcSample, and a launch makes tens of thousands."""

    key: ProcKey
    name: str
    state: str
    res: int
    shr: int
    virt: int
    swap: int
    cpu_percent: float


_new_sample = tuple.__new__  # TailSample(...) runs Python code per row; the same tuple, faster


def tail_samples(
    directory: str, cp: Checkpoint, now: Snapshot
) -> Iterator[tuple[float, list[TailSample]]]:
    """The ticks recorded after ``cp`` (in its segment after its size, then in later segments):
    each one's time on the monotonic clock of the checkpoint's boot, and its rows of the
    processes of ``now`` (same pid and start time), keyed as those.

    A row that repeats the process's previous one but for the time (an idle process: most of
    them) gives the same sample object, unparsed, which the history takes without looking."""
    live = {_start_key(p.pid, p.create_time): (p.key, p.name) for p in now.procs}
    paths = [cp.segment] if cp.segment and cp.segment_size != ALL_OF_IT else []
    try:
        start = segment_start(os.path.basename(cp.segment)) or 0
        paths += [s for s in store_segments(directory)
                  if (segment_start(os.path.basename(s)) or 0) > start]  # fmt: skip
    except RecordingError:
        pass
    offset = cp.mono_offset
    seen: dict[str, TailSample | None] = {}  # a row less its time -> its sample
    group: list[TailSample] = []
    tt = ""  # the time of the tick in ``group`` as the rows write it, and as monotonic time
    t = 0.0
    for i, path in enumerate(paths):
        columns, lines = lines_after(path, cp.segment_size if i == 0 and paths[0] == cp.segment
                                     else 0)  # fmt: skip
        for line in lines:
            comma = line.find(",")
            rest = line[comma + 1 :]
            sample = seen.get(rest, _UNSEEN)
            if sample is _UNSEEN:
                r = parse_fields(line, columns)
                sample = None
                if r is not None:
                    found = live.get((r.pid, round(r.create_time * 100)))
                    if found is not None:
                        sample = _new_sample(TailSample, (found[0], found[1], "S", r.rss,
                                                          r.shared, r.vms, r.swap,
                                                          r.cpu_percent))  # fmt: skip
                seen[rest] = sample
            if sample is None:
                continue
            if line[:comma] != tt:
                try:
                    at = float(line[:comma])
                except ValueError:
                    continue  # a damaged row: skipped, as a torn one
                if group:
                    yield t, group
                group, tt, t = [], line[:comma], at - offset
            group.append(sample)
    if group:
        yield t, group


_UNSEEN = TailSample((0, 0), "", "", 0, 0, 0, 0, 0.0)  # not looked up yet (None: not wanted)


def _sync_dir(directory: str) -> None:
    """A rename is durable once its directory is: fsync that too (where the OS allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- finding a store at launch -------------------------------------------------------------------


def find_store(
    dirs: list[str], boot: str | None
) -> tuple[str | None, Checkpoint | None, list[str]]:
    """The first of ``dirs`` holding a checkpoint of this boot, with that checkpoint, and the
    lines worth saying about the others (a damaged checkpoint; not a missing or older one)."""
    notes: list[str] = []
    for d in dirs:
        if not os.path.exists(os.path.join(d, CHECKPOINT)):
            continue
        try:
            cp = read_checkpoint(d)
        except StoreError as exc:
            if not isinstance(exc.__context__, PermissionError) and "damaged" in exc.message:
                notes.append(exc.message)
            continue
        if boot is None or cp.boot_id != boot:
            continue  # another boot's: its keys and times mean nothing now
        return d, cp, notes
    return None, None, notes


# -- writing: toptui serve -----------------------------------------------------------------------


class StoreWriter:
    """Appends every snapshot to the newest segment; rotates, compresses and prunes each
    ``ROTATE_S``. Raises :class:`StoreError` (one line) when the directory cannot be made or
    written; the caller says it once and samples on."""

    def __init__(self, directory: str, history_s: float) -> None:
        self.directory = directory
        self.history_s = history_s
        try:
            os.makedirs(directory, mode=_DIR_MODE, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot make the state directory {directory}: {_why(exc)}") from None
        self._lock = _lock(directory)
        self._recorder: Recorder | None = None
        self._segment = ""
        self._opened_at = 0.0  # wall time the current segment began
        self._compress_leftovers()

    @property
    def segment(self) -> str:
        """The segment being written (its path), "" before the first snapshot."""
        return self._segment

    def segment_size(self) -> int:
        try:
            return os.stat(self._segment).st_size if self._segment else 0
        except OSError:
            return 0

    def record(self, snap: Snapshot) -> None:
        """One tick's rows, in one write; a new segment when this one spans ``ROTATE_S``."""
        if self._recorder is None or snap.t_wall - self._opened_at >= ROTATE_S:
            self.rotate(snap.t_wall)
        assert self._recorder is not None
        try:
            self._recorder.record(snap)
        except RecordingError as exc:
            self._recorder = None
            raise StoreError(str(exc)) from None

    def rotate(self, now: float) -> None:
        """Make the current segment durable and compressed, start a new one, drop the old."""
        self.close()
        path = os.path.join(self.directory, f"{SEGMENT_PREFIX}{int(now * 1000)}.csv")
        try:
            self._recorder = Recorder(path)
        except RecordingError as exc:
            raise StoreError(str(exc)) from None
        self._segment, self._opened_at = path, now
        self.prune(now)

    def sync(self) -> None:
        if self._recorder is not None:
            try:
                self._recorder.sync()
            except RecordingError as exc:
                raise StoreError(str(exc)) from None

    def close(self) -> None:
        """Durable (fsync), closed, and compressed; the store can be read whole afterwards."""
        rec, self._recorder = self._recorder, None
        if rec is None:
            return
        try:
            rec.sync()
        finally:
            rec.close()
        _compress(self._segment)

    def release(self, compress: bool = True) -> None:
        """Closed, and the directory left to another writer. Not ``compress``: the segment is
        left as a running serve has it (the next writer compresses it)."""
        try:
            if compress:
                self.close()
            elif self._recorder is not None:
                self._recorder.close()
                self._recorder = None
        finally:
            fd, self._lock = self._lock, -1
            if fd >= 0:
                os.close(fd)

    def prune(self, now: float) -> None:
        """Delete the segments all of whose rows are older than ``history_s`` (a segment's rows
        end where the next one starts)."""
        try:
            segments = store_segments(self.directory)
        except RecordingError as exc:
            raise StoreError(str(exc)) from None
        cutoff = (now - self.history_s) * 1000
        for seg, nxt in pairwise(segments):
            start = segment_start(os.path.basename(nxt))
            if start is not None and start <= cutoff:
                with contextlib.suppress(OSError):
                    os.unlink(seg)

    def _compress_leftovers(self) -> None:
        """Segments a crash left uncompressed (a kill -9, a power cut): compressed now."""
        with contextlib.suppress(RecordingError):
            for seg in store_segments(self.directory):
                if seg.endswith(".csv"):
                    _compress(seg)


def _lock(directory: str) -> int:
    """The store's lock, held until closed: two services writing one store would interleave."""
    path = os.path.join(directory, LOCK)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot write in {directory}: {_why(exc)}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        why = f"the store in {directory} is being written by another toptui serve"
        raise StoreError(why) from None
    return fd


def _compress(path: str) -> None:
    """``path`` to ``path.gz``: written aside, fsync'd, renamed, then the original removed. A
    failure leaves the plain segment, which reads just as well."""
    if not path or not os.path.exists(path):
        return
    gz = path + ".gz"
    tmp = gz + ".tmp"
    try:
        with open(path, "rb") as src, open(tmp, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as z:
                shutil.copyfileobj(src, z, 1 << 20)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, gz)
        _sync_dir(os.path.dirname(path) or ".")
        os.unlink(path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def now_offset() -> float:
    """Wall minus monotonic time, now: how a checkpoint's monotonic times map to the wall."""
    return time.time() - time.monotonic()

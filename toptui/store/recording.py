"""Recordings: every snapshot appended to a CSV file, and read back per process or per tick.

One row per process per tick, ``time,pid,create_time,name,rss,vms,shared,cpu_percent,ppid,swap``
(epoch seconds, bytes, percent), then the per-kind resident bytes where they were read that tick
(``rss_anon,rss_file,rss_shmem`` of /proc/PID/status, ``heap,anon,…,other`` of smaps; empty cells
otherwise), under a single header line: format 4. Format 3 stops after ``swap``; a format 3 or 4
header may name further columns after its own (a later version's): a reader takes the columns it
knows and ignores the others, so a newer file still reads. Format 2 has no ``swap`` column,
format 1 (written before toptui kept parent pids) no ``ppid`` either; all are still read (swap 0,
parents unknown, no kinds), and a recording is always appended to in its own format. The same
format is the rolling store of ``toptui serve`` (:mod:`toptui.store.state_store`): a directory of
recordings, one per minute, which :class:`RecordingReader` reads as one. The file is only ever
appended to, and each tick's rows go out in one ``os.write`` of complete lines, so an interrupted
toptui leaves whole ticks behind; a reader drops an incomplete last line (a crash or a full disk
mid-write) rather than failing. A reader takes bytes that are not UTF-8 (a hand-made file) as
U+FFFD, as the sampler does with a process name. See docs/recording.md.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import gzip
import io
import math
import os
import stat
import threading
import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import IO, NamedTuple

from toptui.mapping_model import KINDS, ProcKinds
from toptui.model import ProcSample, Snapshot
from toptui.store.history import Series

HEADER_V1 = ("time", "pid", "create_time", "name", "rss", "vms", "shared", "cpu_percent")
HEADER_V2 = (*HEADER_V1, "ppid")
HEADER_V3 = (*HEADER_V2, "swap")
# Format 4's per-kind columns: the coarse split of /proc/PID/status (its swap is the swap column)
# and the kinds summed from smaps, in mapping_model.KINDS order. Empty when not read that tick.
COARSE_COLUMNS = ("rss_anon", "rss_file", "rss_shmem")
KIND_COLUMNS = KINDS
HEADER = (*HEADER_V3, *COARSE_COLUMNS, *KIND_COLUMNS)  # format 4: what new recordings are in
FORMAT = 4
HEADER_LINE = ",".join(HEADER)
HEADER_V3_LINE = ",".join(HEADER_V3)
HEADER_V2_LINE = ",".join(HEADER_V2)
HEADER_V1_LINE = ",".join(HEADER_V1)
_COARSE_AT = len(HEADER_V3)  # where a format 4 row's coarse split begins
_KINDS_AT = _COARSE_AT + len(COARSE_COLUMNS)  # and its smaps kinds
_KINDS_END = _KINDS_AT + len(KIND_COLUMNS)
_EMPTY_KINDS = ("",) * (len(COARSE_COLUMNS) + len(KIND_COLUMNS))  # nothing read that tick
NO_PARENT = -1  # a format 1 row's ppid: not recorded
_MAX_BYTES = 2**63  # any RSS/VMS/SHR at or beyond this is corruption, not memory
_MAX_TIME = 1e12  # epoch seconds; beyond is corruption (or milliseconds)
_ENCODING = "utf-8"
# Held while a tick is written. A process that must end at once (the screen's exit watchdog)
# takes it first: an exit stops a large write between pages and would leave half a tick.
WRITING = threading.Lock()
_ERRORS = "surrogateescape"  # writing: a name's surrogate-escaped bytes go out as those bytes
# Reading: text that is not UTF-8 becomes U+FFFD, never a lone surrogate that JSON or a terminal
# chokes on (the sampler already decodes process names this way).
_READ_ERRORS = "replace"
BOM = b"\xef\xbb\xbf"  # UTF-8 byte order mark, which some editors put at the start of a file
# What is read of an existing file to find its header: the longest header with room for the
# further columns of a later format.
_HEAD_BYTES = 4096


class RecordingError(OSError):
    """A recording cannot be opened or written; ``str()`` is one line that names the file."""

    def __init__(self, path: str, message: str, code: int | None = None) -> None:
        super().__init__(code, message)
        self.filename = path

    def __str__(self) -> str:
        return str(self.strerror)


class RecordingFormatError(ValueError):
    """A recording (or other input) holds something unreadable at ``line``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


class Row(NamedTuple):
    """One process in one tick, as recorded."""

    time: float
    pid: int
    create_time: float
    name: str
    rss: int
    vms: int
    shared: int
    cpu_percent: float
    ppid: int = NO_PARENT
    swap: int = 0  # VmSwap, bytes (format 3; 0 in older recordings)
    # Format 4, where read that tick (else None): RssAnon, RssFile, RssShmem of /proc/PID/status
    coarse: tuple[int, ...] | None = None
    kinds: tuple[int, ...] | None = None  # resident bytes by kind from smaps, KINDS order


def format_of(columns: tuple[str, ...]) -> int | None:
    """The format a header line's columns are in (3 and 4 also with further columns), or None."""
    if columns[: len(HEADER)] == HEADER:
        return FORMAT
    if columns[: len(HEADER_V3)] == HEADER_V3:
        return 3
    if columns == HEADER_V2:
        return 2
    if columns == HEADER_V1:
        return 1
    return None


def is_header_line(line: bytes) -> bool:
    """Whether ``line`` (no line end, no BOM) is the header of a recording of any format."""
    try:
        columns = tuple(next(csv.reader([line.decode(_ENCODING)])))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return False
    return format_of(columns) is not None


def _describe(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such directory"
    if exc.errno == errno.EISDIR:
        return "it is a directory"
    return (exc.strerror or str(exc)).lower()


# A store's segments: history-<start, epoch milliseconds>.csv, gzip-compressed (.csv.gz) once
# rotated (see toptui.store.state_store).
SEGMENT_PREFIX = "history-"
SEGMENT_SUFFIXES = (".csv", ".csv.gz")


def segment_start(name: str) -> int | None:
    """The start (epoch ms) a segment's file name gives, or None for any other file."""
    if not name.startswith(SEGMENT_PREFIX):
        return None
    stem = name[len(SEGMENT_PREFIX) :]
    for suffix in SEGMENT_SUFFIXES[::-1]:
        if stem.endswith(suffix):
            digits = stem[: -len(suffix)]
            return int(digits) if digits.isdigit() else None
    return None


def store_segments(directory: str) -> list[str]:
    """A store's segment files, oldest first (their names begin with their start time)."""
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise RecordingError(directory, f"cannot read {directory}: {_describe(exc)}",
                             exc.errno) from None  # fmt: skip
    found: dict[int, str] = {}
    for name in names:
        start = segment_start(name)
        # A crash between compressing a segment and removing the plain one leaves both: the
        # compressed one is whole (it was renamed into place once written), so it is read.
        if start is not None and not found.get(start, "").endswith(".gz"):
            found[start] = name
    return [os.path.join(directory, found[start]) for start in sorted(found)]


class Recorder:
    """Appends every snapshot to ``path``; never truncates what is already there.

    A file is a recording when it starts with the header line (after a UTF-8 BOM, if any); any
    other non-empty file is refused, even one holding the first bytes of the header. The only
    bytes ever removed are a recording's incomplete last line (a crash's leftover, possibly the
    header itself before its line end), so the next tick does not run on from it.

    Opening fails with :class:`RecordingError` (one line naming the file) when the file cannot be
    created or appended to, or when it exists and is not a toptui recording. ``record`` raises an
    OSError (a :class:`RecordingError`) when a write fails, e.g. the disk is full; the recorder
    then closes itself and the bytes of that tick are taken back where the file allows it.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise RecordingError(
                self.path, f"cannot record to {self.path}: {_describe(exc)}", exc.errno
            ) from None
        self._fd: int | None = fd
        self._format = FORMAT  # an existing older file is appended to in its own format
        self._extra = 0  # columns of a newer format 3 file that this toptui does not know: empty
        try:
            self._need_header = self._prepare(fd)
        except BaseException:
            self.close()
            raise

    def _prepare(self, fd: int) -> bool:
        """Whether a header is needed; refuse foreign files, drop a crash's partial last line."""
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
            return True  # new, empty, or a pipe/device: nothing to keep or check
        try:
            with open(self.path, "rb") as f:
                head = f.read(_HEAD_BYTES)
                f.seek(-1, os.SEEK_END)
                last = f.read(1)
                end = f.tell()
                if last != b"\n":
                    # A tick cut short (kill -9, power loss): append after its last whole line.
                    f.seek(max(0, end - 65536))
                    tail = f.read()
                    cut = tail.rfind(b"\n")
                    keep = end - len(tail) + cut + 1 if cut >= 0 else None
                else:
                    keep = None
        except OSError as exc:
            raise RecordingError(
                self.path, f"cannot read {self.path}: {_describe(exc)}", exc.errno
            ) from None
        body = head.removeprefix(BOM)
        first, nl, _ = body.partition(b"\n")
        first = first.removesuffix(b"\r")
        columns = tuple(first.decode(_ENCODING, _READ_ERRORS).split(","))
        version = format_of(columns)
        # Without its line end, only a whole header of toptui's own is one cut off: the start of
        # format 4's is also a format 3 header with further columns, and is refused like any
        # other start of a header.
        whole = columns in (HEADER, HEADER_V3, HEADER_V2, HEADER_V1)
        if version is not None and not nl and whole and len(head) == st.st_size:
            os.ftruncate(fd, 0)  # a whole header but not its line end: write it again
            return True
        if version is not None and nl:
            self._format = version  # appended to in its own format
            own = {3: HEADER_V3, FORMAT: HEADER}.get(version)
            self._extra = len(columns) - len(own) if own is not None else 0
        else:
            raise RecordingError(
                self.path,
                f"{self.path} exists and is not a toptui recording; not appending to it",
                errno.EINVAL,
            )
        if keep is not None and keep > len(HEADER_V1_LINE):
            os.ftruncate(fd, keep)
        return False

    def record(self, snap: Snapshot) -> None:
        """Append one row per process of ``snap`` as a single write of complete lines."""
        fd = self._fd
        if fd is None:
            raise RecordingError(self.path, f"recording to {self.path} is closed", errno.EBADF)
        buf = io.StringIO()
        # CRLF (RFC 4180): with "\n" alone, csv would leave a bare "\r" in a name unquoted.
        w = csv.writer(buf, lineterminator="\r\n")
        if self._need_header:
            w.writerow(HEADER)
        t = f"{snap.t_wall:.3f}"
        if self._format == 1:
            w.writerows(
                (t, p.pid, f"{p.create_time:.2f}", p.name, p.res, p.virt, p.shr,
                 f"{p.cpu_percent:.1f}")
                for p in snap.procs
            )  # fmt: skip
        elif self._format == 2:
            w.writerows(
                (t, p.pid, f"{p.create_time:.2f}", p.name, p.res, p.virt, p.shr,
                 f"{p.cpu_percent:.1f}", p.ppid)
                for p in snap.procs
            )  # fmt: skip
        elif self._format == 3:
            empty = ("",) * self._extra  # a newer file's columns that this toptui cannot fill
            w.writerows(
                (t, p.pid, f"{p.create_time:.2f}", p.name, p.res, p.virt, p.shr,
                 f"{p.cpu_percent:.1f}", p.ppid, p.swap, *empty)
                for p in snap.procs
            )  # fmt: skip
        else:
            empty = ("",) * self._extra
            kinds = snap.kinds or {}
            w.writerows(
                (t, p.pid, f"{p.create_time:.2f}", p.name, p.res, p.virt, p.shr,
                 f"{p.cpu_percent:.1f}", p.ppid, p.swap, *_kind_cells(kinds.get(p.key)), *empty)
                for p in snap.procs
            )  # fmt: skip
        text = buf.getvalue()
        if not text:
            return
        try:
            data = text.encode(_ENCODING, _ERRORS)
        except UnicodeEncodeError:  # a surrogate that no kernel byte produced: keep it visible
            data = text.encode(_ENCODING, "backslashreplace")
        written = 0
        try:
            with WRITING:
                while written < len(data):
                    written += os.write(fd, data[written:] if written else data)
        except OSError as exc:
            if written:
                # Take back the partial tick so the file still ends with a whole line.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, os.fstat(fd).st_size - written)
            self.close()
            raise RecordingError(
                self.path, f"cannot write to {self.path}: {_describe(exc)}", exc.errno
            ) from None
        self._need_header = False

    @property
    def format(self) -> int:
        """The format rows go out in (an existing file's own)."""
        return self._format

    def sync(self) -> None:
        """Make what was written durable (fsync): the store does this at least once a minute."""
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                raise RecordingError(
                    self.path, f"cannot write to {self.path}: {_describe(exc)}", exc.errno
                ) from None

    def close(self) -> None:
        """Release the file; safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _kind_cells(found: ProcKinds | None) -> tuple[object, ...]:
    """A format 4 row's per-kind cells: each group filled when it was read, else empty."""
    if found is None:
        return _EMPTY_KINDS
    coarse = found.coarse or ("",) * len(COARSE_COLUMNS)
    kinds = found.kinds or ("",) * len(KIND_COLUMNS)
    return (*coarse, *kinds)


# -- reading ---------------------------------------------------------------------------------


class _Lines:
    """Physical lines of a text file, noting whether the latest one lacked its line end.

    Opened with ``newline=""``, a bare "\r" (quoted inside a name) also ends a physical line.
    """

    def __init__(self, f: Iterable[str]) -> None:
        self._f = f
        self.partial = False

    def __iter__(self) -> Iterator[str]:
        for line in self._f:
            self.partial = not line.endswith(("\n", "\r"))
            yield line


def _bad_field(row: list[str]) -> str:
    """Which field of a row that failed to parse is wrong, for the error message."""
    convs = (float, int, float, str, int, int, int, float, int, int)[: len(row)]
    for name, conv, text in zip(HEADER[: len(convs)], convs, row[: len(convs)], strict=True):
        try:
            conv(text)
        except ValueError:
            shown = text if len(text) <= 30 else text[:27] + "..."
            return f"{name} is not a number: {shown!r}"
    return "unreadable row"  # pragma: no cover - only called after a conversion failed


_new_row = tuple.__new__  # Row(...) runs Python code per row; this is the same tuple, faster


def _parse(row: list[str], path: str, line: int, header: tuple[str, ...] = HEADER,
           kinds_given: bool = True) -> Row:  # fmt: skip
    if len(row) != len(header):
        raise RecordingFormatError(
            path, line, f"expected {len(header)} fields ({','.join(header)}), found {len(row)}"
        )
    t, pid, ct, name, rss, vms, shr, cpu = row[:8]
    try:
        tv, pv, cv = float(t), int(pid), float(ct)
        rv, vv, sv, uv = int(rss), int(vms), int(shr), float(cpu)
        ppid = int(row[8]) if len(row) > 8 else NO_PARENT
        swap = int(row[9]) if len(row) > 9 else 0
    except ValueError:
        raise RecordingFormatError(path, line, _bad_field(row)) from None
    if not (-_MAX_TIME < tv < _MAX_TIME and -_MAX_TIME < cv < _MAX_TIME):
        raise RecordingFormatError(path, line, "time out of range (epoch seconds expected)")
    if not (0 <= rv < _MAX_BYTES and 0 <= vv < _MAX_BYTES and 0 <= sv < _MAX_BYTES
            and 0 <= swap < _MAX_BYTES):  # fmt: skip
        raise RecordingFormatError(path, line, "memory size out of range")
    if not (0 <= pv < 2**32 and -1.0 < uv < 1e6):
        raise RecordingFormatError(path, line, "pid or cpu_percent out of range")
    if not NO_PARENT <= ppid < 2**32:
        raise RecordingFormatError(path, line, "ppid out of range")
    coarse = kinds = None
    # Format 4; most rows read no kind that tick: one join tells all ten cells empty.
    if kinds_given and "".join(row[_COARSE_AT:_KINDS_END]):
        coarse = _group(row, _COARSE_AT, COARSE_COLUMNS, path, line)
        kinds = _group(row, _KINDS_AT, KIND_COLUMNS, path, line)
    return _new_row(Row, (tv, pv, cv, name, rv, vv, sv, uv, ppid, swap, coarse, kinds))


def _group(row: list[str], at: int, names: tuple[str, ...], path: str,
           line: int) -> tuple[int, ...] | None:  # fmt: skip
    """One group of a format 4 row's per-kind cells: all empty (not read that tick) is None,
    all bytes is their tuple; anything else is a malformed row."""
    cells = row[at : at + len(names)]
    if not any(cells):
        return None
    try:
        values = tuple(int(c) for c in cells)
    except ValueError:
        bad = next(n for n, c in zip(names, cells, strict=True) if not c.strip().isdigit())
        raise RecordingFormatError(
            path,
            line,
            f"{bad} is not a number of bytes ({','.join(names)} are all given or all empty)",
        ) from None
    if not all(0 <= v < _MAX_BYTES for v in values):
        raise RecordingFormatError(path, line, "memory size out of range")
    return values


class RecordingReader:
    """Streams the rows of one recording, validating each; one pass, bounded memory.

    Raises :class:`RecordingFormatError` for a file that is not a recording or has a malformed row
    (with its line number). An incomplete last line is skipped, and its line number is left in
    ``truncated_line`` once the rows are exhausted, so callers may say so.

    A directory is read as a store (:mod:`toptui.store.state_store`): its segments in time order,
    as one recording. A segment's torn tail (a crash, a ``kill -9``) is skipped and named in
    ``torn``, not reported as ``truncated_line``: a store is written while it is read.

    With ``stream`` (binary, e.g. a pipe that cannot be opened twice) the rows come from it rather
    than from opening ``path``, which then only names the input in errors; such a reader gives its
    rows once, and the stream stays open for its owner to close.
    """

    def __init__(self, path: str | os.PathLike[str], stream: IO[bytes] | None = None) -> None:
        self.path = os.fspath(path)
        self.truncated_line: int | None = None
        self.rows_read = 0
        self.header = HEADER  # the format read (known once rows() has begun)
        self.has_parents = True  # format 2 and later: rows carry ppid
        self.has_kinds = True  # format 4: rows may carry per-kind bytes (Row.coarse, Row.kinds)
        self.torn: list[str] = []  # a store's segments whose incomplete end was skipped
        self._current = self.path  # the file being read (a store's segment), for errors
        self._stream = stream

    def rows(self) -> Iterator[Row]:
        if self._stream is None and os.path.isdir(self.path):
            yield from self._store_rows()
            return
        if self._stream is None:
            with open(self.path, encoding=_ENCODING, errors=_READ_ERRORS, newline="") as f:
                yield from self._rows(f)
            return
        f = io.TextIOWrapper(self._stream, encoding=_ENCODING, errors=_READ_ERRORS, newline="")
        try:
            yield from self._rows(f)
        finally:
            f.detach()  # closing the wrapper would close the caller's stream

    def _store_rows(self) -> Iterator[Row]:
        segments = store_segments(self.path)
        if not segments:
            raise RecordingError(self.path, "is a directory, not a toptui store (no history-*.csv "
                                 "in it)", errno.EISDIR)  # fmt: skip
        for seg in segments:
            if not seg.endswith(".gz") and not os.path.exists(seg):
                seg += ".gz"  # compressed since it was listed (serve rotated it meanwhile)
            if not os.path.exists(seg):
                continue  # pruned since it was listed: older than the history kept
            opener = gzip.open if seg.endswith(".gz") else open
            with opener(seg, "rt", encoding=_ENCODING, errors=_READ_ERRORS, newline="") as f:
                self.truncated_line = None
                try:
                    yield from self._rows(f, seg)
                except (EOFError, gzip.BadGzipFile, zlib.error):
                    self.truncated_line = -1  # a damaged compressed end: what came before stays
                if self.truncated_line is not None:
                    self.torn.append(seg)
        self.truncated_line = None

    def _rows(self, f: Iterable[str], path: str | None = None) -> Iterator[Row]:
        path = self._current = self.path if path is None else path
        lines = _Lines(f)
        reader = csv.reader(lines, strict=True)
        try:
            first = next(reader, None)
        except csv.Error as exc:
            raise RecordingFormatError(path, 1, f"not a toptui recording ({exc})") from None
        if first is None:
            raise RecordingFormatError(path, 1, "empty file")
        columns = tuple(c.lstrip("\ufeff") for c in first)
        version = format_of(columns)
        if version is None:
            if lines.partial and HEADER_LINE.startswith(",".join(first)):
                self.truncated_line = 1  # cut off inside the header itself
                return
            raise RecordingFormatError(
                path, 1, f"not a toptui recording (the first line is not {HEADER_LINE})"
            )
        self.header = columns
        self.has_parents = version >= 2
        self.has_kinds = version >= FORMAT
        held: tuple[list[str], int] | None = None
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                if lines.partial:  # EOF inside a quoted name: the cut-off last line
                    if held is not None:
                        yield self._emit(*held)
                        held = None
                    self.truncated_line = reader.line_num
                    break
                raise RecordingFormatError(path, reader.line_num, str(exc)) from None
            if held is not None:
                yield self._emit(*held)
            if not row or row[0] == "time":  # blank line, or the header of appended files
                held = None
                continue
            held = (row, reader.line_num)
        if held is not None:
            if lines.partial:
                self.truncated_line = held[1]
            else:
                yield self._emit(*held)

    def _emit(self, row: list[str], line: int) -> Row:
        self.rows_read += 1
        return _parse(row, self._current, line, self.header, self.has_kinds)

    def ticks(self) -> Iterator[tuple[float, list[Row]]]:
        """Rows grouped by their ``time`` column, in file order: one group per recorded tick."""
        group: list[Row] = []
        t = math.nan
        for r in self.rows():
            if r.time != t and group:
                yield t, group
                group = []
            t = r.time
            group.append(r)
        if group:
            yield t, group


def lines_after(path: str, offset: int) -> tuple[int, list[str]]:
    """The header's column count and the whole lines of one store segment from byte ``offset``
    of its plain text on (a line start, as a checkpoint notes it); a torn last line is left out.
    ``path`` may since have been compressed (``path.gz``). Nothing readable: (0, [])."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            first = f.readline()
            f.seek(max(offset, len(first)))
            data = f.read()
    except (OSError, EOFError, zlib.error):
        return 0, []
    end = data.rfind(b"\n")
    lines = data[: end + 1].decode(_ENCODING, _READ_ERRORS).split("\r\n")
    return len(first.split(b",")), lines[:-1]


def parse_fields(text: str, columns: int) -> Row | None:
    """One of toptui's own rows (``time`` and all), or None when it does not parse: the launch's
    fast path, which skips a bad row rather than failing."""
    try:
        row = next(csv.reader([text]))
        if len(row) != columns or columns < len(HEADER_V3):
            return None
        return _new_row(Row, (float(row[0]), int(row[1]), float(row[2]), row[3], int(row[4]),
                              int(row[5]), int(row[6]), float(row[7]), int(row[8]),
                              int(row[9]), None, None))  # fmt: skip
    except (csv.Error, ValueError, StopIteration):
        return None


@dataclass(slots=True)
class RecordedSeries:
    """One process identity's samples from a recording, oldest first (compact arrays)."""

    pid: int
    create_time: float
    name: str
    t: array = field(default_factory=lambda: array("d"))
    rss: array = field(default_factory=lambda: array("q"))
    vms: array = field(default_factory=lambda: array("q"))
    shared: array = field(default_factory=lambda: array("q"))
    cpu_percent: array = field(default_factory=lambda: array("d"))
    # Format 4's per-kind readings, sparse (only the ticks that read them): (time, bytes)
    coarse: list[tuple[float, tuple[int, ...]]] = field(default_factory=list)
    kinds: list[tuple[float, tuple[int, ...]]] = field(default_factory=list)


def read_series(reader: RecordingReader | str | os.PathLike[str]) -> list[RecordedSeries]:
    """Every process identity (pid + create_time) in a recording, in order of first appearance.

    Arrays rather than lists: an hour of 2000 processes is ~7M rows, ~40 bytes each this way.
    """
    if not isinstance(reader, RecordingReader):
        reader = RecordingReader(reader)
    by_key: dict[tuple[int, float], RecordedSeries] = {}
    for r in reader.rows():
        s = by_key.get((r.pid, r.create_time))
        if s is None:
            s = by_key[(r.pid, r.create_time)] = RecordedSeries(r.pid, r.create_time, r.name)
        s.name = r.name  # an exec renames a process: the latest name is the one people know
        s.t.append(r.time)
        s.rss.append(r.rss)
        s.vms.append(r.vms)
        s.shared.append(r.shared)
        s.cpu_percent.append(r.cpu_percent)
        if r.coarse is not None:
            s.coarse.append((r.time, r.coarse))
        if r.kinds is not None:
            s.kinds.append((r.time, r.kinds))
    return list(by_key.values())


def export_history(path: str | os.PathLike[str], proc: ProcSample, series: Series,
                   now: Snapshot) -> int:  # fmt: skip
    """Write one process's history as a recording (the copy-out key); returns the sample count.

    History is kept on the monotonic clock; each sample's wall time is recovered from the offset
    to ``now``, the snapshot whose two clocks were read together.
    """
    offset = now.t_wall - now.t_mono
    recorder = Recorder(path)
    try:
        for t, res, shr, virt, cpu in zip(
            series.t, series.res, series.shr, series.virt, series.cpu, strict=True
        ):
            sample = replace(proc, res=res, shr=shr, virt=virt, cpu_percent=cpu)
            recorder.record(replace(now, t_mono=t, t_wall=t + offset, procs=(sample,)))
    finally:
        recorder.close()
    return len(series.t)

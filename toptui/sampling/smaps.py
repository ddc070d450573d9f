"""Resident memory by kind, from /proc/PID/maps and numa_maps or from smaps; and the coarse
split of /proc/PID/status.

smaps holds ~25 lines per mapping, so a process with 5000 mappings gives over 3 MB of text, and
the kernel alone spends ~25 ms making it. The path toptui takes (:func:`read_kinds`) reads two
short files instead, a line per mapping each, joined line by line on the start address:

* ``/proc/PID/maps``: the header smaps repeats (range, permissions, offset, device, inode,
  path): everything the kind rules below need;
* ``/proc/PID/numa_maps``: per mapping, its resident pages per NUMA node (``N<node>=count``),
  summed and times ``kernelpagesize_kB``. The kernel counts them as smaps counts Rss: present
  page-table entries of normal pages (not the shared zero page), a transparent huge page as its
  base pages, so the figure is smaps' Rss, with three differences: it leaves out reserved
  kernel pages (``[vdso]``: "other" reads up to its few KiB lower), hugetlb pages (flagged
  ``huge``; smaps' Rss leaves them out too, so they count 0 here), and the gate mapping
  (``[vsyscall]``, no line in numa_maps, 0 in smaps).

smaps stays the fallback: on a kernel without CONFIG_NUMA (no numa_maps), when numa_maps cannot
be read, and when the two files do not list the same mappings (one mapped or unmapped between
the two reads; tried again once first). In every path one compiled pattern picks the fields out
of the whole buffer, never a Python loop per line; only the mappings are classified one by one.

The kind of a mapping, from its header (``start-end perms offset dev inode path``):

* ``[heap]`` is the heap; ``[stack]`` the main thread's stack;
* **thread stacks**: an anonymous private read-write mapping that starts exactly where an
  inaccessible (``---p``) anonymous mapping of at most ``GUARD_MAX`` bytes ends: the guard page
  glibc and musl put under every thread's stack (a malloc arena's inaccessible reserve lies
  *above* its usable part, and is larger). A thread stack without a guard page (a program that
  sets guardsize 0) cannot be told apart and counts as anonymous;
* **shmem/tmpfs/SysV**: a file on a tmpfs mount of the process (its device is one of the
  tmpfs devices in ``/proc/PID/mountinfo``), and
  ``/dev/shm/…``, ``/SYSV…`` (System V segments), ``/memfd:…``, ``/dev/zero`` (a shared
  anonymous mapping) and ``[anon_shmem…]``;
* **file-backed** private or shared (``p``/``s`` in the permissions): any other path;
* **anonymous**: no path, or ``[anon:NAME]`` (named with prctl);
* **other**: any other ``[name]``: ``[vdso]``, ``[vvar]``, ``[vsyscall]``, ``[uprobes]``.
"""

from __future__ import annotations

import gc
import os
import re
import struct
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import compress, repeat
from operator import itemgetter

from toptui.mapping_model import (
    ANON,
    FILE_PRIVATE,
    FILE_SHARED,
    HEAP,
    KINDS,
    OTHER,
    SHMEM,
    STACK,
    CoarseSplit,
    Mapping,
    SmapsReading,
)
from toptui.model import ProcKey

PROC = "/proc"
_KB = 1024
# The largest inaccessible mapping taken for a thread's guard page: glibc's default guard is one
# page, and programs that ask for more rarely ask for more than a few.
GUARD_MAX = 64 * 1024
# smaps is read into a buffer of this many bytes at first, doubled as needed (a large process's
# is megabytes); a reader keeps its buffer up to KEEP_BYTES.
CHUNK = 1 << 20
KEEP_BYTES = 8 << 20
# maps and numa_maps (~50 bytes a mapping) start in buffers of this many bytes each.
LINES_CHUNK = 256 << 10
# Reads of maps and numa_maps before smaps is read instead, when the two list different mappings
# (one mapped or unmapped between the two reads): the first, and once more.
JOIN_TRIES = 2
# Beyond this many bytes smaps is not read further: 65530 mappings (vm.max_map_count's default)
# at ~1 KiB each, so a process cannot make toptui hold more.
MAX_BYTES = 64 << 20

# One mapping's header (start, end, perms, device, path) and its Rss, each block found after the
# previous block's VmFlags line (a literal, which the regex engine finds fast; the first block
# gets one put before it). Between header and Rss only Size, KernelPageSize and MMUPageSize come
# (lines starting with a capital other than R and V): a block without an Rss line, or whose
# header does not parse, is not matched, nor is the next one taken in.
_BLOCK = re.compile(
    rb"VmFlags:[^\n]*\n([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) [0-9a-f]+ "
    rb"([0-9a-f]+:[0-9a-f]+) \d+ *([^\n]*)\n(?:[A-QS-UW-Z][^\n]*\n)*?Rss: *(\d+) kB\n"
)
# Mount tables kept (a set of device numbers each) for the processes whose smaps is read.
MAX_MOUNT_TABLES = 64
_PREFIX = b"VmFlags:\n"  # put before the text, so that the first block is found as the others
_NEWLINE = ord("\n")
_SHARED = ord("s")  # the fourth permission letter of a shared mapping
_SHMEM_PREFIXES = (b"/dev/shm/", b"/SYSV", b"/memfd:", b"/dev/zero", b"[anon_shmem")

# Where a reading comes from (SmapsReading.source): the files of /proc/PID read.
SMAPS = "smaps"
MAPS_NUMA = "maps+numa_maps"
NO_MAPPINGS = "no mappings (a kernel thread, or it has exited)"
# maps and numa_maps are read after a newline, so that every line, the first too, is found
# after one.
_LINE_PREFIX = b"\n"
# One line of /proc/PID/maps: start, end, perms, device and path (the fields smaps' header has).
_MAPS_LINE = re.compile(
    rb"\n([0-9a-f]++)-([0-9a-f]++) ([r-][w-][x-][ps]) [0-9a-f]++ ([0-9a-f]++:[0-9a-f]++) \d++ *+"
    rb"([^\n]*+)(?=\n)"
)
# One line of /proc/PID/numa_maps: the start and the rest (policy, file=…, counts), taken apart
# by _resident. A path there has its spaces and "=" escaped, so " N0=" is only a node's count.
_NUMA_LINE = re.compile(rb"\n([0-9a-f]++) ([^\n]*+)(?=\n)")
_NODE_FIELD = re.compile(rb" N\d+=(\d+)")
_PAGESIZE_FIELD = b" kernelpagesize_kB="
_HUGETLB = b" huge"  # numa_maps' flag of a hugetlb mapping
_GATE = b"[vsyscall]"
_GUARD_PERMS = b"---p"  # a guard page: inaccessible and private
ANON_LABEL = "[anon]"  # what an anonymous mapping is called where shown
# Makes a Mapping from a tuple of its fields without NamedTuple's Python-level __new__ (a third
# of the cost, over thousands of mappings per read).
_new_tuple = tuple.__new__
_first, _second = itemgetter(0), itemgetter(1)
_HEX_DIGITS = (
    16  # of a 64-bit address  # the gate mapping: the last line of maps, none in numa_maps
)


def kind_of(perms: bytes, dev: bytes, path: bytes, tmpfs: frozenset[tuple[int, int]]) -> int:
    """The kind of one mapping from its header's fields (see the module's rules)."""
    if not path or path.startswith(b"[anon:"):
        return SHMEM if perms[3:4] == b"s" else ANON
    if path == b"[heap]":
        return HEAP
    if path == b"[stack]" or path.startswith(b"[stack:"):
        return STACK
    if path.startswith(_SHMEM_PREFIXES):
        return SHMEM
    if path.startswith(b"["):
        return OTHER
    if tmpfs:
        major, _, minor = dev.partition(b":")
        if (int(major, 16), int(minor, 16)) in tmpfs:  # ValueError for a malformed header
            return SHMEM
    return FILE_SHARED if perms[3:4] == b"s" else FILE_PRIVATE


def parse_smaps(
    data: bytes, t: float = 0.0, tmpfs: frozenset[tuple[int, int]] = frozenset(), cut: str = ""
) -> SmapsReading:
    """Rss by kind and per mapping from the text of /proc/PID/smaps (see :func:`_parse`)."""
    buf = _PREFIX + data
    return _parse(buf, len(buf), t, tmpfs, cut)


def _parse(
    buf: bytes | bytearray,
    end: int,
    t: float,
    tmpfs: frozenset[tuple[int, int]],
    cut: str,
) -> SmapsReading:
    """Rss by kind and per mapping from ``buf[:end]``: smaps' text after ``_PREFIX`` (kernels
    with VmFlags: 3.8 and later).

    ``tmpfs`` holds the (major, minor) device numbers of the process's tmpfs mounts. A mapping
    whose header cannot be parsed is left out, and the reading says how many;
    ``cut`` is the reason the text may have ended early (the process exited during the read).
    """
    with _gc_paused():
        rows = _BLOCK.findall(buf, 0, end)
        # Every block has one Rss line: those not matched did not parse.
        bad = buf.count(b"\nRss:", 0, end) - len(rows)
        return _tally(rows, [int(row[5]) * _KB for row in rows], t, tmpfs, bad, cut, SMAPS)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a reading is made: its ~10 000 tuples (rows and
    mappings, none in a cycle) would start several collections, each going over the young
    objects of the whole process, ~3 ms per read of 5000 mappings. Left as it was if off."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _tally(
    rows: list[tuple[bytes, ...]],
    sizes: list[int],
    t: float,
    tmpfs: frozenset[tuple[int, int]],
    bad: int,
    cut: str,
    source: str,
) -> SmapsReading:
    """The reading from each mapping's header fields (start, end, perms, device, path: a row's
    first five) and its resident bytes: the kind rules of both paths in one place, so the two
    cannot drift apart. ``bad`` mappings did not parse and are left out, said so.

    A large process's mappings are nearly all anonymous, so every mapping starts as anonymous
    and only those with a path, shared ones and possible guard pages get a look, picked out by
    C-level iterators: no Python loop over all of them."""
    n = len(rows)
    kinds = [0] * len(KINDS)
    stacks = 0
    mappings: tuple[Mapping, ...] = ()
    if n:
        start_col, end_col, perms_col, dev_col, path_col = list(zip(*rows, strict=True))[:5]
        starts, ends = _addresses(start_col), _addresses(end_col)
        kind_col = [ANON] * n
        labels = [ANON_LABEL] * n
        # Each mapping that is not anonymous is found by exactly one of these three loops.
        for i in compress(range(n), path_col):
            path = path_col[i].rstrip()
            kind = kind_col[i] = kind_of(perms_col[i], dev_col[i], path, tmpfs)
            kinds[kind] += sizes[i]
            labels[i] = path.decode("utf-8", "replace")  # shown made printable (views)
        shared = {perms: perms[3] == _SHARED for perms in set(perms_col)}
        for i in compress(range(n), map(shared.__getitem__, perms_col)):
            if not path_col[i]:
                kind_col[i] = SHMEM  # a shared anonymous mapping
                kinds[SHMEM] += sizes[i]
        # A thread's stack: the anonymous rw-p mapping right after a small anonymous ---p one
        # (its guard page), starting where the guard ends.
        for i in compress(range(n - 1), map(_GUARD_PERMS.__eq__, perms_col)):
            if (
                not path_col[i]
                and ends[i] - starts[i] <= GUARD_MAX
                and not path_col[i + 1]
                and perms_col[i + 1] == b"rw-p"
                and starts[i + 1] == ends[i]
            ):
                kind_col[i + 1] = STACK
                kinds[STACK] += sizes[i + 1]
                stacks += 1
        kinds[ANON] = 0  # ([anon:NAME] added above): all that is left is anonymous
        kinds[ANON] = sum(sizes) - sum(kinds)
        mappings = tuple(
            map(
                _new_tuple,
                repeat(Mapping, n),
                zip(starts, ends, labels, kind_col, sizes, strict=True),
            )
        )
    reasons = []
    if bad > 0:
        reasons.append(
            f"{bad} mapping{'s' if bad != 1 else ''} could not be parsed: their memory is left out"
        )
    if cut:
        reasons.append(cut)
    if not mappings:
        return SmapsReading(
            t, None, reason="; ".join(reasons) or f"{source} held no mappings", source=source
        )
    return SmapsReading(t, tuple(kinds), mappings, stacks, "; ".join(reasons), source=source)


def _addresses(column: tuple[bytes, ...]) -> list[int] | tuple[int, ...]:
    """Hex addresses as numbers: padded to 16 digits, joined, and unpacked as big-endian 64-bit
    words in one call (a third of the cost of int(…, 16) on each); one by one when one is
    longer (not an address of a 64-bit machine)."""
    joined = b"".join(map(bytes.zfill, column, repeat(_HEX_DIGITS, len(column))))
    if len(joined) != _HEX_DIGITS * len(column):
        return list(map(int, column, repeat(16, len(column))))
    return struct.unpack(f">{len(column)}Q", bytes.fromhex(joined.decode("ascii")))


class _Resident(dict[bytes, int]):
    """numa_maps line tails to resident bytes, each worked out once per read (most lines of a
    large process repeat: "anon=1 dirty=1 N0=1 kernelpagesize_kB=4")."""

    def __missing__(self, rest: bytes) -> int:
        size = self[rest] = _resident(rest)
        return size


def _resident(rest: bytes) -> int:
    """Resident bytes from a numa_maps line after its start address: the ``N<node>=`` page
    counts summed, times ``kernelpagesize_kB``; 0 for a mapping with no page present (the kernel
    writes neither then) and for hugetlb (smaps' Rss leaves it out); -1 when it does not parse."""
    at = rest.rfind(_PAGESIZE_FIELD)
    if at < 0:
        return 0 if _NODE_FIELD.search(rest) is None else -1
    page_kb = rest[at + len(_PAGESIZE_FIELD) :]
    counts = _NODE_FIELD.findall(rest, 0, at)
    if not counts or not page_kb.isdigit():
        return -1
    if _HUGETLB in rest[:at]:
        return 0
    return sum(map(int, counts)) * int(page_kb) * _KB


def parse_maps_numa(
    maps: bytes, numa: bytes, t: float = 0.0, tmpfs: frozenset[tuple[int, int]] = frozenset()
) -> SmapsReading | None:
    """RES by kind and per mapping from the text of /proc/PID/maps and /proc/PID/numa_maps; None
    when the two do not list the same mappings (see :func:`_join`)."""
    m, n = _LINE_PREFIX + maps, _LINE_PREFIX + numa
    return _join(m, len(m), n, len(n), t, tmpfs)


@_gc_paused()
def _join(
    maps: bytes | bytearray,
    m_end: int,
    numa: bytes | bytearray,
    n_end: int,
    t: float,
    tmpfs: frozenset[tuple[int, int]],
) -> SmapsReading | None:
    """The reading from ``maps[:m_end]`` and ``numa[:n_end]``, each text after
    ``_LINE_PREFIX``; None when the two do not list the same mappings (the caller reads again,
    or reads smaps). The collector is paused throughout (see :func:`_gc_paused`).

    Both files list the mappings in the same order, so when every line parses the start
    addresses are compared as two lists and joined by position. A line of either that does not
    parse, with the line counts still equal, is joined by start address instead: the mappings
    left without their other half are left out, and the reading says how many."""
    rows = _MAPS_LINE.findall(maps, 0, m_end)
    lines = _lines(maps, m_end)
    pages = _NUMA_LINE.findall(numa, 0, n_end)
    numa_lines = _lines(numa, n_end)
    gate = bool(rows) and rows[-1][4] == _GATE  # in maps, never in numa_maps (no mm of its own)
    if gate:
        lines -= 1
    if lines != numa_lines:
        return None
    if lines == 0 and not gate:
        return SmapsReading(t, None, reason=NO_MAPPINGS, source=MAPS_NUMA)
    starts = list(map(_first, rows[:-1] if gate else rows))
    bad = 0
    if len(starts) == len(pages) and starts == list(map(_first, pages)):
        bad = lines - len(starts)  # a line of each at the same place did not parse
        sizes = list(map(_Resident().__getitem__, map(_second, pages)))
        if gate:
            sizes.append(0)
    elif len(rows) - gate < lines or len(pages) < numa_lines:
        by_start = dict(pages)
        kept_rows, sizes = [], []
        for row in rows:
            rest = by_start.get(row[0])
            if rest is None and not (gate and row is rows[-1]):
                continue
            kept_rows.append(row)
            sizes.append(0 if rest is None else _resident(rest))
        bad = lines + gate - len(kept_rows)
        rows = kept_rows
    else:
        return None  # every line parsed, yet the starts differ: the mappings changed
    if -1 in sizes:
        whole = [i for i, size in enumerate(sizes) if size >= 0]
        bad += len(sizes) - len(whole)
        rows = [rows[i] for i in whole]
        sizes = [sizes[i] for i in whole]
    return _tally(rows, sizes, t, tmpfs, bad, "", MAPS_NUMA)


def _lines(buf: bytes | bytearray, end: int) -> int:
    """How many lines ``buf[:end]`` holds after ``_LINE_PREFIX`` (a last one unended counts)."""
    if end <= len(_LINE_PREFIX):
        return 0
    return buf.count(b"\n", len(_LINE_PREFIX), end) + (buf[end - 1] != _NEWLINE)


def tmpfs_devices(mountinfo: bytes) -> frozenset[tuple[int, int]]:
    """The (major, minor) device numbers of the tmpfs mounts in /proc/PID/mountinfo (decimal
    there). Whole numbers, not the major alone: every pseudo filesystem (overlayfs, procfs) has
    major 0 too."""
    found = set()
    for line in mountinfo.splitlines():
        fields = line.split(b" ")
        try:
            fstype = fields[fields.index(b"-") + 1]
        except (ValueError, IndexError):
            continue
        major, _, minor = fields[2].partition(b":") if len(fields) > 2 else (b"", b"", b"")
        if fstype == b"tmpfs" and major.isdigit() and minor.isdigit():
            found.add((int(major), int(minor)))
    return frozenset(found)


def _fill(path: str, buf: bytearray, prefix: bytes = _PREFIX) -> tuple[int, OSError | None]:
    """Read the file into ``buf`` after ``prefix`` (growing it as needed, up to MAX_BYTES of
    text); returns where the text ends and the error that stopped the read, if one did. Opening
    raises. One buffer reused from read to read: a fresh 3 MB string per read costs its page
    faults and a copy each time."""
    n = len(prefix)
    buf[:n] = prefix
    with open(path, "rb", buffering=0) as f:
        try:
            while n - len(prefix) < MAX_BYTES:
                if n == len(buf):
                    buf.extend(bytes(max(len(buf), LINES_CHUNK)))
                with memoryview(buf) as whole, whole[n:] as rest:
                    got = f.readinto(rest)
                if not got:
                    break
                n += got
        except OSError as exc:
            return n, exc
    return n, None


class Buffers:
    """The text buffers one reader reuses from read to read (each grows to the largest file
    read; :meth:`trim` bounds them). smaps' is made only when smaps is read (the fallback)."""

    __slots__ = ("maps", "numa", "smaps")

    def __init__(self) -> None:
        self.maps = bytearray(LINES_CHUNK)
        self.numa = bytearray(LINES_CHUNK)
        self.smaps = bytearray()

    def trim(self) -> None:
        """Drop a buffer grown past KEEP_BYTES: a huge process's text is not kept."""
        if len(self.maps) > KEEP_BYTES:
            self.maps = bytearray(LINES_CHUNK)
        if len(self.numa) > KEEP_BYTES:
            self.numa = bytearray(LINES_CHUNK)
        if len(self.smaps) > KEEP_BYTES:
            self.smaps = bytearray()


def read_kinds(
    pid: int,
    t: float,
    tmpfs: frozenset[tuple[int, int]] = frozenset(),
    *,
    numa: bool = True,
    proc: str = PROC,
    buffers: Buffers | None = None,
) -> SmapsReading:
    """One process's breakdown, as toptui reads it: from maps and numa_maps when ``numa`` (the
    kernel has numa_maps) and they agree, else from smaps; never raises.

    When the two files list different mappings (one mapped or unmapped between the reads) both
    are read again once; if they still differ, or either cannot be read, smaps is read instead
    (and says why when that fails too: exited, permission denied)."""
    bufs = buffers if buffers is not None else Buffers()
    if numa:
        for _ in range(JOIN_TRIES):
            try:
                m_end, m_failed = _fill(f"{proc}/{pid}/maps", bufs.maps, _LINE_PREFIX)
                n_end, n_failed = _fill(f"{proc}/{pid}/numa_maps", bufs.numa, _LINE_PREFIX)
            except OSError:
                break  # gone, refused or no numa_maps: smaps says which
            if m_failed is not None or n_failed is not None:
                break  # stopped midway: smaps says what is missing
            reading = _join(bufs.maps, m_end, bufs.numa, n_end, t, tmpfs)
            if reading is not None:
                return reading
    return read_smaps(pid, t, tmpfs, buffer=bufs.smaps, proc=proc)


def read_smaps(
    pid: int,
    t: float,
    tmpfs: frozenset[tuple[int, int]] = frozenset(),
    chunks: Callable[[str], Iterable[bytes]] | None = None,
    buffer: bytearray | None = None,
    proc: str = PROC,
) -> SmapsReading:
    """One process's breakdown from smaps, or an absent or partial one with the reason: never
    raises.

    ``buffer`` is reused for the text (KindsReader keeps one); ``chunks`` reads the file another
    way (tests: a process killed between two reads); ``proc`` is where /proc is (tests)."""
    path = f"{proc}/{pid}/smaps"
    buf = buffer if buffer is not None else bytearray(CHUNK)
    failed: OSError | None = None
    try:
        if chunks is None:
            end, failed = _fill(path, buf)
        else:
            got: list[bytes] = []
            try:
                for chunk in chunks(path):
                    got.append(chunk)
            except OSError as exc:
                failed = exc
            buf[:] = _PREFIX + b"".join(got)
            end = len(buf)
    except PermissionError:
        return SmapsReading(t, None, reason=f"permission denied: reading {path} needs the "
                            "right to trace the process", denied=True)  # fmt: skip
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        return SmapsReading(t, None, reason="the process has exited")
    except OSError as exc:
        return SmapsReading(t, None, reason=f"{path} could not be read: {exc.strerror}")
    empty = end == len(_PREFIX)
    cut = ""
    if isinstance(failed, FileNotFoundError | ProcessLookupError):
        if empty:
            return SmapsReading(t, None, reason="the process has exited")
        cut = "the process exited during the read: later mappings are missing"
    elif failed is not None:
        if empty:
            return SmapsReading(t, None, reason=f"{path} could not be read: {failed.strerror}")
        cut = f"the read stopped early ({failed.strerror}): later mappings are missing"
    elif empty:
        # An empty smaps: a kernel thread or a process that has just exited (no memory).
        return SmapsReading(t, None, reason=NO_MAPPINGS)
    elif buf[end - 1] != _NEWLINE:
        cut = "smaps ended mid-line (the process exited during the read)"
    return _parse(buf, end, t, tmpfs, cut)


def read_tmpfs_devices(pid: int, proc: str = PROC) -> frozenset[tuple[int, int]]:
    """The process's tmpfs devices, or none when its mount table cannot be read."""
    try:
        with open(f"{proc}/{pid}/mountinfo", "rb") as f:
            return tmpfs_devices(f.read(1 << 20))
    except OSError:
        return frozenset()


_STATUS_FIELDS = (b"RssAnon:", b"RssFile:", b"RssShmem:", b"VmSwap:")


def parse_status_split(data: bytes, t: float = 0.0) -> CoarseSplit | None:
    """RssAnon, RssFile, RssShmem and VmSwap from /proc/PID/status; None when any is missing
    (a kernel thread has none)."""
    values = []
    for name in _STATUS_FIELDS:
        at = data.find(b"\n" + name)
        if at < 0:
            return None
        end = data.find(b"\n", at + 1)
        parts = data[at + 1 + len(name) : end if end >= 0 else len(data)].split()
        if not parts or not parts[0].isdigit():
            return None
        values.append(int(parts[0]) * _KB)
    return CoarseSplit(t, *values)


def read_status_split(pid: int, t: float) -> CoarseSplit | None:
    """The coarse split of one process, or None when it cannot be read (gone, or none)."""
    try:
        fd = os.open(f"{PROC}/{pid}/status", os.O_RDONLY)
    except OSError:
        return None
    try:
        return parse_status_split(os.read(fd, 4096), t)
    except OSError:
        return None
    finally:
        os.close(fd)


class KindsReader:
    """Reads the breakdown (:func:`read_kinds`) and the coarse split for the monitor, keeping
    each process's tmpfs devices (its mount table is read once, when it is first read)."""

    live = True

    def __init__(self, numa: bool | None = None, proc: str = PROC) -> None:
        """``numa``: whether to read maps and numa_maps; by default, whether this kernel has
        numa_maps (CONFIG_NUMA: the same for every process)."""
        self._tmpfs: dict[ProcKey, frozenset[tuple[int, int]]] = {}
        self._buffers = Buffers()  # the texts, read after read (the sampler thread)
        self._proc = proc
        self.numa = os.path.exists(f"{proc}/self/numa_maps") if numa is None else numa

    def smaps(self, key: ProcKey, t: float) -> SmapsReading:
        tmpfs = self._tmpfs.get(key)
        if tmpfs is None:
            if len(self._tmpfs) >= MAX_MOUNT_TABLES:
                self._tmpfs.clear()  # bounded: read again for whoever comes next
            tmpfs = self._tmpfs[key] = read_tmpfs_devices(key[0], self._proc)
        reading = read_kinds(
            key[0], t, tmpfs, numa=self.numa, proc=self._proc, buffers=self._buffers
        )
        self._buffers.trim()
        return reading

    def coarse(self, pid: int, t: float) -> CoarseSplit | None:
        return read_status_split(pid, t)

    def forget(self, key: ProcKey) -> None:
        self._tmpfs.pop(key, None)

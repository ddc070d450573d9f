"""Resident memory by kind, from /proc/PID/smaps; and the coarse split of /proc/PID/status.

smaps holds ~25 lines per mapping, so a process with 5000 mappings gives over 3 MB of text. One
compiled pattern picks each mapping's header and Rss out of the whole buffer, never a Python
loop per line; only the headers are split one by one.

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

import os
import re
from collections.abc import Callable, Iterable

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
    kinds = [0] * len(KINDS)
    mappings: list[Mapping] = []
    add = mappings.append
    stacks = 0
    guard_end = -1  # the end of the last mapping if it was a possible guard page, else -1
    for start_hex, end_hex, perms, dev, path, rss_kb in _BLOCK.findall(buf, 0, end):
        size = int(rss_kb) * _KB
        start, end = int(start_hex, 16), int(end_hex, 16)
        if path:
            kind = kind_of(perms, dev, path.rstrip(), tmpfs)
            label = path.rstrip().decode("utf-8", "replace")  # shown made printable (views)
            guard_end = -1
        else:  # anonymous: most mappings of a large process, so the rules are inlined
            label = "[anon]"
            if perms[3] == _SHARED:
                kind = SHMEM
            elif start == guard_end and perms == b"rw-p":
                kind = STACK
                stacks += 1
            else:
                kind = ANON
            guard_end = end if perms == b"---p" and end - start <= GUARD_MAX else -1
        kinds[kind] += size
        add(Mapping(start, end, label, kind, size))
    # Every block has one Rss line: those not matched above did not parse.
    bad = buf.count(b"\nRss:", 0, end) - len(mappings)
    reasons = []
    if bad > 0:
        reasons.append(
            f"{bad} mapping{'s' if bad != 1 else ''} could not be parsed: their memory is left out"
        )
    if cut:
        reasons.append(cut)
    if not mappings:
        return SmapsReading(t, None, reason="; ".join(reasons) or "smaps held no mappings")
    return SmapsReading(t, tuple(kinds), tuple(mappings), stacks, "; ".join(reasons))


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


def _fill(path: str, buf: bytearray) -> tuple[int, OSError | None]:
    """Read the file into ``buf`` after ``_PREFIX`` (growing it as needed, up to MAX_BYTES of
    text); returns where the text ends and the error that stopped the read, if one did. Opening
    raises. One buffer reused from read to read: a fresh 3 MB string per read costs its page
    faults and a copy each time."""
    n = len(_PREFIX)
    buf[:n] = _PREFIX
    with open(path, "rb", buffering=0) as f:
        try:
            while n - len(_PREFIX) < MAX_BYTES:
                if n == len(buf):
                    buf.extend(bytes(len(buf)))
                with memoryview(buf) as whole, whole[n:] as rest:
                    got = f.readinto(rest)
                if not got:
                    break
                n += got
        except OSError as exc:
            return n, exc
    return n, None


def read_smaps(
    pid: int,
    t: float,
    tmpfs: frozenset[tuple[int, int]] = frozenset(),
    chunks: Callable[[str], Iterable[bytes]] | None = None,
    buffer: bytearray | None = None,
) -> SmapsReading:
    """One process's breakdown, or an absent or partial one with the reason: never raises.

    ``buffer`` is reused for the text (KindsReader keeps one); ``chunks`` reads the file another
    way (tests: a process killed between two reads)."""
    path = f"{PROC}/{pid}/smaps"
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
        return SmapsReading(t, None, reason="no mappings (a kernel thread, or it has exited)")
    elif buf[end - 1] != _NEWLINE:
        cut = "smaps ended mid-line (the process exited during the read)"
    return _parse(buf, end, t, tmpfs, cut)


def read_tmpfs_devices(pid: int) -> frozenset[tuple[int, int]]:
    """The process's tmpfs devices, or none when its mount table cannot be read."""
    try:
        with open(f"{PROC}/{pid}/mountinfo", "rb") as f:
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
    """Reads smaps and the coarse split for the monitor, keeping each process's tmpfs devices
    (its mount table is read once, when its smaps is first read)."""

    live = True

    def __init__(self) -> None:
        self._tmpfs: dict[ProcKey, frozenset[tuple[int, int]]] = {}
        self._buffer = bytearray(CHUNK)  # smaps' text, read after read (the sampler thread)

    def smaps(self, key: ProcKey, t: float) -> SmapsReading:
        tmpfs = self._tmpfs.get(key)
        if tmpfs is None:
            if len(self._tmpfs) >= MAX_MOUNT_TABLES:
                self._tmpfs.clear()  # bounded: read again for whoever comes next
            tmpfs = self._tmpfs[key] = read_tmpfs_devices(key[0])
        reading = read_smaps(key[0], t, tmpfs, buffer=self._buffer)
        if len(self._buffer) > KEEP_BYTES:
            self._buffer = bytearray(CHUNK)  # bounded: a huge process's text is not kept
        return reading

    def coarse(self, pid: int, t: float) -> CoarseSplit | None:
        return read_status_split(pid, t)

    def forget(self, key: ProcKey) -> None:
        self._tmpfs.pop(key, None)

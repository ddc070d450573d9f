"""Reading one process from Linux /proc, the way top does, without psutil's per-attribute cost.

Per process and tick this reads two small files: ``stat`` (state, ppid, CPU ticks, priority, nice,
threads, start time) and ``statm`` (VIRT, RES, SHR in pages, exactly what top shows). ``status``
(the effective uid) and ``cmdline`` are read once, when a process is first seen. Every read can
race with the process exiting; the caller treats :class:`Gone` as "not in this snapshot".

The sampler's sweep inlines :func:`read_raw` and :func:`stat_fields` (the hot path costs about as
much Python as the two reads cost kernel time); :func:`parse_stat` is the readable equivalent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

PROC = "/proc"


class Gone(Exception):
    """The process vanished (or could not be read at all) while we were reading it."""


@dataclass(frozen=True, slots=True)
class StatFields:
    """The fields of /proc/PID/stat that a monitor needs (see proc(5))."""

    name: str
    state: str
    ppid: int
    utime: int  # clock ticks
    stime: int
    priority: int
    nice: int
    threads: int
    starttime: int  # clock ticks after boot


# Indices into ``data[rfind(b")") + 2:].split()`` (field N of proc(5) lives at N - 3).
STATE, PPID, FLAGS, UTIME, STIME = 0, 1, 6, 11, 12
PRIORITY, NICE, THREADS, STARTTIME = 15, 16, 17, 19
PF_KTHREAD = 0x00200000  # in FLAGS: a kernel thread (no command line, no memory of its own)


def stat_fields(data: bytes) -> tuple[str, list[bytes]]:
    """The name and the split fields after it: the cheap core of :func:`parse_stat`."""
    open_paren = data.find(b"(")
    close_paren = data.rfind(b")")
    if open_paren < 0 or close_paren < open_paren:
        raise ValueError("malformed stat")
    name = data[open_paren + 1 : close_paren].decode("utf-8", "replace")
    if not name.isprintable():
        # A process picks its own name: never let ESC, newlines or tabs drive the terminal.
        name = "".join(ch if ch.isprintable() else "?" for ch in name)
    return name, data[close_paren + 2 :].split()


def parse_stat(data: bytes) -> StatFields:
    """Parse /proc/PID/stat; the name may hold spaces and parentheses, so split at the LAST ')'."""
    name, rest = stat_fields(data)
    return StatFields(
        name=name,
        state=rest[STATE].decode("ascii", "replace"),
        ppid=int(rest[PPID]),
        utime=int(rest[UTIME]),
        stime=int(rest[STIME]),
        priority=int(rest[PRIORITY]),
        nice=int(rest[NICE]),
        threads=int(rest[THREADS]),
        starttime=int(rest[STARTTIME]),
    )


def parse_statm(data: bytes) -> tuple[int, int, int]:
    """Return (size, resident, shared) in pages: top's VIRT, RES and SHR."""
    fields = data.split()
    return int(fields[0]), int(fields[1]), int(fields[2])


def parse_vmswap(data: bytes) -> int | None:
    """VmSwap from /proc/PID/status, in bytes; None when absent (a kernel thread)."""
    at = data.find(b"\nVmSwap:")
    if at < 0:
        return None
    fields = data[at + 8 : data.find(b"\n", at + 8)].split()
    return int(fields[0]) * 1024 if fields else None


def read_vmswap(pid: int) -> int | None:
    """Bytes of ``pid`` in swap, or None when it cannot be read (gone, or not allowed)."""
    try:
        fd = os.open(f"{PROC}/{pid}/status", os.O_RDONLY)
    except OSError:
        return None
    try:
        return parse_vmswap(os.read(fd, 4096))
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def parse_status_euid(data: bytes) -> int | None:
    """Effective uid from /proc/PID/status (top's USER is the effective user)."""
    at = data.find(b"\nUid:")
    if at < 0:
        if not data.startswith(b"Uid:"):
            return None
        at = -1
    end = data.find(b"\n", at + 1)
    parts = data[at + 1 : end if end >= 0 else len(data)].split()
    return int(parts[2]) if len(parts) >= 3 else None


def parse_cmdline(data: bytes) -> str:
    """NUL-separated argv to one line; invalid UTF-8 and control characters are made printable."""
    text = data.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "backslashreplace")
    if text.isprintable():  # nearly always: skip the per-character pass
        return text
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def read_raw(path: str, size: int = 4096) -> bytes | None:
    """One small /proc file in open/read/close, or None if it cannot be read (gone, denied)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, size)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_file(path: str, size: int = 4096) -> bytes:
    """Read a small /proc file in one syscall; vanished processes raise :class:`Gone`."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError) as exc:
        raise Gone(path) from exc
    try:
        return os.read(fd, size)
    except (ProcessLookupError, FileNotFoundError) as exc:
        raise Gone(path) from exc
    finally:
        os.close(fd)


def read_cmdline(pid: int, limit: int = 1 << 20) -> str:
    """The full command line (bounded, a process controls its length); '' for kernel threads."""
    try:
        fd = os.open(f"{PROC}/{pid}/cmdline", os.O_RDONLY)
    except OSError:
        return ""
    chunks: list[bytes] = []
    size = 0
    want = 4096  # nearly every command line fits: one read, and a short read is the end
    try:
        while size < limit:
            chunk = os.read(fd, min(want, limit - size))
            chunks.append(chunk)
            size += len(chunk)
            if len(chunk) < want:
                break
            want = 65536
    except OSError:
        return ""
    finally:
        os.close(fd)
    return parse_cmdline(b"".join(chunks))


def list_pids() -> list[int]:
    """Numeric entries of /proc: every process the kernel lets us see."""
    return [int(name) for name in os.listdir(PROC) if name.isdigit()]


def list_pid_names() -> list[str]:
    """The same entries as text: the sweep builds paths from them and never needs the number."""
    return [name for name in os.listdir(PROC) if name.isdigit()]


def last_pid_mark() -> bytes | None:
    """The last pid the kernel handed out in our pid namespace (field 5 of /proc/loadavg), as
    text; None when it cannot be read."""
    data = read_raw(f"{PROC}/loadavg", 256)
    fields = data.split() if data else []
    return fields[4] if len(fields) >= 5 else None


def _listing_may_be_kept() -> bool:
    """Whether an unchanged last pid proves /proc lists no new process: /proc must be of our
    own pid namespace (our own stat there names our pid and parent's as we know them), and not
    mounted with hidepid, under which a process can come into sight without being new (its
    owner or our credentials change)."""
    own = read_raw(f"{PROC}/self/stat")
    try:
        rest = stat_fields(own)[1] if own else []
    except ValueError:
        return False
    if not own or own.split(b" ", 1)[0] != str(os.getpid()).encode():
        return False
    if len(rest) <= PPID or rest[PPID] != str(os.getppid()).encode():
        return False
    try:
        with open(f"{PROC}/self/mounts", "rb") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 4 and fields[1] == PROC.encode() and fields[2] == b"proc":
                    options = fields[3].split(b",")
                    if any(o.startswith(b"hidepid=") and o not in (b"hidepid=0", b"hidepid=off")
                           for o in options):  # fmt: skip
                        return False
    except OSError:
        return False
    return True


class PidNames:
    """The numeric entries of /proc, listed again only when a pid was handed out since the last
    listing (a new process, or a new thread).

    Listing /proc costs the kernel about as much per entry as re-reading a held stat file, and
    on a quiet machine nothing new appears from one tick to the next. A process can enter the
    list only with a pid just allocated, and the kernel shows the last one allocated in
    /proc/loadavg: read before listing, an unchanged value means the last listing still holds
    every process (those gone since fail to read, as they would have vanished from a new
    listing). The caller drops the names it found gone with :meth:`drop`.
    """

    def __init__(self) -> None:
        self._usable = _listing_may_be_kept()
        self._names: list[str] | None = None
        self._mark: bytes | None = None
        self.kept = 0  # listings saved (for tests and benchmarks)

    def __call__(self) -> list[str]:
        mark = last_pid_mark() if self._usable else None
        if mark is not None and mark == self._mark and self._names is not None:
            self.kept += 1
            return self._names
        self._names = names = list_pid_names()  # after the mark: a pid newer than it is listed
        self._mark = mark
        return names

    def drop(self, gone: list[str]) -> None:
        """Forget entries found gone (their stat file no longer there)."""
        if gone and self._names is not None:
            out = set(gone)
            self._names = [n for n in self._names if n not in out]


def boot_time() -> float:
    """Boot time in epoch seconds (``btime`` of /proc/stat), the origin of start times."""
    with open(f"{PROC}/stat", "rb") as f:
        for line in f:
            if line.startswith(b"btime"):
                return float(line.split()[1])
    raise OSError("no btime in /proc/stat")

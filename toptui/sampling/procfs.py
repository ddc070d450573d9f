"""Reading one process from Linux /proc, the way top does, without psutil's per-attribute cost.

Per process and tick this reads two small files: ``stat`` (state, ppid, CPU ticks, priority, nice,
threads, start time) and ``statm`` (VIRT, RES, SHR in pages, exactly what top shows). ``status``
(the effective uid) and ``cmdline`` are read once, when a process is first seen. Every read can
race with the process exiting; the caller treats :class:`Gone` as "not in this snapshot".
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


def parse_stat(data: bytes) -> StatFields:
    """Parse /proc/PID/stat; the name may hold spaces and parentheses, so split at the LAST ')'."""
    open_paren = data.find(b"(")
    close_paren = data.rfind(b")")
    if open_paren < 0 or close_paren < open_paren:
        raise ValueError("malformed stat")
    name = data[open_paren + 1 : close_paren].decode("utf-8", "replace")
    rest = data[close_paren + 2 :].split()
    # rest[0] is field 3 (state); field N lives at rest[N - 3].
    return StatFields(
        name=name,
        state=rest[0].decode("ascii", "replace"),
        ppid=int(rest[1]),
        utime=int(rest[11]),
        stime=int(rest[12]),
        priority=int(rest[15]),
        nice=int(rest[16]),
        threads=int(rest[17]),
        starttime=int(rest[19]),
    )


def parse_statm(data: bytes) -> tuple[int, int, int]:
    """Return (size, resident, shared) in pages: top's VIRT, RES and SHR."""
    fields = data.split()
    return int(fields[0]), int(fields[1]), int(fields[2])


def parse_status_euid(data: bytes) -> int | None:
    """Effective uid from /proc/PID/status (top's USER is the effective user)."""
    for line in data.splitlines():
        if line.startswith(b"Uid:"):
            parts = line.split()
            if len(parts) >= 3:
                return int(parts[2])
    return None


def parse_cmdline(data: bytes) -> str:
    """NUL-separated argv to one line; invalid UTF-8 and control characters are made printable."""
    text = data.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else "?" for ch in text)


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
    path = f"{PROC}/{pid}/cmdline"
    try:
        with open(path, "rb") as f:
            data = f.read(limit)
    except (FileNotFoundError, ProcessLookupError, PermissionError, OSError):
        return ""
    return parse_cmdline(data)


def list_pids() -> list[int]:
    """Numeric entries of /proc: every process the kernel lets us see."""
    return [int(name) for name in os.listdir(PROC) if name.isdigit()]


def boot_time() -> float:
    """Boot time in epoch seconds (``btime`` of /proc/stat), the origin of start times."""
    with open(f"{PROC}/stat", "rb") as f:
        for line in f:
            if line.startswith(b"btime"):
                return float(line.split()[1])
    raise OSError("no btime in /proc/stat")

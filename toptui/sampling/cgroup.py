"""The memory limit a process's cgroup puts on it, read from the cgroup file system.

A leak inside a container or a systemd unit with ``MemoryMax=`` is killed when its cgroup's
limit is reached, long before the machine's MemAvailable is used up; so the time until memory
runs out must be reckoned against the room left under that limit where one applies
(``toptui.analysis.headroom`` chooses). cgroup v2 (``memory.max``, ``memory.current``) and v1's
memory controller (``memory.limit_in_bytes``, ``memory.usage_in_bytes``) are read. Every cgroup
from the process's own up to the root of the mount can hold a limit, and any of them can be the
one that is reached first: the tightest room of all of them is the answer.

The room under a limit is ``limit − (usage − inactive file pages)``: the kernel reclaims
inactive page cache before it kills anything (the working set of cAdvisor and the kubelet).
Unreadable files, a process that exited or a kernel without cgroups give None, never an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# cgroup v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages);
# anything from 2**62 bytes up is no limit on any machine that exists.
V1_UNLIMITED_BYTES = 2**62
# The memory.stat fields of the reclaimable page cache counted out of the usage: v2's
# inactive_file covers the subtree; v1's own inactive_file is this cgroup's only, its
# total_inactive_file the subtree's (which its usage_in_bytes counts).
V2_RECLAIMABLE = "inactive_file"
V1_RECLAIMABLE = "total_inactive_file"


@dataclass(frozen=True, slots=True)
class CgroupMemory:
    """The tightest memory limit over a process's cgroup and its ancestors."""

    limit_bytes: int  # that cgroup's limit
    usage_bytes: int  # what is charged to it (its whole subtree)
    reclaimable_bytes: int  # inactive page cache in it, given back before an OOM kill
    path: str  # the cgroup holding the limit, as /proc/PID/cgroup names it
    version: int  # 1 or 2

    @property
    def room_bytes(self) -> int:
        """Memory that can still be charged to that cgroup before its limit is reached."""
        return max(0, self.limit_bytes - max(0, self.usage_bytes - self.reclaimable_bytes))


@dataclass(frozen=True, slots=True)
class _Mount:
    root: str  # the cgroup the mount shows at its mount point (mountinfo's root field)
    point: str
    version: int


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (``\\040``)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def memory_mounts(mountinfo: str) -> list[_Mount]:
    """The cgroup v2 mounts and v1 memory-controller mounts in a ``/proc/self/mountinfo``."""
    mounts = []
    for line in mountinfo.splitlines():
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if not sep or len(fields) < 5 or len(rest) < 3:
            continue
        root, point = _unescape(fields[3]), _unescape(fields[4])
        if rest[0] == "cgroup2":
            mounts.append(_Mount(root, point, 2))
        elif rest[0] == "cgroup" and "memory" in rest[2].split(","):
            mounts.append(_Mount(root, point, 1))
    return mounts


def _read_int(path: str) -> int | None:
    """An integer file; None when absent, unreadable or ``max`` (v2's "no limit")."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _stat_field(path: str, name: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(" ")
                if key == name and value.strip().isdigit():
                    return int(value)
    except OSError:
        pass
    return 0


class CgroupReader:
    """Reads processes' cgroup memory limits; the mounts are found once, at construction.

    ``proc`` is where /proc is (a test gives a tree of its own, laid out as the kernel's)."""

    def __init__(self, proc: str = "/proc", mountinfo: str | None = None) -> None:
        self.proc = proc
        if mountinfo is None:
            try:
                with open(os.path.join(proc, "self", "mountinfo")) as f:
                    mountinfo = f.read()
            except OSError:
                mountinfo = ""
        self.mounts = memory_mounts(mountinfo)

    def paths(self, pid: int) -> dict[int, str]:
        """The process's memory cgroup per version, from ``/proc/PID/cgroup``; {} when gone."""
        try:
            with open(os.path.join(self.proc, str(pid), "cgroup")) as f:
                text = f.read()
        except OSError:
            return {}
        found: dict[int, str] = {}
        for line in text.splitlines():
            parts = line.split(":", 2)
            if len(parts) != 3:
                continue
            hier, controllers, path = parts
            if hier == "0" and controllers == "":
                found.setdefault(2, path)
            elif "memory" in controllers.split(","):
                found.setdefault(1, path)
        return found

    def memory(self, pid: int) -> CgroupMemory | None:
        """The tightest limit on ``pid`` over its cgroups and their ancestors; None when no
        limit applies or nothing can be read."""
        return self.memory_of(self.paths(pid))

    def memory_of(self, paths: dict[int, str]) -> CgroupMemory | None:
        """As :meth:`memory`, for cgroup paths already read (processes often share them)."""
        best: CgroupMemory | None = None
        for mount in self.mounts:
            path = paths.get(mount.version)
            if path is None:
                continue
            for found in self._limits(mount, path):
                if best is None or found.room_bytes < best.room_bytes:
                    best = found
        return best

    def _limits(self, mount: _Mount, path: str) -> list[CgroupMemory]:
        """Every limited cgroup from ``path`` up to the mount's root."""
        root = mount.root.rstrip("/")
        if path != root and not path.startswith(root + "/"):
            return []  # a cgroup outside what this mount shows (another namespace)
        rel = path[len(root) :].strip("/")
        parts = rel.split("/") if rel else []
        if mount.version == 2:
            limit_f, usage_f, stat_name = "memory.max", "memory.current", V2_RECLAIMABLE
        else:
            limit_f, usage_f, stat_name = (
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
                (V1_RECLAIMABLE),
            )
        found = []
        for depth in range(len(parts), -1, -1):
            where = os.path.join(mount.point, *parts[:depth])
            limit = _read_int(os.path.join(where, limit_f))
            if limit is None or (mount.version == 1 and limit >= V1_UNLIMITED_BYTES):
                continue
            usage = _read_int(os.path.join(where, usage_f))
            if usage is None:
                continue
            reclaimable = _stat_field(os.path.join(where, "memory.stat"), stat_name)
            name = "/".join([root, *parts[:depth]]) or "/"
            found.append(CgroupMemory(limit, usage, reclaimable, name, mount.version))
        return found

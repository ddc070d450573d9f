"""One snapshot of every process per call: the only place that talks to the operating system.

On Linux the sweep reads /proc directly (two small files per process); elsewhere it falls back to
psutil. Either way the sampler owns all sampling state (previous CPU ticks, the uid → name cache,
one-time fields of known processes) and must be called from one thread only.
"""

from __future__ import annotations

import os
import pwd
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import psutil

from toptui.model import ProcKey, ProcSample, Snapshot
from toptui.sampling import procfs
from toptui.sampling.system import SystemReader

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(slots=True)
class _Known:
    """What is read once per process identity (htop's 'one-time work only for new processes')."""

    user: str
    command: str
    prev_ticks: int
    create_time: float


class _UserNames:
    """uid → login name, cached: pwd lookups cost far more than reading /proc."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def __call__(self, uid: int | None) -> str:
        if uid is None:
            return "?"
        name = self._cache.get(uid)
        if name is None:
            try:
                name = pwd.getpwuid(uid).pw_name
            except KeyError:
                name = str(uid)
            self._cache[uid] = name
        return name


class Sampler:
    """Takes snapshots; ``pids`` (optional) restricts which processes are read at all."""

    def __init__(self, pids: Iterable[int] | None = None, clock: Callable[[], float] | None = None):
        self._only = frozenset(pids) if pids else None
        self._clock = clock or time.monotonic
        self._known: dict[ProcKey, _Known] = {}
        self._users = _UserNames()
        self._system = SystemReader()
        self._last_t: float | None = None
        self._linux = sys.platform.startswith("linux") and os.path.isdir("/proc/self")
        self._boot = procfs.boot_time() if self._linux else psutil.boot_time()

    def sample(self) -> Snapshot:
        t_mono = self._clock()
        interval = 0.0 if self._last_t is None else max(1e-6, t_mono - self._last_t)
        first = self._last_t is None
        self._last_t = t_mono
        mem = psutil.virtual_memory()
        total = float(mem.total) or 1.0
        procs = (
            self._sweep_proc(interval, first, total)
            if self._linux
            else self._sweep_psutil(interval, first, total)
        )
        system = self._system.read([p.state for p in procs])
        return Snapshot(t_mono, time.time(), interval, system, tuple(procs))

    # -- Linux: /proc directly ---------------------------------------------------------------

    def _sweep_proc(self, interval: float, first: bool, mem_total: float) -> list[ProcSample]:
        known = self._known
        seen: dict[ProcKey, _Known] = {}
        out: list[ProcSample] = []
        pids = procfs.list_pids()
        if self._only is not None:
            pids = [p for p in pids if p in self._only]
        for pid in pids:
            base = f"/proc/{pid}/"
            try:
                st = procfs.parse_stat(procfs.read_file(base + "stat"))
                size, resident, shared = procfs.parse_statm(procfs.read_file(base + "statm"))
            except (procfs.Gone, PermissionError, ValueError, IndexError, OSError):
                continue  # gone mid-read, or unreadable: not half a row
            key = (pid, st.starttime)
            info = known.get(key)
            ticks = st.utime + st.stime
            if info is None:
                info = self._first_sight(pid, st, base)
                # A process born during the interval ran all its ticks within it (as top counts).
                info.prev_ticks = ticks if first else 0
            seen[key] = info
            cpu = 0.0
            if interval > 0:
                cpu = max(0.0, (ticks - info.prev_ticks) / CLK_TCK / interval * 100.0)
            info.prev_ticks = ticks
            res = resident * PAGE_SIZE
            out.append(
                ProcSample(
                    key=key,
                    pid=pid,
                    ppid=st.ppid,
                    user=info.user,
                    name=st.name,
                    command=info.command or f"[{st.name}]",
                    state=st.state,
                    priority=st.priority,
                    nice=st.nice,
                    threads=st.threads,
                    virt=size * PAGE_SIZE,
                    res=res,
                    shr=shared * PAGE_SIZE,
                    cpu_percent=cpu,
                    mem_percent=100.0 * res / mem_total,
                    cpu_time=ticks / CLK_TCK,
                    create_time=self._boot + st.starttime / CLK_TCK,
                )
            )
        self._known = seen  # sweep: identities not seen this tick are forgotten
        return out

    def _first_sight(self, pid: int, st: procfs.StatFields, base: str) -> _Known:
        try:
            uid = procfs.parse_status_euid(procfs.read_file(base + "status", 8192))
        except (procfs.Gone, PermissionError, OSError, ValueError):
            uid = None
        if uid is None:
            try:
                uid = os.stat(base).st_uid
            except OSError:
                uid = None
        return _Known(
            user=self._users(uid),
            command=procfs.read_cmdline(pid),
            prev_ticks=0,
            create_time=self._boot + st.starttime / CLK_TCK,
        )

    # -- elsewhere: psutil -------------------------------------------------------------------

    def _sweep_psutil(self, interval: float, first: bool, mem_total: float) -> list[ProcSample]:
        attrs = ["pid", "ppid", "username", "name", "cmdline", "status", "nice", "num_threads",
                 "memory_info", "cpu_times", "create_time"]  # fmt: skip
        known = self._known
        seen: dict[ProcKey, _Known] = {}
        out: list[ProcSample] = []
        for p in psutil.process_iter(attrs, ad_value=None):
            i = p.info
            if i.get("create_time") is None or i.get("memory_info") is None:
                continue
            if self._only is not None and i["pid"] not in self._only:
                continue
            key = (int(i["pid"]), int(i["create_time"] * CLK_TCK))
            ct = i.get("cpu_times")
            total_s = (ct.user + ct.system) if ct else 0.0
            ticks = int(total_s * CLK_TCK)
            info = known.get(key)
            if info is None:
                info = _Known(i.get("username") or "?", " ".join(i.get("cmdline") or []),
                              ticks if first else 0, float(i["create_time"]))  # fmt: skip
            seen[key] = info
            cpu = (
                max(0.0, (ticks - info.prev_ticks) / CLK_TCK / interval * 100) if interval else 0.0
            )
            info.prev_ticks = ticks
            mi = i["memory_info"]
            nice = i.get("nice") or 0
            out.append(
                ProcSample(
                    key=key,
                    pid=key[0],
                    ppid=int(i.get("ppid") or 0),
                    user=info.user,
                    name=i.get("name") or "?",
                    command=info.command or f"[{i.get('name')}]",
                    state=_PSUTIL_STATES.get(i.get("status") or "", "?"),
                    priority=20 + nice,
                    nice=nice,
                    threads=int(i.get("num_threads") or 0),
                    virt=int(mi.vms),
                    res=int(mi.rss),
                    shr=int(getattr(mi, "shared", 0)),
                    cpu_percent=cpu,
                    mem_percent=100.0 * mi.rss / mem_total,
                    cpu_time=total_s,
                    create_time=float(i["create_time"]),
                )
            )
        self._known = seen
        return out


_PSUTIL_STATES = {
    psutil.STATUS_RUNNING: "R",
    psutil.STATUS_SLEEPING: "S",
    psutil.STATUS_DISK_SLEEP: "D",
    psutil.STATUS_STOPPED: "T",
    psutil.STATUS_TRACING_STOP: "t",
    psutil.STATUS_ZOMBIE: "Z",
    psutil.STATUS_DEAD: "X",
    psutil.STATUS_IDLE: "I",
}

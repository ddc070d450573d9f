"""One snapshot of every process per call: the only place that talks to the operating system.

On Linux the sweep reads /proc directly (two small files per process, one for an idle one);
elsewhere it falls back to psutil. Either way the sampler owns all sampling state (previous CPU
ticks, the uid → name cache, one-time fields of known processes) and must be called from one
thread only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import resource
import sys
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import psutil

from toptui.model import ProcKey, ProcSample, Snapshot
from toptui.sampling import procfs
from toptui.sampling.extras import ExtrasReader
from toptui.sampling.program import program_of
from toptui.sampling.system import SystemReader

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# While the machine has swap in use, each process's VmSwap is read every this many sweeps.
SWAP_EVERY = 5
# Each process's /proc/PID/stat stays open between sweeps and is re-read with pread: opening it
# again (the path walk and the pid lookup) costs the kernel as much as generating the text. Up to
# this many are held (one per process: about twice as many processes as a busy server has)...
MAX_HELD_FDS = 32768
# ...and this many descriptors below the soft limit are left for everything else (the terminal,
# the settings file, serve's sockets, a recording, the extras' reads).
FD_RESERVE = 256


def _held_fd_budget() -> int:
    """How many stat files the sweep may keep open: raises the soft RLIMIT_NOFILE towards the
    hard one if need be (as many servers do), and never takes the descriptors others need."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = MAX_HELD_FDS + FD_RESERVE
        if soft != resource.RLIM_INFINITY and soft < want:
            new = want if hard == resource.RLIM_INFINITY else min(hard, want)
            if new > soft:
                resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
                soft = new
    except (OSError, ValueError):
        return 0
    limit = want if soft == resource.RLIM_INFINITY else soft
    return max(0, min(MAX_HELD_FDS, limit - FD_RESERVE))


def _close_all(fds: dict[str, int]) -> None:
    """Close every held stat file (the sampler is gone, or asked to let go)."""
    for fd in fds.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    fds.clear()


@dataclass(slots=True)
class _Known:
    """One process identity: what is read once (htop's 'one-time work only for new processes'),
    plus the raw files and the sample of the last sweep, so an unchanged process costs two reads
    and two comparisons instead of parsing and building a new row."""

    key: ProcKey
    user: str
    command: str
    prev_ticks: int
    create_time: float
    stat_path: str
    statm_path: str
    stat: bytes = b""
    statm: bytes = b""
    sample: ProcSample | None = None
    idle: ProcSample | None = None  # the sample, when it showed no CPU use: reusable as it is
    swap: int = 0  # VmSwap as last read (bytes)
    program: str = (
        ""  # what an interpreter runs (toptui.sampling.program), "" for any other process
    )
    comm: str = ""  # the name command and program were read for: another means an exec


def _name_program(info: _Known, comm: str) -> None:
    """What COMMAND shows for an interpreter (``python3 leaker.py``), read off its command line."""
    shown = program_of(comm, info.command)
    info.program = shown if shown != comm else ""
    info.comm = comm


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

    live = True  # snapshots of this machine now (the monitor's Source protocol)

    def __init__(self, pids: Iterable[int] | None = None, clock: Callable[[], float] | None = None):
        self._only = frozenset(pids) if pids else None
        self._clock = clock or time.monotonic
        self._known: dict[ProcKey, _Known] = {}  # psutil fallback
        self._by_pid: dict[str, _Known] = {}  # /proc: by the directory name, checked by start time
        # With -p, read just those directories: no listing of /proc at all.
        self._only_names = [str(p) for p in sorted(self._only)] if self._only else None
        self._pid_names = procfs.PidNames()  # the listing of /proc, kept while no pid is new
        self._mem_total = 0.0
        self._users = _UserNames()
        self._extras = ExtrasReader()
        self._system = SystemReader()
        self._last_t: float | None = None
        self._linux = sys.platform.startswith("linux") and os.path.isdir("/proc/self")
        self._boot = procfs.boot_time() if self._linux else psutil.boot_time()
        self._swap_in_use = False  # any swap used at the last sweep: then VmSwap is read
        self._sweeps = 0
        # /proc directory name -> its stat file, kept open (see MAX_HELD_FDS); closed when the
        # process is gone from a sweep, and all of them when the sampler is collected.
        self._fds: dict[str, int] = {}
        self._fd_budget = _held_fd_budget() if self._linux else 0
        self._finalizer = weakref.finalize(self, _close_all, self._fds)

    def close(self) -> None:
        """Let go of the held /proc files now (they are also closed when the sampler is freed)."""
        self._finalizer()

    # Identities whose PSS/USS/swap/I/O to read (the rows on screen when those columns are
    # shown). The UI thread replaces the whole frozenset; the sampler thread only reads it.
    extras_for: frozenset[ProcKey] = frozenset()

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
        wanted = self.extras_for
        if wanted:
            procs = [
                replace(p, extras=self._extras.read(p.key, t_mono)) if p.key in wanted else p
                for p in procs
            ]
            self._extras.forget_except(set(wanted))
        system = self._system.read([p.state for p in procs])
        self._swap_in_use = system.memory.swap_used > 0
        self._sweeps += 1
        return Snapshot(t_mono, time.time(), interval, system, tuple(procs))

    # -- Linux: /proc directly ---------------------------------------------------------------

    def _sweep_proc(self, interval: float, first: bool, mem_total: float) -> list[ProcSample]:
        """Read stat and statm of every process, skipping what cannot have changed.

        A sleeping process's ``stat`` is byte-for-byte the same from tick to tick: nothing in it
        moved (CPU ticks, page faults, state, last CPU, RSS, VIRT). Then its row is last sweep's
        as long as that row showed no CPU use, and comparing bytes is far cheaper than parsing
        and building a ProcSample. Its ``statm`` is not read again either: ``stat`` holds VIRT
        (vsize) and RES (rss) themselves, and SHR (file + shmem pages) cannot move without RES
        moving too, except by an anonymous page appearing in the same interval without a page
        fault of its own, exactly offsetting it. That halves the kernel work for idle processes
        (the reads cost more than all the Python here). Everything else is read and parsed
        afresh, so the figures are the files'. Each ``stat`` stays open from sweep to sweep and
        is re-read in place (pread), which saves the kernel its path walk: about a third of it.
        The listing of /proc itself is kept while no pid was handed out (procfs.PidNames).
        """
        if mem_total != self._mem_total:  # %MEM of every cached row would be stale
            self._mem_total = mem_total
            for info in self._by_pid.values():
                info.sample = info.idle = None
        by_pid = self._by_pid
        seen: dict[str, _Known] = {}
        out: list[ProcSample] = []
        append = out.append
        os_open, os_read, os_pread, os_close = os.open, os.read, os.pread, os.close
        rdonly = os.O_RDONLY
        fds = self._fds
        held_fd, by_pid_get = fds.get, by_pid.get
        room = self._fd_budget - len(fds)
        names = self._only_names if self._only_names is not None else self._pid_names()
        gone: list[str] = []  # entries whose stat file is no longer there
        for name in names:
            # Inlined procfs.read_raw: this loop runs for every process on every tick, and the
            # common case (a held stat file, bytes as last time) comes first, with nothing else.
            data = None
            fd = held_fd(name)
            info = by_pid_get(name)
            if fd is not None:
                try:
                    data = os_pread(fd, 2048, 0)
                except OSError:
                    # The process is gone (ESRCH), maybe replaced by another with its pid: the
                    # open file stays the old one's, so look the path up afresh.
                    del fds[name]
                    os_close(fd)
                    room += 1
                else:
                    if info is not None and data == info.stat:  # nothing moved (see above)
                        prev = info.idle
                        if prev is not None:
                            seen[name] = info
                            append(prev)  # frozen, so sharing last sweep's row is safe
                            continue
            if info is None:
                stat_path = f"/proc/{name}/stat"
                statm_path = stat_path + "m"
            else:
                stat_path, statm_path = info.stat_path, info.statm_path
            if data is None:
                try:
                    fd = os_open(stat_path, rdonly)
                except OSError as exc:
                    if exc.errno in _GONE:
                        gone.append(name)
                    continue  # gone (or never there)
                try:
                    data = os_read(fd, 2048)
                except OSError:
                    os_close(fd)
                    continue
                if room > 0:
                    fds[name] = fd
                    room -= 1
                else:
                    os_close(fd)
            if info is not None and data == info.stat:
                if info.idle is not None:  # not held (past the budget), or just reopened
                    seen[name] = info
                    append(info.idle)
                    continue
                mdata = info.statm  # a row that showed CPU use: parsed again, for 0%
            else:
                try:
                    fd = os_open(statm_path, rdonly)
                except OSError:
                    continue
                try:
                    mdata = os_read(fd, 512)
                except OSError:
                    continue
                finally:
                    os_close(fd)
            try:
                sample, info = self._parse(name, info, data, mdata, interval, first, mem_total)
            except (ValueError, IndexError):
                continue  # half-written or unreadable: not half a row
            seen[name] = info
            append(sample)
        for name in fds.keys() - seen.keys():  # gone, or unreadable this sweep: let go
            os_close(fds.pop(name))
        self._by_pid = seen  # sweep: identities not seen this tick are forgotten
        if self._only_names is None:
            self._pid_names.drop(gone)
        return out

    def _parse(
        self,
        name: str,
        info: _Known | None,
        data: bytes,
        mdata: bytes,
        interval: float,
        first: bool,
        mem_total: float,
    ) -> tuple[ProcSample, _Known]:
        comm, rest = procfs.stat_fields(data)
        starttime = int(rest[procfs.STARTTIME])
        ticks = int(rest[procfs.UTIME]) + int(rest[procfs.STIME])
        pid = int(name)
        if info is None or info.key[1] != starttime:  # new, or a reused pid: a new identity
            kthread = bool(int(rest[procfs.FLAGS]) & procfs.PF_KTHREAD)
            info = self._first_sight(pid, starttime, f"/proc/{name}/", kthread)
            _name_program(info, comm)
            # A process born during the interval ran all its ticks within it (as top counts).
            info.prev_ticks = ticks if first else 0
        elif comm != info.comm:
            # exec keeps the pid and start time (`bash run.sh` ending in `exec node server.js`):
            # the same identity, with a new command line and program.
            if info.command:  # a kernel thread has none
                info.command = procfs.read_cmdline(pid)
            _name_program(info, comm)
        cpu = 0.0
        if interval > 0:
            cpu = max(0.0, (ticks - info.prev_ticks) / CLK_TCK / interval * 100.0)
        info.prev_ticks = ticks
        size, resident, shared = procfs.parse_statm(mdata)
        res = resident * PAGE_SIZE
        if not self._swap_in_use:
            info.swap = 0
        elif (pid + self._sweeps) % SWAP_EVERY == 0 or info.sample is None:
            # Swap moves slowly and status costs more to read than stat: each process in turn.
            info.swap = procfs.read_vmswap(pid) or 0
        state = rest[procfs.STATE]
        sample = ProcSample(
            key=info.key,
            pid=pid,
            ppid=int(rest[procfs.PPID]),
            user=info.user,
            name=comm,
            command=info.command or f"[{comm}]",
            state=_STATES.get(state) or state.decode("ascii", "replace"),
            priority=int(rest[procfs.PRIORITY]),
            nice=int(rest[procfs.NICE]),
            threads=int(rest[procfs.THREADS]),
            virt=size * PAGE_SIZE,
            res=res,
            shr=shared * PAGE_SIZE,
            cpu_percent=cpu,
            mem_percent=100.0 * res / mem_total,
            cpu_time=ticks / CLK_TCK,
            create_time=info.create_time,
            swap=info.swap,
            program=info.program,
        )
        info.stat, info.statm, info.sample = data, mdata, sample
        info.idle = sample if cpu == 0.0 else None
        return sample, info

    def _first_sight(self, pid: int, starttime: int, base: str, kthread: bool) -> _Known:
        """USER and the command line, read once per identity.

        USER is the owner of the /proc/PID directory, exactly as top gets it: the kernel keeps
        that the effective uid (even for a non-dumpable process, whose files are root's) for
        this very purpose, and one stat(2) is much cheaper than generating ``status``. A kernel
        thread has no command line, so it is not read.
        """
        try:
            uid: int | None = os.stat(base).st_uid
        except OSError:
            uid = None
        return _Known(
            key=(pid, starttime),
            user=self._users(uid),
            command="" if kthread else procfs.read_cmdline(pid),
            prev_ticks=0,
            create_time=self._boot + starttime / CLK_TCK,
            stat_path=base + "stat",
            statm_path=base + "statm",
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


# A stat file that cannot be opened for these reasons is of a process that is no more.
_GONE = frozenset((errno.ENOENT, errno.ESRCH))

# One str object per state letter instead of one decode per process and tick.
_STATES = {s.encode(): s for s in "RSDZTtWXxKPI"}

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

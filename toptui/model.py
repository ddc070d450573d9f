"""The values that flow from sampling to the views: plain frozen data, no behaviour.

Everything here is immutable so a snapshot built in the sampler thread can be handed to the UI
thread without copying or locking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from toptui.mapping_model import ProcKinds

# A process's identity: pid plus its start time in clock ticks since boot (field 22 of
# /proc/PID/stat). A reused pid has a different start time, so it never inherits history.
ProcKey = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Extras:
    """Costlier figures, read only for the rows on screen when their columns are shown.

    None means "could not be read" (another user's process): shown as ``?``, never as 0.
    """

    pss: int | None = None  # proportional set size (smaps_rollup), bytes
    uss: int | None = None  # unique set size: Private_Clean + Private_Dirty, bytes
    swap: int | None = None  # swapped-out anonymous memory, bytes
    read_rate: float | None = None  # storage bytes read per second (/proc/PID/io), None at first
    write_rate: float | None = None


@dataclass(frozen=True, slots=True)
class ProcSample:
    """One process as seen in one sweep, in top's own units (bytes, seconds, percent)."""

    key: ProcKey
    pid: int
    ppid: int
    user: str
    name: str
    command: str
    state: str
    priority: int  # kernel priority (stat field 18): 20 + nice, or -2..-100 for real-time
    nice: int
    threads: int
    virt: int
    res: int
    shr: int
    cpu_percent: float
    mem_percent: float
    cpu_time: float
    create_time: float  # epoch seconds
    extras: Extras | None = None
    # Bytes of this process in swap (VmSwap), read only while the machine has swap in use and then
    # at most every few ticks per process; 0 otherwise. The detector judges RES plus this, so a
    # leak pushed out to swap stays a leak.
    swap: int = 0
    # For an interpreter, the program it runs (``python3 leaker.py``, see toptui.sampling.program),
    # as htop names it; "" when it is the name itself.
    program: str = ""

    @property
    def shown_name(self) -> str:
        """COMMAND as toptui shows it: the program for an interpreter, else top's name."""
        return self.program or self.name

    @property
    def judged_bytes(self) -> int:
        """What the leak detector judges: resident memory plus what was pushed to swap."""
        return self.res + self.swap

    @property
    def pr_text(self) -> str:
        """top shows the highest real-time priority (-100) as "rt"."""
        return "rt" if self.priority <= -100 else str(self.priority)


@dataclass(frozen=True, slots=True)
class CpuStates:
    """Percentages of all CPUs' time in each state over the last interval, as top's %Cpu(s) line."""

    us: float = 0.0
    sy: float = 0.0
    ni: float = 0.0
    id: float = 100.0
    wa: float = 0.0
    hi: float = 0.0
    si: float = 0.0
    st: float = 0.0


@dataclass(frozen=True, slots=True)
class MemoryStats:
    """System memory in bytes, with top's definitions (procps-ng 4: used = total - available)."""

    total: int
    free: int
    available: int
    buffers: int
    cached: int  # Cached + SReclaimable, as top's buff/cache counts it
    swap_total: int
    swap_free: int

    @property
    def used(self) -> int:
        return max(0, self.total - self.available)

    @property
    def buff_cache(self) -> int:
        return self.buffers + self.cached

    @property
    def swap_used(self) -> int:
        return max(0, self.swap_total - self.swap_free)


@dataclass(frozen=True, slots=True)
class TaskCounts:
    total: int = 0
    running: int = 0
    sleeping: int = 0
    stopped: int = 0
    zombie: int = 0


@dataclass(frozen=True, slots=True)
class SystemStats:
    uptime_s: float
    load: tuple[float, float, float]
    users: int
    cpu: CpuStates
    memory: MemoryStats
    tasks: TaskCounts
    # From a recording, which keeps no system figures: uptime, load, users, CPU states and task
    # states are unknown (not zero), and the memory is this machine's (for time-to-OOM).
    recorded: bool = False
    # Each CPU's states over the same interval, for top's 1 key (empty when unknown).
    per_cpu: tuple[CpuStates, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One sweep of the whole machine, stamped when it was taken."""

    t_mono: float
    t_wall: float
    interval_s: float  # measured time since the previous sweep (0.0 for the first)
    system: SystemStats
    procs: tuple[ProcSample, ...] = field(default_factory=tuple)
    # Memory by kind read this tick, per process where read (the monitor adds it, a recording
    # keeps it: format 4); None when nothing was. Not compared: a snapshot is its sweep.
    kinds: Mapping[ProcKey, ProcKinds] | None = field(default=None, compare=False)

"""The frozen values of issue 17's breakdown of resident memory by kind (which memory grows).

They flow from sampling (``sampling/smaps.py``) through the store (``store/kinds.py``) to the pure
analysis (``analysis/memory_kinds.py``) and the views, so they live beside ``model.py``, below
every layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

# The kinds, in the order every per-kind tuple holds them.
HEAP, ANON, FILE_PRIVATE, FILE_SHARED, SHMEM, STACK, OTHER = range(7)
KINDS = ("heap", "anon", "file_private", "file_shared", "shmem", "stack", "other")
# What each kind is, in the words the detail view uses.
KIND_LABELS = (
    "heap",
    "anonymous private",
    "file-backed private",
    "file-backed shared",
    "shmem/tmpfs/SysV",
    "stacks",
    "other",
)


class Mapping(NamedTuple):
    """One mapping of /proc/PID/smaps: its address range, what maps it, its kind and its Rss.
    A named tuple: a large process has thousands, made on every read."""

    start: int
    end: int
    label: str  # the path, a [name] such as [heap], or "[anon]"
    kind: int  # an index into KINDS
    rss: int  # bytes


@dataclass(frozen=True, slots=True)
class SmapsReading:
    """Resident bytes by kind from one read of /proc/PID/smaps, or of maps and numa_maps (the
    same figures at a third of the cost: see ``sampling/smaps.py``).

    ``kinds`` is None when nothing could be read (``reason`` says why); with a ``reason`` and
    ``kinds`` it is partial: what could be read is in it, and the reason says what is left out.
    """

    t: float  # monotonic seconds, as Snapshot.t_mono
    kinds: tuple[int, ...] | None  # bytes, in KINDS order
    mappings: tuple[Mapping, ...] = ()
    thread_stacks: int = 0  # mappings told apart as thread stacks (see sampling/smaps.py)
    reason: str = ""  # why the breakdown is partial or absent; "" when whole
    denied: bool = False  # the kernel refused the read (another user's process)
    source: str = "smaps"  # the /proc/PID files it was read from: "smaps" or "maps+numa_maps"


@dataclass(frozen=True, slots=True)
class CoarseSplit:
    """RssAnon, RssFile, RssShmem and VmSwap of /proc/PID/status, bytes: readable for every
    process, even another user's, and cheap, but with no heap, stacks or mappings."""

    t: float
    anon: int
    file: int
    shmem: int
    swap: int


class ProcKinds(NamedTuple):
    """What was read of one process's memory by kind in one tick, for a recording (format 4):
    RssAnon, RssFile and RssShmem of its coarse split, and its smaps' bytes in KINDS order; each
    None when not read that tick (or, for smaps, not read whole)."""

    coarse: tuple[int, int, int] | None = None
    kinds: tuple[int, ...] | None = None

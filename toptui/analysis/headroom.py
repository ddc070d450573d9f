"""How much memory a process can still take before it runs out: the room under its cgroup's
limit when one applies and is tighter than the machine's MemAvailable, else MemAvailable.

Pure: the caller reads MemAvailable (``/proc/meminfo``) and the cgroup's room
(``toptui.sampling.cgroup``); this only chooses, so the screen, batch mode and the exporter
reckon the time to OOM alike and can say against what.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

CGROUP_LIMIT = "cgroup limit"
MEM_AVAILABLE = "MemAvailable"
HeadroomSource = Literal["cgroup limit", "MemAvailable"]


@dataclass(frozen=True, slots=True)
class Headroom:
    """The memory left, and which limit it is counted against (for the words beside it)."""

    bytes: float
    source: HeadroomSource
    limit_bytes: int | None = None  # the cgroup's limit, when that is what counts

    @property
    def from_cgroup(self) -> bool:
        return self.source == CGROUP_LIMIT


def choose_headroom(
    available_bytes: float, cgroup_room_bytes: float | None, cgroup_limit_bytes: int | None = None
) -> Headroom:
    """The cgroup's room when there is one below MemAvailable (a leak is killed there first);
    else MemAvailable. A tie goes to MemAvailable: the machine's figure needs no explaining."""
    available = max(0.0, float(available_bytes))
    if (
        cgroup_room_bytes is not None
        and math.isfinite(cgroup_room_bytes)
        and cgroup_room_bytes < available
    ):
        return Headroom(max(0.0, float(cgroup_room_bytes)), CGROUP_LIMIT, cgroup_limit_bytes)
    return Headroom(available, MEM_AVAILABLE)

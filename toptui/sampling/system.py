"""Machine-wide figures for top's summary area: uptime, load, CPU states, memory and swap.

psutil reads these portably; CPU states are turned into percentages from deltas between two
calls, exactly as top does, so the first call reports an idle machine.
"""

from __future__ import annotations

import os
import time

import psutil

from toptui.model import CpuStates, MemoryStats, SystemStats, TaskCounts

_CPU_FIELDS = ("user", "system", "nice", "idle", "iowait", "irq", "softirq", "steal")


def read_memory() -> MemoryStats:
    vm = psutil.virtual_memory()
    sw = psutil.swap_memory()
    return MemoryStats(
        total=int(vm.total),
        free=int(vm.free),
        available=int(vm.available),
        buffers=int(getattr(vm, "buffers", 0)),
        # psutil's cached already adds SReclaimable on Linux, which is what top's buff/cache shows.
        cached=int(getattr(vm, "cached", 0)),
        swap_total=int(sw.total),
        swap_free=int(sw.free),
    )


def count_tasks(states: list[str]) -> TaskCounts:
    """top's Tasks line: R running, T/t stopped, Z zombie, everything else (S, D, I) sleeping."""
    running = stopped = zombie = 0
    for s in states:
        if s == "R":
            running += 1
        elif s in ("T", "t"):
            stopped += 1
        elif s == "Z":
            zombie += 1
    total = len(states)
    return TaskCounts(total, running, total - running - stopped - zombie, stopped, zombie)


def _states(before: dict[str, float], now: dict[str, float]) -> CpuStates:
    """Percentages of the time between two readings, as top computes its %Cpu lines."""
    delta = {f: max(0.0, now[f] - before[f]) for f in _CPU_FIELDS}
    total = sum(delta.values())
    if total <= 0:
        return CpuStates()

    def pct(f: str) -> float:
        return 100.0 * delta[f] / total

    return CpuStates(
        us=pct("user"),
        sy=pct("system"),
        ni=pct("nice"),
        id=pct("idle"),
        wa=pct("iowait"),
        hi=pct("irq"),
        si=pct("softirq"),
        st=pct("steal"),
    )


def _times(ct: object) -> dict[str, float]:
    return {f: float(getattr(ct, f, 0.0)) for f in _CPU_FIELDS}


class SystemReader:
    """Keeps the previous CPU times so each call reports the states over the last interval."""

    def __init__(self) -> None:
        self._prev = _times(psutil.cpu_times())
        self._prev_each = [_times(ct) for ct in psutil.cpu_times(percpu=True)]
        self._boot = psutil.boot_time()

    def cpu_states(self) -> CpuStates:
        now = _times(psutil.cpu_times())
        states = _states(self._prev, now)
        self._prev = now
        return states

    def per_cpu_states(self) -> tuple[CpuStates, ...]:
        now = [_times(ct) for ct in psutil.cpu_times(percpu=True)]
        before = self._prev_each
        self._prev_each = now
        if len(before) != len(now):  # a CPU came or went: no interval to compare yet
            return tuple(CpuStates() for _ in now)
        return tuple(_states(b, n) for b, n in zip(before, now, strict=True))

    def read(self, states: list[str]) -> SystemStats:
        try:
            load = os.getloadavg()
        except OSError:
            load = (0.0, 0.0, 0.0)
        try:
            users = len(psutil.users())  # top counts sessions, not distinct names
        except Exception:  # utmp can be missing or unreadable in containers
            users = 0
        return SystemStats(
            uptime_s=max(0.0, time.time() - self._boot),
            load=(float(load[0]), float(load[1]), float(load[2])),
            users=users,
            cpu=self.cpu_states(),
            memory=read_memory(),
            tasks=count_tasks(states),
            per_cpu=self.per_cpu_states(),
        )

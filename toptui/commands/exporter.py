"""Prometheus metrics of the monitor's frames, for ``toptui serve``.

A :class:`FrameCollector` is a prometheus-client collector: the sampling thread hands it each
:class:`~toptui.engine.monitor.Frame` (:meth:`FrameCollector.publish`), and every scrape builds
fresh metric families from the latest one (``collect``). The exposition format is
prometheus-client's; nothing here writes it by hand, opens a socket or starts a thread. No Textual.

Which processes get series (:class:`Selection`): at most ``top`` by resident memory, plus every
process flagged as a leak, among those ``-u``, ``--include`` and ``--exclude`` let through. Each
process's labels (pid, name, program, user) are taken when it is first exported and kept for the
rest of its life (by pid and start time), so a series never changes labels during a process's
life, even when it drops out of the top N and comes back renamed; the verdict is a value (a 0/1
gauge and a numeric state gauge), never a label.

The time until memory runs out is reckoned against the room under the process's cgroup memory
limit where one applies and is tighter than MemAvailable (``toptui.analysis.headroom``); the
cgroups are read (``toptui.sampling.cgroup``) once per sample that is scraped, for the exported
processes only, one walk per distinct cgroup.
"""

from __future__ import annotations

import heapq
import platform
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

from toptui import __version__
from toptui.analysis.growth import GrowthVerdict, exhaustion_seconds
from toptui.analysis.headroom import Headroom, choose_headroom
from toptui.engine.monitor import Frame
from toptui.model import ProcKey, ProcSample
from toptui.sampling.cgroup import CgroupReader

DEFAULT_TOP = 50
LABELS = ("pid", "name", "program", "user")
Labels = tuple[str, str, str, str]  # their values, in that order
# toptui_process_verdict_state: the shown verdict as a number (README, "Service and Prometheus").
STATE_NUMBER = {"collecting": 0, "no_leak": 1, "rising": 2, "leak": 3}


@dataclass(frozen=True, slots=True)
class Selection:
    """Which processes are exported: ``-u``, ``--include`` / ``--exclude`` (regular expressions
    searched in the name, the program and the user), then the ``top`` largest by RES plus every
    leak."""

    top: int = DEFAULT_TOP
    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    user: str | None = None

    def wants(self, p: ProcSample) -> bool:
        if self.user is not None and p.user != self.user:
            return False
        fields = (p.name, p.shown_name, p.user)
        if self.include and not any(r.search(f) for r in self.include for f in fields):
            return False
        return not any(r.search(f) for r in self.exclude for f in fields)

    @property
    def filters(self) -> bool:
        """Whether ``-u``, ``--include`` or ``--exclude`` leave any process out."""
        return self.user is not None or bool(self.include) or bool(self.exclude)


def _top_key(p: ProcSample) -> tuple[int, int]:
    return p.res, -p.pid  # the lower pid first among equals: the same rows scrape after scrape


def exported(frame: Frame, selection: Selection) -> list[ProcSample]:
    """The processes of ``frame`` that get series: the ``top`` largest by RES (a process holding
    no memory, a kernel thread, is not one of them), then every other leak, fastest first.

    Run at each scrape of a new sample over every process (2000 and more), so it walks them
    once and looks at the verdicts only for the leaks (few)."""
    verdicts = frame.verdicts
    procs = frame.snapshot.procs
    if selection.filters:
        wants = selection.wants
        procs = tuple(p for p in procs if wants(p))
    top = heapq.nlargest(selection.top, (p for p in procs if p.res > 0 and p.state != "Z"),
                         key=_top_key)  # fmt: skip
    leaking = {k for k, v in verdicts.items() if v.verdict == "leak"}
    if not leaking:
        return top
    leaking.difference_update(p.key for p in top)
    leaks = [p for p in procs if p.key in leaking and p.state != "Z"]
    leaks.sort(key=lambda p: verdicts[p.key].rate_bytes_per_s, reverse=True)
    return top + leaks


def _is_leak(v: GrowthVerdict | None) -> bool:
    return v is not None and v.verdict == "leak"


def _label_text(text: str) -> str:
    """A label value prometheus-client can encode (it escapes quotes, backslashes, newlines)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _labels_of(p: ProcSample) -> Labels:
    """pid, name, program and user, in the order of LABELS."""
    return (str(p.pid), _label_text(p.name), _label_text(p.shown_name), _label_text(p.user))


@dataclass(frozen=True, slots=True)
class _Published:
    frame: Frame
    duration_s: float  # how long the sample (and its judgements) took
    samples: int  # frames published so far
    at: float  # epoch seconds of the sample


@dataclass(frozen=True, slots=True)
class _Chosen:
    """What one tick's scrapes share: the exported rows, their labels and their headroom."""

    rows: list[ProcSample]
    labels: list[Labels]
    headroom: list[Headroom]


class FrameCollector:
    """Builds every metric from the latest published frame, at each scrape.

    ``cgroups`` reads cgroup memory limits for the time-to-OOM of live processes; without it
    (a replay, a test's synthetic frames) MemAvailable is the only limit."""

    def __init__(
        self,
        selection: Selection | None = None,
        interval_s: float | None = None,
        cgroups: CgroupReader | None = None,
    ) -> None:
        self.selection = selection or Selection()
        self.interval_s = interval_s
        self.cgroups = cgroups
        self._latest: _Published | None = None  # replaced whole by the sampling thread
        self._samples = 0
        self._lock = threading.Lock()  # scrapes may overlap; the cache below is shared
        self._chosen_for: int | None = None  # the tick self._chosen_rows was made for
        self._chosen_rows = _Chosen([], [], [])
        self._labels: dict[ProcKey, Labels] = {}  # pinned for each identity's life

    def publish(self, frame: Frame, duration_s: float) -> None:
        """Called by the sampling thread after each step; scrapes see it from then on."""
        self._samples += 1
        self._latest = _Published(frame, duration_s, self._samples, frame.snapshot.t_wall)

    def _chosen(self, frame: Frame) -> _Chosen:
        """The exported rows of ``frame``, their labels (pinned per identity for its life) and
        the memory each can still take."""
        with self._lock:
            if self._chosen_for != frame.tick:
                rows = exported(frame, self.selection)
                live = {p.key for p in frame.snapshot.procs}
                pinned = {k: v for k, v in self._labels.items() if k in live}  # the gone go
                for p in rows:
                    if p.key not in pinned:
                        pinned[p.key] = _labels_of(p)
                self._labels = pinned
                self._chosen_rows = _Chosen(rows, [pinned[p.key] for p in rows],
                                            self._headroom(frame, rows))  # fmt: skip
                self._chosen_for = frame.tick
            return self._chosen_rows

    def _headroom(self, frame: Frame, rows: Sequence[ProcSample]) -> list[Headroom]:
        available = float(frame.snapshot.system.memory.available)
        if self.cgroups is None or not self.cgroups.mounts:
            return [choose_headroom(available, None)] * len(rows)
        reader = self.cgroups
        by_paths: dict[tuple[tuple[int, str], ...], Headroom] = {}
        out = []
        for p in rows:
            paths = reader.paths(p.pid)
            key = tuple(sorted(paths.items()))
            room = by_paths.get(key)
            if room is None:
                limit = reader.memory_of(paths)
                room = by_paths[key] = (
                    choose_headroom(available, None)
                    if limit is None
                    else choose_headroom(available, limit.room_bytes, limit.limit_bytes)
                )
            out.append(room)
        return out

    def collect(self) -> Iterator[Metric]:
        yield InfoMetricFamily(
            "toptui_build",
            "toptui's version and the Python it runs on",
            value={"version": __version__, "python": platform.python_version()},
        )
        if self.interval_s is not None:
            yield GaugeMetricFamily(
                "toptui_sampling_interval_seconds",
                "The sampling interval (-d)",
                value=self.interval_s,
            )
        latest = self._latest
        yield CounterMetricFamily("toptui_samples", "Samples taken since toptui started",
                                  value=latest.samples if latest else 0)  # fmt: skip
        if latest is None:
            return
        frame = latest.frame
        yield GaugeMetricFamily(
            "toptui_sample_duration_seconds",
            "How long the last sample took: reading every process and judging those due",
            value=latest.duration_s,
        )
        yield GaugeMetricFamily(
            "toptui_last_sample_timestamp_seconds",
            "When the last sample was taken (Unix time)",
            value=latest.at,
        )
        yield GaugeMetricFamily("toptui_processes", "Processes seen in the last sample",
                                value=len(frame.snapshot.procs))  # fmt: skip
        yield from _machine(frame)
        chosen = self._chosen(frame)
        yield GaugeMetricFamily(
            "toptui_exported_processes",
            "Processes with toptui_process_* series: at most --top by RES, plus every leak",
            value=len(chosen.rows),
        )
        yield from _processes(frame, chosen)


def _machine(frame: Frame) -> Iterator[Metric]:
    m = frame.snapshot.system.memory
    for name, help_, value in (
        ("toptui_memory_total_bytes", "Memory of the machine (MemTotal)", m.total),
        ("toptui_memory_available_bytes", "Memory available for new work (MemAvailable)",
         m.available),
        ("toptui_memory_free_bytes", "Memory unused (MemFree)", m.free),
        ("toptui_swap_total_bytes", "Swap space (SwapTotal)", m.swap_total),
        ("toptui_swap_free_bytes", "Swap space unused (SwapFree)", m.swap_free),
    ):  # fmt: skip
        yield GaugeMetricFamily(name, help_, value=value)


# Per-process gauges: (name, help), in the order they are exposed.
PROCESS_METRICS = (
    ("toptui_process_resident_memory_bytes", "Resident memory (RES, from /proc/PID/statm, as top)"),
    ("toptui_process_shared_memory_bytes", "Shared resident memory (SHR: RssFile + RssShmem)"),
    ("toptui_process_virtual_memory_bytes", "Virtual memory size (VIRT, as top)"),
    ("toptui_process_swap_bytes", "Memory in swap (VmSwap, read while swap is in use; else 0)"),
    ("toptui_process_start_time_seconds", "When the process started (Unix time)"),
    ("toptui_process_growth_bytes_per_second",
     "Growth rate of the memory floor (RES plus swap) by the leak detector"),
    ("toptui_process_leak", "1 while the leak detector flags the process as a leak, else 0"),
    ("toptui_process_verdict_state",
     "The shown verdict: 0 collecting, 1 no_leak, 2 rising, 3 leak"),
    ("toptui_process_memory_headroom_bytes",
     "Memory the process can still take before it runs out: the room under its cgroup's memory "
     "limit when that is below MemAvailable, else MemAvailable"),
    ("toptui_process_memory_headroom_cgroup",
     "1 when the headroom is the room under the process's cgroup memory limit, 0 when it is "
     "MemAvailable"),
    ("toptui_process_memory_exhaustion_seconds",
     "Seconds until the headroom is used up at a leak's rate (leaks only)"),
)  # fmt: skip


def _processes(frame: Frame, chosen: _Chosen) -> Iterator[Metric]:
    families = [GaugeMetricFamily(name, help_, labels=LABELS) for name, help_ in PROCESS_METRICS]
    resident, shared, virtual, swap, start, rate, leak, state, room, by_cgroup, eta = families
    verdicts = frame.verdicts
    for p, lv, headroom in zip(chosen.rows, chosen.labels, chosen.headroom, strict=True):
        v = verdicts.get(p.key)
        resident.add_metric(lv, p.res)
        shared.add_metric(lv, p.shr)
        virtual.add_metric(lv, p.virt)
        swap.add_metric(lv, p.swap)
        start.add_metric(lv, p.create_time)
        leak.add_metric(lv, 1 if _is_leak(v) else 0)
        state.add_metric(lv, STATE_NUMBER.get(v.verdict, 0) if v is not None else 0)
        room.add_metric(lv, headroom.bytes)
        by_cgroup.add_metric(lv, 1 if headroom.from_cgroup else 0)
        if v is None:
            continue
        rate.add_metric(lv, float(v.rate_bytes_per_s))
        seconds = exhaustion_seconds(v, headroom.bytes)
        if seconds is not None:
            eta.add_metric(lv, seconds)
    yield from families

"""Prometheus metrics of the monitor's frames, for ``toptui serve``.

A :class:`FrameCollector` is a prometheus-client collector: the sampling thread hands it each
:class:`~toptui.engine.monitor.Frame` (:meth:`FrameCollector.publish`), and every scrape builds
fresh metric families from the latest one (``collect``). The exposition format is
prometheus-client's; nothing here writes it by hand, opens a socket or starts a thread. No Textual.

Which processes get series (:class:`Selection`): at most ``top`` by resident memory, plus every
process flagged as a leak, among those ``-u``, ``--include`` and ``--exclude`` let through. Each
process's labels (pid, name, program, user) are taken when it is first exported and kept while
it stays exported, so a series never changes labels during a process's life; the verdict is a
value (a 0/1 gauge and a numeric state gauge), never a label.
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
from toptui.engine.monitor import Frame
from toptui.model import ProcKey, ProcSample

DEFAULT_TOP = 50
LABELS = ("pid", "name", "program", "user")
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


def exported(frame: Frame, selection: Selection) -> list[ProcSample]:
    """The processes of ``frame`` that get series: the ``top`` largest by RES (a process holding
    no memory, a kernel thread, is not one of them), then every other leak, fastest first."""
    verdicts = frame.verdicts
    wanted = [p for p in frame.snapshot.procs if p.state != "Z" and selection.wants(p)]
    top = heapq.nlargest(selection.top, (p for p in wanted if p.res > 0),
                         key=lambda p: (p.res, -p.pid))  # fmt: skip
    chosen = {p.key for p in top}
    leaks = [p for p in wanted if p.key not in chosen and _is_leak(verdicts.get(p.key))]
    leaks.sort(key=lambda p: verdicts[p.key].rate_bytes_per_s, reverse=True)
    return top + leaks


def _is_leak(v: GrowthVerdict | None) -> bool:
    return v is not None and v.verdict == "leak"


def _label_text(text: str) -> str:
    """A label value prometheus-client can encode (it escapes quotes, backslashes, newlines)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True, slots=True)
class _Published:
    frame: Frame
    duration_s: float  # how long the sample (and its judgements) took
    samples: int  # frames published so far
    at: float  # epoch seconds of the sample


class FrameCollector:
    """Builds every metric from the latest published frame, at each scrape."""

    def __init__(self, selection: Selection | None = None, interval_s: float | None = None) -> None:
        self.selection = selection or Selection()
        self.interval_s = interval_s
        self._latest: _Published | None = None  # replaced whole by the sampling thread
        self._samples = 0
        self._lock = threading.Lock()  # scrapes may overlap; the cache below is shared
        self._rows_for: int | None = None  # the tick self._rows was chosen for
        self._rows: list[ProcSample] = []
        self._labels: dict[ProcKey, tuple[str, str, str, str]] = {}

    def publish(self, frame: Frame, duration_s: float) -> None:
        """Called by the sampling thread after each step; scrapes see it from then on."""
        self._samples += 1
        self._latest = _Published(frame, duration_s, self._samples, frame.snapshot.t_wall)

    def _chosen(self, frame: Frame) -> tuple[list[ProcSample], list[tuple[str, str, str, str]]]:
        """The exported rows of ``frame`` and their labels (pinned per identity while exported)."""
        with self._lock:
            if self._rows_for != frame.tick:
                self._rows = exported(frame, self.selection)
                self._rows_for = frame.tick
                pinned = self._labels
                kept: dict[ProcKey, tuple[str, str, str, str]] = {}
                for p in self._rows:
                    labels = pinned.get(p.key)
                    if labels is None:
                        labels = (str(p.pid), _label_text(p.name), _label_text(p.shown_name),
                                  _label_text(p.user))  # fmt: skip
                    kept[p.key] = labels
                self._labels = kept  # an identity no longer exported gets labels anew
            labels = self._labels
            return self._rows, [labels[p.key] for p in self._rows]

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
        rows, labels = self._chosen(frame)
        yield GaugeMetricFamily(
            "toptui_exported_processes",
            "Processes with toptui_process_* series: at most --top by RES, plus every leak",
            value=len(rows),
        )
        yield from _processes(frame, rows, labels)


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
    ("toptui_process_memory_exhaustion_seconds",
     "Seconds until available memory runs out at a leak's rate (leaks only)"),
)  # fmt: skip


def _processes(
    frame: Frame, rows: Sequence[ProcSample], labels: Sequence[tuple[str, str, str, str]]
) -> Iterator[Metric]:
    families = [GaugeMetricFamily(name, help_, labels=LABELS) for name, help_ in PROCESS_METRICS]
    resident, shared, virtual, swap, start, rate, leak, state, eta = families
    verdicts = frame.verdicts
    available = float(frame.snapshot.system.memory.available)
    for p, lv in zip(rows, labels, strict=True):
        v = verdicts.get(p.key)
        resident.add_metric(lv, p.res)
        shared.add_metric(lv, p.shr)
        virtual.add_metric(lv, p.virt)
        swap.add_metric(lv, p.swap)
        start.add_metric(lv, p.create_time)
        leak.add_metric(lv, 1 if _is_leak(v) else 0)
        state.add_metric(lv, STATE_NUMBER.get(v.verdict, 0) if v is not None else 0)
        if v is None:
            continue
        rate.add_metric(lv, float(v.rate_bytes_per_s))
        seconds = exhaustion_seconds(v, available)
        if seconds is not None:
            eta.add_metric(lv, seconds)
    yield from families

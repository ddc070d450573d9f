"""Batch mode (``toptui -b``): top's batch output, or one JSON object per iteration, for scripts.

It drives the same Monitor as the screen, so the growth verdicts in the JSON are the screen's.
This module must not import Textual: scripts and cron jobs should not pay for a UI toolkit.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from toptui.analysis.families import FamilyVerdict, named
from toptui.analysis.growth import GrowthVerdict, exhaustion_seconds
from toptui.analysis.memory_kinds import account
from toptui.engine.monitor import Frame, Monitor, SnapshotSink, judge_every_for
from toptui.engine.runner import Runner, Stopper
from toptui.mapping_model import KINDS
from toptui.model import ProcSample
from toptui.render.columns import RowContext, header_line, row_line, sort_rows
from toptui.render.rows import Narrowing
from toptui.render.summary import summary_lines
from toptui.sampling.sampler import Sampler
from toptui.store.history import History
from toptui.store.kinds import KindsHistory


@dataclass(frozen=True, slots=True)
class BatchOptions:
    iterations: int | None = None  # None: until interrupted, like top -b without -n
    delay_s: float = 3.0
    pids: frozenset[int] | None = None
    user: str | None = None
    sort: str = "%CPU"
    descending: bool = True
    fmt: str = "text"
    history_s: float = 3600.0
    per_cpu: bool = False  # -1: a %Cpu line per CPU, as top -1
    families: bool = False  # --families: judge families, and list them in JSON
    mappings: bool = False  # --mappings: the -p processes' resident bytes by kind, in JSON


# A process names itself (comm, argv): a newline, tab or escape sequence in it must not reach the
# terminal, where it would break the line or drive the terminal. top shows such bytes as '?'.
_CONTROL = dict.fromkeys((*range(0x20), *range(0x7F, 0xA0)), "?")


def printable(text: str) -> str:
    """One line of text with every control character (line ends too) shown as '?'."""
    return text if text.isprintable() else text.translate(_CONTROL)


def growth_json(v: GrowthVerdict | None, samples: int, available: float | None = None) -> dict:
    """``samples`` is the history held now; rate and window are those of the latest judgement.

    ``exhaustion_s`` (seconds until available memory runs out at this rate) is added for leaks.
    """
    if v is None:
        return {"verdict": "collecting", "rate_bytes_per_s": 0.0, "samples": samples,
                "window_s": 0.0}  # fmt: skip
    out = {
        "verdict": v.verdict,
        "rate_bytes_per_s": round(float(v.rate_bytes_per_s), 3),
        "samples": samples,
        "window_s": round(float(v.window_s), 3),
    }
    eta = exhaustion_seconds(v, available) if available is not None else None
    if eta is not None:
        out["exhaustion_s"] = round(eta, 1)
    return out


def process_fields(p: ProcSample) -> dict:
    """A process in JSON, all but its growth (which changes every tick with the history)."""
    return {
        "pid": p.pid,
        "ppid": p.ppid,
        "user": p.user,
        "name": p.name,
        "program": p.shown_name,
        "command": p.command,
        "state": p.state,
        "nice": p.nice,
        "threads": p.threads,
        "virt": p.virt,
        "res": p.res,
        "shr": p.shr,
        "cpu_percent": round(p.cpu_percent, 2),
        "mem_percent": round(p.mem_percent, 3),
        "cpu_time": round(p.cpu_time, 2),
        "create_time": round(p.create_time, 2),
    }


def family_json(f: FamilyVerdict) -> dict:
    """A named family in JSON: its head's pid and name, every member's pid (head first), their
    RES summed now, and the family's shown verdict and rate."""
    return {
        "root": f.head[0],
        "name": f.name,
        "members": [k[0] for k in f.members],
        "res": f.res,
        "verdict": f.verdict.verdict,
        "rate_bytes_per_s": round(float(f.verdict.rate_bytes_per_s), 3),
    }


def families_json(frame: Frame, procs: list[ProcSample]) -> list[dict]:
    """What family mode names in this frame among families headed by ``procs`` (the rows shown:
    ``-u`` narrows them as on the screen): leaks, and rising families apart from them. Empty
    when families are not judged."""
    if frame.families is None:
        return []
    heads = {p.key for p in procs}
    return [family_json(f) for f in named(frame.families, heads.__contains__, rising=True)]


# The growth of a process not judged yet, around its sample count.
_COLLECTING_PARTS = (
    '{"verdict":"collecting","rate_bytes_per_s":0.0,"samples":',
    ',"window_s":0.0}',
)


# A kept row: the row and verdict it was written for, the text of its fields, and the text of
# the whole row before and after its sample count (after is None: the growth is written anew).
_Kept = tuple[ProcSample, GrowthVerdict | None, str, str, str | None]


class JsonFrames:
    """Frames as JSON lines (one object per frame), for one output.

    The sampler hands back the very same row object for a process that did not move since the
    last tick, and the monitor the very same verdict object until it judges the process anew.
    For such a pair the text of the whole row is kept from one frame to the next, cut around the
    sample count (the one figure in it that moves with every tick): a frame of 2000 mostly idle
    processes is then one look-up and one small format per row. Only the latest frame's rows
    are kept.
    """

    _SEPARATORS = (",", ":")

    def __init__(self, ensure_ascii: bool = False) -> None:
        self.ensure_ascii = ensure_ascii  # for an output that cannot take UTF-8 (still JSON)
        self._rows: dict[int, _Kept] = {}  # by id of the row object (kept, to check it)
        # --mappings: each process's resident bytes by kind, when read (see mappings_json).
        self.kinds: KindsHistory | None = None

    def _dumps(self, obj: object) -> str:
        return json.dumps(obj, separators=self._SEPARATORS, ensure_ascii=self.ensure_ascii)

    @staticmethod
    def _growth_parts(v: GrowthVerdict | None) -> tuple[str, str] | None:
        """growth_json's text before and after the sample count, or None when it must be
        written whole each frame (a leak's exhaustion_s moves with the available memory)."""
        if v is None:
            return _COLLECTING_PARTS
        if v.verdict == "leak":
            return None
        rate = round(float(v.rate_bytes_per_s), 3)
        window = round(float(v.window_s), 3)
        if not (math.isfinite(rate) and math.isfinite(window)):
            return None  # json.dumps writes those (NaN, Infinity)
        return (f'{{"verdict":"{v.verdict}","rate_bytes_per_s":{rate!r},"samples":',
                f',"window_s":{window!r}}}')  # fmt: skip

    def _growth_text(self, v: GrowthVerdict, samples: int, available: float) -> str:
        """growth_json's object as text, written directly (json.dumps per row costs more)."""
        g = growth_json(v, samples, available)
        rate, window = g["rate_bytes_per_s"], g["window_s"]
        if not (math.isfinite(rate) and math.isfinite(window)):
            return self._dumps(g)
        eta = f',"exhaustion_s":{g["exhaustion_s"]!r}' if "exhaustion_s" in g else ""
        return (
            f'{{"verdict":"{v.verdict}","rate_bytes_per_s":{rate!r},"samples":{samples},'
            f'"window_s":{window!r}{eta}}}'
        )

    def _row(self, p: ProcSample, v: GrowthVerdict | None, kept: _Kept | None) -> _Kept:
        """A row's entry: its fields' text (the old one while the row object is the same) and
        the row's text around the sample count."""
        if kept is not None and kept[0] is p:
            fields = kept[2]
        else:
            fields = self._dumps(process_fields(p))[:-1] + ',"growth":'
        parts = self._growth_parts(v)
        if parts is None:
            return p, v, fields, fields, None
        return p, v, fields, fields + parts[0], parts[1] + "}"

    def __call__(self, frame: Frame, procs: list[ProcSample], history: History) -> str:
        m = frame.snapshot.system.memory
        head = self._dumps({
            "time": round(frame.snapshot.t_wall, 3),
            "memory": {
                "total": m.total,
                "available": m.available,
                "free": m.free,
                "used": m.used,
                "buffers": m.buffers,
                "cached": m.cached,
                "swap_total": m.swap_total,
                "swap_free": m.swap_free,
            },
        })  # fmt: skip
        available = float(m.available)
        verdict_of = frame.verdicts.get
        held = self._rows.get
        rows: dict[int, _Kept] = {}
        parts: list[str] = []
        append, hist = parts.append, history.get
        kinds = self.kinds is not None
        for p in procs:  # every process on every frame: names bound, nothing looked up twice
            key = p.key
            v = verdict_of(key)
            ident = id(p)
            kept = held(ident)
            if kept is None or kept[0] is not p or kept[1] is not v:
                kept = self._row(p, v, kept)
            rows[ident] = kept
            # len(h) without the call (and not h's truth value, which would call it)
            h = hist(key)
            samples = 0 if h is None else h.samples if h.samples < h.capacity else h.capacity
            after = kept[4]
            if after is None:
                assert v is not None
                growth = self._growth_text(v, samples, available)
                append(f"{kept[3]}{growth}{self._kinds(p) if kinds else ''}}}")
            elif kinds:
                append(f"{kept[3]}{samples}{after[:-1]}{self._kinds(p)}}}")
            else:
                append(f"{kept[3]}{samples}{after}")
        self._rows = rows
        families = ""
        if frame.families is not None:
            families = f',"families":{self._dumps(families_json(frame, procs))}'
        return f'{head[:-1]},"processes":[{",".join(parts)}]{families}}}'

    def _kinds(self, p: ProcSample) -> str:
        found = mappings_json(self.kinds, p) if self.kinds is not None else None
        return "" if found is None else f',"mappings":{self._dumps(found)}'


def mappings_json(kinds: KindsHistory, p: ProcSample) -> dict | None:
    """``--mappings``: resident bytes by kind from the process's latest smaps reading, thread
    stacks told apart, and the kind that accounts for the growth since first read; a
    ``reason`` when the breakdown is partial or absent. None when it was never read."""
    series = kinds.get(p.key)
    if series is None:
        return None
    latest = series.latest
    out: dict = {}
    if latest.kinds is not None:
        out = dict(zip(KINDS, latest.kinds, strict=True))
        out["thread_stacks"] = latest.thread_stacks
    if latest.reason:
        out["reason"] = latest.reason
    if len(series.kinds) >= 2:
        found = account(series.kinds[0], series.kinds[-1])
        if found is not None:
            out["growing"] = {"kind": KINDS[found.kind], "share": round(found.share, 3)}
    return out


def frame_json(
    frame: Frame, procs: list[ProcSample], history: History, ensure_ascii: bool = False
) -> str:
    """One frame as one JSON line, without keeping anything for the next."""
    return JsonFrames(ensure_ascii)(frame, procs, history)


def frame_text(frame: Frame, procs: list[ProcSample], per_cpu: bool = False) -> str:
    lines = summary_lines(frame.snapshot.system, frame.snapshot.t_wall, per_cpu=per_cpu)
    lines.append("")
    lines.append(header_line())
    for p in procs:
        lines.append(printable(row_line(p, RowContext(verdict=frame.verdicts.get(p.key)))))
    return "\n".join(lines) + "\n\n"


def visible(frame: Frame, opts: BatchOptions) -> list[ProcSample]:
    procs = Narrowing(user=opts.user).apply(frame.snapshot.procs)
    return sort_rows(procs, opts.sort, opts.descending, frame.verdicts)


def run_batch(
    opts: BatchOptions,
    out: TextIO = sys.stdout,
    monitor: Monitor | None = None,
    stop: Stopper | None = None,
    on_frame: Callable[[Frame], None] | None = None,
    recorder: SnapshotSink | None = None,
    err: TextIO = sys.stderr,
) -> int:
    """Print ``iterations`` frames ``delay_s`` apart; returns the exit status."""
    monitor = monitor or Monitor(
        Sampler(pids=opts.pids),
        interval_s=opts.delay_s,
        history_s=opts.history_s,
        judge_every_s=judge_every_for(opts.delay_s),
        recorder=recorder,
    )
    if opts.families:
        monitor.families = True
    record_error_shown = False
    encoding = (getattr(out, "encoding", None) or "utf-8").lower().replace("-", "").replace("_", "")
    to_json = JsonFrames(ensure_ascii=encoding != "utf8")
    if opts.mappings and opts.pids:
        monitor.mappings_pids = opts.pids  # their smaps every iteration
        to_json.kinds = monitor.kinds
    elif monitor.recorder is None:
        # Nothing here would show or keep a breakdown: none is read. A recording keeps what
        # the screen reads (the coarse split, flagged processes' smaps): recording format 4.
        monitor.kinds_reader = None

    def publish(frame: Frame) -> None:
        nonlocal record_error_shown
        if monitor.record_error and not record_error_shown:
            record_error_shown = True  # the monitor goes on; say so once
            try:
                err.write(f"toptui: {monitor.record_error}\n")
                err.flush()
            except (OSError, ValueError, AttributeError):  # no stderr left to say it on
                pass
        if on_frame is not None:
            on_frame(frame)
        procs = visible(frame, opts)
        if opts.fmt == "json":
            out.write(to_json(frame, procs, monitor.history) + "\n")
        else:
            out.write(frame_text(frame, procs, opts.per_cpu))
        out.flush()

    # The screen's loop and pacing rule: steady, and no burst after a delay.
    Runner(monitor.step, opts.delay_s, publish, stop=stop).run(opts.iterations)
    return 0

"""``toptui analyze``: judge memory traces saved in files with the same detector as the screen.

Inputs, told apart by their content (not their extension): toptui recordings (one series per
process identity), two-column ``t,rss`` / ``time,rss`` CSVs (one series per file) and
memory_profiler's ``mprof run`` ``.dat`` files (the main process and each child). ``-``, a pipe or
a FIFO is read once, as it comes. An input that cannot be read costs one line on stderr (file and
line number) and exit status 2; the other inputs are still analysed and printed. So does output
that cannot be written (never status 1, which means a leak). Nothing here imports Textual; plotext
only when a graph is drawn.
"""

from __future__ import annotations

import argparse
import errno
import io
import json
import math
import os
import shutil
import stat
import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import IO

from toptui.analysis.families import FamilyVerdict, named
from toptui.analysis.growth import GrowthVerdict, exhaustion_seconds, judge
from toptui.analysis.memory_kinds import Growing, growing_kind
from toptui.commands.arguments import OneLineParser, pid_list, say, size_bytes, to_devnull
from toptui.engine.monitor import Monitor, judge_every_for, series_verdicts
from toptui.render import format as fmt
from toptui.sampling.replay import ReplaySampler
from toptui.store.recording import (
    BOM,
    RecordingFormatError,
    RecordingReader,
    is_header_line,
)

MIB = 1024 * 1024
_MAX_BYTES = 2.0**63  # memory at or beyond this is corruption, not a measurement
_MAX_TIME = 1e12  # seconds; beyond is corruption (or milliseconds)
_SNIFF_BYTES = 65536
_MAX_GRAPHS = 8
_MIN_GRAPH_WIDTH = 60
_MPROF_WORDS = (b"CMDLINE", b"MEM", b"CHLD", b"FUNC")
_SHRINK = {"SOURCE": 12, "NAME": 8}  # on a terminal, cut to fit down to this many characters


class InputError(Exception):
    """An input that cannot be (fully) read; ``str()`` is ``PATH:LINE: what is wrong``."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.message = message


@dataclass(slots=True)
class Trace:
    """One memory series read from a file: times in seconds, RSS in bytes."""

    source: str
    pid: int | None
    name: str
    t: Sequence[float]
    rss: Sequence[float]
    # A recording with per-kind columns (format 4): the kind that grew, when one did.
    growing: Growing | None = None


class _Span:
    """The first and last (by time) of a series' readings of one kind: all that the growing
    kind is found from, so a long recording costs two tuples per series."""

    __slots__ = ("first", "first_t", "last", "last_t")

    def __init__(self, t: float, values: tuple[int, ...]) -> None:
        self.first_t = self.last_t = t
        self.first = self.last = values

    def add(self, t: float, values: tuple[int, ...]) -> None:
        if t < self.first_t:
            self.first_t, self.first = t, values
        if t >= self.last_t:
            self.last_t, self.last = t, values

    @staticmethod
    def pair(span: _Span | None) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """(first, last), or None without two readings at different times."""
        if span is None or span.last_t <= span.first_t:
            return None
        return span.first, span.last


@dataclass(slots=True)
class Result:
    trace: Trace
    verdict: GrowthVerdict
    exhaustion_s: float | None


@dataclass(slots=True)
class Loaded:
    """What one input gave: its series, and a problem to report (the series are still good)."""

    traces: list[Trace]
    problem: InputError | None = None


# -- reading ---------------------------------------------------------------------------------


def _open_error(path: str, exc: OSError) -> InputError:
    reason = {
        "FileNotFoundError": "no such file",
        "IsADirectoryError": "is a directory",
        "PermissionError": "permission denied",
    }.get(type(exc).__name__, (exc.strerror or str(exc)).lower())
    return InputError(path, None, f"cannot read: {reason}")


def _shown(raw: bytes | str, limit: int = 40) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = text.strip()
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _number(raw: bytes, what: str, path: str, line: int) -> float:
    try:
        v = float(raw)
    except ValueError:
        try:  # a quoted number, as some CSV writers put every field in quotes
            v = float(raw.strip().removeprefix(b'"').removesuffix(b'"'))
        except ValueError:
            raise InputError(path, line, f"{what} is not a number: {_shown(raw)}") from None
    if not math.isfinite(v):
        raise InputError(path, line, f"{what} is not a finite number: {_shown(raw)}")
    return v


def _time(raw: bytes, path: str, line: int) -> float:
    v = _number(raw, "time", path, line)
    if abs(v) >= _MAX_TIME:
        raise InputError(path, line, f"time out of range (seconds expected): {_shown(raw)}")
    return v


def _bytes(v: float, raw: bytes, path: str, line: int) -> float:
    if not 0 <= v < _MAX_BYTES:
        raise InputError(path, line, f"memory size out of range: {_shown(raw)}")
    return v


def _sorted(t: array, x: array) -> tuple[Sequence[float], Sequence[float]]:
    """Samples in time order (a clock step or concatenated files may shuffle them)."""
    if all(a <= b for a, b in pairwise(t)):
        return t, x
    pairs = sorted(zip(t, x, strict=True), key=lambda p: p[0])
    return array("d", (p[0] for p in pairs)), array("d", (p[1] for p in pairs))


def sniff(path: str, head: bytes) -> str:
    """``recording``, ``csv`` or ``mprof`` from the first bytes; InputError when none fits."""
    if not head:
        raise InputError(path, 1, "empty file")
    nul = head.find(b"\0")
    if nul >= 0:
        line = head.count(b"\n", 0, nul) + 1
        raise InputError(path, line, "binary data, not a memory trace")
    first = head.split(b"\n", 1)[0].removeprefix(BOM).strip()
    if is_header_line(first):
        return "recording"
    if first.replace(b" ", b"").replace(b'"', b"").lower() in (b"t,rss", b"time,rss"):
        return "csv"  # header names may be quoted, as R's write.csv writes them
    if first.split(b" ", 1)[0] in _MPROF_WORDS:
        return "mprof"
    what = "not a toptui recording, a t,rss CSV or an mprof .dat file"
    raise InputError(path, 1, f"{what} (first line: {_shown(first)})")


def _read_csv(path: str, f: IO[bytes]) -> Loaded:
    t, x = array("d"), array("d")
    next(f)  # the header, already checked
    problem = None
    line = 2
    for line, raw in enumerate(f, 2):
        if not raw.strip():
            continue
        try:
            parts = raw.split(b",")
            if len(parts) != 2:
                raise InputError(path, line, f"expected 2 fields (t,rss), found {len(parts)}")
            tv = _time(parts[0], path, line)
            xv = _bytes(_number(parts[1], "rss", path, line), parts[1], path, line)
        except InputError as exc:
            if raw.endswith(b"\n"):
                raise
            problem = _cut(path, line, exc)
            break
        t.append(tv)
        x.append(xv)
    if not t:
        raise problem or InputError(path, line, "no samples after the header")
    t2, x2 = _sorted(t, x)
    name = os.path.basename(path)
    return Loaded([Trace(path, None, name, t2, x2)], problem)


def _cut(path: str, line: int, exc: InputError | None = None) -> InputError:
    why = f" ({exc.message})" if exc is not None else ""
    return InputError(path, line, f"incomplete last line, the file was cut off{why}; the lines "
                      "before it were analysed")  # fmt: skip


def _read_mprof(path: str, f: IO[bytes]) -> Loaded:
    """memory_profiler's format: ``MEM <MiB> <epoch>``, ``CHLD <pid> <MiB> <epoch>``.

    mprof ends every line, so a last line without its newline was cut off (a killed run) even
    when it parses: its timestamp may have lost digits.
    """
    cmdline = ""
    main_t, main_x = array("d"), array("d")
    children: dict[int, tuple[array, array]] = {}
    problem = None
    line = 0
    for line, raw in enumerate(f, 1):
        parts = raw.split()
        if not parts:
            continue
        if not raw.endswith(b"\n"):
            problem = _cut(path, line)
            break
        word = parts[0]
        if word == b"CMDLINE":
            cmdline = raw[len(word) :].strip().decode("utf-8", "replace")
        elif word == b"MEM":
            if len(parts) != 3:
                raise InputError(path, line, "expected MEM <MiB> <timestamp>")
            mib = _number(parts[1], "memory", path, line) * MIB
            xv = _bytes(mib, parts[1], path, line)
            main_t.append(_time(parts[2], path, line))
            main_x.append(xv)
        elif word == b"CHLD":
            if len(parts) != 4:
                raise InputError(path, line, "expected CHLD <pid> <MiB> <timestamp>")
            try:
                pid = int(parts[1])
            except ValueError:
                raise InputError(
                    path, line, f"child pid is not a number: {_shown(parts[1])}"
                ) from None
            mib = _number(parts[2], "memory", path, line) * MIB
            xv = _bytes(mib, parts[2], path, line)
            tv = _time(parts[3], path, line)
            ct, cx = children.setdefault(pid, (array("d"), array("d")))
            ct.append(tv)
            cx.append(xv)
        elif word != b"FUNC":
            raise InputError(path, line, f"not an mprof line: {_shown(raw)}")
    if not main_t and not children:
        raise problem or InputError(path, line, "no MEM or CHLD samples")
    name = cmdline or os.path.basename(path)
    traces = []
    if main_t:
        traces.append(Trace(path, None, name, *_sorted(main_t, main_x)))
    for pid, (ct, cx) in children.items():
        traces.append(Trace(path, pid, f"child of {name}", *_sorted(ct, cx)))
    return Loaded(traces, problem)


def _read_recording(path: str, f: IO[bytes] | None) -> Loaded:
    reader = RecordingReader(path, f)
    series: dict[tuple[int, float], tuple[Trace, array, array]] = {}
    # Format 4's per-kind readings, per identity: smaps kinds and the coarse split (with swap)
    kinds: dict[tuple[int, float], _Span] = {}
    coarse: dict[tuple[int, float], _Span] = {}
    try:
        for r in reader.rows():
            key = (r.pid, r.create_time)
            entry = series.get(key)
            if entry is None:
                t, x = array("d"), array("d")
                entry = series[key] = (Trace(path, r.pid, r.name, t, x), t, x)
            entry[0].name = r.name
            entry[1].append(r.time)
            entry[2].append(r.rss + r.swap)  # as the screen judges it: swap counts
            if r.kinds is not None:
                _note(kinds, key, r.time, r.kinds)
            if r.coarse is not None:
                _note(coarse, key, r.time, (*r.coarse, r.swap))
    except RecordingFormatError as exc:
        raise InputError(exc.path, exc.line, exc.message) from None
    except OSError as exc:  # a store's directory or segment that cannot be read
        raise _open_error(path, exc) from None
    problem = None
    if reader.truncated_line is not None:
        problem = InputError(
            path,
            reader.truncated_line,
            "incomplete last line, the recording was cut off; the lines before it were analysed",
        )
    if not series:
        raise problem or InputError(path, 2, "no samples after the header")
    traces = []
    for key, (tr, t, x) in series.items():
        tr.t, tr.rss = _sorted(t, x)
        tr.growing = growing_kind(_Span.pair(kinds.get(key)), _Span.pair(coarse.get(key)))
        traces.append(tr)
    return Loaded(traces, problem)


def _note(spans: dict[tuple[int, float], _Span], key: tuple[int, float], t: float,
          values: tuple[int, ...]) -> None:  # fmt: skip
    span = spans.get(key)
    if span is None:
        spans[key] = _Span(t, values)
    else:
        span.add(t, values)


class _Replay(io.RawIOBase):
    """The sniffed first bytes of a pipe put back in front of the rest: a pipe cannot seek back."""

    def __init__(self, head: bytes, rest: io.BufferedIOBase) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buf: bytearray | memoryview) -> int:
        if not self._head:
            return self._rest.readinto(buf)
        n = min(len(buf), len(self._head))
        buf[:n] = self._head[:n]
        self._head = self._head[n:]
        return n


def load(path: str) -> Loaded:
    """Every series in one input, ``-`` being standard input.

    Raises InputError (one line) when nothing usable is in it.
    """
    if path != "-" and os.path.isdir(path):  # toptui serve's store: its segments as one
        return _read_recording(path, None)
    try:
        if path == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            if stdin is None:
                raise InputError(path, None, "cannot read: standard input is closed")
            return _load_open(path, stdin)
        with open(path, "rb") as f:
            return _load_open(path, f)
    except OSError as exc:
        raise _open_error(path, exc) from None


def _load_open(path: str, f: io.BufferedIOBase) -> Loaded:
    """Sniff, then read on from the same open file: a FIFO or pipe cannot be opened twice."""
    regular = stat.S_ISREG(os.fstat(f.fileno()).st_mode)
    start = f.tell() if regular else 0
    head = f.read(_SNIFF_BYTES)
    kind = sniff(path, head)
    bom = len(BOM) if head.startswith(BOM) else 0
    if regular:
        f.seek(start + bom)  # a file is simply read again: faster than replaying the head
    else:
        f = io.BufferedReader(_Replay(head[bom:], f))
    if kind == "recording":
        return _read_recording(path, f)
    return _read_csv(path, f) if kind == "csv" else _read_mprof(path, f)


# -- judging and printing --------------------------------------------------------------------


def _available() -> float | None:
    try:
        import psutil

        return float(psutil.virtual_memory().available)
    except Exception:  # no psutil support here: time-to-OOM is simply unknown
        return None


def judge_trace(trace: Trace, available: float | None) -> Result:
    """The verdict the screen would show after the trace's last sample."""
    return judge_traces([trace], available)[0]


def judge_traces(traces: list[Trace], available: float | None) -> list[Result]:
    """Each trace's verdict as the screen would show it after its last sample.

    Every series is played through the screen's own history, judging schedule and verdict state
    machine (:func:`toptui.engine.monitor.series_verdicts`), so a file holding the first N samples
    of a series gets the verdict shown at sample N. Traces that are prefixes of a longer one in the
    same run (a scorer's growing prefixes) are read off that one's single replay: the verdict at
    a sample depends only on the samples up to it.
    """
    by_start: dict[tuple[float, float], list[int]] = {}
    for i, tr in enumerate(traces):
        if len(tr.t):
            by_start.setdefault((tr.t[0], tr.rss[0]), []).append(i)
    verdicts: dict[int, GrowthVerdict | None] = {}
    for group in by_start.values():
        group.sort(key=lambda i: len(traces[i].t), reverse=True)
        heads: list[tuple[int, list[int]]] = []
        for i in group:
            tr, n = traces[i], len(traces[i].t)
            for h, members in heads:
                head = traces[h]
                if list(head.t[:n]) == list(tr.t) and list(head.rss[:n]) == list(tr.rss):
                    members.append(i)
                    break
            else:
                heads.append((i, [i]))
        for h, members in heads:
            head = traces[h]
            got = series_verdicts(
                head.t, head.rss, [len(traces[i].t) for i in members], available=available
            )
            for i in members:
                verdicts[i] = got[len(traces[i].t)]
    out = []
    for i, tr in enumerate(traces):
        v = verdicts.get(i) or judge(tr.t, tr.rss, available_bytes=available)
        ex = exhaustion_seconds(v, available) if available is not None else None
        out.append(Result(tr, v, ex))
    return out


def judge_families(path: str, pids: set[int] | None = None) -> list[FamilyVerdict] | None:
    """The families the screen's F would name at a recording's last sample, judged from its
    first (the recording played through the screen's own monitor, history, judging schedule
    and family state machines, with no CPU budget); None when it keeps no parent pids."""
    try:
        sampler = ReplaySampler(path, pids)
    except (OSError, ValueError):  # read once already: a file changed since is simply skipped
        return None
    if not sampler.has_parents:
        return None
    interval = sampler.interval_s
    monitor = Monitor(sampler, interval_s=interval, judge_every_s=judge_every_for(interval))
    monitor.judge_budget_s = math.inf
    monitor.families = True
    frame = monitor.step()
    while not sampler.done:
        frame = monitor.step()
    alive = {p.key for p in frame.snapshot.procs}
    return named(frame.families or (), alive.__contains__, rising=True)


def _print_families(found: list[tuple[str, list[FamilyVerdict]]], form: str, out: IO[str]) -> None:
    """After the series: one line (or JSON object) per named family of each recording."""
    from toptui.commands.batch import family_json  # batch's schema; loaded only when asked

    for path, fams in found:
        for f in fams:
            if form == "json":
                obj = {"source": _utf8(path), "family": family_json(f)}
                out.write(json.dumps(obj, ensure_ascii=False) + "\n")
            else:
                rate = fmt.human_bytes(f.verdict.rate_bytes_per_s)
                out.write(
                    f"family {f.head[0]} {_printable(f.name)} ({len(f.members)} processes) "
                    f"{fmt.human_bytes(f.res)} +{rate}/s {f.verdict.verdict}\n"
                )


def _ordered(results: list[Result]) -> list[Result]:
    """Leaks first, fastest first; the rest keep the order they appear in the file."""
    leaks = sorted(
        (r for r in results if r.verdict.verdict == "leak"),
        key=lambda r: r.verdict.rate_bytes_per_s,
        reverse=True,
    )
    return leaks + [r for r in results if r.verdict.verdict != "leak"]


def _printable(name: str, limit: int = 32) -> str:
    text = "".join(c if c.isprintable() else "?" for c in name) or "-"
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _utf8(text: str) -> str:
    """``text`` as strict JSON parsers take it: bytes that were not UTF-8 (in a file name, from
    ``surrogateescape``) become U+FFFD instead of lone surrogates."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that no byte produced
        return text.encode("utf-8", "replace").decode("utf-8")


def to_json(r: Result) -> str:
    tr, v = r.trace, r.verdict
    n = len(tr.t)
    obj = {
        "source": _utf8(tr.source),
        "pid": tr.pid,
        "name": _utf8(tr.name),
        "samples": n,
        "duration_s": round(tr.t[-1] - tr.t[0], 3) if n else 0.0,
        "verdict": v.verdict,
        "rate_bytes_per_s": round(v.rate_bytes_per_s, 3),
        "growth_bytes": round(v.growth_bytes),
        "first_rss": round(tr.rss[0]) if n else None,
        "last_rss": round(tr.rss[-1]) if n else None,
        "exhaustion_s": round(r.exhaustion_s, 1) if r.exhaustion_s is not None else None,
        "reasons": list(v.reasons),
    }
    g = tr.growing
    if g is not None:  # only a recording with per-kind columns (format 4) has it
        obj["growing"] = {"kind": g.kind, "share": round(g.share, 3), "growth_bytes": g.growth,
                          "source": g.source, "meaning": g.sentence}  # fmt: skip
    return json.dumps(obj)


_COLUMNS = ("SOURCE", "PID", "NAME", "SAMPLES", "DURATION", "FIRST", "LAST", "RATE", "OOM IN",
            "VERDICT")  # fmt: skip
# Before VERDICT, only when some series has per-kind figures (a format 4 recording): the kind
# that grew most and its share of the growth.
GROWS = "GROWS"
_KIND_COLUMNS = (*_COLUMNS[:-1], GROWS, _COLUMNS[-1])
_RIGHT = {"PID", "SAMPLES", "DURATION", "FIRST", "LAST", "RATE", "OOM IN"}


def _grows(r: Result) -> str:
    g = r.trace.growing
    return f"{g.kind} {g.share:.0%}" if g is not None else "-"


def _cells(r: Result, kinds: bool = False) -> tuple[str, ...]:
    tr, v = r.trace, r.verdict
    leak = v.verdict == "leak"
    grows = (_grows(r),) if kinds else ()
    return (
        tr.source,
        str(tr.pid) if tr.pid is not None else "-",
        _printable(tr.name),
        str(len(tr.t)),
        fmt.duration(tr.t[-1] - tr.t[0]),
        fmt.compact_bytes(tr.rss[0]),
        fmt.compact_bytes(tr.rss[-1]),
        fmt.rate(v.rate_bytes_per_s) if leak else "-",
        fmt.duration(r.exhaustion_s) if r.exhaustion_s is not None else "-",
        *grows,
        v.verdict,
    )


def table(rows: list[tuple[str, ...]], header: bool, width: int | None = None,
          columns: tuple[str, ...] = _COLUMNS) -> list[str]:  # fmt: skip
    """Aligned columns, verdict last so a script can take the last word of every line.

    With ``width`` (a terminal's), SOURCE and NAME are cut with an ellipsis so that a line does
    not wrap; without it (piped) nothing is cut.
    """
    allrows = [columns, *rows] if header else rows
    widths = [max(len(r[i]) for r in allrows) for i in range(len(columns))] if allrows else []
    if width is not None:
        _fit(widths, width, columns)
    out = []
    for r in allrows:
        cells = [
            c.rjust(w) if name in _RIGHT else _clip(c, w, name).ljust(w)
            for c, w, name in zip(r, widths, columns, strict=True)
        ]
        out.append("  ".join(cells).rstrip())
    return out


def _fit(widths: list[int], width: int, columns: tuple[str, ...] = _COLUMNS) -> None:
    """Narrow the SOURCE and NAME widths, the one with more to spare first, to fit ``width``."""
    excess = sum(widths) + 2 * (len(widths) - 1) - width
    cuttable = [i for i, name in enumerate(columns) if name in _SHRINK]
    while excess > 0 and widths:
        i = max(cuttable, key=lambda i: widths[i] - _SHRINK[columns[i]])
        if widths[i] <= _SHRINK[columns[i]]:
            return  # as narrow as they go: the line wraps
        widths[i] -= 1
        excess -= 1


def _clip(text: str, width: int, column: str) -> str:
    """``text`` in ``width`` characters; a path keeps its end, where the file name is."""
    if len(text) <= width:
        return text
    if column == "SOURCE":
        return "…" + text[len(text) - width + 1 :]
    return text[: width - 1] + "…"


def graph(r: Result, width: int, height: int = 14) -> str:
    """A plotext graph of one series' RSS over time (only drawn for a terminal)."""
    import plotext as plt

    tr = r.trace
    step = max(1, len(tr.t) // (2 * width))
    t0 = tr.t[0]
    span = tr.t[-1] - t0
    per, unit_t = (60.0, "minutes") if span >= 600 else (1.0, "seconds")
    peak = max(tr.rss)
    unit, div = "B", 1.0
    for name, d in (("KiB", 1024.0), ("MiB", 1024.0**2), ("GiB", 1024.0**3)):
        if peak >= d:
            unit, div = name, d
    xs = [(v - t0) / per for v in tr.t[::step]]
    ys = [v / div for v in tr.rss[::step]]
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")  # the terminal's own background, as the detail view draws
    plt.plot(xs, ys, marker="braille", color="red")
    who = tr.source
    if tr.pid is not None:
        who += f" pid {tr.pid}"
    if tr.name != os.path.basename(tr.source):
        who += f" {_printable(tr.name)}"
    plt.title(f"{who}: RSS {fmt.rate(r.verdict.rate_bytes_per_s)}")
    plt.xlabel(unit_t)
    plt.ylabel(unit)
    return plt.build()


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="toptui analyze",
        description="Judge memory traces saved in files: toptui recordings, "
        "t,rss CSVs (seconds, bytes) and mprof .dat files. Exit status: 0, 1 with --fail-on-leak "
        "when a series leaks, 2 when an input cannot be read or the output cannot be written.",
        epilog="On a terminal, text output has a header and a graph per leak; piped, it is one "
        "line per series with the verdict as the last word.",
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="files to analyse; - reads standard input"
    )
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="a table (default) or one JSON object per series per line",
    )
    p.add_argument(
        "--fail-on-leak", action="store_true", help="exit with status 1 when any series leaks"
    )
    p.add_argument(
        "-p",
        "--pid",
        type=pid_list,
        action="append",
        metavar="PID[,PID...]",
        help="only these processes",
    )
    p.add_argument(
        "--families",
        action="store_true",
        help="also judge families (a process and its descendants, as the screen's F) in "
        "recordings that keep parent pids, and list those named at their last sample",
    )
    p.add_argument(
        "--available",
        type=size_bytes,
        metavar="SIZE",
        help="memory a leak would use up, for OOM IN and exhaustion_s, e.g. 8G or 512M "
        "(default: what this machine has available now; a recording keeps no figure of its own)",
    )
    return p


def main(argv: list[str]) -> int:
    if sys.stderr is None:  # started with stderr closed: messages go nowhere, statuses stay
        sys.stderr = to_devnull(None)
    try:
        args = build_parser().parse_args(argv)
    except OSError:  # the usage message did not fit on a full stderr: still a usage error
        to_devnull(sys.stderr)
        return 2
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")  # odd bytes in a name must not crash printing
    pids = {p for group in args.pid for p in group} if args.pid else None
    try:
        return _run(args.paths, args.format, args.fail_on_leak, pids, args.available, args.families)
    except KeyboardInterrupt:
        return 130


def _run(
    paths: list[str],
    form: str,
    fail_on_leak: bool,
    pids: set[int] | None,
    available: float | None = None,
    families: bool = False,
) -> int:
    given = available is not None
    if available is None:
        available = _available()
    failed = False
    loaded_inputs: list[tuple[str, list[Trace] | None]] = []
    for path in paths:
        try:
            loaded = load(path)
        except InputError as exc:
            _say(str(exc))
            failed = True
            loaded_inputs.append((path, None))
            continue
        if loaded.problem is not None:
            _say(str(loaded.problem))
            failed = True
        traces = [t for t in loaded.traces if pids is None or t.pid in pids]
        loaded_inputs.append((path, traces))
    judged = iter(judge_traces([t for _, ts in loaded_inputs if ts for t in ts], available))
    per_input: list[tuple[str, list[Result] | None]] = [
        (path, _ordered([next(judged) for _ in ts]) if ts is not None else None)
        for path, ts in loaded_inputs
    ]
    results = [r for _, rs in per_input if rs for r in rs]
    if pids is not None and not results and not failed:
        _say(f"no process with pid {', '.join(map(str, sorted(pids)))} in the inputs")
        return 2
    named_families: list[tuple[str, list[FamilyVerdict]]] = []
    if families:
        for path, ts in loaded_inputs:
            if ts and ts[0].pid is not None and path != "-":  # a recording, readable again
                found = judge_families(path, pids)
                if found is None:
                    _say(f"{path}: recorded without parent pids: no families")
                else:
                    named_families.append((path, found))
    out = sys.stdout
    try:
        if out is None:
            raise OSError(errno.EBADF, "standard output is closed")
        _print(per_input, form, out, _oom_basis(available, given))
        _print_families(named_families, form, out)
        out.flush()
    except BrokenPipeError:
        to_devnull(out)  # `toptui analyze ... | head`: the reader left; say nothing more.
    except OSError as exc:  # a full disk, /dev/full, a closed stdout: an I/O problem, never 1
        to_devnull(out)
        _say(f"cannot write the output: {exc.strerror or exc}")
        return 2
    if failed:
        return 2
    if fail_on_leak and any(r.verdict.verdict == "leak" for r in results):
        return 1
    return 0


def _say(message: str) -> None:
    say("toptui analyze", message)


def _oom_basis(available: float | None, given: bool) -> str:
    """What OOM IN counts down from, said under a terminal's table: a recording's figure would
    otherwise silently be this machine's, today."""
    if available is None:
        return "OOM IN is unknown: no figure for available memory (give --available SIZE)"
    where = "as given" if given else "available on this machine now; --available SIZE to change"
    return f"OOM IN counts down from {fmt.human_bytes(available)} ({where})"


def _print(
    per_input: list[tuple[str, list[Result] | None]], form: str, out: IO[str], oom_basis: str
) -> None:
    if form == "json":
        for _, rs in per_input:
            for r in rs or ():
                out.write(to_json(r) + "\n")
        return
    tty = out.isatty()
    rows: list[tuple[str, ...]] = []
    kinds = any(r.trace.growing is not None for _, rs in per_input for r in rs or ())
    names = _KIND_COLUMNS if kinds else _COLUMNS
    for path, rs in per_input:
        if rs is None:  # unreadable: still one line, so line N of the output is input N
            rows.append((path, *("-",) * (len(names) - 2), "error"))
        else:
            rows.extend(_cells(r, kinds) for r in rs)
    columns = shutil.get_terminal_size().columns if tty else None
    for line in table(rows, header=tty, width=columns, columns=names):
        out.write(line + "\n")
    if columns is None:
        return
    leaks = [r for _, rs in per_input for r in rs or () if r.verdict.verdict == "leak"]
    n_series = sum(len(rs) for _, rs in per_input if rs)
    out.write(f"\n{len(leaks)} of {n_series} series leak.")
    out.write(f" {oom_basis}.\n" if leaks else "\n")
    width = min(120, columns)
    if width < _MIN_GRAPH_WIDTH:
        return
    for r in leaks[:_MAX_GRAPHS]:
        out.write("\n" + graph(r, width) + "\n")
        if r.trace.growing is not None:
            out.write(f"What grows: {r.trace.growing.sentence}.\n")
    if len(leaks) > _MAX_GRAPHS:
        out.write(f"\n({len(leaks) - _MAX_GRAPHS} more leaks not drawn)\n")

"""The detail view's breakdown of resident memory by kind: which memory grows (issue 17).

Per kind: RES now, the change since first seen, the rate and a sparkline; a line naming the kind
that accounts for the growth; the five mappings that grew most. What it shows comes from the
monitor's KindsHistory, filled only while the view is open (and for flagged processes); the
text is built by :func:`render_kinds`, a plain function the tests call too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from toptui.analysis.memory_kinds import (
    account,
    coarse_account,
    kind_rows,
    stacks_note,
    top_mappings,
)
from toptui.mapping_model import KIND_LABELS, CoarseSplit
from toptui.model import ProcKey, ProcSample
from toptui.render import format as fmt
from toptui.render.sparkline import sparkline
from toptui.store.kinds import KindSeries

if TYPE_CHECKING:
    from toptui.engine.monitor import Monitor

SPARK_WIDTH = 24  # characters of per-kind history
LABEL_WIDTH = 20  # the longest kind label ("file-backed private") and a space
PATH_WIDTH = 60  # a mapping's path is cut (from the left: its file name stays) beyond this


def growth_line(series: KindSeries | None) -> str:
    """The verdict's reason that names the growing kind, or "" when it is not known yet."""
    if series is None or len(series.kinds) < 2:
        return ""
    found = account(series.kinds[0], series.kinds[-1])
    return found.reason if found is not None else ""


def _cut(path: str) -> str:
    """A mapping's path as shown: printable (a process names its own files: no escape sequence
    may reach the terminal) and cut from the left, so that the file name stays."""
    if not path.isprintable():
        path = "".join(ch if ch.isprintable() else "?" for ch in path)
    return path if len(path) <= PATH_WIDTH else "…" + path[-(PATH_WIDTH - 1) :]


def render_kinds(
    series: KindSeries | None,
    coarse: tuple[CoarseSplit, CoarseSplit] | None,
    threads: int,
    live: bool = True,
    pid: int = 0,
) -> Text:
    """The panel's text for one process (``threads``: its thread count now)."""
    out = Text()
    out.append("Which memory grows", style="bold")
    if not live and series is None:
        if coarse is None:
            out.append(": the recording holds no breakdown by kind of this process (recording "
                       "format 4 keeps what was read live)\n")  # fmt: skip
            return out
        out.append(": recorded, the coarse split only\n")
        _coarse(out, coarse, pid)
        return out
    latest = series.latest if series is not None else None
    if series is None or latest is None:
        out.append(f": reading /proc/{pid}/smaps…\n")
        return out
    if not series.kinds:
        out.append(f": no breakdown: {latest.reason}\n", style="yellow")
        if coarse is not None:
            _coarse(out, coarse, pid)
        return out
    span = series.t[-1] - series.t[0]
    n = len(series.t)
    source = f"/proc/{pid}/{latest.source}" if live else f"recorded from {latest.source}"
    out.append(f"  ({source}, {n} reading{'s' if n != 1 else ''} over "
               f"{fmt.duration(span)})\n")  # fmt: skip
    out.append(f"{'kind':<{LABEL_WIDTH}}{'RES now':>10}{'change':>11}{'rate':>10}  history\n",
               style="dim")  # fmt: skip
    for row in kind_rows(series.t, series.kinds):
        if not row.now and not row.change:
            continue
        change = ("+" if row.change > 0 else "") + fmt.compact_bytes(row.change)
        out.append(f"{KIND_LABELS[row.kind]:<{LABEL_WIDTH}}{fmt.compact_bytes(row.now):>10}"
                   f"{change:>11}{fmt.rate(row.rate) or '0':>10}  ")  # fmt: skip
        out.append(sparkline(row.values, SPARK_WIDTH, times=series.t) + "\n")
    found = account(series.kinds[0], series.kinds[-1]) if n >= 2 else None
    if found is not None:
        out.append(found.sentence + "\n", style="bold")
    elif n >= 2:
        out.append("No kind has grown by much since first seen.\n")
    note = stacks_note(threads, latest.thread_stacks) if latest.kinds is not None else ""
    if note:
        out.append(f"Stacks: {note}.\n", style="dim")
    if latest.reason:
        what = "partial" if latest.kinds is not None else "not read this time"
        out.append(f"Latest reading {what}: {latest.reason}\n", style="yellow")
    grown = top_mappings(series.first_rss, latest.mappings, first_rss_end=series.first_rss_end)
    if grown:
        out.append("Mappings that grew most\n", style="bold")
        for m, growth in grown:
            res, more = fmt.compact_bytes(m.rss), fmt.compact_bytes(growth)
            out.append(f"  {m.start:012x}-{m.end:012x}  {_cut(m.label):<{PATH_WIDTH}} "
                       f"RES {res:>7}  +{more}\n")  # fmt: skip
    return out


def _coarse(out: Text, coarse: tuple[CoarseSplit, CoarseSplit], pid: int) -> None:
    first, now = coarse
    out.append(f"From /proc/{pid}/status: anonymous {fmt.compact_bytes(now.anon)}, file-backed "
               f"{fmt.compact_bytes(now.file)}, shmem {fmt.compact_bytes(now.shmem)}, swap "
               f"{fmt.compact_bytes(now.swap)}\n")  # fmt: skip
    line = coarse_account(first, now)
    if line:
        out.append(line + "\n", style="bold")


class MemoryKindsPanel(Static):
    """Shown under the detail view's facts; :meth:`show` once per frame."""

    _shown = False  # a breakdown has been shown (kept once the process exits)
    _reason = ""  # the verdict's reason naming the kind, as last shown

    def show(self, monitor: Monitor, key: ProcKey, proc: ProcSample | None) -> str:
        """Update from the monitor's history; returns the verdict's reason naming the kind."""
        if proc is None and self._shown:
            return self._reason  # exited: the last breakdown stays, as the graph does
        threads = proc.threads if proc is not None else 0
        kinds = monitor.kinds
        series = kinds.get(key)
        # No reader: a replay (what its recording kept, format 4), or a test's source.
        live = monitor.kinds_reader is not None
        self.update(render_kinds(series, kinds.coarse_of(key), threads, live, pid=key[0]))
        self._shown = series is not None
        self._reason = growth_line(series)
        return self._reason

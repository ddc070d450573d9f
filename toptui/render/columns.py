"""The process table's columns: header, width, alignment, text and sort key, defined once.

Both the screen and batch mode's top-like text output render rows through these definitions, so
a column looks the same everywhere and sorting means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from toptui.analysis.growth import GrowthVerdict
from toptui.model import ProcSample
from toptui.render import format as fmt


def _pid_width() -> int:
    """top sizes PID to the digits of the kernel's pid_max."""
    try:
        with open("/proc/sys/kernel/pid_max") as f:
            return max(5, len(f.read().strip()))
    except OSError:
        return 5


PID_WIDTH = _pid_width()


@dataclass(frozen=True, slots=True)
class RowContext:
    """What formatting a row needs besides the process itself."""

    unit: int = 0  # memory scale target: 0 KiB, 1 MiB, 2 GiB (top's ``e``)
    verdict: GrowthVerdict | None = None
    full_command: bool = False  # top's ``c``: the command line instead of the name
    tree_prefix: str = ""  # tree view: the branch drawing before the command
    subtree_res: int = 0  # tree view: RES of the process and all its descendants


@dataclass(frozen=True, slots=True)
class Column:
    name: str  # header text, as top prints it
    width: int  # 0: takes the rest of the line
    right: bool
    text: Callable[[ProcSample, RowContext], str]
    sort_key: Callable[[ProcSample, GrowthVerdict | None], object]
    numeric: bool = True  # numeric columns sort largest first, like top

    def cell(self, p: ProcSample, ctx: RowContext, blank: str = "") -> str:
        """The column's text for a process, padded to the width (``blank`` stands for no value)."""
        s = self.text(p, ctx) or blank
        if not self.width:
            return s
        if len(s) > self.width:
            s = s[: self.width - 1] + "+"
        return s.rjust(self.width) if self.right else s.ljust(self.width)


def _growth_rate(v: GrowthVerdict | None) -> float:
    return v.rate_bytes_per_s if v is not None and v.verdict == "leak" else 0.0


def _growth_text(p: ProcSample, ctx: RowContext) -> str:
    v = ctx.verdict
    if v is not None and v.verdict == "rising" and v.rate_bytes_per_s > 0:
        return f"{fmt.rate(v.rate_bytes_per_s)}?"  # not yet a leak: marked, not only coloured
    rate = _growth_rate(v)
    return fmt.rate(rate) if rate > 0 else ""


COLUMNS: tuple[Column, ...] = (
    Column("PID", PID_WIDTH, True, lambda p, c: str(p.pid), lambda p, v: p.pid),
    Column("USER", 8, False, lambda p, c: p.user, lambda p, v: p.user, numeric=False),
    Column("PR", 3, True, lambda p, c: p.pr_text, lambda p, v: p.priority),
    Column("NI", 3, True, lambda p, c: str(p.nice), lambda p, v: p.nice),
    Column(
        "VIRT", 7, True, lambda p, c: fmt.scale_mem(p.virt / 1024, 7, c.unit), lambda p, v: p.virt
    ),
    Column("RES", 6, True, lambda p, c: fmt.scale_mem(p.res / 1024, 6, c.unit), lambda p, v: p.res),
    Column("SHR", 6, True, lambda p, c: fmt.scale_mem(p.shr / 1024, 6, c.unit), lambda p, v: p.shr),
    Column("S", 1, False, lambda p, c: p.state, lambda p, v: p.state, numeric=False),
    Column("%CPU", 5, True, lambda p, c: f"{p.cpu_percent:.1f}", lambda p, v: p.cpu_percent),
    Column("%MEM", 5, True, lambda p, c: f"{p.mem_percent:.1f}", lambda p, v: p.res),
    Column("TIME+", 9, True, lambda p, c: fmt.time_plus(p.cpu_time), lambda p, v: p.cpu_time),
    Column("GROWTH", 8, True, _growth_text, lambda p, v: _growth_rate(v)),
    Column(
        "COMMAND",
        0,
        False,
        lambda p, c: c.tree_prefix + (p.command if c.full_command else p.shown_name),
        lambda p, v: p.shown_name.lower(),
        numeric=False,
    ),
)


def _extra(p: ProcSample, field: str) -> float:
    value = getattr(p.extras, field, None) if p.extras is not None else None
    return -1.0 if value is None else float(value)


def _extra_mem(p: ProcSample, field: str, c: RowContext) -> str:
    """'' until read (off-screen rows are not read), '?' when the kernel would not say."""
    if p.extras is None:
        return ""
    value = getattr(p.extras, field)
    return "?" if value is None else fmt.scale_mem(value / 1024, 6, c.unit)


def _extra_rate(p: ProcSample, field: str) -> str:
    if p.extras is None:
        return ""
    value = getattr(p.extras, field)
    return "?" if value is None else fmt.compact_bytes(value)


# The columns whose figures are read only for the rows on screen.
EXTRA_COLUMNS = ("PSS", "USS", "SWAP", "READ/s", "WRITE/s")

# Columns a person can add with ``f`` (htop's F2); the tree view adds SUBTREE by itself.
OPTIONAL_COLUMNS: dict[str, Column] = {
    c.name: c
    for c in (
        Column("PPID", PID_WIDTH, True, lambda p, c: str(p.ppid), lambda p, v: p.ppid),
        Column("nTH", 4, True, lambda p, c: str(p.threads), lambda p, v: p.threads),
        Column(
            "START", 5, True, lambda p, c: fmt.start_time(p.create_time), lambda p, v: p.create_time
        ),
        Column(
            "SUBTREE",
            7,
            True,
            lambda p, c: fmt.scale_mem(c.subtree_res / 1024, 7, c.unit),
            lambda p, v: p.res,
        ),
        Column("PSS", 6, True, lambda p, c: _extra_mem(p, "pss", c), lambda p, v: _extra(p, "pss")),
        Column("USS", 6, True, lambda p, c: _extra_mem(p, "uss", c), lambda p, v: _extra(p, "uss")),
        Column(
            "SWAP", 6, True, lambda p, c: _extra_mem(p, "swap", c), lambda p, v: _extra(p, "swap")
        ),
        Column(
            "READ/s",
            7,
            True,
            lambda p, c: _extra_rate(p, "read_rate"),
            lambda p, v: _extra(p, "read_rate"),
        ),
        Column(
            "WRITE/s",
            7,
            True,
            lambda p, c: _extra_rate(p, "write_rate"),
            lambda p, v: _extra(p, "write_rate"),
        ),
    )
}

BY_NAME = {c.name: c for c in COLUMNS}


ALL_COLUMNS = {**BY_NAME, **OPTIONAL_COLUMNS}


def visible_columns(extra: Sequence[str] = (), tree: bool = False) -> list[Column]:
    """The default columns with the chosen extras inserted before COMMAND (which stays last)."""
    names = [n for n in extra if n in OPTIONAL_COLUMNS and n != "SUBTREE"]
    if tree:
        names.append("SUBTREE")
    return [*COLUMNS[:-1], *(OPTIONAL_COLUMNS[n] for n in names), COLUMNS[-1]]


# COMMAND is what tells a person which process a row is: room for a program as toptui names it,
# "python3 leaker.py" (17) or "node server.js", so at 80 columns VIRT, NI and PR give way for it.
MIN_COMMAND_WIDTH = 18

# The order in which columns give way when COMMAND would get less than MIN_COMMAND_WIDTH: first
# the top columns that say least about memory, which this tool is for (VIRT is address space, not
# memory used; PR is 20 + NI for ordinary processes; TIME+ is CPU), so at 80 columns GROWTH and
# %MEM stay; then the extras chosen with ``f`` (the last added first, SUBTREE last: it is the tree
# view's point), since a column a person asked for should outlast top's defaults; then the rest
# of top's, GROWTH and %MEM last of all. PID, RES and COMMAND are never dropped.
_DROP_FIRST = ("VIRT", "NI", "PR", "TIME+")
_DROP_LAST = ("S", "SHR", "%CPU", "USER", "GROWTH", "%MEM")


def command_width(columns: Sequence[Column], width: int) -> int:
    """The characters left for the last, variable-width column (COMMAND) on a line of ``width``."""
    fixed = [c for c in columns if c.width]
    return width - sum(c.width + 1 for c in fixed)


def fit_columns(
    columns: Sequence[Column],
    width: int,
    keep: Sequence[str] = (),
    min_command: int = MIN_COMMAND_WIDTH,
) -> list[Column]:
    """The columns to show on a line of ``width`` so that COMMAND keeps ``min_command`` characters.

    top crops the line, so at 80 columns its COMMAND has about 10 characters and narrower it has
    none; here the least useful columns give way instead (``_DROP_FIRST``, the extras, then
    ``_DROP_LAST``). Columns named in ``keep`` (the sort column: a person who pressed G expects to
    see GROWTH) stay. When everything droppable is gone COMMAND gets what is left.
    """
    shown = list(columns)
    if width <= 0 or command_width(shown, width) >= min_command:
        return shown
    defaults = {c.name for c in COLUMNS}
    extras = [c.name for c in reversed(shown) if c.name not in defaults and c.name != "SUBTREE"]
    for name in (*_DROP_FIRST, *extras, "SUBTREE", *_DROP_LAST):
        if command_width(shown, width) >= min_command:
            break
        if name in keep:
            continue
        shown = [c for c in shown if c.name != name]
    return shown


# Names accepted by -o, beside the headers themselves (top's -o takes header names).
ALIASES = {
    "MEM": "%MEM",
    "CPU": "%CPU",
    "TIME": "TIME+",
    "VSZ": "VIRT",
    "RSS": "RES",
    "SHARED": "SHR",
    "STATE": "S",
    "NAME": "COMMAND",
    "NICE": "NI",
    "PRI": "PR",
    "RATE": "GROWTH",
}
DEFAULT_SORT = "%CPU"


def resolve_sort(field: str) -> tuple[str, bool | None]:
    """Map a user's sort field (``RES``, ``%mem``, ``-pid``) to (column, descending or None).

    A leading ``+`` sorts high to low and ``-`` low to high, as top's ``-o`` does; no prefix means
    the column's natural order. Raises ValueError naming the accepted fields.
    """
    desc: bool | None = None
    name = field.strip()
    if name[:1] in "+-" and len(name) > 1:
        desc = name[0] == "+"
        name = name[1:]
    upper = name.upper()
    upper = ALIASES.get(upper, upper)
    if upper not in BY_NAME:
        raise ValueError(f"unknown sort field {field!r} (one of: {', '.join(BY_NAME)})")
    return upper, desc


_PID = attrgetter("pid")


def sort_rows(
    procs: Sequence[ProcSample],
    column: str,
    descending: bool,
    verdicts: dict | None = None,
) -> list[ProcSample]:
    """Sort like top: by the column, ties broken by pid ascending so the order is stable."""
    col = ALL_COLUMNS[column]
    verdicts = verdicts or {}
    by_pid = sorted(procs, key=_PID)  # in C: a sweep's rows come in pid order already
    return sorted(by_pid, key=lambda p: col.sort_key(p, verdicts.get(p.key)), reverse=descending)


def header_line(columns: Sequence[Column] = COLUMNS) -> str:
    return " ".join(header_cell(c) for c in columns)


def header_cell(c: Column) -> str:
    if not c.width:
        return c.name
    return c.name.rjust(c.width) if c.right else c.name.ljust(c.width)


def row_line(p: ProcSample, ctx: RowContext, columns: Sequence[Column] = COLUMNS) -> str:
    """A row of top-like batch text. A column with no value (GROWTH of a process that is not
    leaking) prints ``-``, so every line has the same fields and ``awk '{print $12}'`` means the
    same column on every line; the screen leaves such cells blank, where the eye needs no help."""
    return " ".join(c.cell(p, ctx, blank="-") for c in columns)

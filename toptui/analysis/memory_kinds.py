"""Which memory grows: per-kind rates, the kind that accounts for the growth, the mappings that
grew most. Pure functions over readings (no I/O): the detail view, batch mode and tests share
them.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingOf
from collections.abc import Sequence
from dataclasses import dataclass

from toptui.mapping_model import (
    ANON,
    FILE_PRIVATE,
    FILE_SHARED,
    HEAP,
    KIND_LABELS,
    KINDS,
    OTHER,
    SHMEM,
    STACK,
    CoarseSplit,
    Mapping,
)

# Below this much growth in all (bytes) there is nothing to account for: a few pages here and
# there move in every process.
MIN_GROWTH_BYTES = 256 * 1024
TOP_MAPPINGS = 5  # the mappings the detail view lists

# What growth of each kind usually means, in the words the detail view says it with.
MEANING = {
    HEAP: "heap memory (malloc's main arena, brk): objects the program keeps",
    ANON: "anonymous memory (malloc/mmap): objects the program keeps",
    FILE_PRIVATE: "file-backed private memory: a mapped file being read in (or copied on write)",
    FILE_SHARED: "file-backed shared memory: a mapped file being read in",
    SHMEM: "shmem: a tmpfs or shared segment",
    STACK: "stacks: threads started and not ended (or a deep recursion)",
    OTHER: "other mappings ([vdso] and the like)",
}
# The short name for a verdict's reason.
SHORT = {
    HEAP: "the heap",
    ANON: "anonymous memory (malloc/mmap)",
    FILE_PRIVATE: "file-backed private memory",
    FILE_SHARED: "file-backed shared memory",
    SHMEM: "shmem (tmpfs or a shared segment)",
    STACK: "stacks",
    OTHER: "other mappings",
}
# The coarse split of /proc/PID/status: RssAnon, RssFile, RssShmem, VmSwap.
COARSE_NAMES = ("anonymous (with heap and stacks)", "file-backed", "shmem", "swap")


@dataclass(frozen=True, slots=True)
class KindRow:
    """One kind in the detail view: RES now, change since first seen, rate (bytes/s)."""

    kind: int
    now: int
    change: int
    rate: float
    values: tuple[int, ...]  # every kept reading, oldest first (for a sparkline)


@dataclass(frozen=True, slots=True)
class Account:
    """The kind that grew most, and its share of all that grew."""

    kind: int
    share: float  # 0..1 of the sum of the kinds' growth
    growth: int  # bytes, of this kind

    @property
    def sentence(self) -> str:
        return f"{self.share:.0%} of the growth is {MEANING[self.kind]}"

    @property
    def reason(self) -> str:
        """The kind as a verdict's reason names it."""
        return f"what grows: {self.share:.0%} of it is {SHORT[self.kind]}"


def slope(t: Sequence[float], v: Sequence[float]) -> float:
    """Least-squares rate of ``v`` over ``t`` (per second); 0 with fewer than two times."""
    n = len(t)
    if n < 2 or t[-1] <= t[0]:
        return 0.0
    mt = sum(t) / n
    mv = sum(v) / n
    den = sum((x - mt) ** 2 for x in t)
    if den <= 0:
        return 0.0
    return sum((x - mt) * (y - mv) for x, y in zip(t, v, strict=True)) / den


def kind_rows(t: Sequence[float], kinds: Sequence[Sequence[int]]) -> list[KindRow]:
    """Per kind, from readings oldest first: now, change since the first, rate."""
    if not kinds:
        return []
    rows = []
    for k in range(len(KINDS)):
        values = tuple(r[k] for r in kinds)
        rows.append(KindRow(k, values[-1], values[-1] - values[0], slope(t, values), values))
    return rows


def account(first: Sequence[int], now: Sequence[int]) -> Account | None:
    """The kind that accounts for most of the growth from ``first`` to ``now`` (bytes per kind),
    or None when less than MIN_GROWTH_BYTES grew in all."""
    grown = [max(0, b - a) for a, b in zip(first, now, strict=True)]
    total = sum(grown)
    if total < MIN_GROWTH_BYTES:
        return None
    kind = max(range(len(grown)), key=grown.__getitem__)
    return Account(kind, grown[kind] / total, grown[kind])


def top_mappings(
    first_rss: MappingOf[int, int],
    mappings: Sequence[Mapping],
    n: int = TOP_MAPPINGS,
    first_rss_end: MappingOf[int, int] | None = None,
) -> list[tuple[Mapping, int]]:
    """The ``n`` mappings that grew most since first seen, with the growth. A mapping is the one
    first seen at the same start address (the heap grows at its end), else at the same end (the
    kernel merges new anonymous mappings in below an old one); else it is new, from 0."""
    ends = first_rss_end or {}
    grown = [(m, m.rss - first_rss.get(m.start, ends.get(m.end, 0))) for m in mappings]
    grown = [g for g in grown if g[1] > 0]
    grown.sort(key=lambda g: g[1], reverse=True)
    return grown[:n]


def stacks_note(threads: int, told_apart: int) -> str:
    """What the stacks row holds, when it is not simply every thread's stack."""
    others = threads - 1  # the main thread's is [stack]
    if others <= 0 or told_apart >= others:
        return ""
    if told_apart == 0:
        return (
            f"none of the {others} other threads' stacks could be told apart (no guard page "
            "under them): they count as anonymous"
        )
    return f"{others - told_apart} of {others} thread stacks could not be told apart: anonymous"


def coarse_growth(first: Sequence[int], now: Sequence[int]) -> Account | None:
    """:func:`account` over the coarse split (RssAnon, RssFile, RssShmem, VmSwap): ``kind`` is
    an index into COARSE_NAMES."""
    return account(first, now)


def coarse_account(first: CoarseSplit, now: CoarseSplit) -> str:
    """What grew, by the coarse split of /proc/PID/status, in a line; "" when little did."""
    a = (first.anon, first.file, first.shmem, first.swap)
    b = (now.anon, now.file, now.shmem, now.swap)
    found = coarse_growth(a, b)
    if found is None:
        return ""
    i = found.kind
    return f"{found.share:.0%} of the growth is {COARSE_NAMES[i]} (from /proc/PID/status)"


# What a recording's coarse split grows in, by column (its swap is the row's swap column).
COARSE_COLUMN_NAMES = ("rss_anon", "rss_file", "rss_shmem", "swap")
COARSE_SOURCE = "/proc/PID/status"
SMAPS_SOURCE = "smaps"


@dataclass(frozen=True, slots=True)
class Growing:
    """The kind that accounts for a recorded series' growth, between its first and last reading
    of that kind: ``kind`` is the recording's column name (``anon``, ``rss_shmem``...)."""

    kind: str
    share: float
    growth: int  # bytes of this kind
    source: str  # SMAPS_SOURCE or COARSE_SOURCE: what the readings were
    sentence: str  # in the detail view's words


def growing_kind(
    kinds: tuple[Sequence[int], Sequence[int]] | None,
    coarse: tuple[Sequence[int], Sequence[int]] | None,
) -> Growing | None:
    """From a series' first and last smaps kinds (KINDS order) or, without two of those, its
    first and last coarse split (COARSE_COLUMN_NAMES order): the kind that grew most, or None
    when neither is known or less than MIN_GROWTH_BYTES grew. smaps goes first: it tells the
    heap, stacks and file mappings apart."""
    if kinds is not None:
        found = account(*kinds)
        if found is not None:
            return Growing(KINDS[found.kind], found.share, found.growth, SMAPS_SOURCE,
                           found.sentence)  # fmt: skip
    if coarse is not None:
        found = coarse_growth(*coarse)
        if found is not None:
            words = f"{found.share:.0%} of the growth is {COARSE_NAMES[found.kind]}"
            return Growing(COARSE_COLUMN_NAMES[found.kind], found.share, found.growth,
                           COARSE_SOURCE, f"{words} (from {COARSE_SOURCE})")  # fmt: skip
    return None


def label_of(kind: int) -> str:
    return KIND_LABELS[kind]

"""Which processes a person asked to see: the narrowing shared by the table, the growth panel
and batch mode, so that all three mean the same by ``-u``/``u`` and ``\\``.

(``-p`` narrows at the sampler, which then reads only those processes; top's ``i``, idle tasks,
is the table's alone: the growth panel lists a leaker asleep at that instant all the same.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from toptui.model import ProcSample


def matches(p: ProcSample, needle: str) -> bool:
    """Case-insensitive match on the name or the command line (htop's filter and search)."""
    n = needle.lower()
    return n in p.name.lower() or n in p.command.lower()


@dataclass(frozen=True, slots=True)
class Narrowing:
    """One user's processes (``user``), and those matching ``text`` (the ``\\`` filter)."""

    user: str | None = None
    text: str | None = None

    def __bool__(self) -> bool:
        return self.user is not None or bool(self.text)

    def keeps(self, p: ProcSample) -> bool:
        return (self.user is None or p.user == self.user) and (
            not self.text or matches(p, self.text)
        )

    def apply(self, procs: Iterable[ProcSample]) -> list[ProcSample]:
        return [p for p in procs if self.keeps(p)] if self else list(procs)

    @property
    def note(self) -> str | None:
        """How it narrows, in a few words (the growth panel's title); None when it does not."""
        notes = [f"user {self.user}"] if self.user is not None else []
        notes += [f"filter {self.text}"] if self.text else []
        return ", ".join(notes) or None

"""The process tree (top's ``V``, htop's F5): parents above their children, with subtree RES.

A ``multiprocessing`` pool or a browser is one family; the subtree total shows what the family
holds, which is what runs out when each worker leaks a little.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from toptui.model import ProcKey, ProcSample


@dataclass(frozen=True, slots=True)
class TreeRow:
    proc: ProcSample
    prefix: str  # branch drawing, e.g. "│  └─ "
    depth: int
    subtree_res: int
    has_children: bool
    collapsed: bool


def build_tree(
    procs: Sequence[ProcSample],
    order: Callable[[Sequence[ProcSample]], list[ProcSample]],
    collapsed: Collection[ProcKey] = (),
) -> list[TreeRow]:
    """Depth-first rows; siblings ordered by ``order``; a collapsed node hides its descendants.

    A process whose parent is not in ``procs`` (filtered out, or pid 0) is a root, so filtering
    never loses a row. Cycles cannot occur in a real process table but are guarded anyway.
    """
    by_pid = {p.pid: p for p in procs}
    children: dict[int, list[ProcSample]] = {}
    roots: list[ProcSample] = []
    for p in procs:
        if p.ppid in by_pid and p.ppid != p.pid:
            children.setdefault(p.ppid, []).append(p)
        else:
            roots.append(p)

    # Subtree totals, children before parents, without recursion (a long chain is legal).
    subtree: dict[int, int] = {}
    order_all: list[ProcSample] = []
    seen_all: set[int] = set()
    pending = list(roots)
    while pending:
        p = pending.pop()
        if p.pid in seen_all:
            continue
        seen_all.add(p.pid)
        order_all.append(p)
        pending.extend(children.get(p.pid, ()))
    for p in reversed(order_all):
        subtree[p.pid] = p.res + sum(subtree.get(c.pid, 0) for c in children.get(p.pid, ()))

    rows: list[TreeRow] = []
    visited: set[int] = set()
    # Iterative DFS: deep chains (a fork bomb, a long pipeline) must not hit the recursion limit.
    stack: list[tuple[ProcSample, str, str, int]] = [(r, "", "", 0) for r in reversed(order(roots))]
    while stack:
        p, prefix, child_indent, depth = stack.pop()
        if p.pid in visited:
            continue
        visited.add(p.pid)
        kids = order(children.get(p.pid, []))
        folded = p.key in collapsed
        rows.append(TreeRow(p, prefix, depth, subtree.get(p.pid, p.res), bool(kids), folded))
        if folded:
            continue
        for i, c in reversed(list(enumerate(kids))):
            last = i == len(kids) - 1
            stack.append(
                (c, child_indent + ("└─ " if last else "├─ "),
                 child_indent + ("   " if last else "│  "), depth + 1)
            )  # fmt: skip
    return rows


def families(procs: Sequence[ProcSample]) -> dict[ProcKey, list[ProcKey]]:
    """Each process → the keys of all its descendants; a process without children is a family
    of one (an empty list), so a lone leaker is still judged when families are.

    Children of pid 0 (init, kthreadd) are skipped as heads when they have children: their family
    is the whole machine. Childless, they are a family of one like any other (a container's only
    process is pid 1).
    """
    by_pid = {p.pid: p for p in procs}
    children: dict[int, list[ProcSample]] = {}
    for p in procs:
        if p.ppid in by_pid and p.ppid != p.pid:
            children.setdefault(p.ppid, []).append(p)
    out: dict[ProcKey, list[ProcKey]] = {}
    for p in procs:
        if p.pid not in children:
            out[p.key] = []
            continue
        if p.ppid == 0:
            continue
        members: list[ProcKey] = []
        seen = {p.pid}
        pending = list(children[p.pid])
        while pending:
            c = pending.pop()
            if c.pid in seen:
                continue
            seen.add(c.pid)
            members.append(c.key)
            pending.extend(children.get(c.pid, ()))
        out[p.key] = members
    return out

"""top's five summary lines, as text, for batch mode and the screen's header."""

from __future__ import annotations

import time

from toptui.model import CpuStates, SystemStats
from toptui.render import format as fmt

_MIB = 1024.0 * 1024.0


def cpu_line(label: str, c: CpuStates) -> str:
    """``%Cpu(s):  0.5 us, ...`` or, per CPU, ``%Cpu0  :100.0 us, ...``: top's fields, 5 wide."""
    fields = (("us", c.us), ("sy", c.sy), ("ni", c.ni), ("id", c.id), ("wa", c.wa), ("hi", c.hi),
              ("si", c.si), ("st", c.st))  # fmt: skip
    return f"{label}:" + ",".join(f"{v:5.1f} {name}" for name, v in fields)


def summary_lines(
    system: SystemStats, wall: float | None = None, prog: str = "toptui", per_cpu: bool = False
) -> list[str]:
    """The same figures, in the same order and layout, as the top of ``top -b``.

    With ``per_cpu`` (top's 1 key) the %Cpu(s) line becomes one line per CPU, %Cpu0 first, when
    the snapshot has them; the other lines keep their places (uptime, tasks first; memory last).
    """
    local = time.localtime(wall if wall is not None else time.time())
    clock = time.strftime("%H:%M:%S", local)
    t = system.tasks
    m = system.memory
    memory = [
        f"MiB Mem : {m.total / _MIB:8.1f} total, {m.free / _MIB:8.1f} free, "
        f"{m.used / _MIB:8.1f} used, {m.buff_cache / _MIB:8.1f} buff/cache",
        f"MiB Swap: {m.swap_total / _MIB:8.1f} total, {m.swap_free / _MIB:8.1f} free, "
        f"{m.swap_used / _MIB:8.1f} used. {m.available / _MIB:8.1f} avail Mem",
    ]
    if system.recorded:
        # Say what a recording does not hold rather than show zeros that read as an idle machine.
        day = time.strftime("%Y-%m-%d", local)
        return [
            f"{prog} - {clock} {day}, from a recording: no uptime, users or load",
            f"Tasks: {t.total:3d} recorded (states not recorded)",
            "%Cpu(s): not recorded (the %CPU column is)",
            *memory,
        ]
    users = system.users
    plural = "s" if users > 1 else ""
    load = ", ".join(f"{x:.2f}" for x in system.load)
    if per_cpu and system.per_cpu:
        cpus = [cpu_line(f"%Cpu{i:<3d}", c) for i, c in enumerate(system.per_cpu)]
    else:
        cpus = [cpu_line("%Cpu(s)", system.cpu)]
    return [
        f"{prog} - {clock} {fmt.uptime(system.uptime_s)}, {users:2d} user{plural},"
        f"  load average: {load}",
        f"Tasks: {t.total:3d} total, {t.running:3d} running, {t.sleeping:3d} sleeping, "
        f"{t.stopped:3d} stopped, {t.zombie:3d} zombie",
        *cpus,
        *memory,
    ]


def with_note(line: str, note: str, width: int) -> str:
    """The first summary line with toptui's note ([PAUSED ...], [filter: ...]) kept in ``width``.

    The screen crops summary lines at the right edge, as top does; the note is appended last, so
    it would be the first thing lost (at 80 columns the uptime line alone takes 70). A note says
    how to read the screen, so the line gives way instead, cut after a comma where it can be.
    """
    if not note:
        return line
    full = f"{line}   {note}"
    if len(full) <= width:
        return full
    room = width - len(note) - 3
    cut = line[: max(0, room)]
    comma = cut.rfind(",")
    if comma > 0:
        cut = cut[: comma + 1]
    return f"{cut.rstrip()}   {note}" if cut.strip() else note

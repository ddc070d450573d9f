"""An exit does not move you: when the process the cursor follows exits, the cursor stays at its
place in the order (the row after it), never on a zombie; one notice says which process exited;
an open detail view keeps the last graph, marked with the time it exited.

The machine is synthetic: the test says when a process becomes a zombie and when it is reaped.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass

import pytest
from test_app import wait_for
from test_layout import screen_lines

from toptui.engine.monitor import Monitor
from toptui.model import CpuStates, MemoryStats, ProcSample, Snapshot, SystemStats, TaskCounts
from toptui.views.app import TopApp
from toptui.views.detail_screen import DetailScreen
from toptui.views.growth_plot import GrowthPlot

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux terminals")

MIB = 1 << 20
PAGE = 4096
SYSTEM = SystemStats(1.0, (0.0, 0.0, 0.0), 1, CpuStates(),
                     MemoryStats(16 << 30, 8 << 30, 8 << 30, 0, 0, 0, 0), TaskCounts())  # fmt: skip


@dataclass
class Proc:
    pid: int
    res_mib: int
    name: str
    program: str = ""
    rate: float = 0.0  # bytes per simulated second
    state: str = "S"


class Machine:
    """Processes the test can turn into zombies and reap; one simulated second per sample."""

    live = False  # not this machine: the Source protocol
    extras_for: frozenset = frozenset()

    def __init__(self, procs: list[Proc]) -> None:
        self.procs = {p.pid: p for p in procs}
        self.lock = threading.Lock()
        self.t = 0.0
        self.walls: list[float] = []  # the wall time of every sample taken

    def zombie(self, *pids: int) -> float:
        """These processes exit (not reaped yet) from the next sample; its wall time."""
        with self.lock:
            for pid in pids:
                self.procs[pid].state = "Z"
            return 1_700_000_000 + self.t + 1

    def reap(self, *pids: int) -> None:
        with self.lock:
            for pid in pids:
                del self.procs[pid]

    def sample(self) -> Snapshot:
        with self.lock:
            self.t += 1.0
            procs = tuple(
                ProcSample(key=(p.pid, 1), pid=p.pid, ppid=1, user="root", name=p.name,
                           command=f"/usr/bin/{p.name}", state=p.state, priority=20, nice=0,
                           threads=1, virt=0 if p.state == "Z" else 4 * p.res_mib * MIB,
                           res=0 if p.state == "Z" else
                           int(p.res_mib * MIB + p.rate * self.t) // PAGE * PAGE,
                           shr=0, cpu_percent=0.0, mem_percent=0.0, cpu_time=0.0,
                           create_time=0.0, program=p.program)
                for p in self.procs.values()
            )  # fmt: skip
            wall = 1_700_000_000 + self.t
            self.walls.append(wall)
        return Snapshot(1000.0 + self.t, wall, 1.0, SYSTEM, procs)


def machine() -> Machine:
    """Sorted by RES: big, large, the leaker (followed), short (a short-lived neighbour), small,
    then twenty idle ones (kernel-thread-like, RES 0 would be 1 MiB here)."""
    procs = [
        Proc(10, 500, "big"),
        Proc(11, 400, "large"),
        Proc(7250, 300, "python3", program="python3 leaker.py", rate=128 * 1024),
        Proc(12, 200, "short"),
        Proc(13, 100, "small"),
    ] + [Proc(100 + i, 1, f"idle{i}") for i in range(20)]
    return Machine(procs)


def notices(app: TopApp, needle: str) -> list[str]:
    return [str(n.message) for n in app._notifications if needle in str(n.message)]


async def following_the_leaker(pilot, app: TopApp) -> None:
    await wait_for(pilot, lambda: len(app.table.rows) == 25)
    await pilot.press("M", "down", "down")  # by RES: the third row
    assert app.table.selected.pid == 7250 and app.table.following


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
async def test_the_cursor_stays_at_its_place_when_the_followed_process_exits(size):
    m = machine()
    app = TopApp(interval_s=0.05, monitor=Monitor(m, interval_s=1.0))  # type: ignore[arg-type]
    async with app.run_test(size=size) as pilot:
        await following_the_leaker(pilot, app)
        index, top = app.table.cursor_index, app.table.scroll_offset.y
        # It exits, and so does the row after it (a short-lived neighbour): both zombies now,
        # with RES 0, they sink to the bottom of the order.
        m.zombie(7250, 12)
        await wait_for(pilot, lambda: app.table.cursor_key != (7250, 1))
        assert app.table.selected.pid == 13  # the next live row after it, not the zombie
        assert app.table.selected.state != "Z"
        assert app.table.cursor_index == index and app.table.scroll_offset.y == top
        await wait_for(pilot, lambda: notices(app, "exited"))
        assert notices(app, "exited") == ["PID 7250 (python3 leaker.py) exited"]
        # Reaped: gone from the rows. The cursor does not move again, and nothing more is said.
        m.reap(7250, 12)
        await wait_for(pilot, lambda: len(app.table.rows) == 23)
        seen = app.frames_seen
        await wait_for(pilot, lambda: app.frames_seen >= seen + 3)
        assert app.table.selected.pid == 13 and app.table.cursor_index == index
        assert notices(app, "exited") == ["PID 7250 (python3 leaker.py) exited"]


async def test_an_exit_without_a_zombie_and_the_last_row():
    m = machine()
    app = TopApp(interval_s=0.05, monitor=Monitor(m, interval_s=1.0))  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await following_the_leaker(pilot, app)
        m.reap(7250)  # gone at once (reaped by its parent straight away)
        await wait_for(pilot, lambda: app.table.cursor_key != (7250, 1))
        assert app.table.selected.pid == 12 and app.table.cursor_index == 2
        await wait_for(pilot, lambda: notices(app, "PID 7250"))
        # On the last row, the one before it takes the cursor.
        await pilot.press("end")
        last = app.table.selected
        m.reap(last.pid)
        await wait_for(pilot, lambda: app.table.cursor_key != last.key)
        assert app.table.cursor_index == len(app.table.rows) - 1
        await wait_for(pilot, lambda: notices(app, f"PID {last.pid} ({last.name}) exited"))


async def test_a_zombie_chosen_on_purpose_is_not_an_exit():
    m = machine()
    m.procs[13].state = "Z"
    app = TopApp(interval_s=0.05, monitor=Monitor(m, interval_s=1.0), sort="PID",
                 descending=False)  # type: ignore[arg-type]  # fmt: skip
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.table.rows) == 25)
        await pilot.press("down", "down", "down")  # 10, 11, 12, 13
        assert app.table.selected.pid == 13 and app.table.selected.state == "Z"
        seen = app.frames_seen
        await wait_for(pilot, lambda: app.frames_seen >= seen + 3)
        assert app.table.selected.pid == 13 and not notices(app, "exited")


async def test_a_filter_that_hides_the_followed_process_is_not_an_exit():
    m = machine()
    app = TopApp(interval_s=0.05, monitor=Monitor(m, interval_s=1.0))  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await following_the_leaker(pilot, app)
        await pilot.press("backslash", *"sma", "enter")  # small only: not the leaker
        assert app.table.selected.pid == 13
        await pilot.pause(0.2)
        assert not notices(app, "exited")


def clock(t_wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t_wall))


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
async def test_an_open_detail_view_keeps_the_last_graph_marked_exited(size):
    m = machine()
    app = TopApp(interval_s=0.05, monitor=Monitor(m, interval_s=1.0))  # type: ignore[arg-type]
    async with app.run_test(size=size) as pilot:
        await following_the_leaker(pilot, app)
        await wait_for(pilot, lambda: len(m.walls) >= 10)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen) and app.screen.key == (7250, 1)
        plot = app.screen.query_one(GrowthPlot)
        title = app.screen.query_one("#detail-title")
        await wait_for(pilot, lambda: plot._series is not None and len(plot._series.t) >= 10)
        exit_wall = m.zombie(7250)
        await wait_for(pilot, lambda: "exited at" in str(title.content))
        text = str(title.content)
        shown = text.split("exited at ")[1][:8]
        assert shown in {clock(w) for w in m.walls if w >= exit_wall}, (text, exit_wall)
        assert "python3 leaker.py" in text
        last = plot._series
        assert last is not None and len(last.t) >= 10 and min(last.res) > 0
        # Reaped: still the same graph and mark, frame after frame.
        m.reap(7250)
        seen = app.frames_seen
        await wait_for(pilot, lambda: app.frames_seen >= seen + 5)
        assert plot._series is last and f"exited at {shown}" in str(title.content)
        assert "⣿ RES" in plot.render().plain  # the graph is still drawn
        assert f"exited at {shown}" in "\n".join(screen_lines(app))
        # Nothing left to signal: k says so instead of acting on another process.
        await pilot.press("k")
        assert isinstance(app.screen, DetailScreen)
        await wait_for(pilot, lambda: notices(app, "PID 7250 has exited"))

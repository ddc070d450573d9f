"""A leak pushed into swap stays a leak: the detector judges RES plus the process's VmSwap."""

from __future__ import annotations

import os
from dataclasses import replace

from test_history import SYSTEM, proc

from toptui.engine.monitor import Monitor, judge_every_for
from toptui.model import Snapshot
from toptui.sampling import procfs
from toptui.sampling.sampler import Sampler

KIB = 1024
MIB = 1024 * KIB

STATUS = (
    b"Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\nVmRSS:\t  81234 kB\nVmSwap:\t   2048 kB\n"
)


def test_vmswap_is_read_in_bytes_and_absent_is_none():
    assert procfs.parse_vmswap(STATUS) == 2048 * 1024
    assert procfs.parse_vmswap(b"Name:\tkthreadd\nState:\tS (sleeping)\n") is None


class Swapping:
    """A leak of 200 KiB/s whose pages are pushed to swap as fast as it grows: RES stays flat."""

    live = False

    def __init__(self, swap_counts: bool = True) -> None:
        self.tick, self.swap_counts = 0, swap_counts
        self.row = proc(7, 7, 300 * MIB)

    def sample(self) -> Snapshot:
        grown = self.tick * 200 * KIB
        # RES wobbles but does not grow; swap takes the growth
        row = replace(self.row, res=300 * MIB + (self.tick % 3) * 4096,
                      swap=grown if self.swap_counts else 0)  # fmt: skip
        self.tick += 1
        return Snapshot(1000.0 + self.tick, 0.0, 1.0, SYSTEM, (row,))


def verdict_after(source: Swapping, ticks: int) -> str:
    mon = Monitor(source, interval_s=1.0, judge_every_s=judge_every_for(1.0))
    mon.judge_budget_s = float("inf")
    for _ in range(ticks):
        frame = mon.step()
    return frame.verdicts[(7, 7)].verdict


def test_a_leak_pushed_into_swap_stays_a_leak():
    assert verdict_after(Swapping(), 240) == "leak"
    # the same RES without swap counted: nothing grows
    assert verdict_after(Swapping(swap_counts=False), 240) == "no_leak"


def test_the_sampler_reads_vmswap_only_while_swap_is_in_use():
    me = os.getpid()
    sampler = Sampler(pids=[me])
    sampler._swap_in_use = True  # as after a sweep that saw swap used
    mine = next(p for p in sampler.sample().procs if p.pid == me)
    assert mine.swap == (procfs.read_vmswap(me) or 0)
    assert mine.judged_bytes == mine.res + mine.swap

"""The screen's launch: the first sweep taken before the screen exists is its first frame, a
failed first sweep is said and sampling goes on, and garbage collection comes back after it."""

import gc
import sys

import pytest
from children import MemoryChild
from test_app import SIZE, wait_for

from toptui.engine.first_step import FirstStep
from toptui.engine.monitor import Monitor
from toptui.sampling.sampler import Sampler
from toptui.views.app import TopApp

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


async def test_the_first_step_taken_before_the_screen_is_its_first_frame():
    with MemoryChild(start_mib=2) as child:
        monitor = Monitor(Sampler(pids=[child.pid]), interval_s=1.0)
        first = FirstStep(monitor)
        app = TopApp(interval_s=60.0, monitor=monitor, first_step=first)  # no second frame
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.frames_seen >= 1)
            shown = app.frame
            assert shown is not None and shown is first.take()
            assert [p.pid for p in shown.snapshot.procs] == [child.pid]
            assert monitor.tick == 1  # the loop did not sweep again for its first frame


class _FailsFirst(Sampler):
    """The live sampler, but its first sweep raises (as /proc unreadable for a moment would)."""

    def __init__(self, pid: int) -> None:
        super().__init__(pids=[pid])
        self.calls = 0

    def sample(self):
        self.calls += 1
        if self.calls == 1:
            raise OSError("first sweep failed")
        return super().sample()


async def test_a_failed_first_step_is_said_and_sampling_goes_on():
    with MemoryChild(start_mib=2) as child:
        monitor = Monitor(_FailsFirst(child.pid), interval_s=1.0)
        first = FirstStep(monitor)
        app = TopApp(interval_s=0.1, monitor=monitor, first_step=first)
        notes = []
        notify = app.notify
        app.notify = lambda message, **kw: (notes.append(message), notify(message, **kw))[1]
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.frames_seen >= 1)
            assert any("first sweep failed" in n for n in notes)
            assert [p.pid for p in app.frame.snapshot.procs] == [child.pid]


async def test_garbage_collection_is_back_once_the_first_frame_is_painted():
    with MemoryChild(start_mib=2) as child:
        app = TopApp(interval_s=0.2, pids=[child.pid])
        gc.disable()  # as the command line does for the launch
        try:
            async with app.run_test(size=SIZE) as pilot:
                await wait_for(pilot, lambda: app.frames_seen >= 1)
                await wait_for(pilot, gc.isenabled)
        finally:
            gc.enable()
            gc.unfreeze()

"""End to end through the core loop with real children: real RES, simulated clock.

The children allocate real memory step by step while the sampler's clock advances one second per
step, so 90 s of history take a second of wall time and the verdict is the one the screen and
batch mode would give after 90 real seconds.
"""

import sys

import pytest
from children import MemoryChild

from toptui.engine.monitor import Monitor
from toptui.sampling.sampler import Sampler

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
MIB = 1024 * 1024


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def run(child: MemoryChild, seconds: int, grow_at=lambda s: 0) -> list:
    clock = FakeClock()
    mon = Monitor(Sampler(pids=[child.pid], clock=clock), interval_s=1.0, judge_every_s=1.0)
    verdicts = []
    for second in range(seconds + 1):
        mib = grow_at(second)
        if mib:
            child.grow(mib)
        frame = mon.step()
        (p,) = frame.snapshot.procs
        verdicts.append((second, p, frame.verdicts.get(p.key)))
        clock.t += 1.0
    return verdicts


def test_child_leaking_1mib_per_second_is_flagged_within_90s():
    with MemoryChild(start_mib=8) as child:
        seen = run(child, 90, grow_at=lambda s: 1 if s else 0)
    flagged = [s for s, _, v in seen if v is not None and v.verdict == "leak"]
    assert flagged, "a 1 MiB/s leak was not flagged within 90 s"
    second, _, _ = next(x for x in seen if x[0] == flagged[0])
    assert second <= 90
    final = seen[-1][2]
    assert final.verdict == "leak"
    assert final.rate_bytes_per_s == pytest.approx(MIB, rel=0.3)
    assert final.reasons


def test_large_flat_child_is_not_flagged():
    with MemoryChild(start_mib=40) as child:
        seen = run(child, 150)
    assert all(v is None or v.verdict != "leak" for _, _, v in seen)
    assert seen[-1][2].verdict == "no_leak"
    assert seen[-1][1].res >= 40 * MIB


def test_one_off_40mib_allocation_is_not_a_leak():
    with MemoryChild(start_mib=2) as child:
        seen = run(child, 200, grow_at=lambda s: 40 if s == 30 else 0)
    assert seen[-1][2].verdict == "no_leak"


def test_collecting_says_how_long_is_needed():
    with MemoryChild(start_mib=2) as child:
        seen = run(child, 5)
    v = seen[-1][2]
    assert v.verdict == "collecting"
    assert v.need_s > 0


@pytest.mark.parametrize(("history_s", "flagged"), [(600.0, False), (60.0, True)])
def test_toptui_is_not_flagged_while_its_own_history_fills(history_s, flagged):
    """Its own RES grows by design until every ring is full; after that it is judged as any,
    on the samples taken since (the window still holding the fill is no evidence)."""
    import os

    clock = FakeClock()
    me = os.getpid()
    mon = Monitor(Sampler(pids=[me], clock=clock), interval_s=1.0, history_s=history_s,
                  judge_every_s=1.0)  # fmt: skip
    kept = []
    for _ in range(130):  # past a 60 s history: judged on the 70 s after the fill
        kept.append(b"x" * (512 * 1024))  # real pages: RES grows steadily
        frame = mon.step()
        clock.t += 1.0
    (p,) = frame.snapshot.procs
    v = frame.verdicts[p.key]
    assert (v.verdict == "leak") == flagged, v.reasons
    if not flagged:
        assert "toptui itself" in v.reasons[0]


def test_toptui_that_stopped_growing_is_not_flagged_once_its_history_is_full():
    """The fill ramp in the window must not make it a leak the moment the exemption ends."""
    import os

    clock = FakeClock()
    mon = Monitor(Sampler(pids=[os.getpid()], clock=clock), interval_s=1.0, history_s=60.0,
                  judge_every_s=1.0)  # fmt: skip
    kept = []
    seen = []
    for i in range(150):
        if i < 55:
            kept.append(b"x" * (512 * 1024))  # grows while the history fills, then flat
        frame = mon.step()
        seen.extend(v.verdict for v in frame.verdicts.values())
        clock.t += 1.0
    assert "leak" not in seen


def test_a_zombie_leaves_no_verdict_behind():
    """A flagged process that exits and stays unreaped is no longer listed as a leak."""
    from dataclasses import replace as dc_replace

    from toptui.model import Snapshot

    class Replayed:
        def __init__(self, snaps):
            self.snaps = iter(snaps)

        def sample(self) -> Snapshot:
            return next(self.snaps)

    with MemoryChild(start_mib=8) as child:
        clock = FakeClock()
        live = Sampler(pids=[child.pid], clock=clock)
        snaps = []
        for _ in range(100):
            child.grow(1)
            snaps.append(live.sample())
            clock.t += 1.0
    last = snaps[-1]
    zombie = tuple(dc_replace(p, state="Z", res=0) for p in last.procs)
    snaps += [dc_replace(last, t_mono=last.t_mono + i, procs=zombie) for i in range(1, 4)]
    mon = Monitor(Replayed(snaps), interval_s=1.0, judge_every_s=1.0)
    for _ in range(100):
        frame = mon.step()
    assert frame.leaks()
    for _ in range(3):
        frame = mon.step()
    assert not frame.leaks() and not frame.verdicts

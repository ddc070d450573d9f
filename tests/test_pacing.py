"""The one pacing rule, on a fake clock: steady periods, and no burst after a late sweep."""

from toptui.engine.pacing import Pacer


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_the_period_does_not_stretch_by_the_time_a_sweep_takes():
    clock = Clock()
    pacer = Pacer(1.0, clock)
    clock.t += 0.3  # the sweep took 0.3 s
    assert abs(pacer.wait_s() - 0.7) < 1e-9
    clock.t += 0.7 + 0.2
    assert abs(pacer.wait_s() - 0.8) < 1e-9


def test_a_late_sweep_or_a_suspend_is_followed_by_a_full_period_not_a_burst():
    clock = Clock()
    pacer = Pacer(1.0, clock)
    clock.t += 5.0  # suspended for 5 s
    assert pacer.wait_s() == 1.0
    clock.t += 1.0
    assert pacer.wait_s() == 1.0  # back on a steady period from there


def test_a_new_period_applies_from_the_next_sample():
    clock = Clock()
    pacer = Pacer(1.0, clock)
    pacer.period_s = 3.0
    assert pacer.wait_s() == 3.0
    pacer.restart()
    clock.t += 0.5
    assert abs(pacer.wait_s() - 2.5) < 1e-9


def test_a_typed_delay_is_checked_against_the_bounds_and_the_history():
    from toptui.engine.pacing import DelayChoice, choose_delay

    # 3600 samples per process, sized for an hour at 1 s; 90 s of history is the least.
    assert choose_delay("2", 3600, 3600.0, 90.0) == DelayChoice(2.0)
    assert choose_delay("abc", 3600, 3600.0, 90.0).delay_s is None
    assert choose_delay("0", 3600, 3600.0, 90.0).severity == "error"
    assert choose_delay("1e9", 3600, 3600.0, 90.0).delay_s is None
    too_fast = choose_delay("0.01", 3600, 3600.0, 90.0)
    assert too_fast.delay_s is None and "start toptui with -d 0.01" in too_fast.message
    shorter = choose_delay("0.5", 3600, 3600.0, 90.0)
    assert shorter == DelayChoice(0.5, shorter.message, "warning")
    assert "covers 1800s" in shorter.message

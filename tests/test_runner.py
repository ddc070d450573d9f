"""The one sampling loop (toptui.engine.runner.Runner) the screen, batch mode and serve run."""

from __future__ import annotations

import threading

import pytest

from toptui.engine.runner import Runner

WAIT_S = 60.0


class Steps:
    """A step function that counts its calls, and fails on the ones asked for."""

    def __init__(self, fail_on: set[int] = frozenset()) -> None:
        self.calls = 0
        self.fail_on = fail_on

    def __call__(self) -> int:
        self.calls += 1
        if self.calls in self.fail_on:
            raise RuntimeError(f"sweep {self.calls} failed")
        return self.calls


def test_runs_the_frames_asked_for_in_order():
    published: list[int] = []
    n = Runner(Steps(), 0.0, published.append).run(iterations=4)
    assert (n, published) == (4, [1, 2, 3, 4])


def test_a_failed_step_ends_the_run_without_a_handler():
    with pytest.raises(RuntimeError, match="sweep 2"):
        Runner(Steps({2}), 0.0, lambda f: None).run(iterations=3)


def test_a_handler_keeps_the_loop_going_and_hears_of_each_failure():
    published: list[int] = []
    errors: list[str] = []
    runner = Runner(Steps({2, 3}), 0.0, published.append, on_error=lambda e: errors.append(str(e)))
    assert runner.run(iterations=5) == 5
    assert published == [1, 4, 5]
    assert errors == ["sweep 2 failed", "sweep 3 failed"]


def test_a_handler_that_stops_ends_the_run():
    published: list[int] = []
    runner: Runner

    def failed(exc: Exception) -> None:
        runner.stop()

    runner = Runner(Steps({2}), 0.0, published.append, on_error=failed)
    runner.run()
    assert published == [1]


def test_held_steps_one_frame_per_press_never_merged():
    published: list[int] = []
    two = threading.Event()

    def publish(frame: int) -> None:
        published.append(frame)
        if len(published) == 2:
            two.set()

    runner = Runner(Steps(), 3600.0, publish, held=lambda: True)
    thread = runner.start()
    for _ in range(2):
        runner.press_step()
    assert two.wait(WAIT_S)
    runner.stop()
    thread.join(WAIT_S)
    assert not thread.is_alive()
    assert published == [1, 2]


def test_dropped_presses_are_not_played():
    published: list[int] = []
    runner: Runner

    def publish(frame: int) -> None:
        published.append(frame)
        runner.stop()

    runner = Runner(Steps(), 3600.0, publish, held=lambda: True)
    for _ in range(3):
        runner.press_step()
    runner.drop_steps()
    runner.press_step()
    runner.run()
    assert published == [1]
    assert runner._presses.empty()  # the three dropped presses are gone, not queued


def test_stop_and_wake_cut_a_long_wait_short():
    published: list[int] = []
    second = threading.Event()

    def publish(frame: int) -> None:
        published.append(frame)
        if frame == 2:
            second.set()

    runner = Runner(Steps(), 3600.0, publish)
    thread = runner.start()
    runner.wake()  # the hour-long wait after the first frame ends now
    assert second.wait(WAIT_S)
    runner.stop()
    thread.join(WAIT_S)
    assert not thread.is_alive()
    assert published[:2] == [1, 2]


def test_an_outside_stopper_ends_the_run():
    stop = threading.Event()
    published: list[int] = []

    def publish(frame: int) -> None:
        published.append(frame)
        if frame == 3:
            stop.set()

    assert Runner(Steps(), 0.0, publish, stop=stop).run() == 3
    assert published == [1, 2, 3]

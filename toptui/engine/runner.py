"""The sampling loop every front end runs: step the monitor, hand on the frame, wait one period.

The screen runs it in a daemon thread (a /proc sweep in the event loop would block key presses),
batch mode in the main thread, ``toptui serve`` in a thread beside its HTTP server. One loop, so
one pacing rule (:class:`~toptui.engine.pacing.Pacer`: steady, and never a burst after a late
sweep or a suspend) and one way of stopping. Textual-free: what a frame is shown on is the
caller's ``publish``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from toptui.engine.monitor import Frame
from toptui.engine.pacing import Pacer


class Stopper(Protocol):
    """What ends a run from outside: a ``threading.Event``, or the CLI's signal waiter."""

    def wait(self, timeout: float | None = None) -> bool: ...


class Runner:
    """Calls ``step`` every ``period_s`` seconds and ``publish`` with each frame.

    ``held`` (a replay that is paused or at its end) makes the loop wait for :meth:`press_step`
    instead of the clock: one frame per press, presses never merged. ``on_error`` decides what a
    failed step does: without one the exception ends :meth:`run`; with one the loop goes on
    (the next sweep may well work) unless the handler calls :meth:`stop`. ``stop`` is an outside
    stopper (the CLI's signals); the runner's own :meth:`stop` and :meth:`wake` work too.
    """

    def __init__(
        self,
        step: Callable[[], Frame],
        period_s: float,
        publish: Callable[[Frame], None],
        *,
        on_error: Callable[[Exception], None] | None = None,
        held: Callable[[], bool] | None = None,
        stop: Stopper | None = None,
    ) -> None:
        self.period_s = period_s  # read at each wait: a new interval applies from the next one
        self.last_step_s = 0.0  # how long the last step took (serve exports it)
        self._step = step
        self._publish = publish
        self._on_error = on_error
        self._held = held or (lambda: False)
        self._outside = stop
        self._stopped = False
        self._wake = threading.Event()
        self._presses: queue.SimpleQueue[None] = queue.SimpleQueue()

    # -- from other threads ------------------------------------------------------------------

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def wake(self) -> None:
        """Cut the current wait short: the next step comes now (a new interval, Z, quitting)."""
        self._wake.set()

    def press_step(self) -> None:
        """One more frame while held ('.' in a paused replay)."""
        self._presses.put(None)
        self._wake.set()

    def drop_steps(self) -> None:
        """Presses not yet served are void (a paused replay that plays on)."""
        while not self._presses.empty():
            self._presses.get_nowait()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def start(self, name: str = "toptui-sampler") -> threading.Thread:
        thread = threading.Thread(target=self.run, name=name, daemon=True)
        thread.start()
        return thread

    # -- the loop ----------------------------------------------------------------------------

    def run(self, iterations: int | None = None) -> int:
        """Step until stopped (or ``iterations`` frames); returns the number of frames."""
        pacer = Pacer(self.period_s)
        n = 0
        while not self._stopped and (iterations is None or n < iterations):
            held = self._held()
            if held:
                try:
                    self._presses.get(timeout=0.1)
                except queue.Empty:
                    pacer.restart()
                    continue
            started = time.monotonic()
            try:
                frame = self._step()
            except Exception as exc:
                if self._on_error is None:
                    raise
                self._on_error(exc)
            else:
                self.last_step_s = time.monotonic() - started
                self._publish(frame)
            n += 1
            if held:
                self._wake.clear()  # the press that woke us is served
                continue
            if iterations is not None and n >= iterations:
                break
            pacer.period_s = self.period_s
            if self._wait(pacer.wait_s()):
                break
        return n

    def _wait(self, timeout: float) -> bool:
        """Wait out ``timeout`` (or less, when woken); True when the run is to end."""
        if self._outside is not None and self._outside.wait(timeout):
            self._stopped = True
        elif self._outside is None:
            self._wake.wait(timeout)
            self._wake.clear()
        return self._stopped

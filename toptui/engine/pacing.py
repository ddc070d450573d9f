"""When the next sample is due: one pacing rule for the screen, batch mode and any service.

Samples come a steady period apart, scheduled against a deadline so the period does not stretch
by however long a sweep takes. A sweep that overran, or a process that was suspended (Ctrl+Z, a
machine asleep), never leads to a burst of samples taken back to back to "catch up": the time
missed is a gap in the history, and the next sample comes one period after the late one.
Textual-free and clock-injectable, so the rule is tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

# The refresh interval's bounds, the same for -d, the d key and a saved setting.
MIN_DELAY_S = 0.01
MAX_DELAY_S = 86400.0


class Pacer:
    """Call :meth:`wait_s` after each sample: how long to wait before the next one."""

    def __init__(self, period_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.period_s = period_s
        self._clock = clock
        self._deadline = clock()

    def restart(self) -> None:
        """The next period counts from now (after a pause, or a step taken by hand)."""
        self._deadline = self._clock()

    def wait_s(self) -> float:
        """Seconds until the next sample is due (0 when it is due now)."""
        self._deadline += self.period_s
        now = self._clock()
        if self._deadline < now:  # overran or was suspended: a full period from now, no burst
            self._deadline = now + self.period_s
        return self._deadline - now


class DelayChoice(NamedTuple):
    """What a new refresh interval typed at the screen (d, s) comes to: ``delay_s`` is None
    when it is refused; ``message`` says why, or (``severity`` warning) what it costs."""

    delay_s: float | None
    message: str = ""
    severity: str = "information"


def choose_delay(text: str, history_samples: int, history_s: float,
                 least_history_s: float) -> DelayChoice:  # fmt: skip
    """Check a typed interval against -d's bounds and the history sized at start-up
    (``history_samples`` per process): an interval so fast that the history would hold less
    than ``least_history_s`` is refused, one that shortens it is taken with a warning."""
    try:
        delay = float(text)
        if not MIN_DELAY_S <= delay <= MAX_DELAY_S:
            raise ValueError
    except ValueError:
        return DelayChoice(None, f"delay must be a number of seconds from {MIN_DELAY_S:g} to "
                                 f"{MAX_DELAY_S:g}, not {text!r}", "error")  # fmt: skip
    covered = history_samples * delay
    if covered < least_history_s:
        return DelayChoice(None, f"{delay:g}s is too fast for the history sized at start-up: it "
                                 f"would hold {covered:.0f}s; start toptui with -d {delay:g} "
                                 "instead", "error")  # fmt: skip
    if covered < history_s:
        return DelayChoice(delay, f"memory history now covers {covered:.0f}s (sized for the "
                                  "start-up interval; -d sets it)", "warning")  # fmt: skip
    return DelayChoice(delay)

"""The monitor's first step, taken in a thread of its own as soon as the command line is parsed.

The screen's launch is two long jobs: importing Textual and building the screen (~0.3 s of CPU),
and the first /proc sweep of every process, with the store's history when there is one (0.15 s
for 2000 processes, more with an hour of history to restore). Run one after the other they add
up; the sweep's system calls (open/read of /proc) and the store's file reads release the GIL, so
started first they overlap the import. The screen's sampling loop then takes this frame as its
first one instead of stepping again (:meth:`FirstStep.take`).
"""

from __future__ import annotations

import threading

from toptui.engine.monitor import Frame, Monitor


class FirstStep:
    """``monitor.step()`` once, in a daemon thread started at once; :meth:`take` waits for it."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self._frame: Frame | None = None
        self._error: Exception | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="toptui-first-step", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._frame = self.monitor.step()
        except Exception as exc:  # handed to whoever takes the frame, as a step's own error
            self._error = exc
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def take(self) -> Frame:
        """The first frame, once taken (raises what the step raised)."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._frame is not None
        return self._frame

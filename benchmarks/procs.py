"""Many idle processes for the benchmarks, always cleaned up.

One helper process, in a session (and process group) of its own, starts ``sleep`` children and
waits. On exit it kills and reaps them; if it cannot (it was killed itself), the caller kills the
whole process group. The children also sleep for at most an hour, so nothing outlives a lost bench.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from types import TracebackType

_SPAWNER = r"""
import os, signal, sys
kids = []
def stop(*_):
    for pid in kids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in kids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
for _ in range(int(sys.argv[1])):
    kids.append(os.posix_spawnp("sleep", ["sleep", "3600"], os.environ))
sys.stdout.write("ok\n")
sys.stdout.flush()
sys.stdin.read()  # until the bench closes our stdin (or dies)
stop()
"""


def count_processes() -> int:
    return sum(1 for name in os.listdir("/proc") if name.isdigit())


class IdleProcesses:
    """``with IdleProcesses(total=2000):`` the machine has about ``total`` processes inside."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> IdleProcesses:
        extra = max(0, self.total - count_processes() - 1)  # -1: the helper itself
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _SPAWNER, str(extra)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
            text=True,
        )
        try:
            assert self._proc.stdout is not None
            if self._proc.stdout.readline().strip() != "ok":
                raise RuntimeError("could not start the idle processes")
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # the helper kills and reaps its children, then exits
            proc.wait(timeout=30)
        except (subprocess.TimeoutExpired, OSError):
            pass
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
            if proc.poll() is None:
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _group_alive(proc.pid):
            time.sleep(0.05)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

"""Acting on processes (signals, nice) without ever hitting the wrong one.

Between the moment a person picks a row and the moment they confirm, the process may exit and
its pid be given to another. So every action first re-reads the start time from /proc and acts
only if the identity (pid, start ticks) is still the one that was selected. The remaining window
between that check and the syscall is microseconds; pidfd_send_signal would close it entirely
where available, and is used when Python offers it.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

from toptui.model import ProcKey
from toptui.sampling import procfs

# The signals top and htop offer first, in the order people reach for them.
SIGNALS: tuple[tuple[str, int], ...] = tuple(
    (name, int(getattr(signal, name)))
    for name in (
        "SIGTERM",
        "SIGKILL",
        "SIGINT",
        "SIGHUP",
        "SIGQUIT",
        "SIGSTOP",
        "SIGCONT",
        "SIGUSR1",
        "SIGUSR2",
        "SIGABRT",
        "SIGALRM",
    )
    if hasattr(signal, name)
)


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    message: str


def current_identity(pid: int) -> ProcKey | None:
    """(pid, start ticks) of whatever process holds ``pid`` now, or None if none does."""
    try:
        st = procfs.parse_stat(procfs.read_file(f"/proc/{pid}/stat"))
    except (procfs.Gone, OSError, ValueError, IndexError):
        return None
    return (pid, st.starttime)


def _check(key: ProcKey, label: str) -> Outcome | None:
    now = current_identity(key[0])
    if now is None:
        return Outcome(False, f"{label}: the process has already exited")
    if now != key:
        return Outcome(False, f"{label}: pid {key[0]} now belongs to another process; nothing done")
    return None


def send_signal(key: ProcKey, signum: int, label: str | None = None) -> Outcome:
    """Signal the process only if ``key`` still identifies it."""
    label = label or f"PID {key[0]}"
    name = signal.Signals(signum).name
    problem = _check(key, label)
    if problem is not None:
        return problem
    try:
        if hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal"):
            fd = os.pidfd_open(key[0])
            try:
                # The pidfd pins this exact process: re-check, then signal through it.
                problem = _check(key, label)
                if problem is not None:
                    return problem
                signal.pidfd_send_signal(fd, signum)
            finally:
                os.close(fd)
        else:
            os.kill(key[0], signum)
    except ProcessLookupError:
        return Outcome(False, f"{label}: the process has already exited")
    except PermissionError:
        return Outcome(False, f"{label}: permission denied to send {name} (not your process?)")
    except OSError as exc:
        return Outcome(False, f"{label}: {name} failed: {exc.strerror or exc}")
    return Outcome(True, f"{label}: sent {name}")


def renice(key: ProcKey, nice: int, label: str | None = None) -> Outcome:
    """Set the nice value (-20..19) of the process only if ``key`` still identifies it."""
    label = label or f"PID {key[0]}"
    if not -20 <= nice <= 19:
        return Outcome(False, f"{label}: nice must be between -20 and 19, not {nice}")
    problem = _check(key, label)
    if problem is not None:
        return problem
    try:
        os.setpriority(os.PRIO_PROCESS, key[0], nice)
    except ProcessLookupError:
        return Outcome(False, f"{label}: the process has already exited")
    except PermissionError:
        return Outcome(False, f"{label}: permission denied to renice to {nice}")
    except OSError as exc:
        return Outcome(False, f"{label}: renice failed: {exc.strerror or exc}")
    return Outcome(True, f"{label}: nice is now {nice}")

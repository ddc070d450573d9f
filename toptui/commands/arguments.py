"""Command-line pieces shared by ``toptui`` and ``toptui analyze``."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import pwd
import sys
from collections.abc import Callable
from typing import IO, NoReturn

DEFAULT_DELAY_S = 2.0  # the screen's, batch mode's and toptui serve's
# Bounds that keep every derived quantity finite: a timed wait must fit the platform's time_t
# (threading.TIMEOUT_MAX), and history / delay must not overflow to infinity.
MAX_HISTORY_S = 30 * 86400.0


class OneLineParser(argparse.ArgumentParser):
    """A mistake is one line on stderr naming the program, and exit status 2: no usage dump."""

    def error(self, message: str) -> NoReturn:
        say(self.prog, f"{message} (try '{self.prog} --help')")
        sys.exit(2)


def seconds(low: float, high: float) -> Callable[[str], float]:
    """An argparse type for a number of seconds in [low, high]; NaN and infinity are refused."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if value != value:  # NaN
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
        if value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:.10g} seconds: {text!r}")
        if value < low:  # 0 and negatives too: one wording for "too small"
            raise argparse.ArgumentTypeError(f"must be at least {low:g} seconds: {text!r}")
        return value

    return parse


def known_user(name: str) -> str | None:
    """The name as the USER column shows it (a uid without a passwd entry shows as its number);
    None for no such user."""
    try:
        return pwd.getpwnam(name).pw_name
    except KeyError:
        if name.isdigit() and int(name) < 2**32 - 1:  # (uid_t)-1 is "no user"
            try:
                return pwd.getpwuid(int(name)).pw_name
            except KeyError:
                return str(int(name))
    return None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def missing_pids(pids: list[int]) -> list[int]:
    """Those of ``pids`` that are not running now (none where there is no /proc to ask)."""
    if not os.path.isdir("/proc/self"):
        return []
    return [p for p in pids if not os.path.exists(f"/proc/{p}")]


def pid_list(text: str) -> list[int]:
    """``-p 12,34``: positive process ids, separated by commas."""
    pids = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(f"not a process id: {part!r}")
        pids.append(int(part))
    if not pids:
        raise argparse.ArgumentTypeError("no process id given")
    return pids


_SIZE_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def size_bytes(text: str) -> int:
    """``--available 8G``: bytes, or a number with top's binary suffixes K, M, G, T (KiB...)."""
    raw = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = raw[-1:] if raw[-1:].isalpha() else ""
    try:
        value = float(raw[: len(raw) - len(unit)]) * _SIZE_UNITS[unit]
    except (KeyError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (a size is like 8G or 512M)")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return int(value)


def _directory(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("needs a directory name")
    return text


def add_state_options(p: argparse.ArgumentParser, writes: bool) -> None:
    """``--state-dir`` and ``--no-state``, for serve (which keeps the store) and the screen (which
    starts from it)."""
    if writes:
        where = ("keep the rolling history (and start from it) in DIR (default "
                 "$XDG_STATE_HOME/toptui, ~/.local/state/toptui)")  # fmt: skip
        off = "keep no history on disk, and start from none"
    else:
        where = ("start from the history toptui serve keeps in DIR (default: "
                 "$XDG_STATE_HOME/toptui, then /var/lib/toptui)")  # fmt: skip
        off = "start from nothing, not from toptui serve's history"
    p.add_argument("--state-dir", type=_directory, metavar="DIR", help=where)
    p.add_argument("--no-state", action="store_true", help=off)


def say(prog: str, message: str) -> None:
    """One line on stderr; a full or closed stderr must not become a traceback or change the
    exit status."""
    try:
        sys.stderr.write(f"{prog}: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # AttributeError: stderr closed (None)
        to_devnull(sys.stderr)


def to_devnull(stream: IO[str] | None) -> IO[str] | None:
    """Point a standard stream that cannot be written at /dev/null, so that its flush at exit
    does not fail again (a second message, and exit status 120); a closed one (None) gets a new
    stream on /dev/null. The one place that opens anything for writing besides a recording and
    the settings file."""
    with contextlib.suppress(OSError, ValueError):  # no descriptor (a test's capture): no need
        fd = stream.fileno() if stream is not None else None
        null = os.open(os.devnull, os.O_WRONLY)
        if fd is None:
            return open(null, "w")  # stands in for a closed stream until exit
        os.dup2(null, fd)
        os.close(null)
    return stream


def add_mappings_flag(p: argparse.ArgumentParser) -> None:
    """``--mappings``: batch JSON adds each chosen process's resident bytes by kind (issue 17)."""
    p.add_argument(
        "--mappings",
        action="store_true",
        help="batch JSON with -p: add each process's resident bytes by kind of memory (heap, "
        "anonymous, file-backed, shmem, stacks; from /proc/PID/smaps)",
    )


def mappings_misuse(args: argparse.Namespace) -> str | None:
    """Why ``--mappings`` cannot apply here, or None: smaps is costly, so it is read for the
    processes named with -p only, and only batch JSON has a place for it."""
    if not getattr(args, "mappings", False):
        return None
    if not (args.batch and args.format == "json"):
        return "--mappings is for batch JSON (-b --format json -p PID); the detail view shows it"
    if not args.pid:
        return "--mappings needs -p PID: smaps is read for the chosen processes only"
    return None

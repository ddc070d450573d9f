"""Command line: parse, validate, then hand over to the screen or batch mode.

Every mistake a person can make on the command line ends in one line on stderr and exit status 2,
never a traceback. Textual is imported only when the screen is actually wanted.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from toptui import __version__
from toptui.commands.arguments import (
    DEFAULT_DELAY_S,
    MAX_HISTORY_S,
    OneLineParser,
    add_mappings_flag,
    add_state_options,
    known_user,
    mappings_misuse,
    missing_pids,
    pid_list,
    positive_int,
    say,
    to_devnull,
)
from toptui.commands.arguments import seconds as _seconds
from toptui.engine.pacing import MAX_DELAY_S, MIN_DELAY_S
from toptui.render.columns import BY_NAME, DEFAULT_SORT, resolve_sort

if TYPE_CHECKING:  # imported lazily at run time: batch mode must start fast
    from textual.app import App

    from toptui.engine.monitor import Monitor
    from toptui.model import Snapshot
    from toptui.sampling.replay import ReplaySampler
    from toptui.store.recording import Recorder

# The least interval between the priming sweep and batch mode's first frame (top pauses 150 ms).
FIRST_CPU_INTERVAL_S = 0.05


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="toptui",
        description="A top for long-running services that tells you which process is leaking "
        "memory. Press M to sort by memory; the growth panel lists processes whose resident "
        "memory grows steadily.",
        epilog="Batch mode: toptui -b [-n N] [--format text|json]. Offline: toptui analyze FILE. "
        "For Prometheus: toptui serve. Keys on the screen: press ?.",
    )
    p.add_argument(
        "-d",
        "--delay",
        type=_seconds(MIN_DELAY_S, MAX_DELAY_S),
        default=None,
        metavar="SECONDS",
        help=f"refresh interval (default {DEFAULT_DELAY_S:g}, or the one saved with W; a replay "
        "plays at 0.5)",
    )
    p.add_argument(
        "-p",
        "--pid",
        type=pid_list,
        action="append",
        metavar="PID[,PID...]",
        help="show only these processes",
    )
    p.add_argument("-u", "--user", metavar="USER", help="show only this user's processes")
    p.add_argument(
        "-o",
        "--sort",
        metavar="FIELD",
        default=None,
        help=f"sort field: {', '.join(BY_NAME).replace('%', '%%')} (prefix + or - for the "
        "order, as top's -o)",
    )
    p.add_argument(
        "--history",
        type=_seconds(MIN_DELAY_S, MAX_HISTORY_S),
        default=3600.0,
        metavar="SECONDS",
        help="how much memory history to keep per process (default 3600)",
    )
    p.add_argument("-b", "--batch", action="store_true", help="batch mode: print, don't draw")
    p.add_argument(
        "-1",
        dest="per_cpu",
        action="store_true",
        help="a %%Cpu line per CPU in the summary, as top -1 (the 1 key on the screen)",
    )
    p.add_argument(
        "-n",
        "--iterations",
        type=positive_int,
        metavar="N",
        help="batch mode: stop after N refreshes",
    )
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="batch mode output: top-like text or one JSON object per line",
    )
    p.add_argument(
        "--families",
        action="store_true",
        help="batch JSON: also judge each process with its descendants, and list the growing "
        "families (the screen's F)",
    )
    add_mappings_flag(p)
    p.add_argument(
        "--record",
        metavar="FILE",
        help="append every sample to FILE (CSV; read it with toptui analyze)",
    )
    p.add_argument(
        "--replay", metavar="FILE", help="play a recording back on the screen (Z pauses, . steps)"
    )
    add_state_options(p, writes=False)
    p.add_argument("-V", "--version", action="version", version=f"toptui {__version__}")
    return p  # fmt: skip


def _check_user(name: str) -> str:
    """The name as the USER column shows it: a uid without a passwd entry shows as its number."""
    user = known_user(name)
    if user is None:
        raise UsageError(f"unknown user {name!r}")
    return user


def _check_pids(pids: list[int]) -> frozenset[int]:
    missing = missing_pids(pids)
    if missing:
        raise UsageError(f"no such process: {', '.join(map(str, missing))}")
    return frozenset(pids)


# Options whose value may start with '-': a sort field (top's -o -RES) or a number (-d -1, which
# must get -d's own message, not argparse's "expected one argument": -1 is also an option here).
_SIGNED_VALUES = {"-o": "", "--sort": "", "-d": "0123456789.", "--delay": "0123456789.",
                  "-n": "0123456789", "--iterations": "0123456789", "-p": "0123456789",
                  "--pid": "0123456789", "--history": "0123456789."}  # fmt: skip


def _join_dash_values(argv: list[str]) -> list[str]:
    """Let ``-o -RES`` and ``-d -1`` through: argparse would take ``-RES`` and ``-1`` for
    options, top does not."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        follows = argv[i + 1] if i + 1 < len(argv) else ""
        if a in _SIGNED_VALUES and follows[:1] in ("+", "-") and len(follows) > 1:
            allowed = _SIGNED_VALUES[a]
            if not allowed or follows[1] in allowed:
                out.append(f"{a}={follows}" if a.startswith("--") else f"{a}{follows}")
                i += 2
                continue
        out.append(a)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            # A terminal or pipe that is not UTF-8 (LANG=C elsewhere, PYTHONIOENCODING=ascii)
            # must not turn an odd byte in a process name into a traceback.
            reconfigure(errors="backslashreplace")
    if argv[:1] == ["analyze"]:
        from toptui.commands.analyze import main as analyze_main

        return analyze_main(argv[1:])
    if argv[:1] == ["serve"]:
        from toptui.commands.serve import main as serve_main

        return serve_main(argv[1:])
    args = build_parser().parse_args(_join_dash_values(argv))
    try:
        return _run(args)
    except UsageError as exc:
        _say(str(exc))
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    for flag, value in (("--record", args.record), ("--replay", args.replay)):
        if value is not None and not value.strip():
            raise UsageError(f"{flag} needs a file name")
    if args.replay and args.record:
        raise UsageError("--record and --replay do not go together: a replay is already recorded")
    if args.replay and args.user is not None:
        raise UsageError("-u cannot filter a replay: a recording does not keep users")
    pid_args = [p for group in args.pid for p in group] if args.pid else None
    if args.replay:  # the pids are the recording's, not this machine's
        pids = frozenset(pid_args) if pid_args else None
    else:
        pids = _check_pids(pid_args) if pid_args else None
    user = _check_user(args.user) if args.user is not None else None
    try:
        sort, desc = resolve_sort(DEFAULT_SORT if args.sort is None else args.sort)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if desc is None:
        desc = True  # top's -o sorts high to low, text fields too, unless given a '-'
    if args.iterations is not None and not args.batch:
        raise UsageError("-n only applies to batch mode (-b)")
    if args.families and not (args.batch and args.format == "json"):
        raise UsageError("--families is for batch JSON (-b --format json); on the screen press F")
    if why := mappings_misuse(args):
        raise UsageError(why)
    if args.replay and args.batch:
        raise UsageError("--replay opens the screen; for a report use: toptui analyze FILE")
    if args.no_state and args.state_dir is not None:
        raise UsageError("--state-dir and --no-state do not go together")
    if args.batch and (args.no_state or args.state_dir is not None):
        raise UsageError("--state-dir and --no-state are for the screen; batch mode starts from "
                         "nothing")  # fmt: skip
    if args.batch:
        # Opened before the stop signals are held: opening can block (a FIFO with no reader)
        # and Ctrl+C must still end that. From then on a stop signal ends the run after a whole
        # frame (or before the first), never half-way.
        recorder, why = _open_recorder(args.record, user) if args.record else (None, None)
        if why:
            _say(why)
        try:
            with _StopSignals() as stop:
                return _run_batch(args, pids, user, sort, desc, recorder, stop)
        finally:
            if recorder is not None:
                recorder.close()
    # The screen: what can be refused is refused before a recording file is created.
    replay = _open_replay(args.replay, pids) if args.replay else None
    _check_terminal()
    recorder, why = _open_recorder(args.record, user) if args.record else (None, None)
    try:
        return _run_screen(args, pids, user, sort, desc, recorder, replay, why)
    finally:
        if recorder is not None:
            recorder.close()


def _run_batch(
    args: argparse.Namespace,
    pids: frozenset[int] | None,
    user: str | None,
    sort: str,
    desc: bool,
    recorder: Recorder | _OneUser | None,
    stop: _StopSignals,
) -> int:
    if sys.stdout is None:  # started with stdout closed (>&-)
        raise UsageError("standard output is closed; batch mode writes there")
    from toptui.sampling.sampler import Sampler

    # %CPU is use over an interval: a first sweep now gives the first frame one, as top's
    # 150 ms pause before its first frame does. The rest of start-up runs inside that interval.
    sampler = Sampler(pids=pids)
    sampler.sample()
    primed = time.monotonic()

    from toptui.commands.batch import BatchOptions, run_batch
    from toptui.engine.monitor import Monitor, judge_every_for

    opts = BatchOptions(
        iterations=args.iterations,
        delay_s=args.delay or DEFAULT_DELAY_S,
        pids=pids,
        user=user,
        sort=sort,
        descending=desc,
        fmt=args.format,
        history_s=args.history,
        per_cpu=args.per_cpu,
        families=args.families,
        mappings=args.mappings,
    )
    monitor = Monitor(
        sampler,
        interval_s=opts.delay_s,
        history_s=opts.history_s,
        judge_every_s=judge_every_for(opts.delay_s),
        recorder=recorder,
    )
    if stop.wait(max(0.0, primed + FIRST_CPU_INTERVAL_S - time.monotonic())):
        return 130 if stop.signum == signal.SIGINT else 0
    try:
        run_batch(opts, stop=stop, monitor=monitor)
    except BrokenPipeError:
        # `toptui -b | head`: the reader left; say nothing, like top.
        to_devnull(sys.stdout)
        return 0
    except OSError as exc:  # a full disk, or a terminal that hung up (EIO)
        to_devnull(sys.stdout)
        if stop.signum is None:
            _say(f"cannot write the output: {exc.strerror or exc}")
            return 1
    return 130 if stop.signum == signal.SIGINT else 0


class _OneUser:
    """Records only one user's processes: what ``-u`` shows is what gets recorded (as with -p)."""

    def __init__(self, sink: Recorder, user: str) -> None:
        self.sink = sink
        self.user = user

    def record(self, snap: Snapshot) -> None:
        procs = tuple(p for p in snap.procs if p.user == self.user)
        self.sink.record(dataclasses.replace(snap, procs=procs))

    def close(self) -> None:
        self.sink.close()


class _StopSignals:
    """Ends batch mode between two frames on SIGTERM, SIGHUP or SIGINT (Ctrl+C).

    The signals are blocked and taken synchronously while batch mode waits for its next frame
    (``sigtimedwait``), so none can cut a JSON line on stdout or a tick of a recording in half:
    the run ends after a whole frame, as if ``-n`` had been reached. Where ``sigtimedwait`` is
    missing (not Linux), a handler sets an event instead.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._sync = hasattr(signal, "sigtimedwait") and hasattr(signal, "pthread_sigmask")
        self._event = threading.Event()
        self._saved: dict[int, object] = {}
        self._mask: set[int] | None = None

    def __enter__(self) -> _StopSignals:
        if self._sync:
            self._mask = set(signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS))
        else:
            for sig in self.SIGNALS:
                self._saved[sig] = signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.signum = signum
        self._event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep up to ``timeout`` seconds; True once a stop signal has come."""
        if self.signum is None and self._sync:
            info = signal.sigtimedwait(self.SIGNALS, max(0.0, timeout or 0.0))
            # CPython returns an uninitialised siginfo (si_signo 0) instead of None when the
            # timeout ran out while the process was stopped (Ctrl+Z): only our signals count.
            if info is not None and info.si_signo in self.SIGNALS:
                self.signum = info.si_signo
        elif self.signum is None:
            self._event.wait(timeout)
        return self.signum is not None

    def __exit__(self, *exc: object) -> None:
        if self._mask is not None:
            # Take what came meanwhile, so unblocking does not kill the process after all.
            while signal.sigtimedwait(self.SIGNALS, 0) is not None:
                pass
            signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def _say(line: str) -> None:
    say("toptui", line)


def _run_screen(
    args: argparse.Namespace,
    pids: frozenset[int] | None,
    user: str | None,
    sort: str,
    desc: bool,
    recorder: Recorder | _OneUser | None,
    replay: ReplaySampler | None,
    record_warning: str | None = None,
) -> int:
    import gc

    # The launch makes about a million objects (modules, classes, styles) and frees few of them:
    # collecting meanwhile is wasted work. The app turns collection back on once its first
    # frame is painted (views.app._collect_from_now_on).
    gc.disable()
    from toptui.views import settings  # Textual-free: read before Textual is imported

    try:
        prefs, warning = settings.load()
    except (RecursionError, ValueError):  # thousands of nested brackets; bytes that are not UTF-8
        prefs, warning = settings.Settings(), f"{settings.config_path()} is damaged; using defaults"
    if warning:
        _say(warning)
    if args.per_cpu:
        prefs.per_cpu = True
    warning = "\n".join(w for w in (warning, record_warning) if w) or None
    monitor = first = None
    if replay is None:
        # The first sweep (and the store's history) starts now, in a thread, and runs while
        # Textual is imported and the screen is built: the first frame is ready when it is.
        from toptui.engine.first_step import FirstStep
        from toptui.engine.monitor import Monitor, judge_every_for
        from toptui.engine.sources import live_source

        interval_s = args.delay if args.delay is not None else prefs.interval_s
        monitor = Monitor(
            live_source(pids),
            interval_s=interval_s,
            history_s=args.history,
            judge_every_s=judge_every_for(interval_s),
            recorder=recorder,
        )
        if not args.no_state:
            _start_from_store(monitor, args.state_dir)
        first = FirstStep(monitor)
    from toptui.views.app import TopApp

    app = TopApp(
        interval_s=args.delay,
        history_s=args.history,
        pids=pids,
        user=user,
        sort=sort if args.sort is not None else None,
        descending=desc if args.sort is not None else None,
        prefs=prefs,
        startup_warning=warning,
        recorder=recorder,
        replay=replay,
        monitor=monitor,
        first_step=first,
    )
    _exit_on_signals_until_mounted(app)
    app.run()
    return app.return_code or 0


def _start_from_store(monitor: Monitor, state_dir: str | None) -> None:
    """The screen starts from toptui serve's history of this boot, when there is one: read in the
    sampling thread with the first snapshot, so the screen starts meanwhile."""
    from toptui.engine.state import lazy_store, state_dirs

    def warn(line: str) -> None:
        monitor.record_error = line  # shown once on the screen, as a recording's failure is

    monitor.preload = lazy_store(state_dirs(state_dir), warn)


def _check_terminal() -> None:
    """The screen needs a terminal to read keys from and one that understands it."""
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError("the screen needs a terminal on standard input; for a file or a pipe "
                         "use batch mode (-b)")  # fmt: skip
    if os.environ.get("TERM") == "dumb":
        raise UsageError("TERM=dumb cannot show the screen; use batch mode (-b)")


def _exit_on_signals_until_mounted(app: App) -> None:
    """SIGTERM and SIGHUP that come while the screen starts up still end it cleanly.

    The app installs its own handlers once mounted; before that, Python's default would end the
    process on the spot, after Textual has switched the terminal to the alternate screen with echo
    off, and leave it so. This handler schedules ``app.exit`` on the event loop (the thread-safe
    call is also the one that is safe in a signal handler); a second signal ends the process the
    default way.
    """

    import asyncio  # the screen only: batch mode must start fast

    def on_signal(signum: int, _frame: object) -> None:
        signal.signal(signum, signal.SIG_DFL)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # the event loop is not running yet: nothing to restore
            raise SystemExit(0) from None
        loop.call_soon_threadsafe(app.exit)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)


def _open_recorder(
    path: str, user: str | None = None
) -> tuple[Recorder | _OneUser | None, str | None]:
    """(recorder, None), or (None, why) when the file cannot be recorded to: the monitor still
    runs, as it does when a write fails later (a full disk), and says once that it does not
    record."""
    from toptui.store.recording import Recorder

    try:
        recorder = Recorder(path)
    except OSError as exc:
        return None, f"{exc}; monitoring without recording"
    return (recorder if user is None else _OneUser(recorder, user)), None


def _open_replay(path: str, pids: frozenset[int] | None = None) -> ReplaySampler:
    from toptui.sampling.replay import ReplaySampler
    from toptui.store.recording import RecordingFormatError

    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None  # the reader says why, in its words
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        # /dev/zero or a FIFO: the reader would wait, or read one endless line, forever.
        raise UsageError(f"cannot replay {path}: not a regular file")
    try:
        return ReplaySampler(path, pids=pids)
    except (OSError, RecordingFormatError) as exc:
        raise UsageError(str(exc)) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

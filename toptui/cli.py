"""Command line: parse, validate, then hand over to the screen or batch mode.

Every mistake a person can make on the command line ends in one line on stderr and exit status 2,
never a traceback. Textual is imported only when the screen is actually wanted.
"""

from __future__ import annotations

import argparse
import os
import pwd
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from toptui import __version__
from toptui.columns import BY_NAME, DEFAULT_SORT, resolve_sort

if TYPE_CHECKING:  # imported lazily at run time: batch mode must start fast
    from toptui.recording import Recorder
    from toptui.sampling.replay import ReplaySampler

DEFAULT_DELAY_S = 2.0


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"toptui: {message} (try 'toptui --help')\n")
        sys.exit(2)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def _pid_list(text: str) -> list[int]:
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


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="toptui",
        description="A top for long-running services that tells you which process is leaking "
        "memory. Press M to sort by memory; the growth panel lists processes whose resident "
        "memory grows steadily.",
        epilog="Batch mode: toptui -b [-n N] [--format text|json]. Keys on the screen: press ?.",
    )
    p.add_argument(
        "-d",
        "--delay",
        type=_positive_float,
        default=DEFAULT_DELAY_S,
        metavar="SECONDS",
        help=f"refresh interval (default {DEFAULT_DELAY_S:g})",
    )
    p.add_argument(
        "-p",
        "--pid",
        type=_pid_list,
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
        type=_positive_float,
        default=3600.0,
        metavar="SECONDS",
        help="how much memory history to keep per process (default 3600)",
    )
    p.add_argument("-b", "--batch", action="store_true", help="batch mode: print, don't draw")
    p.add_argument(
        "-n",
        "--iterations",
        type=_positive_int,
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
        "--record",
        metavar="FILE",
        help="append every sample to FILE (CSV; read it with toptui analyze)",
    )
    p.add_argument(
        "--replay", metavar="FILE", help="play a recording back on the screen (Z pauses, . steps)"
    )
    p.add_argument("-V", "--version", action="version", version=f"toptui {__version__}")
    return p  # fmt: skip


def _check_user(name: str) -> str:
    try:
        return pwd.getpwnam(name).pw_name
    except KeyError:
        if name.isdigit():
            try:
                return pwd.getpwuid(int(name)).pw_name
            except KeyError:
                pass
    raise UsageError(f"unknown user {name!r}")


def _check_pids(pids: list[int]) -> frozenset[int]:
    missing = (
        [p for p in pids if not os.path.exists(f"/proc/{p}")] if os.path.isdir("/proc/self") else []
    )
    if missing:
        raise UsageError(f"no such process: {', '.join(map(str, missing))}")
    return frozenset(pids)


def _join_sort_values(argv: list[str]) -> list[str]:
    """Let ``-o -RES`` through: argparse would take ``-RES`` for an option, top does not."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-o", "--sort") and i + 1 < len(argv) and argv[i + 1][:1] in "+-":
            out.append(f"{a}={argv[i + 1]}" if a == "--sort" else f"-o{argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["analyze"]:
        from toptui.analyze import main as analyze_main

        return analyze_main(argv[1:])
    args = build_parser().parse_args(_join_sort_values(argv))
    try:
        return _run(args)
    except UsageError as exc:
        sys.stderr.write(f"toptui: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    pids = _check_pids([p for group in args.pid for p in group]) if args.pid else None
    user = _check_user(args.user) if args.user else None
    try:
        sort, desc = resolve_sort(args.sort or DEFAULT_SORT)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if desc is None:
        desc = BY_NAME[sort].numeric
    if args.iterations is not None and not args.batch:
        raise UsageError("-n only applies to batch mode (-b)")
    if args.replay and args.batch:
        raise UsageError("--replay opens the screen; for a report use: toptui analyze FILE")
    recorder = _open_recorder(args.record) if args.record else None

    if args.batch:
        from toptui.batch import BatchOptions, run_batch

        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda *_: stop.set())
        opts = BatchOptions(
            iterations=args.iterations,
            delay_s=args.delay or DEFAULT_DELAY_S,
            pids=pids,
            user=user,
            sort=sort,
            descending=desc,
            fmt=args.format,
            history_s=args.history,
        )
        try:
            return run_batch(opts, stop=stop, recorder=recorder)
        except BrokenPipeError:
            # `toptui -b | head`: the reader left; say nothing, like top.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        finally:
            if recorder is not None:
                recorder.close()

    from toptui import settings
    from toptui.views.app import TopApp

    prefs, warning = settings.load()
    if warning:
        sys.stderr.write(f"toptui: {warning}\n")
    replay = _open_replay(args.replay) if args.replay else None
    app = TopApp(
        interval_s=args.delay,
        history_s=args.history,
        pids=pids,
        user=user,
        sort=sort if args.sort else None,
        descending=desc if args.sort else None,
        prefs=prefs,
        startup_warning=warning,
        recorder=recorder,
        replay=replay,
    )
    try:
        app.run()
    finally:
        if recorder is not None:
            recorder.close()
    return app.return_code or 0


def _open_recorder(path: str) -> Recorder:
    from toptui.recording import Recorder

    try:
        return Recorder(path)
    except OSError as exc:
        raise UsageError(str(exc)) from None


def _open_replay(path: str) -> ReplaySampler:
    from toptui.recording import RecordingFormatError
    from toptui.sampling.replay import ReplaySampler

    try:
        return ReplaySampler(path)
    except (OSError, RecordingFormatError) as exc:
        raise UsageError(str(exc)) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Acting on processes from the screen: the signal dialogs, renice's answer, export, and reports.

The actions themselves live on the widget that owns what they act on: the process table (its
tagged or selected rows) and the detail view (the process it shows). What both do the same way
is here. The signalling is :mod:`toptui.engine.control`'s, which re-checks each process's start
time first, so a reused pid is never signalled.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Sequence
from pathlib import Path

from textual.app import App

from toptui.engine import control
from toptui.model import ProcSample, Snapshot
from toptui.store.history import Series
from toptui.store.recording import export_history
from toptui.views.choice_screen import ChoiceScreen
from toptui.views.confirm_screen import ConfirmScreen


def names(procs: Sequence[ProcSample]) -> str:
    shown = ", ".join(f"PID {p.pid} ({p.shown_name})" for p in procs[:3])
    return shown + (f" and {len(procs) - 3} more" if len(procs) > 3 else "")


def live_only(app: App, what: str) -> bool:
    """A replay's processes are recorded ones: their pids may belong to others by now."""
    replay = getattr(app, "replay", None)
    if replay is not None:
        app.notify(f"a replay shows recorded processes: nothing to {what}", timeout=3)
    return replay is None


def report(app: App, outcomes: Sequence[control.Outcome]) -> None:
    """One notification for what was done, one per failure: a toast per tagged process
    stacks up and covers the table, and the person saw only one of two "sent" lines."""
    done = [o.message for o in outcomes if o.ok]
    if done:
        app.notify("\n".join(done), timeout=3 + len(done) / 2)
    for o in outcomes:
        if not o.ok:
            app.notify(o.message, severity="error")


def ask_signal(app: App, targets: Sequence[ProcSample]) -> None:
    """top's k: choose the signal (or type it), confirm, send to each target."""
    if not live_only(app, "signal") or not targets:
        return
    options = [(name, f"{num:>2}  {name}") for name, num in control.SIGNALS]

    def picked(name: str | None) -> None:
        if name is None:
            return
        signum = int(getattr(signal, name))

        def confirmed(yes: bool | None) -> None:
            if yes:
                report(app, [control.send_signal(p.key, signum, f"PID {p.pid} ({p.shown_name})")
                             for p in targets])  # fmt: skip

        app.push_screen(ConfirmScreen(f"Send {name} to {names(targets)}?"), confirmed)

    app.push_screen(
        ChoiceScreen(f"Send which signal to {names(targets)}? (or type it)", options), picked
    )


def renice(app: App, targets: Sequence[ProcSample], value: str) -> None:
    """The answer to renice's prompt, applied to each target."""
    try:
        nice = int(value)
    except ValueError:
        app.notify(f"nice must be a whole number, not {value!r}", severity="error")
        return
    report(app, [control.renice(p.key, nice, f"PID {p.pid} ({p.shown_name})") for p in targets])


def export(app: App, proc: ProcSample | None, series: Series | None,
           snapshot: Snapshot | None) -> None:  # fmt: skip
    """x: a process's history as a recording (``toptui-PID-DATE.csv``), for a bug report or
    ``toptui analyze``."""
    if proc is None or series is None or not series.t or snapshot is None:
        app.notify("no history to export for this row", severity="warning")
        return
    path = Path(f"toptui-{proc.pid}-{time.strftime('%Y%m%d-%H%M%S')}.csv").resolve()
    try:
        count = export_history(path, proc, series, snapshot)
    except OSError as exc:
        app.notify(f"could not export: {exc}", severity="error")
        return
    app.notify(f"wrote {count} samples of PID {proc.pid} to {path}", timeout=6)

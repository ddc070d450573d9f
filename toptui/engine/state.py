"""The monitor's side of the on-disk store: ``toptui serve`` keeps one, the screen starts from it.

:class:`StoreKeeper` follows a :class:`~toptui.engine.monitor.Monitor` frame by frame: every
snapshot into the store's newest segment, and every ``CHECKPOINT_S`` the monitor's history and
verdict states as a checkpoint (toptui.store.state_store). A store that cannot be written is said
once and sampling goes on without it, as ``--record`` does; it is tried again at the next
rotation. :func:`load_store` finds a store of this boot and turns it into the monitor's
:class:`~toptui.engine.monitor.Preload`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from toptui.engine.monitor import Frame, Monitor, Preload
from toptui.model import Snapshot
from toptui.store.history import dump_history
from toptui.store.state_store import (
    ALL_OF_IT,
    CHECKPOINT_S,
    ROTATE_S,
    SYSTEM_STATE_DIR,
    Checkpoint,
    StoreError,  # re-exported: what StoreKeeper raises
    StoreWriter,
    TailSample,
    boot_id,
    default_state_dir,
    find_store,
    now_offset,
    tail_samples,
    write_checkpoint,
)


class StoreKeeper:
    """Writes ``monitor``'s frames and state into the store at ``directory``.

    ``warn`` gets one line each time the store stops working (then nothing more until it works
    again); ``StoreError`` from the constructor means the directory cannot be made at all.
    """

    def __init__(self, directory: str, monitor: Monitor, warn: Callable[[str], None]) -> None:
        self.directory = directory
        self.monitor = monitor
        self.warn = warn
        self.boot = boot_id()
        self.writer = StoreWriter(directory, monitor.history.history_s)
        self.failing = False
        self._next_checkpoint = 0.0  # wall time
        self._retry_at = 0.0  # wall time: a failed store is tried again then
        self._offset = now_offset()  # wall minus monotonic time, as the last snapshot read them
        self.checkpoints = 0
        self.checkpoint_bytes = 0

    def after(self, frame: Frame) -> None:
        """Keep ``frame``'s snapshot, and the checkpoint when it is due."""
        snap = frame.snapshot
        now = snap.t_wall
        self._offset = snap.t_wall - snap.t_mono
        if self.failing and now < self._retry_at:
            return
        try:
            if self.failing:
                self.writer.rotate(now)
            self.writer.record(snap)
            if now >= self._next_checkpoint:
                self.checkpoint()
                self._next_checkpoint = now + CHECKPOINT_S
        except StoreError as exc:
            self._failed(exc, now)
        else:
            if self.failing:
                self.failing = False
                self.warn(f"the store at {self.directory} works again")

    def checkpoint(self, closed: bool = False) -> None:
        """The segment durable (fsync), then the history and states as of now (``closed``: the
        segment was closed first, so the checkpoint covers it whole)."""
        self.writer.sync()
        monitor = self.monitor
        cp = Checkpoint(
            self.boot,
            monitor.interval_s,
            self._offset,
            dump_history(monitor.history),
            monitor.export_states(),
            self.writer.segment,
            ALL_OF_IT if closed else self.writer.segment_size(),
        )
        self.checkpoint_bytes = write_checkpoint(self.directory, cp)
        self.checkpoints += 1

    def close(self) -> None:
        """On SIGTERM/SIGINT: the last checkpoint, the segment durable and compressed."""
        try:
            self.writer.close()  # durable and compressed
            if not self.failing:
                self.checkpoint(closed=True)  # a launch then has no rows to replay
            self.writer.release()
        except StoreError as exc:
            self.warn(str(exc))

    def _failed(self, exc: StoreError, now: float) -> None:
        if not self.failing:
            self.warn(f"{exc}; sampling goes on without the store")
        self.failing = True
        self._retry_at = now + ROTATE_S


def state_dirs(explicit: str | None) -> list[str]:
    """Where the screen looks for a store: ``--state-dir``, else the user's own, then the
    system service's (where this user can read it)."""
    if explicit is not None:
        return [explicit]
    dirs = [default_state_dir()]
    if os.access(SYSTEM_STATE_DIR, os.R_OK | os.X_OK):
        dirs.append(SYSTEM_STATE_DIR)
    return dirs


def load_store(dirs: list[str]) -> tuple[Preload | None, str | None, list[str]]:
    """(preload, the store's directory, lines to say) for the first store of this boot in
    ``dirs``; (None, None, lines) when there is none. Reads only the checkpoint: the rows after
    it are read with the first snapshot (Preload.tail)."""
    directory, cp, notes = find_store(dirs, boot_id())
    if directory is None or cp is None:
        return None, None, notes

    def tail(now: Snapshot) -> Iterator[tuple[float, list[TailSample]]]:
        return tail_samples(directory, cp, now)

    return Preload(cp.history, cp.states, tail), directory, notes


def lazy_store(dirs: list[str], warn: Callable[[str], None]) -> Callable[[], Preload | None]:
    """What finds and reads the store when the monitor takes its first snapshot (Monitor.preload):
    in the sampling thread, while the screen starts. ``warn`` gets a damaged store's line."""

    def find() -> Preload | None:
        preload, _, notes = load_store(dirs)
        for note in notes:
            warn(note)
        return preload

    return find

"""Messages from the sampling thread to the UI (posting a message is thread-safe)."""

from __future__ import annotations

from textual.message import Message

from toptui.engine.monitor import Frame


class FrameReady(Message):
    """A new frame; history has already seen every snapshot, so only the newest matters."""

    def __init__(self, frame: Frame, stepped: bool = False) -> None:
        super().__init__()
        self.frame = frame
        self.stepped = stepped  # a replay tick the user asked for: shown even while paused

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FrameReady)


class SamplingFailed(Message):
    """The sampler raised: shown to the user, and sampling carries on at the next tick."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error

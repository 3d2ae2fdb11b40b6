"""Chat frames batched per show in each ws process: at most one chat frame per socket per window.

At a steady chat rate a frame per message per viewer is (rate x viewers) socket writes a second,
more than a small box fans out (bench/README.md). The hub hands every
frame of a `show.<id>` stream to this batcher once per process (not per socket). A chat message
after a quiet window goes out at once, as the plain `chat` frame it always was; messages arriving
within `SHOWS_CHAT_BATCH_MS` of the last chat frame wait for the window's end and go out together
as one `chat_batch` frame:

    {"type":"chat_batch","seq":<last inner seq>,"stream":"show.7","frames":[<chat frame>, ...]}

Each inner frame is the unchanged `chat` frame with its own seq, so a client applies them one by one
with its usual "ignore seq <= last applied" rule (a socket whose snapshot already held the first
messages skips just those). Any other frame of the stream (deleted, muted, pinned, flash drop...)
first flushes the waiting chat, so the order of the stream never changes. The text of the batch is
built by concatenation, once per process, and written as is to every local socket.

While chat stays busy the window doubles with every batch that waited for its end, up to
`SHOWS_CHAT_MAX_BATCH_MS`; a message after a quiet window resets it. Every frame costs one
write per viewer, so under sustained chat a message waits in a batch (at most the widest window)
rather than frames queueing up behind each other.

As for the auction coalescer, the window counts from the *end* of the last chat fan-out and is
never shorter than `cost_factor` times its CPU time (pacing.py).
"""

import asyncio
import time
from collections.abc import Callable

from realtime.shows.pacing import FanoutPacer
from realtime.ws.protocol import StreamFrame

Fanout = Callable[[StreamFrame], None]


def batch_text(stream: str, frames: list[StreamFrame]) -> str:
    """One `chat_batch` frame holding `frames` (chat frames), oldest first; built by concatenation."""
    inner = ",".join(f.text for f in frames)
    return f'{{"type":"chat_batch","seq":{frames[-1].seq},"stream":"{stream}","frames":[{inner}]}}'


class ChatBatcher:
    """Per stream: the chat frames waiting for the end of the window, and when chat last went out."""

    def __init__(
        self,
        window_s: float,
        fanout: Fanout,
        max_window_s: float | None = None,
        cost_factor: float = 2.0,
        cpu_clock: Callable[[], float] = time.thread_time,
    ) -> None:
        self.window_s = window_s
        self.pacer = FanoutPacer(cost_factor, cpu_clock)
        self.max_window_s = max(window_s, max_window_s if max_window_s is not None else 4 * window_s)
        self.fanout = fanout
        self.pending: dict[str, list[StreamFrame]] = {}
        self.last_sent = self.pacer.last_sent  # loop time when the stream's last chat fan-out ended
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.windows: dict[str, float] = {}  # a stream's current (possibly widened) window
        self.batches = 0  # chat_batch frames built (for tests and logs)

    def window_of(self, stream: str) -> float:
        return self.windows.get(stream, self.window_s)

    def _due(self, stream: str) -> float:
        return self.pacer.due(stream, self.window_of(stream))

    def _send_chat(self, frame: StreamFrame) -> None:
        self.pacer.send(frame.stream, lambda: self.fanout(frame))

    def offer(self, frame: StreamFrame) -> None:
        """Take one frame of a show stream: send it now, or hold it (chat within the window)."""
        stream = frame.stream
        if frame.kind != "chat":
            self.flush(stream)  # what came before goes first
            self.fanout(frame)
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        queued = self.pending.get(stream)
        if queued is None:
            due = self._due(stream)
            if now >= due:
                self.windows.pop(stream, None)  # quiet for a whole window: back to the base window
                self._send_chat(frame)
                return
            queued = self.pending[stream] = []
            self.timers[stream] = loop.call_at(due, self._window_ended, stream)
        queued.append(frame)

    def _window_ended(self, stream: str) -> None:
        # Chat waited for the whole window: the show is busy, widen its next window.
        self.windows[stream] = min(self.max_window_s, self.window_of(stream) * 2)
        self.flush(stream)

    def flush(self, stream: str) -> None:
        """Send the chat waiting on `stream` now (one plain frame, or one batch)."""
        timer = self.timers.pop(stream, None)
        if timer is not None:
            timer.cancel()
        queued = self.pending.pop(stream, None)
        if not queued:
            return
        if len(queued) == 1:
            self._send_chat(queued[0])
        else:
            self.batches += 1
            last = queued[-1].seq
            self._send_chat(StreamFrame(stream, last, batch_text(stream, queued), "chat_batch"))

    def forget(self, stream: str) -> None:
        """The process left the stream: drop its state (nobody here to send to)."""
        timer = self.timers.pop(stream, None)
        if timer is not None:
            timer.cancel()
        self.pending.pop(stream, None)
        self.pacer.forget(stream)
        self.windows.pop(stream, None)

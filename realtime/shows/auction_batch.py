"""Auction frames coalesced per show in each ws process: last value wins within a window.

An `auction` frame restates the whole auction (price, leader, clock, bid count), so behind a burst
of bids only the newest one matters. At 50 bids/s a frame per bid per viewer is 250,000 socket writes
a second for 5,000 viewers, far more than a small box fans out; here, per process (not per socket),
an open auction's frame after a quiet window goes out at once, and frames within
`AUCTION_FRAME_WINDOW_MS` of it wait for the window's end, where only the newest is sent. While bids
keep coming the window doubles up to `AUCTION_FRAME_MAX_WINDOW_MS`; a quiet window resets it.

The window is never shorter than `AUCTION_FRAME_COST_FACTOR` times the CPU time the stream's last
fan-out took (the synchronous writes to every local socket), counted from when that fan-out
*ended*. A process with 5,000 watchers spends ~0.15 s of CPU on one fan-out: with a fixed 100 ms
window counted from its start, every bid arriving after the loop came back was "outside" the
window and went out at once, so frames queued faster than sockets drained (bid-to-watcher p99 of
120 s in bench/ws_fanout.py --mode auction, a frame per bid). Bounded by its own cost, fan-out
takes at most 1 / (1 + factor) of the process's CPU, whatever the number of watchers, and the
newest bid still goes out at the next window's end. CPU time, not wall time: on a busy box the
wall time of a fan-out includes other processes' turns, which would widen the window for nothing
(a wall-clock floor measured 0.8 s windows at 5,000 watchers where the CPU floor is ~0.3 s).

It wraps the stream's chat batcher (`ChatBatcher`): everything it lets through goes on to it.
"""

import asyncio
import json
import time
from collections.abc import Callable

from realtime.shows.pacing import FanoutPacer
from realtime.ws.hub import Batcher
from realtime.ws.protocol import StreamFrame


def _is_open_auction(frame: StreamFrame) -> bool:
    """Parsed once per process and frame (not per socket): only an open auction's frames may be merged."""
    try:
        return bool(json.loads(frame.text)["auction"]["state"] == "open")
    except (ValueError, KeyError, TypeError):
        return False


class AuctionCoalescer:
    """Per stream: the newest held `auction` frame, its timer, when one last went out, the window."""

    def __init__(
        self,
        inner: Batcher,
        window_s: float,
        max_window_s: float,
        cost_factor: float = 2.0,
        cpu_clock: Callable[[], float] = time.thread_time,
    ) -> None:
        self.inner = inner
        self.window_s = window_s
        self.max_window_s = max(window_s, max_window_s)
        self.pacer = FanoutPacer(cost_factor, cpu_clock)
        self.last_sent = self.pacer.last_sent  # loop time when the stream's last fan-out ended
        self.held: dict[str, StreamFrame] = {}
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.windows: dict[str, float] = {}
        self.dropped = 0  # frames replaced by a newer one (for tests and the bench)

    def offer(self, frame: StreamFrame) -> None:
        stream = frame.stream
        if frame.kind != "auction" or not _is_open_auction(frame):
            self.flush(stream)
            self.inner.offer(frame)
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if stream in self.held:
            self.held[stream] = frame
            self.dropped += 1
            return
        due = self.pacer.due(stream, self.windows.get(stream, self.window_s))
        if now >= due:
            self.windows.pop(stream, None)
            self._send(stream, frame)
            return
        self.held[stream] = frame
        self.timers[stream] = loop.call_at(due, self._window_ended, stream)

    def _window(self, stream: str) -> float:
        return self.pacer.window(stream, self.windows.get(stream, self.window_s))

    def _send(self, stream: str, frame: StreamFrame) -> None:
        self.pacer.send(stream, lambda: self.inner.offer(frame))

    def _window_ended(self, stream: str) -> None:
        self.windows[stream] = min(self.max_window_s, self.windows.get(stream, self.window_s) * 2)
        self.flush(stream)

    def flush(self, stream: str) -> None:
        timer = self.timers.pop(stream, None)
        if timer is not None:
            timer.cancel()
        frame = self.held.pop(stream, None)
        if frame is not None:
            self._send(stream, frame)

    def forget(self, stream: str) -> None:
        timer = self.timers.pop(stream, None)
        if timer is not None:
            timer.cancel()
        self.held.pop(stream, None)
        self.pacer.forget(stream)
        self.windows.pop(stream, None)
        self.inner.forget(stream)

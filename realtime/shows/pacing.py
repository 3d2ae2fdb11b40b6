"""When a show stream's next batched frame may go out, bounded by what the last fan-out cost.

Shared by the chat batcher and the auction coalescer. A window counts from the *end* of the
stream's last fan-out and is never shorter than `cost_factor` times the CPU time that fan-out took
(the synchronous writes to every local socket). With a window counted from the start of the
fan-out, a fan-out longer than the window (5,000 watchers: ~0.15 s of CPU) let every frame that
arrived after the loop came back go out on its own (auction_batch.py has the figures). CPU time,
not wall time: on a busy box the wall time of a fan-out includes other processes' turns.
"""

import asyncio
import time
from collections.abc import Callable


class FanoutPacer:
    """Per stream: when its last fan-out ended (loop time) and the CPU seconds it took."""

    def __init__(self, cost_factor: float, cpu_clock: Callable[[], float] = time.thread_time) -> None:
        self.cost_factor = cost_factor
        self.cpu_clock = cpu_clock  # the loop's own CPU time (tests pass a fake one)
        self.last_sent: dict[str, float] = {}
        self.costs: dict[str, float] = {}

    def window(self, stream: str, base: float) -> float:
        """`base`, or `cost_factor` x the last fan-out's CPU when that is longer."""
        return max(base, self.cost_factor * self.costs.get(stream, 0.0))

    def due(self, stream: str, base: float) -> float:
        return self.last_sent.get(stream, float("-inf")) + self.window(stream, base)

    def send(self, stream: str, fanout: Callable[[], None]) -> None:
        """Run `fanout` now; the next window counts from its end."""
        cpu = self.cpu_clock()
        fanout()
        self.costs[stream] = self.cpu_clock() - cpu
        self.last_sent[stream] = asyncio.get_running_loop().time()

    def forget(self, stream: str) -> None:
        self.last_sent.pop(stream, None)
        self.costs.pop(stream, None)

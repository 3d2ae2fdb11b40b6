"""The per-process auction frame coalescer: last value wins within a window, order never changes."""

import asyncio
import json

from realtime.shows.auction_batch import AuctionCoalescer
from realtime.ws.protocol import StreamFrame


class Inner:
    def __init__(self) -> None:
        self.sent: list[StreamFrame] = []

    def offer(self, frame: StreamFrame) -> None:
        self.sent.append(frame)

    def forget(self, stream: str) -> None:
        pass


def _auction(seq: int, bids: int, state: str = "open") -> StreamFrame:
    text = json.dumps(
        {"type": "auction", "seq": seq, "stream": "show.1", "auction": {"state": state, "bids": bids}}
    )
    return StreamFrame("show.1", seq, text, "auction")


def test_a_burst_of_bids_sends_the_first_at_once_and_only_the_newest_when_the_window_ends() -> None:
    async def run() -> tuple[list[int], list[int]]:
        inner = Inner()
        c = AuctionCoalescer(inner, 10.0, 10.0)  # a window far longer than this test: no timing involved
        for i in range(1, 6):
            c.offer(_auction(i, i))
        first = [f.seq for f in inner.sent]
        c._window_ended("show.1")  # what the loop's timer calls at the window's end
        c.offer(StreamFrame("show.1", 7, '{"type":"chat"}', "chat"))
        assert c.windows["show.1"] == 10.0 and c.dropped == 3
        return first, [f.seq for f in inner.sent]

    assert asyncio.run(run()) == ([1], [1, 5, 7])


def test_the_window_timer_flushes_the_newest_frame_by_itself() -> None:
    async def run() -> list[int]:
        inner = Inner()
        c = AuctionCoalescer(inner, 0.02, 0.1)
        for i in range(1, 6):
            c.offer(_auction(i, i))
        for _ in range(500):  # bounded wait for the timer (a bound, not a measurement)
            if inner.sent[-1].seq == 5:
                break
            await asyncio.sleep(0.01)
        return [f.seq for f in inner.sent]

    sent = asyncio.run(run())
    assert sent[0] == 1 and sent[-1] == 5 and sent == sorted(set(sent))


def test_a_held_frame_goes_before_any_other_frame_and_final_states_are_never_held() -> None:
    async def run() -> list[int]:
        inner = Inner()
        c = AuctionCoalescer(inner, 10.0, 10.0)
        c.offer(_auction(1, 1))
        c.offer(_auction(2, 2))  # held (window of 10 s)
        c.offer(StreamFrame("show.1", 3, '{"type":"pinned"}', "pinned"))  # flushes 2 first
        c.offer(_auction(4, 3))  # held again
        c.offer(_auction(5, 3, state="closed"))  # a final state: the held one, then this, at once
        return [f.seq for f in inner.sent]

    assert asyncio.run(run()) == [1, 2, 3, 4, 5]


class CpuClock:
    """A fake CPU clock: each fan-out "costs" `cost` seconds of it (no timing in the test)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class CostlyInner(Inner):
    def __init__(self, clock: CpuClock, cost: float) -> None:
        super().__init__()
        self.clock, self.cost = clock, cost

    def offer(self, frame: StreamFrame) -> None:
        self.clock.now += self.cost  # as 5,000 synchronous socket writes would
        super().offer(frame)


def test_the_window_is_at_least_factor_times_the_cpu_of_the_last_fan_out_counted_from_its_end() -> None:
    # A fan-out costing 20 s of (fake) CPU with a 10 ms window and factor 3: later bids wait >= 60 s
    # after the fan-out ended instead of going out one each (the bug: every bid that arrived after
    # the loop came back from a fan-out longer than the window went out at once).
    async def run() -> list[int]:
        clock = CpuClock()
        inner = CostlyInner(clock, 20.0)
        c = AuctionCoalescer(inner, 0.01, 0.01, cost_factor=3.0, cpu_clock=clock)
        c.offer(_auction(1, 1))
        ended = asyncio.get_running_loop().time()
        for i in range(2, 6):
            c.offer(_auction(i, i))
        assert [f.seq for f in inner.sent] == [1]  # all held
        assert c._window("show.1") == 60.0 and c.last_sent["show.1"] <= ended
        c._window_ended("show.1")  # what the loop's timer calls at the window's end
        return [f.seq for f in inner.sent]

    assert asyncio.run(run()) == [1, 5]  # the newest bid at the window's end; 2-4 were replaced

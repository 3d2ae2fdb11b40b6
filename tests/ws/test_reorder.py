"""Counter-numbered streams (shows, dashboards) reach sockets in seq order, whatever the publish order.

Two processes can number show frames N and N+1 in Redis and publish them the other way round: a
socket that got N+1 first would drop N as stale. The hub fills such a gap from the resume buffer
at once (N is there: it was numbered before N+1 by the same atomic script). Real Redis.
"""

import asyncio
import json
import uuid
from typing import Any

import pytest

from realtime.ws import protocol, store
from realtime.ws.hub import Hub, Subscriber
from realtime.ws.protocol import StreamFrame
from tests.ws.test_units import FakeSocket


async def _numbered(stream: str, count: int) -> list[StreamFrame]:
    """`count` frames numbered and buffered as publishers do (store.append_next), not yet sent."""
    return [
        await store.append_next(protocol.frame_template("chat", stream=stream, n=i)) for i in range(count)
    ]


def _hub_with_socket(stream: str, resyncs: list[str] | None = None) -> tuple[Hub, FakeSocket]:
    async def resync() -> None:
        if resyncs is not None:
            resyncs.append(stream)

    hub, sock = Hub(), FakeSocket()
    sub = Subscriber(stream=stream, send=sock.send, resync=resync)
    sub.finish_sync(0)
    hub.attach(sub)
    hub.last_seq[stream] = 0  # as join() sets it: the head when the process joined
    return hub, sock


@pytest.mark.parametrize("order", [[1, 0, 2], [2, 1, 0], [0, 2, 1]])
def test_frames_published_out_of_order_arrive_in_order_once(order: list[int]) -> None:
    stream = f"show.{uuid.uuid4().int % 10**9}"

    async def scenario() -> list[str]:
        frames = await _numbered(stream, 3)
        hub, sock = _hub_with_socket(stream)
        for i in order:
            hub.dispatch(frames[i])
        await asyncio.sleep(0.2)  # the gap fill reads Redis
        return sock.frames

    frames = asyncio.run(scenario())
    assert [json.loads(f)["n"] for f in frames] == [0, 1, 2]


def test_a_frame_lost_on_the_way_is_taken_from_the_buffer() -> None:
    stream = f"show.{uuid.uuid4().int % 10**9}"

    async def scenario() -> list[str]:
        frames = await _numbered(stream, 3)
        hub, sock = _hub_with_socket(stream)
        hub.dispatch(frames[0])
        hub.dispatch(frames[2])  # frames[1] never comes through pub/sub
        await asyncio.sleep(0.2)
        return sock.frames

    assert asyncio.run(scenario()) == [text for _, text in asyncio.run(_texts(stream))]


async def _texts(stream: str) -> list[tuple[int, str]]:
    return (await store.since(stream, 0)).frames


def test_gap_the_buffer_no_longer_covers_resyncs_the_sockets(settings: Any) -> None:
    settings.WS_RESUME_BUFFER = 2
    stream = f"show.{uuid.uuid4().int % 10**9}"
    resyncs: list[str] = []

    async def scenario() -> list[str]:
        frames = await _numbered(stream, 5)  # the buffer keeps only the last 2: 4 and 5
        hub, sock = _hub_with_socket(stream, resyncs)
        hub.dispatch(frames[0])
        hub.dispatch(frames[4])
        await asyncio.sleep(0.2)
        assert hub.last_seq[stream] == 5
        return sock.frames

    frames = asyncio.run(scenario())
    assert json.loads(frames[0])["n"] == 0 and json.loads(frames[-1])["n"] == 4
    assert resyncs == [stream]  # the socket takes a snapshot: it may have missed 2 and 3

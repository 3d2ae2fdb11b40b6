"""WebSocket metrics of the ws process's hub: frames per socket delivered, resyncs (real Redis)."""

import asyncio
import uuid

from prometheus_client import REGISTRY

from realtime.ws import protocol, store
from realtime.ws.hub import Hub, Subscriber
from tests.ws.test_units import FakeSocket


def _count(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_fanout_counts_one_frame_per_socket_and_resyncs_per_socket() -> None:
    stream = f"show.{uuid.uuid4().int % 10**9}"
    resynced: list[int] = []

    async def scenario() -> list[FakeSocket]:
        frame = await store.append_next(protocol.frame_template("chat", stream=stream, n=1))
        hub, sockets = Hub(), [FakeSocket() for _ in range(3)]
        for i, sock in enumerate(sockets):

            async def resync(i: int = i) -> None:
                resynced.append(i)

            sub = Subscriber(stream=stream, send=sock.send, resync=resync)
            sub.finish_sync(0)
            hub.attach(sub)
        hub.last_seq[stream] = 0
        hub.dispatch(frame)
        hub._resync_sockets(stream)  # what a gap the buffer no longer covers triggers
        await asyncio.sleep(0.2)
        return sockets

    frames, resyncs = _count("mintdrop_ws_frames_total"), _count("mintdrop_ws_resyncs_total")
    sockets = asyncio.run(scenario())
    assert all(len(s.frames) == 1 for s in sockets)
    assert _count("mintdrop_ws_frames_total") == frames + 3
    assert sorted(resynced) == [0, 1, 2]
    assert _count("mintdrop_ws_resyncs_total") == resyncs + 3

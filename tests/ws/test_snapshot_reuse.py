"""A snapshot loaded moments ago serves the next joiners of the stream, with the frames since its head
(realtime/ws/hub.py, `WS_SNAPSHOT_REUSE_MS`): one database read per window, never a missed frame."""

import asyncio
from typing import Any

import pytest

from realtime.ws import hub as hub_module
from realtime.ws.hub import Hub, Subscriber
from realtime.ws.protocol import StreamFrame

STREAM = "drop.1"


class FakeSocket:
    def __init__(self) -> None:
        self.frames: list[str] = []

    async def send(self, message: dict[str, Any]) -> None:
        self.frames.append(message["text"])


async def _noop() -> None:
    return None


class Loads:
    """A snapshot loader that counts its database reads; the head is the newest seq dispatched so far."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.count = 0

    async def __call__(self) -> tuple[int, str]:
        self.count += 1
        head = self.hub.last_seq.get(STREAM, 0)
        return head, f"snap{head}"


async def _join(hub: Hub, loads: Loads) -> FakeSocket:
    """What a consumer does: attach, take the (shared) snapshot, send it, go live."""
    sock = FakeSocket()
    sub = Subscriber(stream=STREAM, send=sock.send, resync=_noop)
    hub.attach(sub)
    head, text = await hub.shared_snapshot(sub, loads)
    await sub.send_text(text)
    sub.finish_sync(head)
    return sock


def _frame(seq: int) -> StreamFrame:
    return StreamFrame(STREAM, seq, f"f{seq}", "test")


def test_a_late_joiner_reuses_the_snapshot_and_gets_every_frame_after_its_head(settings: Any) -> None:
    settings.WS_SNAPSHOT_REUSE_MS = 60_000  # a bound no slow box reaches; the window's end is tested below

    async def scenario() -> tuple[list[str], list[str], int]:
        hub = Hub()
        loads = Loads(hub)
        first = await _join(hub, loads)
        hub.dispatch(_frame(1))
        hub.dispatch(_frame(2))
        late = await _join(hub, loads)  # after frames 1 and 2: snapshot "snap0" + 1 + 2, no new read
        hub.dispatch(_frame(3))
        return first.frames, late.frames, loads.count

    first, late, count = asyncio.run(scenario())
    assert count == 1
    assert first == late == ["snap0", "f1", "f2", "f3"]


def test_after_the_window_or_a_resync_a_joiner_reads_its_own(settings: Any) -> None:
    settings.WS_SNAPSHOT_REUSE_MS = 50

    async def scenario() -> list[int]:
        hub = Hub()
        loads = Loads(hub)
        counts = []
        await _join(hub, loads)
        hub.dispatch(_frame(1))
        await asyncio.sleep(0.2)  # past the window (a lower bound: sleeping longer changes nothing)
        late = await _join(hub, loads)
        counts.append(loads.count)
        assert late.frames == ["snap1"]
        hub._resync_sockets(STREAM)  # the hub missed frames: nothing loaded before may be reused
        await _join(hub, loads)
        counts.append(loads.count)
        return counts

    assert asyncio.run(scenario()) == [2, 3]


def test_no_reuse_when_frames_since_the_load_were_evicted(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.WS_SNAPSHOT_REUSE_MS = 60_000
    monkeypatch.setattr(hub_module, "_RECENT_FRAMES", 2)

    async def scenario() -> tuple[list[str], int]:
        hub = Hub()
        loads = Loads(hub)
        await _join(hub, loads)
        for seq in (1, 2, 3):  # three frames, two kept: frame 1 is gone
            hub.dispatch(_frame(seq))
        late = await _join(hub, loads)
        return late.frames, loads.count

    frames, count = asyncio.run(scenario())
    assert count == 2 and frames == ["snap3"]


def test_reuse_off_means_a_read_per_joiner(settings: Any) -> None:
    settings.WS_SNAPSHOT_REUSE_MS = 0

    async def scenario() -> int:
        hub = Hub()
        loads = Loads(hub)
        for _ in range(3):
            await _join(hub, loads)
        return loads.count

    assert asyncio.run(scenario()) == 3


def test_sockets_with_another_kind_of_snapshot_never_share_one(settings: Any) -> None:
    """A show's venue clients read another snapshot (no chat) of the same stream as its viewers."""
    settings.WS_SNAPSHOT_REUSE_MS = 60_000

    async def scenario() -> tuple[str, str, str]:
        hub = Hub()

        async def join(kind: str) -> str:
            sub = Subscriber(stream=STREAM, send=FakeSocket().send, resync=_noop)
            hub.attach(sub)

            async def load() -> tuple[int, str]:
                return 0, f"{kind or 'viewer'} snapshot"

            return str((await hub.shared_snapshot(sub, load, kind))[1])

        return await join(""), await join("venue"), await join("")

    assert asyncio.run(scenario()) == ("viewer snapshot", "venue snapshot", "viewer snapshot")

"""Unit tests: client message parsing, coalescing, per-socket sequencing in the hub (fakes only)."""

import asyncio
import json
from typing import Any

import pytest

from realtime.ws import protocol
from realtime.ws.coalesce import StockCoalescer
from realtime.ws.errors import MalformedMessage, UnknownMessageType
from realtime.ws.hub import Subscriber


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"type": 3}',
        '{"no": "type"}',
        '{"type": "resume"}',
        '{"type": "resume", "last_seq": -1}',
        '{"type": "resume", "last_seq": "5"}',
        '{"type": "resume", "last_seq": true}',
        '{"type": "resume", "last_seq": 1.5}',
        "x" * 5000,
        '{"type": "resume", "last_seq": ' + "9" * 30 + "}",
    ],
)
def test_malformed_client_messages_are_refused(text: str) -> None:
    with pytest.raises(MalformedMessage):
        protocol.parse_client_message(text)


def test_unknown_type_and_binary_frames_are_refused() -> None:
    with pytest.raises(UnknownMessageType):
        protocol.parse_client_message('{"type": "buy"}')
    with pytest.raises(MalformedMessage):
        protocol.parse_client_message(None, b"\x00")


def test_valid_client_messages() -> None:
    assert protocol.parse_client_message('{"type":"ping"}').type == "ping"
    msg = protocol.parse_client_message('{"type":"resume","last_seq":42}')
    assert (msg.type, msg.last_seq) == ("resume", 42)
    assert protocol.parse_last_seq(b"last_seq=7&token=x") == 7
    assert protocol.parse_last_seq(b"last_seq=abc") is None
    assert protocol.parse_last_seq(b"") is None


def _stock(sku: int, available: int) -> dict[str, int]:
    return {"sku_id": sku, "offered": 10, "reserved": 10 - available, "sold": 0, "available": available}


def test_coalescer_sends_first_change_at_once_then_one_per_window_last_value_wins() -> None:
    c = StockCoalescer(window_s=0.1)
    pos = ("t", 0)
    c.add(drop_id=1, payload=_stock(5, 9), seq=1, at="a", position=pos, offset=0)
    first = c.due(now=10.0)
    assert [e.skus[5]["available"] for e in first] == [9]  # quiet drop: no added latency
    for i, avail in enumerate([8, 7, 6], start=2):
        c.add(drop_id=1, payload=_stock(5, avail), seq=i, at="b", position=pos, offset=i - 1)
    assert c.due(now=10.05) == []  # inside the window: held
    assert c.holds() == {pos: 1}  # offsets from 1 on must not be committed yet
    (entry,) = c.due(now=10.1)
    assert entry.skus[5]["available"] == 6 and entry.seq == 4
    assert c.holds() == {} and c.next_due_in(10.1) is None


def test_coalescer_take_flushes_a_final_state_immediately() -> None:
    c = StockCoalescer(window_s=0.1)
    c.add(drop_id=1, payload=_stock(5, 1), seq=1, at="a", position=("t", 0), offset=0)
    c.due(now=1.0)
    c.add(drop_id=1, payload=_stock(5, 0), seq=2, at="a", position=("t", 0), offset=1, sold_out=True)
    entry = c.take(1, now=1.01)
    assert entry is not None and entry.sold_out and entry.skus[5]["available"] == 0
    c.add(drop_id=2, payload=_stock(6, 3), seq=9, at="a", position=("t", 3), offset=8)
    c.forget({("t", 3)})
    assert c.pending == {}


class FakeSocket:
    def __init__(self) -> None:
        self.frames: list[str] = []
        self.gate: asyncio.Event | None = None

    async def send(self, message: dict[str, Any]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.frames.append(message["text"])


async def _noop() -> None:
    return None


def test_subscriber_queues_while_syncing_and_never_sends_a_seq_twice() -> None:
    async def scenario() -> list[str]:
        sock = FakeSocket()
        sub = Subscriber(stream="drop.1", send=sock.send, resync=_noop)
        sub.deliver(5, "f5")  # arrives during the snapshot
        sub.deliver(3, "f3")  # older than the snapshot
        sub.finish_sync(4)  # snapshot had seq 4
        sub.deliver(5, "f5")  # the same frame again (replay after a projector restart)
        sub.deliver(7, "f7")
        sub.deliver(6, "f6")  # late, older: skipped
        return sock.frames

    assert asyncio.run(scenario()) == ["f5", "f7"]


def test_a_blocked_socket_does_not_block_delivery_and_keeps_its_order() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        slow, fast = FakeSocket(), FakeSocket()
        slow.gate = asyncio.Event()
        subs = [Subscriber(stream="d", send=s.send, resync=_noop) for s in (slow, fast)]
        for sub in subs:
            sub.finish_sync(0)
        for seq in (1, 2, 3):
            for sub in subs:
                sub.deliver(seq, f"f{seq}")
        assert fast.frames == ["f1", "f2", "f3"] and slow.frames == []
        slow.gate.set()
        await asyncio.sleep(0.01)
        return slow.frames, fast.frames

    slow_frames, fast_frames = asyncio.run(scenario())
    assert slow_frames == fast_frames == ["f1", "f2", "f3"]


def test_frames_are_compact_json_with_type_seq_stream_first() -> None:
    text = protocol.encode(protocol.frame("stock", seq=3, stream="drop.1", drop_id=1))
    assert text.startswith('{"type":"stock","seq":3,"stream":"drop.1"')
    assert json.loads(text)["drop_id"] == 1

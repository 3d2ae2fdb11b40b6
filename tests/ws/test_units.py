"""Unit tests: client message parsing, coalescing, per-socket sequencing in the hub (fakes only)."""

import asyncio
import json
from typing import Any

import pytest

from realtime.ws import protocol, wire
from realtime.ws.coalesce import StockCoalescer
from realtime.ws.errors import MalformedMessage, UnknownMessageType
from realtime.ws.hub import Hub, Subscriber, stock_slot


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


def test_coalescer_widens_the_window_while_a_drop_stays_busy_and_resets_after_quiet() -> None:
    c = StockCoalescer(window_s=0.1, max_window_s=0.4)
    pos, seq = ("t", 0), 0
    flushed: list[float] = []

    def change(now: float) -> None:
        nonlocal seq
        seq += 1
        c.add(drop_id=1, payload=_stock(5, 9), seq=seq, at="a", position=pos, offset=seq - 1)
        flushed.extend(round(now, 2) for _ in c.due(now))

    for step in range(200):  # a change every 10 ms for 2 s
        change(10.0 + step * 0.01)
    # at once, then windows of 0.1, 0.2, 0.4, 0.4, ... (capped)
    assert flushed[:5] == [10.0, 10.1, 10.3, 10.7, 11.1]
    assert c.window_of(1) == 0.4
    flushed.clear()
    change(20.0)  # after a quiet spell: at once, and back to the base window
    assert flushed == [20.0] and c.window_of(1) == 0.1


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


def _stock_text(seq: int, skus: dict[int, int], sold_out: bool = False) -> str:
    rows = [{"sku_id": k, "available": v} for k, v in skus.items()]
    return protocol.encode(protocol.frame("stock", seq=seq, stream="drop.1", skus=rows, sold_out=sold_out))


def test_a_blocked_socket_gets_the_newest_stock_not_every_intermediate_one() -> None:
    """Last value wins behind a blocked send; frames of other kinds and partial stock keep their place."""

    async def scenario() -> tuple[list[str], list[str], int]:
        slow, fast = FakeSocket(), FakeSocket()
        slow.gate = asyncio.Event()
        subs = [Subscriber(stream="drop.1", send=s.send, resync=_noop) for s in (slow, fast)]
        hub = Hub.__new__(Hub)  # dispatch only: no channel layer needed
        hub.streams, hub.last_seq, hub.batchers = {"drop.1": set(subs)}, {}, {}
        for sub in subs:
            sub.finish_sync(0)
        texts = [
            _stock_text(1, {5: 9, 6: 9}),  # written at once; the slow socket's send blocks on it
            _stock_text(2, {5: 8, 6: 9}),  # queued
            _stock_text(3, {5: 7, 6: 8}),  # replaces 2 (same SKUs)
            '{"type":"drop_state","seq":4,"stream":"drop.1","state":"paused"}',  # not a value: queued
            _stock_text(5, {5: 6}),  # covers fewer SKUs than nothing before it: queued
            _stock_text(6, {5: 5, 6: 7}),  # covers 5's SKUs: replaces it
            _stock_text(7, {5: 0, 6: 0}, sold_out=True),  # the final state replaces 6
        ]
        for seq, text in enumerate(texts, start=1):
            hub.dispatch("drop.1", seq, text)
        slow.gate.set()
        await asyncio.sleep(0.01)
        return slow.frames, fast.frames, subs[0].replaced

    slow_frames, fast_frames, replaced = asyncio.run(scenario())
    assert [json.loads(f)["seq"] for f in fast_frames] == [1, 2, 3, 4, 5, 6, 7]
    assert [json.loads(f)["seq"] for f in slow_frames] == [1, 3, 4, 7]
    assert json.loads(slow_frames[-1])["sold_out"] is True
    assert replaced == 3


def test_stock_slot_only_for_stock_frames() -> None:
    assert stock_slot("drop.1", _stock_text(1, {5: 1, 6: 2})) == ("stock:drop.1", frozenset({5, 6}))
    assert stock_slot("drop.1", '{"type":"drop_state","seq":1}') is None
    assert stock_slot("drop.1", '{"type":"stock","seq":1}') is None  # malformed: never replaced


def test_frames_are_compact_json_with_type_seq_stream_first() -> None:
    text = protocol.encode(protocol.frame("stock", seq=3, stream="drop.1", drop_id=1))
    assert text.startswith('{"type":"stock","seq":3,"stream":"drop.1"')
    assert json.loads(text)["drop_id"] == 1


def test_the_prebuilt_frame_is_what_the_websockets_protocol_would_send() -> None:
    from websockets.protocol import State
    from websockets.server import ServerProtocol

    server = ServerProtocol()
    server.state = State.OPEN
    for text in ('{"type":"stock","seq":1}', "é" * 200, "x" * 70000):  # short, 16-bit and 64-bit lengths
        server.send_text(text.encode())
        assert wire.text_frame(text) == b"".join(server.data_to_send())


def test_sockets_not_served_by_uvicorn_sansio_take_the_asgi_send() -> None:
    sock = FakeSocket()
    assert wire.raw_socket(sock.send) is None
    assert Subscriber(stream="d", send=sock.send, resync=_noop).raw is None

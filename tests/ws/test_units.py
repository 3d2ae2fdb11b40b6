"""Unit tests: client message parsing, coalescing, per-socket sequencing in the hub (fakes only)."""

import asyncio
import json
from typing import Any

import pytest

from realtime.ws import protocol, wire
from realtime.ws.coalesce import StockCoalescer
from realtime.ws.errors import MalformedMessage, UnknownMessageType
from realtime.ws.hub import Hub, Subscriber, slot_of
from realtime.ws.protocol import StreamFrame


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


def _f(seq: int, text: str, stream: str = "drop.1") -> StreamFrame:
    return StreamFrame(stream, seq, text, "test")


def test_subscriber_queues_while_syncing_and_never_sends_a_seq_twice() -> None:
    async def scenario() -> list[str]:
        sock = FakeSocket()
        sub = Subscriber(stream="drop.1", send=sock.send, resync=_noop)
        sub.deliver(_f(5, "f5"))  # arrives during the snapshot
        sub.deliver(_f(3, "f3"))  # older than the snapshot
        sub.finish_sync(4)  # snapshot had seq 4
        sub.deliver(_f(5, "f5"))  # the same frame again (replay after a projector restart)
        sub.deliver(_f(7, "f7"))
        sub.deliver(_f(6, "f6"))  # late, older: skipped
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
                sub.deliver(_f(seq, f"f{seq}", "d"))
        assert fast.frames == ["f1", "f2", "f3"] and slow.frames == []
        slow.gate.set()
        await asyncio.sleep(0.01)
        return slow.frames, fast.frames

    slow_frames, fast_frames = asyncio.run(scenario())
    assert slow_frames == fast_frames == ["f1", "f2", "f3"]


def _stock_frame(seq: int, skus: dict[int, int], sold_out: bool = False) -> StreamFrame:
    rows = [{"sku_id": k, "available": v} for k, v in skus.items()]
    return protocol.stream_frame("stock", seq=seq, stream="drop.1", skus=rows, sold_out=sold_out)


def test_a_blocked_socket_gets_the_newest_stock_not_every_intermediate_one() -> None:
    """Last value wins behind a blocked send; frames of other kinds and partial stock keep their place."""

    async def scenario() -> tuple[list[str], list[str], int]:
        slow, fast = FakeSocket(), FakeSocket()
        slow.gate = asyncio.Event()
        subs = [Subscriber(stream="drop.1", send=s.send, resync=_noop) for s in (slow, fast)]
        hub = Hub()  # dispatch only: the channel layer is never used
        hub.streams = {"drop.1": set(subs)}
        for sub in subs:
            sub.finish_sync(0)
        frames = [
            _stock_frame(1, {5: 9, 6: 9}),  # written at once; the slow socket's send blocks on it
            _stock_frame(2, {5: 8, 6: 9}),  # queued
            _stock_frame(3, {5: 7, 6: 8}),  # replaces 2 (same SKUs)
            protocol.stream_frame(
                "drop_state", seq=4, stream="drop.1", state="paused"
            ),  # not a value: queued
            _stock_frame(5, {5: 6}),  # covers fewer SKUs than nothing before it: queued
            _stock_frame(6, {5: 5, 6: 7}),  # covers 5's SKUs: replaces it
            _stock_frame(7, {5: 0, 6: 0}, sold_out=True),  # the final state replaces 6
        ]
        for frame in frames:
            hub.dispatch(frame)
        slow.gate.set()
        await asyncio.sleep(0.01)
        return slow.frames, fast.frames, subs[0].replaced

    slow_frames, fast_frames, replaced = asyncio.run(scenario())
    assert [json.loads(f)["seq"] for f in fast_frames] == [1, 2, 3, 4, 5, 6, 7]
    assert [json.loads(f)["seq"] for f in slow_frames] == [1, 3, 4, 7]
    assert json.loads(slow_frames[-1])["sold_out"] is True
    assert replaced == 3


def test_stock_slot_only_for_stock_frames() -> None:
    assert slot_of(_stock_frame(1, {5: 1, 6: 2})) == ("stock:drop.1", frozenset({5, 6}))
    assert slot_of(protocol.stream_frame("drop_state", seq=1, stream="drop.1")) is None
    # A stock frame read back without its SKUs (malformed) is never replaced.
    assert slot_of(protocol.read_stored_frame("drop.1", 1, '{"type":"stock","seq":1}')) is None


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


def test_one_constructor_gives_the_hub_explicit_routing_fields() -> None:
    stock = _stock_frame(4, {5: 1, 6: 0})
    assert (stock.stream, stock.seq, stock.kind, stock.skus) == ("drop.1", 4, "stock", frozenset({5, 6}))
    flash = protocol.stream_frame(
        "flash_drop", seq=9, stream="show.3", flash_drop={"drop_id": 77, "skus": []}
    )
    assert flash.follow_drop == 77 and flash.skus is None
    for f in (stock, flash):
        # Across the channel layer and back, and read back from the resume buffer: the same frame.
        assert protocol.read_layer_message(f.layer_message()) == f
        assert protocol.read_stored_frame(f.stream, f.seq, f.text) == f
    assert protocol.read_stored_frame("drop.1", 3, "not json").kind == ""  # routed as a plain frame


def test_a_counter_streams_template_has_its_placeholder_before_any_field() -> None:
    # A chat line may itself contain "{seq}" or '"seq":0,': the script fills only the first placeholder.
    t = protocol.frame_template("chat", stream="show.1", message={"text": '{seq} "seq":0, {seq}'})
    assert t.text.startswith('{"type":"chat","seq":{seq},"stream":"show.1"')
    text = t.text.replace("{seq}", "12", 1)  # what store._APPEND_NEXT's gsub(..., 1) does
    frame = t.numbered(12, text)
    assert json.loads(frame.text)["seq"] == 12
    assert json.loads(frame.text)["message"]["text"] == '{seq} "seq":0, {seq}'
    assert frame.kind == "chat" and frame.stream == "show.1"


def test_the_fast_path_start_up_check_passes_on_this_uvicorn() -> None:
    async def check() -> bool:
        return wire._probe() is None and wire.check_fast_paths()

    assert asyncio.run(check())


def test_a_changed_uvicorn_protocol_turns_the_fast_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    base = wire.WebSocketsSansIOProtocol
    assert base is not None

    class Renamed(base):  # type: ignore[misc,valid-type]
        """As if a release renamed a private attribute the direct write reads."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            del self.close_sent

    class Served(Renamed):
        async def send(self, message: Any) -> None:
            return None

    monkeypatch.setattr(wire, "WebSocketsSansIOProtocol", Renamed)
    monkeypatch.setattr(wire, "_raw_ok", None)

    async def check() -> tuple[bool, Any]:
        ok = wire.check_fast_paths()
        proto = Served.__new__(Served)  # a socket of that server: its send must take the ASGI path
        return ok, wire.raw_socket(proto.send)

    assert asyncio.run(check()) == (False, None)


def test_ws_fast_paths_off_means_no_direct_writes(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.WS_FAST_PATHS = False
    monkeypatch.setattr(wire, "_raw_ok", None)
    base = wire.WebSocketsSansIOProtocol
    assert base is not None
    proto = base.__new__(base)

    async def check() -> tuple[bool, Any]:
        return wire.check_fast_paths(), wire.raw_socket(proto.send)

    assert asyncio.run(check()) == (False, None)
    settings.WS_FAST_PATHS = True
    monkeypatch.setattr(wire, "_raw_ok", None)
    assert asyncio.run(check())[0] is True


def test_the_projector_keeps_the_coalescers_memory_bounded() -> None:
    """Drops come and go for hours: per-drop state older than the keep window is forgotten."""
    from realtime.ws import projector as projector_module

    p = projector_module.Projector.__new__(projector_module.Projector)  # the loop's state only
    p.coalescer = StockCoalescer(window_s=0.1, max_window_s=0.4)
    p.next_forget = 0.0
    keep, pos, seq = projector_module.COALESCER_KEEP_S, ("t", 0), 0
    sizes = []
    for minute in range(6 * 60):  # six hours, 20 new drops a minute, each busy for one minute
        now = 1000.0 + minute * 60
        for drop_id in range(minute * 20, minute * 20 + 20):
            for step in range(3):  # busy: its window widens (state kept in `windows` too)
                seq += 1
                p.coalescer.add(drop_id=drop_id, payload=_stock(5, 9), seq=seq, at="a", position=pos,
                                offset=seq)  # fmt: skip
                p.coalescer.due(now + step * 0.1)
        p.forget_quiet_drops(now + 1)
        sizes.append(len(p.coalescer.last_flush))
        assert all(
            now + 1 - t <= keep + projector_module.FORGET_EVERY_S for t in p.coalescer.last_flush.values()
        )
    per_window = 20 * (keep + projector_module.FORGET_EVERY_S) / 60
    assert max(sizes) <= per_window  # bounded by the drops active in the keep window, not all 7,200
    assert len(p.coalescer.windows) <= per_window
    assert sizes[-1] < 6 * 60 * 20

"""Chat batching in the ws process (fakes only): one frame per window, order kept, inner frames unchanged."""

import asyncio
import json
from typing import Any

import pytest

from realtime.shows.chat_batch import ChatBatcher
from realtime.ws import protocol
from realtime.ws.hub import Hub, Subscriber
from realtime.ws.protocol import StreamFrame

WINDOW_S = 0.05


def _chat(seq: int, text: str) -> StreamFrame:
    return protocol.stream_frame("chat", seq=seq, stream="show.1", message={"id": seq, "text": text})


def _other(seq: int, kind: str) -> StreamFrame:
    return protocol.stream_frame(kind, seq=seq, stream="show.1", message_id=2)


def test_chat_within_a_window_goes_out_as_one_batch_and_other_frames_keep_their_place() -> None:
    sent: list[tuple[int, str]] = []

    async def scenario() -> None:
        batcher = ChatBatcher(WINDOW_S, lambda f: sent.append((f.seq, f.text)))
        batcher.offer(_chat(1, "first"))  # quiet stream: at once, as a plain chat frame
        assert [s for s, _ in sent] == [1]
        for seq in (2, 3, 4):
            batcher.offer(_chat(seq, f"line {seq}"))
        assert len(sent) == 1  # held for the rest of the window
        batcher.offer(_other(5, "chat_deleted"))  # flushes the waiting chat first
        batcher.offer(_chat(6, "after"))  # the window restarted with the flush: held
        await asyncio.sleep(WINDOW_S * 4)  # the window's timer sends it (alone: a plain frame)

    asyncio.run(scenario())
    assert [seq for seq, _ in sent] == [1, 4, 5, 6]
    batch = json.loads(sent[1][1])
    assert batch["type"] == "chat_batch" and batch["stream"] == "show.1" and batch["seq"] == 4
    assert [f["seq"] for f in batch["frames"]] == [2, 3, 4]
    assert batch["frames"][0] == json.loads(_chat(2, "line 2").text)  # inner frames unchanged
    assert json.loads(sent[2][1])["type"] == "chat_deleted"
    assert json.loads(sent[3][1])["type"] == "chat"


@pytest.mark.parametrize("cap", [None, 2, 1])  # in base windows; None: the default cap (4)
def test_busy_chat_widens_the_window_up_to_a_cap_and_a_quiet_window_resets_it(cap: int | None) -> None:
    sent: list[int] = []
    window = 0.2  # wide enough that a loaded machine's scheduling never looks like a quiet spell

    async def scenario() -> list[float]:
        def collect(frame: StreamFrame) -> None:
            doc = json.loads(frame.text)
            sent.extend([f["seq"] for f in doc["frames"]] if frame.kind == "chat_batch" else [frame.seq])

        batcher = ChatBatcher(window, collect, max_window_s=None if cap is None else window * cap)
        windows, seq = [], 0
        for _ in range(4):  # each round: chat arrives while a window is open, so the window ends busy
            seq += 1
            batcher.offer(_chat(seq, "x"))
            seq += 1
            batcher.offer(_chat(seq, "y"))
            while "show.1" in batcher.pending:
                await asyncio.sleep(window / 5)
            windows.append(batcher.window_of("show.1"))
        await asyncio.sleep(batcher.window_of("show.1") * 2)  # a quiet spell longer than the window
        batcher.offer(_chat(seq + 1, "after a pause"))  # goes at once
        windows.append(batcher.window_of("show.1"))
        return windows

    windows = asyncio.run(scenario())
    top = window * (cap or 4)
    assert windows == [min(window * 2, top), top, top, top, window]
    assert sent == list(range(1, 10))  # every message, in order


class _Socket:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        self.frames.append(json.loads(message["text"]))


async def _noop() -> None:
    return None


def test_the_hub_routes_show_streams_through_the_batcher_once_per_process() -> None:
    async def scenario() -> list[list[dict[str, Any]]]:
        hub = Hub()  # fan-out only: never started, so no channel layer connection
        hub.set_batcher("show.", ChatBatcher(WINDOW_S, hub.fanout))
        sockets = [_Socket() for _ in range(3)]
        subs = [Subscriber(stream="show.1", send=s.send, resync=_noop) for s in sockets]
        drop = Subscriber(stream="drop.9", send=sockets[0].send, resync=_noop)
        for sub in (*subs, drop):
            hub.attach(sub)
            sub.finish_sync(0)
        for seq in range(1, 11):
            hub.dispatch(_chat(seq, f"line {seq}"))
        hub.dispatch(protocol.stream_frame("stock", seq=1, stream="drop.9", skus=[]))  # not batched
        await asyncio.sleep(WINDOW_S * 4)
        return [s.frames for s in sockets]

    per_socket = asyncio.run(scenario())
    for frames in per_socket:
        chat = [f for f in frames if f["stream"] == "show.1"]
        assert [f["type"] for f in chat] == ["chat", "chat_batch"]
        assert [m["seq"] for m in chat[1]["frames"]] == list(range(2, 11))  # nothing lost, in order
    assert [f["type"] for f in per_socket[0] if f["stream"] == "drop.9"] == ["stock"]


def test_the_window_is_at_least_factor_times_the_cpu_of_the_last_chat_fan_out() -> None:
    # A chat fan-out costing 20 s of (fake) CPU, a 10 ms window, factor 3: the next messages wait
    # for a window of >= 60 s and go out as one batch, not one frame each (a window counted from
    # the start of the fan-out let each message that arrived after the loop came back through).
    sent: list[int] = []
    cpu = [0.0]

    def costly(frame: StreamFrame) -> None:
        cpu[0] += 20.0  # as 2,000 synchronous socket writes would
        doc = json.loads(frame.text)
        sent.extend([f["seq"] for f in doc["frames"]] if frame.kind == "chat_batch" else [frame.seq])

    async def scenario() -> None:
        batcher = ChatBatcher(0.01, costly, max_window_s=0.01, cost_factor=3.0, cpu_clock=lambda: cpu[0])
        batcher.offer(_chat(1, "first"))
        for seq in (2, 3, 4):
            batcher.offer(_chat(seq, f"line {seq}"))
        assert sent == [1]  # all held
        assert batcher._due("show.1") - batcher.last_sent["show.1"] == 60.0
        batcher.flush("show.1")  # what the window's timer does at its end
        assert batcher.batches == 1

    asyncio.run(scenario())
    assert sent == [1, 2, 3, 4]

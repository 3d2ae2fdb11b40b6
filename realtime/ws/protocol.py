"""The WebSocket message protocol: JSON text frames, one object each.

Server -> client: `{"type": "snapshot"|"stock"|"drop_state"|"order_status"|"payment"|"mint"|
"dashboard"|"pong"|"error", "seq": n, "stream": "drop.7", ...}`. `seq` increases strictly on a
stream; a client keeps the highest it applied and ignores anything not above it.

Client -> server: `{"type": "resume", "last_seq": n}` (send what I missed after n, or a fresh
snapshot) and `{"type": "ping"}` (answered by `pong` with the stream's current head seq, so an idle
client can tell it is behind). Anything else gets an `error` frame; the socket stays open and
nothing changes.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from realtime.ws.errors import MalformedMessage, UnknownMessageType, WsError

# Application close codes (4000-4999 are free for applications, RFC 6455 section 7.4.2).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404

MAX_CLIENT_MESSAGE_BYTES = 4096
MAX_SEQ = 2**63 - 1


def encode(frame: dict[str, Any]) -> str:
    """One frame as compact JSON text (encoded once, sent to every socket as is)."""
    return json.dumps(frame, cls=DjangoJSONEncoder, separators=(",", ":"))


def frame(type: str, *, seq: int, stream: str, **fields: Any) -> dict[str, Any]:
    """A server frame; `seq` and `stream` first so they are cheap to spot in logs."""
    return {"type": type, "seq": seq, "stream": stream, **fields}


SEQ_PLACEHOLDER = "{seq}"  # filled in by the Redis script that numbers counter streams (store.append_next)

# Frame types a venue socket never gets (chat and its moderation).
CHAT_KINDS = frozenset({"chat", "chat_batch", "chat_deleted", "muted", "unmuted"})


@dataclass(frozen=True, slots=True)
class StreamFrame:
    """One numbered frame of a stream: its text (encoded once, written as is to every socket) plus
    the fields the hub routes on, so nothing downstream has to look inside the text.

    `skus`: a `stock` frame restates these SKUs' counters (a newer one replaces it behind a slow
    socket). `follow_drop`: a `flash_drop` frame moves its viewers to this drop's stream.
    """

    stream: str
    seq: int
    text: str
    kind: str
    skus: frozenset[int] | None = None
    follow_drop: int | None = None

    def layer_message(self) -> dict[str, Any]:
        """The channel-layer message every ws process's hub receives (msgpack-friendly)."""
        return {
            "type": "ws.frame",
            "stream": self.stream,
            "seq": self.seq,
            "text": self.text,
            "kind": self.kind,
            "skus": sorted(self.skus) if self.skus is not None else None,
            "follow_drop": self.follow_drop,
        }


def stream_frame(kind: str, *, seq: int, stream: str, **fields: Any) -> StreamFrame:
    """The one constructor of a stream frame whose seq is known (drop and order streams)."""
    text = encode(frame(kind, seq=seq, stream=stream, **fields))
    return StreamFrame(stream, seq, text, kind, *_routing(kind, fields))


@dataclass(frozen=True, slots=True)
class FrameTemplate:
    """A frame of a counter-numbered stream (show, dashboard) before Redis gives it its number."""

    stream: str
    kind: str
    text: str  # the frame with SEQ_PLACEHOLDER where its seq goes
    skus: frozenset[int] | None = None
    follow_drop: int | None = None

    def numbered(self, seq: int, text: str) -> StreamFrame:
        """The frame as numbered and stored by the append script (`text` has the seq filled in)."""
        return StreamFrame(self.stream, seq, text, self.kind, self.skus, self.follow_drop)


def frame_template(kind: str, *, stream: str, **fields: Any) -> FrameTemplate:
    """A counter stream's frame with a '{seq}' placeholder (before every field, so it is the first one)."""
    text = encode(frame(kind, seq=0, stream=stream, **fields))
    kind_json = json.dumps(kind)
    head = f'{{"type":{kind_json},"seq":0,'
    assert text.startswith(head), text[:80]  # frame() puts type then seq first
    text = f'{{"type":{kind_json},"seq":{SEQ_PLACEHOLDER},' + text[len(head) :]
    return FrameTemplate(stream, kind, text, *_routing(kind, fields))


def read_layer_message(message: Mapping[str, Any]) -> StreamFrame:
    """A frame as the hub receives it from the channel layer (see `StreamFrame.layer_message`)."""
    skus = message.get("skus")
    return StreamFrame(
        stream=str(message["stream"]),
        seq=int(message["seq"]),
        text=str(message["text"]),
        kind=str(message["kind"]),
        skus=frozenset(int(s) for s in skus) if skus is not None else None,
        follow_drop=int(message["follow_drop"]) if message.get("follow_drop") is not None else None,
    )


def read_stored_frame(stream: str, seq: int, text: str) -> StreamFrame:
    """A frame read back from a resume buffer (gap fill, heal: rare, so parsing it once is fine)."""
    try:
        doc = json.loads(text)
        kind = str(doc["type"])
    except (ValueError, KeyError, TypeError):
        return StreamFrame(stream, seq, text, "")
    return StreamFrame(stream, seq, text, kind, *_routing(kind, doc))


def _routing(kind: str, fields: Mapping[str, Any]) -> tuple[frozenset[int] | None, int | None]:
    """(skus, follow_drop) of a frame, from its own fields: one rule for every path a frame takes."""
    try:
        if kind == "stock":
            return frozenset(int(s["sku_id"]) for s in fields["skus"]), None
        if kind == "flash_drop":
            drop_id = (fields.get("flash_drop") or {}).get("drop_id")
            return None, int(drop_id) if drop_id is not None else None
    except (KeyError, TypeError, ValueError):
        pass
    return None, None


def error_frame(error: WsError, *, seq: int, stream: str) -> str:
    """The error frame for `error`; `seq` is the last one sent (an error is not a state change)."""
    return encode(
        frame("error", seq=seq, stream=stream, code=error.code, message=error.message, details=error.details)
    )


@dataclass(frozen=True)
class ClientMessage:
    type: str
    last_seq: int | None = None


def decode_client_frame(text: str | None, data: bytes | None = None) -> tuple[str, dict[str, Any]]:
    """The `type` and the JSON object of one client text frame; MalformedMessage if it is not one.

    Shared by every socket of the protocol (drops, orders, dashboards, shows).
    """
    if data is not None or text is None:
        raise MalformedMessage("Binary frames are not part of the protocol; send JSON text.")
    if len(text) > MAX_CLIENT_MESSAGE_BYTES:
        raise MalformedMessage("Message too large.", details={"max_bytes": MAX_CLIENT_MESSAGE_BYTES})
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedMessage("Message is not valid JSON.") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
        raise MalformedMessage('Message must be a JSON object with a string "type".')
    return doc["type"], doc


def parse_client_message(text: str | None, data: bytes | None = None) -> ClientMessage:
    """Validate one client frame; raise MalformedMessage / UnknownMessageType (never anything else)."""
    kind, doc = decode_client_frame(text, data)
    if kind == "ping":
        return ClientMessage("ping")
    if kind == "resume":
        last_seq = doc.get("last_seq")
        # bool is an int in Python: reject it explicitly.
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or not 0 <= last_seq <= MAX_SEQ:
            raise MalformedMessage(
                '"last_seq" must be a non-negative integer.', details={"field": "last_seq"}
            )
        return ClientMessage("resume", last_seq=last_seq)
    raise UnknownMessageType(f"Unknown message type {kind[:40]!r}.", details={"allowed": ["resume", "ping"]})


def parse_last_seq(query_string: bytes) -> int | None:
    """`?last_seq=n` on the connect URL: the client resumes instead of taking a snapshot."""
    from urllib.parse import parse_qs

    values = parse_qs(query_string.decode("latin-1")).get("last_seq")
    if not values:
        return None
    try:
        value = int(values[0])
    except ValueError:
        return None
    return value if 0 <= value <= MAX_SEQ else None

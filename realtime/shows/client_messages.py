"""What a show socket's client may send; anything else gets an `error` frame and changes nothing."""

from dataclasses import dataclass, field
from typing import Any

from realtime.shows.presence import REACTIONS
from realtime.ws.errors import MalformedMessage, UnknownMessageType
from realtime.ws.protocol import decode_client_frame

VIEWER_TYPES = ("ping", "resume", "chat", "react", "delete", "mute", "unmute", "bid", "giveaway_enter")
VENUE_TYPES = ("ping", "resume")


@dataclass(frozen=True)
class ClientMessage:
    type: str
    ref: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def _int(doc: dict[str, Any], name: str) -> int:
    value = doc.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 2**62:
        raise MalformedMessage(f'"{name}" must be a positive integer.', details={"field": name})
    return value


def parse(text: str | None, data: bytes | None = None, *, venue: bool = False) -> ClientMessage:
    """Validate one client frame (raises MalformedMessage / UnknownMessageType, nothing else)."""
    kind, doc = decode_client_frame(text, data)
    allowed = VENUE_TYPES if venue else VIEWER_TYPES
    if kind not in allowed:
        raise UnknownMessageType(f"Unknown message type {kind[:40]!r}.", details={"allowed": list(allowed)})
    ref = doc.get("ref")
    ref = str(ref)[:64] if isinstance(ref, str | int) and not isinstance(ref, bool) else None
    fields: dict[str, Any] = {}
    if kind == "chat":
        fields["text"] = doc.get("text")  # checked by the chat service (length, markup, ...)
    elif kind == "react":
        if doc.get("reaction") not in REACTIONS:
            raise MalformedMessage("Unknown reaction.", details={"allowed": list(REACTIONS)})
        fields["reaction"] = doc["reaction"]
    elif kind == "delete":
        fields["message_id"] = _int(doc, "message_id")
    elif kind == "bid":  # the amounts are checked by the bidding service (same answers as REST)
        fields["auction_id"] = _int(doc, "auction_id")
        fields["amount"] = doc.get("amount")
        if doc.get("max_amount") is not None:
            fields["max_amount"] = doc["max_amount"]
    elif kind == "giveaway_enter":
        fields["giveaway_id"] = _int(doc, "giveaway_id")
    elif kind in ("mute", "unmute"):
        fields["user_id"] = _int(doc, "user_id")
        reason = doc.get("reason")
        if isinstance(reason, str):
            fields["reason"] = reason[:100]
    return ClientMessage(type=kind, ref=ref, fields=fields)

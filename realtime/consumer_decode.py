"""Turning a Kafka message into a validated Event (or the reason it is poison)."""

import json
from dataclasses import dataclass

from confluent_kafka import Message

from realtime import registry
from realtime.contracts import validate_envelope
from realtime.deadletter import headers_dict
from realtime.errors import EventError, InvalidEvent
from realtime.events import Event


@dataclass
class Decoded:
    msg: Message
    headers: dict[str, str]
    event: Event | None = None
    error: Exception | None = None

    def handlers(self, group: str) -> list[registry.Handler]:
        return registry.handlers_for(group, self.event.type) if self.event else []


def decode_message(msg: Message) -> Decoded:
    """Parse and validate envelope and payload; on failure `error` says why (the event is poison)."""
    decoded = Decoded(msg=msg, headers=headers_dict(msg.headers()))
    try:
        raw = msg.value()
        if raw is None:
            raise InvalidEvent("message has no value")
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidEvent(f"message value is not JSON: {exc}") from exc
        validate_envelope(doc)
        key = msg.key()
        if key is not None and key.decode("utf-8", "replace") != doc["key"]:
            raise InvalidEvent(f"message key {key!r} differs from the envelope key {doc['key']!r}")
        decoded.event = Event.from_dict(doc)
    except EventError as exc:
        decoded.error = exc
    return decoded

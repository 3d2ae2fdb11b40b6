"""The event envelope shared by the outbox, Kafka messages, consumers and replays."""

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


@dataclass(frozen=True, slots=True)
class Event:
    """One fact: `type` at `version`, about aggregate `key`, with its `payload`."""

    type: str
    key: str
    payload: dict[str, Any]
    version: int = 1
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    trace_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # W3C traceparent of the span that emitted the event ("" when tracing was off); untrusted on
    # read: realtime.tracing parses it leniently (garbage starts a new trace).
    traceparent: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The envelope as JSON-ready data (the Kafka message value)."""
        return {
            "id": str(self.id),
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "key": self.key,
            "trace_id": self.trace_id,
            **({"traceparent": self.traceparent} if self.traceparent else {}),
            "payload": self.payload,
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), cls=DjangoJSONEncoder, separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "Event":
        """Build an event from an envelope that already passed `contracts.validate_envelope`."""
        return cls(
            id=uuid.UUID(doc["id"]),
            type=doc["type"],
            version=int(doc["version"]),
            occurred_at=datetime.fromisoformat(doc["occurred_at"]),
            key=str(doc["key"]),
            trace_id=str(doc["trace_id"]),
            traceparent=str(doc.get("traceparent") or ""),
            payload=doc["payload"],
        )

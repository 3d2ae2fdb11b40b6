"""`emit()`: the one way application code publishes an event (transactional outbox)."""

import json
from typing import Any
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from realtime.contracts import validate_payload
from realtime.errors import InvalidEvent, OutsideTransaction
from realtime.events import Event
from realtime.models import OutboxEvent
from realtime.tracing import current_trace_id


def _json_ready(payload: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so what we validate is exactly what the relay will publish."""
    try:
        result: dict[str, Any] = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"payload is not JSON-serialisable: {exc}") from exc
    return result


def emit(
    *,
    type: str,
    key: str | int | UUID,
    payload: dict[str, Any],
    version: int = 1,
    using: str = "default",
) -> Event:
    """Validate `payload` against its schema and add it to the outbox in the caller's transaction.

    Must run inside `transaction.atomic()`: the event is committed with the change it describes,
    or rolled back with it. Raises OutsideTransaction in autocommit mode, UnknownEventType or
    InvalidEvent (writing nothing) when the payload does not match its contract.
    """
    if not transaction.get_connection(using).in_atomic_block:
        raise OutsideTransaction(f"emit({type!r}) must be called inside transaction.atomic()")
    data = _json_ready(payload)
    contract = validate_payload(type, version, data)
    event = Event(type=type, version=version, key=str(key), payload=data, trace_id=current_trace_id())
    OutboxEvent.objects.using(using).create(
        id=event.id,
        aggregatetype=contract.aggregate,
        aggregateid=event.key,
        type=event.type,
        version=event.version,
        payload=event.payload,
        trace_id=event.trace_id,
        created_at=event.occurred_at,
    )
    return event

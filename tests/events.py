"""One way for tests to build events: from the schema's first example, validated like production.

`make_event("payment.succeeded", order_id=order.pk, amount=order.total)` starts from the first
`examples` entry of `realtime/schemas/payment.succeeded.v1.json`, applies the overrides and
validates the result against the schema (the check `emit()` and the consumers make), so a test
cannot build an event that production would refuse. An override of `None` for a property the
schema does not accept as null removes it (for optional properties the example carries).
Tests of the refusal itself build their invalid payloads by hand, on purpose.
"""

import copy
from typing import Any

from realtime.contracts import contract_for, validate_payload
from realtime.events import Event

# Sentinel for "leave this property out" where None is a valid value of the property.
OMIT: Any = object()


def example_payload(event_type: str, version: int = 1) -> dict[str, Any]:
    """A deep copy of the first example of `event_type`'s schema."""
    example: dict[str, Any] = contract_for(event_type, version).schema["examples"][0]
    return copy.deepcopy(example)


def _accepts_null(event_type: str, version: int, name: str) -> bool:
    spec = contract_for(event_type, version).schema.get("properties", {}).get(name, {})
    options = spec.get("anyOf", [spec])
    return any(option.get("type") == "null" for option in options)


def make_payload(event_type: str, version: int = 1, /, **overrides: Any) -> dict[str, Any]:
    """The schema's first example with `overrides` applied, validated (InvalidEvent if not)."""
    payload = example_payload(event_type, version)
    for name, value in overrides.items():
        if value is OMIT or (value is None and not _accepts_null(event_type, version, name)):
            payload.pop(name, None)
        else:
            payload[name] = value
    validate_payload(event_type, version, payload)
    return payload


def make_event(
    event_type: str, /, *, key: str | int | None = None, version: int = 1, **overrides: Any
) -> Event:
    """An Event of `event_type` whose payload is `make_payload(event_type, **overrides)`.

    The key defaults to the payload's aggregate id (`order_id` for an order event, ...), as the
    producers key them.
    """
    payload = make_payload(event_type, version, **overrides)
    if key is None:
        aggregate = contract_for(event_type, version).aggregate
        key = payload.get(f"{aggregate}_id", payload.get("order_id", "test"))
    return Event(type=event_type, key=str(key), payload=payload, version=version)

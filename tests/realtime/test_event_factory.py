"""The tests' event factory (tests/events.py) builds only events that production would accept."""

import pytest

from realtime.contracts import all_contracts, validate_payload
from realtime.errors import InvalidEvent
from tests.events import OMIT, make_event, make_payload


@pytest.mark.parametrize("event_type,version", sorted(all_contracts()))
def test_every_schema_gives_a_valid_default_event(event_type: str, version: int) -> None:
    event = make_event(event_type, version=version)
    validate_payload(event_type, version, event.payload)
    assert event.type == event_type and event.key


def test_overrides_are_applied_and_keyed_by_the_aggregate() -> None:
    event = make_event("payment.succeeded", order_id=42, amount=100, currency="eur")
    assert event.key == "42"
    assert (event.payload["order_id"], event.payload["amount"], event.payload["currency"]) == (42, 100, "eur")


def test_an_invalid_override_is_refused() -> None:
    with pytest.raises(InvalidEvent, match="amount"):
        make_event("payment.succeeded", amount=-1)
    with pytest.raises(InvalidEvent, match="surprise"):
        make_event("payment.succeeded", surprise=1)  # additionalProperties: false
    with pytest.raises(InvalidEvent):
        make_payload("payment.succeeded", order_id=None)  # a required property cannot be dropped


def test_none_drops_an_optional_property_unless_null_is_allowed() -> None:
    refunded = make_payload("payment.refunded", reason=None, line_id=None)
    assert "reason" not in refunded and refunded["line_id"] is None  # line_id may be null
    assert "line_id" not in make_payload("payment.refunded", line_id=OMIT)


def test_examples_are_copied_not_shared() -> None:
    first = make_payload("inventory.sold")
    first["quantity"] = 999
    assert make_payload("inventory.sold")["quantity"] != 999

"""Every event schema in the repository loads and accepts its own examples."""

import json
import re

import pytest
from jsonschema import Draft202012Validator

from realtime.contracts import (
    ENVELOPE_FILE,
    _envelope_validators,
    all_contracts,
    contract_for,
    validate_envelope,
    validate_payload,
)
from realtime.errors import InvalidEvent, UnknownEventType


def test_every_schema_loads_and_validates_its_examples() -> None:
    contracts = all_contracts()
    assert contracts, "no schemas found"
    for contract in contracts.values():
        examples = contract.schema.get("examples")
        assert examples, f"{contract.path.name} has no examples"
        assert contract.aggregate, f"{contract.path.name} has no x-aggregate"
        for example in examples:
            validate_payload(contract.type, contract.version, example)


def test_envelope_schema_is_valid_and_its_example_passes() -> None:
    schema = json.loads(ENVELOPE_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    example = dict(
        schema["examples"][0], type="diagnostics.ping", payload={"seq": 1, "sent_at": "2026-01-01T00:00:00Z"}
    )
    assert validate_envelope(example).type == "diagnostics.ping"


def test_unknown_type_is_a_clear_error() -> None:
    with pytest.raises(
        UnknownEventType, match=re.escape("no schema for event type 'nope.nothing' version 1")
    ):
        contract_for("nope.nothing", 1)


@pytest.mark.parametrize(
    "payload, where",
    [
        ({"seq": -1, "sent_at": "2026-01-01T00:00:00Z"}, "seq"),
        ({"seq": 1}, "(root)"),
        ({"seq": 1, "sent_at": "not a date"}, "sent_at"),
        ({"seq": 1, "sent_at": "2026-01-01T00:00:00Z", "extra": True}, "(root)"),
    ],
)
def test_invalid_payload_names_the_problem(payload: dict[str, object], where: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        validate_payload("diagnostics.ping", 1, payload)
    assert info.value.details["path"] == where


def test_envelope_rejects_missing_fields() -> None:
    with pytest.raises(InvalidEvent, match="envelope"):
        validate_envelope({"type": "diagnostics.ping", "payload": {}})


_DATE_TIMES = [
    "2026-11-25T18:00:00+00:00",
    "2026-11-25t18:00:00.123456z",
    "2026-11-25T18:00:00",
    "2026-11-25 18:00:00Z",
    "2026-02-30T00:00:00Z",
    "2016-12-31T23:59:60Z",  # a leap second: jsonschema-rs's own check takes it, fromisoformat doesn't
    "2026-11-25T18:00:00+0000",
]
_UUIDS = [
    "5b0f5f83-2d2b-4d43-9a43-2f6f0f4e3c11",
    "5B0F5F83-2D2B-4D43-9A43-2F6F0F4E3C11",
    "5b0f5f832d2b4d439a432f6f0f4e3c11",
    "{5b0f5f83-2d2b-4d43-9a43-2f6f0f4e3c11}",
    "urn:uuid:5b0f5f83-2d2b-4d43-9a43-2f6f0f4e3c11",
]


@pytest.mark.parametrize(
    "field, value", [("occurred_at", v) for v in _DATE_TIMES] + [("id", v) for v in _UUIDS]
)
def test_fast_validator_agrees_with_the_reference_on_formats(field: str, value: str) -> None:
    """The compiled fast path must never accept an envelope the reference jsonschema rejects."""
    fast, reference = _envelope_validators()
    doc = dict(json.loads(ENVELOPE_FILE.read_text())["examples"][0], **{field: value})
    assert fast.is_valid(doc) == reference.is_valid(doc)


def test_leap_second_is_rejected_not_crashing_the_consumer() -> None:
    # Accepting it would make Event.from_dict raise ValueError instead of a dead-letterable InvalidEvent.
    doc = {
        "id": "5b0f5f83-2d2b-4d43-9a43-2f6f0f4e3c11",
        "type": "diagnostics.ping",
        "version": 1,
        "occurred_at": "2016-12-31T23:59:60Z",
        "key": "1",
        "trace_id": "t",
        "payload": {"seq": 1, "sent_at": "2026-01-01T00:00:00Z"},
    }
    with pytest.raises(InvalidEvent) as info:
        validate_envelope(doc)
    assert info.value.details["path"] == "occurred_at"


def test_every_example_passes_the_fast_path() -> None:
    for contract in all_contracts().values():
        for example in contract.schema["examples"]:
            assert contract.fast.is_valid(example), (
                f"{contract.path.name}: fast validator rejects its example"
            )


def test_error_messages_come_from_the_reference_validator() -> None:
    with pytest.raises(InvalidEvent) as info:
        validate_payload("diagnostics.ping", 1, {"seq": -1, "sent_at": "2026-01-01T00:00:00Z"})
    assert (
        str(info.value) == "diagnostics.ping v1 payload is invalid at seq: -1 is less than the minimum of 0"
    )

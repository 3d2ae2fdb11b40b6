"""Every event schema in the repository loads and accepts its own examples."""

import json
import re

import pytest
from jsonschema import Draft202012Validator

from realtime.contracts import ENVELOPE_FILE, all_contracts, contract_for, validate_envelope, validate_payload
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

"""Event contracts: one JSON Schema per event type and version, kept in `realtime/schemas/`.

A schema file is named `<type>.v<version>.json` (e.g. `order.paid.v1.json`) and describes the
`payload`. Besides standard JSON Schema (draft 2020-12) it carries:

- `x-aggregate`: the aggregate the event belongs to (`drop`, `order`, ...); it picks the topic,
  and the event's key is that aggregate's id;
- `examples`: at least one valid payload (tests validate every example; docs show the first).

`_envelope.json` describes the envelope around every payload.

Each schema has two validators. `jsonschema-rs` (compiled, far cheaper per message than the
reference `jsonschema`: figures in bench/README.md) answers "valid?" for every event emitted or
consumed; only when it says no does the reference run, to name the first problem with the same
messages as before. If the two
disagree the reference has the last word, so nothing it rejects passes because of the fast path.
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from realtime.errors import InvalidEvent, UnknownEventType

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
ENVELOPE_FILE = SCHEMA_DIR / "_envelope.json"
_FORMATS = FormatChecker()


@dataclass(frozen=True)
class Contract:
    """The schema of one event type at one version."""

    type: str
    version: int
    aggregate: str
    schema: dict[str, Any]
    validator: Draft202012Validator  # the reference: names the first problem of an invalid payload
    fast: jsonschema_rs.Draft202012Validator  # the hot path: only says valid or not
    path: Path


def _reference_date_time(value: str) -> bool:
    return bool(_FORMATS.checkers["date-time"][0](value))


# jsonschema-rs's own `date-time` takes the leap second `23:59:60`, which the reference (and
# `fromisoformat`, so `Event.from_dict`) refuses: the fast path checks date-times with the
# reference's own function. Its other formats (`uuid` among them) agree with the reference or are
# stricter, never laxer (tests/realtime/test_contracts.py compares them); where stricter, the
# reference still has the last word. A Python call per value is why only `date-time` is replaced.
_FAST_FORMATS = {"date-time": _reference_date_time}


def _fast_validator(schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    # Draft 2020-12 treats `format` as an annotation unless asked: check it, as FormatChecker does.
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True, formats=_FAST_FORMATS)


def _parse_name(path: Path) -> tuple[str, int]:
    stem = path.name.removesuffix(".json")
    type_, _, version = stem.rpartition(".v")
    if not type_ or not version.isdigit():
        raise ValueError(f"schema file {path.name} is not named <type>.v<version>.json")
    return type_, int(version)


@cache
def all_contracts() -> dict[tuple[str, int], Contract]:
    """Every contract in the repository, keyed by (type, version)."""
    contracts: dict[tuple[str, int], Contract] = {}
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        if path.name.startswith("_"):
            continue
        type_, version = _parse_name(path)
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
        contracts[(type_, version)] = Contract(
            type=type_,
            version=version,
            aggregate=schema["x-aggregate"],
            schema=schema,
            validator=Draft202012Validator(schema, format_checker=_FORMATS),
            fast=_fast_validator(schema),
            path=path,
        )
    return contracts


def contract_for(event_type: str, version: int = 1) -> Contract:
    """The contract of `event_type` at `version`, or UnknownEventType."""
    try:
        return all_contracts()[(event_type, version)]
    except KeyError:
        raise UnknownEventType(
            f"no schema for event type {event_type!r} version {version}",
            details={"type": event_type, "version": version},
        ) from None


def _raise_first_error(
    fast: jsonschema_rs.Draft202012Validator, validator: Draft202012Validator, doc: Any, what: str
) -> None:
    if fast.is_valid(doc):
        return
    error: ValidationError | None = next(iter(sorted(validator.iter_errors(doc), key=str)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InvalidEvent(
            f"{what} is invalid at {where}: {error.message}",
            details={"path": where, "reason": error.message},
        )


def validate_payload(event_type: str, version: int, payload: Any) -> Contract:
    """Check `payload` against its schema; raise InvalidEvent naming the first problem."""
    contract = contract_for(event_type, version)
    _raise_first_error(contract.fast, contract.validator, payload, f"{event_type} v{version} payload")
    return contract


@cache
def _envelope_validators() -> tuple[jsonschema_rs.Draft202012Validator, Draft202012Validator]:
    schema = json.loads(ENVELOPE_FILE.read_text())
    return _fast_validator(schema), Draft202012Validator(schema, format_checker=_FORMATS)


def validate_envelope(doc: Any) -> Contract:
    """Check a whole message (envelope + payload), as a consumer does on read."""
    _raise_first_error(*_envelope_validators(), doc, "event envelope")
    return validate_payload(doc["type"], doc["version"], doc["payload"])

"""`emit()`: the one way application code publishes an event (transactional outbox)."""

import json
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from config.db.prepared import prepared_cursor
from realtime.contracts import validate_payload
from realtime.errors import InvalidEvent, OutsideTransaction
from realtime.events import Event
from realtime.models import OutboxEvent
from realtime.tracing import current_trace_id, current_traceparent

_OUTBOX = OutboxEvent._meta.db_table
# One statement for any number of rows, its rows passed as one JSON array: a fixed SQL text (no
# per-row placeholders to build and parse) and one string to quote, where arrays cost a regex
# pass per element. `sequence` comes from its column default, taken row by row in ORDER BY order,
# so the rows are numbered in the order they were given.
_INSERT_SQL = f"""
INSERT INTO {_OUTBOX} (id, aggregatetype, aggregateid, type, version, payload, trace_id, traceparent,
    created_at)
SELECT e.id, e.aggregatetype, e.aggregateid, e.type, e.version, e.payload, e.trace_id, e.traceparent,
    e.created_at
FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS (
    id uuid, aggregatetype text, aggregateid text, type text, version smallint, payload jsonb,
    trace_id text, traceparent text, created_at timestamptz)) WITH ORDINALITY
    AS e(id, aggregatetype, aggregateid, type, version, payload, trace_id, traceparent, created_at, n)
ORDER BY e.n
"""  # noqa: S608 (the table name is ours; values are bound parameters)


def _dump_payload(payload: dict[str, Any]) -> str:
    try:
        return json.dumps(payload, cls=DjangoJSONEncoder)
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"payload is not JSON-serialisable: {exc}") from exc


def _json_ready(payload: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so what we validate is exactly what the relay will publish."""
    result: dict[str, Any] = json.loads(_dump_payload(payload))
    return result


def _insert(prepared: list[tuple[Event, str]], using: str) -> None:
    """Write the outbox rows of `prepared` (event, aggregate) in one statement, in list order."""
    if not prepared:
        return
    rows = [
        {
            "id": str(event.id),
            "aggregatetype": aggregate,
            "aggregateid": event.key,
            "type": event.type,
            "version": event.version,
            "payload": event.payload,  # JSON-ready already (see prepare()): plain json.dumps is exact
            "trace_id": event.trace_id,
            "traceparent": event.traceparent,
            "created_at": event.occurred_at.isoformat(),
        }
        for event, aggregate in prepared
    ]
    with prepared_cursor(using) as cursor:  # every emit: planned once per connection
        cursor.execute(_INSERT_SQL, [json.dumps(rows)])


def prepare(
    *, type: str, key: str | int | UUID, payload: dict[str, Any], version: int = 1
) -> tuple[Event, str]:
    """Validate `payload` and build its Event; returns (event, aggregate) without writing anything.

    For hot paths that insert the outbox row inside a larger SQL statement of their own (with
    `insert_cte()`); everything else calls `emit()`.
    """
    data = _json_ready(payload)
    contract = validate_payload(type, version, data)
    event = Event(
        type=type,
        version=version,
        key=str(key),
        payload=data,
        trace_id=current_trace_id(),
        traceparent=current_traceparent(),
    )
    return event, contract.aggregate


def insert_cte(*, source: str, computed: Mapping[str, str]) -> str:
    """The body of a data-modifying CTE that writes one prepared event per row of CTE `source`.

    For a hot path that records its event in the very statement that makes the change (the
    reserve in `commerce.services.stock`): the outbox row exists only if `source` returned a row,
    and the payload properties named in `computed` are filled in by the database from SQL
    expressions over `source`. Bind it with `insert_cte_params()`; its parameters are `outbox_*`.
    The event must have been prepared (validated) with values of the right type for the computed
    properties; the values the database puts there are not validated, so a test should check a
    stored row against the schema.
    """
    merged = ", ".join(f"'{name}', {expression}" for name, expression in computed.items())
    return f"""INSERT INTO {_OUTBOX} (id, aggregatetype, aggregateid, type, version, payload, trace_id, traceparent,
    created_at)
  SELECT %(outbox_id)s, %(outbox_aggregate)s, %(outbox_key)s, %(outbox_type)s, %(outbox_version)s,
    %(outbox_payload)s::jsonb || jsonb_build_object({merged}), %(outbox_trace_id)s, %(outbox_traceparent)s,
    %(outbox_created_at)s
  FROM {source}"""  # noqa: S608 (table, CTE and expressions are the caller's constants; values are bound)


def insert_cte_params(event: Event, aggregate: str, *, computed: Iterable[str]) -> dict[str, Any]:
    """The `outbox_*` parameters of `insert_cte()` for `event` (from `prepare()`)."""
    left_out = set(computed)
    static = {k: v for k, v in event.payload.items() if k not in left_out}
    return {
        "outbox_id": event.id,
        "outbox_aggregate": aggregate,
        "outbox_key": event.key,
        "outbox_type": event.type,
        "outbox_version": event.version,
        "outbox_payload": json.dumps(static),  # JSON-ready already (see prepare())
        "outbox_trace_id": event.trace_id,
        "outbox_traceparent": event.traceparent,
        "outbox_created_at": event.occurred_at,
    }


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
    event, aggregate = prepare(type=type, key=key, payload=payload, version=version)
    _insert([(event, aggregate)], using)
    return event


def emit_many(
    events: Iterable[tuple[str, str | int | UUID, dict[str, Any]]],
    *,
    version: int = 1,
    using: str = "default",
) -> list[Event]:
    """`emit()` for several events at once: (type, key, payload) each, one multi-row INSERT.

    Same contract as `emit()` (inside `transaction.atomic()`, each payload validated, nothing
    written if one is invalid); the rows get their sequence numbers in the given order. For code
    that records many facts in one transaction (imports, batch jobs, the pipeline benchmark).
    """
    if not transaction.get_connection(using).in_atomic_block:
        raise OutsideTransaction("emit_many() must be called inside transaction.atomic()")
    return emit_prepared(
        [prepare(type=t, key=k, payload=p, version=version) for t, k, p in events], using=using
    )


def emit_prepared(prepared: list[tuple[Event, str]], *, using: str = "default") -> list[Event]:
    """Insert events built earlier with `prepare()` (one multi-row INSERT, in the caller's transaction).

    For batches whose events belong to different traces: each is prepared under its own span (the
    trace context is read by `prepare()`), then all are written at once.
    """
    if not transaction.get_connection(using).in_atomic_block:
        raise OutsideTransaction("emit_prepared() must be called inside transaction.atomic()")
    _insert(prepared, using)
    return [event for event, _ in prepared]

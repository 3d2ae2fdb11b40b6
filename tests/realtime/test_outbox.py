"""`emit()` writes its row in the caller's transaction, or not at all."""

from datetime import UTC, datetime

import pytest
from django.db import transaction

from realtime.errors import InvalidEvent, OutsideTransaction, UnknownEventType
from realtime.models import OutboxEvent
from realtime.outbox import emit, emit_many
from realtime.tracing import trace

pytestmark = pytest.mark.django_db(transaction=True)


def _ping(seq: int = 1) -> dict[str, object]:
    return {"seq": seq, "sent_at": datetime.now(UTC)}


def test_row_is_written_when_the_transaction_commits() -> None:
    with transaction.atomic(), trace("trace-abc"):
        event = emit(type="diagnostics.ping", key="k1", payload=_ping())
    row = OutboxEvent.objects.get(id=event.id)
    assert (row.type, row.version, row.aggregatetype, row.aggregateid) == (
        "diagnostics.ping",
        1,
        "diagnostics",
        "k1",
    )
    assert row.trace_id == "trace-abc"
    assert row.published_at is None
    assert row.payload["seq"] == 1 and isinstance(row.payload["sent_at"], str)


def test_rollback_leaves_no_row() -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        emit(type="diagnostics.ping", key="k1", payload=_ping())
        raise Boom
    assert OutboxEvent.objects.count() == 0


def test_invalid_payload_raises_and_writes_nothing() -> None:
    with transaction.atomic():
        with pytest.raises(InvalidEvent, match="seq"):
            emit(type="diagnostics.ping", key="k1", payload={"seq": "one", "sent_at": "2026-01-01T00:00:00Z"})
        with pytest.raises(UnknownEventType):
            emit(type="diagnostics.unknown", key="k1", payload={})
        with pytest.raises(InvalidEvent, match="JSON"):
            emit(type="diagnostics.ping", key="k1", payload={"seq": 1, "sent_at": object()})
    assert OutboxEvent.objects.count() == 0


def test_emit_outside_a_transaction_is_refused() -> None:
    with pytest.raises(OutsideTransaction):
        emit(type="diagnostics.ping", key="k1", payload=_ping())
    assert OutboxEvent.objects.count() == 0


def test_sequence_increases_with_each_row() -> None:
    with transaction.atomic():
        first = emit(type="diagnostics.ping", key="k1", payload=_ping(1))
        second = emit(type="diagnostics.ping", key="k1", payload=_ping(2))
    rows = {r.id: r.sequence for r in OutboxEvent.objects.all()}
    assert rows[second.id] > rows[first.id]


def test_emit_many_writes_every_row_numbered_in_the_given_order() -> None:
    keys = [f"k{i % 7}" for i in range(250)]
    with transaction.atomic(), trace("trace-many"):
        events = emit_many(("diagnostics.ping", key, _ping(i)) for i, key in enumerate(keys))
    rows = {r.id: r for r in OutboxEvent.objects.all()}
    assert len(rows) == 250
    sequences = [rows[e.id].sequence for e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == 250
    for i, event in enumerate(events):
        row = rows[event.id]
        assert (row.aggregatetype, row.aggregateid, row.type, row.version) == (
            "diagnostics",
            keys[i],
            "diagnostics.ping",
            1,
        )
        assert row.payload == event.payload and row.payload["seq"] == i
        assert row.created_at == event.occurred_at and row.trace_id == "trace-many"
        assert row.published_at is None


def test_emit_many_writes_nothing_if_one_payload_is_invalid() -> None:
    with transaction.atomic():
        with pytest.raises(InvalidEvent, match="sent_at"):
            emit_many([("diagnostics.ping", "k1", _ping(1)), ("diagnostics.ping", "k1", {"seq": -1})])
        assert OutboxEvent.objects.count() == 0
    with pytest.raises(OutsideTransaction):
        emit_many([("diagnostics.ping", "k1", _ping(1))])


def test_emit_stores_payload_text_and_unicode_exactly() -> None:
    payload = {"seq": 1, "sent_at": "2026-01-01T00:00:00+00:00", "note": 'quote " back\\slash é 🎉'}
    with transaction.atomic():
        event = emit(type="diagnostics.ping", key="clé", payload=payload)
    row = OutboxEvent.objects.get(id=event.id)
    assert row.payload == payload and row.aggregateid == "clé"

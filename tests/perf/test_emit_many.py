"""`emit_many()`: several outbox rows in one INSERT, same contract as `emit()`."""

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from realtime.errors import InvalidEvent, OutsideTransaction
from realtime.models import OutboxEvent
from realtime.outbox import emit_many

pytestmark = pytest.mark.django_db(transaction=True)


def _pings(n: int, first: int = 0) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("diagnostics.ping", f"k{i}", {"seq": i, "sent_at": "2026-01-01T00:00:00+00:00"})
        for i in range(first, first + n)
    ]


def test_one_insert_rows_in_order() -> None:
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        events = emit_many(_pings(25))
    inserts = [q for q in ctx.captured_queries if q["sql"].lstrip().startswith("INSERT")]
    assert len(inserts) == 1
    rows = list(OutboxEvent.objects.order_by("sequence"))
    assert [r.id for r in rows] == [e.id for e in events]
    assert [r.payload["seq"] for r in rows] == list(range(25))
    assert {r.aggregatetype for r in rows} == {"diagnostics"}


def test_invalid_payload_writes_nothing() -> None:
    bad: list[tuple[str, str, dict[str, Any]]] = [*_pings(3), ("diagnostics.ping", "k", {"seq": "x"})]
    with pytest.raises(InvalidEvent), transaction.atomic():
        emit_many(bad)
    assert OutboxEvent.objects.count() == 0


def test_outside_transaction_is_refused() -> None:
    with pytest.raises(OutsideTransaction):
        emit_many(_pings(1))
    assert OutboxEvent.objects.count() == 0

"""Handlers' batch forms in the consumer runner: one transaction per batch, same effects as one by one."""

import signal

import pytest
from django.db import connection, transaction
from django.db.models import Count

from config.errors import ApplicationError
from realtime.consumer import topics_for_group
from realtime.events import Event
from realtime.lag import group_lag
from realtime.models import ConsumerOffset, DeadLetter, DiagnosticsPing, InboxEntry, SalesByDrop
from realtime.projections import sales
from realtime.registry import batch_form_of, handles
from tests.events import make_event
from tests.realtime.conftest import start_manage, wait_for
from tests.realtime.helpers import ConsumerThread, emit_pings, headers_of, read_topic
from tests.realtime.test_consumer import produce_raw, relay_all
from tests.realtime.test_crash import assert_effects_once_and_in_order, stop
from tests.realtime.test_replay_audit import sold

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

POISON_SEQ = 13
batch_calls: list[int] = []  # sizes of the lists the batch form was called with


class Refused(ApplicationError):
    code = "refused"


def _record(events: list[Event]) -> None:
    DiagnosticsPing.objects.bulk_create(
        DiagnosticsPing(event_id=e.id, key=e.key, seq=e.payload["seq"], sent_at=e.occurred_at) for e in events
    )


@handles("test_batch", "diagnostics.ping")
def record_one(event: Event) -> None:
    if event.payload["seq"] == POISON_SEQ:
        raise Refused(f"seq {POISON_SEQ} is refused")
    _record([event])


@batch_form_of(record_one)
def record_many(events: list[Event]) -> None:
    """Writes the rows before the poison, then fails: the whole batch must roll back."""
    batch_calls.append(len(events))
    for i, event in enumerate(events):
        if event.payload["seq"] == POISON_SEQ:
            _record(events[:i])
            raise Refused(f"seq {POISON_SEQ} is refused")
    _record(events)


def ping(seq: int, key: str = "k0") -> Event:
    return make_event("diagnostics.ping", key=key, seq=seq, sent_at="2026-01-01T00:00:00Z")


def effects_per_event() -> dict[str, int]:
    rows = DiagnosticsPing.objects.values("event_id").annotate(n=Count("id"))
    return {str(r["event_id"]): r["n"] for r in rows}


def test_duplicates_within_and_across_batches_have_one_effect(kafka_prefix: str) -> None:
    batch_calls.clear()
    a, b, c = ping(1), ping(2), ping(3)
    produce_raw([(e.key, e.to_json()) for e in (a, a, b, a, c, b)])  # one fetch: duplicates inside it
    with ConsumerThread("test_batch") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="first round")
        produce_raw([(e.key, e.to_json()) for e in (c, a, b)])  # a later batch: duplicates across
        wait_for(lambda: consumer.lag() == 0, what="second round")
        stats = consumer.stop()
    assert batch_calls, "the batch form was never used"
    assert effects_per_event() == {str(a.id): 1, str(b.id): 1, str(c.id): 1}
    assert list(DiagnosticsPing.objects.order_by("id").values_list("seq", flat=True)) == [1, 2, 3]
    assert (stats.processed, stats.duplicates, stats.dead_lettered) == (3, 6, 0)
    assert InboxEntry.objects.filter(group="test_batch").count() == 3


def test_a_poison_event_in_the_middle_of_a_batch_is_dead_lettered_and_the_rest_applied_once(
    kafka_prefix: str,
) -> None:
    batch_calls.clear()
    events = [ping(seq) for seq in range(30)]  # one key: one partition, one batch, poison at 13
    produce_raw([(e.key, e.to_json()) for e in events])
    with ConsumerThread("test_batch", batch_size=500) as consumer:
        wait_for(lambda: consumer.lag() == 0, what="consumer to get past the poison")
        stats = consumer.stop()

    assert batch_calls and max(batch_calls) > 1, "the poison must have been met inside a batch"
    good = [e for e in events if e.payload["seq"] != POISON_SEQ]
    assert effects_per_event() == {str(e.id): 1 for e in good}, "rows of the failed batch rolled back"
    seqs = list(DiagnosticsPing.objects.order_by("id").values_list("seq", flat=True))
    assert seqs == [e.payload["seq"] for e in good], "log order kept in the one-by-one fallback"
    assert (stats.processed, stats.dead_lettered) == (29, 1)
    (dead,) = read_topic("deadletter")
    headers = headers_of(dead)
    assert headers["dlq-error-code"] == "refused" and "seq 13 is refused" in headers["dlq-error"]
    assert dead.value() == events[POISON_SEQ].to_json()
    assert DeadLetter.objects.get(group="test_batch").event_id == str(events[POISON_SEQ].id)
    assert not InboxEntry.objects.filter(group="test_batch", event_id=events[POISON_SEQ].id).exists()


def test_consumer_killed_mid_batch_loses_nothing_and_applies_nothing_twice(kafka_prefix: str) -> None:
    ids = emit_pings(6_000, keys=12, per_tx=500)
    relay_all()
    consumer = start_manage("consume", "diagnostics", "--batch-size", "200")
    try:
        wait_for(lambda: DiagnosticsPing.objects.count() >= 600, timeout=120, what="consumer under way")
        consumer.send_signal(signal.SIGKILL)
        assert consumer.wait(timeout=30) == -signal.SIGKILL
    finally:
        stop(consumer, signal.SIGKILL)
    at_kill = DiagnosticsPing.objects.count()
    assert at_kill < 6_000, "the kill must land before the end"
    # Whatever was committed moved the stored offsets too; whatever was not left no row at all.
    stored = ConsumerOffset.objects.filter(group="diagnostics", next_offset__gt=0)
    assert sum(o.next_offset for o in stored) == at_kill

    with ConsumerThread("diagnostics") as again:
        wait_for(lambda: again.lag() == 0, timeout=180, what="the rest")
        stats = again.stop()
    assert_effects_once_and_in_order(ids)
    assert stats.processed == 6_000 - at_kill
    assert group_lag("diagnostics", topics_for_group("diagnostics")) == 0


def _sold(drop_id: int, quantity: int, unit_price: int, currency: str) -> Event:
    return make_event("inventory.sold", **sold(drop_id, quantity, unit_price, currency))


def test_sales_batch_form_gives_the_same_totals_as_one_by_one() -> None:
    events = [_sold(1 + i % 3, 1 + i % 4, 100 * (1 + i % 5), ("usd", "eur")[i % 2]) for i in range(40)]
    columns = ("drop_id", "currency", "units", "gross", "sales")
    with transaction.atomic():
        for event in events:
            sales.apply(event)
    one_by_one = sorted(SalesByDrop.objects.values_list(*columns))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {sales.LIVE_TABLE}")
    with transaction.atomic():
        sales.apply_many(events[:15])  # on an empty table, then on top of existing rows
        sales.apply_many(events[15:])
    assert sorted(SalesByDrop.objects.values_list(*columns)) == one_by_one
    assert len(one_by_one) == 6

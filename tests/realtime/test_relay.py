"""The relay publishes every committed outbox row to the real Kafka, in order per key, exactly as stored."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from realtime.contracts import validate_envelope
from realtime.events import Event
from realtime.models import OutboxEvent
from realtime.outbox import emit
from realtime.relay import POSITION_HEADER, Relay, backlog
from realtime.tracing import trace
from tests.realtime.conftest import wait_for
from tests.realtime.helpers import emit_pings, envelope, first_occurrence_seqs_by_key, headers_of, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_relay_publishes_each_row_with_key_headers_and_order(kafka_prefix: str) -> None:
    ids = emit_pings(40, keys=3, per_tx=9)
    relay = Relay(batch_size=7)
    assert relay.try_become_leader()
    assert relay.drain() == 40
    relay.close()

    messages = read_topic("diagnostics")
    assert sorted(envelope(m)["id"] for m in messages) == sorted(ids)
    for msg in messages:
        doc = envelope(msg)
        validate_envelope(doc)
        headers = headers_of(msg)
        assert (msg.key() or b"").decode() == doc["key"]
        assert headers["event-id"] == doc["id"]
        assert headers["event-type"] == "diagnostics.ping"
        assert headers["event-version"] == "1"
        assert headers["trace-id"] == doc["trace_id"]
    for seqs in first_occurrence_seqs_by_key(messages).values():
        assert seqs == sorted(seqs)
    assert backlog()[0] == 0
    # No row was written back: the progress lives in one row per outbox partition.
    assert not OutboxEvent.objects.filter(published_at__isnull=False).exists()
    positions = [headers_of(m)[POSITION_HEADER] for m in messages]
    assert len(set(positions)) == 40


def test_a_row_committed_late_with_a_lower_sequence_is_still_published(kafka_prefix: str) -> None:
    """FIELD-NOTES "outbox sequence gaps": T1 takes sequence n, T2 takes n+1 and commits first."""
    inserted, release = threading.Event(), threading.Event()
    late: dict[str, str] = {}

    def slow_writer() -> None:
        with transaction.atomic():
            late["id"] = str(
                emit(
                    type="diagnostics.ping", key="late", payload={"seq": 1, "sent_at": "2026-01-01T00:00:00Z"}
                ).id
            )
            inserted.set()
            release.wait(30)
        connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert inserted.wait(30)
    early = emit_pings(1, keys=1)
    relay = Relay(batch_size=10)
    assert relay.try_become_leader()
    assert relay.drain() == 1  # only the committed row is visible
    release.set()
    writer.join(30)
    assert relay.drain() == 1  # the late row is picked up, although its sequence is lower
    relay.close()

    rows = {str(r.id): r.sequence for r in OutboxEvent.objects.all()}
    assert rows[late["id"]] < rows[early[0]]
    assert sorted(envelope(m)["id"] for m in read_topic("diagnostics")) == sorted([late["id"], *early])


def test_only_one_relay_publishes_an_outbox_partition_at_a_time(kafka_prefix: str) -> None:
    first, second = Relay(partitions=[0, 1]), Relay(partitions=[0, 1])
    assert first.try_become_leader()

    standby: list[bool] = []

    def try_second() -> None:
        standby.append(second.try_become_leader())
        connection.close()

    thread = threading.Thread(target=try_second)
    thread.start()
    thread.join(30)
    assert standby == [False]
    first.close()


def test_notify_wakes_an_idle_relay(kafka_prefix: str) -> None:
    # With a 60 s poll fallback, publishing within the wait bound can only come from LISTEN/NOTIFY.
    relay = Relay(idle_poll_s=60)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, kwargs={"stop": stop})
    thread.start()
    try:
        wait_for(lambda: relay.is_leader, timeout=30, what="relay to become active")
        wait_for(lambda: relay.stats.batches >= 0 and relay.stats.published == 0, timeout=5)
        emit_pings(1)
        wait_for(lambda: relay.stats.published == 1, timeout=20, what="NOTIFY to wake the relay")
    finally:
        stop.set()
        emit_pings(1)  # wake it so it sees the stop flag without waiting for the poll
        thread.join(30)
    assert not thread.is_alive()


def test_published_rows_are_pruned_after_retention(kafka_prefix: str) -> None:
    emit_pings(3, keys=1)
    relay = Relay(retention_hours=1)
    assert relay.try_become_leader()
    relay.drain()
    published = list(OutboxEvent.objects.values_list("id", flat=True))
    emit_pings(2, keys=1, start=3)  # unpublished: must survive any prune, however old
    OutboxEvent.objects.filter(id__in=published[:2]).update(created_at=timezone.now() - timedelta(hours=2))
    OutboxEvent.objects.exclude(id__in=published).update(created_at=timezone.now() - timedelta(hours=2))
    assert relay.prune() == 2
    relay.close()
    assert OutboxEvent.objects.count() == 3
    assert backlog()[0] == 2


def test_message_value_is_the_event_envelope_as_emitted(kafka_prefix: str) -> None:
    """The relay writes the envelope in SQL: it must carry what emit() returned, escapes included."""
    payload = {"seq": 5, "sent_at": "2026-01-01T00:00:00+00:00", "note": 'quote " back\\slash é 🎉 \n tab\t'}
    with transaction.atomic(), trace('trace "with" quotes'):
        event = emit(type="diagnostics.ping", key='k "é" \\ 1', payload=payload)
    relay = Relay()
    assert relay.try_become_leader()
    assert relay.drain() == 1
    relay.close()
    (msg,) = read_topic("diagnostics")
    doc = envelope(msg)
    validate_envelope(doc)
    assert Event.from_dict(doc) == event
    assert doc == json.loads(event.to_json())
    assert (msg.key() or b"").decode() == event.key


@pytest.mark.parametrize("microsecond", [782160, 100000, 1, 0])
def test_occurred_at_is_written_as_isoformat_whatever_the_fraction(
    kafka_prefix: str, microsecond: int
) -> None:
    """PostgreSQL's to_json() drops trailing zeros (.78216); the relay must write what Python writes."""
    with transaction.atomic():
        event = emit(
            type="diagnostics.ping", key="frac", payload={"seq": 1, "sent_at": "2026-01-01T00:00:00+00:00"}
        )
    at = timezone.now().replace(microsecond=microsecond)
    OutboxEvent.objects.filter(id=event.id).update(created_at=at)
    relay = Relay()
    assert relay.try_become_leader()
    assert relay.drain() == 1
    relay.close()
    (msg,) = read_topic("diagnostics")
    assert envelope(msg)["occurred_at"] == at.isoformat()

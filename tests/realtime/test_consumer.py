"""The consumer runner against the real Kafka: offsets stored with the effects, inbox, retries, dead letters, rebalances."""

import itertools
import json
import uuid
from typing import Any

import pytest
from confluent_kafka import Producer
from django.db import transaction
from django.db.models import Count

from config.errors import ApplicationError
from realtime.events import Event
from realtime.kafka_config import producer_config
from realtime.models import ConsumerOffset, DeadLetter, DiagnosticsPing, InboxEntry
from realtime.outbox import emit
from realtime.registry import handles
from realtime.relay import Relay
from realtime.topics import topic_named
from tests.events import make_event, make_payload
from tests.realtime.conftest import wait_for
from tests.realtime.helpers import (
    ConsumerThread,
    emit_pings,
    envelope,
    headers_of,
    read_topic,
    relay_progress,
    rewind_relay,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def relay_all() -> int:
    relay = Relay(batch_size=500)
    assert relay.try_become_leader()
    published = relay.drain()
    relay.close()
    return published


def produce_raw(messages: list[tuple[str, bytes]], topic: str = "diagnostics") -> None:
    producer = Producer(producer_config("test"))
    for key, value in messages:
        producer.produce(topic_named(topic).full_name, key=key.encode(), value=value)
    assert producer.flush(30) == 0


def test_an_event_delivered_twice_has_one_effect(kafka_prefix: str) -> None:
    ids = emit_pings(20, keys=2)
    before = relay_progress()
    relay_all()
    rewind_relay(before)  # as after a relay crash before saving its progress: published again
    relay_all()
    assert len(read_topic("diagnostics")) == 40

    with ConsumerThread("diagnostics") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="consumer to catch up")
        stats = consumer.stop()
    assert DiagnosticsPing.objects.count() == 20
    assert set(map(str, DiagnosticsPing.objects.values_list("event_id", flat=True))) == set(ids)
    assert stats.processed == 20 and stats.duplicates == 20
    # Offsets with the effects, no inbox row: the copies were known by their outbox positions.
    assert not InboxEntry.objects.filter(group="diagnostics").exists()
    stored = ConsumerOffset.objects.filter(group="diagnostics")
    assert sum(o.next_offset for o in stored if o.next_offset > 0) == 40


def test_an_inbox_group_also_records_each_event_in_the_inbox(kafka_prefix: str, settings: Any) -> None:
    settings.CONSUMER_INBOX_GROUPS = ["diagnostics"]
    ids = emit_pings(20, keys=2)
    before = relay_progress()
    relay_all()
    rewind_relay(before)
    relay_all()
    with ConsumerThread("diagnostics") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="consumer to catch up")
        stats = consumer.stop()
    assert stats.processed == 20 and stats.duplicates == 20
    assert DiagnosticsPing.objects.count() == 20
    assert {
        str(i) for i in InboxEntry.objects.filter(group="diagnostics").values_list("event_id", flat=True)
    } == set(ids)


def test_a_restarted_consumer_resumes_at_the_offsets_stored_with_the_effects(kafka_prefix: str) -> None:
    """Kafka's committed offsets are advisory: rewinding them does not bring anything back."""
    emit_pings(30, keys=3)
    relay_all()
    with ConsumerThread("diagnostics") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="consumer to catch up")
    # Rewind the group in Kafka to the start (as a lost auto-commit would): PostgreSQL wins.
    from confluent_kafka import Consumer, TopicPartition

    from realtime.kafka_config import consumer_config

    rewinder = Consumer(consumer_config("diagnostics"))
    topic = topic_named("diagnostics").full_name
    partitions = rewinder.list_topics(topic, timeout=30).topics[topic].partitions
    rewinder.commit(offsets=[TopicPartition(topic, p, 0) for p in partitions], asynchronous=False)
    rewinder.close()
    emit_pings(6, keys=3, start=30)
    relay_all()
    with ConsumerThread("diagnostics") as again:
        wait_for(lambda: DiagnosticsPing.objects.count() >= 36, what="the new events")
        wait_for(lambda: again.lag() == 0, what="consumer to catch up")
        stats = again.stop()
    assert stats.duplicates == 0 and stats.processed == 6
    assert DiagnosticsPing.objects.count() == 36


def test_malformed_messages_go_to_the_dead_letter_topic_and_the_partition_keeps_flowing(
    kafka_prefix: str,
) -> None:
    emit_pings(1, keys=1)  # key k0, seq 0
    relay_all()
    bad_schema = Event(type="diagnostics.ping", key="k0", payload={"seq": -5}).to_json()
    wrong_key = make_event("diagnostics.ping", key="other", seq=1)
    produce_raw([("k0", b"{not json"), ("k0", bad_schema), ("k0", wrong_key.to_json())])
    emit_pings(1, keys=1, start=1)  # same key -> same partition, after the poison
    relay_all()

    with ConsumerThread("diagnostics") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="consumer to get past the poison")
        stats = consumer.stop()

    assert sorted(DiagnosticsPing.objects.values_list("seq", flat=True)) == [0, 1]
    assert stats.dead_lettered == 3
    dead = read_topic("deadletter")
    assert [m.value() for m in dead] == [b"{not json", bad_schema, wrong_key.to_json()]
    errors = [headers_of(m) for m in dead]
    assert [h["dlq-error-code"] for h in errors] == ["invalid_event"] * 3
    assert "not JSON" in errors[0]["dlq-error"]
    assert "sent_at" in errors[1]["dlq-error"]
    assert "differs from the envelope key" in errors[2]["dlq-error"]
    assert all(h["dlq-group"] == "diagnostics" and h["dlq-topic"].endswith("diagnostics") for h in errors)
    rows = DeadLetter.objects.order_by("offset")
    assert [bytes(r.value) for r in rows] == [m.value() for m in dead]
    assert {r.error_code for r in rows} == {"invalid_event"}


class Flaky(ApplicationError):
    code = "flaky"
    retriable = True


class Refused(ApplicationError):
    code = "refused"


_failures: dict[str, "itertools.count[int]"] = {}


@handles("test_retry", "diagnostics.ping")
def flaky_handler(event: Event) -> None:
    """Fails twice with a retriable error, then records the effect; seq 99 always fails for good."""
    if event.payload["seq"] == 99:
        raise Refused("seq 99 is refused")
    attempts = next(_failures.setdefault(str(event.id), itertools.count(1)))
    DiagnosticsPing.objects.create(event_id=event.id, key="attempt", seq=attempts, sent_at=event.occurred_at)
    if attempts <= 2:
        raise Flaky(f"attempt {attempts} fails")


@handles("test_exhaust", "diagnostics.ping")
def always_flaky(event: Event) -> None:
    raise Flaky("never works")


def test_retriable_errors_are_retried_with_backoff_and_permanent_ones_dead_lettered(
    kafka_prefix: str,
) -> None:
    _failures.clear()
    ids = emit_pings(3, keys=1)
    with transaction.atomic():
        refused = emit(type="diagnostics.ping", key="k0", payload=make_payload("diagnostics.ping", seq=99))
    relay_all()

    with ConsumerThread("test_retry", backoff_s=0.01) as consumer:
        wait_for(lambda: consumer.lag() == 0, what="retries to finish")
        stats = consumer.stop()
    # Failed attempts rolled back their rows: only the third attempt of each event remains. (The
    # first attempt may be the batch transaction, so the runner's own retry count is at least 1 each.)
    assert sorted(DiagnosticsPing.objects.values_list("seq", flat=True)) == [3, 3, 3]
    assert set(map(str, DiagnosticsPing.objects.values_list("event_id", flat=True))) == set(ids)
    assert stats.retries >= 3 and stats.processed == 3 and stats.dead_lettered == 1
    (dead,) = DeadLetter.objects.filter(group="test_retry")
    assert (dead.event_id, dead.error_code, dead.attempts) == (str(refused.id), "refused", 1)


def test_retries_exhausted_go_to_the_dead_letter_topic(kafka_prefix: str) -> None:
    (event_id,) = emit_pings(1, keys=1)
    relay_all()
    with ConsumerThread("test_exhaust", backoff_s=0.01, max_attempts=3) as consumer:
        wait_for(lambda: consumer.lag() == 0, what="retries to run out")
        stats = consumer.stop()
    assert stats.retries == 2 and stats.dead_lettered == 1
    (msg,) = read_topic("deadletter")
    headers = headers_of(msg)
    assert headers["dlq-attempts"] == "3" and headers["dlq-error-code"] == "flaky"
    assert headers["event-id"] == event_id and envelope(msg)["id"] == event_id
    assert not InboxEntry.objects.filter(group="test_exhaust").exists()


def test_two_consumers_of_one_group_share_the_work_across_rebalances(kafka_prefix: str) -> None:
    ids = emit_pings(600, keys=12)
    relay_all()
    first = ConsumerThread("diagnostics", batch_size=20).__enter__()
    wait_for(lambda: DiagnosticsPing.objects.count() > 0, what="first consumer to start")
    second = ConsumerThread("diagnostics", batch_size=20).__enter__()  # joins: rebalance
    wait_for(lambda: DiagnosticsPing.objects.count() >= 300, what="progress")
    first.stop()  # leaves: rebalance again, the second takes over its partitions
    more = emit_pings(200, keys=12, start=600)
    relay_all()
    wait_for(lambda: second.lag() == 0, what="second consumer to finish")
    second.stop()

    counts = DiagnosticsPing.objects.values("event_id").annotate(n=Count("id"))
    assert {str(c["event_id"]) for c in counts} == set(ids + more)
    assert max(c["n"] for c in counts) == 1
    # Order per key held through both rebalances.
    for key in {f"k{i}" for i in range(12)}:
        seqs = list(DiagnosticsPing.objects.filter(key=key).order_by("id").values_list("seq", flat=True))
        assert seqs == sorted(seqs)


def test_headers_of_the_envelope_are_not_required(kafka_prefix: str) -> None:
    """Other systems may produce without our headers: the envelope alone is the contract."""
    event = make_event("diagnostics.ping", key="ext", seq=7)
    produce_raw([("ext", json.dumps(event.to_dict()).encode())])
    with ConsumerThread("diagnostics") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="consumer")
    assert list(DiagnosticsPing.objects.values_list("event_id", flat=True)) == [uuid.UUID(str(event.id))]

"""Real processes killed with SIGKILL / SIGTERM: nothing is lost, nothing is applied twice, order per key holds."""

import signal
import subprocess
import threading

import pytest
from django.db import connection
from django.db.models import Count

from realtime.consumer import topics_for_group
from realtime.lag import group_lag
from realtime.models import ConsumerOffset, DiagnosticsPing
from realtime.relay import published_count
from tests.realtime.conftest import start_manage, wait_for
from tests.realtime.helpers import (
    ConsumerThread,
    emit_pings,
    envelope,
    first_occurrence_seqs_by_key,
    read_topic,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def published() -> int:
    return published_count()


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=10)


def assert_effects_once_and_in_order(ids: list[str]) -> None:
    counts = DiagnosticsPing.objects.values("event_id").annotate(n=Count("id"))
    assert {str(c["event_id"]) for c in counts} == set(ids), "some event had no effect"
    assert max(c["n"] for c in counts) == 1, "some event had two effects"
    for key in DiagnosticsPing.objects.values_list("key", flat=True).distinct():
        seqs = list(DiagnosticsPing.objects.filter(key=key).order_by("id").values_list("seq", flat=True))
        assert seqs == sorted(seqs), f"order broken for key {key}"


def test_relay_killed_mid_batch_loses_nothing_and_effects_count_once(kafka_prefix: str) -> None:
    ids = emit_pings(10_000, keys=50, per_tx=500)
    relay = start_manage("relay_outbox", "--batch-size", "100")
    try:
        wait_for(lambda: published() >= 2_000, timeout=120, what="relay to be under way")
        relay.send_signal(signal.SIGKILL)
        assert relay.wait(timeout=30) == -signal.SIGKILL
    finally:
        stop(relay, signal.SIGKILL)
    at_kill = published()
    assert 0 < at_kill < 10_000, "the kill must land in the middle of the 10,000 events"

    restarted = start_manage("relay_outbox", "--batch-size", "100")
    try:
        wait_for(lambda: published() == 10_000, timeout=180, what="restarted relay to publish the rest")
    finally:
        assert stop(restarted) == 0

    messages = read_topic("diagnostics")
    assert {envelope(m)["id"] for m in messages} == set(ids), "every event reaches Kafka"
    for seqs in first_occurrence_seqs_by_key(messages).values():
        assert seqs == sorted(seqs)

    with ConsumerThread("diagnostics") as consumer:
        wait_for(lambda: consumer.lag() == 0, timeout=180, what="consumer to drain the topic")
        stats = consumer.stop()
    assert_effects_once_and_in_order(ids)
    assert stats.processed == 10_000
    assert stats.duplicates == len(messages) - 10_000


def test_consumer_killed_after_commit_before_offset_store_gets_redelivery_with_one_effect(
    kafka_prefix: str,
) -> None:
    ids = emit_pings(5, keys=1)
    relay = start_manage("relay_outbox", "--once")
    assert relay.wait(timeout=60) == 0

    crashing = start_manage("consume", "diagnostics", MINTDROP_CRASH_AT="consumer.after_commit")
    assert crashing.wait(timeout=120) == 137, crashing.stdout.read() if crashing.stdout else ""
    # The effect of the first batch is committed with its offsets in PostgreSQL; Kafka has none.
    applied = DiagnosticsPing.objects.count()
    assert applied >= 1
    stored = ConsumerOffset.objects.filter(group="diagnostics", next_offset__gt=0)
    assert sum(o.next_offset for o in stored) == applied
    assert group_lag("diagnostics", topics_for_group("diagnostics")) == 5

    with ConsumerThread("diagnostics") as consumer:
        wait_for(lambda: consumer.lag() == 0, timeout=120, what="the rest")
        stats = consumer.stop()
    # It resumed at the offsets stored with the effects: nothing applied came back.
    assert stats.duplicates == 0 and stats.processed == 5 - applied
    assert_effects_once_and_in_order(ids)


def test_two_relays_and_a_relay_restart_publish_every_row_in_order_per_key(kafka_prefix: str) -> None:
    relays = [start_manage("relay_outbox", "--batch-size", "50") for _ in range(2)]
    writer_ids: list[str] = []

    def writer() -> None:
        for round_ in range(20):
            writer_ids.extend(emit_pings(150, keys=10, per_tx=15, start=round_ * 150))
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_for(lambda: published() >= 600, timeout=120, what="first rows published")
        # Kill whichever relay is active (the other is a hot standby) and start a fresh one.
        for process in relays:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            relays.append(start_manage("relay_outbox", "--batch-size", "50"))
            wait_for(lambda: published() >= 1_200, timeout=120, what="progress after a kill")
            break
        thread.join(timeout=300)
        assert not thread.is_alive()
        wait_for(lambda: published() == 3_000, timeout=180, what="every row published")
    finally:
        for process in relays:
            stop(process, signal.SIGKILL)

    messages = read_topic("diagnostics")
    assert {envelope(m)["id"] for m in messages} == set(writer_ids)
    for seqs in first_occurrence_seqs_by_key(messages).values():
        assert seqs == sorted(seqs)


def test_sigterm_finishes_the_batch_commits_offsets_and_exits_cleanly(kafka_prefix: str) -> None:
    ids = emit_pings(300, keys=3)
    assert start_manage("relay_outbox", "--once").wait(timeout=60) == 0
    consumer = start_manage("consume", "diagnostics", "--batch-size", "10")
    try:
        wait_for(lambda: DiagnosticsPing.objects.count() >= 50, timeout=120, what="consumer under way")
    finally:
        assert stop(consumer, signal.SIGTERM) == 0
    done = DiagnosticsPing.objects.count()
    # Offsets committed on close match what was applied: a restart neither skips nor repeats.
    assert group_lag("diagnostics", topics_for_group("diagnostics")) == 300 - done
    with ConsumerThread("diagnostics") as again:
        wait_for(lambda: again.lag() == 0, timeout=120, what="the rest")
        stats = again.stop()
    assert stats.duplicates == 0
    assert_effects_once_and_in_order(ids)

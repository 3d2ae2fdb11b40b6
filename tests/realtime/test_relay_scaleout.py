"""The snapshot relay against real PostgreSQL, Kafka and relay processes: out-of-order commits
(issue #19 item 3) and several relays sharing the outbox by partition, one of them killed."""

import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, TopicPartition
from django.db import connection, transaction
from django.db.models import Count

from realtime.kafka_config import reader_config
from realtime.models import OUTBOX_PARTITIONS, DiagnosticsPing, RelayProgress
from realtime.outbox import emit
from realtime.relay import LOCK_CLASS, PARTITION_LOCK_BASE, published_count
from realtime.topics import topic_named
from tests.realtime.conftest import start_manage, wait_for
from tests.realtime.helpers import (
    ConsumerThread,
    emit_pings,
    envelope,
    first_occurrence_seqs_by_key,
    read_topic,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(900),
]

WRITERS = 50
EVENTS_PER_TX = 3
LATER_TXS = 3  # per writer, after the reversed round


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def messages_on_kafka() -> int:
    """Sum of the high watermarks of the diagnostics topic (every copy counts)."""
    topic = topic_named("diagnostics").full_name
    reader = Consumer(reader_config("test-watermarks"))
    try:
        partitions = reader.list_topics(topic, timeout=30).topics[topic].partitions
        return sum(reader.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in partitions)
    finally:
        reader.close()


def db_now() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extract(epoch FROM clock_timestamp())")
        return float(cursor.fetchone()[0])


def relay_round_after(moment: float) -> Callable[[], bool]:
    """True once the relay process has finished a round that started after `moment` (DB clock)."""

    def check() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(extract(epoch FROM updated_at)) FROM realtime_relayprogress")
            (last,) = cursor.fetchone()
        return last is not None and float(last) > moment

    return check


def partition_lock_holders() -> dict[int, int]:
    """Outbox partition -> backend pid of the relay holding its advisory lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid::bigint - %s, pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid::bigint = %s AND objid::bigint >= %s AND objid::bigint < %s AND objsubid = 1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [PARTITION_LOCK_BASE, LOCK_CLASS, PARTITION_LOCK_BASE, PARTITION_LOCK_BASE + OUTBOX_PARTITIONS],
        )
        return {int(p): int(pid) for p, pid in cursor.fetchall()}


class Writer(threading.Thread):
    """One outbox writer: a first transaction whose commit the test orders, then mixed ones."""

    def __init__(self, index: int, rng: random.Random) -> None:
        super().__init__(daemon=True, name=f"writer-{index}")
        self.index = index
        self.key = f"w{index}"
        self.holds = [rng.choice([0.0, 0.001, 0.005, 0.2, 0.5]) for _ in range(LATER_TXS)]
        self.ids: list[str] = []
        self.first_sequence = 0
        self.emitted, self.go, self.committed = threading.Event(), threading.Event(), threading.Event()
        self.later = threading.Event()
        self.error: BaseException | None = None
        self.seq = 0

    def _emit_tx(self) -> None:
        for _ in range(EVENTS_PER_TX):
            event = emit(
                type="diagnostics.ping",
                key=self.key,
                payload={"seq": self.seq, "sent_at": "2026-01-01T00:00:00+00:00"},
            )
            self.ids.append(str(event.id))
            self.seq += 1

    def run(self) -> None:
        try:
            with transaction.atomic():
                self._emit_tx()
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT min(sequence) FROM realtime_outboxevent WHERE aggregateid = %s", [self.key]
                    )
                    self.first_sequence = int(cursor.fetchone()[0])
                self.emitted.set()
                if not self.go.wait(120):
                    raise TimeoutError("never told to commit")
            self.committed.set()
            if not self.later.wait(120):
                raise TimeoutError("never told to go on")
            for hold in self.holds:  # long and short transactions, all writers at once
                with transaction.atomic():
                    self._emit_tx()
                    if hold:
                        time.sleep(hold)  # keeps the transaction open: others commit past it
        except BaseException as exc:
            self.error = exc
        finally:
            self.emitted.set()
            self.committed.set()
            connection.close()


def test_writers_committing_out_of_order_lose_no_row_and_keep_order_per_key(kafka_prefix: str) -> None:
    seed = random.randrange(1_000_000)
    print(f"out-of-order schedule seed: {seed}")
    rng = random.Random(seed)
    relay = start_manage("relay_outbox", "--batch-size", "20")
    try:
        # A process start (Django import) takes tens of seconds on a loaded 2-core box: a wide bound.
        wait_for(
            lambda: RelayProgress.objects.count() == OUTBOX_PARTITIONS,
            timeout=300,
            what="the relay to own the outbox",
        )
        writers = [Writer(i, rng) for i in range(WRITERS)]
        for w in writers:
            w.start()
        for w in writers:
            assert w.emitted.wait(60) and w.error is None, w.error
        # Round 1: every writer holds its sequences; they commit in DESCENDING sequence order, one by
        # one, each after the relay finished a round that saw the previous commit.
        for w in sorted(writers, key=lambda w: -w.first_sequence):
            w.go.set()
            assert w.committed.wait(60) and w.error is None, w.error
            wait_for(relay_round_after(db_now()), timeout=60, what="a relay round after the commit")
        # Rounds 2..: all writers at once, some transactions long, some short.
        for w in writers:
            w.later.set()
        for w in writers:
            w.join(120)
            assert not w.is_alive() and w.error is None, w.error
        total = WRITERS * EVENTS_PER_TX * (1 + LATER_TXS)
        wait_for(lambda: messages_on_kafka() >= total, timeout=120, what="every row on Kafka")
    finally:
        stop(relay)

    messages = read_topic("diagnostics")
    ids = {i for w in writers for i in w.ids}
    assert len(ids) == total
    assert {envelope(m)["id"] for m in messages} == ids, "the relay skipped rows"
    by_key = first_occurrence_seqs_by_key(messages)
    assert set(by_key) == {w.key for w in writers}
    for key, seqs in by_key.items():
        assert seqs == list(range(EVENTS_PER_TX * (1 + LATER_TXS))), f"order broken for key {key}"


def test_relays_share_the_partitions_and_take_over_a_killed_ones(kafka_prefix: str) -> None:
    relays = [start_manage("relay_outbox", "--batch-size", "50") for _ in range(3)]
    ids: list[str] = []

    def writer() -> None:
        for round_ in range(20):
            ids.extend(emit_pings(150, keys=40, per_tx=15, start=round_ * 150))
        connection.close()

    try:
        # Each of the three takes at most ceil(8 / 3) = 3 partitions: all three publish.
        wait_for(
            lambda: (
                len(partition_lock_holders()) == OUTBOX_PARTITIONS
                and len(set(partition_lock_holders().values())) == 3
            ),
            timeout=300,
            what="three relays sharing the partitions",
        )
        thread = threading.Thread(target=writer)
        thread.start()
        wait_for(lambda: published_count() >= 600, timeout=120, what="first rows published")
        victim = relays[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        # The two survivors take its partitions over (4 each).
        wait_for(
            lambda: (
                len(partition_lock_holders()) == OUTBOX_PARTITIONS
                and len(set(partition_lock_holders().values())) == 2
            ),
            timeout=60,
            what="the survivors to take the partitions over",
        )
        thread.join(timeout=300)
        assert not thread.is_alive()
        wait_for(lambda: published_count() == 3_000, timeout=180, what="every row published")
    finally:
        for process in relays:
            stop(process, signal.SIGKILL)

    messages = read_topic("diagnostics")
    assert {envelope(m)["id"] for m in messages} == set(ids)
    for seqs in first_occurrence_seqs_by_key(messages).values():
        assert seqs == sorted(seqs)

    # Copies a killed relay's window left behind carry the same positions: one effect each, in order.
    with ConsumerThread("diagnostics") as consumer:
        wait_for(lambda: consumer.lag() == 0, timeout=180, what="consumer to drain the topic")
        stats = consumer.stop()
    counts = DiagnosticsPing.objects.values("event_id").annotate(n=Count("id"))
    assert {str(c["event_id"]) for c in counts} == set(ids)
    assert max(c["n"] for c in counts) == 1
    for key in DiagnosticsPing.objects.values_list("key", flat=True).distinct():
        seqs = list(DiagnosticsPing.objects.filter(key=key).order_by("id").values_list("seq", flat=True))
        assert seqs == sorted(seqs), f"order broken for key {key}"
    assert stats.processed == 3_000 and stats.duplicates == len(messages) - 3_000

"""The outbox relay: publishes committed outbox rows to Kafka in sequence order, then marks them.

One relay is active at a time: it holds a PostgreSQL advisory lock for as long as its session
lives; a second relay waits on that lock as a hot standby (`SKIP LOCKED` alone could publish two
events of one key from two relays in the wrong order). The active relay:

1. takes up to `batch_size` rows with `published_at IS NULL`, in `sequence` order (never "after
   the last sequence seen": sequences become visible at commit, out of order);
2. produces them with the idempotent producer (key = aggregate id, headers = id/type/version/trace);
3. waits for every delivery report, then marks the delivered rows in one UPDATE.

A crash between 2 and 3 republishes those rows on restart (at-least-once); consumers de-duplicate
on the event id. When idle it sleeps on LISTEN realtime_outbox (a trigger NOTIFYs on insert,
delivered at commit) with a short poll as fallback, and prunes rows published longer ago than
OUTBOX_RETENTION_HOURS.
"""

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from django.conf import settings
from django.db import connection
from django.db.utils import InterfaceError, OperationalError
from opentelemetry.trace import SpanKind, Status, StatusCode

from monitoring.metrics import count_relay
from realtime import tracing
from realtime.kafka_config import producer_config
from realtime.topics import topic_for_aggregate

log = logging.getLogger(__name__)

# pg_advisory_lock key of the active relay ("mint" + 1); advisory locks are per database.
RELAY_LOCK_KEY = 0x6D696E74_0001
NOTIFY_CHANNEL = "realtime_outbox"
PRUNE_EVERY_S = 60.0
PRUNE_CHUNK = 10_000

# PostgreSQL writes each message value (the event envelope, same content as `Event.to_json()`)
# with the payload spliced in as stored: no decoding, re-encoding or date parsing per row in
# Python, where that was a third of the relay's time. to_json() quotes the strings.
# `occurred_at` is written as Python's isoformat() writes it (UTC, six fraction digits, none when
# they are all zero): to_json() would drop trailing zeros, so the bytes would differ from the event.
_FETCH_SQL = """
SELECT sequence, id::text, aggregatetype, aggregateid, type, version, trace_id, traceparent,
    '{"id":"' || id::text || '","type":' || to_json(type)::text || ',"version":' || version::text
    || ',"occurred_at":"' || to_char(created_at AT TIME ZONE 'UTC',
        CASE WHEN date_part('microseconds', created_at)::bigint %% 1000000 = 0
        THEN 'YYYY-MM-DD"T"HH24:MI:SS' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US' END) || '+00:00"'
    || ',"key":' || to_json(aggregateid)::text
    || ',"trace_id":' || to_json(trace_id)::text
    || CASE WHEN traceparent = '' THEN '' ELSE ',"traceparent":' || to_json(traceparent)::text END
    || ',"payload":' || payload::text || '}'
FROM realtime_outboxevent WHERE published_at IS NULL ORDER BY sequence LIMIT %s
"""
_MARK_SQL = "UPDATE realtime_outboxevent SET published_at = now() WHERE sequence = ANY(%s)"
_PRUNE_SQL = """
DELETE FROM realtime_outboxevent WHERE id IN (
    SELECT id FROM realtime_outboxevent
    WHERE published_at IS NOT NULL AND published_at < now() - make_interval(hours => %s)
    LIMIT %s)
"""


@dataclass
class RelayStats:
    published: int = 0
    batches: int = 0
    failed_deliveries: int = 0
    pruned: int = 0


class Relay:
    """Publishes the outbox; `run()` loops until `stop` is set, `publish_batch()` does one round."""

    def __init__(
        self,
        *,
        batch_size: int | None = None,
        idle_poll_s: float | None = None,
        retention_hours: int | None = None,
        producer: Producer | None = None,
    ) -> None:
        self.batch_size = batch_size or settings.RELAY_BATCH_SIZE
        self.idle_poll_s = idle_poll_s if idle_poll_s is not None else settings.RELAY_IDLE_POLL_SECONDS
        self.retention_hours = retention_hours or settings.OUTBOX_RETENTION_HOURS
        self.producer = producer or Producer(producer_config("relay"))
        self.stats = RelayStats()
        self.is_leader = False
        self._last_prune = 0.0

    # --- one round ---------------------------------------------------------------------------
    def publish_batch(self) -> int:
        """Publish up to `batch_size` unpublished rows and mark the delivered ones; returns how many."""
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(_FETCH_SQL, [self.batch_size])
            rows = cursor.fetchall()
        if not rows:
            return 0
        errors: dict[int, KafkaError] = {}
        delivered: list[int] = []
        spans: dict[int, Any] = {}

        for sequence, row_id, aggregate, key, type_, version, trace_id, traceparent, value in rows:

            def on_delivery(err: KafkaError | None, _msg: Message, sequence: int = sequence) -> None:
                if err is None:
                    delivered.append(sequence)
                else:
                    errors[sequence] = err

            topic = topic_for_aggregate(aggregate).full_name
            headers = [
                ("event-id", row_id.encode()),
                ("event-type", type_.encode()),
                ("event-version", str(version).encode()),
                ("trace-id", trace_id.encode()),
                ("content-type", b"application/json"),
            ]
            if traceparent:
                # The publish is a span of the emitter's trace; consumers hang below it (the header),
                # so the trace shows the hop through Kafka. Rows without context get no span.
                span = tracing.start_span(
                    f"publish {type_}",
                    kind=SpanKind.PRODUCER,
                    parent=traceparent,
                    attributes={
                        "messaging.system": "kafka",
                        "messaging.destination.name": topic,
                        "messaging.message.id": row_id,
                        "mintdrop.event.type": type_,
                        "mintdrop.event.key": key,
                    },
                )
                if span is not None:
                    spans[sequence] = span
                headers.append(("traceparent", (tracing.traceparent_of(span) or traceparent).encode()))
            self._produce(topic, key, value.encode(), headers, on_delivery)
        self._flush()
        for sequence, span in spans.items():
            if sequence in errors:
                span.set_status(Status(StatusCode.ERROR, str(errors[sequence])))
            span.end()
        if errors:
            self.stats.failed_deliveries += len(errors)
            first = min(errors)
            log.error(
                "relay: %d deliveries failed (first: sequence %d: %s); they stay unpublished",
                len(errors),
                first,
                errors[first],
            )
        if delivered:
            with connection.cursor() as cursor:
                cursor.execute(_MARK_SQL, [delivered])
        self.stats.published += len(delivered)
        self.stats.batches += 1
        count_relay(len(delivered), len(errors), time.perf_counter() - started)
        return len(rows)

    def _produce(self, topic: str, key: str, value: bytes, headers: Any, cb: Any) -> None:
        while True:
            try:
                self.producer.produce(topic, value=value, key=key.encode(), headers=headers, on_delivery=cb)
                return
            except BufferError:
                # The local queue is full: let librdkafka send some, then try again.
                self.producer.poll(0.05)

    def _flush(self) -> None:
        """Wait for every delivery report; rows are marked only after theirs."""
        while self.producer.flush(1.0) > 0:
            log.warning(
                "relay: still waiting for %d delivery reports (broker slow or down)", len(self.producer)
            )

    def drain(self) -> int:
        """Publish until no unpublished row is left; returns how many were published."""
        total = 0
        while True:
            n = self.publish_batch()
            total += n
            if n < self.batch_size:
                return total

    def prune(self) -> int:
        """Delete rows published more than `retention_hours` ago, in chunks; returns how many."""
        total = 0
        while True:
            with connection.cursor() as cursor:
                cursor.execute(_PRUNE_SQL, [self.retention_hours, PRUNE_CHUNK])
                deleted = cursor.rowcount
            total += deleted
            if deleted < PRUNE_CHUNK:
                break
        self.stats.pruned += total
        self._last_prune = time.monotonic()
        return total

    # --- the loop ----------------------------------------------------------------------------
    def try_become_leader(self) -> bool:
        """Take the relay advisory lock (non-blocking); LISTEN for new rows once we hold it."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [RELAY_LOCK_KEY])
            self.is_leader = bool(cursor.fetchone()[0])
            if self.is_leader:
                cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
        return self.is_leader

    def _wait_for_rows(self) -> None:
        raw = connection.connection
        assert raw is not None
        for _notify in raw.notifies(timeout=self.idle_poll_s, stop_after=1):
            pass

    def run(self, *, stop: threading.Event) -> RelayStats:
        """Publish until `stop` is set: standby until the lock is ours, then publish, wait, repeat."""
        connection.ensure_connection()
        while not stop.is_set():
            try:
                if not self.is_leader:
                    if not self.try_become_leader():
                        stop.wait(self.idle_poll_s)
                        continue
                    log.info("relay: active (advisory lock taken)")
                n = self.publish_batch()
                if n < self.batch_size and not stop.is_set():
                    if time.monotonic() - self._last_prune > PRUNE_EVERY_S:
                        self.prune()
                    self._wait_for_rows()
            except (OperationalError, InterfaceError) as exc:
                # The session (and with it the lock) is gone: back to standby after a pause.
                log.warning("relay: database connection lost (%s); retrying", exc)
                self.is_leader = False
                connection.close()
                stop.wait(1.0)
        self.close()
        return self.stats

    def close(self) -> None:
        """Deliver what is queued and release the lock by closing the session."""
        self.producer.flush(5.0)
        if self.is_leader:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [RELAY_LOCK_KEY])
            except (OperationalError, InterfaceError):
                pass
        self.is_leader = False
        connection.close()

"""The outbox relays: publish committed outbox rows to Kafka, in order per key.

`Relay` (the default, RELAY_MODE=snapshot) writes nothing per row. It publishes by transaction
visibility, as PgQ does: each outbox row carries the id of the transaction that wrote it (`xid`,
`pg_current_xact_id()`); per outbox partition the relay keeps, in ONE row (RelayProgress), the
last snapshot it published up to (`snapshot_lo`). A round:

1. opens a window: `snapshot_hi = pg_current_snapshot()` (committed before publishing, so a
   relay that crashes re-publishes exactly the same window);
2. publishes, in `sequence` order, the rows visible in `snapshot_hi` but not in `snapshot_lo`:
   every transaction that committed in between, whatever its xid or sequence. A transaction that
   took its sequence early and commits late is simply in a later window: safe against
   out-of-order commits, and no long transaction elsewhere holds it back (unlike an xmin horizon);
3. after every delivery report, closes the window: `snapshot_lo = snapshot_hi` (one row update).

A window larger than `batch_size` is published in chunks; the row keeps how far (after_sequence).
Each message carries `outbox-pos: <partition>:<epoch>:<window>:<index>`, the same on a re-publish
after a crash: consumers keep the last position per (Kafka partition, outbox partition) in their
offsets row and drop the copy (realtime/consumer.py). `epoch` is fixed when the progress row is
created, so positions never compare across a reset.

Several relays share the outbox by partition: an outbox row's partition is a hash of its key
(OutboxEvent.partition), and a relay publishes a partition only while it holds that partition's
advisory lock (session-level: a relay that dies loses its locks with its connection). Every relay
also holds one "member" lock, so each knows how many are alive and takes at most its fair share
(ceil(partitions / relays)); it re-balances every REBALANCE_EVERY_S: a dead relay's partitions
are taken over, a new relay gets some handed over between two rounds. One key -> one partition ->
one relay at a time, so per-key order holds. Delivery errors: the producer retries without limit
(message.timeout.ms=0); an error that is final (e.g. message too large) leaves the partition's
window open and the partition stalls at that row (logged, counted) rather than publish later rows
of its keys first.

Rows are deleted by `prune()` once published (visible in their partition's `snapshot_lo`) and
older than OUTBOX_RETENTION_HOURS: Kafka is the log that consumers and replays read.

`MarkingRelay` (RELAY_MODE=mark) is the earlier design, kept for `bench/pipeline.py`'s comparison
and as a fallback: one active relay (advisory lock), `published_at IS NULL` rows in sequence
order, one UPDATE marking the delivered rows per round. Rows it marked are skipped by `Relay`
(migration: the first snapshot relay publishes only the rows with `published_at IS NULL`).
"""

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from django.conf import settings
from django.db import connection
from django.db.utils import InterfaceError, OperationalError
from opentelemetry.trace import SpanKind, Status, StatusCode

from config.db.prepared import prepared_cursor
from monitoring.metrics import count_relay
from realtime import tracing
from realtime.kafka_config import producer_config
from realtime.models import OUTBOX_PARTITIONS
from realtime.topics import topic_for_aggregate

log = logging.getLogger(__name__)

# Advisory lock keys ("mint" in the high 32 bits); advisory locks are per database.
LOCK_CLASS = 0x6D696E74
RELAY_LOCK_KEY = (LOCK_CLASS << 32) | 0x0001  # the single active MarkingRelay
PARTITION_LOCK_BASE = 0x1000  # + outbox partition: the relay publishing that partition
MEMBER_LOCK_BASE = 0x2000  # + slot: one per live snapshot relay (counts the relays)
MEMBER_SLOTS = 256
POSITION_HEADER = "outbox-pos"
NOTIFY_CHANNEL = "realtime_outbox"
PRUNE_EVERY_S = 60.0
REBALANCE_EVERY_S = 1.0
PRUNE_CHUNK = 10_000

# PostgreSQL writes each message value (the event envelope, same content as `Event.to_json()`)
# with the payload spliced in as stored: no decoding, re-encoding or date parsing per row in
# Python, where that was a third of the relay's time. to_json() quotes the strings.
# `occurred_at` is written as Python's isoformat() writes it (UTC, six fraction digits, none when
# they are all zero): to_json() would drop trailing zeros, so the bytes would differ from the event.
_COLUMNS = """sequence, id::text, aggregatetype, aggregateid, type, version, trace_id, traceparent,
    '{"id":"' || id::text || '","type":' || to_json(type)::text || ',"version":' || version::text
    || ',"occurred_at":"' || to_char(created_at AT TIME ZONE 'UTC',
        CASE WHEN date_part('microseconds', created_at)::bigint %% 1000000 = 0
        THEN 'YYYY-MM-DD"T"HH24:MI:SS' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US' END) || '+00:00"'
    || ',"key":' || to_json(aggregateid)::text
    || ',"trace_id":' || to_json(trace_id)::text
    || CASE WHEN traceparent = '' THEN '' ELSE ',"traceparent":' || to_json(traceparent)::text END
    || ',"payload":' || payload::text || '}'"""
_FETCH_SQL = f"""
SELECT {_COLUMNS}
FROM realtime_outboxevent WHERE published_at IS NULL ORDER BY sequence LIMIT %s
"""  # noqa: S608 (constant SQL)
_MARK_SQL = "UPDATE realtime_outboxevent SET published_at = now() WHERE sequence = ANY(%s)"
_PRUNE_MARKED_SQL = """
DELETE FROM realtime_outboxevent WHERE id IN (
    SELECT id FROM realtime_outboxevent
    WHERE published_at IS NOT NULL AND published_at < now() - make_interval(hours => %s)
    LIMIT %s)
"""

# --- the snapshot relay's SQL ----------------------------------------------------------------
# A new progress row: '1:1:' is the snapshot in which nothing is visible (the whole outbox is
# still to publish); the epoch tells consumers that positions restarted.
_ENSURE_PROGRESS_SQL = """
INSERT INTO realtime_relayprogress
    (partition, snapshot_lo, snapshot_hi, "window", after_sequence, after_index, epoch, updated_at)
SELECT p, '1:1:', NULL, 0, 0, 0, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, now()
FROM unnest(%s::smallint[]) AS p
ON CONFLICT (partition) DO NOTHING
"""
# Open a window where none is open (committed before anything of it is published).
_OPEN_SQL = """
UPDATE realtime_relayprogress SET
    snapshot_hi = COALESCE(snapshot_hi, pg_current_snapshot()::text),
    "window" = CASE WHEN snapshot_hi IS NULL THEN "window" + 1 ELSE "window" END,
    updated_at = now()
WHERE partition = ANY(%s::smallint[])
RETURNING partition, snapshot_lo, snapshot_hi, "window", after_sequence, after_index, epoch
"""
# The next rows of each open window: visible in hi, not visible in lo. "Not visible in lo" is
# two index lookups on (partition, xid): the range [xmax(lo), xmax(hi)) and lo's in-progress
# list. Written as one OR, the planner could use only the upper bound and scanned every row of
# the partition that was still in the outbox (all of them published) on every round: ~7 ms per
# partition with 50,000 rows, a whole core at 20 rounds/s (bench/README.md, backpressure). The
# two sets are disjoint (lo's in-progress xids are below xmax(lo)), so UNION ALL has no copies.
_WINDOW_SQL = f"""
SELECT w.partition, e.*
FROM jsonb_to_recordset(%s::jsonb) AS w(partition smallint, lo text, hi text, after bigint)
CROSS JOIN LATERAL (
    SELECT {_COLUMNS}
    FROM (
        SELECT * FROM realtime_outboxevent
        WHERE partition = w.partition
          AND xid >= pg_snapshot_xmax(w.lo::pg_snapshot) AND xid < pg_snapshot_xmax(w.hi::pg_snapshot)
        UNION ALL
        SELECT * FROM realtime_outboxevent
        WHERE partition = w.partition
          AND xid = ANY(ARRAY(SELECT pg_snapshot_xip(w.lo::pg_snapshot)))
    ) candidates
    WHERE pg_visible_in_snapshot(xid, w.hi::pg_snapshot)
      AND published_at IS NULL
      AND sequence > w.after
    ORDER BY sequence
    LIMIT %s
) e
ORDER BY w.partition, e.sequence
"""  # noqa: S608 (constant SQL)
# Close drained windows, move the others on; only for partitions whose lock this session holds.
_ADVANCE_SQL = f"""
UPDATE realtime_relayprogress r SET
    snapshot_lo = CASE WHEN a.drained THEN r.snapshot_hi ELSE r.snapshot_lo END,
    snapshot_hi = CASE WHEN a.drained THEN NULL ELSE r.snapshot_hi END,
    after_sequence = CASE WHEN a.drained THEN 0 ELSE a.after_sequence END,
    after_index = CASE WHEN a.drained THEN 0 ELSE a.after_index END,
    updated_at = now()
FROM jsonb_to_recordset(%s::jsonb) AS a(partition smallint, drained boolean, after_sequence bigint,
    after_index integer)
WHERE r.partition = a.partition
  AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid()
      AND l.granted AND l.classid = {LOCK_CLASS} AND l.objid = {PARTITION_LOCK_BASE} + a.partition
      AND l.objsubid = 1)
"""  # noqa: S608 (constants only)
_PRUNE_SQL = """
DELETE FROM realtime_outboxevent WHERE id IN (
    SELECT e.id FROM realtime_outboxevent e JOIN realtime_relayprogress r ON r.partition = e.partition
    WHERE e.created_at < now() - make_interval(hours => %s)
      AND pg_visible_in_snapshot(e.xid, r.snapshot_lo::pg_snapshot)
    LIMIT %s)
"""
_LIVE_MEMBERS_SQL = f"""
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND classid = {LOCK_CLASS}
  AND objid >= {MEMBER_LOCK_BASE} AND objid < {MEMBER_LOCK_BASE + MEMBER_SLOTS}
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""  # noqa: S608 (constants only)
_BACKLOG_SQL = f"""
SELECT count(e.id), min(e.created_at)
FROM generate_series(0, {OUTBOX_PARTITIONS - 1}) AS p
LEFT JOIN realtime_relayprogress r ON r.partition = p
CROSS JOIN LATERAL (
    SELECT id, created_at FROM realtime_outboxevent
    WHERE partition = p AND published_at IS NULL
      AND (r.snapshot_lo IS NULL OR (xid >= pg_snapshot_xmin(r.snapshot_lo::pg_snapshot)
           AND NOT pg_visible_in_snapshot(xid, r.snapshot_lo::pg_snapshot)))
) e
"""  # noqa: S608 (constants only)


def _key(base: int, n: int) -> int:
    return (LOCK_CLASS << 32) | (base + n)


def relay_mode() -> str:
    return str(getattr(settings, "RELAY_MODE", "snapshot"))


def backlog() -> tuple[int, Any]:
    """(rows not yet published, created_at of the oldest of them or None), for either relay mode."""
    with connection.cursor() as cursor:
        if relay_mode() == "mark":
            cursor.execute(
                "SELECT count(*), min(created_at) FROM realtime_outboxevent WHERE published_at IS NULL"
            )
        else:
            cursor.execute(_BACKLOG_SQL)
        count, oldest = cursor.fetchone()
    return int(count), oldest


def published_count() -> int:
    """Outbox rows published so far (and not pruned), for either relay mode."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM realtime_outboxevent")
        (total,) = cursor.fetchone()
    return int(total) - backlog()[0]


@dataclass
class RelayStats:
    published: int = 0
    batches: int = 0
    failed_deliveries: int = 0
    pruned: int = 0


class MarkingRelay:
    """The earlier relay (RELAY_MODE=mark): one leader, marks each published row. See module docstring."""

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
                cursor.execute(_PRUNE_MARKED_SQL, [self.retention_hours, PRUNE_CHUNK])
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
        # psycopg's own errors (the server went away while we waited) as Django's, which run() handles.
        with connection.wrap_database_errors:
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


def _headers(row_id: str, type_: str, version: int, trace_id: str) -> list[tuple[str, bytes]]:
    return [
        ("event-id", row_id.encode()),
        ("event-type", type_.encode()),
        ("event-version", str(version).encode()),
        ("trace-id", trace_id.encode()),
        ("content-type", b"application/json"),
    ]


def _publish_span(traceparent: str, topic: str, row_id: str, type_: str, key: str) -> Any:
    """The publish as a span of the emitter's trace (consumers hang below it); None without context."""
    if not traceparent:
        return None
    return tracing.start_span(
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


@dataclass
class _Window:
    partition: int
    lo: str
    hi: str
    window: int
    after_sequence: int
    after_index: int
    epoch: int
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    failed: int = 0


class Relay:
    """The snapshot relay (see the module docstring); `run()` loops, `publish_batch()` does one round.

    `partitions` pins the outbox partitions this relay may own (tests, manual splits); by default it
    takes its fair share of all of them and re-balances with the other live relays.
    """

    def __init__(
        self,
        *,
        batch_size: int | None = None,
        idle_poll_s: float | None = None,
        retention_hours: int | None = None,
        producer: Producer | None = None,
        partitions: list[int] | None = None,
    ) -> None:
        self.batch_size = batch_size or settings.RELAY_BATCH_SIZE
        self.idle_poll_s = idle_poll_s if idle_poll_s is not None else settings.RELAY_IDLE_POLL_SECONDS
        self.retention_hours = retention_hours or settings.OUTBOX_RETENTION_HOURS
        self.producer = producer or Producer(producer_config("relay"))
        self.candidates = sorted(partitions) if partitions is not None else list(range(OUTBOX_PARTITIONS))
        self.stats = RelayStats()
        self.owned: set[int] = set()
        self.member_slot: int | None = None
        self._listening = False
        self._last_prune = 0.0
        self._last_rebalance = 0.0

    @property
    def is_leader(self) -> bool:
        """True while this relay owns at least one outbox partition (the name predates partitions)."""
        return bool(self.owned)

    # --- ownership ---------------------------------------------------------------------------
    def _try_lock(self, key: int) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            return bool(cursor.fetchone()[0])

    def _unlock(self, key: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])

    def rebalance(self) -> set[int]:
        """Join as a member, then take or hand back partitions to own ceil(partitions / relays)."""
        self._last_rebalance = time.monotonic()
        if self.member_slot is None:
            for slot in range(MEMBER_SLOTS):
                if self._try_lock(_key(MEMBER_LOCK_BASE, slot)):
                    self.member_slot = slot
                    break
            else:
                return self.owned
        with connection.cursor() as cursor:
            cursor.execute(_LIVE_MEMBERS_SQL)
            members = max(1, int(cursor.fetchone()[0]))
        fair = math.ceil(OUTBOX_PARTITIONS / members)
        # Hand back the surplus first (between rounds: nothing of theirs is in flight).
        for partition in sorted(self.owned, reverse=True)[: max(0, len(self.owned) - fair)]:
            self._unlock(_key(PARTITION_LOCK_BASE, partition))
            self.owned.discard(partition)
            log.info("relay: handed over outbox partition %d", partition)
        taken: list[int] = []
        for partition in self.candidates:
            if len(self.owned) >= fair:
                break
            if partition not in self.owned and self._try_lock(_key(PARTITION_LOCK_BASE, partition)):
                self.owned.add(partition)
                taken.append(partition)
        if taken:
            with connection.cursor() as cursor:
                cursor.execute(_ENSURE_PROGRESS_SQL, [taken])
            log.info("relay: took outbox partition(s) %s (%d relay(s) alive)", taken, members)
        if self.owned and not self._listening:
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self._listening = True
        return self.owned

    def try_become_leader(self) -> bool:
        """Take this relay's share of the partitions now; True if it owns any."""
        return bool(self.rebalance())

    # --- one round ---------------------------------------------------------------------------
    def publish_batch(self) -> int:
        """Publish the next rows of each owned partition's window; returns how many rows were read."""
        if not self.owned:
            return 0
        started = time.perf_counter()
        windows = self._open_windows()
        if not windows:
            return 0
        self._fetch(windows)
        total = sum(len(w.rows) for w in windows.values())
        if total:
            self._produce_windows(windows)
        self._advance(windows)
        delivered = total - sum(w.failed for w in windows.values())
        self.stats.published += delivered
        self.stats.batches += 1
        if total:
            count_relay(delivered, total - delivered, time.perf_counter() - started)
        return total

    def _open_windows(self) -> dict[int, _Window]:
        with prepared_cursor() as cursor:  # every round: planned once per connection
            cursor.execute(_OPEN_SQL, [sorted(self.owned)])
            return {row[0]: _Window(*row) for row in cursor.fetchall()}

    def _fetch(self, windows: dict[int, _Window]) -> None:
        import json

        spec = [
            {"partition": w.partition, "lo": w.lo, "hi": w.hi, "after": w.after_sequence}
            for w in windows.values()
        ]
        with prepared_cursor() as cursor:
            cursor.execute(_WINDOW_SQL, [json.dumps(spec), self.batch_size])
            for partition, *row in cursor.fetchall():
                windows[partition].rows.append(tuple(row))

    def _produce_windows(self, windows: dict[int, _Window]) -> None:
        errors: dict[tuple[int, int], KafkaError] = {}
        spans: dict[tuple[int, int], Any] = {}
        # Per round: the name reads the topic prefix from settings, ~3 µs a message (15 % of the
        # relay's CPU in bench/pipeline.py's profile), and a round has a handful of aggregates.
        topic_names: dict[str, str] = {}
        for w in windows.values():
            for index, (
                sequence,
                row_id,
                aggregate,
                key,
                type_,
                version,
                trace_id,
                traceparent,
                value,
            ) in enumerate(w.rows, start=w.after_index):
                where = (w.partition, sequence)

                def on_delivery(
                    err: KafkaError | None, _msg: Message, where: tuple[int, int] = where
                ) -> None:
                    if err is not None:
                        errors[where] = err

                topic = topic_names.get(aggregate) or topic_names.setdefault(
                    aggregate, topic_for_aggregate(aggregate).full_name
                )
                headers = _headers(row_id, type_, version, trace_id)
                headers.append((POSITION_HEADER, f"{w.partition}:{w.epoch}:{w.window}:{index}".encode()))
                span = _publish_span(traceparent, topic, row_id, type_, key)
                if span is not None:
                    spans[where] = span
                if traceparent:
                    headers.append(("traceparent", (tracing.traceparent_of(span) or traceparent).encode()))
                self._produce(topic, key, value.encode(), headers, on_delivery)
        self._flush()
        for where, span in spans.items():
            if where in errors:
                span.set_status(Status(StatusCode.ERROR, str(errors[where])))
            span.end()
        for (partition, _sequence), _err in errors.items():
            windows[partition].failed += 1
        if errors:
            self.stats.failed_deliveries += len(errors)
            first = min(errors)
            log.error(
                "relay: %d deliveries failed (first: partition %d sequence %d: %s); "
                "their windows stay open and are published again",
                len(errors),
                first[0],
                first[1],
                errors[first],
            )

    def _advance(self, windows: dict[int, _Window]) -> None:
        import json

        moves = []
        for w in windows.values():
            if w.failed:
                continue  # the same rows, same positions, next round
            if w.rows:
                last_sequence = w.rows[-1][0]
                moves.append(
                    {
                        "partition": w.partition,
                        "drained": len(w.rows) < self.batch_size,
                        "after_sequence": last_sequence,
                        "after_index": w.after_index + len(w.rows),
                    }
                )
            else:
                moves.append(
                    {"partition": w.partition, "drained": True, "after_sequence": 0, "after_index": 0}
                )
        if moves:
            with prepared_cursor() as cursor:
                cursor.execute(_ADVANCE_SQL, [json.dumps(moves)])
                if cursor.rowcount < len(moves):
                    # A lock is gone (the session was replaced): own nothing until re-balanced.
                    log.warning("relay: lost ownership of some outbox partitions; re-balancing")
                    self.owned.clear()
                    self._last_rebalance = 0.0

    def _produce(self, topic: str, key: str, value: bytes, headers: Any, cb: Any) -> None:
        while True:
            try:
                self.producer.produce(topic, value=value, key=key.encode(), headers=headers, on_delivery=cb)
                return
            except BufferError:
                self.producer.poll(0.05)

    def _flush(self) -> None:
        while self.producer.flush(1.0) > 0:
            log.warning(
                "relay: still waiting for %d delivery reports (broker slow or down)", len(self.producer)
            )

    def drain(self) -> int:
        """Publish until a round finds nothing more in the owned partitions; returns how many rows."""
        total = 0
        while True:
            n = self.publish_batch()
            total += n
            if n == 0:
                return total

    def prune(self) -> int:
        """Delete published rows older than `retention_hours` (and legacy marked ones), in chunks."""
        total = 0
        for sql in (_PRUNE_SQL, _PRUNE_MARKED_SQL):
            while True:
                with connection.cursor() as cursor:
                    cursor.execute(sql, [self.retention_hours, PRUNE_CHUNK])
                    deleted = cursor.rowcount
                total += deleted
                if deleted < PRUNE_CHUNK:
                    break
        self.stats.pruned += total
        self._last_prune = time.monotonic()
        return total

    # --- the loop ----------------------------------------------------------------------------
    def _wait_for_rows(self, timeout: float) -> None:
        raw = connection.connection
        assert raw is not None
        # psycopg's own errors (the server went away while we waited) as Django's, which run() handles.
        with connection.wrap_database_errors:
            for _notify in raw.notifies(timeout=timeout, stop_after=1):
                pass

    def run(self, *, stop: threading.Event) -> RelayStats:
        """Publish until `stop` is set: own a fair share of partitions, publish, wait, re-balance."""
        while not stop.is_set():
            try:
                # Inside the try: a relay (re)started while PostgreSQL is still starting up waits for
                # it like any lost connection (make chaos found it exiting here).
                connection.ensure_connection()
                if time.monotonic() - self._last_rebalance >= REBALANCE_EVERY_S:
                    self.rebalance()
                if not self.owned:
                    stop.wait(min(self.idle_poll_s, REBALANCE_EVERY_S))
                    continue
                n = self.publish_batch()
                if n == 0 and not stop.is_set():
                    if time.monotonic() - self._last_prune > PRUNE_EVERY_S:
                        self.prune()
                    self._wait_for_rows(min(self.idle_poll_s, REBALANCE_EVERY_S))
            except (OperationalError, InterfaceError) as exc:
                # The session (and with it every lock) is gone: own nothing, retry after a pause.
                log.warning("relay: database connection lost (%s); retrying", exc)
                self._forget_session()
                connection.close()
                stop.wait(1.0)
        self.close()
        return self.stats

    def _forget_session(self) -> None:
        self.owned.clear()
        self.member_slot = None
        self._listening = False
        self._last_rebalance = 0.0

    def close(self) -> None:
        """Deliver what is queued and release every lock by closing the session."""
        self.producer.flush(5.0)
        try:
            if self.owned or self.member_slot is not None:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock_all()")
        except (OperationalError, InterfaceError):
            pass
        self._forget_session()
        connection.close()


def make_relay(**options: Any) -> "Relay | MarkingRelay":
    """The relay of the configured RELAY_MODE (`snapshot`, the default, or `mark`)."""
    if relay_mode() == "mark":
        options.pop("partitions", None)
        return MarkingRelay(**options)
    return Relay(**options)

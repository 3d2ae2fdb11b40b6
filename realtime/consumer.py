"""The consumer runner: `manage.py consume <group>` and `run_consumer()` for tests and benchmarks.

For each message of the topics that carry the group's registered types:

1. decode and validate it (envelope + payload schema); a bad one goes to the dead-letter topic;
2. in ONE database transaction: lock the group's offset rows of the batch's partitions
   (realtime_consumeroffset, see realtime/offsets.py), drop what they say was applied already,
   run the handlers, and move the rows past the batch: the effects and "applied up to offset N"
   commit together (Kafka's own exactly-once recipe, with PostgreSQL as the store);
3. after that commit, store the offsets in Kafka too (committed by the auto-commit timer, on
   rebalance and on close): advisory only, for lag tools; on assignment the runner seeks each
   partition to the offset stored in PostgreSQL (partitions the group never stored there start
   from Kafka's committed offset, or the earliest).

Which events still need an inbox row (group, event id), written in the same transaction:

- every event of a group in CONSUMER_INBOX_GROUPS: groups whose handlers hand work to the world
  outside the database (`saga`: Stripe refunds via Celery; `nft`: chain sends via Celery;
  `notify`: e-mail and ws pushes). Their effects are queued on commit and idempotent by their own
  keys (one mint per line, one refund per request, one message per (event, recipient)); the inbox
  row is the durable "seen" that outlives offsets (a replay into a fresh group, a re-drive);
- in every group, a message without an outbox position (marking relay, re-driven dead letter, a
  hand-produced message) and, once, what an earlier inbox-only consumer may have applied.

Groups whose effects are rows only (`fulfilment`, `sales`, `diagnostics`, ...) write no inbox row:
a redelivery is below the stored offset, a relay's re-published copy repeats an outbox position.

Messages are applied in batches (one transaction per poll) for throughput; if anything in a batch
fails, the batch rolls back and is replayed one message per transaction: retriable errors back off
and retry, anything else (or retries exhausted) dead-letters that one message, records its offset
and moves on, so a poison message never blocks its partition nor costs the others their offsets.
A database that does not answer at all (a restart, a failover) is not the message's fault: the
runner waits for it to come back without counting attempts, so an outage longer than the retry
budget dead-letters nothing (before, a 3 s outage sent every message in flight to the dead-letter
topic: found by the chaos suite's PostgreSQL restart, tests/chaos/README.md).
SIGTERM finishes the current batch, commits, closes.

Rebalances: eager or cooperative (incremental: the callbacks get only the partitions that move);
the seek applies to the partitions in the callback, so both work. A member that lost a partition
but still commits (a zombie past its session timeout) is fenced by the row lock: the new owner
waits for it and then finds those offsets applied.

Test-only hook: the crash point "consumer.after_commit" (config/faults.py) exits right after the
first database commit of an effect, before storing its offset in Kafka, to prove that a restarted
consumer applies nothing twice. It cannot be armed outside the test settings.
"""

import logging
import threading
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from django.conf import settings
from django.db import connection, transaction
from django.db.utils import InterfaceError, OperationalError
from opentelemetry.trace import SpanKind

from config.faults import crash_point, planted
from monitoring.metrics import count_consumer, count_dead_letter
from realtime import offsets, registry, tracing
from realtime.consumer_decode import Decoded, decode_message
from realtime.deadletter import REDRIVE_GROUP_HEADER, DeadLetterSink, error_code
from realtime.events import Event
from realtime.inbox import claim_events
from realtime.kafka_config import consumer_config
from realtime.topics import topic_for_aggregate
from realtime.tracing import trace

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
DB_WAIT_MAX_S = 5.0  # longest pause between reconnects while the database is down


def _position(msg: Message) -> tuple[str, int, int]:
    return (msg.topic() or "", msg.partition() or 0, msg.offset() or 0)


class _Stopping(Exception):
    """Shutdown was requested during a retry backoff: leave the message for redelivery."""


@dataclass
class ConsumerStats:
    processed: int = 0
    duplicates: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    retries: int = 0
    batches: int = 0
    assigned: list[str] = field(default_factory=list)


def topics_for_group(group: str) -> list[str]:
    """Full names of the topics carrying at least one event type that `group` handles."""
    from realtime.contracts import all_contracts

    patterns = [r.pattern for r in registry.registrations(group)]
    if not patterns:
        raise LookupError(f"no handlers registered for consumer group {group!r}")
    aggregates = {
        c.aggregate for c in all_contracts().values() if any(fnmatchcase(c.type, p) for p in patterns)
    }
    return sorted({topic_for_aggregate(a).full_name for a in aggregates})


def is_retriable(exc: BaseException) -> bool:
    """Worth retrying: an ApplicationError saying so, or a lost database connection."""
    return bool(getattr(exc, "retriable", False)) or isinstance(exc, (OperationalError, InterfaceError))


class ConsumerRunner:
    """Consumes for one group until stopped; see the module docstring for the guarantees."""

    def __init__(
        self,
        group: str,
        *,
        batch_size: int | None = None,
        max_attempts: int | None = None,
        backoff_s: float | None = None,
        poll_timeout_s: float = 0.5,
    ) -> None:
        self.group = group
        self.batch_size = batch_size or settings.CONSUMER_BATCH_SIZE
        self.max_attempts = max_attempts or settings.CONSUMER_MAX_ATTEMPTS
        self.backoff_s = backoff_s if backoff_s is not None else settings.CONSUMER_BACKOFF_SECONDS
        self.poll_timeout_s = poll_timeout_s
        self.topics = topics_for_group(group)
        self.stats = ConsumerStats()
        self.dead_letters = DeadLetterSink(group)
        config = consumer_config(group)
        self.consumer = Consumer(config)
        self._cooperative = "cooperative" in str(config.get("partition.assignment.strategy", ""))
        inbox_groups = set(getattr(settings, "CONSUMER_INBOX_GROUPS", []))
        self.inbox_group = "*" in inbox_groups or group in inbox_groups
        # handlers_for() re-runs autodiscovery on every call: resolve each type once per runner.
        self._handlers: dict[str, list[registry.Handler]] = {}
        self._stop = threading.Event()
        self._assigned: set[tuple[str, int]] = set()

    # --- Kafka side ---------------------------------------------------------------------------
    # The group uses cooperative-sticky assignment (kafka_config): each callback gets only the
    # partitions that this rebalance adds, revokes or loses, never the whole assignment, and the
    # partitions not named keep being consumed. `_assigned` is the running total.
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start each newly assigned partition at the offset stored in PostgreSQL with the effects."""
        try:
            self._seek_to_stored(consumer, partitions)
        except (OperationalError, InterfaceError) as exc:
            # The database is unreachable (restarting): start from Kafka's committed offsets, which
            # are never ahead of PostgreSQL's (they are stored only after the effects commit); the
            # offset rows locked with each batch then skip whatever was applied already.
            connection.close()
            log.warning("consumer %s: offsets not read on assignment (%s); seeking later", self.group, exc)
        finally:
            # Assign in every case (librdkafka would otherwise assign at Kafka's committed offsets
            # anyway; a failed read above is retried by the transaction's row check).
            if self._cooperative:
                consumer.incremental_assign(partitions)
            else:
                consumer.assign(partitions)
        self._advertise_stored(consumer, partitions)
        if not self._cooperative:
            self._assigned = set()  # eager: each callback names the whole assignment
        self._assigned |= {(p.topic, p.partition) for p in partitions}
        self._publish_assignment()
        log.info(
            "consumer %s: assigned %s (now %d partition(s))",
            self.group,
            ", ".join(f"{p.topic}[{p.partition}]" for p in partitions) or "nothing new",
            len(self._assigned),
        )

    def _seek_to_stored(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = [(p.topic, p.partition) for p in partitions]
        stored = offsets.stored(self.group, keys)
        new = [p for p in partitions if (p.topic, p.partition) not in stored]
        if new:
            # First contact under offsets-in-PostgreSQL. A partition this group already consumed
            # (Kafka has a committed offset) was applied with the inbox only: up to its current end,
            # messages are checked against the inbox once more (migration of existing groups).
            committed = consumer.committed(new, timeout=30)
            inbox_until: dict[tuple[str, int], int] = {}
            for tp in committed:
                until = 0
                if tp.offset >= 0:
                    _low, high = consumer.get_watermark_offsets(tp, timeout=30, cached=False)
                    until = high
                inbox_until[(tp.topic, tp.partition)] = until
            offsets.create(self.group, inbox_until)
        for p in partitions:
            state = stored.get((p.topic, p.partition))
            if state is not None and state.next_offset >= 0:
                p.offset = state.next_offset

    def _advertise_stored(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Commit the positions just read from PostgreSQL to Kafka too (advisory, for lag tools).

        Kafka's committed offset lags behind when a process died after its DB commit; if nothing
        new arrives on the partition, no later commit would fix it and lag probes/alerts would
        report work that is already done.
        """
        known = [TopicPartition(p.topic, p.partition, p.offset) for p in partitions if p.offset >= 0]
        if not known:
            return
        try:
            consumer.commit(offsets=known, asynchronous=True)
        except KafkaException as exc:
            log.warning("consumer %s: advisory offset commit failed: %s", self.group, exc)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Everything handed out before this rebalance is applied and stored: commit it now so the
        # next owner of these partitions starts right after it.
        self._commit_stored()
        self._assigned -= {(p.topic, p.partition) for p in partitions}
        self._publish_assignment()
        log.info("consumer %s: revoked %d partition(s)", self.group, len(partitions))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Lost, not revoked (this member was dropped from the group): another member may own them
        # already, so nothing is committed for them; the offsets stored with the effects (and the
        # inbox, for groups that keep one) absorb the redelivery.
        self._assigned -= {(p.topic, p.partition) for p in partitions}
        self._publish_assignment()
        log.warning("consumer %s: lost %d partition(s)", self.group, len(partitions))

    def _publish_assignment(self) -> None:
        self.stats.assigned = [f"{t}[{p}]" for t, p in sorted(self._assigned)]

    def _commit_stored(self) -> None:
        try:
            self.consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("consumer %s: offset commit failed: %s", self.group, exc)

    def _poll(self) -> list[Message]:
        """Block for the first message (low latency), then take what is already fetched (batching)."""
        first = self.consumer.poll(self.poll_timeout_s)
        if first is None:
            return []
        more = (
            self.consumer.consume(num_messages=self.batch_size - 1, timeout=0) if self.batch_size > 1 else []
        )
        return [first, *more]

    # --- the loop -----------------------------------------------------------------------------
    def run(self, *, stop: threading.Event | None = None, max_messages: int | None = None) -> ConsumerStats:
        """Consume until `stop` is set (or `max_messages` were handled), then commit and close."""
        self._stop = stop or threading.Event()
        self.consumer.subscribe(
            self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        handled = 0
        try:
            while not self._stop.is_set():
                messages = self._poll()
                if not messages:
                    continue
                try:
                    self._handle_batch(messages)
                except _Stopping:
                    break
                handled += len(messages)
                if max_messages is not None and handled >= max_messages:
                    break
        finally:
            self.consumer.close()  # commits the stored offsets
            connection.close()
        return self.stats

    def _handle_batch(self, messages: list[Message]) -> None:
        self.stats.batches += 1
        finished: set[tuple[str, int, int]] = set()
        no_effect: list[Message] = []  # skipped or undecodable: their offsets move with the batch
        ready: list[Decoded] = []
        for msg in messages:
            if msg.error():
                log.warning("consumer %s: %s", self.group, msg.error())
                continue
            decoded = decode_message(msg)
            if decoded.error is not None:
                self._dead_letter(decoded, decoded.error, attempts=1)
            elif self._skip(decoded):
                self.stats.skipped += 1
                count_consumer(self.group, "skipped")
            else:
                ready.append(decoded)
                continue
            finished.add(_position(msg))
            no_effect.append(msg)
        try:
            self._apply_batch(ready, no_effect)
            finished.update(_position(d.msg) for d in ready)
        except Exception as exc:
            if isinstance(exc, (OperationalError, InterfaceError)):
                connection.close()
            log.info("consumer %s: batch failed (%s); applying one by one", self.group, exc)
            for decoded in ready:
                try:
                    self._apply_one(decoded)
                except _Stopping:
                    self._store(messages, finished)
                    raise
                finished.add(_position(decoded.msg))
            if no_effect:
                self._record_finished(no_effect)
        self._store(messages, finished)

    def _skip(self, decoded: Decoded) -> bool:
        redrive_for = decoded.headers.get(REDRIVE_GROUP_HEADER)
        if redrive_for is not None and redrive_for != self.group:
            return True
        return decoded.event is None or not self._handlers_for(decoded.event.type)

    def _store(self, messages: list[Message], finished: set[tuple[str, int, int]]) -> None:
        """Store, per partition, the offset after the last message of an all-finished prefix.

        Called only after the effects committed; a message left unfinished (shutdown during a
        retry) keeps every later message of its partition from being marked, so it is redelivered.
        """
        upto: dict[tuple[str, int], int] = {}
        blocked: set[tuple[str, int]] = set()
        for msg in messages:
            topic, partition, offset = _position(msg)
            # A partition revoked while this batch was fetched is no longer ours to store (librdkafka
            # refuses it); its new owner starts from the last commit and the inbox skips the repeats.
            if msg.error() or (topic, partition) in blocked or (topic, partition) not in self._assigned:
                continue
            if (topic, partition, offset) in finished:
                upto[(topic, partition)] = offset
            else:
                blocked.add((topic, partition))
        if upto:
            self.consumer.store_offsets(offsets=[TopicPartition(t, p, o + 1) for (t, p), o in upto.items()])

    def _handlers_for(self, event_type: str) -> list[registry.Handler]:
        if event_type not in self._handlers:
            self._handlers[event_type] = registry.handlers_for(self.group, event_type)
        return self._handlers[event_type]

    def _span_attributes(self, event: Event) -> dict[str, str]:
        return {
            "messaging.system": "kafka",
            "messaging.consumer.group.name": self.group,
            "messaging.message.id": str(event.id),
            "mintdrop.event.type": event.type,
            "mintdrop.event.key": event.key,
        }

    def _run_handlers(self, event: Event, parent: str = "") -> None:
        """The handlers of one event, in a span continuing `parent` (its trace context) if valid."""
        with (
            trace(event.trace_id),
            tracing.span(
                f"{self.group} {event.type}",
                kind=SpanKind.CONSUMER,
                parent=parent,
                attributes=self._span_attributes(event),
            ),
        ):
            for handler in self._handlers_for(event.type):
                handler(event)

    def _run_batch_form(
        self, batch: registry.BatchHandler, events: list[Event], parents: dict[Any, str]
    ) -> None:
        """A batch form gets one call; each event still gets its own span (in its own trace)."""
        spans = [
            tracing.start_span(
                f"{self.group} {e.type}",
                kind=SpanKind.CONSUMER,
                parent=parents.get(e.id, ""),
                attributes=self._span_attributes(e),
            )
            for e in events
        ] if tracing.enabled() else []  # fmt: skip
        try:
            batch(events)
        finally:
            for s in spans:
                if s is not None:
                    s.end()

    def _run_handlers_in_order(self, events: list[Event], parents: dict[Any, str]) -> None:
        """Every handler of every event, in log order; a run of consecutive events whose only
        handler has a batch form goes to that form in one call (same effect, far fewer queries)."""
        i = 0
        while i < len(events):
            handlers = self._handlers_for(events[i].type)
            batch = registry.batch_form(handlers[0]) if len(handlers) == 1 else None
            if batch is None:
                self._run_handlers(events[i], parents.get(events[i].id, ""))
                i += 1
                continue
            end = i + 1
            while end < len(events) and self._handlers_for(events[end].type) == handlers:
                end += 1
            self._run_batch_form(batch, events[i:end], parents)
            i = end

    def _admit(
        self, states: dict[offsets.Position, offsets.PartitionState], decoded: Decoded
    ) -> offsets.Verdict:
        topic, partition, offset = _position(decoded.msg)
        return offsets.admit(
            states[(topic, partition)],
            offset,
            decoded.headers,
            inbox_group=self.inbox_group,
            redriven=REDRIVE_GROUP_HEADER in decoded.headers,
        )

    def _fresh_events(
        self, states: dict[offsets.Position, offsets.PartitionState], batch: list[Decoded]
    ) -> tuple[list[Event], int]:
        """The events of `batch` (log order) to apply now, and how many were duplicates."""
        verdicts = [(d.event, self._admit(states, d)) for d in batch if d.event is not None]
        to_claim = [e for e, v in verdicts if v is offsets.Verdict.INBOX]
        new_ids = claim_events(group=self.group, events=to_claim) if to_claim else set()
        fresh: list[Event] = []
        for event, verdict in verdicts:
            if verdict is offsets.Verdict.APPLY:
                fresh.append(event)
            elif verdict is offsets.Verdict.INBOX and event.id in new_ids:
                new_ids.discard(event.id)  # a duplicate inside the batch runs once
                fresh.append(event)
        return fresh, len(verdicts) - len(fresh)

    def _apply_batch(self, batch: list[Decoded], no_effect: list[Message]) -> None:
        """One transaction: offsets (and inbox rows where needed) for the batch + the handlers."""
        if not batch and not no_effect:
            return
        parents = (
            {d.event.id: tracing.event_parent(d.event, d.headers) for d in batch if d.event is not None}
            if tracing.enabled()
            else {}
        )
        if planted("offset_before_effect"):
            self._planted_offset_first(batch, no_effect, parents)
            return
        with transaction.atomic():
            states = offsets.lock(
                self.group, [_position(m)[:2] for m in [*(d.msg for d in batch), *no_effect]]
            )
            fresh, duplicates = self._fresh_events(states, batch)
            self._run_handlers_in_order(fresh, parents)
            for msg in no_effect:
                topic, partition, offset = _position(msg)
                offsets.advance(states[(topic, partition)], offset)
            offsets.save(self.group, states)
        # Counted only once committed: a failed batch is replayed one by one and counted there.
        self.stats.processed += len(fresh)
        self.stats.duplicates += duplicates
        count_consumer(self.group, "processed", len(fresh))
        count_consumer(self.group, "duplicate", duplicates)
        if fresh:
            self._after_commit()

    def _planted_offset_first(
        self, batch: list[Decoded], no_effect: list[Message], parents: dict[Any, str]
    ) -> None:
        """A PLANTED BUG, test-only (config.faults.planted): the offsets commit in a transaction of
        their own BEFORE the effects, so a crash in between loses the batch. tests/chaos shows its
        checks report it; nothing but a test run with MINTDROP_PLANT set ever takes this path."""
        with transaction.atomic():
            states = offsets.lock(
                self.group, [_position(m)[:2] for m in [*(d.msg for d in batch), *no_effect]]
            )
            fresh, _duplicates = self._fresh_events(states, batch)
            for msg in no_effect:
                topic, partition, offset = _position(msg)
                offsets.advance(states[(topic, partition)], offset)
            offsets.save(self.group, states)
        if fresh:
            crash_point("consumer.plant_gap")
        with transaction.atomic():
            self._run_handlers_in_order(fresh, parents)
        self.stats.processed += len(fresh)

    def _record_finished(self, messages: list[Message]) -> None:
        """Move the offsets past messages that finished without an effect (own transaction).

        Waits out a database that does not answer, as the effects do: make chaos found a consumer
        exiting here when PostgreSQL restarted just after a batch had failed.
        """
        attempt = 0
        while True:
            try:
                with transaction.atomic():
                    states = offsets.lock(self.group, [_position(m)[:2] for m in messages])
                    for msg in messages:
                        topic, partition, offset = _position(msg)
                        offsets.advance(states[(topic, partition)], offset)
                    offsets.save(self.group, states)
                return
            except (OperationalError, InterfaceError):
                connection.close()
                if self._wait_for_database():
                    continue  # the server did not answer: not a failed attempt (as in _apply_one)
                # A server that answers but still fails the write is not waited out forever.
                attempt += 1
                if attempt >= self.max_attempts:
                    raise

    def _apply_one(self, decoded: Decoded) -> None:
        """One message, one transaction, with backoff for retriable errors; dead-letter otherwise."""
        event = decoded.event
        assert event is not None
        attempt = 0
        while True:
            attempt += 1
            try:
                with transaction.atomic():
                    states = offsets.lock(self.group, [_position(decoded.msg)[:2]])
                    fresh, duplicates = self._fresh_events(states, [decoded])
                    if fresh:
                        self._run_handlers(event, tracing.event_parent(event, decoded.headers))
                    offsets.save(self.group, states)
                if duplicates:
                    self.stats.duplicates += 1
                    count_consumer(self.group, "duplicate")
                    return
                self.stats.processed += 1
                count_consumer(self.group, "processed")
                self._after_commit()
                return
            except Exception as exc:
                if isinstance(exc, (OperationalError, InterfaceError)):
                    connection.close()
                    if self._wait_for_database():
                        # The server did not answer (restarting, failing over): not this message's
                        # fault, so the attempt does not count and it is never dead-lettered for it.
                        attempt -= 1
                        continue
                if not is_retriable(exc) or attempt >= self.max_attempts:
                    self._dead_letter(decoded, exc, attempts=attempt)
                    self._record_finished([decoded.msg])
                    return
                self.stats.retries += 1
                count_consumer(self.group, "retried")
                delay = min(self.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S)
                log.info(
                    "consumer %s: retriable error on %s (attempt %d): %s", self.group, event.id, attempt, exc
                )
                if self._stop.wait(delay):
                    raise _Stopping from exc

    def _wait_for_database(self) -> bool:
        """Reconnect; while the server refuses, wait for it (doubling pauses up to DB_WAIT_MAX_S, until
        stopped). True if it was unreachable at least once (as opposed to one stale connection)."""
        down = False
        delay = self.backoff_s or 0.2
        while True:
            try:
                connection.ensure_connection()
                return down
            except (OperationalError, InterfaceError) as exc:
                connection.close()
                if not down:
                    log.warning("consumer %s: database unreachable (%s); waiting for it", self.group, exc)
                down = True
                self.stats.retries += 1
                if self._stop.wait(delay):
                    raise _Stopping from exc
                delay = min(delay * 2, DB_WAIT_MAX_S)

    def _dead_letter(self, decoded: Decoded, exc: BaseException, *, attempts: int) -> None:
        event = decoded.event
        self.dead_letters.send(
            decoded.msg,
            exc,
            attempts=attempts,
            event_id=str(event.id) if event else decoded.headers.get("event-id", ""),
            event_type=event.type if event else decoded.headers.get("event-type", ""),
        )
        self.stats.dead_lettered += 1
        count_consumer(self.group, "dead_lettered")
        count_dead_letter(self.group, error_code(exc))

    def _after_commit(self) -> None:
        # Test-only: die between the DB commit and storing the offset (see module docstring).
        crash_point("consumer.after_commit")


def run_consumer(
    group: str,
    *,
    stop_event: threading.Event | None = None,
    max_messages: int | None = None,
    **options: float | int | None,
) -> ConsumerStats:
    """Run the consumer of `group` in this thread until `stop_event` is set; returns its stats."""
    runner = ConsumerRunner(group, **options)  # type: ignore[arg-type]
    return runner.run(stop=stop_event, max_messages=max_messages)

"""Helpers shared by the backbone tests: emitting pings, running a consumer in a thread, reading topics."""

import json
import threading
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message
from django.db import transaction

from realtime.consumer import ConsumerRunner, ConsumerStats, topics_for_group
from realtime.deadletter import headers_dict
from realtime.lag import group_lag
from realtime.logreader import read_log
from realtime.outbox import emit
from realtime.topics import topic_named


def emit_pings(count: int, *, keys: int = 5, per_tx: int = 100, start: int = 0) -> list[str]:
    """Emit `count` diagnostics.ping events spread over `keys` keys, `per_tx` per transaction.

    The payload `seq` increases per key, so order per key can be checked downstream. Returns the ids.
    """
    ids: list[str] = []
    i = start
    while i < start + count:
        with transaction.atomic():
            for _ in range(min(per_tx, start + count - i)):
                event = emit(
                    type="diagnostics.ping",
                    key=f"k{i % keys}",
                    payload={"seq": i, "sent_at": datetime.now(UTC).isoformat()},
                )
                ids.append(str(event.id))
                i += 1
    return ids


def read_topic(name: str) -> list[Message]:
    """Every message of declared topic `name` in this test's namespace."""
    return list(read_log([topic_named(name).full_name], reader="test-reader"))


def headers_of(msg: Message) -> dict[str, str]:
    return headers_dict(msg.headers())


def envelope(msg: Message) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(msg.value() or b"")
    return doc


def first_occurrence_seqs_by_key(messages: list[Message]) -> dict[str, list[int]]:
    """Per key, the payload seqs in log order, counting each event id once (its first copy)."""
    seen: set[str] = set()
    by_key: dict[str, list[int]] = {}
    for msg in messages:
        doc = envelope(msg)
        if doc["id"] in seen:
            continue
        seen.add(doc["id"])
        by_key.setdefault(doc["key"], []).append(doc["payload"]["seq"])
    return by_key


class ConsumerThread:
    """`ConsumerRunner` of `group` in a background thread, stopped and joined by `stop()`."""

    def __init__(self, group: str, **options: Any) -> None:
        self.group = group
        self.runner = ConsumerRunner(group, **options)
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"consumer-{group}", daemon=True)

    def _run(self) -> None:
        try:
            self.runner.run(stop=self.stop_event)
        except BaseException as exc:
            self.error = exc
            raise

    def __enter__(self) -> "ConsumerThread":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stats(self) -> ConsumerStats:
        return self.runner.stats

    def stop(self) -> ConsumerStats:
        self.stop_event.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "consumer thread did not stop"
        assert self.error is None, self.error
        return self.runner.stats

    def lag(self) -> int:
        return group_lag(self.group, topics_for_group(self.group))


def relay_progress() -> dict[int, dict[str, Any]]:
    """The snapshot relay's progress rows, to put back later with `rewind_relay()`."""
    from realtime.models import RelayProgress

    return {r["partition"]: dict(r) for r in RelayProgress.objects.values()}


def rewind_relay(saved: dict[int, dict[str, Any]]) -> None:
    """As after a relay crash between publishing and saving its progress: back to `saved`.

    Rows created since `saved` go back to "nothing published" with their epoch kept, so the
    re-published messages carry the positions of the first copies (as a restarted relay's do).
    """
    from realtime.models import RelayProgress

    for row in RelayProgress.objects.all():
        before = saved.get(row.partition)
        row.snapshot_lo = before["snapshot_lo"] if before else "1:1:"
        row.snapshot_hi = before["snapshot_hi"] if before else None
        row.window = before["window"] if before else 0
        row.after_sequence = before["after_sequence"] if before else 0
        row.after_index = before["after_index"] if before else 0
        row.save()


def republish(event_ids: list[str], topic: str) -> int:
    """Produce exact copies (key, value, headers) of the messages of `event_ids` on declared topic
    `topic` again, as a relay that crashed before saving its progress does; returns how many."""
    from confluent_kafka import Producer

    from realtime.kafka_config import producer_config

    wanted = set(event_ids)
    producer = Producer(producer_config("test-republish"))
    copies = 0
    for msg in read_topic(topic):
        if envelope(msg)["id"] in wanted:
            producer.produce(
                msg.topic() or "",
                key=msg.key(),
                value=msg.value(),
                headers=msg.headers(),
                partition=msg.partition() or 0,
            )
            copies += 1
    assert producer.flush(30) == 0
    return copies

"""The dead-letter topic: where a consumer group parks a message it cannot process, and re-drive.

A dead letter keeps the original key, value and headers, plus `dlq-*` headers saying which group
failed, why, and where the message came from. The runner also records a `DeadLetter` row so the
Django admin can list them and re-drive one: re-driving produces the original message again to
its original topic with a `redrive-group` header, so only that group processes it again (other
groups skip it; they would de-duplicate it anyway).
"""

import json
import logging
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from django.db import connection
from django.utils import timezone

from realtime.kafka_config import producer_config
from realtime.models import DeadLetter
from realtime.topics import dead_letter_topic

log = logging.getLogger(__name__)

REDRIVE_GROUP_HEADER = "redrive-group"
REDRIVE_OF_HEADER = "redrive-of"
_ERROR_MAX = 2000

_RECORD_SQL = """
INSERT INTO realtime_deadletter
    ("group", topic, partition, "offset", key, value, headers, event_id, event_type, error_code, error,
     attempts, redrive_count)
VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, 0)
ON CONFLICT ("group", topic, partition, "offset") DO NOTHING
"""


class DeliveryFailed(RuntimeError):
    """Kafka refused a dead letter or a re-drive; the caller must not move on."""


def error_code(exc: BaseException) -> str:
    """A stable code for an error: ApplicationError.code, else the exception class name."""
    return str(getattr(exc, "code", None) or type(exc).__name__)


def headers_dict(headers: Any) -> dict[str, str]:
    """Kafka headers (a list of (name, value) pairs) as text; the last of a repeated header wins."""
    result: dict[str, str] = {}
    for name, value in headers or []:
        result[name] = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")
    return result


def _produce_and_wait(producer: Producer, **kwargs: Any) -> None:
    failure: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            failure.append(err)

    producer.produce(on_delivery=on_delivery, **kwargs)
    while producer.flush(1.0) > 0:
        log.warning("dead letter: waiting for the broker to acknowledge")
    if failure:
        raise DeliveryFailed(str(failure[0]))


class DeadLetterSink:
    """Sends poison messages of one consumer group to the dead-letter topic and records them."""

    def __init__(self, group: str, producer: Producer | None = None) -> None:
        self.group = group
        self.producer = producer or Producer(producer_config(f"deadletter-{group}"))

    def send(
        self, msg: Message, exc: BaseException, *, attempts: int, event_id: str = "", event_type: str = ""
    ) -> None:
        """Produce `msg` with the error to the dead-letter topic, wait for the ack, then record it."""
        text = f"{type(exc).__name__}: {exc}"[:_ERROR_MAX]
        code = error_code(exc)
        original: list[tuple[str, str | bytes | None]] = list(msg.headers() or [])  # type: ignore[arg-type]
        dlq_headers = [
            ("dlq-group", self.group),
            ("dlq-error", text),
            ("dlq-error-code", code),
            ("dlq-topic", msg.topic() or ""),
            ("dlq-partition", str(msg.partition())),
            ("dlq-offset", str(msg.offset())),
            ("dlq-attempts", str(attempts)),
        ]
        headers = original + [(k, v.encode()) for k, v in dlq_headers]
        _produce_and_wait(
            self.producer,
            topic=dead_letter_topic().full_name,
            key=msg.key(),
            value=msg.value(),
            headers=headers,
        )
        key = msg.key()
        with connection.cursor() as cursor:
            cursor.execute(
                _RECORD_SQL,
                [
                    self.group,
                    msg.topic(),
                    msg.partition(),
                    msg.offset(),
                    key.decode("utf-8", "replace") if key is not None else None,
                    msg.value() or b"",
                    json.dumps(headers_dict(msg.headers())),
                    event_id[:64],
                    event_type[:100],
                    code[:100],
                    text,
                    attempts,
                ],
            )
        log.warning(
            "dead-lettered %s[%s]@%s for group %s: %s",
            msg.topic(),
            msg.partition(),
            msg.offset(),
            self.group,
            text,
        )


def redrive(*, dead_letter: DeadLetter, producer: Producer | None = None) -> None:
    """Produce a dead letter's original message to its original topic again, for its group only."""
    producer = producer or Producer(producer_config("redrive"))
    headers = [
        (k, v.encode())
        for k, v in dead_letter.headers.items()
        if not k.startswith("dlq-") and k not in (REDRIVE_GROUP_HEADER, REDRIVE_OF_HEADER)
    ]
    headers += [
        (REDRIVE_GROUP_HEADER, dead_letter.group.encode()),
        (REDRIVE_OF_HEADER, f"{dead_letter.topic}:{dead_letter.partition}:{dead_letter.offset}".encode()),
    ]
    _produce_and_wait(
        producer,
        topic=dead_letter.topic,
        key=dead_letter.key.encode() if dead_letter.key is not None else None,
        value=bytes(dead_letter.value),
        headers=headers,
    )
    DeadLetter.objects.filter(pk=dead_letter.pk).update(
        redriven_at=timezone.now(), redrive_count=dead_letter.redrive_count + 1
    )

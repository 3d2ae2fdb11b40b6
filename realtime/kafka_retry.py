"""Retrying the broker's transient answers in short-lived probes (lag, log reads).

Right after a topic is created or a group first commits, a broker may still be electing a
partition leader or loading a group coordinator; it answers NOT_LEADER_FOR_PARTITION,
NOT_COORDINATOR and the like for a moment. librdkafka retries those inside long-lived clients, but a
one-shot call such as `get_watermark_offsets` or `committed` surfaces them: retry a few times.
"""

import time
from collections.abc import Callable
from typing import TypeVar

from confluent_kafka import KafkaError, KafkaException

T = TypeVar("T")

MOVING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}
ATTEMPTS = 10
PAUSE_S = 0.5


def is_transient(error: KafkaError) -> bool:
    return bool(error.retriable()) or error.code() in MOVING


def retry_transient(call: Callable[[], T], *, attempts: int = ATTEMPTS, pause_s: float = PAUSE_S) -> T:
    """`call()`, retried while it raises a transient KafkaException; the last one is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except KafkaException as exc:
            if attempt == attempts or not is_transient(exc.args[0]):
                raise
            time.sleep(pause_s)
    raise AssertionError("unreachable")

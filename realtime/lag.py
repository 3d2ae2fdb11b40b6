"""How far a consumer group is behind the end of its topics (for ops and tests)."""

import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from realtime.kafka_config import consumer_config

TIMEOUT_S = 10.0
# A group's coordinator can be moving or still loading (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS)
# right after the group first commits; the probe retries those (and anything the client marks retriable).
COORDINATOR_MOVING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
}
COMMITTED_ATTEMPTS = 10
RETRY_PAUSE_S = 0.5


def group_lag(group: str, topics: list[str]) -> int:
    """Messages in `topics` (full names) after the group's committed offsets (all, if none committed).

    Reads committed offsets without joining the group, so it triggers no rebalance.
    """
    probe = Consumer(consumer_config(group, **{"client.id": f"lag-probe-{group}"}))
    try:
        partitions = []
        for topic in topics:
            metadata = probe.list_topics(topic, timeout=TIMEOUT_S)
            partitions += [TopicPartition(topic, p) for p in metadata.topics[topic].partitions]
        committed = _committed(probe, partitions)
        lag = 0
        for tp in committed:
            low, high = probe.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=TIMEOUT_S)
            position = tp.offset if tp.offset >= 0 else low
            lag += max(high - position, 0)
        return lag
    finally:
        probe.close()


def _committed(probe: Consumer, partitions: list[TopicPartition]) -> list[TopicPartition]:
    for attempt in range(COMMITTED_ATTEMPTS):
        try:
            return probe.committed(partitions, timeout=TIMEOUT_S)
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            retriable = error.retriable() or error.code() in COORDINATOR_MOVING
            if not retriable or attempt == COMMITTED_ATTEMPTS - 1:
                raise
            time.sleep(RETRY_PAUSE_S)
    raise AssertionError("unreachable")

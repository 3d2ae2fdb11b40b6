"""How far a consumer group is behind the end of its topics (for ops and tests)."""

from functools import partial

from confluent_kafka import Consumer, TopicPartition

from realtime.kafka_config import consumer_config
from realtime.kafka_retry import retry_transient

TIMEOUT_S = 10.0


def group_lag(group: str, topics: list[str]) -> int:
    """Messages in `topics` (full names) after the group's committed offsets (all, if none committed).

    Reads committed offsets without joining the group, so it triggers no rebalance. A coordinator or
    leader still moving (right after the group first commits) is retried (realtime.kafka_retry).
    """
    probe = Consumer(consumer_config(group, **{"client.id": f"lag-probe-{group}"}))
    try:
        partitions = []
        for topic in topics:
            metadata = probe.list_topics(topic, timeout=TIMEOUT_S)
            partitions += [TopicPartition(topic, p) for p in metadata.topics[topic].partitions]
        committed = retry_transient(partial(probe.committed, partitions, timeout=TIMEOUT_S))
        lag = 0
        for tp in committed:
            low, high = retry_transient(
                partial(
                    probe.get_watermark_offsets, TopicPartition(tp.topic, tp.partition), timeout=TIMEOUT_S
                )
            )
            position = tp.offset if tp.offset >= 0 else low
            lag += max(high - position, 0)
        return lag
    finally:
        probe.close()

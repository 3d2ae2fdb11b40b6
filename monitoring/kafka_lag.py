"""Lag of every consumer group, per topic and partition, from the broker alone.

Committed offsets (what the group has finished) against each partition's end offset: measured
from outside the consumers, so a consumer that is stopped or stuck shows a growing lag instead of
no data. One AdminClient, three round trips per scrape (metadata, end offsets, one offsets request
per group, in parallel); nothing joins a group, so no rebalance is triggered.
"""

from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from realtime.kafka_config import admin_config, group_id

TIMEOUT_S = 5.0


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    lag: int


def _client() -> AdminClient:
    return AdminClient({**admin_config(), "log_level": 0})


def consumer_lags(groups: dict[str, list[str]], *, admin: AdminClient | None = None) -> list[PartitionLag]:
    """Lag per (group, topic, partition); `groups` maps a group name to the full topic names it reads.

    A group that never committed on a partition lags by everything still retained there.
    """
    admin = admin or _client()
    topics = sorted({t for names in groups.values() for t in names})
    if not topics:
        return []
    metadata = admin.list_topics(timeout=TIMEOUT_S)
    partitions = [
        TopicPartition(t, p) for t in topics if t in metadata.topics for p in metadata.topics[t].partitions
    ]
    if not partitions:
        return []
    ends = _offsets(admin, partitions, OffsetSpec.latest())
    starts = _offsets(admin, partitions, OffsetSpec.earliest())
    futures = {
        name: admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group_id(name), [tp for tp in partitions if tp.topic in reads])],
            request_timeout=TIMEOUT_S,
        )
        for name, reads in groups.items()
        if any(tp.topic in reads for tp in partitions)
    }
    lags: list[PartitionLag] = []
    for name, by_group in futures.items():
        result = next(iter(by_group.values())).result()
        for tp in result.topic_partitions:
            key = (tp.topic, tp.partition)
            if key not in ends:
                continue
            position = tp.offset if tp.offset >= 0 else starts.get(key, 0)
            lags.append(PartitionLag(name, tp.topic, tp.partition, max(ends[key] - position, 0)))
    return lags


def _offsets(
    admin: AdminClient, partitions: list[TopicPartition], spec: OffsetSpec
) -> dict[tuple[str, int], int]:
    """Offsets per partition; a partition without a leader right now (a new topic, a broker moving) is
    left out of this scrape rather than failing the others."""
    futures = admin.list_offsets({tp: spec for tp in partitions}, request_timeout=TIMEOUT_S)
    offsets: dict[tuple[str, int], int] = {}
    for tp, future in futures.items():
        try:
            offsets[(tp.topic, tp.partition)] = future.result().offset
        except KafkaException:
            continue
    return offsets

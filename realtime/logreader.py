"""Reading topics from the beginning up to "now" with no side effects (replay, audit, tests).

The reader assigns every partition itself at the earliest offset and stops at the high watermark
each partition had when reading started; it never commits offsets, so it changes nothing for any
consumer group.
"""

import uuid
from collections.abc import Iterator
from functools import partial

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from realtime.kafka_config import reader_config
from realtime.kafka_retry import retry_transient

METADATA_TIMEOUT_S = 10.0


def read_log(topics: list[str], *, reader: str, idle_timeout_s: float = 10.0) -> Iterator[Message]:
    """Yield every message of `topics` (full names) from the start up to the end seen at start.

    `reader` names the reader's own consumer group (prefixed; offsets are never committed).
    Raises TimeoutError if the broker sends nothing for `idle_timeout_s` while messages remain.
    """
    consumer = Consumer(reader_config(reader, **{"client.id": f"{reader}-{uuid.uuid4().hex[:8]}"}))
    try:
        ends: dict[tuple[str, int], int] = {}
        for topic in topics:
            metadata = consumer.list_topics(topic, timeout=METADATA_TIMEOUT_S)
            if metadata.topics[topic].error is not None:
                raise KafkaException(metadata.topics[topic].error)
            for partition in metadata.topics[topic].partitions:
                # Just after the topic is created its leader may still be elected: retried.
                low, high = retry_transient(
                    partial(
                        consumer.get_watermark_offsets,
                        TopicPartition(topic, partition),
                        timeout=METADATA_TIMEOUT_S,
                    )
                )
                if high > low:
                    ends[(topic, partition)] = high
        if not ends:
            return
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for (t, p) in ends])
        while ends:
            batch = consumer.consume(num_messages=1000, timeout=idle_timeout_s)
            if not batch:
                raise TimeoutError(f"log reader {reader}: no message for {idle_timeout_s}s, {len(ends)} left")
            for msg in batch:
                if msg.error():
                    raise KafkaException(msg.error())
                tp = (msg.topic() or "", msg.partition() or 0)
                end = ends.get(tp)
                if end is None:
                    continue
                offset = msg.offset() or 0
                if offset < end:
                    yield msg
                if offset >= end - 1:
                    del ends[tp]
    finally:
        consumer.close()

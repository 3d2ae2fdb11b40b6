"""librdkafka settings for every Kafka client of the backbone, read from Django settings."""

import socket
from typing import Any

from django.conf import settings


def group_id(group: str) -> str:
    """The broker-side consumer group id: prefixed like topics, so environments never share offsets."""
    return f"{settings.KAFKA_TOPIC_PREFIX}{group}"


def _common(client: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "client.id": f"mintdrop-{client}-{socket.gethostname()}",
    }


def admin_config() -> dict[str, Any]:
    return _common("admin")


def producer_config(client: str = "relay", **overrides: Any) -> dict[str, Any]:
    """An idempotent producer: acks from all in-sync replicas, no reordering or duplicates on retry."""
    return {
        **_common(client),
        "enable.idempotence": True,
        "acks": "all",
        # Retry until delivered: a message given up on would let a later one of the same key overtake it.
        "message.timeout.ms": 0,
        # A short linger keeps commit -> broker latency low while still batching under load.
        "linger.ms": 2,
        "batch.num.messages": 10000,
        "compression.type": "lz4",
        **overrides,
    }


def consumer_config(group: str, **overrides: Any) -> dict[str, Any]:
    """A consumer that commits only offsets stored after the database commit of their effect."""
    return {
        **_common(f"consumer-{group}"),
        "group.id": group_id(group),
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,
        "auto.commit.interval.ms": 1000,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
        **overrides,
    }


def reader_config(name: str, **overrides: Any) -> dict[str, Any]:
    """A side-effect-free log reader (replay, audit): assigns partitions itself and never commits."""
    return {
        **_common(name),
        "group.id": group_id(name),
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
        **overrides,
    }

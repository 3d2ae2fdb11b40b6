"""librdkafka settings for every Kafka client of the backbone, read from Django settings."""

import socket
from typing import Any

from django.conf import settings


def group_id(group: str) -> str:
    """The broker-side consumer group id: prefixed like topics, so environments never share offsets."""
    return f"{settings.KAFKA_TOPIC_PREFIX}{group}"


def security_config() -> dict[str, Any]:
    """SASL / TLS settings of a managed Kafka, from the environment; empty for the local cluster.

    Only what is set is passed, so librdkafka's defaults (PLAINTEXT, the system CA store) apply
    otherwise. A SASL mechanism without a protocol means SASL over TLS, what managed services offer.
    """
    conf: dict[str, Any] = {}
    protocol = settings.KAFKA_SECURITY_PROTOCOL.strip().upper()
    mechanism = settings.KAFKA_SASL_MECHANISM.strip().upper()
    if mechanism and not protocol:
        protocol = "SASL_SSL"
    if protocol:
        conf["security.protocol"] = protocol
    if protocol.startswith("SASL"):
        conf["sasl.mechanism"] = mechanism or "PLAIN"
        if settings.KAFKA_SASL_USERNAME:
            conf["sasl.username"] = settings.KAFKA_SASL_USERNAME
            conf["sasl.password"] = settings.KAFKA_SASL_PASSWORD
    if protocol.endswith("SSL") and settings.KAFKA_SSL_CA_LOCATION:
        conf["ssl.ca.location"] = settings.KAFKA_SSL_CA_LOCATION
    return conf


def _common(client: str) -> dict[str, Any]:
    return {
        # Every broker: any one of them answering is enough to find the rest of the cluster.
        "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "client.id": f"mintdrop-{client}-{socket.gethostname()}",
        **security_config(),
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
        # Scaling out by partition: a process joining or leaving the group moves only the
        # partitions that change owner; the others keep being consumed during the rebalance.
        # The runner's assign/revoke callbacks therefore get deltas, not the whole assignment.
        "partition.assignment.strategy": "cooperative-sticky",
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

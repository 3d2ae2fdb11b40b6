"""Compare the declared topics (`realtime.topics.TOPICS`) with the broker, and bring the broker in line.

Besides each topic's own settings, every topic must have `KAFKA_REPLICATION_FACTOR` copies of each
partition and `min.insync.replicas = KAFKA_MIN_INSYNC_REPLICAS` (3 and 2 on a 3-broker cluster). A
wrong `min.insync.replicas` is fixed by `--apply`; a wrong replication factor is reported (Kafka
changes it only by a partition reassignment, which this command does not do).
"""

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)
from django.conf import settings

from realtime.kafka_config import admin_config
from realtime.topics import TOPICS, Topic

log = logging.getLogger(__name__)

TIMEOUT_S = 15.0
REASSIGN_HINT = (
    "Kafka changes it only by reassigning partitions (kafka-reassign-partitions, or java -cp "
    "'.local/tools/kafka/libs/*' org.apache.kafka.tools.reassign.ReassignPartitionsCommand), "
    "or delete and re-create the topic"
)


def wanted_config(topic: Topic) -> dict[str, str]:
    """The topic's own settings plus the cluster-wide durability one (how many replicas ack a write)."""
    return {"min.insync.replicas": str(settings.KAFKA_MIN_INSYNC_REPLICAS), **topic.broker_config()}


@dataclass
class TopicPlan:
    """What must change for one topic: create it, add partitions, set configs; or nothing."""

    topic: Topic
    create: bool = False
    add_partitions_to: int | None = None
    config_changes: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.create or self.add_partitions_to is not None or bool(self.config_changes)

    @property
    def ok(self) -> bool:
        """Broker and declaration agree: nothing to apply and nothing `--apply` cannot fix."""
        return not self.changed and not self.warnings

    def describe(self) -> list[str]:
        """Human-readable lines: the difference between declaration and broker."""
        name = self.topic.full_name
        if self.create:
            configs = ", ".join(f"{k}={v}" for k, v in sorted(wanted_config(self.topic).items()))
            rf = settings.KAFKA_REPLICATION_FACTOR
            return [
                f"+ {name}: create with {self.topic.partitions} partitions, replication factor {rf} ({configs})",
                *[f"! {name}: {w}" for w in self.warnings],
            ]
        lines = []
        if self.add_partitions_to is not None:
            lines.append(f"~ {name}: partitions -> {self.add_partitions_to}")
        for key, (old, new) in sorted(self.config_changes.items()):
            lines.append(f"~ {name}: {key} {old} -> {new}")
        lines += [f"! {name}: {w}" for w in self.warnings]
        return lines or [f"= {name}: up to date"]


def _admin() -> AdminClient:
    return AdminClient(admin_config())


def plan(admin: AdminClient | None = None, topics: tuple[Topic, ...] = TOPICS) -> list[TopicPlan]:
    """The difference between `topics` and what the broker has, one plan per topic."""
    admin = admin or _admin()
    metadata = admin.list_topics(timeout=TIMEOUT_S)
    plans = []
    existing = [t for t in topics if t.full_name in metadata.topics]
    current = _current_configs(admin, existing)
    rf = settings.KAFKA_REPLICATION_FACTOR
    brokers = len(metadata.brokers)
    for topic in topics:
        item = TopicPlan(topic)
        meta = metadata.topics.get(topic.full_name)
        if meta is None:
            item.create = True
            if brokers < rf:
                item.warnings.append(
                    f"cannot be created with replication factor {rf} (KAFKA_REPLICATION_FACTOR): "
                    f"only {brokers} broker(s) in the cluster"
                )
        else:
            item.warnings += _replication_problems(meta, rf)
            have = len(meta.partitions)
            if have < topic.partitions:
                item.add_partitions_to = topic.partitions
            elif have > topic.partitions:
                item.warnings.append(
                    f"has {have} partitions, declared {topic.partitions}; Kafka cannot shrink"
                )
            for key, want in wanted_config(topic).items():
                old = current[topic.full_name].get(key)
                if old != want:
                    item.config_changes[key] = (old, want)
        plans.append(item)
    return plans


def _replication_problems(meta: Any, rf: int) -> list[str]:
    """What is wrong with a topic's replicas: too few / too many copies, copies out of sync."""
    problems = []
    copies = sorted({len(p.replicas) for p in meta.partitions.values()})
    if copies != [rf]:
        have = "/".join(str(c) for c in copies)
        problems.append(
            f"replication factor {have}, declared {rf} (KAFKA_REPLICATION_FACTOR); {REASSIGN_HINT}"
        )
    isr = settings.KAFKA_MIN_INSYNC_REPLICAS
    if copies and min(copies) < isr:
        problems.append(
            f"fewer replicas ({min(copies)}) than min.insync.replicas {isr} (KAFKA_MIN_INSYNC_REPLICAS): "
            "every acks=all write to it fails"
        )
    lagging = sorted(p.id for p in meta.partitions.values() if len(p.isrs) < len(p.replicas))
    if lagging:
        problems.append(
            f"under-replicated partition(s) {', '.join(map(str, lagging))}: "
            "fewer replicas in sync than assigned (a broker is down or behind)"
        )
    return problems


def _current_configs(admin: AdminClient, topics: list[Topic]) -> dict[str, dict[str, str | None]]:
    if not topics:
        return {}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, t.full_name) for t in topics]
    result: dict[str, dict[str, str | None]] = {}
    for resource, future in admin.describe_configs(resources).items():
        entries = future.result(timeout=TIMEOUT_S)
        result[resource.name] = {name: entry.value for name, entry in entries.items()}
    return result


def apply(plans: list[TopicPlan], admin: AdminClient | None = None) -> None:
    """Create missing topics, add partitions and set configs; safe to run again (idempotent)."""
    admin = admin or _admin()
    to_create = [
        NewTopic(
            p.topic.full_name,
            num_partitions=p.topic.partitions,
            replication_factor=settings.KAFKA_REPLICATION_FACTOR,
            config=wanted_config(p.topic),
        )
        for p in plans
        if p.create
    ]
    if to_create:
        for name, future in admin.create_topics(to_create, operation_timeout=TIMEOUT_S).items():
            try:
                future.result(timeout=TIMEOUT_S)
            except KafkaException as exc:
                # Another process created it between plan and apply: that is the state we want.
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise RuntimeError(f"cannot create topic {name}: {exc}") from exc
    grow = [NewPartitions(p.topic.full_name, p.add_partitions_to) for p in plans if p.add_partitions_to]
    if grow:
        for future in admin.create_partitions(grow, operation_timeout=TIMEOUT_S).values():
            future.result(timeout=TIMEOUT_S)
    alter = []
    for p in plans:
        if p.config_changes and not p.create:
            resource = ConfigResource(ConfigResource.Type.TOPIC, p.topic.full_name)
            for key, (_, value) in p.config_changes.items():
                resource.add_incremental_config(
                    ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
                )
            alter.append(resource)
    if alter:
        for future in admin.incremental_alter_configs(alter).values():
            future.result(timeout=TIMEOUT_S)


def ensure_topics(topics: tuple[Topic, ...] = TOPICS) -> list[TopicPlan]:
    """Plan and apply in one call (what tests and `kafka_topics --apply` use); returns the plan."""
    admin = _admin()
    plans = plan(admin, topics)
    if any(p.changed for p in plans):
        apply(plans, admin)
    return plans


def wait_for_topics(
    *, stop: threading.Event | None = None, max_backoff_s: float = 10.0
) -> list[TopicPlan] | None:
    """`ensure_topics()`, waiting while the cluster cannot be reached (or cannot hold the topics yet).

    A process started before its brokers waits here, saying why in its log, instead of exiting into
    a restart loop (honcho would take every other process down with it). Returns None if `stop`
    was set while waiting.
    """
    delay = 0.5
    while True:
        try:
            return ensure_topics()
        # TimeoutError: an admin request's future not answered in time. The chaos suite found it:
        # a consumer restarted while a partition leader was down got its metadata, then no answer
        # to describe_configs, and exited (which would take a honcho stack down with it).
        except (KafkaException, RuntimeError, TimeoutError) as exc:
            log.warning(
                "kafka: not ready at %s (%s); waiting for Kafka, next try in %.1fs",
                settings.KAFKA_BOOTSTRAP_SERVERS,
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                delay,
            )
        if stop is not None:
            if stop.wait(delay):
                return None
        else:
            threading.Event().wait(delay)
        delay = min(delay * 2, max_backoff_s)

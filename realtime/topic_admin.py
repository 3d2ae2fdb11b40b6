"""Compare the declared topics (`realtime.topics.TOPICS`) with the broker, and bring the broker in line."""

from dataclasses import dataclass, field

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

TIMEOUT_S = 15.0


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

    def describe(self) -> list[str]:
        """Human-readable lines: the difference between declaration and broker."""
        name = self.topic.full_name
        if self.create:
            configs = ", ".join(f"{k}={v}" for k, v in sorted(self.topic.broker_config().items()))
            return [f"+ {name}: create with {self.topic.partitions} partitions ({configs})"]
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
    for topic in topics:
        item = TopicPlan(topic)
        meta = metadata.topics.get(topic.full_name)
        if meta is None:
            item.create = True
        else:
            have = len(meta.partitions)
            if have < topic.partitions:
                item.add_partitions_to = topic.partitions
            elif have > topic.partitions:
                item.warnings.append(
                    f"has {have} partitions, declared {topic.partitions}; Kafka cannot shrink"
                )
            for key, want in topic.broker_config().items():
                old = current[topic.full_name].get(key)
                if old != want:
                    item.config_changes[key] = (old, want)
        plans.append(item)
    return plans


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
            config=p.topic.broker_config(),
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

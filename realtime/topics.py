"""Topics as code: every Kafka topic, its partitions and retention, and which aggregates feed it.

An event's topic follows from its schema's `x-aggregate`; its key is the aggregate id, so all
events of one drop (or one order) land in one partition, in order.
"""

from dataclasses import dataclass, field

from django.conf import settings

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    aggregates: tuple[str, ...]
    retention_ms: int = -1  # -1 = keep forever: the log is the replayable history
    cleanup_policy: str = "delete"
    config: dict[str, str] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        """The name on the broker, with the environment's prefix."""
        return f"{settings.KAFKA_TOPIC_PREFIX}{self.name}"


TOPICS: tuple[Topic, ...] = (
    Topic("drops", partitions=6, aggregates=("drop",)),
    Topic("orders", partitions=6, aggregates=("order",)),
    Topic("chain", partitions=1, aggregates=("chain",)),
    Topic("shows", partitions=3, aggregates=("show",)),
    Topic("diagnostics", partitions=3, aggregates=("diagnostics",), retention_ms=7 * DAY_MS),
    Topic("deadletter", partitions=1, aggregates=(), retention_ms=30 * DAY_MS),
)

_BY_AGGREGATE = {aggregate: topic for topic in TOPICS for aggregate in topic.aggregates}


def topic_for_aggregate(aggregate: str) -> Topic:
    """The topic that carries events of `aggregate`."""
    try:
        return _BY_AGGREGATE[aggregate]
    except KeyError:
        raise LookupError(f"no topic declared for aggregate {aggregate!r} in realtime/topics.py") from None


def dead_letter_topic() -> Topic:
    return next(t for t in TOPICS if t.name == "deadletter")

"""Topics as code: every Kafka topic, its partitions, retention and cleanup policy, and which aggregates feed it.

An event's topic follows from its schema's `x-aggregate`; its key is the aggregate id, so all
events of one drop (or one order) land in one partition, in order. `manage.py kafka_topics`
compares this list with the broker and (with `--apply`) creates or updates what differs.
"""

from dataclasses import dataclass, field

from django.conf import settings

HOUR_MS = 60 * 60 * 1000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    aggregates: tuple[str, ...]
    retention_ms: int = -1  # -1 = keep forever: the log is the replayable history
    cleanup_policy: str = "delete"
    config: dict[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def full_name(self) -> str:
        """The name on the broker, with the environment's prefix."""
        return f"{settings.KAFKA_TOPIC_PREFIX}{self.name}"

    def broker_config(self) -> dict[str, str]:
        """The topic-level settings we own on the broker (anything else keeps the broker default)."""
        return {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": self.cleanup_policy,
            **self.config,
        }


TOPICS: tuple[Topic, ...] = (
    Topic(
        "drops",
        partitions=6,
        aggregates=("drop",),
        description="Drop lifecycle and stock changes (inventory.*), keyed by drop id.",
    ),
    Topic(
        "orders",
        partitions=6,
        aggregates=("order", "redemption"),
        description="Orders, payments, shipments and NFT mints, keyed by order id (`redemption-<id>` for redemptions).",
    ),
    Topic(
        "wallets",
        partitions=3,
        aggregates=("wallet",),
        description="Activity of watched wallets (transfers, approvals), keyed by wallet address.",
    ),
    Topic(
        "merchants",
        partitions=3,
        aggregates=("merchant",),
        description="Seller applications, Connect accounts and fee plans, keyed by merchant id (`application-<id>`).",
    ),
    Topic("chain", partitions=1, aggregates=("chain",), description="Chain-level facts such as reorgs."),
    Topic("shows", partitions=3, aggregates=("show",), description="Live show events, keyed by show id."),
    Topic(
        "diagnostics",
        partitions=3,
        aggregates=("diagnostics",),
        retention_ms=7 * DAY_MS,
        description="Pipeline probes (diagnostics.ping); no business meaning.",
    ),
    Topic(
        "deadletter",
        partitions=1,
        aggregates=(),
        retention_ms=30 * DAY_MS,
        description="Messages a consumer group could not process, with the error in headers.",
    ),
)

_BY_AGGREGATE = {aggregate: topic for topic in TOPICS for aggregate in topic.aggregates}


def topic_for_aggregate(aggregate: str) -> Topic:
    """The topic that carries events of `aggregate`."""
    try:
        return _BY_AGGREGATE[aggregate]
    except KeyError:
        raise LookupError(f"no topic declared for aggregate {aggregate!r} in realtime/topics.py") from None


def topic_named(name: str) -> Topic:
    """The declared topic called `name` (without prefix)."""
    try:
        return next(t for t in TOPICS if t.name == name)
    except StopIteration:
        raise LookupError(f"no topic named {name!r} in realtime/topics.py") from None


def dead_letter_topic() -> Topic:
    return topic_named("deadletter")

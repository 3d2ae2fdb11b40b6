"""System-wide gauges computed when Prometheus scrapes the `monitor` process (never per request).

Each source is a few indexed queries (partial indexes in monitoring/migrations and the apps' own)
or one broker / node round trip. A failing source is reported as `mintdrop_monitor_source_up{source}
0` and the others still answer. The `monitor` process is the only one that registers this
collector, so every series exists once whatever the number of web workers or consumers.
"""

import json
import logging
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import timedelta

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

Metric = GaugeMetricFamily
Source = Callable[[], Iterable[Metric]]


def _age(oldest: object) -> float:
    return max((timezone.now() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0  # type: ignore[operator]


def known_groups() -> dict[str, list[str]]:
    """Every consumer group (handler groups and the live projector) -> the full topic names it reads."""
    from realtime import registry
    from realtime.consumer import topics_for_group
    from realtime.topics import topic_for_aggregate
    from realtime.ws.projector import GROUP, TOPIC_AGGREGATES

    groups = {name: topics_for_group(name) for name in registry.groups()}
    groups[GROUP] = sorted({topic_for_aggregate(a).full_name for a in TOPIC_AGGREGATES})
    return groups


# --- sources -------------------------------------------------------------------------------------
def outbox() -> Iterator[Metric]:
    from realtime.relay import backlog

    count, oldest = backlog()
    row = {"n": count, "oldest": oldest}
    yield Metric("mintdrop_outbox_unpublished", "Outbox rows not yet published to Kafka.", value=row["n"])
    yield Metric(
        "mintdrop_outbox_oldest_unpublished_age_seconds",
        "Age of the oldest unpublished outbox row (0 when none).",
        value=_age(row["oldest"]),
    )


def dead_letters() -> Iterator[Metric]:
    from realtime.models import DeadLetter

    stored = Metric(
        "mintdrop_dead_letters_stored", "Dead letters recorded, by consumer group.", labels=["group"]
    )
    waiting = Metric(
        "mintdrop_dead_letters_unredriven",
        "Dead letters never re-driven, by consumer group.",
        labels=["group"],
    )
    rows = DeadLetter.objects.values("group").annotate(
        n=Count("pk"), open=Count("pk", filter=Q(redriven_at=None))
    )
    counts = {row["group"]: (row["n"], row["open"]) for row in rows.order_by()}
    # Every known group from 0, so the first dead letter is an increase (DeadLettersGrowing).
    for group in sorted(set(known_groups()) | set(counts)):
        n, still_open = counts.get(group, (0, 0))
        stored.add_metric([group], n)
        waiting.add_metric([group], still_open)
    yield stored
    yield waiting


def sagas() -> Iterator[Metric]:
    from commerce.payments.models import MintStatus, OrderSaga, SagaLine, SagaState

    deadline = timezone.now() - timedelta(seconds=settings.MONITOR_SAGA_STUCK_AFTER_SECONDS)
    stuck = Metric(
        "mintdrop_sagas_stuck",
        "Sagas waiting on the system past MONITOR_SAGA_STUCK_AFTER_SECONDS: a mint not confirmed, a refund not done.",
        labels=["reason"],
    )
    mints = (
        SagaLine.objects.filter(mint_status=MintStatus.REQUESTED, mint_requested_at__lt=deadline)
        .values("order_id")
        .distinct()
        .count()
    )
    refunds = OrderSaga.objects.filter(state=SagaState.REFUNDING, updated_at__lt=deadline).count()
    stuck.add_metric(["mint"], mints)
    stuck.add_metric(["refund"], refunds)
    yield stuck


def transactions() -> Iterator[Metric]:
    from nft.models import ChainTransaction
    from nft.models.chain import TxStatus

    by_status = Metric(
        "mintdrop_chain_transactions",
        "Our chain transactions by status (not yet final ones).",
        labels=["status"],
    )
    watched = [TxStatus.SIGNED, TxStatus.SUBMITTED, TxStatus.INCLUDED]
    counts = dict(
        ChainTransaction.objects.filter(chain_id=settings.CHAIN_ID, status__in=[*watched, TxStatus.REPLACED])
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for status in [*watched, TxStatus.REPLACED]:
        by_status.add_metric([status.value], counts.get(status.value, 0))
    yield by_status
    cutoff = timezone.now() - timedelta(seconds=settings.NFT_STUCK_AFTER_SECONDS)
    unmined = ChainTransaction.objects.filter(
        chain_id=settings.CHAIN_ID, status__in=[TxStatus.SIGNED, TxStatus.SUBMITTED]
    )
    row = unmined.aggregate(
        oldest=Min("created_at"),
        stuck=Count("pk", filter=Q(created_at__lt=cutoff)),
    )
    yield Metric(
        "mintdrop_chain_transactions_stuck",
        "Unmined transactions signed more than NFT_STUCK_AFTER_SECONDS ago.",
        value=row["stuck"],
    )
    yield Metric(
        "mintdrop_chain_oldest_unmined_age_seconds",
        "Age of the oldest signed but unmined transaction (0 when none).",
        value=_age(row["oldest"]),
    )


def chain_head() -> Iterator[Metric]:
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": ["latest", False]}
    )
    request = urllib.request.Request(  # noqa: S310  (the node URL comes from settings)
        settings.CHAIN_RPC_URL, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=settings.HEALTH_CHECK_TIMEOUT) as response:  # noqa: S310
        block = json.load(response)["result"]
    yield Metric(
        "mintdrop_chain_head_block", "The node's latest block number.", value=int(block["number"], 16)
    )
    yield Metric(
        "mintdrop_chain_head_age_seconds",
        "Seconds since the node's latest block was produced (a stalled chain keeps growing it).",
        value=max(time.time() - int(block["timestamp"], 16), 0.0),
    )


def celery_queues() -> Iterator[Metric]:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=settings.HEALTH_CHECK_TIMEOUT)
    try:
        depth = Metric("mintdrop_celery_queue_length", "Tasks waiting in a Celery queue.", labels=["queue"])
        for queue in settings.MONITOR_CELERY_QUEUES:
            depth.add_metric([queue], client.llen(queue))
        yield depth
    finally:
        client.close()


def notifications() -> Iterator[Metric]:
    from notifications.models import EmailStatus, OutgoingEmail

    outstanding = Metric(
        "mintdrop_notifications_outstanding", "E-mails waiting to be sent or given up on.", labels=["status"]
    )
    counts = dict(
        OutgoingEmail.objects.filter(status__in=[EmailStatus.PENDING, EmailStatus.DEAD])
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for status in (EmailStatus.PENDING, EmailStatus.DEAD):
        outstanding.add_metric([status.value], counts.get(status.value, 0))
    yield outstanding


def consumer_lag() -> Iterator[Metric]:
    from monitoring.kafka_lag import consumer_lags

    groups = known_groups()
    lag = Metric(
        "mintdrop_consumer_lag_messages",
        "Messages after a consumer group's committed offset, per topic and partition.",
        labels=["group", "topic", "partition"],
    )
    for row in consumer_lags(groups):
        lag.add_metric(
            [row.group, row.topic.removeprefix(settings.KAFKA_TOPIC_PREFIX), str(row.partition)], row.lag
        )
    yield lag


SOURCES: dict[str, Source] = {
    "outbox": outbox,
    "dead_letters": dead_letters,
    "sagas": sagas,
    "transactions": transactions,
    "notifications": notifications,
    "chain": chain_head,
    "celery": celery_queues,
    "kafka": consumer_lag,
}


class SystemCollector(Collector):
    """Runs every source on each scrape; a source that fails is reported down, not raised."""

    def __init__(self, sources: Mapping[str, Source] | None = None) -> None:
        self.sources = sources or SOURCES

    def collect(self) -> Iterator[Metric]:
        up = Metric("mintdrop_monitor_source_up", "1 if the source answered this scrape.", labels=["source"])
        took = Metric(
            "mintdrop_monitor_source_seconds", "Time the source took this scrape.", labels=["source"]
        )
        try:
            for name, source in self.sources.items():
                started = time.perf_counter()
                try:
                    metrics = list(source())
                except Exception as exc:
                    log.warning("monitor: source %s failed: %s", name, exc)
                    up.add_metric([name], 0)
                    if name != "kafka":
                        connection.close()  # a broken session must not poison the next source
                else:
                    up.add_metric([name], 1)
                    yield from metrics
                took.add_metric([name], time.perf_counter() - started)
        finally:
            # The exporter answers each scrape in a new thread: close that thread's DB session.
            connection.close()
        yield up
        yield took

    def describe(self) -> Iterable[Metric]:
        return []  # computed on scrape only; registering must not run the queries

"""Reads behind the ops page (monitoring/admin.py): the same figures the monitor exports, as rows."""

import json
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from config.dependencies import ProbeResult, probe_all

ROW_LIMIT = 50


@dataclass
class GroupLag:
    group: str
    total: int
    partitions: list[tuple[str, int, int]] = field(default_factory=list)  # (topic, partition, lag)


def dependencies() -> list[ProbeResult]:
    """Health of PostgreSQL, Redis, Kafka, the chain, Stripe and the mail server (as /readyz)."""
    return probe_all()


def consumer_lag() -> tuple[list[GroupLag], str]:
    """Lag per consumer group (with its partitions), or an error message when Kafka does not answer."""
    from monitoring.collectors import known_groups
    from monitoring.kafka_lag import consumer_lags

    try:
        rows = consumer_lags(known_groups())
    except Exception as exc:  # the page must render with Kafka down
        return [], f"{type(exc).__name__}: {exc}"
    groups: dict[str, GroupLag] = {}
    for row in rows:
        entry = groups.setdefault(row.group, GroupLag(row.group, 0))
        entry.total += row.lag
        topic = row.topic.removeprefix(settings.KAFKA_TOPIC_PREFIX)
        entry.partitions.append((topic, row.partition, row.lag))
    return sorted(groups.values(), key=lambda g: (-g.total, g.group)), ""


def outbox_backlog() -> dict[str, Any]:

    from realtime.relay import backlog

    count, oldest = backlog()
    row = {"n": count, "oldest": oldest}
    age = (timezone.now() - row["oldest"]).total_seconds() if row["oldest"] else 0.0
    return {"count": row["n"], "oldest_age_seconds": round(age, 1)}


def open_dead_letters() -> list[Any]:
    from realtime.models import DeadLetter

    return list(DeadLetter.objects.filter(redriven_at__isnull=True).order_by("-failed_at")[:ROW_LIMIT])


def stuck_sagas() -> list[dict[str, Any]]:
    """Orders whose saga waits on us past MONITOR_SAGA_STUCK_AFTER_SECONDS (mint or refund)."""
    from commerce.payments.models import MintStatus, OrderSaga, SagaLine, SagaState

    deadline = timezone.now() - timedelta(seconds=settings.MONITOR_SAGA_STUCK_AFTER_SECONDS)
    mint_orders = set(
        SagaLine.objects.filter(mint_status=MintStatus.REQUESTED, mint_requested_at__lt=deadline).values_list(
            "order_id", flat=True
        )[:ROW_LIMIT]
    )
    sagas = OrderSaga.objects.filter(
        Q(order_id__in=mint_orders) | Q(state=SagaState.REFUNDING, updated_at__lt=deadline)
    ).order_by("updated_at")[:ROW_LIMIT]
    return [
        {
            "order_id": s.order_id,
            "state": s.state,
            "reason": "mint not confirmed" if s.order_id in mint_orders else "refund not done",
            "since": s.updated_at,
        }
        for s in sagas
    ]


def stuck_transactions() -> list[Any]:
    """Our transactions signed more than NFT_STUCK_AFTER_SECONDS ago and still not mined."""
    from nft.models import ChainTransaction, TxStatus

    cutoff = timezone.now() - timedelta(seconds=settings.NFT_STUCK_AFTER_SECONDS)
    return list(
        ChainTransaction.objects.filter(
            chain_id=settings.CHAIN_ID,
            status__in=[TxStatus.SIGNED, TxStatus.SUBMITTED],
            created_at__lt=cutoff,
        ).order_by("created_at")[:ROW_LIMIT]
    )


def firing_alerts() -> tuple[list[dict[str, Any]], str]:
    """Alerts Prometheus reports firing now, or why they could not be read."""
    url = settings.PROMETHEUS_URL.rstrip("/") + "/api/v1/alerts"
    try:
        with urllib.request.urlopen(url, timeout=settings.HEALTH_CHECK_TIMEOUT) as response:  # noqa: S310
            alerts = json.load(response)["data"]["alerts"]
    except Exception as exc:
        return [], f"Prometheus at {settings.PROMETHEUS_URL} did not answer ({type(exc).__name__})"
    return [a for a in alerts if a.get("state") == "firing"], ""

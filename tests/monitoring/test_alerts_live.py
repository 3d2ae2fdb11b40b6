"""Alert conditions made real on the real services, read back from Prometheus's own /api/v1/alerts.

A test-only Prometheus (tests/monitoring/prom.py) scrapes this process every second: the monitor's
system collector (outbox, dead letters, consumer lag, against the test database and this test's
Kafka topics) and this process's own counters. Rules are the repository's, `for:` shortened.
Alerts whose condition cannot be made here (a stalled chain, a stuck saga, a refusal spike, a
transaction stuck for minutes) have `promtool test rules` cases (test_rules.py).
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from realtime.models import DeadLetter, OutboxEvent
from tests.monitoring.prom import TestPrometheus
from tests.realtime.conftest import wait_for
from tests.realtime.helpers import ConsumerThread, emit_pings
from tests.realtime.test_consumer import produce_raw, relay_all

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _value(prom: TestPrometheus, expr: str) -> float | None:
    result = prom.query(expr)
    return float(result[0]["value"][1]) if result else None


def test_a_stopped_consumer_fires_consumer_lagging(prometheus: TestPrometheus, kafka_prefix: str) -> None:
    emit_pings(5, keys=5)
    relay_all()
    with ConsumerThread("diagnostics") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="the consumer to catch up")
        consumer.stop()
    # Prometheus sees the caught-up group (lag 0) and no alert for it.
    lag = 'sum(mintdrop_consumer_lag_messages{group="diagnostics"})'
    prometheus.wait(lambda: _value(prometheus, lag) == 0, what="lag 0 scraped")
    assert not prometheus.firing("ConsumerLagging", group="diagnostics")

    # The consumer is stopped; events keep coming.
    emit_pings(7, keys=3, start=100)
    relay_all()
    prometheus.wait(lambda: _value(prometheus, lag) == 7, what="lag 7 scraped")
    alert = prometheus.wait(
        lambda: prometheus.firing("ConsumerLagging", group="diagnostics"), what="ConsumerLagging to fire"
    )[0]
    assert (
        alert["annotations"]["summary"] == "Consumer group diagnostics is not catching up (7 messages behind)"
    )

    # Restarted, it drains the lag and the alert resolves.
    with ConsumerThread("diagnostics") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="the consumer to catch up again")
        consumer.stop()
    prometheus.wait(
        lambda: (
            not prometheus.alerts("ConsumerLagging")
            or not prometheus.firing("ConsumerLagging", group="diagnostics")
        ),
        what="ConsumerLagging to resolve",
    )


def test_events_the_relay_does_not_publish_fire_outbox_stale(prometheus: TestPrometheus) -> None:
    emit_pings(3, keys=1)
    age = "mintdrop_outbox_oldest_unpublished_age_seconds"
    prometheus.wait(
        lambda: (_value(prometheus, "mintdrop_outbox_unpublished") or 0) >= 3, what="backlog scraped"
    )
    assert not prometheus.firing("OutboxStale")
    # No relay runs: the rows stay unpublished. Ten minutes of that, without waiting ten minutes.
    OutboxEvent.objects.filter(published_at__isnull=True).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    prometheus.wait(lambda: (_value(prometheus, age) or 0) >= 600, what="the backlog's age scraped")
    alert = prometheus.wait(lambda: prometheus.firing("OutboxStale"), what="OutboxStale to fire")[0]
    assert alert["labels"]["severity"] == "page"

    # The relay publishes them: the age drops to 0 and the alert resolves.
    relay_all()
    prometheus.wait(lambda: _value(prometheus, age) == 0, what="age 0 scraped")
    prometheus.wait(lambda: not prometheus.firing("OutboxStale"), what="OutboxStale to resolve")


def test_a_poison_message_fires_dead_letters_growing(prometheus: TestPrometheus, kafka_prefix: str) -> None:
    stored = 'mintdrop_dead_letters_stored{group="diagnostics"}'
    prometheus.wait(lambda: _value(prometheus, stored) == 0, what="no dead letters scraped")
    assert not prometheus.firing("DeadLettersGrowing", group="diagnostics")

    produce_raw([("k0", b"{not json")])
    with ConsumerThread("diagnostics") as consumer:
        wait_for(lambda: DeadLetter.objects.filter(group="diagnostics").exists(), what="a dead letter")
        consumer.stop()

    prometheus.wait(lambda: _value(prometheus, stored) == 1, what="one dead letter scraped")
    alert = prometheus.wait(
        lambda: prometheus.firing("DeadLettersGrowing", group="diagnostics"),
        what="DeadLettersGrowing to fire",
    )[0]
    assert alert["labels"]["severity"] == "ticket"
    # The consumer counted it too, with the error code.
    assert (
        _value(prometheus, 'mintdrop_dead_letters_total{group="diagnostics",code="invalid_event"}') or 0
    ) >= 1


def test_bad_webhook_signatures_fire_webhook_signature_failures(prometheus: TestPrometheus) -> None:
    failures = 'sum(mintdrop_webhook_events_total{outcome="invalid_signature"})'
    prometheus.wait(lambda: _value(prometheus, failures) is not None, what="the webhook counter scraped")
    before = _value(prometheus, failures) or 0
    assert not prometheus.firing("WebhookSignatureFailures")

    client = Client()
    for i in range(6):
        response = client.post(
            "/webhooks/stripe/",
            data=b'{"id": "evt_forged_%d", "type": "payment_intent.succeeded"}' % i,
            content_type="application/json",
            headers={"Stripe-Signature": f"t=1700000000,v1={'0' * 64}"},
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_signature"

    prometheus.wait(lambda: (_value(prometheus, failures) or 0) >= before + 6, what="six failures scraped")
    alert = prometheus.wait(
        lambda: prometheus.firing("WebhookSignatureFailures"), what="WebhookSignatureFailures to fire"
    )[0]
    assert alert["labels"]["severity"] == "ticket"

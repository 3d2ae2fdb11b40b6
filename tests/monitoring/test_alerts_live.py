"""Alert conditions made real on the real services, read back from Prometheus's own /api/v1/alerts.

A test-only Prometheus (tests/monitoring/prom.py) scrapes this process every second: the monitor's
system collector (outbox, dead letters, consumer lag, against the test database and this test's
Kafka topics) and this process's own counters. Rules are the repository's, `for:` shortened.
Alerts whose condition cannot be made here in test time (a chain stalled for minutes, a saga stuck
for half an hour, a refusal spike over 5 minutes, a high lag over 10,000) have `promtool test rules`
cases only (test_rules.py); every alert has one.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from nft.chain import _fee_cache
from nft.models import ChainTransaction, Mint, MintStatus, TxStatus
from nft.services.mints import request_mint, send_mint
from nft.services.transactions import replace_stuck
from realtime.models import DeadLetter, OutboxEvent
from tests.monitoring.prom import TestPrometheus
from tests.nft.conftest import mine
from tests.nft.helpers import BUYER
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

    # Restarted, it drains the lag (counted as processed) and the alert resolves.
    processed = 'mintdrop_consumer_events_total{group="diagnostics",outcome="processed"}'
    before = _value(prometheus, processed) or 0
    with ConsumerThread("diagnostics") as consumer:
        wait_for(lambda: consumer.lag() == 0, what="the consumer to catch up again")
        consumer.stop()
    prometheus.wait(
        lambda: not prometheus.firing("ConsumerLagging", group="diagnostics"),
        what="ConsumerLagging to resolve",
    )
    prometheus.wait(lambda: _value(prometheus, processed) == before + 7, what="7 processed counted")


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

    # The relay publishes them (and counts them): the age drops to 0 and the alert resolves.
    published = _value(prometheus, "mintdrop_relay_published_total") or 0
    relay_all()
    prometheus.wait(
        lambda: _value(prometheus, "mintdrop_relay_published_total") == published + 3, what="3 published"
    )
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
    # The consumer counted it too, with the error code. One scrape reads this process's counters
    # before the collector's DB query, so the stored row can be seen a scrape before the count.
    counted = 'mintdrop_dead_letters_total{group="diagnostics",code="invalid_event"}'
    prometheus.wait(lambda: (_value(prometheus, counted) or 0) >= 1, what="the dead letter counted")


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


def test_an_underpriced_transaction_fires_chain_transaction_stuck(
    prometheus: TestPrometheus,
    chain: Any,
    collection: Any,
    confirm_until: Any,
    settings: Any,
    automine_guard: None,
) -> None:
    """The issue's example: a mint sent with fees the network has since outgrown stays unmined."""
    settings.CHAIN_CONFIRMATIONS = 2
    unmined = ChainTransaction.objects.filter(status__in=[TxStatus.SIGNED, TxStatus.SUBMITTED])
    confirm_until(lambda: not unmined.exists())  # the collection's deploy is mined and recorded
    settings.NFT_STUCK_AFTER_SECONDS = 1.0  # "stuck" after a second here (90 s by default)
    stuck = "mintdrop_chain_transactions_stuck"
    prometheus.wait(lambda: _value(prometheus, stuck) == 0, what="no stuck transaction scraped")
    assert not prometheus.firing("ChainTransactionStuck")

    chain.rpc("evm_setAutomine", [False])
    _fee_cache.clear()
    base = chain.base_fee()
    settings.NFT_MAX_FEE_PER_GAS_WEI = base + settings.NFT_PRIORITY_FEE_WEI + 1  # a tight cap: low fees
    mint = request_mint(order_id=91, line_id=9101, collection=collection, to_address=BUYER, token_id=9101)
    send_mint(mint_id=mint.pk)
    old = ChainTransaction.objects.get(mint=mint)
    assert old.status == TxStatus.SUBMITTED
    chain.rpc("anvil_setNextBlockBaseFeePerGas", [hex(max(base * 10, 20 * 10**9))])
    mine(chain)
    assert chain.get_receipt(old.tx_hash) is None  # left out of the block: underpriced

    prometheus.wait(lambda: _value(prometheus, stuck) == 1, what="one stuck transaction scraped")
    alert = prometheus.wait(lambda: prometheus.firing("ChainTransactionStuck"), what="ChainTransactionStuck")[
        0
    ]
    assert alert["annotations"]["summary"] == "1 chain transaction(s) stuck in the mempool"

    # The operator's (or beat's) fee bump: replaced, mined, confirmed; the alert resolves.
    replaced_before = _value(prometheus, 'mintdrop_chain_tx_replaced_total{kind="mint"}') or 0
    settings.NFT_MAX_FEE_PER_GAS_WEI = 10**12
    _fee_cache.clear()
    assert len(replace_stuck(older_than=0)) == 1
    mine(chain)
    confirm_until(lambda: Mint.objects.get(pk=mint.pk).status == MintStatus.CONFIRMED)
    prometheus.wait(lambda: _value(prometheus, stuck) == 0, what="no stuck transaction scraped again")
    prometheus.wait(
        lambda: not prometheus.firing("ChainTransactionStuck"), what="ChainTransactionStuck to resolve"
    )
    assert (_value(prometheus, 'mintdrop_chain_tx_replaced_total{kind="mint"}') or 0) == replaced_before + 1
    confirmed = 'mintdrop_chain_tx_confirmation_seconds_count{kind="mint"}'
    # Waited for, not read once: the scrape that saw the gauge at 0 may predate the observation
    # (failed once in a full run with the series still absent).
    prometheus.wait(lambda: (_value(prometheus, confirmed) or 0) >= 1, what="the confirmation time scraped")

"""Stripe's delivery rules through the real endpoint, relay, Kafka and saga consumer: the same set of
webhooks delivered 3 times in shuffled order gives one state change per event and the same end state."""

import random
import time
from typing import Any

import pytest
from django.db.models import Count

from commerce.models import DropItem, Order, OrderStatus, ReservationStatus
from commerce.payments.models import Refund, SagaStep, StripeEvent
from commerce.payments.services.intents import start_payment
from commerce.payments.simulator import event_for_order
from realtime.models import InboxEntry
from tests.payments.helpers import outbox, post_webhook
from tests.payments.pipeline import pipeline

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _webhooks(order: Order) -> list[dict[str, Any]]:
    """What Stripe sends for: a declined card, a retry that succeeds, then a full refund from the dashboard."""
    now = int(time.time())
    failed = event_for_order("payment_intent.payment_failed", order_id=order.pk, created=now - 30)
    succeeded = event_for_order("payment_intent.succeeded", order_id=order.pk, created=now - 20)
    refunded = event_for_order("charge.refunded", order_id=order.pk, created=now - 10)
    unrelated = {**succeeded, "id": succeeded["id"] + "x", "type": "charge.succeeded"}
    return [failed, succeeded, refunded, unrelated]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_three_shuffled_deliveries_give_one_effect_per_event(
    seed: int, make_order: Any, gateway: Any, kafka_prefix: str, enqueued: list[str]
) -> None:
    orders = [make_order([("jacket", 1)]) for _ in range(3)]
    for order in orders:
        start_payment(order_id=order.pk)
    events = {order.pk: _webhooks(order) for order in orders}
    deliveries = [event for batch in events.values() for event in batch] * 3
    random.Random(seed).shuffle(deliveries)
    outcomes: list[str] = []

    with pipeline("saga") as running:
        for i in range(0, len(deliveries), 4):  # deliver in bursts while the saga is consuming
            for event in deliveries[i : i + 4]:
                status, body = post_webhook(event)
                assert status == 200, body
                outcomes.append(body["outcome"])
            running.relay.drain()
        running.until(
            lambda: InboxEntry.objects.filter(group="saga", event_type__startswith="payment.").count() == 9,
            what="every payment event applied",
        )

    assert (
        outcomes.count("accepted") == 9
        and outcomes.count("duplicate") == 18
        and outcomes.count("ignored") == 9
    )
    for order in orders:
        order.refresh_from_db()
        assert order.status == OrderStatus.REFUNDED, [s.step for s in SagaStep.objects.filter(order=order)]
        assert StripeEvent.objects.filter(order=order).count() == 3
        per_event = (
            SagaStep.objects.filter(order=order)
            .exclude(stripe_event_id="")
            .values("stripe_event_id")
            .annotate(n=Count("id"))
        )
        assert sorted(row["n"] for row in per_event) == [1, 1, 1]  # one saga step per Stripe event
        assert len(outbox("order.paid", key=order.pk)) == 1
        assert len(outbox("order.refunded", key=order.pk)) == 1
        assert len(outbox("inventory.sold", key=order.drop_id)) == 1
        assert Refund.objects.filter(order=order).count() == 1  # the one made at Stripe, recorded once
        assert order.reservations.get().status == ReservationStatus.SOLD
        item = DropItem.objects.get(drop_id=order.drop_id)
        assert (item.reserved, item.sold) == (0, 1)
    assert not gateway.ops("refunds.create") and not enqueued  # we never refunded on top of Stripe's refund

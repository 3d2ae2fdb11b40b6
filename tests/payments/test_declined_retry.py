"""A declined card does not lose the item (#17 item 5).

Signed webhooks go through the real endpoint (PaymentIntents created on stripe-mock); the payment.*
rows the endpoint wrote to the outbox are then run through the saga's handlers. A decline leaves
the PaymentIntent in `requires_payment_method`: the reservation keeps its stock until its TTL, a
retry that succeeds sells it — one sale, no release, no re-take, no refund — and only expiry or a
cancelled PaymentIntent gives the stock back.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from commerce.models import DropItem, Order, OrderStatus, ReservationStatus
from commerce.payments.models import AttemptStatus, OrderSaga, PaymentAttempt, Refund, SagaState, SagaStep
from commerce.payments.services.intents import start_payment
from commerce.payments.simulator import event_for_order
from commerce.services.reservations import release_expired_reservations
from realtime.models import OutboxEvent
from tests.payments.helpers import deliver_row, outbox, post_webhook

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _webhook_then_saga(order: Order, stripe_type: str) -> OutboxEvent:
    """POST the signed Stripe event about `order`, then apply the payment.* row it emitted."""
    before = set(OutboxEvent.objects.filter(type__startswith="payment.").values_list("id", flat=True))
    status, body = post_webhook(event_for_order(stripe_type, order_id=order.pk))
    assert status == 200 and body["outcome"] == "accepted", body
    (row,) = OutboxEvent.objects.filter(type__startswith="payment.").exclude(id__in=before)
    deliver_row(row)
    return row


def _counters(order: Order) -> tuple[int, int, int]:
    item = DropItem.objects.get(drop_id=order.drop_id)
    return item.offered, item.reserved, item.sold


@pytest.fixture
def paying(make_order: Any, gateway: Any) -> Order:
    order = make_order([("jacket", 2)], offered=3)
    start_payment(order_id=order.pk)  # a real PaymentIntent on stripe-mock
    order.refresh_from_db()
    return order


def test_declined_card_then_successful_retry_is_one_sale_without_release_or_refund(
    paying: Order, gateway: Any, enqueued: list[str]
) -> None:
    order = paying
    reservation = order.reservations.get()
    assert _counters(order) == (3, 2, 0)

    failed = _webhook_then_saga(order, "payment_intent.payment_failed")
    assert failed.type == "payment.failed" and failed.payload["failure_code"] == "card_declined"
    order.refresh_from_db()
    reservation.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert reservation.status == ReservationStatus.ACTIVE and reservation.expires_at > timezone.now()
    assert _counters(order) == (3, 2, 0)  # still held for this buyer
    assert OrderSaga.objects.get(order=order).state == SagaState.PAYMENT_FAILED
    attempt = PaymentAttempt.objects.get(order=order)
    assert attempt.status == AttemptStatus.OPEN and attempt.stripe_status == "requires_payment_method"
    step = SagaStep.objects.get(order=order, step="payment.failed")
    assert step.outcome == "applied" and step.detail["kept_reservations"] == [str(reservation.pk)]

    # The retry pays the same order (the same PaymentIntent: start_payment returns the open one).
    assert start_payment(order_id=order.pk).payment_intent_id == attempt.payment_intent_id
    succeeded = _webhook_then_saga(order, "payment_intent.succeeded")
    assert succeeded.type == "payment.succeeded"

    order.refresh_from_db()
    reservation.refresh_from_db()
    assert order.paid_at is not None and order.status == OrderStatus.FULFILLING
    assert reservation.status == ReservationStatus.SOLD
    assert _counters(order) == (3, 0, 2)
    sold = outbox("inventory.sold", key=order.drop_id)
    assert [(e.payload["reservation_id"], e.payload["reserved"], e.payload["sold"]) for e in sold] == [
        (str(reservation.pk), 0, 2)
    ]
    assert outbox("inventory.released") == []  # no release ...
    assert len(outbox("inventory.reserved", key=order.drop_id)) == 1  # ... and no re-take
    assert not Refund.objects.filter(order=order).exists() and not enqueued  # no refund
    assert not gateway.ops("refunds.create")
    assert len(outbox("order.paid", key=order.pk)) == 1


def test_declined_card_keeps_the_hold_only_until_the_reservation_expires(paying: Order) -> None:
    order = paying
    _webhook_then_saga(order, "payment_intent.payment_failed")
    assert release_expired_reservations(drop_id=order.drop_id) == 0  # within the TTL: kept
    assert _counters(order) == (3, 2, 0)

    order.reservations.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert release_expired_reservations(drop_id=order.drop_id) == 1
    assert _counters(order) == (3, 0, 0)
    assert [e.payload["reason"] for e in outbox("inventory.released")] == ["expired"]


def test_declined_then_canceled_intent_releases_the_stock_and_cancels_the_order(paying: Order) -> None:
    order = paying
    _webhook_then_saga(order, "payment_intent.payment_failed")
    assert _counters(order) == (3, 2, 0)
    _webhook_then_saga(order, "payment_intent.canceled")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert _counters(order) == (3, 0, 0)
    assert [e.payload["reason"] for e in outbox("inventory.released")] == ["payment_canceled"]

"""The reconciler: a lost webhook, an abandoned PaymentIntent, a lost refund task, an unanswered mint.

stripe-mock is stateless (retrieve always answers `requires_payment_method`), so where a test needs
Stripe to say `succeeded` the gateway overrides only the status of the real stripe-mock answer; the
HTTP call itself (path, id) is made and checked.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from commerce.models import DropItem, LineStatus, Order, OrderStatus
from commerce.payments.models import PaymentAttempt, Refund, RefundStatus, SagaLine, SagaStep
from commerce.payments.services.intents import start_payment
from commerce.payments.services.reconciler import MAX_MINT_REQUESTS, reconcile_payments
from commerce.payments.services.refunds import order_refund_key, request_refund
from commerce.services.cancellations import cancel_order
from tests.payments.helpers import deliver_paid, deliver_row, outbox
from tests.payments.pipeline import pipeline

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def at_once(settings: Any) -> Any:
    settings.PAYMENTS_RECONCILE_AFTER_SECONDS = 0
    settings.PAYMENTS_REFUND_RETRY_AFTER_SECONDS = 0
    return settings


def _paying(make_order: Any) -> Order:
    order = make_order([("jacket", 1)])
    start_payment(order_id=order.pk)
    order.refresh_from_db()
    return order


def test_a_dropped_success_webhook_is_recovered_through_kafka(
    make_order: Any, gateway: Any, at_once: Any, kafka_prefix: str
) -> None:
    order = _paying(make_order)
    gateway.confirm_intent(
        payment_intent_id=order.payment_intent_id, payment_method="pm_card_visa", idempotency_key="c1"
    )
    # ... and Stripe's payment_intent.succeeded never arrives.
    gateway.status_override[order.payment_intent_id] = "succeeded"
    report = reconcile_payments(gateway=gateway)
    assert report.checked == 1 and report.succeeded == 1
    (retrieve,) = gateway.ops("payment_intents.retrieve")
    assert (
        retrieve.params == {"id": order.payment_intent_id} and retrieve.result_id == order.payment_intent_id
    )
    assert gateway.in_transaction_calls == 0

    with pipeline("saga") as running:
        running.until(
            lambda: Order.objects.get(pk=order.pk).status == OrderStatus.FULFILLING, what="order paid"
        )
    assert reconcile_payments(gateway=gateway).checked == 0  # paid now: nothing left to ask
    assert (
        len(outbox("payment.succeeded", key=order.pk)) == 1 and len(outbox("order.paid", key=order.pk)) == 1
    )
    assert SagaStep.objects.filter(
        order=order, step="reconciler.checked", detail__stripe_status="succeeded"
    ).exists()


def test_an_abandoned_intent_is_cancelled_at_stripe_and_the_order_cancelled(
    make_order: Any, gateway: Any, at_once: Any
) -> None:
    at_once.PAYMENTS_ABANDON_AFTER_SECONDS = 3600
    order = _paying(make_order)
    report = reconcile_payments(gateway=gateway)  # real stripe-mock answer: requires_payment_method
    assert (report.checked, report.waiting, report.abandoned) == (1, 1, 0)
    assert not gateway.ops("payment_intents.cancel") and not outbox("payment.canceled")

    at_once.PAYMENTS_ABANDON_AFTER_SECONDS = 0
    report = reconcile_payments(gateway=gateway)
    assert report.abandoned == 1
    (cancel,) = gateway.ops("payment_intents.cancel")
    assert cancel.params["id"] == order.payment_intent_id
    assert cancel.echoed_idempotency_key == f"mintdrop-intent-{order.payment_intent_id}-cancel"
    (event,) = outbox("payment.canceled", key=order.pk)
    deliver_row(event)  # what the saga consumer does
    order.refresh_from_db()
    assert order.drop_id is not None
    item = DropItem.objects.get(drop_id=order.drop_id)
    assert order.status == OrderStatus.CANCELLED and (item.reserved, item.sold) == (0, 0)
    assert PaymentAttempt.objects.get(order=order).stripe_status == "canceled"
    assert reconcile_payments(gateway=gateway).checked == 0  # final: never asked again


def test_money_taken_for_an_order_cancelled_by_timeout_is_refunded(
    make_order: Any, gateway: Any, at_once: Any, enqueued: list[str]
) -> None:
    order = _paying(make_order)
    cancel_order(order_id=order.pk, reason="payment timed out")  # commerce's unpaid-order timeout
    gateway.status_override[order.payment_intent_id] = "succeeded"  # the buyer paid at the last second
    assert reconcile_payments(gateway=gateway).succeeded == 1
    (event,) = outbox("payment.succeeded", key=order.pk)
    deliver_row(event)
    (refund,) = Refund.objects.filter(order=order)
    assert refund.idempotency_key == order_refund_key(order.pk, "paid-after-cancel") and enqueued == [
        str(refund.pk)
    ]
    assert reconcile_payments(gateway=gateway).checked == 0


def test_a_lost_refund_task_is_redriven_with_the_same_key(
    make_order: Any, gateway: Any, at_once: Any, enqueued: list[str]
) -> None:
    order = _paying(make_order)
    deliver_paid(order)
    from django.db import transaction

    with transaction.atomic():
        refund, _ = request_refund(
            order=order, line=order.lines.get(), amount=1500, key="k-lost", reason="test"
        )
    enqueued.clear()  # the broker lost it
    report = reconcile_payments(gateway=gateway)
    assert report.refunds_redriven == 1
    (call,) = gateway.ops("refunds.create")
    assert call.echoed_idempotency_key == "k-lost"
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert reconcile_payments(gateway=gateway).refunds_redriven == 0


def test_unanswered_mints_are_asked_again_then_refunded(
    make_order: Any, gateway: Any, at_once: Any, enqueued: list[str]
) -> None:
    order = _paying(make_order)
    deliver_paid(order)
    line = order.lines.get()
    later = timezone.now() + timedelta(hours=1)
    for _ in range(MAX_MINT_REQUESTS - 1):
        assert reconcile_payments(gateway=gateway, now=later).mints_rerequested == 1
    assert len(outbox("nft.mint.requested", key=order.pk)) == MAX_MINT_REQUESTS
    assert reconcile_payments(gateway=gateway, now=later).lines_given_up == 1
    assert SagaLine.objects.get(line=line).mint_status == "failed"
    (refund,) = Refund.objects.filter(order=order)
    assert refund.line_id == line.pk and refund.reason == "mint_failed"
    line.refresh_from_db()
    assert line.status == LineStatus.PAID  # until the refund is recorded

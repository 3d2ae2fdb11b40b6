"""The saga's state machine, applied directly (the Kafka path is in test_saga_kafka.py)."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from commerce.models import DropItem, LineStatus, Order, OrderStatus, ReservationStatus
from commerce.payments.models import (
    MintStatus,
    OrderSaga,
    Refund,
    RefundStatus,
    SagaLine,
    SagaState,
    SagaStep,
)
from commerce.payments.services.intents import start_payment
from commerce.payments.services.refunds import execute_refund, line_refund_key
from commerce.services import shipments
from tests.payments.helpers import deliver, mint_outcome, outbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _apply(kind: str, order: Order, **extra: Any) -> None:
    """Deliver `payment.<kind>` about `order` to the saga (a new event id each time)."""
    order.refresh_from_db()
    fields: dict[str, Any] = {
        "order_id": order.pk,
        "payment_intent_id": order.payment_intent_id or "pi_test",
        "amount": order.total,
        "currency": order.currency,
        "stripe_event_id": None,  # None drops what the schema example carries
    }
    if kind == "refunded":
        fields |= {"line_id": None, "reason": None}
    deliver(f"payment.{kind}", **(fields | extra))


def _item(order: Order) -> DropItem:
    line = order.lines.first()
    assert line is not None and line.drop_item_id is not None
    return DropItem.objects.get(pk=line.drop_item_id)


@pytest.fixture
def paying(make_order: Any, gateway: Any) -> Any:
    def make(lines: list[tuple[str, int]] | None = None, **kw: Any) -> Order:
        order = make_order(lines, **kw)
        start_payment(order_id=order.pk)
        order.refresh_from_db()
        return order

    return make


def test_success_pays_converts_reservations_and_requests_mints_and_shipments(paying: Any) -> None:
    order = paying([("jacket", 2), ("tee", 1)])
    _apply("succeeded", order)
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLING
    assert set(order.reservations.values_list("status", flat=True)) == {ReservationStatus.SOLD}
    mints = outbox("nft.mint.requested", key=order.pk)
    assert len(mints) == 2 and {m.payload["line_id"] for m in mints} == set(
        order.lines.filter(kind="digital").values_list("pk", flat=True)
    )
    assert len(outbox("shipment.requested", key=order.pk)) == 1
    assert len(outbox("order.paid", key=order.pk)) == 1
    assert OrderSaga.objects.get(order=order).state == SagaState.FULFILLING

    _apply("succeeded", order)  # a second success (reconciler + webhook): no second effect
    _apply("failed", order)  # late failure of an earlier attempt: recorded, ignored
    _apply("canceled", order)
    assert (
        len(outbox("order.paid", key=order.pk)) == 1 and len(outbox("nft.mint.requested", key=order.pk)) == 2
    )
    outcomes = list(
        SagaStep.objects.filter(order=order, step__startswith="payment.").values_list("step", "outcome")
    )
    assert outcomes == [
        ("payment.succeeded", "applied"),
        ("payment.succeeded", "ignored"),
        ("payment.failed", "ignored"),
        ("payment.canceled", "ignored"),
    ]


def test_all_lines_delivered_fulfils_the_order(paying: Any) -> None:
    order = paying([("jacket", 1), ("tee", 1)])
    _apply("succeeded", order)
    nft_line = order.lines.get(kind="digital")
    payload = outbox("nft.mint.requested", key=order.pk)[0].payload
    confirmed = mint_outcome("nft.mint.confirmed", payload, tx_hash="0x" + "ab" * 32, block_number=5)
    deliver("nft.mint.confirmed", **confirmed)
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLING  # the tee is not shipped yet
    shipment = shipments.create_order_shipment(order_id=order.pk)
    assert shipment is not None  # the merchant ships the tee
    shipments.mark_shipped(
        shipment_id=shipment.pk, merchant_id=order.merchant_id, carrier="ups", tracking_number="1Z9"
    )
    deliver("nft.mint.confirmed", **confirmed)  # duplicate (another event id): ignored
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED and len(outbox("order.fulfilled", key=order.pk)) == 1
    assert SagaLine.objects.get(line=nft_line).mint_status == MintStatus.CONFIRMED


def test_failed_payment_keeps_the_stock_and_a_later_success_sells_it(paying: Any) -> None:
    order = paying([("jacket", 2)])
    item = _item(order)
    _apply("failed", order, failure_code="card_declined")
    item.refresh_from_db()
    assert (item.reserved, item.sold) == (2, 0)  # the declined card did not lose the items
    assert outbox("inventory.released") == []
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT  # Stripe lets the buyer try the same intent again
    assert OrderSaga.objects.get(order=order).state == SagaState.PAYMENT_FAILED
    _apply("failed", order)  # a second decline: still nothing released
    assert outbox("inventory.released") == []

    _apply("succeeded", order)
    item.refresh_from_db()
    order.refresh_from_db()
    assert (item.reserved, item.sold) == (0, 2) and order.status == OrderStatus.FULFILLING
    assert [e.payload["reservation_id"] for e in outbox("inventory.sold")] == [
        str(r) for r in order.reservations.values_list("pk", flat=True)
    ]


def test_success_after_the_hold_expired_and_stock_was_lost_refunds_those_lines(
    paying: Any, make_user: Any, enqueued: list[str]
) -> None:
    from commerce.services.reservations import release_expired_reservations, reserve_stock

    order = paying([("jacket", 1)], offered=1)
    _apply("failed", order)  # declined: the unit stays held ...
    order.reservations.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert release_expired_reservations(drop_id=order.drop_id) == 1  # ... until the hold expires
    assert [e.payload["reason"] for e in outbox("inventory.released")] == ["expired"]

    line = order.lines.get()
    reserve_stock(
        drop_id=order.drop_id, sku_id=line.sku_id, buyer_id=make_user().pk, quantity=1
    )  # someone else
    _apply("succeeded", order)
    line.refresh_from_db()
    assert line.status == LineStatus.UNAVAILABLE
    (refund,) = Refund.objects.filter(order=order)
    assert refund.idempotency_key == line_refund_key(line.pk) and refund.reason == "stock_lost"
    assert enqueued == [str(refund.pk)]
    assert not outbox("nft.mint.requested")
    execute_refund(refund_id=enqueued[0])
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert [e.payload["reason"] for e in outbox("order.line_failed", key=order.pk)] == ["stock_lost"]


def test_canceled_payment_cancels_and_a_late_success_is_refunded_in_full(
    paying: Any, enqueued: list[str], gateway: Any
) -> None:
    order = paying([("jacket", 1)])
    _apply("canceled", order)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert [e.payload["reason"] for e in outbox("inventory.released")] == ["payment_canceled"]
    _apply("succeeded", order)
    _apply("succeeded", order)
    (refund,) = Refund.objects.filter(order=order)
    assert refund.amount == order.total and refund.reason == "paid_after_cancel"
    execute_refund(refund_id=str(refund.pk))
    execute_refund(refund_id=str(refund.pk))  # retried: already succeeded, no second call
    assert len(gateway.ops("refunds.create")) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and not outbox("order.paid")
    assert len(outbox("payment.refunded", key=order.pk)) == 1


def test_refund_seen_before_success_is_applied_after_it(paying: Any) -> None:
    order = paying([("jacket", 1)])
    _apply("refunded", order, refund_id="re_ext", amount=order.total, amount_refunded_total=order.total)
    assert Refund.objects.get(order=order).status == RefundStatus.DEFERRED
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    _apply("succeeded", order)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and not outbox("nft.mint.requested")
    _apply("refunded", order, refund_id="re_ext", amount=order.total)  # redelivered: ignored
    assert Refund.objects.filter(order=order).count() == 1 and len(outbox("order.refunded")) == 1


def test_failed_mint_refunds_the_line_once_and_tells_the_buyer(
    paying: Any, enqueued: list[str], gateway: Any
) -> None:
    order = paying([("jacket", 2)])
    _apply("succeeded", order)
    request = outbox("nft.mint.requested", key=order.pk)[0].payload
    failed = mint_outcome("nft.mint.failed", request, reason="execution reverted", tx_hash=None)
    deliver("nft.mint.failed", **failed)
    deliver("nft.mint.failed", **failed)  # again (another event id): no 2nd refund
    (refund,) = Refund.objects.filter(order=order)
    assert enqueued == [str(refund.pk)] and refund.amount == 1500
    for _ in range(2):
        execute_refund(refund_id=str(refund.pk))
    (call,) = gateway.ops("refunds.create")
    assert call.idempotency_key == line_refund_key(request["line_id"]) == call.echoed_idempotency_key
    assert call.params["amount"] == 1500 and call.params["payment_intent"] == order.payment_intent_id
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED and order.refunded_amount == 1500
    (notice,) = outbox("order.line_failed", key=order.pk)
    assert notice.payload["line_id"] == request["line_id"] and notice.payload["reason"] == "mint_failed"
    (refunded,) = outbox("payment.refunded", key=order.pk)
    assert refunded.payload["line_id"] == request["line_id"] and refunded.payload["amount"] == 1500
    # Stripe's charge.refunded for that same refund arrives later: recognised, not applied twice.
    _apply(
        "refunded", order, refund_id=refund.__class__.objects.get(pk=refund.pk).stripe_refund_id, amount=1500
    )
    assert Refund.objects.filter(order=order).count() == 1
    assert len(outbox("order.partially_refunded", key=order.pk)) == 1


def test_running_total_refund_events_count_only_new_money(paying: Any, enqueued: list[str]) -> None:
    """Newer Stripe API versions send charge.refunded without the refund list: only the running total."""
    order = paying([("jacket", 2)])
    _apply("succeeded", order)
    first, _second = order.lines.all()
    request = outbox("nft.mint.requested")[0].payload
    deliver(
        "nft.mint.failed", **mint_outcome("nft.mint.failed", request, line_id=first.pk, reason="reverted")
    )
    execute_refund(refund_id=enqueued[0])  # our line refund: 1500
    _apply("refunded", order, refund_id="ch_1@1500", amount=1500, amount_refunded_total=1500)
    assert Refund.objects.filter(order=order).count() == 1  # that was ours
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    _apply("refunded", order, refund_id="ch_1@3000", amount=3000, amount_refunded_total=3000)
    external = Refund.objects.get(order=order, source="external")
    assert external.amount == 1500
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.refunded_amount == order.total

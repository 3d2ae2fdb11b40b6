"""Read queries of payments (never mutate)."""

from typing import Any

from commerce.models import Order
from commerce.payments.models import OrderSaga, PaymentAttempt, Refund, SagaStep


def saga_timeline(*, order_id: int) -> list[SagaStep]:
    """Every step the saga recorded for the order, oldest first."""
    return list(SagaStep.objects.filter(order_id=order_id).order_by("at", "id"))


def payment_summary(*, order_id: int, buyer_id: int | None = None) -> dict[str, Any] | None:
    """Order status, payment attempts, refunds and timeline; None if not found (or not the buyer's)."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None or (buyer_id is not None and order.buyer_id != buyer_id):
        return None
    saga = OrderSaga.objects.filter(order_id=order_id).first()
    return {
        "order_id": order.pk,
        "status": order.status,
        "total": order.total,
        "currency": order.currency,
        "saga_state": saga.state if saga else None,
        "payment_status": saga.payment_status if saga else "",
        "attempts": [
            {
                "attempt": a.attempt,
                "payment_intent_id": a.payment_intent_id,
                "status": a.status,
                "stripe_status": a.stripe_status,
            }
            for a in PaymentAttempt.objects.filter(order_id=order_id)
        ],
        "refunds": [
            {
                "amount": r.amount,
                "currency": r.currency,
                "status": r.status,
                "reason": r.reason,
                "line_id": r.line_id,
            }
            for r in Refund.objects.filter(order_id=order_id)
        ],
        "timeline": [
            {
                "at": s.at.isoformat(),
                "step": s.step,
                "outcome": s.outcome,
                "line_id": s.line_id,
                "detail": s.detail,
            }
            for s in saga_timeline(order_id=order_id)
        ],
    }

"""Refunds: the intent row first, then the Stripe call with its idempotency key, then the result.

`request_refund` records the intent inside the caller's transaction; `execute_refund` (Celery
task, reconciler, admin retry) makes the Stripe call outside any transaction and records the
result with `complete_refund`. Re-running after a crash finds the pending row and repeats the same
call with the same key, so Stripe makes one refund. A `charge.refunded` webhook that arrives
before the result is recorded completes the same row instead (whichever comes first wins).
"""

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from commerce.errors import InvalidTransition
from commerce.models import LineStatus, Order, OrderLine, OrderStatus
from commerce.payments.errors import StripeRejected, StripeUnavailable
from commerce.payments.gateway import StripeGateway, get_gateway
from commerce.payments.models import PaymentAttempt, Refund, RefundSource, RefundStatus
from commerce.payments.services.timeline import StepOutcome, lock_saga, record_step, sync_state
from commerce.payments.signals import refund_requested
from commerce.services.cancellations import mark_line_refunded, refund_order
from commerce.services.locks import lock_order
from config.faults import crash_point
from realtime.outbox import emit

log = logging.getLogger(__name__)


def line_refund_key(line_id: int) -> str:
    """One refund per order line, whoever asks for it (mint failure, lost stock, admin)."""
    return f"mintdrop-line-{line_id}-refund"


def order_refund_key(order_id: int, purpose: str) -> str:
    return f"mintdrop-order-{order_id}-refund-{purpose}"


def _enqueue(refund_id: str) -> None:
    # The task module calls this one; it listens for the signal instead of being imported here.
    try:
        refund_requested.send(sender=Refund, refund_id=refund_id)
    except Exception:  # the broker is down: the reconciler re-drives pending refunds
        log.warning("could not enqueue refund %s; the reconciler will pick it up", refund_id, exc_info=True)


def request_refund(
    *,
    order: Order,
    amount: int,
    key: str,
    reason: str,
    source: str = RefundSource.SAGA,
    line: OrderLine | None = None,
) -> tuple[Refund, bool]:
    """Inside the caller's transaction (order locked): record a refund intent once per key.

    Returns (refund, created). A new one is handed to the worker after commit.
    """
    charged_to_merchant = PaymentAttempt.objects.filter(
        order_id=order.pk, payment_intent_id=order.payment_intent_id
    ).exclude(destination_account="")
    refund, created = Refund.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "reverse_transfer": bool(order.payment_intent_id) and charged_to_merchant.exists(),
            "order": order,
            "line": line,
            "source": source,
            "amount": amount,
            "currency": order.currency,
            "payment_intent_id": order.payment_intent_id,
            "reason": reason[:200],
        },
    )
    if created:
        record_step(
            order_id=order.pk,
            step="refund.requested",
            outcome=StepOutcome.REQUESTED,
            line_id=line.pk if line else None,
            refund=str(refund.pk),
            amount=amount,
            reason=reason,
            source=source,
        )
        transaction.on_commit(lambda: _enqueue(str(refund.pk)))
    return refund, created


def apply_refund_to_order(order: Order, refund: Refund) -> str:
    """Inside the order's transaction: move the order / line for a refund that happened. Returns a note."""
    if refund.line_id is not None:
        line = OrderLine.objects.get(pk=refund.line_id)
        if line.status in (LineStatus.PAID, LineStatus.UNAVAILABLE, LineStatus.FULFILLED):
            mark_line_refunded(line_id=line.pk, reason=refund.reason)
            return "line refunded"
        return f"line was {line.status}"
    refunded = sum(
        Refund.objects.filter(order=order, status=RefundStatus.SUCCEEDED).values_list("amount", flat=True)
    )
    if order.status == OrderStatus.CANCELLED:
        return "money returned for a cancelled order"
    if refunded >= order.total:
        try:
            refund_order(order_id=order.pk, reason=refund.reason)
        except InvalidTransition as exc:
            return f"order not refundable: {exc.message}"
        return "order refunded"
    return "partial refund without a line: order status unchanged"


def complete_refund(refund: Refund, *, stripe_refund_id: str, emit_event: bool) -> None:
    """Inside a transaction holding the order and refund locks: record success and apply it."""
    order = Order.objects.get(pk=refund.order_id)
    refund.status = RefundStatus.SUCCEEDED
    refund.stripe_refund_id = stripe_refund_id
    refund.completed_at = timezone.now()
    refund.save()
    note = apply_refund_to_order(order, refund)
    order.refresh_from_db()
    if emit_event:
        emit(
            type="payment.refunded",
            key=order.pk,
            payload={
                "order_id": order.pk,
                "payment_intent_id": refund.payment_intent_id,
                "refund_id": stripe_refund_id,
                "amount": refund.amount,
                "currency": refund.currency,
                "line_id": refund.line_id,
                "reason": refund.reason,
                "refund_key": refund.idempotency_key,
            },
        )
    if refund.line_id is not None and refund.source == RefundSource.SAGA:
        emit(
            type="order.line_failed",
            key=order.pk,
            payload={
                "order_id": order.pk,
                "buyer_id": order.buyer_id,
                "line_id": refund.line_id,
                "reason": refund.reason,
                "refund_id": stripe_refund_id,
                "refund_amount": refund.amount,
                "currency": refund.currency,
            },
        )
    record_step(
        order_id=order.pk,
        step="refund.succeeded",
        outcome=StepOutcome.APPLIED,
        line_id=refund.line_id,
        refund=str(refund.pk),
        stripe_refund_id=stripe_refund_id,
        amount=refund.amount,
        note=note,
    )
    sync_state(lock_saga(order.pk), order)


def execute_refund(*, refund_id: str, gateway: StripeGateway | None = None) -> Refund:
    """Make (or repeat) the Stripe call of a pending refund and record its result. Idempotent.

    Raises StripeUnavailable (retry later with the same key); a refusal marks the refund failed.
    """
    refund = Refund.objects.get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    Refund.objects.filter(pk=refund.pk).update(attempts=F("attempts") + 1)
    metadata = {
        "order_id": str(refund.order_id),
        "refund_key": refund.idempotency_key,
        "reason": refund.reason,
        **({"line_id": str(refund.line_id)} if refund.line_id else {}),
    }
    try:
        result = (gateway or get_gateway()).create_refund(
            payment_intent_id=refund.payment_intent_id,
            amount=refund.amount,
            metadata=metadata,
            idempotency_key=refund.idempotency_key,
            reverse_transfer=refund.reverse_transfer,
        )
    except StripeUnavailable as exc:
        Refund.objects.filter(pk=refund.pk).update(last_error=exc.message)
        raise
    except StripeRejected as exc:
        with transaction.atomic():
            lock_order(refund.order_id)
            refund = Refund.objects.select_for_update().get(pk=refund.pk)
            if refund.status == RefundStatus.PENDING:
                refund.status, refund.last_error = RefundStatus.FAILED, exc.message
                refund.save()
                record_step(
                    order_id=refund.order_id,
                    step="refund.failed",
                    outcome=StepOutcome.FAILED,
                    line_id=refund.line_id,
                    refund=str(refund.pk),
                    error=exc.message,
                )
        return refund
    # Test-only: die right after Stripe answered, before the result is recorded (kill -9 stand-in).
    crash_point("refunds.after_call")
    with transaction.atomic():
        lock_order(refund.order_id)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status == RefundStatus.PENDING:  # else: the charge.refunded webhook recorded it first
            complete_refund(refund, stripe_refund_id=result.id, emit_event=True)
    return refund


def retry_failed_refund(*, refund_id: str) -> Refund:
    """Admin: put a failed refund back to pending (same key) and hand it to the worker."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status == RefundStatus.FAILED:
            refund.status = RefundStatus.PENDING
            refund.save(update_fields=["status", "updated_at"])
            record_step(
                order_id=refund.order_id,
                step="refund.retried",
                outcome=StepOutcome.REQUESTED,
                line_id=refund.line_id,
                refund=str(refund.pk),
            )
            transaction.on_commit(lambda: _enqueue(str(refund.pk)))
    return refund

"""The payment half of the checkout saga: apply `payment.*` facts to an order, never backwards.

Each function runs in the consumer's transaction (inbox row + effects commit together) and
records what it did on the order's timeline. Rules, because Stripe delivers in any order:

- succeeded is the strongest fact: a later failed / canceled is recorded and ignored.
- failed (a declined card) does not end the PaymentIntent: Stripe puts it back to
  `requires_payment_method` and the buyer may retry. The order keeps awaiting payment and its
  reservations keep their stock until they expire (beat) or the intent is canceled; a retry that
  succeeds within that time sells the held units (no release, no re-take, no refund). A success
  after the hold expired re-takes the stock if it is still free, otherwise refunds those lines.
- canceled cancels the order (and releases stock); a success after that is refunded in full.
- a refund seen before the success is deferred and applied right after the success is applied,
  so the order ends refunded whichever arrives first, and nothing is refunded twice.
"""

from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Min

from commerce.abuse.payment_limits import refuse_over_identity_limits
from commerce.models import LineStatus, Order, OrderStatus, ReservationStatus
from commerce.models.reservations import ReleaseReason
from commerce.payments.models import OrderSaga, PaymentAttempt, Refund, RefundSource, RefundStatus, SagaState
from commerce.payments.services.minting import fail_line_locked, start_lines_locked
from commerce.payments.services.refunds import (
    apply_refund_to_order,
    complete_refund,
    order_refund_key,
    request_refund,
)
from commerce.payments.services.timeline import StepOutcome, lock_saga, record_step, sync_state
from commerce.services.cancellations import cancel_order
from commerce.services.fulfilment import start_fulfilment
from commerce.services.locks import lock_order
from commerce.services.orders import mark_order_paid


class _Context:
    """The order, its saga and the event being applied, with a shortcut to the timeline."""

    def __init__(
        self, event_type: str, event_id: UUID, order_id: int, payment_intent_id: str, stripe_event_id: str
    ) -> None:
        self.event_type, self.event_id = event_type, event_id
        self.payment_intent_id, self.stripe_event_id = payment_intent_id, stripe_event_id
        self.order_id = order_id
        self.order: Order = lock_order(self.order_id)
        self.saga: OrderSaga = lock_saga(self.order_id)
        if payment_intent_id and not self.saga.payment_intent_id:
            self.saga.payment_intent_id = payment_intent_id

    def step(self, outcome: str, **detail: Any) -> None:
        record_step(
            order_id=self.order_id,
            step=self.event_type,
            outcome=outcome,
            event_id=self.event_id,
            stripe_event_id=self.stripe_event_id,
            payment_intent_id=self.payment_intent_id,
            **detail,
        )

    def note_stripe_status(self, status: str) -> None:
        PaymentAttempt.objects.filter(payment_intent_id=self.payment_intent_id or "-").update(
            stripe_status=status
        )

    def refreshed(self) -> Order:
        self.order.refresh_from_db()
        return self.order


def apply_payment_succeeded(
    *,
    event_id: UUID,
    order_id: int,
    payment_intent_id: str,
    amount: int,
    currency: str,
    stripe_event_id: str = "",
    card_fingerprint: str = "",
) -> None:
    """The money was captured: pay the order (or refund it if it was cancelled), then start fulfilment."""
    with transaction.atomic():
        ctx = _Context("payment.succeeded", event_id, order_id, payment_intent_id, stripe_event_id)
        ctx.note_stripe_status("succeeded")
        order, saga = ctx.order, ctx.saga
        if saga.payment_status == "succeeded" or order.paid_at is not None:
            ctx.step(StepOutcome.IGNORED, reason="payment already applied")
            return
        saga.payment_status = "succeeded"
        if order.status == OrderStatus.CANCELLED:
            if not order.payment_intent_id:
                Order.objects.filter(pk=order.pk).update(payment_intent_id=payment_intent_id)
                order.payment_intent_id = payment_intent_id
            request_refund(
                order=order,
                amount=amount,
                key=order_refund_key(order.pk, "paid-after-cancel"),
                reason="paid_after_cancel",
            )
            ctx.step(StepOutcome.APPLIED, action="paid after the order was cancelled: full refund requested")
            sync_state(saga, order, state=SagaState.REFUNDING)
            return
        if refuse_over_identity_limits(order=order, saga=saga, amount=amount, card_fingerprint=card_fingerprint, step=ctx.step):  # fmt: skip
            return  # the card or wallet is over the drop's per-buyer limit: cancelled + refunded
        outcome = mark_order_paid(order_id=order.pk, payment_intent_id=payment_intent_id)
        order = ctx.refreshed()
        ctx.step(
            StepOutcome.APPLIED,
            amount=amount,
            currency=currency,
            unavailable_lines=[line.pk for line in outcome.unavailable_lines],
        )
        if _apply_deferred_refunds(ctx):
            return
        for line in outcome.unavailable_lines:
            fail_line_locked(
                order, line, reason="stock_lost", detail="reservation expired and stock sold out"
            )
        if order.lines.filter(status=LineStatus.PAID).exists():
            start_fulfilment(order_id=order.pk)
            start_lines_locked(ctx.refreshed())
        sync_state(saga, ctx.refreshed(), state=SagaState.REFUNDING if outcome.unavailable_lines else None)


def _apply_deferred_refunds(ctx: _Context) -> bool:
    """Refunds Stripe reported before the payment was applied take effect now. True if any did."""
    deferred = list(
        Refund.objects.select_for_update().filter(order_id=ctx.order_id, status=RefundStatus.DEFERRED)
    )
    for refund in deferred:
        refund.status = RefundStatus.SUCCEEDED
        refund.save(update_fields=["status", "updated_at"])
        note = apply_refund_to_order(ctx.refreshed(), refund)
        record_step(
            order_id=ctx.order_id,
            step="refund.deferred_applied",
            outcome=StepOutcome.APPLIED,
            refund=str(refund.pk),
            amount=refund.amount,
            note=note,
        )
    if deferred:
        sync_state(ctx.saga, ctx.refreshed())
    return bool(deferred)


def apply_payment_failed(
    *,
    event_id: UUID,
    order_id: int,
    payment_intent_id: str,
    stripe_event_id: str = "",
    failure_code: str | None = None,
    failure_message: str | None = None,
) -> None:
    """An attempt to pay failed (card declined): record it; the reservations keep holding the stock.

    The PaymentIntent is back in `requires_payment_method`, so the buyer may retry on the same
    order until the reservations expire; expiry (beat) or `payment.canceled` releases the stock.
    """
    with transaction.atomic():
        ctx = _Context("payment.failed", event_id, order_id, payment_intent_id, stripe_event_id)
        order, saga = ctx.order, ctx.saga
        failure = {"failure_code": failure_code, "failure_message": failure_message}
        if saga.payment_status == "succeeded" or order.paid_at is not None:
            ctx.step(StepOutcome.IGNORED, reason="late: the payment already succeeded", **failure)
            return
        if order.status != OrderStatus.PENDING_PAYMENT:
            ctx.step(StepOutcome.IGNORED, reason=f"order is {order.status}", **failure)
            return
        ctx.note_stripe_status("requires_payment_method")
        held = order.reservations.filter(status=ReservationStatus.ACTIVE)
        hold_until = held.aggregate(until=Min("expires_at"))["until"]
        saga.payment_status = "failed"
        ctx.step(
            StepOutcome.APPLIED,
            kept_reservations=sorted(str(pk) for pk in held.values_list("pk", flat=True)),
            held_until=hold_until.isoformat() if hold_until else None,
            **failure,
        )
        sync_state(saga, order, state=SagaState.PAYMENT_FAILED)


def apply_payment_canceled(
    *, event_id: UUID, order_id: int, payment_intent_id: str, stripe_event_id: str = ""
) -> None:
    """The PaymentIntent was cancelled (it can never succeed): cancel the order, release its stock."""
    with transaction.atomic():
        ctx = _Context("payment.canceled", event_id, order_id, payment_intent_id, stripe_event_id)
        order, saga = ctx.order, ctx.saga
        if saga.payment_status == "succeeded" or order.paid_at is not None:
            ctx.step(StepOutcome.IGNORED, reason="contradicts the payment that succeeded")
            return
        if order.status != OrderStatus.PENDING_PAYMENT:
            ctx.step(StepOutcome.IGNORED, reason=f"order is {order.status}")
            return
        ctx.note_stripe_status("canceled")
        cancel_order(
            order_id=order.pk, reason="payment canceled", release_reason=ReleaseReason.PAYMENT_CANCELED
        )
        saga.payment_status = "canceled"
        ctx.step(StepOutcome.APPLIED)
        sync_state(saga, ctx.refreshed())


def apply_payment_refunded(
    *,
    event_id: UUID,
    order_id: int,
    payment_intent_id: str,
    refund_id: str,
    amount: int,
    currency: str,
    line_id: int | None = None,
    reason: str = "",
    refund_key: str = "",
    amount_refunded_total: int | None = None,
    stripe_event_id: str = "",
) -> None:
    """Money went back: confirm our own refund, or apply (or defer) one made outside mintdrop.

    `refund_key` is mintdrop's idempotency key when mintdrop made the refund; `amount_refunded_total`
    is the charge's running total when that is all Stripe said (`refund_id` is then `<charge>@<total>`).
    """
    with transaction.atomic():
        ctx = _Context("payment.refunded", event_id, order_id, payment_intent_id, stripe_event_id)
        order = ctx.order
        key = refund_key
        ours = Refund.objects.select_for_update().filter(stripe_refund_id=refund_id).first()
        if ours is None and key:
            ours = Refund.objects.select_for_update().filter(idempotency_key=key).first()
        if ours is not None:
            if ours.status == RefundStatus.PENDING:  # the webhook beat the worker recording the result
                complete_refund(ours, stripe_refund_id=refund_id, emit_event=False)
                ctx.step(StepOutcome.APPLIED, refund=str(ours.pk), note="our refund, confirmed by Stripe")
            else:
                ctx.step(StepOutcome.IGNORED, refund=str(ours.pk), reason=f"refund already {ours.status}")
            return
        known = sum(
            Refund.objects.filter(order=order)
            .exclude(status=RefundStatus.FAILED)
            .values_list("amount", flat=True)
        )
        if amount_refunded_total and not refund_key and "@" in refund_id:
            # Only the charge's running total is known (newer API versions): the new money is what
            # exceeds the refunds we already know of; nothing new means it reports ours.
            amount = amount_refunded_total - known
            if amount <= 0:
                ctx.step(StepOutcome.IGNORED, reason="running total covered by known refunds", known=known)
                return
        refund = Refund.objects.create(
            order=order,
            line_id=line_id if order.lines.filter(pk=line_id or 0).exists() else None,
            idempotency_key=f"stripe-{refund_id}",
            source=RefundSource.EXTERNAL,
            status=RefundStatus.SUCCEEDED,
            amount=amount,
            currency=currency,
            payment_intent_id=payment_intent_id,
            reason=(reason or "refunded at Stripe")[:200],
            stripe_refund_id=refund_id,
        )
        if order.status == OrderStatus.PENDING_PAYMENT:
            refund.status = RefundStatus.DEFERRED
            refund.save(update_fields=["status", "updated_at"])
            ctx.step(StepOutcome.DEFERRED, refund=str(refund.pk), reason="refund seen before the payment")
            return
        note = apply_refund_to_order(order, refund)
        ctx.step(StepOutcome.APPLIED, refund=str(refund.pk), amount=refund.amount, note=note)
        sync_state(ctx.saga, ctx.refreshed())

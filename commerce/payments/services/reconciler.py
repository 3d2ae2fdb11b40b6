"""The reconciler (Celery beat): every order reaches a final state even if a webhook or a worker is lost.

1. Orders awaiting payment past PAYMENTS_RECONCILE_AFTER_SECONDS: ask Stripe for the PaymentIntent.
   succeeded / canceled -> the same `payment.*` event a webhook would have produced (the saga
   applies it idempotently); still unpaid past PAYMENTS_ABANDON_AFTER_SECONDS -> cancel the
   PaymentIntent at Stripe (so it can never be paid later) -> `payment.canceled`.
2. Cancelled orders whose PaymentIntent was never seen to end: same question, so money captured
   for a cancelled order is refunded and an open intent is cancelled.
3. Refunds still pending (worker died, broker down): the same call again, same idempotency key.
4. Mints requested long ago without an answer: asked again (idempotent per line), then given up
   (line refunded) after MAX_MINT_REQUESTS.
"""

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from commerce.models import LineStatus, OrderStatus
from commerce.payments.errors import PaymentsError
from commerce.payments.gateway import IntentResult, StripeGateway, get_gateway
from commerce.payments.models import AttemptStatus, MintStatus, PaymentAttempt, Refund, RefundStatus, SagaLine
from commerce.payments.services.minting import fail_line_locked, rerequest_mint
from commerce.payments.services.refunds import execute_refund
from commerce.payments.services.timeline import StepOutcome, lock_saga, record_step
from commerce.services.locks import lock_order
from realtime.outbox import emit

log = logging.getLogger(__name__)

MAX_MINT_REQUESTS = 5
FINAL_INTENT_STATUSES = ("succeeded", "canceled")
INTENT_EVENTS = {"succeeded": "payment.succeeded", "canceled": "payment.canceled"}


@dataclass
class ReconcileReport:
    checked: int = 0
    succeeded: int = 0
    canceled: int = 0
    abandoned: int = 0
    waiting: int = 0
    refunds_redriven: int = 0
    mints_rerequested: int = 0
    lines_given_up: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _candidates(now: datetime, limit: int) -> list[PaymentAttempt]:
    after = now - timedelta(seconds=settings.PAYMENTS_RECONCILE_AFTER_SECONDS)
    recently = Q(order__saga__reconciled_at__gt=after)
    awaiting = Q(order__status=OrderStatus.PENDING_PAYMENT, created_at__lte=after)
    cancelled_open = Q(order__status=OrderStatus.CANCELLED) & ~Q(stripe_status__in=FINAL_INTENT_STATUSES)
    return list(
        PaymentAttempt.objects.filter(status=AttemptStatus.OPEN)
        .filter(awaiting | cancelled_open)
        .exclude(recently)
        .select_related("order")
        .order_by("created_at")[:limit]
    )


def _record(
    attempt: PaymentAttempt, intent: IntentResult, *, now: datetime, event_type: str | None, note: str
) -> None:
    """In one transaction: note the check on the timeline and emit what Stripe's answer means."""
    with transaction.atomic():
        order = lock_order(attempt.order_id)
        saga = lock_saga(order.pk)
        saga.reconciled_at, saga.reconcile_count = now, saga.reconcile_count + 1
        saga.save(update_fields=["reconciled_at", "reconcile_count", "updated_at"])
        PaymentAttempt.objects.filter(pk=attempt.pk).update(stripe_status=intent.status)
        record_step(
            order_id=order.pk,
            step="reconciler.checked",
            outcome=StepOutcome.REQUESTED if event_type else StepOutcome.IGNORED,
            stripe_status=intent.status,
            emitted=event_type or "",
            note=note,
        )
        if event_type:
            emit(
                type=event_type,
                key=order.pk,
                payload={
                    "order_id": order.pk,
                    "payment_intent_id": attempt.payment_intent_id,
                    "amount": attempt.amount,
                    "currency": attempt.currency,
                },
            )


def reconcile_attempt(
    attempt: PaymentAttempt, *, gateway: StripeGateway, now: datetime, report: ReconcileReport
) -> None:
    """Ask Stripe about one PaymentIntent (outside any transaction) and act on the answer."""
    report.checked += 1
    intent = gateway.retrieve_intent(payment_intent_id=attempt.payment_intent_id)
    if intent.status in INTENT_EVENTS:
        setattr(report, intent.status, getattr(report, intent.status) + 1)
        _record(
            attempt,
            intent,
            now=now,
            event_type=INTENT_EVENTS[intent.status],
            note="from Stripe's PaymentIntent",
        )
        return
    age = (now - attempt.created_at).total_seconds()
    cancelled_order = attempt.order.status == OrderStatus.CANCELLED
    if intent.status == "processing" or (
        not cancelled_order and age < settings.PAYMENTS_ABANDON_AFTER_SECONDS
    ):
        report.waiting += 1
        _record(attempt, intent, now=now, event_type=None, note="still waiting for the buyer or the bank")
        return
    # Abandoned (or its order was cancelled): cancel it at Stripe so it can never be paid later. Stripe
    # answers 2xx only if it cancelled it (a paid intent answers an error and is seen next round).
    cancelled = gateway.cancel_intent(
        payment_intent_id=attempt.payment_intent_id,
        idempotency_key=f"mintdrop-intent-{attempt.payment_intent_id}-cancel",
    )
    report.abandoned += 1
    canceled = IntentResult(cancelled.id, "canceled", cancelled.amount, cancelled.currency)
    _record(
        attempt,
        canceled,
        now=now,
        event_type="payment.canceled",
        note=f"abandoned after {int(age)} s: cancelled at Stripe",
    )


def _stuck_mints(now: datetime, limit: int) -> list[SagaLine]:
    cutoff = now - timedelta(seconds=settings.PAYMENTS_RECONCILE_AFTER_SECONDS)
    return list(
        SagaLine.objects.filter(
            mint_status=MintStatus.REQUESTED, mint_requested_at__lte=cutoff, line__status=LineStatus.PAID
        )
        .select_related("line")
        .order_by("mint_requested_at")[:limit]
    )


def _give_up_mint(saga_line: SagaLine) -> None:
    with transaction.atomic():
        order = lock_order(saga_line.order_id)
        line = order.lines.get(pk=saga_line.line_id)
        if line.status == LineStatus.PAID:
            record_step(
                order_id=order.pk,
                step="reconciler.mint_given_up",
                outcome=StepOutcome.APPLIED,
                line_id=line.pk,
            )
            fail_line_locked(order, line, reason="mint_failed", detail="no answer from the chain side")


def reconcile_payments(
    *, gateway: StripeGateway | None = None, now: datetime | None = None, limit: int = 200
) -> ReconcileReport:
    """One reconciler round (see the module docstring); safe to run concurrently with everything else."""
    gateway = gateway or get_gateway()
    now = now or timezone.now()
    report = ReconcileReport()
    for attempt in _candidates(now, limit):
        try:
            reconcile_attempt(attempt, gateway=gateway, now=now, report=report)
        except PaymentsError as exc:
            report.errors += 1
            log.warning("reconcile of order %s failed: %s", attempt.order_id, exc.message)
    stale = now - timedelta(seconds=settings.PAYMENTS_REFUND_RETRY_AFTER_SECONDS)
    for refund_id in Refund.objects.filter(status=RefundStatus.PENDING, updated_at__lte=stale).values_list(
        "pk", flat=True
    )[:limit]:
        try:
            execute_refund(refund_id=str(refund_id), gateway=gateway)
            report.refunds_redriven += 1
        except PaymentsError as exc:
            report.errors += 1
            log.warning("refund %s still failing: %s", refund_id, exc.message)
    for saga_line in _stuck_mints(now, limit):
        if saga_line.mint_request_count >= MAX_MINT_REQUESTS:
            _give_up_mint(saga_line)
            report.lines_given_up += 1
        elif rerequest_mint(line_id=saga_line.line_id):
            report.mints_rerequested += 1
    return report

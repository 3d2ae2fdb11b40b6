"""What an operator can do from the admin: refund (full or chosen lines, idempotent), retry failed steps."""

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from commerce.models import LineStatus, OrderStatus
from commerce.payments.errors import NotFound, RefundNotAllowed
from commerce.payments.gateway import StripeGateway, get_gateway
from commerce.payments.models import (
    AttemptStatus,
    MintStatus,
    PaymentAttempt,
    Refund,
    RefundSource,
    RefundStatus,
    SagaLine,
)
from commerce.payments.services.minting import rerequest_mint
from commerce.payments.services.reconciler import ReconcileReport, reconcile_attempt
from commerce.payments.services.refunds import (
    line_refund_key,
    order_refund_key,
    request_refund,
    retry_failed_refund,
)
from commerce.payments.services.timeline import StepOutcome, record_step
from commerce.services.locks import lock_order

REFUNDABLE_ORDERS = (
    OrderStatus.PAID,
    OrderStatus.FULFILLING,
    OrderStatus.FULFILLED,
    OrderStatus.PARTIALLY_REFUNDED,
)
REFUNDABLE_LINES = (LineStatus.PAID, LineStatus.FULFILLED, LineStatus.UNAVAILABLE)
COMMITTED = (RefundStatus.PENDING, RefundStatus.SUCCEEDED, RefundStatus.DEFERRED)


def refund_lines(*, order_id: int, line_ids: list[int], actor: str) -> list[Refund]:
    """Refund the chosen lines (partial refund). Idempotent: a line is refunded at most once, whoever asks."""
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status not in REFUNDABLE_ORDERS or not order.payment_intent_id:
            raise RefundNotAllowed(
                f"A {order.status} order cannot be refunded.", details={"order_id": order_id}
            )
        lines = list(order.lines.filter(pk__in=line_ids))
        if len(lines) != len(set(line_ids)):
            raise NotFound("Line not found in this order.", details={"line_ids": line_ids})
        refunds = []
        for line in lines:
            if line.status not in REFUNDABLE_LINES and line.status != LineStatus.REFUNDED:
                raise RefundNotAllowed(
                    f"A {line.status} line cannot be refunded.", details={"line_id": line.pk}
                )
            refund, _ = request_refund(
                order=order,
                line=line,
                amount=line.amount,
                key=line_refund_key(line.pk),
                reason=f"refunded by {actor}",
                source=RefundSource.ADMIN,
            )
            refunds.append(refund)
        return refunds


def refund_in_full(*, order_id: int, actor: str) -> Refund | None:
    """Refund what is left of the order's payment. Idempotent: one full refund per order; None if nothing is left."""
    with transaction.atomic():
        order = lock_order(order_id)
        key = order_refund_key(order_id, "full")
        existing = Refund.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
        if order.status not in REFUNDABLE_ORDERS or not order.payment_intent_id:
            raise RefundNotAllowed(
                f"A {order.status} order cannot be refunded.", details={"order_id": order_id}
            )
        committed = (
            Refund.objects.filter(order=order, status__in=COMMITTED).aggregate(s=Sum("amount"))["s"] or 0
        )
        remaining = order.total - committed
        if remaining <= 0:
            return None
        refund, _ = request_refund(
            order=order,
            amount=remaining,
            key=key,
            reason=f"refunded in full by {actor}",
            source=RefundSource.ADMIN,
        )
        return refund


def retry_failed_steps(*, order_id: int, actor: str, gateway: StripeGateway | None = None) -> list[str]:
    """Re-drive what failed or is stuck: failed refunds, unanswered mints, an unresolved payment."""
    done: list[str] = []
    for refund in Refund.objects.filter(order_id=order_id, status=RefundStatus.FAILED):
        retry_failed_refund(refund_id=str(refund.pk))
        done.append(f"refund {refund.pk} retried")
    for saga_line in SagaLine.objects.filter(
        order_id=order_id, mint_status__in=(MintStatus.REQUESTED, MintStatus.NONE)
    ):
        if rerequest_mint(line_id=saga_line.line_id):
            done.append(f"mint of line {saga_line.line_id} requested again")
    attempt = (
        PaymentAttempt.objects.filter(
            order_id=order_id, status=AttemptStatus.OPEN, order__status=OrderStatus.PENDING_PAYMENT
        )
        .select_related("order")
        .first()
    )
    if attempt is not None:
        report = ReconcileReport()
        reconcile_attempt(attempt, gateway=gateway or get_gateway(), now=timezone.now(), report=report)
        done.append(f"payment checked with Stripe: {report.as_dict()}")
    with transaction.atomic():
        record_step(
            order_id=order_id, step="operator.retry", outcome=StepOutcome.REQUESTED, actor=actor, done=done
        )
    return done

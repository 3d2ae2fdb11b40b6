"""One Stripe PaymentIntent per order (`start_payment`) and the demo confirmation against stripe-mock."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from commerce.errors import ChargesNotEnabled
from commerce.errors import NotFound as CommerceNotFound
from commerce.models import Merchant, Order, OrderStatus, Settlement
from commerce.payments.errors import DemoDisabled, NotFound, OrderNotPayable, StripeRejected
from commerce.payments.gateway import Destination, OffSession, StripeGateway, get_gateway
from commerce.payments.models import AttemptStatus, PaymentAttempt
from commerce.payments.services.timeline import StepOutcome, lock_saga, record_step
from commerce.services.fees import application_fee
from commerce.services.locks import lock_order
from config.faults import crash_point


def intent_idempotency_key(order_id: int, attempt: int) -> str:
    """Stripe idempotency key of an order's PaymentIntent: a retried create returns the same intent."""
    return f"mintdrop-order-{order_id}-intent-{attempt}"


@dataclass(frozen=True)
class PaymentStart:
    order_id: int
    payment_intent_id: str
    client_secret: str
    amount: int
    currency: str
    attempt: int
    # This call created the PaymentIntent (False: an open one was returned); not part of equality,
    # so a repeated call still equals the first (the same intent).
    fresh: bool = field(default=False, compare=False)


def _result(attempt: PaymentAttempt, *, fresh: bool = False) -> PaymentStart:
    return PaymentStart(
        order_id=attempt.order_id,
        payment_intent_id=attempt.payment_intent_id,
        client_secret=attempt.client_secret,
        amount=attempt.amount,
        currency=attempt.currency,
        attempt=attempt.attempt,
        fresh=fresh,
    )


def _destination(order: Order) -> tuple[str, int]:
    """(connected account, platform fee) of a Connect merchant's order; ("", 0) on platform settlement.

    Destination charges, not separate charges and transfers: one PaymentIntent per order carries
    the transfer and the fee, Stripe moves the money atomically with the charge, and a refund can
    reverse both in the same call; nothing of ours has to run (and be retried) after the payment.
    """
    merchant = Merchant.objects.select_related("fee_plan").get(pk=order.merchant_id)
    if merchant.settlement != Settlement.CONNECT:
        return "", 0
    if not merchant.can_take_charges:
        raise ChargesNotEnabled(
            "This shop cannot take payments right now.", details={"merchant_id": merchant.pk}
        )
    return merchant.stripe_account_id, application_fee(
        merchant=merchant, amount=order.total, currency=order.currency
    )


def _open_attempt(*, order_id: int, buyer_id: int | None) -> PaymentAttempt:
    """Lock the order, check it may be paid, and return its current attempt (creating it if needed)."""
    with transaction.atomic():
        try:
            order = lock_order(order_id)
        except CommerceNotFound:
            raise NotFound("Order not found.", details={"resource": "order", "id": order_id}) from None
        if buyer_id is not None and order.buyer_id != buyer_id:
            raise NotFound("Order not found.", details={"resource": "order", "id": order_id})
        if order.status != OrderStatus.PENDING_PAYMENT:
            raise OrderNotPayable(f"The order is {order.status}.", details={"status": order.status})
        attempt = PaymentAttempt.objects.filter(order_id=order_id).order_by("-attempt").first()
        if attempt is not None and attempt.status != AttemptStatus.FAILED:
            return attempt  # open: reuse; creating: repeat the same call with the same key
        number = 1 if attempt is None else attempt.attempt + 1
        destination, fee = _destination(order)
        lock_saga(order_id)
        attempt = PaymentAttempt.objects.create(
            order_id=order_id,
            attempt=number,
            idempotency_key=intent_idempotency_key(order_id, number),
            amount=order.total,
            currency=order.currency,
            destination_account=destination,
            application_fee_amount=fee,
        )
        record_step(
            order_id=order_id, step="payment_intent.create", outcome=StepOutcome.REQUESTED, attempt=number
        )
        return attempt


def start_payment(
    *,
    order_id: int,
    buyer_id: int | None = None,
    gateway: StripeGateway | None = None,
    off_session: OffSession | None = None,
) -> PaymentStart:
    """Create (or return) the order's PaymentIntent: amount = order total, metadata = order id.

    The attempt row and its idempotency key are committed before Stripe is called, and the call is
    made outside any transaction; a retry (double click, timeout, crash) repeats it with the same
    key, so Stripe returns the same PaymentIntent instead of making a second one. `buyer_id`
    scopes the call to the order's buyer. `off_session` creates and confirms the intent on a saved
    card in the same call (only when this call creates it). Raises NotFound, OrderNotPayable,
    StripeUnavailable, StripeRejected (a declined off-session card: the attempt is marked failed).
    """
    attempt = _open_attempt(order_id=order_id, buyer_id=buyer_id)
    if attempt.status == AttemptStatus.OPEN:
        return _result(attempt)
    gateway = gateway or get_gateway()
    metadata = {"order_id": str(order_id), "attempt": str(attempt.attempt)}
    destination = (
        Destination(attempt.destination_account, attempt.application_fee_amount)
        if attempt.destination_account
        else None
    )
    try:
        intent = gateway.create_intent(
            amount=attempt.amount,
            currency=attempt.currency,
            metadata=metadata,
            idempotency_key=attempt.idempotency_key,
            destination=destination,
            off_session=off_session,
        )
    except StripeRejected as exc:
        with transaction.atomic():
            PaymentAttempt.objects.filter(pk=attempt.pk).update(
                status=AttemptStatus.FAILED, last_error=exc.message
            )
            record_step(
                order_id=order_id, step="payment_intent.create", outcome=StepOutcome.FAILED, error=exc.message
            )
        raise
    # Test-only: die after Stripe created the intent, before it is recorded (the retry re-sends the key).
    crash_point("intents.after_call")
    with transaction.atomic():
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.status == AttemptStatus.CREATING:  # a concurrent caller may have recorded it first
            attempt.status = AttemptStatus.OPEN
            attempt.payment_intent_id = intent.id
            attempt.client_secret = intent.client_secret
            attempt.stripe_status = intent.status
            attempt.save()
            Order.objects.filter(pk=order_id).update(payment_intent_id=intent.id)
            saga = lock_saga(order_id)
            saga.payment_intent_id = intent.id
            saga.save(update_fields=["payment_intent_id", "updated_at"])
            record_step(
                order_id=order_id,
                step="payment_intent.created",
                outcome=StepOutcome.APPLIED,
                payment_intent_id=intent.id,
                amount=intent.amount,
                currency=intent.currency,
                destination=attempt.destination_account,
                application_fee_amount=attempt.application_fee_amount,
                off_session=off_session is not None,
            )
    return _result(attempt, fresh=True)


def demo_confirm_payment(
    *,
    order_id: int,
    buyer_id: int | None = None,
    outcome: str = "succeeded",
    gateway: StripeGateway | None = None,
) -> str:
    """Demo only: confirm the PaymentIntent on stripe-mock, then deliver the webhook Stripe would send.

    stripe-mock is stateless and sends no webhooks, so after the (real) confirm call the simulator
    signs the matching event and hands it to the webhook intake. `outcome` is succeeded or failed.
    """
    from commerce.payments.simulator import deliver_in_process, event_for_order

    if not settings.PAYMENTS_DEMO_CONFIRM:
        raise DemoDisabled("Demo confirmation is disabled (PAYMENTS_DEMO_CONFIRM).")
    if outcome not in ("succeeded", "failed"):
        raise OrderNotPayable("outcome must be succeeded or failed.", details={"outcome": outcome})
    started = start_payment(order_id=order_id, buyer_id=buyer_id, gateway=gateway)
    gateway = gateway or get_gateway()
    method = "pm_card_visa" if outcome == "succeeded" else "pm_card_chargeDeclined"
    gateway.confirm_intent(
        payment_intent_id=started.payment_intent_id,
        payment_method=method,
        idempotency_key=f"mintdrop-order-{order_id}-confirm-{started.attempt}-{outcome}",
    )
    event_type = "payment_intent.succeeded" if outcome == "succeeded" else "payment_intent.payment_failed"
    return deliver_in_process(event_for_order(event_type, order_id=order_id))

"""Cards saved for off-session charges, and charging an auction winner's saved card.

A buyer saves a card once, agreeing in so many words that mintdrop may charge it when they win an
auction (`CONSENT_TEXT`, kept with the card). Saving is a Stripe Customer plus a SetupIntent
confirmed with `usage=off_session`; in production the PaymentMethod id comes from Stripe.js (the
card number never reaches us), in the demo it is one of Stripe's test methods (`pm_card_visa`).

When an auction closes with a winner who has an active saved card, the saga's `auction.offered`
handler asks for an off-session charge (`request_off_session_charge`); the Celery task makes it
after the commit (`charge_off_session`). A card the bank declines, or one that needs the buyer to
authenticate, fails that attempt only: the buyer still has the offer's checkout window to pay by
hand, exactly as without a saved card. Every Stripe call is made outside a transaction with an
idempotency key, so a retried task never charges twice.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from commerce.models import Order, OrderStatus
from commerce.payments.errors import CardNeedsAuthentication, ConsentRequired, StripeRejected
from commerce.payments.gateway import OffSession, StripeGateway, get_gateway
from commerce.payments.models import PaymentAttempt, SavedCard
from commerce.payments.services.intents import start_payment
from commerce.payments.services.timeline import StepOutcome, lock_saga, record_step
from commerce.payments.signals import off_session_charge_requested

CONSENT_TEXT = (
    "I agree that mintdrop may charge this card, without asking me again, for the winning bid of any "
    "auction I win, up to the amount of that bid. I can remove the card at any time."
)


@dataclass(frozen=True)
class ChargeOutcome:
    order_id: int
    result: str  # charged | declined | no_card | not_payable | buyer_paying
    payment_intent_id: str = ""
    error: str = ""


def _setup_status(status: str) -> str:
    """The confirmed SetupIntent's status; in the demo, what Stripe answers for its test card.

    stripe-mock is stateless and answers every SetupIntent with its fixture's `requires_payment_method`
    (the request itself is validated); Stripe answers `succeeded` for `pm_card_visa`. Real Stripe
    keys turn PAYMENTS_DEMO_CONFIRM off, and then the answer is taken as it is.
    """
    if settings.PAYMENTS_DEMO_CONFIRM and status == "requires_payment_method":
        return "succeeded"
    return status


def active_card(*, user_id: int) -> SavedCard | None:
    card = SavedCard.objects.filter(user_id=user_id).first()
    return card if card is not None and card.active else None


def save_card(
    *, user_id: int, payment_method: str, consent: bool, gateway: StripeGateway | None = None
) -> SavedCard:
    """Save `payment_method` as the buyer's card for off-session charges (replacing an older one).

    Raises ConsentRequired without consent, CardNeedsAuthentication when the bank wants 3-D Secure
    (details carry the SetupIntent's client secret for Stripe.js), StripeRejected / StripeUnavailable.
    """
    if not consent:
        raise ConsentRequired(
            "Saving a card for auction wins needs your consent to charge it.",
            details={"consent_text": CONSENT_TEXT},
        )
    with transaction.atomic():  # number this save's keys under the row lock; no Stripe call in here
        card, _ = SavedCard.objects.select_for_update().get_or_create(user_id=user_id)
        card.saves += 1
        card.save(update_fields=["saves", "updated_at"])
        customer_id, number = card.customer_id, card.saves
    gateway = gateway or get_gateway()
    if not customer_id:
        email = get_user_model().objects.filter(pk=user_id).values_list("email", flat=True).first() or ""
        customer_id = gateway.create_customer(
            email=email,
            metadata={"user_id": str(user_id)},
            idempotency_key=f"mintdrop-user-{user_id}-customer",
        )
    setup = gateway.setup_card(
        customer_id=customer_id,
        payment_method=payment_method,
        idempotency_key=f"mintdrop-user-{user_id}-setup-{number}",
    )
    if _setup_status(setup.status) != "succeeded":
        SavedCard.objects.filter(pk=card.pk).update(customer_id=customer_id)
        raise CardNeedsAuthentication(
            "Your bank wants you to confirm this card before it can be saved.",
            details={
                "setup_intent_id": setup.id,
                "client_secret": setup.client_secret,
                "status": setup.status,
            },
        )
    details = gateway.retrieve_card(payment_method_id=setup.payment_method_id)
    with transaction.atomic():
        card = SavedCard.objects.select_for_update().get(pk=card.pk)
        card.customer_id = customer_id
        card.payment_method_id = setup.payment_method_id
        card.setup_intent_id = setup.id
        card.brand, card.last4, card.fingerprint = details.brand, details.last4, details.fingerprint
        card.exp_month, card.exp_year = details.exp_month, details.exp_year
        card.consent_text, card.consented_at, card.removed_at = CONSENT_TEXT, timezone.now(), None
        card.save()
    return card


def remove_card(*, user_id: int, gateway: StripeGateway | None = None) -> bool:
    """Stop charging the buyer's saved card (and detach it at Stripe). False if none was active."""
    with transaction.atomic():
        card = SavedCard.objects.select_for_update().filter(user_id=user_id).first()
        if card is None or not card.active:
            return False
        card.removed_at = timezone.now()
        card.save(update_fields=["removed_at", "updated_at"])
        method, number = card.payment_method_id, card.saves
    # After the commit: a failed detach leaves a card at Stripe that we never charge again.
    (gateway or get_gateway()).detach_card(
        payment_method_id=method, idempotency_key=f"mintdrop-user-{user_id}-detach-{number}"
    )
    return True


def request_off_session_charge(*, order_id: int, buyer_id: int) -> bool:
    """Inside the caller's transaction: queue the charge of the buyer's saved card after the commit."""
    if active_card(user_id=buyer_id) is None:
        return False
    transaction.on_commit(lambda: off_session_charge_requested.send(sender=SavedCard, order_id=order_id))
    return True


def charge_off_session(*, order_id: int, gateway: StripeGateway | None = None) -> ChargeOutcome:
    """Charge the order's buyer's saved card for the order's total, once (idempotent by the attempt key)."""
    order = Order.objects.filter(pk=order_id).only("buyer_id", "status").first()
    if order is None or order.status != OrderStatus.PENDING_PAYMENT:
        return ChargeOutcome(order_id, "not_payable")
    card = active_card(user_id=order.buyer_id) if order.buyer_id else None
    if card is None:
        return ChargeOutcome(order_id, "no_card")
    if PaymentAttempt.objects.filter(order_id=order_id).exists():
        return ChargeOutcome(order_id, "buyer_paying")  # the buyer (or an earlier run) started paying
    try:
        started = start_payment(
            order_id=order_id,
            gateway=gateway,
            off_session=OffSession(customer_id=card.customer_id, payment_method_id=card.payment_method_id),
        )
    except StripeRejected as exc:  # declined or needs authentication: the checkout window stays open
        with transaction.atomic():
            lock_saga(order_id)
            record_step(order_id=order_id, step="payment_intent.off_session", outcome=StepOutcome.FAILED,
                        error=exc.message, stripe_code=exc.details.get("stripe_code", ""))  # fmt: skip
        return ChargeOutcome(order_id, "declined", error=exc.message)
    if not started.fresh:
        return ChargeOutcome(order_id, "buyer_paying", started.payment_intent_id)
    if settings.PAYMENTS_DEMO_CONFIRM:
        # stripe-mock sends no webhooks: deliver the signed one Stripe sends after an off-session charge.
        from commerce.payments.simulator import deliver_in_process, event_for_order

        deliver_in_process(event_for_order("payment_intent.succeeded", order_id=order_id))
    return ChargeOutcome(order_id, "charged", started.payment_intent_id)

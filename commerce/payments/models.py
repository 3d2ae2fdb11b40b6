"""Payments data: Stripe events received, PaymentIntents per order, refunds, the saga and its timeline."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from commerce.models import Order, OrderLine


class StripeEvent(models.Model):
    """A Stripe webhook event, stored once by its Stripe id (the de-duplication of deliveries)."""

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    payment_intent_id = models.CharField(max_length=255, blank=True)
    # What the event became: the outbox event type it was turned into, or why it was not.
    emitted_type = models.CharField(max_length=100, blank=True)
    ignored_reason = models.CharField(max_length=200, blank=True)
    stripe_created = models.DateTimeField(null=True, blank=True)
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"


class AttemptStatus(models.TextChoices):
    CREATING = "creating", "Creating at Stripe"  # row committed, the Stripe call may or may not have happened
    OPEN = "open", "PaymentIntent created"
    FAILED = "failed", "Stripe refused to create it"


class PaymentAttempt(models.Model):
    """One PaymentIntent for one order; the idempotency key is derived from (order, attempt).

    A new attempt is only made when Stripe refused the previous create for good, so an order has
    one live PaymentIntent and a retried request gets the same one back.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payment_attempts")
    attempt = models.PositiveIntegerField()
    idempotency_key = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=10, choices=AttemptStatus.choices, default=AttemptStatus.CREATING)
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    # Destination charge (Connect merchants): the merchant's account and the platform's fee, fixed
    # when the attempt is recorded so a repeated create sends the very same parameters.
    destination_account = models.CharField(max_length=255, blank=True)
    application_fee_amount = models.PositiveBigIntegerField(default=0)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    client_secret = models.CharField(max_length=500, blank=True)
    # Last PaymentIntent status Stripe reported to us (create, webhooks, reconciler).
    stripe_status = models.CharField(max_length=40, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order_id", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["order", "attempt"], name="payment_attempt_order_attempt_uniq"),
            models.UniqueConstraint(
                fields=["payment_intent_id"],
                condition=~Q(payment_intent_id=""),
                name="payment_attempt_intent_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} attempt {self.attempt} ({self.payment_intent_id or self.status})"


class SagaState(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment"
    PAYMENT_FAILED = "payment_failed"  # card declined; reservations still hold the stock, the buyer may retry
    FULFILLING = "fulfilling"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    REFUNDING = "refunding"  # money must go back (paid after cancel, stock lost, mint failed)
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class OrderSaga(models.Model):
    """The checkout saga of one order: where it stands; its steps are the `SagaStep` timeline."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, primary_key=True, related_name="saga")
    state = models.CharField(max_length=20, choices=SagaState.choices, default=SagaState.AWAITING_PAYMENT)
    # Furthest payment fact applied: "", failed, canceled, succeeded (never goes back from succeeded).
    payment_status = models.CharField(max_length=20, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconcile_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"saga of order {self.order_id}: {self.state}"


class StepOutcome(models.TextChoices):
    APPLIED = "applied"  # changed state
    IGNORED = "ignored"  # recorded, no effect (duplicate, late, contradicted by what is known)
    DEFERRED = "deferred"  # kept until a later fact arrives (a refund before the payment)
    REQUESTED = "requested"  # a command or a call was issued
    FAILED = "failed"


class SagaStep(models.Model):
    """One entry of an order's saga timeline: every fact the saga saw and what it did about it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="saga_steps")
    step = models.CharField(max_length=60)
    outcome = models.CharField(max_length=10, choices=StepOutcome.choices)
    event_id = models.UUIDField(null=True, blank=True)
    stripe_event_id = models.CharField(max_length=255, blank=True)
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="saga_step_order_at_idx")]

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.step} {self.outcome}"


class MintStatus(models.TextChoices):
    NONE = "", "-"
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    FAILED = "failed"


class SagaLine(models.Model):
    """Fulfilment progress of one order line as the saga sees it (mint and shipment requests)."""

    line = models.OneToOneField(OrderLine, on_delete=models.CASCADE, primary_key=True, related_name="saga")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+")
    mint_status = models.CharField(max_length=10, choices=MintStatus.choices, blank=True)
    mint_requested_at = models.DateTimeField(null=True, blank=True)
    mint_request_count = models.PositiveIntegerField(default=0)
    tx_hash = models.CharField(max_length=66, blank=True)
    shipment_requested = models.BooleanField(default=False)
    failed_reason = models.CharField(max_length=1000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"line {self.line_id}: mint {self.mint_status or '-'}"


class RefundStatus(models.TextChoices):
    PENDING = "pending"  # intent recorded; the Stripe call is (re)made with the same key until it answers
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # Stripe refused for good; an admin may retry
    DEFERRED = "deferred"  # seen at Stripe before the payment was applied; applied after it


class RefundSource(models.TextChoices):
    SAGA = "saga"  # mint failed, stock lost, paid after cancellation
    ADMIN = "admin"
    EXTERNAL = "external"  # made outside mintdrop (Stripe dashboard), learnt from charge.refunded


class Refund(models.Model):
    """Money going back, recorded BEFORE the Stripe call; the key makes repeating the call safe."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    line = models.ForeignKey(
        OrderLine, on_delete=models.CASCADE, null=True, blank=True, related_name="refunds"
    )
    idempotency_key = models.CharField(max_length=255, unique=True)
    source = models.CharField(max_length=10, choices=RefundSource.choices)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    payment_intent_id = models.CharField(max_length=255)
    # A refund of a destination charge reverses the merchant's transfer and the platform's fee share.
    reverse_transfer = models.BooleanField(default=False)
    reason = models.CharField(max_length=200)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=1), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["stripe_refund_id"], condition=~Q(stripe_refund_id=""), name="refund_stripe_id_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} {self.currency} of order {self.order_id} ({self.status})"


class SavedCard(models.Model):
    """A buyer's card saved (a Stripe Customer + PaymentMethod) for off-session charges of auction wins.

    Saved only with the buyer's consent to be charged without being present; the consent's wording
    and time are kept with the card (card networks require the merchant to be able to show it).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_card")
    customer_id = models.CharField(max_length=255, blank=True)
    payment_method_id = models.CharField(max_length=255, blank=True)
    setup_intent_id = models.CharField(max_length=255, blank=True)
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    consent_text = models.TextField(blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    saves = models.PositiveIntegerField(default=0)  # numbers the SetupIntents' idempotency keys
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.brand or 'card'} ending {self.last4 or '????'} of user {self.user_id}"

    @property
    def active(self) -> bool:
        return bool(self.payment_method_id) and self.consented_at is not None and self.removed_at is None


class PaymentOrder(Order):
    """The order as the payments admin shows it: payment, refunds and saga timeline."""

    class Meta:
        proxy = True
        verbose_name = "order payment & saga"
        verbose_name_plural = "order payments & sagas"

"""Orders, their lines, and the order state machine (the only place it is defined)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from commerce.models.catalog import ProductKind, Sku
from commerce.models.drops import Drop, DropItem
from commerce.models.merchants import Merchant
from commerce.models.reservations import Reservation


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    PAID = "paid", "Paid"
    FULFILLING = "fulfilling", "Fulfilling"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"


S = OrderStatus
# from-status -> statuses it may move to. A partially refunded order still fulfils its other
# lines (e.g. one NFT failed to mint for good and was refunded, the rest go on).
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.FULFILLING, S.FULFILLED, S.REFUNDED, S.PARTIALLY_REFUNDED}),
    S.FULFILLING: frozenset({S.FULFILLED, S.REFUNDED, S.PARTIALLY_REFUNDED}),
    # fulfilled -> fulfilling: a chain reorg removed a confirmed mint (order.reopened).
    S.FULFILLED: frozenset({S.FULFILLING, S.REFUNDED, S.PARTIALLY_REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.FULFILLING, S.FULFILLED, S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}
FINAL_STATUSES = frozenset({S.FULFILLED, S.CANCELLED, S.REFUNDED})


class Order(models.Model):
    """What a buyer checked out from live reservations of one merchant."""

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="orders")
    drop = models.ForeignKey(Drop, on_delete=models.PROTECT, null=True, blank=True, related_name="orders")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT)
    status_reason = models.CharField(max_length=200, blank=True)
    total = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    refunded_amount = models.PositiveBigIntegerField(default=0)
    # Filled in by the payments package (Stripe PaymentIntent id).
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Snapshot of `commerce.addresses.ShippingAddress.as_dict()` taken at checkout; empty when
    # nothing in the order ships with it.
    shipping_address = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["buyer", "-created_at"], name="order_buyer_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("total")), name="order_refund_le_total"
            )
        ]

    def __str__(self) -> str:
        return f"order {self.pk} ({self.status})"


class LineStatus(models.TextChoices):
    PENDING = "pending", "Pending payment"
    PAID = "paid", "Paid"
    UNAVAILABLE = "unavailable", "Paid but stock was lost (to refund)"
    FULFILLED = "fulfilled", "Fulfilled"
    REFUNDED = "refunded", "Refunded"
    CANCELLED = "cancelled", "Cancelled"


class OrderLine(models.Model):
    """One SKU in an order, with the price and product as they were at checkout.

    NFT lines (digital, phygital) always have quantity 1: one line is one token to mint.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    drop_item = models.ForeignKey(DropItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reservation = models.ForeignKey(
        Reservation, on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )
    kind = models.CharField(max_length=10, choices=ProductKind.choices)
    title = models.CharField(max_length=200)
    product_snapshot = models.JSONField(default=dict)
    quantity = models.PositiveIntegerField()
    unit_price = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12, choices=LineStatus.choices, default=LineStatus.PENDING)
    nft_chain_id = models.PositiveBigIntegerField(null=True, blank=True)
    nft_contract_address = models.CharField(max_length=42, blank=True)
    metadata_template = models.JSONField(default=dict, blank=True)
    # uint256 as a decimal string, allocated when the line is paid.
    token_id = models.CharField(max_length=78, blank=True)
    # Decided at checkout from the product: a parcel goes out with this order (physical, or
    # phygital "ship with purchase"). A line is done when each of its parts is: the NFT confirmed
    # (`nft_confirmed_at`), the parcel handed to the carrier (`shipped_at`).
    ships = models.BooleanField(default=False)
    nft_confirmed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(kind=ProductKind.PHYSICAL) | Q(quantity=1), name="line_nft_quantity_one"
            ),
        ]

    def __str__(self) -> str:
        return f"line {self.pk}: {self.quantity} x {self.title}"

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price

    @property
    def mints_nft(self) -> bool:
        return self.kind != ProductKind.PHYSICAL

    @property
    def parts_done(self) -> bool:
        """Every part of the line is delivered: its NFT confirmed (if any) and its parcel shipped (if any)."""
        minted = not self.mints_nft or self.nft_confirmed_at is not None
        shipped = not self.ships or self.shipped_at is not None
        return minted and shipped

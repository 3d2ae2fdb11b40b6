"""Stock held for a buyer for a limited time."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from commerce.models.drops import Drop, DropItem, StockShard


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", "Active"  # holds `quantity` units in its stock row's `reserved`
    SOLD = "sold", "Sold"  # its units moved to DropItem.sold when the order was paid
    RELEASED = "released", "Released"  # its units went back to stock


class ReleaseReason(models.TextChoices):
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_CANCELED = "payment_canceled"
    ORDER_CANCELLED = "order_cancelled"
    REFUNDED = "refunded"


class Reservation(models.Model):
    """Units of one drop item held for one buyer until `expires_at` (or checkout and payment)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    drop = models.ForeignKey(Drop, on_delete=models.PROTECT, related_name="reservations")
    item = models.ForeignKey(DropItem, on_delete=models.PROTECT, related_name="reservations")
    # The stock row holding the units: a shard of a split item, or the item's own row (null).
    shard = models.ForeignKey(
        StockShard, on_delete=models.PROTECT, null=True, blank=True, related_name="reservations"
    )
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE
    )
    expires_at = models.DateTimeField()
    # Set at checkout; the reservation keeps holding stock while the order awaits payment.
    order = models.ForeignKey(
        "commerce.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="reservations"
    )
    release_reason = models.CharField(max_length=20, choices=ReleaseReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["expires_at"], name="reservation_active_expiry_idx", condition=Q(status="active")
            ),
            models.Index(fields=["buyer", "status"], name="reservation_buyer_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="reservation_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x item {self.item_id} for buyer {self.buyer_id} ({self.status})"

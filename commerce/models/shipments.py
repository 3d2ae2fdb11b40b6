"""Shipments: one parcel per paid order's shipping lines, or per phygital redemption."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from commerce.models.catalog import Sku
from commerce.models.merchants import Merchant
from commerce.models.orders import Order, OrderLine


class ShipmentStatus(models.TextChoices):
    PENDING = "pending", "To ship"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cannot ship (refunded)"


class Shipment(models.Model):
    """What the merchant packs and hands to a carrier. Exactly one of `order` / `redemption_id` is set.

    `pick_list` and `shipping_address` are snapshots taken when the shipment is created: the
    packing slip never changes because the catalog or an address book did.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="shipments")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shipments")
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="shipments"
    )
    # nft app's redemption id (no foreign key: commerce does not depend on the nft app).
    redemption_id = models.PositiveBigIntegerField(null=True, blank=True)
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=ShipmentStatus.choices, default=ShipmentStatus.PENDING)
    shipping_address = models.JSONField()
    # [{"line_id", "title", "sku_code", "sku_name", "quantity"}] -- what goes in the box.
    pick_list = models.JSONField(default=list)
    carrier = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    tracking_url = models.CharField(max_length=500, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["merchant", "status", "created_at"], name="shipment_queue_idx")]
        constraints = [
            # One shipment per order (all its shipping lines travel together) and per redemption.
            models.UniqueConstraint(
                fields=["order"], condition=Q(order__isnull=False), name="shipment_one_per_order"
            ),
            models.UniqueConstraint(
                fields=["redemption_id"],
                condition=Q(redemption_id__isnull=False),
                name="shipment_one_per_redemption",
            ),
            models.CheckConstraint(
                condition=Q(order__isnull=False, redemption_id__isnull=True)
                | Q(order__isnull=True, redemption_id__isnull=False),
                name="shipment_order_xor_redemption",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["shipped", "delivered"]) | (~Q(carrier="") & ~Q(tracking_number="")),
                name="shipment_shipped_has_tracking",
            ),
        ]

    def __str__(self) -> str:
        return f"shipment {self.pk} ({self.status})"

    @property
    def event_key(self) -> str:
        """The Kafka key of its events: the order id, or `redemption-<id>`."""
        return str(self.order_id) if self.order_id else f"redemption-{self.redemption_id}"


class ShipmentLine(models.Model):
    """An order line in a shipment (a line travels in one shipment only)."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    line = models.OneToOneField(OrderLine, on_delete=models.PROTECT, related_name="shipment_line")

    class Meta:
        ordering = ["line_id"]

    def __str__(self) -> str:
        return f"line {self.line_id} in shipment {self.shipment_id}"

"""Live drops, the stock counters they sell from, and per-buyer counters for the limit."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import LessThanOrEqual

from commerce.models.catalog import Sku
from commerce.models.merchants import Merchant


class DropState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    LIVE = "live", "Live"
    PAUSED = "paused", "Paused"
    SOLD_OUT = "sold_out", "Sold out"
    ENDED = "ended", "Ended"


# The drop state machine, in one place: from-state -> states it may move to.
DROP_TRANSITIONS: dict[str, frozenset[str]] = {
    DropState.SCHEDULED: frozenset({DropState.LIVE, DropState.ENDED}),
    DropState.LIVE: frozenset({DropState.PAUSED, DropState.SOLD_OUT, DropState.ENDED}),
    DropState.PAUSED: frozenset({DropState.LIVE, DropState.SOLD_OUT, DropState.ENDED}),
    # Stock coming back (restock, expired reservations) re-opens a sold-out drop.
    DropState.SOLD_OUT: frozenset({DropState.LIVE, DropState.ENDED}),
    DropState.ENDED: frozenset(),
}


class Drop(models.Model):
    """A time-boxed sale of limited stock."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="drops")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=10_000)
    state = models.CharField(max_length=10, choices=DropState.choices, default=DropState.SCHEDULED)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    per_buyer_limit = models.PositiveIntegerField(
        default=2, help_text="Units one account may hold (reserved + bought) in this drop."
    )
    state_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at", "id"]
        indexes = [models.Index(fields=["state", "starts_at"], name="drop_state_starts_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(per_buyer_limit__gte=1), name="drop_limit_positive"),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="drop_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.state})"


class DropItem(models.Model):
    """One SKU offered in a drop: the stock counters every reservation updates conditionally."""

    drop = models.ForeignKey(Drop, on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="drop_items")
    # Price snapshot for this drop (a drop may discount), minor units.
    price = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    offered = models.PositiveIntegerField()
    reserved = models.IntegerField(default=0)
    sold = models.IntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["drop", "sku"], name="dropitem_sku_unique"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="dropitem_reserved_nonneg"),
            models.CheckConstraint(condition=Q(sold__gte=0), name="dropitem_sold_nonneg"),
            models.CheckConstraint(
                condition=LessThanOrEqual(F("sold") + F("reserved"), F("offered")),
                name="dropitem_never_oversold",
            ),
        ]

    def __str__(self) -> str:
        return f"drop {self.drop_id} sku {self.sku_id}: {self.available}/{self.offered}"

    @property
    def available(self) -> int:
        return self.offered - self.reserved - self.sold


class DropBuyer(models.Model):
    """Units one buyer holds in one drop (active reservations + purchases), for the per-buyer limit."""

    drop = models.ForeignKey(Drop, on_delete=models.CASCADE, related_name="buyers")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    units = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["drop", "buyer"], name="dropbuyer_unique"),
            models.CheckConstraint(condition=Q(units__gte=0), name="dropbuyer_units_nonneg"),
        ]

    def __str__(self) -> str:
        return f"buyer {self.buyer_id} in drop {self.drop_id}: {self.units}"

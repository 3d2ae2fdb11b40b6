"""Live drops, the stock counters they sell from, and per-buyer counters for the limit."""

from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
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
    # The one currency of the drop (and so of every order from it): its SKUs' currency, ISO 4217.
    currency = models.CharField(max_length=3, blank=True, default="")
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


class DropItemQuerySet(models.QuerySet["DropItem"]):
    def with_stock_totals(self) -> "DropItemQuerySet":
        """Annotate the sums of each item's shards, so `stock_*` / `available` need no query."""
        shards = StockShard.objects.filter(item_id=OuterRef("pk")).values("item_id")
        return self.annotate(
            **{
                f"shard_{name}": Coalesce(
                    Subquery(shards.annotate(n=Sum(name)).values("n")), 0, output_field=models.IntegerField()
                )
                for name in ("offered", "reserved", "sold")
            }
        )


class DropItem(models.Model):
    """One SKU offered in a drop: the stock counters every reservation updates conditionally.

    A hot item may have its stock split over several `StockShard` rows so that buyers commit in
    parallel instead of queueing on this one row. The item's stock is then this row's counters
    plus its shards' (`stock.item_counters`, the `stock_*` annotations of `selectors`); the split
    moves the free units to the shards, so this row keeps what it held (often nothing).
    """

    drop = models.ForeignKey(Drop, on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="drop_items")
    # Price snapshot for this drop (a drop may discount), minor units.
    price = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    offered = models.PositiveIntegerField()
    reserved = models.IntegerField(default=0)
    sold = models.IntegerField(default=0)

    objects = DropItemQuerySet.as_manager()

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
        return f"drop {self.drop_id} sku {self.sku_id}: {self.available}/{self.stock_offered}"

    def _shard_sums(self) -> tuple[int, int, int]:
        """(offered, reserved, sold) over the item's shards: from `with_stock_totals()`, else a query."""
        if hasattr(self, "shard_offered"):
            return tuple(int(getattr(self, f"shard_{n}")) for n in ("offered", "reserved", "sold"))  # type: ignore[return-value]
        if self.pk is None:
            return 0, 0, 0
        sums = StockShard.objects.filter(item_id=self.pk).aggregate(
            o=Sum("offered"), r=Sum("reserved"), s=Sum("sold")
        )
        return sums["o"] or 0, sums["r"] or 0, sums["s"] or 0

    # The item's stock: its own row plus its shards (all of it lives on this row if not split).
    @property
    def stock_offered(self) -> int:
        return self.offered + self._shard_sums()[0]

    @property
    def stock_reserved(self) -> int:
        return self.reserved + self._shard_sums()[1]

    @property
    def stock_sold(self) -> int:
        return self.sold + self._shard_sums()[2]

    @property
    def available(self) -> int:
        offered, reserved, sold = self._shard_sums()
        return self.offered + offered - self.reserved - reserved - self.sold - sold


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


class StockShard(models.Model):
    """A slice of a drop item's stock with counters of its own (same invariants as DropItem).

    Reservations take units from any shard with room (`stock.reserve_in_one_statement`), so
    concurrent winners lock different rows. Each row never oversells, hence neither does the item.
    """

    item = models.ForeignKey(DropItem, on_delete=models.CASCADE, related_name="shards")
    index = models.PositiveSmallIntegerField()
    offered = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    sold = models.IntegerField(default=0)

    class Meta:
        ordering = ["item", "index"]
        constraints = [
            models.UniqueConstraint(fields=["item", "index"], name="stockshard_index_unique"),
            models.CheckConstraint(condition=Q(offered__gte=0), name="stockshard_offered_nonneg"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stockshard_reserved_nonneg"),
            models.CheckConstraint(condition=Q(sold__gte=0), name="stockshard_sold_nonneg"),
            models.CheckConstraint(
                condition=LessThanOrEqual(F("sold") + F("reserved"), F("offered")),
                name="stockshard_never_oversold",
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} shard {self.index}: {self.offered - self.reserved - self.sold}/{self.offered}"

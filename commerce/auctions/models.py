"""Live auctions and giveaways of a show.

An auction sells one unit of a pinned product's SKU to the highest bid accepted before it ends by
server time. Its row holds the current price and leader (the one place the highest bid is decided,
under the row lock); every accepted bid is a `Bid` row numbered per auction (`seq`) and an
`auction.bid_accepted` event, so the log replays the auction.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from commerce.models import Merchant, Order, Product, Sku
from commerce.shows.models import Show


class AuctionState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"  # a winner has a checkout window
    PAID = "paid", "Paid"
    PASSED = "passed", "Passed"  # no (valid) bid, reserve not met, or nobody paid


AUCTION_TRANSITIONS: dict[str, frozenset[str]] = {
    AuctionState.SCHEDULED: frozenset({AuctionState.OPEN, AuctionState.PASSED}),
    AuctionState.OPEN: frozenset({AuctionState.CLOSED, AuctionState.PASSED}),
    AuctionState.CLOSED: frozenset({AuctionState.PAID, AuctionState.PASSED}),
    AuctionState.PAID: frozenset(),
    AuctionState.PASSED: frozenset(),
}


class Ending(models.TextChoices):
    ANTI_SNIPE = "anti_snipe", "Anti-snipe (a late bid extends the clock)"
    SUDDEN_DEATH = "sudden_death", "Sudden death (ends on time, whatever happens)"


class Auction(models.Model):
    show = models.ForeignKey(Show, on_delete=models.PROTECT, related_name="auctions")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="auctions")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="usd")
    starting_price = models.PositiveBigIntegerField(help_text="Minor units.")
    # [[from_amount, step], ...] ascending: the step applies once the current bid is >= from_amount.
    increments = models.JSONField(default=list)
    reserve_price = models.PositiveBigIntegerField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField()
    ending = models.CharField(max_length=12, choices=Ending.choices, default=Ending.ANTI_SNIPE)
    anti_snipe_seconds = models.PositiveIntegerField(default=15)
    checkout_minutes = models.PositiveIntegerField(default=10)
    state = models.CharField(max_length=10, choices=AuctionState.choices, default=AuctionState.SCHEDULED)
    opens_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    current_bid = models.PositiveBigIntegerField(null=True, blank=True)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    bids_count = models.PositiveIntegerField(default=0)
    extensions = models.PositiveIntegerField(default=0)
    # After close: who is offered the item now, at what price, until when (winner, then second chance).
    offer_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    offer_amount = models.PositiveBigIntegerField(null=True, blank=True)
    offer_round = models.PositiveSmallIntegerField(default=0)  # 1 = winner, 2 = second chance
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    pay_by = models.DateTimeField(null=True, blank=True)
    result_reason = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["show", "-id"], name="auction_show_recent_idx"),
            models.Index(fields=["state", "ends_at"], name="auction_state_ends_idx"),
        ]
        constraints = [
            # The one-open-per-show rule: viewers see one auction clock at a time.
            models.UniqueConstraint(
                fields=["show"], condition=Q(state="open"), name="auction_one_open_per_show"
            ),
            models.CheckConstraint(
                condition=Q(current_bid__isnull=True) | Q(current_bid__gte=F("starting_price")),
                name="auction_bid_at_least_start",
            ),
            models.CheckConstraint(condition=Q(starting_price__gte=1), name="auction_start_positive"),
        ]

    def __str__(self) -> str:
        return f"auction {self.pk} {self.title} ({self.state})"


class BidKind(models.TextChoices):
    MANUAL = "manual", "Placed by the bidder"
    PROXY = "proxy", "Placed for the bidder up to their max bid"


class Bid(models.Model):
    """An accepted bid; `seq` numbers them per auction (1, 2, ...) in the order they were accepted."""

    auction = models.ForeignKey(Auction, on_delete=models.CASCADE, related_name="bids")
    seq = models.PositiveIntegerField()
    bidder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=6, choices=BidKind.choices, default=BidKind.MANUAL)
    placed_at = models.DateTimeField()

    class Meta:
        ordering = ["auction", "seq"]
        constraints = [models.UniqueConstraint(fields=["auction", "seq"], name="bid_seq_unique")]

    def __str__(self) -> str:
        return f"bid {self.seq} of auction {self.auction_id}: {self.amount}"


class MaxBid(models.Model):
    """A bidder's ceiling: the auction bids for them, one increment at a time, up to `cap`."""

    auction = models.ForeignKey(Auction, on_delete=models.CASCADE, related_name="max_bids")
    bidder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cap = models.PositiveBigIntegerField()
    set_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["auction", "bidder"], name="maxbid_unique")]

    def __str__(self) -> str:
        return f"max bid of {self.bidder_id} on auction {self.auction_id}: {self.cap}"


class GiveawayState(models.TextChoices):
    OPEN = "open", "Open for entries"
    DRAWN = "drawn", "Drawn"


class Giveaway(models.Model):
    """A free draw among present signed-in viewers with a commit-reveal seed.

    `seed_hash` = sha256(seed) is published when the giveaway opens; the seed itself only after
    the draw. Winner index = int(sha256(seed + ":" + entrants_hash)) mod len(entrants), entrants
    sorted by user id and hashed as "id,id,...": anyone can recompute it from what is published.
    """

    show = models.ForeignKey(Show, on_delete=models.PROTECT, related_name="giveaways")
    title = models.CharField(max_length=200)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    state = models.CharField(max_length=6, choices=GiveawayState.choices, default=GiveawayState.OPEN)
    seed = models.CharField(max_length=64)  # secret until drawn
    seed_hash = models.CharField(max_length=64)
    entrants_hash = models.CharField(max_length=64, blank=True)
    entrants_count = models.PositiveIntegerField(default=0)
    winner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    drawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"giveaway {self.pk} {self.title} ({self.state})"


class GiveawayEntry(models.Model):
    giveaway = models.ForeignKey(Giveaway, on_delete=models.CASCADE, related_name="entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["giveaway", "user"], name="giveaway_entry_unique")]

    def __str__(self) -> str:
        return f"user {self.user_id} in giveaway {self.giveaway_id}"

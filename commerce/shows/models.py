"""Live shows: the show and its state machine, pins, flash drops, chat messages and mutes.

The show's timeline (pins, flash drops, messages, moderation) is also written to the outbox as
`show.*` events; these tables are what the pages, the venue feed and late joiners read.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from commerce.models import Drop, Merchant, Product


class ShowState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    LIVE = "live", "Live"
    ENDED = "ended", "Ended"


# The show state machine: from-state -> states it may move to.
SHOW_TRANSITIONS: dict[str, frozenset[str]] = {
    ShowState.SCHEDULED: frozenset({ShowState.LIVE, ShowState.ENDED}),
    ShowState.LIVE: frozenset({ShowState.ENDED}),
    ShowState.ENDED: frozenset(),
}


class Show(models.Model):
    """A merchant's live stream. We only store where to play it; the merchant's tool produces it."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="shows")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5_000)
    cover_image_url = models.CharField(max_length=500, blank=True)
    # An HLS playlist (.m3u8) played with hls.js, or an embeddable player URL (iframe).
    playback_url = models.CharField(max_length=500)
    scheduled_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=ShowState.choices, default=ShowState.SCHEDULED)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    pinned_product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The flash drop viewers buy from right now (the latest one launched).
    flash_drop = models.ForeignKey(Drop, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-scheduled_at", "id"]
        indexes = [models.Index(fields=["state", "scheduled_at"], name="show_state_sched_idx")]

    def __str__(self) -> str:
        return f"{self.title} ({self.state})"

    @property
    def is_hls(self) -> bool:
        return self.playback_url.split("?", 1)[0].lower().endswith(".m3u8")


class ShowPin(models.Model):
    """One period a product was pinned on a show (the timeline of pins)."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="pins")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    pinned_at = models.DateTimeField(auto_now_add=True)
    unpinned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pinned_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["show"], condition=Q(unpinned_at__isnull=True), name="showpin_one_open_per_show"
            )
        ]

    def __str__(self) -> str:
        return f"show {self.show_id} pin product {self.product_id}"


class FlashDrop(models.Model):
    """A commerce drop launched from a show (the drop itself lives in commerce)."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="flash_drops")
    drop = models.OneToOneField(Drop, on_delete=models.PROTECT, related_name="show_link")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    launched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["launched_at", "id"]

    def __str__(self) -> str:
        return f"show {self.show_id} flash drop {self.drop_id}"


class ChatMessage(models.Model):
    """A chat line as typed (validated, never HTML); escaped whenever it is rendered."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="messages")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=500)
    is_host = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["show", "-id"], name="chat_show_recent_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.text[:40]}"


class ShowMute(models.Model):
    """A viewer muted on one show by its host."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="mutes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    muted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["show", "user"], name="showmute_unique")]

    def __str__(self) -> str:
        return f"user {self.user_id} muted in show {self.show_id}"

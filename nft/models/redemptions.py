"""Redemptions of phygital tokens for their physical item (the on-chain `redeem`, then a shipment)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from nft.models.fields import address_field, hash_field, uint256_field


class RedemptionStatus(models.TextChoices):
    AWAITING_SIGNATURE = "awaiting_signature"  # a linked wallet must sign `redeem` in the browser
    SUBMITTED = "submitted"  # the redeem transaction is known (ours, or verified from the shopper's)
    CONFIRMED = "confirmed"  # its `Redeemed` log is confirmed (nft.redeemed emitted)
    FAILED = "failed"  # reverted, dropped or abandoned: the token may be redeemed again


OPEN_REDEMPTION_STATUSES = (
    RedemptionStatus.AWAITING_SIGNATURE,
    RedemptionStatus.SUBMITTED,
    RedemptionStatus.CONFIRMED,
)


class Redemption(models.Model):
    """One owner's request to receive the physical item of a token; at most one open per token."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    collection = models.ForeignKey("nft.Collection", on_delete=models.PROTECT, related_name="redemptions")
    token_id = uint256_field()
    owner_address = address_field()
    wallet_kind = models.CharField(max_length=10)  # custodial (we sign) | linked (the shopper signs)
    shipping_address = models.JSONField()
    status = models.CharField(
        max_length=20, choices=RedemptionStatus.choices, default=RedemptionStatus.AWAITING_SIGNATURE
    )
    tx = models.ForeignKey(
        "nft.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tx_hash = hash_field(blank=True, default="")
    # The shopper-signed bytes (from the node), so a reorg that drops them is answered by re-sending.
    raw_tx = models.BinaryField(default=b"", blank=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "token_id"],
                condition=Q(status__in=[s.value for s in OPEN_REDEMPTION_STATUSES]),
                name="nft_redemption_one_open_per_token",
            ),
            models.UniqueConstraint(
                fields=["tx_hash"], condition=~Q(tx_hash=""), name="nft_redemption_tx_hash_uniq"
            ),
        ]
        indexes = [models.Index(fields=["status"], name="nft_redemption_status_idx")]

    def __str__(self) -> str:
        return f"redemption {self.pk} of {self.collection_id}#{self.token_id} ({self.status})"

"""Merchants and the users who run them."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Settlement(models.TextChoices):
    """Where a merchant's buyers' money lands.

    platform: the platform's own Stripe account (merchants an admin created before Connect, the
    house shop); connect: a Stripe Connect Express account of the merchant, paid by destination
    charges minus the platform's fee. Onboarded sellers are always `connect`.
    """

    PLATFORM = "platform", "Platform account"
    CONNECT = "connect", "Stripe Connect account"


class Merchant(models.Model):
    """A shop that sells products in drops."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    # Where the merchant is paid on chain: the ERC-2981 royalty receiver of its collections.
    payout_address = models.CharField(max_length=42, blank=True, default="")
    # Royalty on secondary sales of its tokens, in basis points (500 = 5 %), set at deploy.
    royalty_bps = models.PositiveIntegerField(default=500)
    settlement = models.CharField(max_length=10, choices=Settlement.choices, default=Settlement.PLATFORM)
    # The Stripe Connect (Express) account and what its last applied account.updated said.
    stripe_account_id = models.CharField(max_length=255, blank=True, default="")
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    # `created` of the account.updated applied last: an older event delivered late changes nothing.
    stripe_account_synced_at = models.DateTimeField(null=True, blank=True)
    fee_plan = models.ForeignKey(
        "commerce.FeePlan", on_delete=models.PROTECT, null=True, blank=True, related_name="merchants"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(payout_address="") | Q(payout_address__regex=r"^0x[0-9a-fA-F]{40}$"),
                name="merchant_payout_address_hex",
            ),
            models.CheckConstraint(
                condition=Q(royalty_bps__lte=10_000), name="merchant_royalty_bps_lte_10000"
            ),
            models.UniqueConstraint(
                fields=["stripe_account_id"],
                condition=~Q(stripe_account_id=""),
                name="merchant_stripe_account_uniq",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def can_take_charges(self) -> bool:
        """Whether a drop of this merchant may open: platform settlement, or Connect with charges enabled."""
        if self.settlement == Settlement.PLATFORM:
            return True
        return bool(self.stripe_account_id) and self.charges_enabled


class MerchantRole(models.TextChoices):
    OWNER = "owner", "Owner"
    STAFF = "staff", "Staff"


class MerchantMembership(models.Model):
    """A user working for a merchant; any member may manage its catalog and drops."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=MerchantRole.choices, default=MerchantRole.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "merchant"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant} ({self.role})"

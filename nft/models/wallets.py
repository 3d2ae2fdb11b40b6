"""Shoppers' wallets (custodial or linked with Sign-In with Ethereum), SIWE nonces, claims."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from nft.models.fields import address_field, uint256_field


class WalletKind(models.TextChoices):
    CUSTODIAL = "custodial"  # derived from the custody mnemonic; we hold the key
    LINKED = "linked"  # the shopper's own wallet, proven with Sign-In with Ethereum


class Wallet(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallets")
    address = address_field(unique=True)
    kind = models.CharField(max_length=10, choices=WalletKind.choices)
    derivation_index = models.PositiveIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(kind="custodial"), name="nft_wallet_one_custodial_per_user"
            ),
            models.CheckConstraint(
                condition=Q(kind="custodial", derivation_index__isnull=False)
                | Q(kind="linked", derivation_index__isnull=True),
                name="nft_wallet_custodial_has_index",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.address}"


class SiweNonce(models.Model):
    """A server-issued nonce for one Sign-In with Ethereum message; used once, then dead."""

    nonce = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"siwe nonce {self.nonce}"


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    FAILED = "failed"


class Claim(models.Model):
    """Moving a token from the shopper's custodial wallet to their linked wallet."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    collection = models.ForeignKey("nft.Collection", on_delete=models.PROTECT, related_name="+")
    token_id = uint256_field()
    from_address = address_field()
    to_address = address_field()
    status = models.CharField(max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.SUBMITTED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "token_id"],
                condition=Q(status="submitted"),
                name="nft_claim_one_open_per_token",
            ),
        ]

    def __str__(self) -> str:
        return f"claim {self.collection_id}#{self.token_id} -> {self.to_address}"

"""Challenges a contract's owner signs to prove a merchant may register it (single-use, short-lived)."""

from django.db import models

from commerce.models.merchants import Merchant


class CollectionChallenge(models.Model):
    """A server-issued nonce bound to one merchant, chain and contract; spent by the first attempt."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    chain_id = models.PositiveBigIntegerField()
    contract_address = models.CharField(max_length=42)
    nonce = models.CharField(max_length=64, unique=True)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"challenge {self.nonce} for {self.chain_id}:{self.contract_address}"

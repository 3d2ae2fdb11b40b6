"""Flags raised by velocity rules, merchants' blocks, and the identities each paid order used."""

from django.conf import settings
from django.db import models


class FlagRule(models.TextChoices):
    ACCOUNTS_PER_IP = "accounts_per_ip", "Many accounts from one IP"
    RESERVE_RATE = "reserve_rate", "Many reserve attempts per minute"
    THROTTLED = "throttled", "Hit a throttle"
    CARDS_PER_BUYER = "cards_per_buyer", "Many cards on one account"
    IDENTITY_LIMIT = "identity_limit", "Paid over the limit with a shared card or wallet"


class BuyerFlag(models.Model):
    """A velocity rule tripped for a buyer (in one drop, or anywhere when `drop` is empty)."""

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    drop = models.ForeignKey(
        "commerce.Drop", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    rule = models.CharField(max_length=20, choices=FlagRule.choices)
    reason = models.CharField(max_length=300)
    detail = models.JSONField(default=dict, blank=True)
    hits = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "drop", "rule"], nulls_distinct=False, name="abuse_flag_buyer_drop_rule_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"buyer {self.buyer_id}: {self.rule}"


class BuyerBlock(models.Model):
    """A merchant refuses a buyer's reservations in one drop, or in every drop of the shop (`drop` empty)."""

    merchant = models.ForeignKey("commerce.Merchant", on_delete=models.CASCADE, related_name="+")
    drop = models.ForeignKey(
        "commerce.Drop", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    blocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "drop", "buyer"],
                nulls_distinct=False,
                name="abuse_block_scope_buyer_uniq",
            )
        ]
        indexes = [models.Index(fields=["drop"], name="abuse_block_drop_idx")]

    def __str__(self) -> str:
        scope = f"drop {self.drop_id}" if self.drop_id else "shop"
        return f"buyer {self.buyer_id} blocked in {scope} of merchant {self.merchant_id}"


class PaymentIdentity(models.Model):
    """Units of one drop an order paid for, with the card and wallet used (counted against the limit)."""

    order = models.ForeignKey("commerce.Order", on_delete=models.CASCADE, related_name="+")
    drop = models.ForeignKey("commerce.Drop", on_delete=models.CASCADE, related_name="+")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    units = models.PositiveIntegerField()
    card_fingerprint = models.CharField(max_length=64, blank=True)
    wallet = models.CharField(max_length=42, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "drop"], name="abuse_identity_order_drop_uniq")
        ]
        indexes = [
            models.Index(fields=["drop", "card_fingerprint"], name="abuse_identity_drop_card_idx"),
            models.Index(fields=["drop", "wallet"], name="abuse_identity_drop_wallet_idx"),
            models.Index(fields=["buyer", "card_fingerprint"], name="abuse_identity_buyer_card_idx"),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.units} units of drop {self.drop_id}"

"""What a notification is about (the opt-out unit) and which kinds belong to each category."""

from django.db import models


class Category(models.TextChoices):
    """Opt-out works per category; RECEIPTS, SECURITY and ACCOUNT always go out (transactional)."""

    RECEIPTS = "receipts", "Receipts, payment problems and refunds"
    SECURITY = "security", "Security warnings"
    ACCOUNT = "account", "Account (verification, password)"
    NFT = "nft", "NFTs minted and claimed"
    SHIPPING = "shipping", "Shipping updates"
    WALLET = "wallet", "Wallet activity"
    MERCHANT = "merchant", "Store alerts (orders to ship, sold out, shows)"


TRANSACTIONAL = frozenset({Category.RECEIPTS, Category.SECURITY, Category.ACCOUNT})


def is_transactional(category: str) -> bool:
    """Mail the user cannot opt out of (and that carries no List-Unsubscribe header)."""
    return category in TRANSACTIONAL


def optional_categories() -> list[Category]:
    """The categories shown with a checkbox on the account page."""
    return [c for c in Category if c not in TRANSACTIONAL]

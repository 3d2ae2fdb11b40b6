"""The catalog: NFT collections, products of three kinds and their SKUs."""

from django.db import models
from django.db.models import Q

from commerce.models.merchants import Merchant


class NftCollection(models.Model):
    """An NFT contract (chain id + address) a merchant mints into.

    Kept in commerce as plain fields so the catalog does not depend on the `nft` app; the nft
    app looks contracts up by (chain_id, contract_address).
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="collections")
    name = models.CharField(max_length=200)
    symbol = models.CharField(max_length=20, blank=True)
    chain_id = models.PositiveBigIntegerField()
    contract_address = models.CharField(max_length=42)
    # Token ids are handed out from this counter when a line is paid (see services.orders).
    next_token_id = models.PositiveBigIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "contract_address"], name="collection_contract_unique"
            ),
            models.CheckConstraint(
                condition=Q(contract_address__regex=r"^0x[0-9a-fA-F]{40}$"), name="collection_address_hex"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.chain_id}:{self.contract_address})"


class ProductKind(models.TextChoices):
    PHYSICAL = "physical", "Physical"
    DIGITAL = "digital", "Digital (NFT only)"
    PHYGITAL = "phygital", "Phygital (physical + NFT certificate)"


NFT_KINDS = (ProductKind.DIGITAL, ProductKind.PHYGITAL)


class PhygitalDelivery(models.TextChoices):
    """When the physical half of a phygital product ships."""

    SHIP_WITH_PURCHASE = "ship_with_purchase", "Ship with the purchase"
    # The token is sold alone; its owner redeems it later (on chain) for the item (see nft.redeemed).
    REDEEM_LATER = "redeem_later", "Redeem later (token first, item on redemption)"


class Product(models.Model):
    """Something a merchant sells; digital and phygital products mint an NFT from `collection`."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="products")
    kind = models.CharField(max_length=10, choices=ProductKind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=10_000)
    media_urls = models.JSONField(default=list, blank=True, help_text="Image / video / 3D model URLs.")
    collection = models.ForeignKey(
        NftCollection, on_delete=models.PROTECT, null=True, blank=True, related_name="products"
    )
    # ERC-721 metadata template (name, description, image, animation_url for 3D wearables,
    # attributes); `{serial}` and `{token_id}` placeholders are filled in at mint time.
    metadata_template = models.JSONField(default=dict, blank=True)
    # Phygital only (other kinds keep the default): ship with the purchase or on redemption.
    phygital_delivery = models.CharField(
        max_length=20, choices=PhygitalDelivery.choices, default=PhygitalDelivery.SHIP_WITH_PURCHASE
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=ProductKind.PHYSICAL) | Q(collection__isnull=False),
                name="product_nft_needs_collection",
            ),
            models.CheckConstraint(
                condition=Q(kind=ProductKind.PHYGITAL)
                | Q(phygital_delivery=PhygitalDelivery.SHIP_WITH_PURCHASE),
                name="product_redeem_later_is_phygital",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} [{self.kind}]"

    @property
    def mints_nft(self) -> bool:
        return self.kind in NFT_KINDS

    @property
    def ships_with_purchase(self) -> bool:
        """A purchase of it sends a parcel (physical, or phygital shipped with the purchase)."""
        return self.kind == ProductKind.PHYSICAL or (
            self.kind == ProductKind.PHYGITAL
            and self.phygital_delivery == PhygitalDelivery.SHIP_WITH_PURCHASE
        )


class Sku(models.Model):
    """A sellable variant of a product, with its price in integer minor units."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="skus")
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    price = models.PositiveBigIntegerField(help_text="Minor units (cents).")
    currency = models.CharField(max_length=3, default="usd")
    attributes = models.JSONField(default=dict, blank=True)
    # For NFT products: how many tokens may ever exist (all drops together).
    edition_size = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "code"], name="sku_code_unique"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[a-z]{3}$"), name="sku_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.price} {self.currency})"

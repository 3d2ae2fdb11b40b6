"""Input serializers: strict shapes for request bodies (bad input -> 400 before any service runs)."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from commerce.addresses import ShippingAddress, ShippingAddressInput, parse_shipping_address
from commerce.models import MerchantRole, PhygitalDelivery, ProductKind, ShipmentStatus
from commerce.services.reservations import MAX_QUANTITY

MAX_PRICE = 10**12  # minor units; a sane ceiling that fits PostgreSQL bigint
MAX_STOCK = 1_000_000


class SignupInput(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", min_length=3, max_length=150)
    password = serializers.CharField(min_length=8, max_length=128, write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)


class LoginInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, write_only=True)


class ReserveInput(serializers.Serializer):
    drop_id = serializers.IntegerField(min_value=1, max_value=2**62)
    sku_id = serializers.IntegerField(min_value=1, max_value=2**62)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, default=1)


@extend_schema_field(ShippingAddressInput)
class ShippingAddressField(serializers.Field):
    """A shipping address object, validated by `commerce.addresses` (unknown keys refused).

    Errors nest under the field: `{"shipping_address": {"country": ["Unknown country code ..."]}}`.
    """

    def to_internal_value(self, data: Any) -> ShippingAddress:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Expected an object.")
        return parse_shipping_address(data)

    def to_representation(self, value: Any) -> Any:
        return value.as_dict() if isinstance(value, ShippingAddress) else value


class CheckoutInput(serializers.Serializer):
    reservation_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, allow_empty=False, max_length=100
    )
    shipping_address = ShippingAddressField(
        required=False,
        help_text="Required when something in the order ships (physical, or phygital shipped with the purchase).",
    )


class CancelOrderInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, default="cancelled")


class SkuInput(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    price = serializers.IntegerField(min_value=0, max_value=MAX_PRICE)
    currency = serializers.RegexField(r"^[a-zA-Z]{3}\Z", required=False, default="usd")
    attributes = serializers.DictField(required=False, default=dict)
    edition_size = serializers.IntegerField(min_value=1, max_value=MAX_STOCK, required=False, allow_null=True)


class ProductInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ProductKind.choices)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10_000, required=False, default="", allow_blank=True)
    media_urls = serializers.ListField(
        child=serializers.URLField(max_length=500), max_length=20, required=False
    )
    collection_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    metadata_template = serializers.DictField(required=False, default=dict)
    phygital_delivery = serializers.ChoiceField(
        choices=PhygitalDelivery.choices,
        default=PhygitalDelivery.SHIP_WITH_PURCHASE,
        help_text="Phygital only: ship the item with the purchase, or when the token is redeemed.",
    )
    skus = serializers.ListField(child=SkuInput(), allow_empty=False, max_length=100)


class ProductPatchInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    media_urls = serializers.ListField(
        child=serializers.URLField(max_length=500), max_length=20, required=False
    )
    metadata_template = serializers.DictField(required=False)
    is_active = serializers.BooleanField(required=False)
    phygital_delivery = serializers.ChoiceField(choices=PhygitalDelivery.choices, required=False)


class CollectionTargetInput(serializers.Serializer):
    chain_id = serializers.IntegerField(min_value=1, max_value=2**53)
    contract_address = serializers.RegexField(r"^0x[0-9a-fA-F]{40}\Z")


class CollectionInput(CollectionTargetInput):
    """Register an existing contract: `nonce` from .../collections/challenges/, signed by its owner."""

    name = serializers.CharField(max_length=200)
    symbol = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    nonce = serializers.RegexField(r"^[0-9a-f]{32}\Z", help_text="From POST .../collections/challenges/.")
    signature = serializers.RegexField(
        r"^0x[0-9a-fA-F]{130}\Z",
        help_text="EIP-191 personal_sign of the challenge `message` by the contract's owner() or admin.",
    )


class DropItemInput(serializers.Serializer):
    sku_id = serializers.IntegerField(min_value=1, max_value=2**62)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_STOCK)
    price = serializers.IntegerField(min_value=0, max_value=MAX_PRICE, required=False, allow_null=True)


class DropInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10_000, required=False, default="", allow_blank=True)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    per_buyer_limit = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, default=2)
    items = serializers.ListField(child=DropItemInput(), allow_empty=False, max_length=100)


class DropPatchInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    per_buyer_limit = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, required=False)


class RestockInput(serializers.Serializer):
    sku_id = serializers.IntegerField(min_value=1, max_value=2**62)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_STOCK)


class MemberInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=MerchantRole.choices, default=MerchantRole.STAFF)


class ShipmentFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=ShipmentStatus.choices, required=False)


class ShipInput(serializers.Serializer):
    carrier = serializers.CharField(max_length=40, help_text="A carrier code from GET /api/v1/carriers/.")
    tracking_number = serializers.CharField(max_length=64)


class CannotShipInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class MemberRoleInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=MerchantRole.choices)


class MerchantSettingsInput(serializers.Serializer):
    payout_address = serializers.RegexField(
        r"^0x[0-9a-fA-F]{40}$", max_length=42, help_text="Receives the royalties of new collections."
    )
    royalty_bps = serializers.IntegerField(min_value=0, max_value=10_000, required=False)

"""Output serializers: what the API answers. Inputs are in `inputs.py`."""

from typing import Any

from rest_framework import serializers

from commerce.models import (
    Drop,
    DropItem,
    NftCollection,
    Order,
    OrderLine,
    Product,
    Reservation,
    Shipment,
    Sku,
)
from commerce.money import exponent


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField()


class ErrorSerializer(serializers.Serializer):
    """Every 4xx/5xx answer: `{"error": {"code", "message", "details"}}`."""

    error = ErrorBodySerializer()


class CurrencyExponentField(serializers.IntegerField):
    """ISO 4217 exponent of the row's `currency` (JPY 0, USD 2, KWD 3): major units = amount / 10 ** exponent."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="currency", read_only=True, min_value=0, max_value=4, **kwargs)

    def to_representation(self, value: Any) -> int:
        return exponent(str(value))


class SkuSerializer(serializers.ModelSerializer):
    currency_exponent = CurrencyExponentField()

    class Meta:
        model = Sku
        fields = [
            "id", "code", "name", "price", "currency", "currency_exponent", "attributes", "edition_size",
            "is_active",
        ]  # fmt: skip


class CollectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = NftCollection
        fields = ["id", "name", "symbol", "chain_id", "contract_address"]


class ProductSerializer(serializers.ModelSerializer):
    skus = SkuSerializer(many=True, read_only=True)
    collection = CollectionSerializer(read_only=True, allow_null=True)
    merchant_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Product
        fields = [
            "id", "merchant_id", "kind", "title", "description", "media_urls", "collection",
            "metadata_template", "phygital_delivery", "is_active", "skus", "created_at", "updated_at",
        ]  # fmt: skip


class DropItemSerializer(serializers.ModelSerializer):
    sku = SkuSerializer(read_only=True)
    product_id = serializers.IntegerField(source="sku.product_id", read_only=True)
    title = serializers.CharField(source="sku.product.title", read_only=True)
    kind = serializers.CharField(source="sku.product.kind", read_only=True)
    # The item's stock, shards included (a hot item's stock may be split over several rows).
    offered = serializers.IntegerField(source="stock_offered", read_only=True)
    reserved = serializers.IntegerField(source="stock_reserved", read_only=True)
    sold = serializers.IntegerField(source="stock_sold", read_only=True)
    available = serializers.IntegerField(read_only=True)
    currency_exponent = CurrencyExponentField()

    class Meta:
        model = DropItem
        fields = [
            "id", "sku", "product_id", "title", "kind", "price", "currency", "currency_exponent",
            "offered", "reserved", "sold", "available",
        ]  # fmt: skip


class DropSerializer(serializers.ModelSerializer):
    items = DropItemSerializer(many=True, read_only=True)
    merchant_id = serializers.IntegerField(read_only=True)
    merchant_name = serializers.CharField(source="merchant.name", read_only=True)
    currency_exponent = CurrencyExponentField()

    class Meta:
        model = Drop
        fields = [
            "id", "merchant_id", "merchant_name", "title", "description", "state", "starts_at",
            "ends_at", "per_buyer_limit", "currency", "currency_exponent", "items", "state_changed_at",
            "created_at",
        ]  # fmt: skip


class AvailabilityItemSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    sku_id = serializers.IntegerField()
    offered = serializers.IntegerField()
    reserved = serializers.IntegerField()
    sold = serializers.IntegerField()
    available = serializers.IntegerField()
    price = serializers.IntegerField()
    currency = serializers.CharField()


class AvailabilitySerializer(serializers.Serializer):
    drop_id = serializers.IntegerField()
    state = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)
    per_buyer_limit = serializers.IntegerField()
    items = AvailabilityItemSerializer(many=True)


class ReservationSerializer(serializers.ModelSerializer):
    drop_id = serializers.IntegerField(read_only=True)
    sku_id = serializers.IntegerField(source="item.sku_id", read_only=True)
    order_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Reservation
        fields = [
            "id", "drop_id", "sku_id", "quantity", "status", "expires_at", "order_id",
            "release_reason", "created_at",
        ]  # fmt: skip


class OrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = [
            "id", "sku_id", "kind", "title", "quantity", "unit_price", "currency", "status",
            "nft_chain_id", "nft_contract_address", "token_id", "product_snapshot",
            "ships", "nft_confirmed_at", "shipped_at",
        ]  # fmt: skip


class PickRowSerializer(serializers.Serializer):
    line_id = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    kind = serializers.CharField()
    sku_code = serializers.CharField(allow_blank=True)
    sku_name = serializers.CharField(allow_blank=True)
    quantity = serializers.IntegerField()
    token_id = serializers.CharField(allow_blank=True)


class ShipmentSerializer(serializers.ModelSerializer):
    """A parcel: what is in it (pick list), where it goes, and its tracking once shipped."""

    merchant_id = serializers.IntegerField(read_only=True)
    buyer_id = serializers.IntegerField(read_only=True)
    order_id = serializers.IntegerField(read_only=True, allow_null=True)
    line_ids = serializers.SerializerMethodField()
    pick_list = PickRowSerializer(many=True, read_only=True)
    shipping_address = serializers.DictField(child=serializers.CharField(allow_blank=True), read_only=True)

    class Meta:
        model = Shipment
        fields = [
            "id", "merchant_id", "buyer_id", "order_id", "redemption_id", "status", "line_ids",
            "pick_list", "shipping_address", "carrier", "tracking_number", "tracking_url",
            "cancel_reason", "created_at", "shipped_at", "delivered_at", "cancelled_at",
        ]  # fmt: skip

    def get_line_ids(self, obj: Shipment) -> list[int]:
        return [row["line_id"] for row in obj.pick_list if row.get("line_id")]


class OrderSerializer(serializers.ModelSerializer):
    currency_exponent = CurrencyExponentField()
    lines = OrderLineSerializer(many=True, read_only=True)
    buyer_id = serializers.IntegerField(read_only=True)
    merchant_id = serializers.IntegerField(read_only=True)
    drop_id = serializers.IntegerField(read_only=True, allow_null=True)
    shipping_address = serializers.DictField(child=serializers.CharField(allow_blank=True), read_only=True)
    shipments = ShipmentSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id", "buyer_id", "merchant_id", "drop_id", "status", "status_reason", "total",
            "currency", "currency_exponent", "refunded_amount", "lines", "shipping_address", "shipments",
            "created_at", "paid_at", "closed_at",
        ]  # fmt: skip


class ApiTokenSerializer(serializers.Serializer):
    """One of the caller's API tokens (never the secret itself)."""

    id = serializers.CharField(source="token_key")
    created_at = serializers.DateTimeField(source="created")
    expires_at = serializers.DateTimeField(source="expiry", allow_null=True)
    current = serializers.BooleanField(help_text="The token this request was made with.")


class WsTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(
        help_text="Single use: `?ticket=<ticket>` or subprotocol `ticket.<ticket>`."
    )
    expires_in = serializers.IntegerField(help_text="Seconds left to open the socket with it.")


class CarrierSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    tracking_url = serializers.CharField(allow_blank=True, help_text="Template with {tracking_number}.")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once: send it as `Authorization: Token <token>`.")
    token_id = serializers.CharField(help_text="Public id of the token (list / revoke it under /tokens/).")
    expires_at = serializers.DateTimeField()
    user_id = serializers.IntegerField()
    username = serializers.CharField()


class MembershipSerializer(serializers.Serializer):
    merchant_id = serializers.IntegerField()
    merchant_name = serializers.CharField()
    role = serializers.CharField()


def as_data(serializer_class: type[serializers.BaseSerializer], instance: Any) -> Any:
    """Serialize one instance (helper for views)."""
    return serializer_class(instance).data


class MemberSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    role = serializers.CharField()
    created_at = serializers.DateTimeField()


class MerchantSettingsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    payout_address = serializers.CharField(allow_blank=True)
    royalty_bps = serializers.IntegerField()

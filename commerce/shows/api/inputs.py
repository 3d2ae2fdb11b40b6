"""Strict request bodies of the show API (bad input -> 400 before any service runs)."""

from rest_framework import serializers

from commerce.api.inputs import MAX_PRICE, ShippingAddressField
from commerce.shows.services.flash import MAX_DURATION_S, MIN_DURATION_S

MAX_ID = 2**62


class ShowInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    cover_image_url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    playback_url = serializers.CharField(max_length=500)
    scheduled_at = serializers.DateTimeField()


class PinInput(serializers.Serializer):
    product_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class FlashDropInput(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    duration_seconds = serializers.IntegerField(min_value=MIN_DURATION_S, max_value=MAX_DURATION_S)
    per_buyer_limit = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    product_id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    sku_id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    price = serializers.IntegerField(required=False, min_value=0, max_value=MAX_PRICE)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class MessageInput(serializers.Serializer):
    # Length, markup and rate are the chat service's checks (same answers as on the socket).
    text = serializers.CharField(max_length=4000, trim_whitespace=False)


class MuteInput(serializers.Serializer):
    user_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    reason = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class ShowCheckoutInput(serializers.Serializer):
    reservation_id = serializers.UUIDField()
    shipping_address = ShippingAddressField(
        required=False,
        help_text="Required when the item ships (physical, or phygital shipped with the purchase).",
    )

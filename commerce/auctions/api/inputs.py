"""Strict request bodies of the auction API (bad input -> 400 before any service runs)."""

from typing import Any

from rest_framework import serializers

from commerce.auctions.increments import MAX_AMOUNT
from commerce.auctions.models import Ending
from commerce.auctions.services.setup import MAX_DURATION_S, MIN_DURATION_S

MAX_ID = 2**62


class StrictAmount(serializers.Field):
    """A whole number of minor units as a JSON integer: "12", 12.5, true and -1 are refused."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int) or not 1 <= data <= MAX_AMOUNT:
            raise serializers.ValidationError(f"A whole number of cents between 1 and {MAX_AMOUNT}.")
        return data

    def to_representation(self, value: Any) -> int:
        return int(value)


class BidInput(serializers.Serializer):
    amount = StrictAmount(help_text="Minor units (cents), at least the auction's `next_bid`.")
    max_amount = StrictAmount(
        required=False,
        help_text="Optional max bid: the auction bids for you up to this, one increment at a time.",
    )


class AuctionInput(serializers.Serializer):
    starting_price = serializers.IntegerField(min_value=1, max_value=MAX_AMOUNT)
    duration_seconds = serializers.IntegerField(min_value=MIN_DURATION_S, max_value=MAX_DURATION_S)
    ending = serializers.ChoiceField(choices=Ending.values, default=Ending.ANTI_SNIPE)
    anti_snipe_seconds = serializers.IntegerField(min_value=1, max_value=120, default=15)
    reserve_price = serializers.IntegerField(
        min_value=1, max_value=MAX_AMOUNT, required=False, allow_null=True
    )
    increments = serializers.ListField(
        child=serializers.ListField(
            child=serializers.IntegerField(min_value=0, max_value=MAX_AMOUNT), min_length=2, max_length=2
        ),
        required=False,
        max_length=50,
        help_text="[[from_amount, step], ...] from 0 ascending; default $1 to $20, $2.50 to $100, $5 to $500, then $10.",
    )
    checkout_minutes = serializers.IntegerField(min_value=1, max_value=1440, default=10)
    product_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    sku_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    start_now = serializers.BooleanField(default=True)


class GiveawayInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    product_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)

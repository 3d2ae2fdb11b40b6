"""OpenAPI shapes of the auction endpoints (the views return selector dicts; these only describe them)."""

from typing import Any

from rest_framework import serializers


class AuctionDoc(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=["scheduled", "open", "closed", "paid", "passed"])
    product_id = serializers.IntegerField()
    title = serializers.CharField()
    current_bid = serializers.IntegerField(allow_null=True, help_text="minor units")
    next_bid = serializers.IntegerField(help_text="the lowest bid accepted now (minor units)")
    currency = serializers.CharField()
    ends_at = serializers.DateTimeField(allow_null=True, help_text="server time")
    server_time = serializers.DateTimeField()
    leader = serializers.CharField(allow_null=True)
    bids = serializers.IntegerField()
    show_id = serializers.IntegerField()
    starting_price = serializers.IntegerField()
    ending = serializers.ChoiceField(choices=["anti_snipe", "sudden_death"])
    anti_snipe_seconds = serializers.IntegerField()
    extensions = serializers.IntegerField()
    reserve_met = serializers.BooleanField(allow_null=True)
    winner = serializers.CharField(allow_null=True)
    offer_round = serializers.IntegerField()
    pay_by = serializers.DateTimeField(allow_null=True)
    result = serializers.CharField(allow_null=True)
    recent_bids = serializers.ListField(child=serializers.DictField(), required=False)
    you = serializers.DictField(
        required=False, help_text="leading / offer / order_id of the signed-in viewer"
    )


class ShowAuctionDoc(serializers.Serializer[Any]):
    auction = AuctionDoc(allow_null=True)
    giveaway = serializers.DictField(allow_null=True)


class BidResultDoc(serializers.Serializer[Any]):
    leading = serializers.BooleanField()
    accepted = serializers.ListField(
        child=serializers.DictField(), help_text="the bids this request added, in order"
    )
    auction = AuctionDoc()


class GiveawayDoc(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    show_id = serializers.IntegerField()
    title = serializers.CharField()
    product_id = serializers.IntegerField(allow_null=True)
    state = serializers.ChoiceField(choices=["open", "drawn"])
    seed_hash = serializers.CharField(help_text="sha256(seed), published when the giveaway opened")
    seed = serializers.CharField(allow_null=True, help_text="revealed after the draw")
    entrants = serializers.IntegerField()
    entrants_hash = serializers.CharField(allow_null=True)
    winner = serializers.CharField(allow_null=True)
    winner_id = serializers.IntegerField(allow_null=True)
    algorithm = serializers.CharField()
    entrant_ids = serializers.ListField(child=serializers.IntegerField(), allow_null=True, required=False)

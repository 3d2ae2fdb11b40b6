"""Auction API: public reads, bidding (same rules as on the show socket), host controls."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.api.docs import errors
from commerce.api.views_merchant import MerchantView
from commerce.auctions import selectors
from commerce.auctions.api import inputs
from commerce.auctions.api.docs import AuctionDoc, BidResultDoc, GiveawayDoc, ShowAuctionDoc
from commerce.auctions.errors import AuctionNotFound, BidInvalid, GiveawayNotFound
from commerce.auctions.models import Auction, Giveaway
from commerce.auctions.services import bidding, giveaways, setup
from commerce.shows import selectors as show_selectors


def _uid(request: Request) -> int | None:
    return request.user.pk if request.user.is_authenticated else None


def bid_result(outcome: bidding.BidOutcome) -> dict[str, Any]:
    return {
        "leading": outcome.leading,
        "accepted": [
            {"seq": b.seq, "amount": b.amount, "kind": b.kind, "bidder_id": b.bidder_id} for b in outcome.bids
        ],
        "auction": selectors.auction_state(outcome.auction),
    }


class AuctionDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(tags=["auctions"], summary="An auction: price, clock (server time), leader, last bids",
                   responses={200: AuctionDoc, **errors(404)})  # fmt: skip
    def get(self, request: Request, pk: int) -> Response:
        return Response(selectors.auction_detail(auction_id=pk, user_id=_uid(request)))


class BidView(APIView):
    permission_classes = [AllowAny]  # the service answers `bid_not_authenticated` (same as the socket)

    @extend_schema(
        tags=["auctions"],
        summary="Place a bid (and optionally a max bid)",
        description="Accepted only while the auction is open by server time, at or above `next_bid`, from a "
        "signed-in buyer who is not muted or blocked. Errors: `bid_invalid` (400), `bid_not_authenticated` (401), "
        "`bidder_muted` / `bidder_blocked` / `host_cannot_bid` (403), `auction_not_found` (404), "
        "`auction_not_open` / `bid_too_low` (with `details.next_bid`) / `already_leading` (409), "
        "`bid_rate_limited` (429).",
        request=inputs.BidInput,
        responses={201: BidResultDoc, **errors(400, 401, 403, 404, 409, 429)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise BidInvalid("Send a JSON object with an integer `amount`.", details={"field": "amount"})
        user = request.user if request.user.is_authenticated else None
        outcome = bidding.place_bid(
            auction_id=pk,
            user=user,
            amount=data.get("amount"),
            max_amount=data.get("max_amount"),
        )
        return Response(bid_result(outcome), status=status.HTTP_201_CREATED)


class ShowAuctionView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(tags=["auctions"], summary="A show's current (or last) auction and giveaway",
                   responses={200: ShowAuctionDoc, **errors(404)})  # fmt: skip
    def get(self, request: Request, pk: int) -> Response:
        show_selectors.get_show(show_id=pk)
        return Response(
            {
                "auction": selectors.current_auction(show_id=pk),
                "giveaway": selectors.current_giveaway(show_id=pk),
            }
        )


class GiveawayView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(tags=["auctions"], summary="A giveaway: commitment, then seed, entrant ids and winner",
                   responses={200: GiveawayDoc, **errors(404)})  # fmt: skip
    def get(self, request: Request, pk: int) -> Response:
        return Response(selectors.giveaway_audit(giveaway_id=pk))


# --- host controls --------------------------------------------------------------------------------
class HostShowAuctionsView(MerchantView):
    @extend_schema(tags=["auctions-host"], summary="The show's auctions",
                   responses={200: AuctionDoc(many=True), **errors(401, 404)})  # fmt: skip
    def get(self, request: Request, merchant_id: int, pk: int) -> Response:
        show_selectors.get_show(show_id=pk)
        rows = Auction.objects.filter(show_id=pk, merchant_id=self.merchant.pk).select_related(
            "leader", "offer_to"
        )
        return Response([selectors.auction_state(a) for a in rows[:100]])

    @extend_schema(tags=["auctions-host"], summary="Start an auction on the pinned (or a named) product",
                   request=inputs.AuctionInput, responses={201: AuctionDoc, **errors(400, 401, 404, 409, 422)})  # fmt: skip
    def post(self, request: Request, merchant_id: int, pk: int) -> Response:
        spec = setup.AuctionSpec(**self.valid(inputs.AuctionInput))
        auction = setup.create_auction(show_id=pk, merchant_id=self.merchant.pk, spec=spec)
        return Response(selectors.auction_detail(auction_id=auction.pk), status=status.HTTP_201_CREATED)


class HostAuctionView(MerchantView):
    def _auction(self, pk: int) -> Auction:
        auction = Auction.objects.filter(pk=pk, merchant_id=self.merchant.pk).first()
        if auction is None:
            raise AuctionNotFound("Auction not found.", details={"resource": "auction", "id": pk})
        return auction

    @extend_schema(tags=["auctions-host"], summary="An auction with its last bids (host console)",
                   responses={200: AuctionDoc, **errors(401, 404)})  # fmt: skip
    def get(self, request: Request, merchant_id: int, pk: int) -> Response:
        self._auction(pk)
        data = selectors.auction_detail(auction_id=pk)
        data["recent_bids"] = selectors.recent_bids(auction_id=pk, limit=100)
        return Response(data)


class HostOpenAuctionView(HostAuctionView):
    @extend_schema(tags=["auctions-host"], summary="Open a scheduled auction now", request=None,
                   responses={200: AuctionDoc, **errors(401, 404, 409)})  # fmt: skip
    def post(self, request: Request, merchant_id: int, pk: int) -> Response:
        setup.open_auction(auction_id=self._auction(pk).pk, merchant_id=self.merchant.pk)
        return Response(selectors.auction_detail(auction_id=pk))


class HostGiveawaysView(MerchantView):
    @extend_schema(tags=["auctions-host"], summary="Open a giveaway (its seed's hash is published now)",
                   request=inputs.GiveawayInput, responses={201: GiveawayDoc, **errors(400, 401, 404, 409)})  # fmt: skip
    def post(self, request: Request, merchant_id: int, pk: int) -> Response:
        data = self.valid(inputs.GiveawayInput)
        giveaway = giveaways.open_giveaway(show_id=pk, merchant_id=self.merchant.pk, **data)
        return Response(selectors.giveaway_audit(giveaway_id=giveaway.pk), status=status.HTTP_201_CREATED)


class HostDrawView(MerchantView):
    @extend_schema(tags=["auctions-host"], summary="Draw the giveaway's winner and reveal the seed", request=None,
                   responses={200: GiveawayDoc, **errors(401, 404, 409)})  # fmt: skip
    def post(self, request: Request, merchant_id: int, pk: int) -> Response:
        if not Giveaway.objects.filter(pk=pk, show__merchant_id=self.merchant.pk).exists():
            raise GiveawayNotFound("Giveaway not found.", details={"resource": "giveaway", "id": pk})
        giveaways.draw_giveaway(giveaway_id=pk, merchant_id=self.merchant.pk)
        return Response(selectors.giveaway_audit(giveaway_id=pk))

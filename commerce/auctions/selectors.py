"""Read queries of auctions and giveaways: the frame-shaped state, bid lists, the result. Nothing writes."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from commerce.auctions.errors import AuctionNotFound, GiveawayNotFound
from commerce.auctions.increments import next_bid
from commerce.auctions.models import Auction, Bid, Giveaway, GiveawayState

RECENT_BIDS = 20


def display_name(user: User | None) -> str | None:
    return user.get_username()[:150] if user is not None else None


def auction_state(
    auction: Auction, *, leader: User | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The `auction` object of the frame contract (frontend, venue): ids, price, clock, leader.

    `leader` saves a query when the caller already has the leading user at hand.
    """
    if leader is None and auction.leader_id is not None:
        leader = auction.leader
    reserve_met = (
        None if auction.reserve_price is None else (auction.current_bid or 0) >= auction.reserve_price
    )
    offer_to = auction.offer_to if auction.offer_to_id is not None else None
    return {
        # The contract h23-venue renders (never remove a field; add only).
        "id": auction.pk,
        "state": auction.state,
        "product_id": auction.product_id,
        "title": auction.title,
        "current_bid": auction.current_bid,
        "next_bid": next_bid(
            table=auction.increments, starting_price=auction.starting_price, current=auction.current_bid
        ),
        "currency": auction.currency,
        "ends_at": auction.ends_at.isoformat() if auction.ends_at else None,
        "server_time": (now or timezone.now()).isoformat(),
        "leader": display_name(leader),
        "bids": auction.bids_count,
        # Additions.
        "show_id": auction.show_id,
        "starting_price": auction.starting_price,
        "ending": auction.ending,
        "anti_snipe_seconds": auction.anti_snipe_seconds,
        "extensions": auction.extensions,
        "reserve_met": reserve_met,
        "winner": display_name(offer_to) if auction.state in ("closed", "paid") else None,
        "offer_round": auction.offer_round,
        "pay_by": auction.pay_by.isoformat() if auction.pay_by else None,
        "order_id": None,  # private to the winner: see `you` in GET /auctions/<id>/
        "result": auction.result_reason or None,
    }


def get_auction(*, auction_id: int) -> Auction:
    auction = Auction.objects.select_related("leader", "offer_to").filter(pk=auction_id).first()
    if auction is None:
        raise AuctionNotFound("Auction not found.", details={"resource": "auction", "id": auction_id})
    return auction


def recent_bids(*, auction_id: int, limit: int = RECENT_BIDS) -> list[dict[str, Any]]:
    rows = Bid.objects.filter(auction_id=auction_id).select_related("bidder").order_by("-seq")[:limit]
    return [
        {
            "seq": b.seq,
            "bidder": display_name(b.bidder),
            "amount": b.amount,
            "kind": b.kind,
            "placed_at": b.placed_at.isoformat(),
        }
        for b in rows
    ]


def auction_detail(*, auction_id: int, user_id: int | None = None) -> dict[str, Any]:
    """The auction with its last bids; `you` tells a signed-in viewer where they stand."""
    auction = get_auction(auction_id=auction_id)
    data = auction_state(auction)
    data["recent_bids"] = recent_bids(auction_id=auction_id)
    if user_id is not None:
        offered = auction.offer_to_id == user_id and auction.state == "closed"
        data["you"] = {
            "leading": auction.leader_id == user_id and auction.state == "open",
            "offer": offered,
            "order_id": auction.order_id if offered or (auction.state == "paid" and auction.offer_to_id == user_id)
            else None,
        }  # fmt: skip
    return data


def current_auction(*, show_id: int) -> dict[str, Any] | None:
    """The show's latest auction (open, or the last result) for snapshots; None if it never had one."""
    auction = (
        Auction.objects.select_related("leader", "offer_to").filter(show_id=show_id).order_by("-id").first()
    )
    return auction_state(auction) if auction is not None else None


def giveaway_state(giveaway: Giveaway, *, winner: User | None = None) -> dict[str, Any]:
    """What viewers see: the commitment while open; the seed, entrants hash and winner once drawn."""
    drawn = giveaway.state == GiveawayState.DRAWN
    if drawn and winner is None and giveaway.winner_id is not None:
        winner = giveaway.winner
    return {
        "id": giveaway.pk,
        "show_id": giveaway.show_id,
        "title": giveaway.title,
        "product_id": giveaway.product_id,
        "state": giveaway.state,
        "seed_hash": giveaway.seed_hash,
        "seed": giveaway.seed if drawn else None,
        "entrants": giveaway.entrants_count,
        "entrants_hash": giveaway.entrants_hash or None,
        "winner": display_name(winner) if drawn else None,
        "winner_id": giveaway.winner_id if drawn else None,
        "algorithm": "index = int(sha256(seed + ':' + entrants_hash)) mod entrants; "
        "entrants_hash = sha256(user ids ascending, comma-separated)",
    }


def get_giveaway(*, giveaway_id: int) -> Giveaway:
    giveaway = Giveaway.objects.select_related("winner").filter(pk=giveaway_id).first()
    if giveaway is None:
        raise GiveawayNotFound("Giveaway not found.", details={"resource": "giveaway", "id": giveaway_id})
    return giveaway


def giveaway_audit(*, giveaway_id: int) -> dict[str, Any]:
    """Everything needed to recompute the winner: seed (after the draw), entrant ids in order."""
    giveaway = get_giveaway(giveaway_id=giveaway_id)
    data = giveaway_state(giveaway)
    data["entrant_ids"] = (
        sorted(giveaway.entries.values_list("user_id", flat=True))
        if giveaway.state == GiveawayState.DRAWN
        else None
    )
    return data


def current_giveaway(*, show_id: int) -> dict[str, Any] | None:
    giveaway = Giveaway.objects.select_related("winner").filter(show_id=show_id).order_by("-id").first()
    return giveaway_state(giveaway) if giveaway is not None else None

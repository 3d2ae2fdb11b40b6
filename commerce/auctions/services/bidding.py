"""Bidding: the one place the highest bid is decided (under the auction row lock).

A bid is accepted only from a signed-in buyer who is not the host, not muted in the show and not
blocked by the shop, within the bid rate limit, while the auction is open by server time (the
clock read after the lock is taken), at or above the next increment. Max (proxy) bids bid for
their owner one increment at a time up to their cap; a tie goes to the earlier max bid. A bid in
the last `anti_snipe_seconds` of an anti-snipe auction moves the end to now + that many seconds.
Every accepted bid is a `Bid` row with the next `seq` and an `auction.bid_accepted` event in the
same transaction, so the Kafka log replays the auction bid by bid.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from commerce.abuse import limiter
from commerce.abuse.models import BuyerBlock
from commerce.abuse.rates import rates_for
from commerce.auctions.errors import (
    AlreadyLeading,
    AuctionNotFound,
    AuctionNotOpen,
    BidderBlocked,
    BidderMuted,
    BidInvalid,
    BidNotAuthenticated,
    BidRateLimited,
    BidTooLow,
    HostCannotBid,
)
from commerce.auctions.increments import MAX_AMOUNT, next_bid
from commerce.auctions.models import Auction, AuctionState, Bid, BidKind, Ending, MaxBid
from commerce.auctions.services.common import lock_auction, push_state, schedule_close_on_commit
from commerce.models import MerchantMembership
from commerce.shows.models import ShowMute
from realtime.outbox import emit
from realtime.shows.bidders import push_to_bidder_on_commit


@dataclass
class BidOutcome:
    auction: Auction
    bids: list[Bid] = field(default_factory=list)
    leading: bool = False
    extended: bool = False


def check_amount(value: object, *, field_name: str = "amount") -> int:
    """A whole number of minor units, 1..MAX_AMOUNT; BidInvalid for anything else (text, floats, bools)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_AMOUNT:
        raise BidInvalid(
            f"{field_name} must be a whole number of cents between 1 and {MAX_AMOUNT}.",
            details={"field": field_name},
        )
    return value


def check_bidder(*, auction_id: int, user: User | None) -> User:
    """Who may bid here at all (before any lock): signed in, not host, not muted, not blocked, not flooding.

    One query answers the auction's existence and the three membership questions together (a bid is
    the hottest write of a show: every query saved is saved 50 times a second).
    """
    if user is None or not user.is_authenticated:
        raise BidNotAuthenticated("Sign in to bid.")
    found = (
        Auction.objects.filter(pk=auction_id)
        .annotate(
            host=Exists(MerchantMembership.objects.filter(user_id=user.pk, merchant_id=OuterRef("merchant_id"))),
            muted=Exists(ShowMute.objects.filter(show_id=OuterRef("show_id"), user_id=user.pk)),
            blocked=Exists(BuyerBlock.objects.filter(merchant_id=OuterRef("merchant_id"), buyer_id=user.pk,
                                                     drop__isnull=True)),
        )
        .values("show_id", "host", "muted", "blocked")
        .first()
    )  # fmt: skip
    if found is None:
        raise AuctionNotFound("Auction not found.", details={"resource": "auction", "id": auction_id})
    if found["host"]:
        raise HostCannotBid(
            "The show's hosts cannot bid in its auctions.", details={"auction_id": auction_id}
        )
    if found["muted"]:
        raise BidderMuted("The host muted you in this show.", details={"show_id": found["show_id"]})
    if found["blocked"]:
        raise BidderBlocked("The shop has blocked this account.", details={"auction_id": auction_id})
    rates = rates_for("bid.user")
    if rates and settings.ABUSE_THROTTLE_ENABLED:
        over = [h for h in limiter.hit([("bid.user", str(user.pk), rate) for rate in rates]) if h.over]
        if over:
            worst = max(over, key=lambda h: h.retry_after)
            raise BidRateLimited(
                "You are bidding too fast.",
                details={
                    "retry_after": worst.retry_after,
                    "limit": worst.rate.limit,
                    "window_seconds": worst.rate.seconds,
                },
            )
    return user


def place_bid(*, auction_id: int, user: User | None, amount: object, max_amount: object = None) -> BidOutcome:
    """Bid `amount` (and optionally set a max bid) on an open auction; refusals change nothing."""
    value = check_amount(amount)
    cap = check_amount(max_amount, field_name="max_amount") if max_amount is not None else value
    if cap < value:
        raise BidInvalid("max_amount must be at least the bid.", details={"field": "max_amount"})
    bidder = check_bidder(auction_id=auction_id, user=user)
    with transaction.atomic():
        auction = lock_auction(auction_id, with_leader=True)
        now = timezone.now()  # server time, read once the lock is ours: no bid lands after a close
        if auction.state != AuctionState.OPEN or auction.ends_at is None or now >= auction.ends_at:
            raise AuctionNotOpen(
                "This auction is not open for bids." if auction.state != AuctionState.OPEN
                else "Bidding has ended.",
                details={"auction_id": auction_id, "state": auction.state, "server_time": now.isoformat()},
            )  # fmt: skip
        table, start = auction.increments, auction.starting_price
        minimum = next_bid(table=table, starting_price=start, current=auction.current_bid)
        if auction.leader_id == bidder.pk:
            return _raise_own_cap(auction, bidder, value=value, cap=cap, requested_max=max_amount is not None)
        if value < minimum:
            raise BidTooLow(
                f"The next bid must be at least {minimum}.",
                details={"next_bid": minimum, "current_bid": auction.current_bid, "auction_id": auction_id},
            )
        previous = auction.leader
        prev_cap = _cap_of(auction, auction.leader_id) if previous is not None else 0
        steps: list[tuple[User, int, str]] = [(bidder, value, BidKind.MANUAL)]
        if previous is None or prev_cap < value:
            winner, price = bidder, value  # the new bid beats whatever the leader had
        elif cap > prev_cap:
            if prev_cap > value:
                steps.append((previous, prev_cap, BidKind.PROXY))
            price = min(cap, next_bid(table=table, starting_price=start, current=prev_cap))
            steps.append((bidder, price, BidKind.PROXY))
            winner = bidder
        else:  # the leader's max covers it; a tie goes to the earlier max bid
            if cap > value:
                steps.append((bidder, cap, BidKind.PROXY))
            price = min(prev_cap, next_bid(table=table, starting_price=start, current=cap))
            steps.append((previous, price, BidKind.PROXY))
            winner = previous
        outcome = _record(auction, steps, now=now, winner=winner, price=price)
        if cap > value:  # a plain bid's cap is the bid itself: `_cap_of` reads it from current_bid
            _set_cap(auction, bidder, cap, now)
        outbid = {previous.pk} if previous is not None and winner != previous else set()
        if winner != bidder:
            outbid.add(bidder.pk)  # beaten at once by the leader's max bid
        last = outcome.bids[-1]
        for user_id in outbid:
            push_to_bidder_on_commit(auction.show_id, user_id, "outbid", seq=last.pk,
                                     auction_id=auction.pk, amount=price)  # fmt: skip
        outcome.leading = winner == bidder
        return outcome


def _cap_of(auction: Auction, user_id: int | None) -> int:
    row = MaxBid.objects.filter(auction=auction, bidder_id=user_id).values_list("cap", flat=True).first()
    return max(int(row or 0), auction.current_bid or 0)


def _set_cap(auction: Auction, bidder: User, cap: int, now: datetime) -> None:
    """One INSERT .. ON CONFLICT (the auction row lock already serialises writers of this auction)."""
    MaxBid.objects.bulk_create(
        [MaxBid(auction=auction, bidder=bidder, cap=cap, set_at=now)],
        update_conflicts=True,
        unique_fields=["auction", "bidder"],
        update_fields=["cap", "set_at"],
    )


def _raise_own_cap(
    auction: Auction, bidder: User, *, value: int, cap: int, requested_max: bool
) -> BidOutcome:
    """The leader bids again: only raising their max bid makes sense (no bid against oneself)."""
    if not requested_max or cap <= _cap_of(auction, bidder.pk):
        raise AlreadyLeading(
            "You are already the highest bidder.",
            details={"auction_id": auction.pk, "current_bid": auction.current_bid},
        )
    _set_cap(auction, bidder, cap, timezone.now())
    return BidOutcome(auction=auction, leading=True)


def _record(
    auction: Auction, steps: list[tuple[User, int, str]], *, now: datetime, winner: User, price: int
) -> BidOutcome:
    """Write the bids, the new price and leader, an anti-snipe extension; emit; push on commit."""
    assert auction.ends_at is not None
    outcome = BidOutcome(auction=auction)
    rows = []
    for user, amount, kind in steps:
        auction.bids_count += 1
        rows.append(Bid(auction=auction, seq=auction.bids_count, bidder=user, amount=amount, kind=kind,
                        placed_at=now))  # fmt: skip
    outcome.bids = Bid.objects.bulk_create(rows)
    auction.current_bid, auction.leader = price, winner
    left = auction.ends_at - now
    window = timedelta(seconds=auction.anti_snipe_seconds)
    previous_end = auction.ends_at
    if auction.ending == Ending.ANTI_SNIPE and left < window:
        auction.ends_at = now + window
        auction.extensions += 1
        outcome.extended = True
    auction.save(update_fields=["bids_count", "current_bid", "leader", "ends_at", "extensions", "updated_at"])
    for bid in outcome.bids:
        emit(
            type="auction.bid_accepted",
            key=auction.pk,
            payload={
                "auction_id": auction.pk,
                "show_id": auction.show_id,
                "seq": bid.seq,
                "bid_id": bid.pk,
                "bidder_id": bid.bidder_id,
                "amount": bid.amount,
                "kind": bid.kind,
                "currency": auction.currency,
                "placed_at": now,
            },
        )
    if outcome.extended:
        emit(
            type="auction.extended",
            key=auction.pk,
            payload={
                "auction_id": auction.pk,
                "show_id": auction.show_id,
                "by_bid_seq": outcome.bids[0].seq,
                "previous_ends_at": previous_end,
                "ends_at": auction.ends_at,
                "extensions": auction.extensions,
            },
        )
        schedule_close_on_commit(auction.pk, now + window)
    push_state(auction, leader=winner)
    return outcome

"""Auction services on the real PostgreSQL: bidding rules, max bids, anti-snipe, close, second chance, giveaways."""

import hashlib
import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from commerce.abuse.models import BuyerBlock
from commerce.auctions import errors
from commerce.auctions.models import Auction, AuctionState, Bid, Ending
from commerce.auctions.selectors import auction_state, giveaway_audit
from commerce.auctions.services import bidding, closing, giveaways
from commerce.models import Order, OrderStatus
from commerce.services.orders import mark_order_paid
from commerce.shows.models import Show, ShowMute
from realtime.models import OutboxEvent
from tests.auctions.conftest import move_end

pytestmark = pytest.mark.django_db


def _events(auction: Auction) -> list[tuple[str, dict[str, Any]]]:
    rows = OutboxEvent.objects.filter(aggregateid=str(auction.pk), type__startswith="auction.").order_by(
        "sequence"
    )
    return [(r.type, r.payload) for r in rows]


def _bid(auction: Auction, user: User, amount: object, **kw: Any) -> bidding.BidOutcome:
    return bidding.place_bid(auction_id=auction.pk, user=user, amount=amount, **kw)


def test_bids_follow_the_increment_table_and_the_log_replays_them(
    start_auction: Callable[..., Auction], make_user: Callable[..., User]
) -> None:
    auction = start_auction(increments=[[0, 100], [2000, 500]])
    a, b = make_user("a"), make_user("b")
    assert auction_state(auction)["next_bid"] == 1000
    _bid(auction, a, 1000)
    with pytest.raises(errors.BidTooLow) as low:
        _bid(auction, b, 1099)
    assert low.value.details["next_bid"] == 1100
    _bid(auction, b, 2000)
    auction.refresh_from_db()
    assert auction_state(auction)["next_bid"] == 2500  # the step from 2,000 on
    with pytest.raises(errors.AlreadyLeading):
        _bid(auction, b, 3000)
    bids = [e for e in _events(auction) if e[0] == "auction.bid_accepted"]
    assert [(p["seq"], p["bidder_id"], p["amount"]) for _, p in bids] == [(1, a.pk, 1000), (2, b.pk, 2000)]
    assert auction.current_bid == 2000 and auction.leader_id == b.pk and auction.bids_count == 2


def test_max_bids_bid_for_their_owner_and_ties_go_to_the_earlier(
    start_auction: Callable[..., Auction], make_user: Callable[..., User]
) -> None:
    auction = start_auction(increments=[[0, 100]])
    a, b, c = make_user("a"), make_user("b"), make_user("c")
    _bid(auction, a, 1000, max_amount=1500)
    out = _bid(auction, b, 1200)  # a's max covers it: a leads at 1,300
    assert not out.leading
    auction.refresh_from_db()
    assert (auction.current_bid, auction.leader_id) == (1300, a.pk)
    _bid(auction, b, 1500)  # equal to a's max: the earlier max bid keeps it
    auction.refresh_from_db()
    assert (auction.current_bid, auction.leader_id) == (1500, a.pk)
    out = _bid(auction, c, 1600, max_amount=3000)  # beats a's max by one step
    auction.refresh_from_db()
    assert out.leading and (auction.current_bid, auction.leader_id) == (1600, c.pk)
    rows = list(Bid.objects.filter(auction=auction).values_list("seq", "amount"))
    assert [s for s, _ in rows] == list(range(1, len(rows) + 1))
    assert all(x <= y for (_, x), (_, y) in itertools.pairwise(rows))  # never goes down


def test_anti_snipe_extends_only_in_the_last_seconds(
    start_auction: Callable[..., Auction], make_user: Callable[..., User]
) -> None:
    auction = start_auction(anti_snipe_seconds=10)
    a, b = make_user("a"), make_user("b")
    _bid(auction, a, 1000)  # 60 s left: no extension
    move_end(auction, 3)
    before = Auction.objects.get(pk=auction.pk).ends_at
    out = _bid(auction, b, 1100)
    auction.refresh_from_db()
    assert out.extended and auction.extensions == 1
    assert auction.ends_at is not None and before is not None and auction.ends_at > before
    assert timedelta(seconds=9) < auction.ends_at - timezone.now() <= timedelta(seconds=10)
    ext = [p for t, p in _events(auction) if t == "auction.extended"]
    assert len(ext) == 1 and ext[0]["by_bid_seq"] == 2


def test_sudden_death_never_extends_and_no_bid_lands_after_the_end(
    start_auction: Callable[..., Auction], make_user: Callable[..., User]
) -> None:
    auction = start_auction(ending=Ending.SUDDEN_DEATH)
    a, b = make_user("a"), make_user("b")
    move_end(auction, 2)
    assert not _bid(auction, a, 1000).extended
    move_end(auction, -0.001)
    with pytest.raises(errors.AuctionNotOpen):  # ended by server time, although not yet closed
        _bid(auction, b, 5000)
    closing.close_auction(auction_id=auction.pk)
    auction.refresh_from_db()
    assert (
        auction.state == AuctionState.CLOSED and auction.current_bid == 1000 and auction.offer_to_id == a.pk
    )
    with pytest.raises(errors.AuctionNotOpen):
        _bid(auction, b, 5000)
    assert Bid.objects.filter(auction=auction).count() == 1


def test_who_may_bid(
    start_auction: Callable[..., Auction],
    make_user: Callable[..., User],
    live_show: Show,
    shop: dict[str, Any],
) -> None:
    auction = start_auction()
    muted, blocked, fine = make_user("m"), make_user("x"), make_user("ok")
    ShowMute.objects.create(show=live_show, user=muted, muted_by=shop["owner"])
    BuyerBlock.objects.create(merchant=shop["merchant"], buyer=blocked, drop=None)
    with pytest.raises(errors.BidNotAuthenticated):
        _bid(auction, None, 1000)  # type: ignore[arg-type]
    with pytest.raises(errors.BidderMuted):
        _bid(auction, muted, 1000)
    with pytest.raises(errors.BidderBlocked):
        _bid(auction, blocked, 1000)
    with pytest.raises(errors.HostCannotBid):
        _bid(auction, shop["owner"], 1000)
    for bad in ("1000", -5, 0, 10.5, True, None, 10**13):
        with pytest.raises(errors.BidInvalid):
            _bid(auction, fine, bad)
    with pytest.raises(errors.AuctionNotFound):
        bidding.place_bid(auction_id=987654, user=fine, amount=1000)
    assert Bid.objects.filter(auction=auction).count() == 0 and not [
        e for e in _events(auction) if e[0] == "auction.bid_accepted"
    ]


def test_a_bid_flood_is_rate_limited(
    start_auction: Callable[..., Auction], make_user: Callable[..., User], settings: Any
) -> None:
    settings.ABUSE_THROTTLE_ENABLED = True  # off for the rest of the suite (tests/conftest.py)
    settings.ABUSE_THROTTLE_RATES = {**settings.ABUSE_THROTTLE_RATES, "bid.user": "3/m"}
    auction = start_auction()
    flooder = make_user("f")
    refused = 0
    for _ in range(6):
        try:
            _bid(auction, flooder, 100_000)
        except errors.BidRateLimited as exc:
            refused += 1
            assert exc.details["retry_after"] >= 1
        except errors.AlreadyLeading:
            pass
    assert refused == 3 and Bid.objects.filter(auction=auction).count() == 1


def test_close_sells_to_the_winner_then_second_chance_then_pass(
    start_auction: Callable[..., Auction], make_user: Callable[..., User]
) -> None:
    auction = start_auction(checkout_minutes=5)
    a, b, c = make_user("a"), make_user("b"), make_user("c")
    _bid(auction, a, 1000)
    _bid(auction, b, 1100)
    _bid(auction, c, 1500)
    closing.close_auction(auction_id=auction.pk)  # not ended yet: nothing happens
    assert Auction.objects.get(pk=auction.pk).state == AuctionState.OPEN
    move_end(auction, -1)
    closing.close_auction(auction_id=auction.pk)
    auction.refresh_from_db()
    order = Order.objects.get(pk=auction.order_id or 0)
    assert (auction.state, auction.offer_to_id, order.buyer_id, order.total) == ("closed", c.pk, c.pk, 1500)
    assert order.status == OrderStatus.PENDING_PAYMENT and order.lines.get().unit_price == 1500
    closing.expire_offer(auction_id=auction.pk, order_id=order.pk)  # window still open: no-op
    assert Auction.objects.get(pk=auction.pk).order_id == order.pk
    Auction.objects.filter(pk=auction.pk).update(pay_by=timezone.now() - timedelta(seconds=1))
    closing.expire_offer(auction_id=auction.pk, order_id=order.pk)
    auction.refresh_from_db()
    order.refresh_from_db()
    second = Order.objects.get(pk=auction.order_id or 0)
    assert order.status == OrderStatus.CANCELLED
    assert (auction.offer_round, second.buyer_id, second.total) == (2, b.pk, 1100)  # b's own best bid
    Auction.objects.filter(pk=auction.pk).update(pay_by=timezone.now() - timedelta(seconds=1))
    closing.close_due()
    auction.refresh_from_db()
    assert auction.state == AuctionState.PASSED and auction.result_reason == "unpaid"
    states = [(p["from_state"], p["to_state"]) for t, p in _events(auction) if t == "auction.state_changed"]
    assert states == [("scheduled", "open"), ("open", "closed"), ("closed", "passed")]


def test_paying_the_order_makes_the_auction_paid(
    start_auction: Callable[..., Auction], make_user: Callable[..., User]
) -> None:
    auction = start_auction(reserve_price=1200)
    a = make_user("a")
    _bid(auction, a, 1300)
    move_end(auction, -1)
    closing.close_auction(auction_id=auction.pk)
    auction.refresh_from_db()
    mark_order_paid(order_id=auction.order_id)  # type: ignore[arg-type]
    closing.record_payment(order_id=auction.order_id)  # type: ignore[arg-type]
    closing.record_payment(order_id=auction.order_id)  # type: ignore[arg-type]  # a redelivery: no-op
    auction.refresh_from_db()
    assert auction.state == AuctionState.PAID
    assert [t for t, p in _events(auction) if t == "auction.state_changed"][-1:] == ["auction.state_changed"]
    assert sum(1 for t, p in _events(auction) if p.get("to_state") == "paid") == 1


def test_reserve_not_met_passes(
    start_auction: Callable[..., Auction], make_user: Callable[..., User]
) -> None:
    auction = start_auction(reserve_price=5000)
    _bid(auction, make_user("a"), 1000)
    assert auction_state(Auction.objects.get(pk=auction.pk))["reserve_met"] is False
    move_end(auction, -1)
    closing.close_auction(auction_id=auction.pk)
    auction.refresh_from_db()
    assert auction.state == AuctionState.PASSED and auction.result_reason == "reserve_not_met"
    assert auction.order_id is None


def test_one_open_auction_per_show(start_auction: Callable[..., Auction]) -> None:
    start_auction()
    with pytest.raises(errors.AuctionAlreadyOpen):
        start_auction()


def test_giveaway_commits_then_reveals_and_anyone_can_recompute(
    live_show: Show, shop: dict[str, Any], make_user: Callable[..., User]
) -> None:
    m = shop["merchant"].pk
    giveaway = giveaways.open_giveaway(show_id=live_show.pk, merchant_id=m, title="Stickers")
    opened = giveaway_audit(giveaway_id=giveaway.pk)
    assert opened["seed"] is None and opened["entrant_ids"] is None and len(opened["seed_hash"]) == 64
    with pytest.raises(errors.GiveawayNoEntrants):
        giveaways.draw_giveaway(giveaway_id=giveaway.pk, merchant_id=m)
    users = [make_user(f"v{i}") for i in range(7)]
    for u in users:
        assert giveaways.enter_giveaway(giveaway_id=giveaway.pk, user=u)
    assert not giveaways.enter_giveaway(giveaway_id=giveaway.pk, user=users[0])  # once each
    with pytest.raises(errors.GiveawayNotAuthenticated):
        giveaways.enter_giveaway(giveaway_id=giveaway.pk, user=None)
    with pytest.raises(errors.GiveawayNotFound):
        giveaways.draw_giveaway(giveaway_id=giveaway.pk, merchant_id=shop["rival"].pk)
    giveaways.draw_giveaway(giveaway_id=giveaway.pk, merchant_id=m)
    done = giveaway_audit(giveaway_id=giveaway.pk)
    # Recompute from what is published, as any viewer could.
    assert hashlib.sha256(done["seed"].encode()).hexdigest() == opened["seed_hash"]
    ids = done["entrant_ids"]
    assert ids == sorted(u.pk for u in users)
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()
    assert digest == done["entrants_hash"]
    index = int(hashlib.sha256(f"{done['seed']}:{digest}".encode()).hexdigest(), 16) % len(ids)
    assert done["winner_id"] == ids[index]
    with pytest.raises(errors.GiveawayClosed):
        giveaways.enter_giveaway(giveaway_id=giveaway.pk, user=make_user("late"))


@pytest.mark.django_db
def test_eta_tasks_of_an_auction_that_no_longer_exists_do_nothing(caplog: pytest.LogCaptureFixture) -> None:
    from commerce.auctions import tasks

    missing = (Auction.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
    tasks.close_auction.run(missing)
    tasks.expire_offer.run(missing, 1)
    assert Auction.objects.filter(pk=missing).count() == 0
    assert [r.levelname for r in caplog.records if "no longer exists" in r.getMessage()] == ["WARNING"] * 2

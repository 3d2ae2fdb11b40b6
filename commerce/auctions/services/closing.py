"""Close on server time, offer the item to the winner (then once to the runner-up), record payment.

`close_auction` runs when the worker's task fires at `ends_at` (and from the beat sweep); under the
row lock it re-reads the clock and the end, so an extension in between makes it a no-op (the bid
that extended scheduled another run). The winner gets an order awaiting payment and
`checkout_minutes` to pay; `expire_offer` after that cancels the unpaid order and offers the item
at their own highest bid to the next bidder (second chance), or the item passes.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from commerce.auctions.models import Auction, AuctionState, Bid
from commerce.auctions.services.common import lock_auction, move, push_state
from commerce.models import LineStatus, Order, OrderLine, OrderStatus
from commerce.payments.services import saved_cards
from commerce.services.locks import lock_order
from commerce.services.orders import order_status_payload, transition_order
from realtime.outbox import emit

SECOND_CHANCE_ROUND = 2


def close_auction(*, auction_id: int) -> Auction:
    """Close an open auction whose end has passed by server time; otherwise change nothing."""
    with transaction.atomic():
        auction = lock_auction(auction_id)
        now = timezone.now()
        if auction.state != AuctionState.OPEN or auction.ends_at is None or now < auction.ends_at:
            return auction
        auction.closed_at = now
        reserve_met = auction.reserve_price is None or (auction.current_bid or 0) >= auction.reserve_price
        sold = auction.leader_id is not None and reserve_met
        reason = "sold" if sold else ("no_bids" if auction.leader_id is None else "reserve_not_met")
        move(auction, AuctionState.CLOSED, reason=reason,
             extra={"winner_id": auction.leader_id if sold else None, "amount": auction.current_bid,
                    "bids": auction.bids_count, "ends_at": auction.ends_at})  # fmt: skip
        if sold:
            assert auction.leader_id is not None and auction.current_bid is not None
            _offer(auction, buyer_id=auction.leader_id, amount=auction.current_bid, round_=1, now=now)
        else:
            auction.result_reason = reason
            move(auction, AuctionState.PASSED, reason=reason)
        auction.save()
        push_state(auction)
        return auction


def _offer(auction: Auction, *, buyer_id: int, amount: int, round_: int, now: datetime) -> None:
    """Inside the locked transaction: an order for one unit at `amount`, payable until `pay_by`."""
    order = _place_order(auction, buyer_id=buyer_id, amount=amount)
    auction.offer_to_id, auction.offer_amount, auction.offer_round = buyer_id, amount, round_
    auction.order = order
    auction.pay_by = now + timedelta(minutes=auction.checkout_minutes)
    auction.result_reason = "offered" if round_ == 1 else "second_chance"
    emit(
        type="auction.offered",
        key=auction.pk,
        payload={"auction_id": auction.pk, "show_id": auction.show_id, "buyer_id": buyer_id, "amount": amount,
                 "currency": auction.currency, "order_id": order.pk, "round": round_,
                 "pay_by": auction.pay_by},
    )  # fmt: skip
    # A winner who saved a card and agreed to off-session charges is charged at once; if the bank
    # declines, the checkout window above still stands.
    saved_cards.request_off_session_charge(order_id=order.pk, buyer_id=buyer_id)
    from commerce.auctions import tasks

    pk, order_id, pay_by = auction.pk, order.pk, auction.pay_by
    assert pay_by is not None
    transaction.on_commit(lambda: tasks.schedule_offer_expiry(pk, order_id, pay_by))


def _place_order(auction: Auction, *, buyer_id: int, amount: int) -> Order:
    """The winner's order: one line of the auctioned SKU at the hammer price (emits order.placed)."""
    sku = auction.sku
    product = sku.product
    collection = product.collection
    order = Order.objects.create(buyer_id=buyer_id, merchant_id=auction.merchant_id, drop=None,
                                 total=amount, currency=auction.currency)  # fmt: skip
    line = OrderLine.objects.create(
        order=order, sku=sku, kind=product.kind, title=product.title[:200],
        product_snapshot={"product_id": product.pk, "title": product.title, "kind": product.kind,
                          "sku_code": sku.code, "sku_name": sku.name, "attributes": sku.attributes,
                          "media_urls": product.media_urls, "auction_id": auction.pk},
        quantity=1, unit_price=amount, currency=auction.currency,
        nft_chain_id=collection.chain_id if collection else None,
        nft_contract_address=collection.contract_address if collection else "",
        metadata_template=product.metadata_template if collection else {},
        ships=product.ships_with_purchase, status=LineStatus.PENDING,
    )  # fmt: skip
    payload = order_status_payload(order, None)
    payload["lines"] = [{"line_id": line.pk, "sku_id": line.sku_id, "kind": line.kind, "quantity": 1,
                         "unit_price": amount, "title": line.title}]  # fmt: skip
    emit(type="order.placed", key=order.pk, payload=payload)
    return order


def expire_offer(*, auction_id: int, order_id: int) -> Auction:
    """The checkout window passed: cancel the unpaid order, then second chance or pass. Idempotent."""
    with transaction.atomic():
        auction = lock_auction(auction_id)
        now = timezone.now()
        if auction.state != AuctionState.CLOSED or auction.order_id != order_id:
            return auction
        if auction.pay_by is None or now < auction.pay_by:
            return auction
        order = lock_order(order_id)
        if order.status != OrderStatus.PENDING_PAYMENT:
            return auction  # paid (the order.paid handler records it) or already cancelled
        transition_order(order, OrderStatus.CANCELLED, reason="auction checkout window passed")
        emit(type="auction.offer_expired", key=auction.pk,
             payload={"auction_id": auction.pk, "show_id": auction.show_id, "buyer_id": order.buyer_id,
                      "order_id": order.pk, "round": auction.offer_round})  # fmt: skip
        runner_up = _runner_up(auction) if auction.offer_round < SECOND_CHANCE_ROUND else None
        if runner_up is not None:
            _offer(auction, buyer_id=runner_up[0], amount=runner_up[1], round_=SECOND_CHANCE_ROUND, now=now)
        else:
            auction.result_reason = "unpaid"
            move(auction, AuctionState.PASSED, reason="unpaid")
        auction.save()
        push_state(auction)
        return auction


def _runner_up(auction: Auction) -> tuple[int, int] | None:
    """The next bidder (not the winner) and their own highest bid, if it meets the reserve."""
    row = (
        Bid.objects.filter(auction=auction)
        .exclude(bidder_id=auction.leader_id)
        .values("bidder_id")
        .annotate(top=Max("amount"))
        .order_by("-top", "bidder_id")
        .first()
    )
    if row is None or (auction.reserve_price is not None and row["top"] < auction.reserve_price):
        return None
    return int(row["bidder_id"]), int(row["top"])


def record_payment(*, order_id: int) -> Auction | None:
    """`order.paid` of an auction's current offer: the auction is paid (idempotent; None if no auction)."""
    with transaction.atomic():
        found = Auction.objects.filter(order_id=order_id).values_list("pk", flat=True).first()
        if found is None:
            return None
        auction = lock_auction(found)
        if auction.state != AuctionState.CLOSED:
            return auction
        auction.result_reason = "paid"
        move(auction, AuctionState.PAID, reason="paid",
             extra={"order_id": order_id, "buyer_id": auction.offer_to_id, "amount": auction.offer_amount})  # fmt: skip
        auction.save()
        push_state(auction)
        return auction


def close_due(*, limit: int = 100) -> int:
    """Beat sweep: close auctions past their end and expire offers past their window (lost tasks)."""
    now = timezone.now()
    done = 0
    for pk in Auction.objects.filter(state=AuctionState.OPEN, ends_at__lte=now).values_list("pk", flat=True)[
        :limit
    ]:
        close_auction(auction_id=pk)
        done += 1
    due = Auction.objects.filter(state=AuctionState.CLOSED, pay_by__lte=now).values_list("pk", "order_id")[
        :limit
    ]
    for pk, order_id in due:
        if order_id is not None:
            expire_offer(auction_id=pk, order_id=order_id)
            done += 1
    return done

"""Celery tasks of auctions: close at the end by server time, end unpaid checkout windows, sweep."""

import logging
from datetime import datetime

from celery import shared_task

from commerce.auctions.errors import AuctionNotFound
from commerce.auctions.services import closing

log = logging.getLogger(__name__)


# Both run at an eta set when the auction opened or closed: an auction deleted since (in the admin,
# or a database restored without it) leaves nothing to do, which is not an error worth a traceback.
@shared_task(name="commerce.auctions.tasks.close_auction")
def close_auction(auction_id: int) -> None:
    try:
        closing.close_auction(auction_id=auction_id)
    except AuctionNotFound:
        log.warning("auctions: auction %s to close no longer exists", auction_id)


@shared_task(name="commerce.auctions.tasks.expire_offer")
def expire_offer(auction_id: int, order_id: int) -> None:
    try:
        closing.expire_offer(auction_id=auction_id, order_id=order_id)
    except AuctionNotFound:
        log.warning("auctions: auction %s of the expiring offer no longer exists", auction_id)


@shared_task(name="commerce.auctions.tasks.close_due")
def close_due() -> int:
    return closing.close_due()


def schedule_close(auction_id: int, ends_at: datetime) -> None:
    """Run `close_auction` at `ends_at` (the worker holds eta tasks and runs them on time)."""
    try:
        close_auction.apply_async((auction_id,), eta=ends_at)
    except Exception:  # the broker is down: the beat sweep closes it
        log.exception("auctions: scheduling the close of %s failed", auction_id)


def schedule_offer_expiry(auction_id: int, order_id: int, pay_by: datetime) -> None:
    try:
        expire_offer.apply_async((auction_id, order_id), eta=pay_by)
    except Exception:
        log.exception("auctions: scheduling the offer expiry of %s failed", auction_id)

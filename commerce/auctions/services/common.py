"""Helpers shared by the auction services: the row lock, the frame push, the close schedule."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from commerce.auctions.errors import AuctionNotFound, InvalidAuctionTransition
from commerce.auctions.models import AUCTION_TRANSITIONS, Auction
from commerce.auctions.selectors import auction_state
from realtime.outbox import emit
from realtime.shows.publish import push_on_commit


def lock_auction(auction_id: int, *, with_leader: bool = False) -> Auction:
    """Inside the caller's transaction: the auction row, locked (every bid and state change takes it).

    `with_leader` reads the leading user in the same statement (only the auction row is locked).
    """
    rows = Auction.objects.select_for_update(of=("self",)).filter(pk=auction_id)
    auction = (rows.select_related("leader") if with_leader else rows).first()
    if auction is None:
        raise AuctionNotFound("Auction not found.", details={"resource": "auction", "id": auction_id})
    return auction


def push_state(auction: Auction, *, leader: User | None = None) -> None:
    """Inside the transaction: every viewer (show and venue sockets) gets the `auction` frame on commit."""
    push_on_commit(auction.show_id, "auction", auction=auction_state(auction, leader=leader))


def move(auction: Auction, to_state: str, *, reason: str, extra: dict[str, Any] | None = None) -> None:
    """Move a locked auction along its state machine and emit `auction.state_changed`."""
    if to_state not in AUCTION_TRANSITIONS[auction.state]:
        raise InvalidAuctionTransition(
            f"A {auction.state} auction cannot become {to_state}.",
            details={"auction_id": auction.pk, "from_state": auction.state, "to_state": to_state},
        )
    from_state = auction.state
    auction.state = to_state
    emit(
        type="auction.state_changed",
        key=auction.pk,
        payload={
            "auction_id": auction.pk,
            "show_id": auction.show_id,
            "from_state": from_state,
            "to_state": to_state,
            "reason": reason[:100],
            "at": timezone.now(),
            **(extra or {}),
        },
    )


def schedule_close_on_commit(auction_id: int, ends_at: datetime) -> None:
    """Ask the worker to close the auction at `ends_at` (it re-checks under the lock; a later
    extension schedules another run, and the beat sweep catches anything a lost task missed)."""
    from commerce.auctions import tasks

    transaction.on_commit(lambda: tasks.schedule_close(auction_id, ends_at))

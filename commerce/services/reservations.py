"""Reservation use cases: reserve (the hot path of a drop), cancel, expire.

The reserve is one SQL statement (`stock.reserve_in_one_statement`): the buyer's per-drop counter,
the conditional UPDATE on the drop item, the reservation and its outbox row, chained so that a
refusal writes nothing; the same statement returns what a refusal needs to explain itself. With
BEGIN and COMMIT that is three round trips for a reservation, on a path that reads nothing first.
"""

import random
import time
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from commerce.abuse.blocklist import check_not_blocked
from commerce.errors import (
    DropNotLive,
    InvalidQuantity,
    LimitExceeded,
    NotFound,
    ReservationNotActive,
    SoldOut,
    StockBusy,
)
from commerce.models import DropState, Reservation, ReservationStatus
from commerce.models.reservations import ReleaseReason
from commerce.services import soldout_memo, stock
from commerce.services.drops import advance_drops_by_time, mark_sold_out_if_empty, reopen_if_stock
from commerce.services.locks import lock_drop
from commerce.services.stock import Counters
from realtime.outbox import emit, prepare

MAX_QUANTITY = 1000
# Statements a reserve on a split item runs while every shard with room is held (see `busy`).
BUSY_ROUNDS = 200


def reservation_ttl() -> timedelta:
    return timedelta(seconds=settings.COMMERCE_RESERVATION_TTL_SECONDS)


_PLACEHOLDER_COUNTERS = {"offered": 1, "reserved": 1, "sold": 0, "available": 0}


def _reserve_once(
    *, drop_id: int, sku_id: int, buyer_id: int, quantity: int
) -> Reservation | stock.ReserveOutcome:
    """One attempt: the reservation, or what the refused statement saw (nothing was changed)."""
    now = timezone.now()
    reservation_id, expires_at = uuid4(), now + reservation_ttl()
    # Validated before the transaction: the database only fills in the counters (integers).
    event, aggregate = prepare(
        type="inventory.reserved",
        key=drop_id,
        payload={
            "drop_id": drop_id,
            "sku_id": sku_id,
            "reservation_id": reservation_id,
            "buyer_id": buyer_id,
            "quantity": quantity,
            "expires_at": expires_at.isoformat(),
            **_PLACEHOLDER_COUNTERS,
        },
    )
    # No savepoint when nested (Idempotency-Key): nothing raises in here short of a database
    # error, which dooms the request's transaction anyway; a refusal returns instead.
    with transaction.atomic(savepoint=False):
        for busy_round in range(BUSY_ROUNDS):
            outcome = stock.reserve_in_one_statement(
                drop_id=drop_id,
                sku_id=sku_id,
                buyer_id=buyer_id,
                quantity=quantity,
                now=now,
                reservation_id=reservation_id,
                expires_at=expires_at,
                event=event,
                aggregate=aggregate,
            )
            if outcome.counters is not None:
                break
            if outcome.buyer_claimed:  # out of stock between snapshot and lock, or busy: give back
                stock.adjust_buyer_units(drop_id=drop_id, buyer_id=buyer_id, delta=-quantity)
            if not outcome.busy:
                return outcome
            # Every shard with room is held by a writer about to commit: a fresh statement (new
            # snapshot) finds one free, or finds the item sold out. Bounded, with a little jitter.
            time.sleep(random.uniform(0, min(0.0005 * (busy_round + 1), 0.005)))
        else:
            raise StockBusy(
                "Too many buyers at once for this item; try again.",
                details={"retry_after": 1, "requested": quantity},
            )
        counters = outcome.counters
        if counters.available == 0 or outcome.shard_free == 0:
            _note_if_sold_out(outcome, drop_id=drop_id, sku_id=sku_id)
    # The row the statement inserted, as loaded from the database (a save() would UPDATE it).
    row = {
        "id": reservation_id,
        "drop_id": drop_id,
        "item_id": counters.item_id,
        "shard_id": outcome.shard_id,
        "buyer_id": buyer_id,
        "quantity": quantity,
        "status": ReservationStatus.ACTIVE,
        "expires_at": expires_at,
        "order_id": None,
        "release_reason": "",
        "created_at": now,
        "closed_at": None,
    }
    names = [f.attname for f in Reservation._meta.concrete_fields]
    return Reservation.from_db("default", names, [row[name] for name in names])


def _note_if_sold_out(outcome: stock.ReserveOutcome, *, drop_id: int, sku_id: int) -> None:
    """The reserve emptied its stock row: if that was the item's last free unit, say sold out.

    For an unsplit item the row's counters are the item's. For a split item the shard that just
    emptied may not be the last: with the drop row locked (which serialises every shard emptying
    at the same time, as it does items), the item's counters are read again; the last one to
    get the lock sees the others' commits and is the one that announces the sell-out.
    """
    counters = outcome.counters
    assert counters is not None
    if outcome.shard_id is not None:
        lock_drop(drop_id)
        counters = stock.item_counters(item_id=counters.item_id)
        if counters.available > 0:
            return
    emit(
        type="inventory.sold_out",
        key=drop_id,
        payload={"drop_id": drop_id, "sku_id": sku_id, **counters.as_payload()},
    )
    mark_sold_out_if_empty(drop_id=drop_id)
    soldout_memo.remember_sold_out(drop_id=drop_id, sku_id=sku_id)


def _explain_refusal(
    *, outcome: stock.ReserveOutcome, drop_id: int, sku_id: int, quantity: int
) -> tuple[Exception, bool]:
    """Why a reservation was refused, and whether lazy housekeeping could change the answer.

    No query: the refused statement returned its snapshot of the drop, the item and the buyer.
    """
    drop = outcome.drop
    if drop is None:
        return NotFound("Drop not found.", details={"resource": "drop", "id": drop_id}), False
    if not outcome.item_found:
        return NotFound(
            "This SKU is not offered in this drop.", details={"resource": "sku", "id": sku_id}
        ), False
    now = timezone.now()
    state = drop["state"]
    open_now = drop["starts_at"] <= now and (drop["ends_at"] is None or drop["ends_at"] > now)
    if state not in (DropState.LIVE, DropState.SOLD_OUT) or not open_now:
        due = state == DropState.SCHEDULED and open_now  # beat has not started it yet
        return DropNotLive(f"The drop is {state}.", details={"state": state}), due
    limit = drop["per_buyer_limit"]
    # Tried and the counter refused (its check ran on the latest row, under lock), or the
    # snapshot already shows the buyer at the limit.
    if (outcome.attempted and not outcome.buyer_claimed) or outcome.buyer_units + quantity > limit:
        error = LimitExceeded(
            f"You may hold at most {limit} units of this drop.",
            details={"limit": limit, "requested": quantity},
        )
        return error, True
    sold_out = SoldOut(
        "Not enough stock left.", details={"available": max(outcome.available, 0), "requested": quantity}
    )
    return sold_out, outcome.has_expired


def sold_out_seen_here(*, drop_id: int, sku_id: int, quantity: int) -> SoldOut | None:
    """The refusal this process can give without the database (its sold-out memo), if any."""
    if soldout_memo.is_sold_out(drop_id=drop_id, sku_id=sku_id):
        return SoldOut("Not enough stock left.", details={"available": 0, "requested": quantity})
    return None


def reserve_stock(*, drop_id: int, sku_id: int, buyer_id: int, quantity: int) -> Reservation:
    """Hold `quantity` units of a SKU in a live drop for the buyer, for the reservation TTL.

    Raises SoldOut, LimitExceeded, DropNotLive or NotFound, changing nothing. When refused it
    lazily releases expired reservations of the item (or the buyer), or starts a drop whose time
    has come, and tries once more.
    """
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidQuantity(
            f"quantity must be between 1 and {MAX_QUANTITY}.", details={"requested": quantity}
        )
    check_not_blocked(drop_id=drop_id, buyer_id=buyer_id)  # merchant's block: 403, from memory
    known = sold_out_seen_here(drop_id=drop_id, sku_id=sku_id, quantity=quantity)
    if known is not None:
        raise known
    for attempt in (1, 2):
        result = _reserve_once(drop_id=drop_id, sku_id=sku_id, buyer_id=buyer_id, quantity=quantity)
        if isinstance(result, Reservation):
            return result
        error, worth_retry = _explain_refusal(
            outcome=result, drop_id=drop_id, sku_id=sku_id, quantity=quantity
        )
        if attempt == 2 or not worth_retry:
            break
        if isinstance(error, SoldOut):
            retry = release_expired_reservations(drop_id=drop_id, limit=200) > 0
        elif isinstance(error, LimitExceeded):
            retry = release_expired_reservations(drop_id=drop_id, buyer_id=buyer_id, limit=50) > 0
        else:
            retry = advance_drops_by_time() > 0
        if not retry:
            break
    if isinstance(error, SoldOut) and error.details.get("available") == 0:
        soldout_memo.remember_sold_out(drop_id=drop_id, sku_id=sku_id)
    raise error


def release_locked_reservation(reservation: Reservation, *, reason: str) -> Counters:
    """Inside the caller's transaction, with the reservation row locked: give its units back."""
    assert reservation.status == ReservationStatus.ACTIVE
    reservation.status = ReservationStatus.RELEASED
    reservation.release_reason = reason
    reservation.closed_at = timezone.now()
    reservation.save(update_fields=["status", "release_reason", "closed_at"])
    counters = return_units(reservation, quantity=reservation.quantity, reason=reason)
    reopen_if_stock(drop_id=reservation.drop_id, reason="stock released")
    return counters


def return_units(reservation: Reservation, *, quantity: int, reason: str, sold: bool = False) -> Counters:
    """Inside the caller's transaction: put `quantity` units of `reservation` back on sale.

    They come out of the item's reserved units, or its sold ones when `sold` (a refunded line),
    and off the buyer's per-drop count; inventory.released tells the drop's viewers.
    """
    # Buyer row first, then the item row: the order reserve_stock takes them in.
    stock.adjust_buyer_units(drop_id=reservation.drop_id, buyer_id=reservation.buyer_id, delta=-quantity)
    delta = {"sold": -quantity} if sold else {"reserved": -quantity}
    counters = stock.adjust_units(item_id=reservation.item_id, shard_id=reservation.shard_id, **delta)
    soldout_memo.forget_drop(reservation.drop_id)
    emit(
        type="inventory.released",
        key=reservation.drop_id,
        payload={
            "drop_id": reservation.drop_id,
            "sku_id": counters.sku_id,
            "reservation_id": reservation.pk,
            "quantity": quantity,
            "reason": reason,
            **counters.as_payload(),
        },
    )
    return counters


def _lock_one(reservation_id: UUID) -> Reservation | None:
    return Reservation.objects.select_for_update(of=("self",)).filter(pk=reservation_id).first()


def cancel_reservation(*, reservation_id: UUID, buyer_id: int) -> Reservation:
    """The buyer gives a reservation back before checkout."""
    with transaction.atomic():
        reservation = _lock_one(reservation_id)
        if reservation is None or reservation.buyer_id != buyer_id:
            raise NotFound("Reservation not found.", details={"resource": "reservation"})
        if reservation.status != ReservationStatus.ACTIVE:
            raise ReservationNotActive(
                f"The reservation is {reservation.status}.", details={"status": reservation.status}
            )
        if reservation.order_id is not None:
            raise ReservationNotActive(
                "The reservation is part of an order; cancel the order instead.",
                details={"order_id": reservation.order_id},
            )
        release_locked_reservation(reservation, reason=ReleaseReason.CANCELLED)
    return reservation


def expire_reservation(*, reservation_id: UUID, now: datetime | None = None) -> bool:
    """Release one reservation if it is still active and past its expiry; False if something else won."""
    with transaction.atomic():
        reservation = _lock_one(reservation_id)
        now = now or timezone.now()
        if (
            reservation is None
            or reservation.status != ReservationStatus.ACTIVE
            or reservation.expires_at > now
        ):
            return False
        release_locked_reservation(reservation, reason=ReleaseReason.EXPIRED)
    return True


def release_expired_reservations(
    *, drop_id: int | None = None, buyer_id: int | None = None, limit: int = 500
) -> int:
    """Release up to `limit` expired reservations (Celery beat, and lazily on read); returns how many."""
    now = timezone.now()
    due = Reservation.objects.filter(status=ReservationStatus.ACTIVE, expires_at__lte=now)
    if drop_id is not None:
        due = due.filter(drop_id=drop_id)
    if buyer_id is not None:
        due = due.filter(buyer_id=buyer_id)
    ids = list(due.order_by("expires_at").values_list("pk", flat=True)[:limit])
    return sum(1 for reservation_id in ids if expire_reservation(reservation_id=reservation_id, now=now))

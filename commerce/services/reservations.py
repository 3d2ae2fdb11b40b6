"""Reservation use cases: reserve (the hot path of a drop), cancel, expire.

The reserve transaction is kept as short as the hot row allows: one upsert on the buyer's
per-drop counter, one conditional UPDATE on the drop item, one INSERT, one outbox row. Reasons
for a refusal are looked up only after it failed (rolled back), never on the way to success.
"""

from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from commerce.errors import (
    DropNotLive,
    InvalidQuantity,
    LimitExceeded,
    NotFound,
    ReservationNotActive,
    SoldOut,
)
from commerce.models import Drop, DropItem, DropState, Reservation, ReservationStatus
from commerce.models.reservations import ReleaseReason
from commerce.services import stock
from commerce.services.drops import advance_drops_by_time, mark_sold_out_if_empty, reopen_if_stock
from commerce.services.stock import Counters
from realtime.outbox import emit

MAX_QUANTITY = 1000


class _Refused(Exception):
    """Internal: the reserve statements matched no row; the cause is found after rollback."""

    def __init__(self, step: str) -> None:
        self.step = step


def reservation_ttl() -> timedelta:
    return timedelta(seconds=settings.COMMERCE_RESERVATION_TTL_SECONDS)


def _reserve_once(*, drop_id: int, sku_id: int, buyer_id: int, quantity: int) -> Reservation:
    with transaction.atomic():
        if stock.claim_buyer_units(drop_id=drop_id, buyer_id=buyer_id, quantity=quantity) is None:
            raise _Refused("limit")
        counters = stock.reserve_units(drop_id=drop_id, sku_id=sku_id, quantity=quantity)
        if counters is None:
            raise _Refused("stock")
        reservation = Reservation.objects.create(
            drop_id=drop_id,
            item_id=counters.item_id,
            buyer_id=buyer_id,
            quantity=quantity,
            expires_at=timezone.now() + reservation_ttl(),
        )
        emit(
            type="inventory.reserved",
            key=drop_id,
            payload={
                "drop_id": drop_id,
                "sku_id": sku_id,
                "reservation_id": reservation.pk,
                "buyer_id": buyer_id,
                "quantity": quantity,
                "expires_at": reservation.expires_at.isoformat(),
                **counters.as_payload(),
            },
        )
        if counters.available == 0:
            emit(
                type="inventory.sold_out",
                key=drop_id,
                payload={"drop_id": drop_id, "sku_id": sku_id, **counters.as_payload()},
            )
            mark_sold_out_if_empty(drop_id=drop_id)
    return reservation


def _explain_refusal(*, drop_id: int, sku_id: int, quantity: int, step: str) -> tuple[Exception, bool]:
    """Why a reservation was refused, and whether lazy housekeeping could change the answer.

    One query on the failure path only: the item with its drop, and whether the item (or the
    buyer limit) is held by reservations that already expired.
    """
    now = timezone.now()
    expired = Reservation.objects.filter(
        item_id=OuterRef("pk"), status=ReservationStatus.ACTIVE, expires_at__lte=now
    )
    item = (
        DropItem.objects.filter(drop_id=drop_id, sku_id=sku_id)
        .select_related("drop")
        .annotate(has_expired=Exists(expired))
        .first()
    )
    if item is None:
        if not Drop.objects.filter(pk=drop_id).exists():
            return NotFound("Drop not found.", details={"resource": "drop", "id": drop_id}), False
        return NotFound(
            "This SKU is not offered in this drop.", details={"resource": "sku", "id": sku_id}
        ), False
    drop = item.drop
    open_now = drop.starts_at <= now and (drop.ends_at is None or drop.ends_at > now)
    if drop.state not in (DropState.LIVE, DropState.SOLD_OUT) or not open_now:
        due = drop.state == DropState.SCHEDULED and open_now  # beat has not started it yet
        return DropNotLive(f"The drop is {drop.state}.", details={"state": drop.state}), due
    if step == "limit":
        limit = LimitExceeded(
            f"You may hold at most {drop.per_buyer_limit} units of this drop.",
            details={"limit": drop.per_buyer_limit, "requested": quantity},
        )
        return limit, True
    sold_out = SoldOut(
        "Not enough stock left.", details={"available": max(item.available, 0), "requested": quantity}
    )
    return sold_out, bool(item.has_expired)


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
    for attempt in (1, 2):
        try:
            return _reserve_once(drop_id=drop_id, sku_id=sku_id, buyer_id=buyer_id, quantity=quantity)
        except _Refused as refused:
            error, worth_retry = _explain_refusal(
                drop_id=drop_id, sku_id=sku_id, quantity=quantity, step=refused.step
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
    raise error


def release_locked_reservation(reservation: Reservation, *, reason: str) -> Counters:
    """Inside the caller's transaction, with the reservation row locked: give its units back."""
    assert reservation.status == ReservationStatus.ACTIVE
    reservation.status = ReservationStatus.RELEASED
    reservation.release_reason = reason
    reservation.closed_at = timezone.now()
    reservation.save(update_fields=["status", "release_reason", "closed_at"])
    # Buyer row first, then the item row: the order reserve_stock takes them in.
    stock.adjust_buyer_units(
        drop_id=reservation.drop_id, buyer_id=reservation.buyer_id, delta=-reservation.quantity
    )
    counters = stock.adjust_units(item_id=reservation.item_id, reserved=-reservation.quantity)
    emit(
        type="inventory.released",
        key=reservation.drop_id,
        payload={
            "drop_id": reservation.drop_id,
            "sku_id": counters.sku_id,
            "reservation_id": reservation.pk,
            "quantity": reservation.quantity,
            "reason": reason,
            **counters.as_payload(),
        },
    )
    reopen_if_stock(drop_id=reservation.drop_id, reason="stock released")
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

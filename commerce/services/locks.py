"""Named row-lock helpers, one per aggregate. Callers must already be inside `transaction.atomic()`.

Several rows of one kind are always locked in primary-key order so two transactions cannot
deadlock on them.
"""

from collections.abc import Iterable
from uuid import UUID

from commerce.errors import NotFound
from commerce.models import Drop, Order, Reservation


def lock_drop(drop_id: int) -> Drop:
    """Lock one drop row (state changes, sold-out checks)."""
    drop = Drop.objects.select_for_update(of=("self",)).filter(pk=drop_id).first()
    if drop is None:
        raise NotFound("Drop not found.", details={"resource": "drop", "id": drop_id})
    return drop


def lock_order(order_id: int) -> Order:
    """Lock one order row (every order transition goes through it)."""
    order = Order.objects.select_for_update(of=("self",)).filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.", details={"resource": "order", "id": order_id})
    return order


def lock_reservations(ids: Iterable[UUID]) -> list[Reservation]:
    """Lock reservations in id order; the caller compares the result with what it asked for."""
    return list(
        Reservation.objects.select_for_update(of=("self",))
        .filter(pk__in=list(ids))
        .select_related("item__sku__product__collection", "drop")
        .order_by("pk")
    )

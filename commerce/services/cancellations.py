"""Ending an order early: cancellation before payment, refunds after it."""

from django.db import transaction

from commerce.errors import InvalidTransition, NotFound
from commerce.models import ORDER_TRANSITIONS, LineStatus, Order, OrderLine, OrderStatus, ReservationStatus
from commerce.models.reservations import ReleaseReason
from commerce.services.fulfilment import complete_if_done
from commerce.services.locks import lock_order, lock_reservations
from commerce.services.orders import transition_order
from commerce.services.reservations import release_locked_reservation, return_units

CANCEL_REASONS = (ReleaseReason.ORDER_CANCELLED, ReleaseReason.PAYMENT_FAILED, ReleaseReason.PAYMENT_CANCELED)


def cancel_order(
    *,
    order_id: int,
    reason: str = "cancelled",
    release_reason: str = ReleaseReason.ORDER_CANCELLED,
    buyer_id: int | None = None,
    merchant_id: int | None = None,
) -> Order:
    """Cancel an order awaiting payment and give its reserved stock back.

    `release_reason` is what inventory.released says (order_cancelled, payment_failed,
    payment_canceled). `buyer_id` / `merchant_id` scope the call to that owner (NotFound otherwise).
    Idempotent: an order already cancelled is returned unchanged.
    """
    if release_reason not in CANCEL_REASONS:
        raise ValueError(f"release_reason must be one of {CANCEL_REASONS}")
    with transaction.atomic():
        order = lock_order(order_id)
        if (buyer_id is not None and order.buyer_id != buyer_id) or (
            merchant_id is not None and order.merchant_id != merchant_id
        ):
            raise NotFound("Order not found.", details={"resource": "order", "id": order_id})
        if order.status == OrderStatus.CANCELLED:
            return order
        transition_order(order, OrderStatus.CANCELLED, reason=reason)
        reservations = sorted(
            lock_reservations(order.reservations.values_list("pk", flat=True)),
            key=lambda r: (r.item_id, r.shard_id or 0),
        )
        for reservation in reservations:
            if reservation.status == ReservationStatus.ACTIVE:
                release_locked_reservation(reservation, reason=release_reason)
        order.lines.update(status=LineStatus.CANCELLED)
    return order


def _restock_line(line: OrderLine) -> None:
    """Put a refunded line's sold units back on sale (only when the goods never left)."""
    if line.drop_item_id is None or line.reservation_id is None:
        return
    reservation = line.reservation
    assert reservation is not None
    # Its item row is the line's (a reservation is for one drop item).
    return_units(reservation, quantity=line.quantity, reason=ReleaseReason.REFUNDED, sold=True)


def _settle_refund_status(order: Order, reason: str) -> None:
    amount = sum(line.amount for line in order.lines.filter(status=LineStatus.REFUNDED))
    order.refunded_amount = min(amount, order.total)
    was = order.status
    kept = order.lines.exclude(status__in=(LineStatus.REFUNDED, LineStatus.CANCELLED)).exists()
    transition_order(order, OrderStatus.PARTIALLY_REFUNDED if kept else OrderStatus.REFUNDED, reason=reason)
    if kept and was != OrderStatus.FULFILLED:
        # The refunded line may have been the last one open: the rest is delivered, so finish.
        complete_if_done(order)


def mark_line_refunded(*, line_id: int, reason: str = "refunded", restock: bool = False) -> OrderLine:
    """The payment for one line was refunded (e.g. its NFT could not be minted, or its stock was lost).

    The order becomes partially_refunded, or refunded when no line is left. `restock=True` puts
    the units back on sale. Idempotent per line.
    """
    found = OrderLine.objects.filter(pk=line_id).only("order_id").first()
    if found is None:
        raise NotFound("Order line not found.", details={"resource": "order_line", "id": line_id})
    with transaction.atomic():
        order = lock_order(found.order_id)
        line = order.lines.select_related("reservation").get(pk=line_id)
        if line.status == LineStatus.REFUNDED:
            return line
        if line.status not in (LineStatus.PAID, LineStatus.UNAVAILABLE, LineStatus.FULFILLED):
            raise InvalidTransition(f"A {line.status} line cannot be refunded.", details={"line_id": line_id})
        if restock and line.status == LineStatus.PAID:
            _restock_line(line)
        line.status = LineStatus.REFUNDED
        line.save(update_fields=["status"])
        _settle_refund_status(order, reason)
    return line


def refund_order(*, order_id: int, reason: str = "refunded", restock: bool = False) -> Order:
    """The whole payment was refunded: every remaining line is refunded, the order becomes refunded."""
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status == OrderStatus.REFUNDED:
            return order
        if OrderStatus.REFUNDED not in ORDER_TRANSITIONS[order.status]:
            raise InvalidTransition(
                f"A {order.status} order cannot be refunded.", details={"order_id": order_id}
            )
        for line in order.lines.select_related("reservation").exclude(
            status__in=(LineStatus.REFUNDED, LineStatus.CANCELLED)
        ):
            if restock and line.status == LineStatus.PAID:
                _restock_line(line)
            line.status = LineStatus.REFUNDED
            line.save(update_fields=["status"])
        order.refunded_amount = order.total
        transition_order(order, OrderStatus.REFUNDED, reason=reason)
    return order

"""After payment: fulfilment (shipping, minting) and completion of an order.

The completion rule: a line is done when each of its parts is -- its NFT confirmed on chain (digital,
phygital) and its parcel handed to a carrier (physical, phygital "ship with purchase"). A phygital
"redeem later" line is done when minted: its parcel ships on redemption, outside the order. The
order is `fulfilled` when no line is left open and at least one was delivered; delivery of the
parcel is tracked on the shipment after that.
"""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from commerce.errors import InvalidTransition, NotFound
from commerce.models import LineStatus, OrderLine, OrderStatus
from commerce.models.orders import Order
from commerce.services.locks import lock_order
from commerce.services.orders import transition_order
from realtime.outbox import emit

OPEN_LINE_STATUSES = (LineStatus.PAID,)


def start_fulfilment(*, order_id: int) -> Order:
    """A paid order starts fulfilment; each line that ships with it gets shipment.requested.

    NFT lines are minted by the nft app, asked by the saga with nft.mint.requested.
    Idempotent: an order already fulfilling is returned unchanged.
    """
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status == OrderStatus.FULFILLING:
            return order
        transition_order(order, OrderStatus.FULFILLING, reason="fulfilment started")
        for line in order.lines.filter(status=LineStatus.PAID, ships=True):
            emit(
                type="shipment.requested",
                key=order.pk,
                payload={
                    "order_id": order.pk,
                    "line_id": line.pk,
                    "sku_id": line.sku_id,
                    "quantity": line.quantity,
                },
            )
    return order


def complete_if_done(order: Order) -> None:
    """Inside the caller's transaction: fulfil the order once no line is left open."""
    if order.status == OrderStatus.FULFILLED:
        return
    if order.lines.filter(status__in=OPEN_LINE_STATUSES).exists():
        return
    if order.lines.filter(status=LineStatus.FULFILLED).exists():
        transition_order(order, OrderStatus.FULFILLED, reason="all lines fulfilled")


def _settle_line_locked(order: Order, line: OrderLine) -> None:
    """A paid line whose every part is delivered becomes fulfilled."""
    if line.status == LineStatus.PAID and line.parts_done:
        if order.status == OrderStatus.PAID:
            transition_order(order, OrderStatus.FULFILLING, reason="fulfilment started")
        line.status = LineStatus.FULFILLED
        line.save(update_fields=["status", "nft_confirmed_at", "shipped_at"])


def mark_line_minted(*, line_id: int) -> OrderLine:
    """The line's NFT is confirmed on chain; the line is done unless its parcel has yet to ship.

    Idempotent: a line already marked minted is returned unchanged.
    """
    found = OrderLine.objects.filter(pk=line_id).only("order_id").first()
    if found is None:
        raise NotFound("Order line not found.", details={"resource": "order_line", "id": line_id})
    with transaction.atomic():
        order = lock_order(found.order_id)
        line = order.lines.get(pk=line_id)
        if line.nft_confirmed_at is not None:
            return line
        if line.status not in (LineStatus.PAID, LineStatus.FULFILLED):
            raise InvalidTransition(f"A {line.status} line cannot be minted.", details={"line_id": line_id})
        line.nft_confirmed_at = timezone.now()
        line.save(update_fields=["nft_confirmed_at"])
        _settle_line_locked(order, line)
        complete_if_done(order)
    return line


def mark_lines_shipped_locked(order: Order, lines: Iterable[OrderLine]) -> None:
    """Inside the caller's transaction (order locked): the parcel of `lines` left with a carrier."""
    now = timezone.now()
    for line in lines:
        if line.shipped_at is None:
            line.shipped_at = now
            line.save(update_fields=["shipped_at"])
        _settle_line_locked(order, line)
    complete_if_done(order)


def mark_order_fulfilled(*, order_id: int) -> Order:
    """Every open line of the order was delivered."""
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status == OrderStatus.FULFILLED:
            return order
        order.lines.filter(status=LineStatus.PAID).update(status=LineStatus.FULFILLED)
        transition_order(order, OrderStatus.FULFILLED, reason="fulfilled")
    return order

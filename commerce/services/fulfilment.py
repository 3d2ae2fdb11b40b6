"""After payment: fulfilment (shipping, minting) and completion of an order."""

from django.db import transaction

from commerce.errors import InvalidTransition, NotFound
from commerce.models import LineStatus, OrderLine, OrderStatus, ProductKind
from commerce.models.orders import Order
from commerce.services.locks import lock_order
from commerce.services.orders import transition_order
from realtime.outbox import emit

OPEN_LINE_STATUSES = (LineStatus.PAID,)


def start_fulfilment(*, order_id: int) -> Order:
    """A paid order starts fulfilment; each line with a physical part gets shipment.requested.

    NFT lines are minted by the nft app, asked by the saga with nft.mint.requested.
    Idempotent: an order already fulfilling is returned unchanged.
    """
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status == OrderStatus.FULFILLING:
            return order
        transition_order(order, OrderStatus.FULFILLING, reason="fulfilment started")
        for line in order.lines.filter(status=LineStatus.PAID).exclude(kind=ProductKind.DIGITAL):
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
    if order.lines.filter(status__in=OPEN_LINE_STATUSES).exists():
        return
    if order.lines.filter(status=LineStatus.FULFILLED).exists():
        transition_order(order, OrderStatus.FULFILLED, reason="all lines fulfilled")


def mark_line_fulfilled(*, line_id: int) -> OrderLine:
    """One line was delivered (shipped, or its NFT confirmed on chain); completes the order when last.

    Idempotent: a line already fulfilled is returned unchanged.
    """
    line = OrderLine.objects.filter(pk=line_id).only("order_id").first()
    if line is None:
        raise NotFound("Order line not found.", details={"resource": "order_line", "id": line_id})
    with transaction.atomic():
        order = lock_order(line.order_id)
        line = order.lines.get(pk=line_id)
        if line.status == LineStatus.FULFILLED:
            return line
        if line.status != LineStatus.PAID:
            raise InvalidTransition(
                f"A {line.status} line cannot be fulfilled.", details={"line_id": line_id}
            )
        if order.status == OrderStatus.PAID:
            transition_order(order, OrderStatus.FULFILLING, reason="fulfilment started")
        line.status = LineStatus.FULFILLED
        line.save(update_fields=["status"])
        complete_if_done(order)
    return line


def mark_order_fulfilled(*, order_id: int) -> Order:
    """Every open line of the order was delivered."""
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status == OrderStatus.FULFILLED:
            return order
        order.lines.filter(status=LineStatus.PAID).update(status=LineStatus.FULFILLED)
        transition_order(order, OrderStatus.FULFILLED, reason="fulfilled")
    return order

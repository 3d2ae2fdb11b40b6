"""Re-opening a fulfilled order whose delivery was taken back (a chain reorg removed a confirmed mint).

The line goes back to `paid` (open) and the order from `fulfilled` to `fulfilling`, announced as
`order.reopened`; when the same transaction is mined and confirmed again, the usual fulfilment path
(`mark_line_minted`) closes the line and fulfils the order a second time.
"""

from django.utils import timezone

from commerce.errors import InvalidTransition
from commerce.models import ORDER_TRANSITIONS, LineStatus, Order, OrderStatus
from commerce.services.orders import order_status_payload
from realtime.outbox import emit


def _reopened_payload(order: Order, previous: str, line_ids: list[int], reason: str) -> dict[str, object]:
    return {**order_status_payload(order, previous, reason), "line_ids": line_ids}


def reopen_lines_locked(order: Order, *, line_ids: list[int], reason: str) -> list[int]:
    """Inside the caller's transaction, `order` locked: fulfilled lines back to paid; re-open the order.

    Returns the lines moved (none when they were not fulfilled: a duplicate or a late event). A
    `fulfilled` order becomes `fulfilling` and `order.reopened` is emitted; an order in another
    state (partly refunded, still fulfilling) only gets its lines back.
    """
    moved = sorted(
        order.lines.filter(pk__in=line_ids, status=LineStatus.FULFILLED).values_list("pk", flat=True)
    )
    if not moved:
        return []
    # The NFT part is not delivered any more; a shipped parcel stays shipped (per-part completion).
    order.lines.filter(pk__in=moved).update(status=LineStatus.PAID, nft_confirmed_at=None)
    if order.status == OrderStatus.FULFILLED:
        if OrderStatus.FULFILLING not in ORDER_TRANSITIONS[order.status]:
            raise InvalidTransition(
                f"A {order.status} order cannot be re-opened.", details={"order_id": order.pk}
            )
        previous = order.status
        order.status = OrderStatus.FULFILLING
        order.status_reason = reason[:200]
        order.closed_at = None
        order.updated_at = timezone.now()
        order.save(update_fields=["status", "status_reason", "closed_at", "updated_at"])
        emit(
            type="order.reopened",
            key=order.pk,
            payload=_reopened_payload(order, previous, moved, reason),
        )
    return moved

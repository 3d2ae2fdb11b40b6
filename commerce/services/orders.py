"""Order use cases: checkout, payment, fulfilment, cancellation, refunds.

The order state machine is `commerce.models.orders.ORDER_TRANSITIONS`; every move goes through
`transition_order()`, which locks nothing itself (callers hold the order lock) and emits `order.<status>`.
Payment and minting live in other packages and call these services.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from commerce.addresses import ShippingAddress
from commerce.errors import (
    InvalidTransition,
    MixedMerchants,
    NotFound,
    NothingToCheckout,
    ReservationExpired,
    ReservationNotActive,
    ShippingAddressRequired,
)
from commerce.models import (
    ORDER_TRANSITIONS,
    LineStatus,
    NftCollection,
    Order,
    OrderLine,
    OrderStatus,
    Reservation,
    ReservationStatus,
)
from commerce.models.orders import FINAL_STATUSES
from commerce.models.reservations import ReleaseReason
from commerce.services import stock
from commerce.services.locks import lock_order, lock_reservations
from commerce.services.reservations import release_expired_reservations
from realtime.outbox import emit


def order_status_payload(order: Order, previous: str | None, reason: str = "") -> dict[str, object]:
    """The common payload of the order.* status events."""
    payload: dict[str, object] = {
        "order_id": order.pk,
        "buyer_id": order.buyer_id,
        "merchant_id": order.merchant_id,
        "drop_id": order.drop_id,
        "status": order.status,
        "previous_status": previous,
        "total": order.total,
        "currency": order.currency,
    }
    if reason:
        payload["reason"] = reason[:200]
    return payload


def transition_order(order: Order, to_status: str, *, reason: str = "") -> Order:
    """Move a locked order along the state machine and emit `order.<to_status>`; raise if illegal."""
    if to_status not in ORDER_TRANSITIONS[order.status]:
        raise InvalidTransition(
            f"A {order.status} order cannot become {to_status}.",
            details={"order_id": order.pk, "from_status": order.status, "to_status": to_status},
        )
    previous = order.status
    order.status = to_status
    order.status_reason = reason[:200]
    now = timezone.now()
    if to_status == OrderStatus.PAID:
        order.paid_at = now
    if to_status in FINAL_STATUSES:
        order.closed_at = now
    order.save()
    emit(type=f"order.{to_status}", key=order.pk, payload=order_status_payload(order, previous, reason))
    return order


def _snapshot(reservation: Reservation) -> dict[str, object]:
    sku = reservation.item.sku
    product = sku.product
    return {
        "product_id": product.pk,
        "title": product.title,
        "kind": product.kind,
        "sku_code": sku.code,
        "sku_name": sku.name,
        "attributes": sku.attributes,
        "media_urls": product.media_urls,
    }


def place_order(
    *,
    buyer_id: int,
    reservation_ids: list[UUID] | None = None,
    shipping_address: ShippingAddress | None = None,
) -> Order:
    """Check out the buyer's live reservations (all of them, or the given ones) into one order.

    All reservations must belong to one merchant. Their hold is extended so the payment has time;
    NFT units become one line each (one line = one token). An order with something to ship
    (physical, or phygital shipped with the purchase) needs `shipping_address`, stored on the order
    as a snapshot; a digital-only order stores none. Emits order.placed.
    """
    release_expired_reservations(buyer_id=buyer_id, limit=100)  # lazy expiry on the way in
    with transaction.atomic():
        if reservation_ids is None:
            wanted = list(
                Reservation.objects.filter(
                    buyer_id=buyer_id, status=ReservationStatus.ACTIVE, order__isnull=True
                ).values_list("pk", flat=True)
            )
            if not wanted:
                raise NothingToCheckout("You have no live reservations to check out.")
        else:
            wanted = list(dict.fromkeys(reservation_ids))
        locked = [r for r in lock_reservations(wanted) if r.buyer_id == buyer_id]  # locked in pk order
        reservations = sorted(locked, key=lambda r: (r.created_at, r.pk))  # lines in the order taken
        found = {r.pk for r in reservations}
        missing = [str(i) for i in wanted if i not in found]
        if missing:
            raise NotFound("Reservation not found.", details={"resource": "reservation", "ids": missing})
        now = timezone.now()
        for r in reservations:
            expired = r.release_reason == ReleaseReason.EXPIRED or (
                r.status == ReservationStatus.ACTIVE and r.expires_at <= now
            )
            if expired:
                raise ReservationExpired("A reservation has expired.", details={"reservation_id": str(r.pk)})
            if r.status != ReservationStatus.ACTIVE or r.order_id is not None:
                raise ReservationNotActive(
                    "A reservation was already checked out or released.",
                    details={"reservation_id": str(r.pk), "status": r.status},
                )
        merchants = {r.drop.merchant_id for r in reservations}
        currencies = {r.item.currency for r in reservations}
        if len(merchants) > 1 or len(currencies) > 1:
            raise MixedMerchants("Check out reservations of one merchant (and currency) at a time.")
        ships = any(r.item.sku.product.ships_with_purchase for r in reservations)
        if ships and shipping_address is None:
            raise ShippingAddressRequired(
                "This order ships to you: a shipping address is required.",
                details={"field": "shipping_address", "shipping_address": ["This field is required."]},
            )
        drops = {r.drop_id for r in reservations}
        order = Order.objects.create(
            shipping_address=shipping_address.as_dict() if ships and shipping_address else {},
            buyer_id=buyer_id,
            merchant_id=merchants.pop(),
            drop_id=next(iter(drops)) if len(drops) == 1 else None,
            total=sum(r.quantity * r.item.price for r in reservations),
            currency=currencies.pop(),
        )
        hold_until = now + timedelta(seconds=settings.COMMERCE_CHECKOUT_HOLD_SECONDS)
        lines: list[OrderLine] = []
        for r in reservations:
            product = r.item.sku.product
            collection = product.collection
            per_line = [1] * r.quantity if product.mints_nft else [r.quantity]
            for quantity in per_line:
                lines.append(
                    OrderLine(
                        order=order,
                        sku_id=r.item.sku_id,
                        drop_item_id=r.item_id,
                        reservation=r,
                        kind=product.kind,
                        title=product.title[:200],
                        product_snapshot=_snapshot(r),
                        quantity=quantity,
                        unit_price=r.item.price,
                        currency=r.item.currency,
                        nft_chain_id=collection.chain_id if collection else None,
                        nft_contract_address=collection.contract_address if collection else "",
                        metadata_template=product.metadata_template if collection else {},
                        ships=product.ships_with_purchase,
                    )
                )
            r.order = order
            r.expires_at = max(r.expires_at, hold_until)
            r.save(update_fields=["order", "expires_at"])
        OrderLine.objects.bulk_create(lines)
        payload = order_status_payload(order, None)
        payload["lines"] = [
            {
                "line_id": line.pk,
                "sku_id": line.sku_id,
                "kind": line.kind,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "title": line.title,
            }
            for line in lines
        ]
        emit(type="order.placed", key=order.pk, payload=payload)
    return order


@dataclass
class PaymentOutcome:
    """What `mark_order_paid` did; `unavailable_lines` were paid but their stock is gone: refund them."""

    order: Order
    already_paid: bool = False
    unavailable_lines: list[OrderLine] = field(default_factory=list)


def _allocate_token_ids(lines: list[OrderLine]) -> None:
    """Give each paid NFT line the next token id of its collection (a counter row per collection)."""
    by_contract: dict[tuple[int, str], list[OrderLine]] = {}
    for line in lines:
        if line.mints_nft and not line.token_id and line.nft_chain_id:
            by_contract.setdefault((line.nft_chain_id, line.nft_contract_address), []).append(line)
    table = NftCollection._meta.db_table
    for (chain_id, address), group in sorted(by_contract.items()):
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {table} SET next_token_id = next_token_id + %s "  # noqa: S608
                "WHERE chain_id = %s AND contract_address = %s RETURNING next_token_id",
                [len(group), chain_id, address],
            )
            row = cur.fetchone()
        if row is None:
            continue  # collection gone from the catalog: the nft app will refuse to mint, visibly
        first = int(row[0]) - len(group)
        for offset, line in enumerate(group):
            line.token_id = str(first + offset)


def mark_order_paid(*, order_id: int, payment_intent_id: str = "") -> PaymentOutcome:
    """Payment succeeded: turn the order's reservations into sales and the order into `paid`.

    Idempotent: an order already paid (or further along) is returned unchanged. A reservation that
    expired while the payment was pending takes its units again if they are still free; if they
    are not, its lines become `unavailable` and are returned so the caller refunds them.
    Emits inventory.sold per reservation and order.paid.
    """
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status != OrderStatus.PENDING_PAYMENT:
            if order.paid_at is not None:
                return PaymentOutcome(order=order, already_paid=True)
            transition_order(order, OrderStatus.PAID)  # raises InvalidTransition (e.g. cancelled)
        # Stock rows are taken in (item, shard) order, the item's own row first, so two payments
        # of orders holding units on the same rows cannot deadlock.
        reservations = sorted(
            lock_reservations(order.reservations.values_list("pk", flat=True)),
            key=lambda r: (r.item_id, r.shard_id or 0),
        )
        lines = list(order.lines.all())
        lost: set[UUID] = set()
        for r in reservations:
            if r.status == ReservationStatus.ACTIVE:
                counters = stock.adjust_units(
                    item_id=r.item_id, shard_id=r.shard_id, reserved=-r.quantity, sold=r.quantity
                )
            else:
                # Expired (or released) while the payment was pending: re-take the units if free.
                stock.adjust_buyer_units(drop_id=r.drop_id, buyer_id=r.buyer_id, delta=r.quantity)
                taken = stock.take_free_units_as_sold(item_id=r.item_id, quantity=r.quantity)
                if taken is None:
                    stock.adjust_buyer_units(drop_id=r.drop_id, buyer_id=r.buyer_id, delta=-r.quantity)
                    lost.add(r.pk)
                    continue
                counters, r.shard_id = taken  # the sold units live where they were taken now
            r.status, r.closed_at, r.release_reason = ReservationStatus.SOLD, timezone.now(), ""
            r.save(update_fields=["status", "closed_at", "release_reason", "shard_id"])
            emit(
                type="inventory.sold",
                key=r.drop_id,
                payload={
                    "drop_id": r.drop_id,
                    "sku_id": counters.sku_id,
                    "reservation_id": r.pk,
                    "order_id": order.pk,
                    "merchant_id": order.merchant_id,
                    "quantity": r.quantity,
                    "unit_price": r.item.price,
                    "currency": r.item.currency,
                    **counters.as_payload(),
                },
            )
        for line in lines:
            line.status = LineStatus.UNAVAILABLE if line.reservation_id in lost else LineStatus.PAID
        _allocate_token_ids([line for line in lines if line.status == LineStatus.PAID])
        OrderLine.objects.bulk_update(lines, ["status", "token_id"])
        if payment_intent_id:
            order.payment_intent_id = payment_intent_id
        transition_order(order, OrderStatus.PAID, reason="payment succeeded")
    return PaymentOutcome(
        order=order, unavailable_lines=[line for line in lines if line.status == LineStatus.UNAVAILABLE]
    )

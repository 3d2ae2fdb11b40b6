"""Shipments: created from `shipment.requested` / `nft.redeemed`, shipped, delivered or cancelled by the merchant.

State machine: pending -> shipped -> delivered, or pending -> cancelled ("cannot ship": the order
lines are refunded through the per-line refund). Every move locks the order first (when there is
one) and then the shipment, the order the consumer creating shipments uses too, and emits its
`shipment.*` event in the same transaction.
"""

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from commerce.addresses import ShippingAddress
from commerce.carriers import get_carrier
from commerce.errors import InvalidShipmentData, InvalidTransition, NotFound
from commerce.models import LineStatus, Order, OrderLine, Shipment, ShipmentLine, ShipmentStatus, Sku
from commerce.services.fulfilment import mark_lines_shipped_locked
from commerce.services.locks import lock_order
from realtime.outbox import emit

# Carriers' numbers are letters, digits and a few separators; nothing that could break a URL or a label.
TRACKING_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,63}\Z")
MAX_REASON = 200


def _payload(shipment: Shipment, line_ids: list[int], **extra: Any) -> dict[str, Any]:
    return {
        "shipment_id": shipment.pk,
        "merchant_id": shipment.merchant_id,
        "buyer_id": shipment.buyer_id,
        "order_id": shipment.order_id,
        "redemption_id": shipment.redemption_id,
        "line_ids": line_ids,
        **extra,
    }


def _line_ids(shipment: Shipment) -> list[int]:
    return list(shipment.lines.order_by("line_id").values_list("line_id", flat=True))


def _pick_row(line: OrderLine) -> dict[str, Any]:
    snap = line.product_snapshot or {}
    return {
        "line_id": line.pk,
        "title": line.title,
        "kind": line.kind,
        "sku_code": snap.get("sku_code", ""),
        "sku_name": snap.get("sku_name", ""),
        "quantity": line.quantity,
        "token_id": line.token_id,
    }


def create_order_shipment(*, order_id: int) -> Shipment | None:
    """Group the paid order's shipping lines into its one shipment (None when nothing ships).

    Idempotent: the order's shipment, once created, is returned as it is (one `shipment.requested`
    arrives per line; the first creates the shipment for all of them).
    """
    with transaction.atomic():
        order = lock_order(order_id)
        existing = order.shipments.first()
        if existing is not None:
            return existing
        lines = list(order.lines.filter(ships=True, status=LineStatus.PAID).order_by("pk"))
        if not lines:
            return None
        shipment = Shipment.objects.create(
            merchant_id=order.merchant_id,
            buyer_id=order.buyer_id,
            order=order,
            shipping_address=order.shipping_address,
            pick_list=[_pick_row(line) for line in lines],
        )
        ShipmentLine.objects.bulk_create([ShipmentLine(shipment=shipment, line=line) for line in lines])
        emit(
            type="shipment.created",
            key=shipment.event_key,
            payload=_payload(shipment, [ln.pk for ln in lines]),
        )
    return shipment


def create_redemption_shipment(
    *,
    redemption_id: int,
    merchant_id: int,
    buyer_id: int,
    sku_id: int | None,
    product_id: int,
    token_id: str,
    address: ShippingAddress,
) -> Shipment:
    """A phygital token was redeemed: ship its item to the address given. Idempotent per redemption."""
    existing = Shipment.objects.filter(redemption_id=redemption_id).first()
    if existing is not None:
        return existing
    sku = None
    if sku_id is not None:
        sku = (
            Sku.objects.select_related("product").filter(pk=sku_id, product__merchant_id=merchant_id).first()
        )
    if sku is None:  # no SKU named: the product's first one, for the packing slip
        sku = Sku.objects.select_related("product").filter(product_id=product_id).order_by("pk").first()
    title = sku.product.title if sku else f"Product {product_id}"
    try:
        with transaction.atomic():
            shipment = Shipment.objects.create(
                merchant_id=merchant_id,
                buyer_id=buyer_id,
                redemption_id=redemption_id,
                sku=sku,
                shipping_address=address.as_dict(),
                pick_list=[
                    {
                        "line_id": None,
                        "title": title,
                        "kind": "phygital",
                        "sku_code": sku.code if sku else "",
                        "sku_name": sku.name if sku else "",
                        "quantity": 1,
                        "token_id": token_id,
                    }
                ],
            )
            emit(type="shipment.created", key=shipment.event_key, payload=_payload(shipment, []))
    except IntegrityError:  # the same redemption, created concurrently: one shipment
        return Shipment.objects.get(redemption_id=redemption_id)
    return shipment


def _lock(shipment_id: int, merchant_id: int) -> tuple[Shipment, Order | None]:
    """Inside a transaction: lock the shipment's order (if any), then the shipment; 404 for other merchants."""
    found = Shipment.objects.filter(pk=shipment_id, merchant_id=merchant_id).only("order_id").first()
    if found is None:
        raise NotFound("Shipment not found.", details={"resource": "shipment", "id": shipment_id})
    order = lock_order(found.order_id) if found.order_id else None
    shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
    return shipment, order


def _refuse(shipment: Shipment, action: str) -> InvalidTransition:
    return InvalidTransition(
        f"A {shipment.get_status_display().lower()} shipment cannot be {action}.",
        details={"shipment_id": shipment.pk, "status": shipment.status, "action": action},
    )


def check_tracking_number(value: str) -> str:
    """The tracking number, stripped; raises InvalidShipmentData naming the field."""
    number = (value or "").strip()
    if not TRACKING_NUMBER.match(number):
        raise InvalidShipmentData(
            "Enter the carrier's tracking number (letters, digits, spaces, . _ / -; at most 64).",
            details={"field": "tracking_number"},
        )
    return number


def mark_shipped(
    *, shipment_id: int, merchant_id: int, carrier: str, tracking_number: str, user_id: int | None = None
) -> Shipment:
    """The merchant handed the parcel to `carrier`: record tracking, fulfil the lines, emit shipment.shipped.

    Shipping twice is refused (409), also when two staff members click at the same moment.
    """
    chosen = get_carrier(carrier)
    number = check_tracking_number(tracking_number)
    with transaction.atomic():
        shipment, order = _lock(shipment_id, merchant_id)
        if shipment.status != ShipmentStatus.PENDING:
            raise _refuse(shipment, "shipped")
        shipment.status = ShipmentStatus.SHIPPED
        shipment.carrier = chosen.code
        shipment.tracking_number = number
        shipment.tracking_url = chosen.tracking_link(number)
        shipment.shipped_at = timezone.now()
        shipment.shipped_by_id = user_id
        shipment.save()
        line_ids = _line_ids(shipment)
        if order is not None:
            mark_lines_shipped_locked(order, order.lines.filter(pk__in=line_ids).order_by("pk"))
        emit(
            type="shipment.shipped",
            key=shipment.event_key,
            payload=_payload(
                shipment,
                line_ids,
                carrier=shipment.carrier,
                tracking_number=shipment.tracking_number,
                tracking_url=shipment.tracking_url,
            ),
        )
    return shipment


def mark_delivered(*, shipment_id: int, merchant_id: int) -> Shipment:
    """The parcel reached the buyer (only after it was shipped)."""
    with transaction.atomic():
        shipment, _ = _lock(shipment_id, merchant_id)
        if shipment.status != ShipmentStatus.SHIPPED:
            raise _refuse(shipment, "marked delivered")
        shipment.status = ShipmentStatus.DELIVERED
        shipment.delivered_at = timezone.now()
        shipment.save()
        emit(
            type="shipment.delivered", key=shipment.event_key, payload=_payload(shipment, _line_ids(shipment))
        )
    return shipment


def cancel_shipment(*, shipment_id: int, merchant_id: int, reason: str) -> Shipment:
    """The merchant cannot ship: cancel it and refund its order lines (one refund per line, once)."""
    # Imported here: payments builds on commerce services, not the other way round at import time.
    from commerce.payments.services.refunds import line_refund_key, request_refund

    text = (reason or "").strip()
    if not text or len(text) > MAX_REASON:
        raise InvalidShipmentData(
            f"Say why it cannot ship (1 to {MAX_REASON} characters).", details={"field": "reason"}
        )
    with transaction.atomic():
        shipment, order = _lock(shipment_id, merchant_id)
        if shipment.status != ShipmentStatus.PENDING:
            raise _refuse(shipment, "cancelled")
        shipment.status = ShipmentStatus.CANCELLED
        shipment.cancel_reason = text
        shipment.cancelled_at = timezone.now()
        shipment.save()
        line_ids = _line_ids(shipment)
        if order is not None:
            for line in order.lines.filter(pk__in=line_ids, status=LineStatus.PAID).order_by("pk"):
                request_refund(
                    order=order,
                    line=line,
                    amount=line.amount,
                    key=line_refund_key(line.pk),
                    reason=f"cannot_ship: {text}",
                )
        emit(
            type="shipment.cancelled",
            key=shipment.event_key,
            payload=_payload(shipment, line_ids, reason=text),
        )
    return shipment

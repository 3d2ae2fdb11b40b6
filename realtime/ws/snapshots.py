"""What a socket gets first: the current state of its stream, read from the database.

Plain synchronous selectors (the consumers call them through `database_sync_to_async`, the
projector from its database thread). Stock comes from the commerce counters, order and mint
state from the order and its lines (and the nft app's mints, when present).
"""

from datetime import datetime
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from commerce.errors import NotFound
from commerce.models import Drop, DropItem, DropState, Order, OrderStatus
from commerce.selectors import drop_availability

# Drops a merchant's live dashboard covers.
DASHBOARD_DROP_STATES = (DropState.SCHEDULED, DropState.LIVE, DropState.PAUSED, DropState.SOLD_OUT)
PAID_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.FULFILLING,
    OrderStatus.FULFILLED,
    OrderStatus.PARTIALLY_REFUNDED,
)


def countdown_target(state: str, starts_at: datetime | None, ends_at: datetime | None) -> datetime | None:
    """What a countdown on the drop page counts to: the start, then the end."""
    if state == DropState.SCHEDULED:
        return starts_at
    if state in (DropState.LIVE, DropState.PAUSED, DropState.SOLD_OUT):
        return ends_at
    return None


def stock_row(item: dict[str, Any]) -> dict[str, Any]:
    """One SKU's counters, in the shape of `stock` frames."""
    return {k: item[k] for k in ("sku_id", "offered", "reserved", "sold", "available")}


def drop_snapshot(*, drop_id: int) -> dict[str, Any]:
    """Drop state, countdown target and stock per SKU. Raises commerce NotFound."""
    data = drop_availability(drop_id=drop_id)
    return {
        "drop_id": drop_id,
        "state": data["state"],
        "starts_at": data["starts_at"],
        "ends_at": data["ends_at"],
        "countdown_to": countdown_target(data["state"], data["starts_at"], data["ends_at"]),
        "server_time": timezone.now(),
        "skus": [{**stock_row(i), "price": i["price"], "currency": i["currency"]} for i in data["items"]],
    }


def order_parties(*, order_id: int) -> tuple[int, int] | None:
    """(buyer id, merchant id) of an order, or None if there is no such order."""
    row = Order.objects.filter(pk=order_id).values_list("buyer_id", "merchant_id").first()
    return (row[0], row[1]) if row else None


def _mints(order_id: int) -> dict[int, dict[str, Any]]:
    try:
        from nft.models import Mint
    except ImportError:  # the nft app is optional for the drop/order streams
        return {}
    rows = Mint.objects.filter(order_id=order_id).values(
        "line_id", "status", "token_id", "current_tx__tx_hash", "current_tx__block_number", "failure_reason"
    )
    return {
        int(r["line_id"]): {
            "state": r["status"],
            "token_id": str(r["token_id"]) if r["token_id"] is not None else None,
            "tx_hash": r["current_tx__tx_hash"] or None,
            "block_number": r["current_tx__block_number"],
            "reason": r["failure_reason"] or None,
        }
        for r in rows
    }


def order_snapshot(*, order_id: int) -> dict[str, Any]:
    """Order status, totals and lines with their mint state. Raises commerce NotFound."""
    order = Order.objects.filter(pk=order_id).prefetch_related("lines").first()
    if order is None:
        raise NotFound("Order not found.", details={"resource": "order", "id": order_id})
    mints = _mints(order_id)
    return {
        "order_id": order.pk,
        "status": order.status,
        "total": order.total,
        "currency": order.currency,
        "refunded_amount": order.refunded_amount,
        "drop_id": order.drop_id,
        "lines": [
            {
                "line_id": line.pk,
                "kind": line.kind,
                "title": line.title,
                "quantity": line.quantity,
                "status": line.status,
                "token_id": line.token_id or None,
                "mint": mints.get(line.pk),
            }
            for line in order.lines.all()
        ],
    }


def _mint_counts(drop_ids: list[int]) -> dict[int, dict[str, int]]:
    try:
        from nft.models import Mint
    except ImportError:
        return {}
    order_drop = dict(Order.objects.filter(drop_id__in=drop_ids).values_list("pk", "drop_id"))
    counts: dict[int, dict[str, int]] = {d: {} for d in drop_ids}
    if not order_drop:
        return counts
    rows = (
        Mint.objects.filter(order_id__in=list(order_drop))
        .values("order_id", "status")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        per = counts[order_drop[row["order_id"]]]
        per[row["status"]] = per.get(row["status"], 0) + row["n"]
    return counts


def merchant_dashboard(*, merchant_id: int) -> dict[str, Any]:
    """Per live drop of the merchant: units and orders sold, revenue, reservations held, mints."""
    drops = list(
        Drop.objects.filter(merchant_id=merchant_id, state__in=DASHBOARD_DROP_STATES)
        .order_by("starts_at", "pk")
        .values("pk", "title", "state", "starts_at", "ends_at")
    )
    drop_ids = [d["pk"] for d in drops]
    stock = {
        r["drop_id"]: r
        for r in DropItem.objects.filter(drop_id__in=drop_ids)
        .with_stock_totals()  # a split item's stock is mostly on its shards
        .values("drop_id")
        .annotate(
            units_offered=Sum(F("offered") + F("shard_offered")),
            units_reserved=Sum(F("reserved") + F("shard_reserved")),
            units_sold=Sum(F("sold") + F("shard_sold")),
            revenue=Sum((F("sold") + F("shard_sold")) * F("price")),
        )
    }
    orders = {
        r["drop_id"]: r["n"]
        for r in Order.objects.filter(drop_id__in=drop_ids)
        .values("drop_id")
        .annotate(n=Count("pk", filter=Q(status__in=PAID_STATUSES)))
    }
    mints = _mint_counts(drop_ids)
    rows = []
    for d in drops:
        s: dict[str, Any] = dict(stock.get(d["pk"], {}))
        m = mints.get(d["pk"], {})
        rows.append(
            {
                "drop_id": d["pk"],
                "title": d["title"],
                "state": d["state"],
                "countdown_to": countdown_target(d["state"], d["starts_at"], d["ends_at"]),
                "units_sold": s.get("units_sold") or 0,
                "orders_paid": orders.get(d["pk"], 0),
                "revenue": s.get("revenue") or 0,
                "reservations_held": s.get("units_reserved") or 0,
                "available": (s.get("units_offered") or 0)
                - (s.get("units_reserved") or 0)
                - (s.get("units_sold") or 0),
                "mints_pending": m.get("requested", 0) + m.get("submitted", 0),
                "mints_confirmed": m.get("confirmed", 0),
                "mints_failed": m.get("failed", 0),
            }
        )
    return {
        "merchant_id": merchant_id,
        "drops": rows,
        "totals": {
            k: sum(r[k] for r in rows)
            for k in (
                "units_sold",
                "orders_paid",
                "revenue",
                "reservations_held",
                "mints_pending",
                "mints_confirmed",
            )
        },
    }


def drop_merchants(drop_ids: list[int]) -> dict[int, int]:
    """drop id -> merchant id."""
    return dict(Drop.objects.filter(pk__in=drop_ids).values_list("pk", "merchant_id"))


def order_merchants(order_ids: list[int]) -> dict[int, int]:
    """order id -> merchant id."""
    return dict(Order.objects.filter(pk__in=order_ids).values_list("pk", "merchant_id"))

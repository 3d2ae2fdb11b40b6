"""Read queries of commerce. Nothing here writes."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Min, Prefetch, QuerySet

from commerce.errors import NotFound
from commerce.models import (
    Drop,
    DropItem,
    DropState,
    Merchant,
    NftCollection,
    Order,
    Product,
    Reservation,
    ReservationStatus,
    Shipment,
    Sku,
)

PUBLIC_DROP_STATES = (
    DropState.SCHEDULED,
    DropState.LIVE,
    DropState.PAUSED,
    DropState.SOLD_OUT,
    DropState.ENDED,
)


def drop_availability(*, drop_id: int) -> dict[str, Any]:
    """Live stock of a drop from its counters: one indexed query, cheap enough for every WebSocket connect."""
    rows = list(
        DropItem.objects.filter(drop_id=drop_id)
        .with_stock_totals()  # type: ignore[misc]  # (annotation names: the plugin cannot see them)
        .order_by("pk")
        .values(
            "pk", "sku_id", "offered", "reserved", "sold", "price", "currency",
            "shard_offered", "shard_reserved", "shard_sold",
            "drop__state", "drop__starts_at", "drop__ends_at", "drop__per_buyer_limit",
        )
    )  # fmt: skip
    if not rows:
        drop = (
            Drop.objects.filter(pk=drop_id).values("state", "starts_at", "ends_at", "per_buyer_limit").first()
        )
        if drop is None:
            raise NotFound("Drop not found.", details={"resource": "drop", "id": drop_id})
        head: dict[str, Any] = {f"drop__{k}": v for k, v in drop.items()}
    else:
        head = dict(rows[0])
    return {
        "drop_id": drop_id,
        "state": head["drop__state"],
        "starts_at": head["drop__starts_at"],
        "ends_at": head["drop__ends_at"],
        "per_buyer_limit": head["drop__per_buyer_limit"],
        "items": [_availability_row(r) for r in rows],
    }


def _availability_row(r: dict[str, Any]) -> dict[str, Any]:
    """One item's stock: its own row plus its shards (a split item's stock is mostly there)."""
    offered = r["offered"] + r["shard_offered"]
    reserved = r["reserved"] + r["shard_reserved"]
    sold = r["sold"] + r["shard_sold"]
    return {
        "item_id": r["pk"],
        "sku_id": r["sku_id"],
        "offered": offered,
        "reserved": reserved,
        "sold": sold,
        "available": offered - reserved - sold,
        "price": r["price"],
        "currency": r["currency"],
    }


def _drop_items_prefetch() -> Prefetch:
    return Prefetch(
        "items", queryset=DropItem.objects.with_stock_totals().select_related("sku__product").order_by("pk")
    )


def public_drops() -> QuerySet[Drop]:
    """Drops shoppers may see, with their items and SKUs."""
    return (
        Drop.objects.filter(merchant__is_active=True, state__in=PUBLIC_DROP_STATES)
        .select_related("merchant")
        .prefetch_related(_drop_items_prefetch())
    )


def public_products() -> QuerySet[Product]:
    """Active products of active merchants, with their active SKUs."""
    return (
        Product.objects.filter(is_active=True, merchant__is_active=True)
        .select_related("merchant", "collection")
        .prefetch_related(Prefetch("skus", queryset=Sku.objects.filter(is_active=True)))
    )


def buyer_reservations(*, buyer_id: int) -> QuerySet[Reservation]:
    return Reservation.objects.filter(buyer_id=buyer_id).select_related("item__sku").order_by("-created_at")


def buyer_active_reservations(*, buyer_id: int) -> QuerySet[Reservation]:
    return buyer_reservations(buyer_id=buyer_id).filter(status=ReservationStatus.ACTIVE)


def buyer_orders(*, buyer_id: int) -> QuerySet[Order]:
    return Order.objects.filter(buyer_id=buyer_id).prefetch_related("lines", "shipments")


def merchant_ids_for(user: User) -> list[int]:
    """Merchants the user works for."""
    if not user.is_authenticated:
        return []
    return list(user.memberships.values_list("merchant_id", flat=True))


def merchant_for_member(*, user: User, merchant_id: int) -> Merchant:
    """The merchant, if `user` is one of its members; NotFound otherwise (no existence leak)."""
    merchant = (
        Merchant.objects.filter(pk=merchant_id, memberships__user=user).first()
        if user.is_authenticated
        else None
    )
    if merchant is None:
        raise NotFound("Merchant not found.", details={"resource": "merchant", "id": merchant_id})
    return merchant


def merchant_products(*, merchant_id: int) -> QuerySet[Product]:
    return (
        Product.objects.filter(merchant_id=merchant_id).select_related("collection").prefetch_related("skus")
    )


def merchant_collections(*, merchant_id: int) -> QuerySet[NftCollection]:
    return NftCollection.objects.filter(merchant_id=merchant_id)


def merchant_drops(*, merchant_id: int) -> QuerySet[Drop]:
    return (
        Drop.objects.filter(merchant_id=merchant_id)
        .select_related("merchant")
        .prefetch_related(_drop_items_prefetch())
    )


def merchant_orders(*, merchant_id: int) -> QuerySet[Order]:
    return Order.objects.filter(merchant_id=merchant_id).prefetch_related("lines", "shipments")


def merchant_shipments(*, merchant_id: int, status: str | None = None) -> QuerySet[Shipment]:
    """The merchant's shipments, oldest first (the To-ship queue is `status="pending"`)."""
    rows = Shipment.objects.filter(merchant_id=merchant_id).select_related("order", "buyer")
    return rows.filter(status=status) if status else rows


def order_hold_until(*, order_id: int) -> datetime | None:
    """Until when the order's active reservations hold its stock (None when none is held)."""
    return Reservation.objects.filter(order_id=order_id, status=ReservationStatus.ACTIVE).aggregate(
        until=Min("expires_at")
    )["until"]

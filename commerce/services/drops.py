"""Drop use cases: create, edit, the state machine (by merchant action and by time), restock.

Lock order everywhere in commerce: buyer counter row -> stock rows (drop item rows by id, then a
split item's shards by index) -> drop row.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from commerce.errors import (
    ChargesNotEnabled,
    CurrencyMismatch,
    DropNotEditable,
    EditionExceeded,
    InvalidCatalogData,
    InvalidTransition,
    NotFound,
)
from commerce.models import Drop, DropItem, DropState, Merchant, Sku, StockShard
from commerce.models.drops import DROP_TRANSITIONS
from commerce.services import soldout_memo, stock, stock_split
from commerce.services.locks import lock_drop
from realtime.outbox import emit


@dataclass(frozen=True)
class DropItemSpec:
    """One SKU to offer in a drop; `price` defaults to the SKU's price."""

    sku_id: int
    quantity: int
    price: int | None = None
    # Rows the stock is split over (see stock_split); None: the COMMERCE_STOCK_SHARDS default.
    shards: int | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _transition(drop: Drop, to_state: str, *, reason: str) -> Drop:
    """Move a locked drop to `to_state` and emit drop.state_changed; raise if not allowed."""
    if to_state not in DROP_TRANSITIONS[drop.state]:
        raise InvalidTransition(
            f"A {drop.state} drop cannot become {to_state}.",
            details={"drop_id": drop.pk, "from_state": drop.state, "to_state": to_state},
        )
    from_state = drop.state
    drop.state = to_state
    drop.state_changed_at = timezone.now()
    drop.save(update_fields=["state", "state_changed_at", "starts_at", "ends_at", "updated_at"])
    emit(
        type="drop.state_changed",
        key=drop.pk,
        payload={
            "drop_id": drop.pk,
            "merchant_id": drop.merchant_id,
            "from_state": from_state,
            "to_state": to_state,
            "reason": reason[:100],
            "starts_at": _iso(drop.starts_at),
            "ends_at": _iso(drop.ends_at),
        },
    )
    return drop


def _locked(drop_id: int, merchant_id: int | None) -> Drop:
    drop = lock_drop(drop_id)
    if merchant_id is not None and drop.merchant_id != merchant_id:
        raise NotFound("Drop not found.", details={"resource": "drop", "id": drop_id})
    return drop


def _check_edition(sku: Sku, extra: int, *, exclude_item_id: int | None = None) -> None:
    """An NFT SKU's offers over all drops may never exceed its edition size."""
    if sku.edition_size is None:
        return
    items = DropItem.objects.filter(sku=sku)
    if exclude_item_id:
        items = items.exclude(pk=exclude_item_id)
    offered = (items.aggregate(n=Sum("offered"))["n"] or 0) + (
        StockShard.objects.filter(item__in=items).aggregate(n=Sum("offered"))["n"] or 0
    )
    if offered + extra > sku.edition_size:
        raise EditionExceeded(
            f"SKU {sku.code} has an edition of {sku.edition_size}; {offered} already offered.",
            details={"sku_id": sku.pk, "edition_size": sku.edition_size, "already_offered": offered},
        )


def create_drop(
    *,
    merchant_id: int,
    title: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    per_buyer_limit: int = 2,
    description: str = "",
    items: list[DropItemSpec],
    currency: str | None = None,
) -> Drop:
    """Create a scheduled drop offering `items` (SKUs of this merchant). NFT stock defaults to the edition.

    A drop is in one currency (`currency`, or its first SKU's): a SKU priced in another is refused
    with CurrencyMismatch, so an order from it is one currency too.
    """
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidCatalogData("ends_at must be after starts_at.", details={"field": "ends_at"})
    if len({spec.sku_id for spec in items}) != len(items):
        raise InvalidCatalogData("A SKU may appear only once in a drop.", details={"field": "items"})
    with transaction.atomic():
        skus = {
            s.pk: s
            for s in Sku.objects.select_for_update()
            .filter(pk__in=[spec.sku_id for spec in items], product__merchant_id=merchant_id)
            .order_by("pk")
        }
        missing = [spec.sku_id for spec in items if spec.sku_id not in skus]
        if missing:
            raise NotFound("Unknown SKU.", details={"resource": "sku", "ids": missing})
        drop_currency = (currency or (skus[items[0].sku_id].currency if items else "usd")).lower()
        others = sorted({s.code for s in skus.values() if s.currency != drop_currency})
        if others:
            raise CurrencyMismatch(
                f"This drop is in {drop_currency.upper()}; every SKU in it must be priced in "
                f"{drop_currency.upper()}.",
                details={"field": "items", "currency": drop_currency, "skus": others},
            )
        drop = Drop.objects.create(
            currency=drop_currency,
            merchant_id=merchant_id,
            title=title,
            description=description,
            starts_at=starts_at,
            ends_at=ends_at,
            per_buyer_limit=per_buyer_limit,
        )
        for spec in items:
            sku = skus[spec.sku_id]
            _check_edition(sku, spec.quantity)
            item = DropItem.objects.create(
                drop=drop,
                sku=sku,
                offered=spec.quantity,
                price=sku.price if spec.price is None else spec.price,
                currency=sku.currency,
            )
            shards = spec.shards or stock_split.default_shards(quantity=spec.quantity)
            if shards > 1:
                stock_split.split_item_stock(item_id=item.pk, shards=min(shards, spec.quantity))
    return drop


def update_drop(*, drop_id: int, merchant_id: int, **fields: object) -> Drop:
    """Edit title, description, times or limit of a drop that has not started yet."""
    allowed = {"title", "description", "starts_at", "ends_at", "per_buyer_limit"}
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidCatalogData("These fields cannot be changed.", details={"fields": sorted(unknown)})
    with transaction.atomic():
        drop = _locked(drop_id, merchant_id)
        if drop.state != DropState.SCHEDULED:
            raise DropNotEditable("Only a scheduled drop can be edited.", details={"state": drop.state})
        for name, value in fields.items():
            setattr(drop, name, value)
        if drop.ends_at is not None and drop.ends_at <= drop.starts_at:
            raise InvalidCatalogData("ends_at must be after starts_at.", details={"field": "ends_at"})
        drop.save()
    return drop


def check_can_take_charges(*, merchant_id: int) -> None:
    """Raise ChargesNotEnabled unless the merchant can be paid: a Connect merchant needs charges enabled.

    Merchants that settle on the platform's own account (created by an admin, not onboarded) may
    always sell; see commerce.models.merchants.Settlement.
    """
    merchant = Merchant.objects.only("settlement", "charges_enabled", "stripe_account_id").get(pk=merchant_id)
    if not merchant.can_take_charges:
        raise ChargesNotEnabled(
            "Finish your Stripe onboarding first: the shop cannot take payments yet, so no drop can open.",
            details={
                "merchant_id": merchant_id,
                "stripe_account_id": merchant.stripe_account_id,
                "charges_enabled": merchant.charges_enabled,
            },
        )


def start_drop(*, drop_id: int, merchant_id: int | None = None) -> Drop:
    """Merchant starts a scheduled drop now (early if its starts_at is still ahead).

    Refused (ChargesNotEnabled) while the merchant's Stripe account cannot take charges.
    """
    with transaction.atomic():
        drop = _locked(drop_id, merchant_id)
        if drop.state in (DropState.SCHEDULED, DropState.PAUSED):
            check_can_take_charges(merchant_id=drop.merchant_id)
        now = timezone.now()
        reason = "started by merchant"
        if drop.state == DropState.SCHEDULED and drop.starts_at > now:
            drop.starts_at, reason = now, "started early by merchant"
            if drop.ends_at is not None and drop.ends_at <= now:
                raise InvalidTransition("The drop's end time has passed.", details={"drop_id": drop_id})
        return _transition(drop, DropState.LIVE, reason=reason)


def pause_drop(*, drop_id: int, merchant_id: int | None = None) -> Drop:
    """Stop new reservations for a while; existing ones keep their stock."""
    with transaction.atomic():
        return _transition(_locked(drop_id, merchant_id), DropState.PAUSED, reason="paused by merchant")


def resume_drop(*, drop_id: int, merchant_id: int | None = None) -> Drop:
    """Re-open a paused drop (straight to sold_out if nothing is left)."""
    with transaction.atomic():
        drop = _locked(drop_id, merchant_id)
        if drop.state != DropState.PAUSED:
            raise InvalidTransition(f"A {drop.state} drop cannot be resumed.", details={"state": drop.state})
        check_can_take_charges(merchant_id=drop.merchant_id)
        if drop.ends_at is not None and drop.ends_at <= timezone.now():
            return _transition(drop, DropState.ENDED, reason="ends_at reached")
        if not _has_free_stock(drop.pk):
            return _transition(drop, DropState.SOLD_OUT, reason="resumed with no stock left")
        return _transition(drop, DropState.LIVE, reason="resumed by merchant")


def end_drop(*, drop_id: int, merchant_id: int | None = None, reason: str = "ended by merchant") -> Drop:
    """Close a drop for good; reservations already taken may still be checked out until they expire."""
    with transaction.atomic():
        drop = _locked(drop_id, merchant_id)
        now = timezone.now()
        if drop.ends_at is None or drop.ends_at > now:
            # Record when it really ended; a drop ended before it started keeps no end time.
            drop.ends_at = now if now > drop.starts_at else None
        return _transition(drop, DropState.ENDED, reason=reason)


def restock_drop_item(*, drop_id: int, sku_id: int, added: int, merchant_id: int | None = None) -> DropItem:
    """Offer `added` more units of a SKU in a drop; re-opens a sold-out drop."""
    if added < 1:
        raise InvalidCatalogData("added must be at least 1.", details={"field": "quantity"})
    with transaction.atomic():
        item = DropItem.objects.select_related("sku", "drop").filter(drop_id=drop_id, sku_id=sku_id).first()
        if item is None or (merchant_id is not None and item.drop.merchant_id != merchant_id):
            raise NotFound("This SKU is not offered in this drop.", details={"resource": "drop_item"})
        if item.drop.state == DropState.ENDED:
            raise DropNotEditable("An ended drop cannot be restocked.", details={"state": item.drop.state})
        offered_now = stock.item_counters(item_id=item.pk).offered
        _check_edition(item.sku, offered_now + added, exclude_item_id=item.pk)
        # Stock rows before drop row: the same order the reservation path takes them in.
        counters = stock_split.add_offered(item_id=item.pk, added=added)
        emit(
            type="inventory.restocked",
            key=drop_id,
            payload={"drop_id": drop_id, "sku_id": sku_id, "added": added, **counters.as_payload()},
        )
        reopen_if_stock(drop_id=drop_id, reason="restocked")
        soldout_memo.forget_drop(drop_id)
        item.refresh_from_db()
    return item


def _has_free_stock(drop_id: int) -> bool:
    """Any free unit in the drop, on an item's own row or on one of its shards."""
    return (
        DropItem.objects.filter(drop_id=drop_id, offered__gt=F("reserved") + F("sold")).exists()
        or StockShard.objects.filter(item__drop_id=drop_id, offered__gt=F("reserved") + F("sold")).exists()
    )


def mark_sold_out_if_empty(*, drop_id: int) -> bool:
    """Inside the caller's transaction: a live or paused drop with no free unit becomes sold_out.

    The drop row lock serialises concurrent callers, so the last item to sell out sees the others'
    committed counters.
    """
    drop = lock_drop(drop_id)
    if drop.state in (DropState.LIVE, DropState.PAUSED) and not _has_free_stock(drop_id):
        _transition(drop, DropState.SOLD_OUT, reason="all items sold out")
        return True
    return False


def reopen_if_stock(*, drop_id: int, reason: str) -> bool:
    """Inside the caller's transaction: a sold-out drop with free stock again goes back to live."""
    drop = lock_drop(drop_id)
    if drop.state != DropState.SOLD_OUT or not _has_free_stock(drop_id):
        return False
    if drop.ends_at is not None and drop.ends_at <= timezone.now():
        _transition(drop, DropState.ENDED, reason="ends_at reached")
        return False
    _transition(drop, DropState.LIVE, reason=reason)
    return True


def advance_drops_by_time(*, now: datetime | None = None) -> int:
    """Start drops whose starts_at passed and end those whose ends_at passed; returns moves made."""
    now = now or timezone.now()
    moved = 0
    # A Connect merchant whose account cannot take charges keeps its drops scheduled until it can.
    due_start = (
        Drop.objects.filter(state=DropState.SCHEDULED, starts_at__lte=now)
        .exclude(merchant__settlement="connect", merchant__charges_enabled=False)
        .values_list("pk", flat=True)
    )
    for drop_id in list(due_start[:500]):
        with transaction.atomic():
            drop = lock_drop(drop_id)
            if drop.state == DropState.SCHEDULED and drop.starts_at <= now:
                if drop.ends_at is not None and drop.ends_at <= now:
                    _transition(drop, DropState.ENDED, reason="ends_at reached before start")
                else:
                    _transition(drop, DropState.LIVE, reason="starts_at reached")
                moved += 1
    due_end = (
        Drop.objects.exclude(state=DropState.ENDED)
        .filter(ends_at__isnull=False, ends_at__lte=now)
        .values_list("pk", flat=True)
    )
    for drop_id in list(due_end[:500]):
        with transaction.atomic():
            drop = lock_drop(drop_id)
            if drop.state != DropState.ENDED and drop.ends_at is not None and drop.ends_at <= now:
                _transition(drop, DropState.ENDED, reason="ends_at reached")
                moved += 1
    return moved

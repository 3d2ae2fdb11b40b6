"""Flash drops: a commerce drop launched from a live show, started at once, through commerce's services."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from commerce.models import Drop, DropState
from commerce.services.drops import DropItemSpec, create_drop, end_drop, start_drop
from commerce.shows.errors import InvalidShowData, NothingPinned, ProductNotFound
from commerce.shows.models import FlashDrop
from commerce.shows.selectors import flash_drop_state
from commerce.shows.services.common import lock_show, require_live
from commerce.shows.services.pins import merchant_product, pin_locked
from realtime.outbox import emit
from realtime.shows.publish import push_on_commit

MIN_DURATION_S = 10
MAX_DURATION_S = 24 * 3600


@dataclass(frozen=True)
class FlashDropSpec:
    """What the host asks for: N units of a product (its first active SKU unless `sku_id`)."""

    quantity: int
    duration_seconds: int
    per_buyer_limit: int = 1
    product_id: int | None = None  # default: the pinned product
    sku_id: int | None = None
    price: int | None = None  # default: the SKU's price
    title: str = ""


def launch_flash_drop(*, show_id: int, merchant_id: int, spec: FlashDropSpec) -> FlashDrop:
    """Create and start a commerce drop now for the live show, pin its product, link it to the show.

    All in one transaction with the show row locked: on an ended show, a foreign product or bad
    figures nothing is created. A flash drop still running from before is ended first.
    """
    if not MIN_DURATION_S <= spec.duration_seconds <= MAX_DURATION_S:
        raise InvalidShowData(
            f"duration_seconds must be between {MIN_DURATION_S} and {MAX_DURATION_S}.",
            details={"field": "duration_seconds"},
        )
    if spec.quantity < 1 or spec.per_buyer_limit < 1:
        raise InvalidShowData(
            "quantity and per_buyer_limit must be at least 1.", details={"field": "quantity"}
        )
    with transaction.atomic():
        show = lock_show(show_id, merchant_id=merchant_id)
        require_live(show, "launching a flash drop")
        product_id = spec.product_id or show.pinned_product_id
        if product_id is None:
            raise NothingPinned(
                "Pin a product or name one to launch a flash drop.", details={"field": "product_id"}
            )
        product = merchant_product(merchant_id=merchant_id, product_id=product_id)
        skus = product.skus.filter(is_active=True).order_by("pk")
        sku = skus.filter(pk=spec.sku_id).first() if spec.sku_id else skus.first()
        if sku is None:
            raise ProductNotFound("This product has no such active SKU.", details={"resource": "sku"})
        previous = show.flash_drop
        if previous is not None and previous.state != DropState.ENDED:
            end_drop(drop_id=previous.pk, merchant_id=merchant_id, reason="replaced by a new flash drop")
        now = timezone.now()
        drop: Drop = create_drop(
            merchant_id=merchant_id,
            title=(spec.title.strip() or f"Flash drop: {product.title}")[:200],
            description=f"Launched live in the show “{show.title}”.",
            starts_at=now,
            ends_at=now + timedelta(seconds=spec.duration_seconds),
            per_buyer_limit=spec.per_buyer_limit,
            items=[DropItemSpec(sku_id=sku.pk, quantity=spec.quantity, price=spec.price)],
        )
        drop = start_drop(drop_id=drop.pk, merchant_id=merchant_id)
        link = FlashDrop.objects.create(show=show, drop=drop, product=product)
        show.flash_drop = drop
        show.save(update_fields=["flash_drop", "updated_at"])
        if show.pinned_product_id != product.pk:
            pin_locked(show, product)
        item = drop.items.get()
        assert drop.ends_at is not None
        emit(
            type="show.flash_drop_launched",
            key=show.pk,
            payload={
                "show_id": show.pk,
                "merchant_id": merchant_id,
                "drop_id": drop.pk,
                "product_id": product.pk,
                "sku_id": sku.pk,
                "quantity": spec.quantity,
                "per_buyer_limit": spec.per_buyer_limit,
                "unit_price": item.price,
                "currency": item.currency,
                "ends_at": drop.ends_at,
            },
        )
        push_on_commit(show.pk, "flash_drop", flash_drop=flash_drop_state(drop_id=drop.pk))
        return link

"""Pin and unpin a product on a live show (one pinned product at a time)."""

from django.db import transaction
from django.utils import timezone

from commerce.models import Product
from commerce.shows.errors import NothingPinned, ProductNotFound
from commerce.shows.models import Show, ShowPin
from commerce.shows.selectors import product_card
from commerce.shows.services.common import lock_show, require_live
from realtime.outbox import emit
from realtime.shows.publish import push_on_commit


def merchant_product(*, merchant_id: int, product_id: int) -> Product:
    """An active product of this merchant; ProductNotFound for anyone else's (no existence leak)."""
    product = Product.objects.filter(pk=product_id, merchant_id=merchant_id, is_active=True).first()
    if product is None:
        raise ProductNotFound("Product not found.", details={"resource": "product", "id": product_id})
    return product


def close_pin(show: Show, *, reason: str) -> int | None:
    """Inside the caller's transaction (show row locked): take the pinned product down, if any."""
    pin = ShowPin.objects.filter(show=show, unpinned_at__isnull=True).first()
    if pin is None:
        return None
    pin.unpinned_at = timezone.now()
    pin.save(update_fields=["unpinned_at"])
    show.pinned_product = None
    show.save(update_fields=["pinned_product", "updated_at"])
    emit(
        type="show.product_unpinned",
        key=show.pk,
        payload={
            "show_id": show.pk,
            "merchant_id": show.merchant_id,
            "product_id": pin.product_id,
            "pin_id": pin.pk,
            "reason": reason[:100],
        },
    )
    push_on_commit(show.pk, "unpinned", product_id=pin.product_id, reason=reason)
    return pin.product_id


def pin_locked(show: Show, product: Product) -> ShowPin:
    """Inside the caller's transaction (show row locked, show live): pin `product`, replacing any pin."""
    replaced = None
    if show.pinned_product_id is not None:
        if show.pinned_product_id == product.pk:
            pin = ShowPin.objects.filter(show=show, unpinned_at__isnull=True).first()
            if pin is not None:
                return pin  # pinning the pinned product again changes nothing
        replaced = close_pin(show, reason="replaced by another product")
    pin = ShowPin.objects.create(show=show, product=product)
    show.pinned_product = product
    show.save(update_fields=["pinned_product", "updated_at"])
    emit(
        type="show.product_pinned",
        key=show.pk,
        payload={
            "show_id": show.pk,
            "merchant_id": show.merchant_id,
            "product_id": product.pk,
            "pin_id": pin.pk,
            "replaced_product_id": replaced,
        },
    )
    # The same card shape a late joiner's snapshot carries.
    push_on_commit(show.pk, "pinned", product=product_card(product))
    return pin


def pin_product(*, show_id: int, merchant_id: int, product_id: int) -> ShowPin:
    """The host pins one of the merchant's products on the live show."""
    with transaction.atomic():
        show = lock_show(show_id, merchant_id=merchant_id)
        require_live(show, "pinning a product")
        product = merchant_product(merchant_id=merchant_id, product_id=product_id)
        return pin_locked(show, product)


def unpin_product(*, show_id: int, merchant_id: int) -> int:
    """The host takes the pinned product down; returns its id."""
    with transaction.atomic():
        show = lock_show(show_id, merchant_id=merchant_id)
        product_id = close_pin(show, reason="unpinned by host")
        if product_id is None:
            raise NothingPinned("No product is pinned on this show.", details={"show_id": show_id})
        return product_id

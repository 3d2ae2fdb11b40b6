"""Buy in place from a show: an item that ships needs the address, as at the cart's checkout."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from commerce.models import Drop, Order, Reservation, ReservationStatus
from commerce.services.reservations import reserve_stock
from commerce.shows.models import Show
from commerce.shows.services import flash
from tests.shows.conftest import api

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Ada Buyer",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def _reserve_tee(live_show: Show, shop: dict[str, Any], buyer: User) -> Reservation:
    spec = flash.FlashDropSpec(product_id=shop["tee"].pk, quantity=5, duration_seconds=120, per_buyer_limit=1)
    link = flash.launch_flash_drop(show_id=live_show.pk, merchant_id=shop["merchant"].pk, spec=spec)
    item = Drop.objects.get(pk=link.drop_id).items.get()
    return reserve_stock(drop_id=link.drop_id, sku_id=item.sku_id, buyer_id=buyer.pk, quantity=1)


def test_a_shipped_item_without_an_address_is_refused_and_stays_reserved(
    live_show: Show, shop: dict[str, Any], make_user: Callable[..., User]
) -> None:
    buyer = make_user("buyer")
    reservation = _reserve_tee(live_show, shop, buyer)
    response = api(buyer).post(
        f"/api/v1/shows/{live_show.pk}/checkout/", {"reservation_id": str(reservation.pk)}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "shipping_address_required"
    assert not Order.objects.filter(buyer=buyer).exists()
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.ACTIVE


def test_a_shipped_item_with_an_address_becomes_an_order_with_the_snapshot(
    live_show: Show, shop: dict[str, Any], make_user: Callable[..., User]
) -> None:
    buyer = make_user("buyer")
    reservation = _reserve_tee(live_show, shop, buyer)
    response = api(buyer).post(
        f"/api/v1/shows/{live_show.pk}/checkout/",
        {"reservation_id": str(reservation.pk), "shipping_address": ADDRESS},
        format="json",
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    assert order.shipping_address["city"] == "Springfield" and order.shipping_address["country"] == "US"


def test_a_bad_address_is_a_validation_error_and_changes_nothing(
    live_show: Show, shop: dict[str, Any], make_user: Callable[..., User]
) -> None:
    buyer = make_user("buyer")
    reservation = _reserve_tee(live_show, shop, buyer)
    response = api(buyer).post(
        f"/api/v1/shows/{live_show.pk}/checkout/",
        {"reservation_id": str(reservation.pk), "shipping_address": {**ADDRESS, "country": "ZZ"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not Order.objects.filter(buyer=buyer).exists()

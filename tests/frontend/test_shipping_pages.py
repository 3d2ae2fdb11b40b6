"""Shipping pages without a browser: the checkout address form, the console To-ship queue, the frame shape."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from commerce.models import Order, Shipment, ShipmentStatus
from commerce.services import catalog, drops, shipments
from commerce.services.fulfilment import start_fulfilment
from commerce.services.orders import mark_order_paid
from commerce.services.reservations import reserve_stock
from realtime.events import Event
from realtime.ws import frames

pytestmark = pytest.mark.django_db

ADDRESS = {"name": "Ada", "line1": "1 Road", "city": "Lyon", "postal_code": "69001", "country": "FR"}


@pytest.fixture
def cart() -> dict[str, Any]:
    """A shopper holding one tote (physical) in a live drop."""
    owner = User.objects.create_user("owner", password="pw-123456789")
    shopper = User.objects.create_user("shopper", password="pw-123456789")
    merchant = catalog.create_merchant(name="Totes", slug="totes", owner=owner)
    sku = catalog.create_product(
        merchant_id=merchant.pk,
        kind="physical",
        title="Canvas tote",
        skus=[catalog.SkuSpec(code="TOTE", price=2500)],
    ).skus.get()
    drop = drops.create_drop(
        merchant_id=merchant.pk,
        title="Tote drop",
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(hours=1),
        items=[drops.DropItemSpec(sku_id=sku.pk, quantity=3)],
    )
    drops.start_drop(drop_id=drop.pk)
    reserve_stock(drop_id=drop.pk, sku_id=sku.pk, buyer_id=shopper.pk, quantity=1)
    return {"owner": owner, "shopper": shopper, "merchant": merchant}


def _as(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_checkout_asks_for_the_address_and_refuses_a_bad_one(cart: dict[str, Any]) -> None:
    client = _as(cart["shopper"])
    page = client.get("/cart/").content.decode()
    assert "data-shipping-address" in page and 'name="country"' in page
    response = client.post("/checkout/")  # "Check out now" on the drop: no address yet
    assert response.status_code == 302 and response["Location"].endswith("/cart/#shipping")
    bad = client.post("/checkout/", {**ADDRESS, "country": "", "postal_code": "9" * 30})
    assert bad.status_code == 400
    body = bad.content.decode()
    assert body.count('class="errorlist"') == 2  # country and postal code, each on its field
    assert not Order.objects.exists()
    good = client.post("/checkout/", ADDRESS)
    order = Order.objects.get()
    assert good.status_code == 302 and good["Location"] == f"/orders/{order.pk}/pay/"
    assert order.shipping_address == {**ADDRESS, "line2": "", "region": "", "phone": ""}


def test_console_queue_ships_and_refuses_what_it_must(cart: dict[str, Any]) -> None:
    _as(cart["shopper"]).post("/checkout/", ADDRESS)
    order = Order.objects.get()
    mark_order_paid(order_id=order.pk, payment_intent_id="pi_page")
    start_fulfilment(order_id=order.pk)
    shipment = shipments.create_order_shipment(order_id=order.pk)
    assert shipment is not None
    merchant_id = cart["merchant"].pk
    console = _as(cart["owner"])
    queue = console.get(f"/console/{merchant_id}/shipments/").content.decode()
    assert f'data-shipment="{shipment.pk}"' in queue and "TOTE" in queue and "69001 Lyon" in queue
    assert "To ship (1)" in console.get(f"/console/{merchant_id}/").content.decode()

    url = f"/console/{merchant_id}/shipments/{shipment.pk}/"
    refused = console.post(url + "deliver/", follow=True).content.decode()
    assert "not possible in the current state" in refused
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.PENDING
    console.post(url + "ship/", {"carrier": "pigeon", "tracking_number": "X"})
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.PENDING
    console.post(url + "ship/", {"carrier": "usps", "tracking_number": "9400 1000"})
    done = Shipment.objects.get(pk=shipment.pk)
    assert (done.status, done.tracking_url) == (
        "shipped",
        "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400%201000",
    )
    orders_page = console.get(f"/console/{merchant_id}/orders/?status=shipped").content.decode()
    assert f"/orders/{order.pk}/" in orders_page  # the console orders list's "Shipped" filter
    to_ship = console.get(f"/console/{merchant_id}/orders/?status=to_ship").content.decode()
    assert f"/orders/{order.pk}/" not in to_ship
    assert console.post(url + "explode/").status_code == 404
    stranger = User.objects.create_user("stranger", password="pw-123456789")
    assert _as(stranger).post(url + "deliver/").status_code == 404
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.SHIPPED

    page = _as(cart["shopper"]).get(f"/orders/{order.pk}/").content.decode()
    assert "order-shipments" in page and "9400 1000" in page and "data-shipment-status" in page


def test_shipment_events_become_order_frames_with_tracking() -> None:
    payload = {
        "shipment_id": 3, "merchant_id": 1, "buyer_id": 9, "order_id": 7, "redemption_id": None,
        "line_ids": [11], "carrier": "dhl", "tracking_number": "T1", "tracking_url": "https://x.test/T1",
    }  # fmt: skip
    frame = frames.order_frame(Event(type="shipment.shipped", key="7", payload=payload), 42)
    assert frame is not None
    stream, seq, text = frame.stream, frame.seq, frame.text
    assert (stream, seq) == ("order.7", 42)
    assert '"type":"shipment"' in text and '"state":"shipped"' in text and "https://x.test/T1" in text
    assert '"buyer_id"' not in text
    redemption = {**payload, "order_id": None, "redemption_id": 5, "line_ids": []}
    assert (
        frames.order_frame(Event(type="shipment.shipped", key="redemption-5", payload=redemption), 1) is None
    )
    requested = {"order_id": 7, "line_id": 11, "sku_id": 1, "quantity": 1}
    assert frames.order_frame(Event(type="shipment.requested", key="7", payload=requested), 2) is None


def test_pay_page_says_a_declined_card_keeps_the_items_held_until_the_reservation_expires(
    cart: dict[str, Any],
) -> None:
    client = _as(cart["shopper"])
    order_url = client.post("/checkout/", ADDRESS)["Location"]
    order = Order.objects.get(pk=int(order_url.strip("/").split("/")[-2]))
    hold_until = order.reservations.get().expires_at
    page = client.get(f"/orders/{order.pk}/pay/").content.decode()
    assert f'data-hold-until="{timezone.localtime(hold_until).isoformat()}"' in page
    assert "data-declined hidden" in page and "your items stay reserved for you until" in page
    assert 'value="failed"' in page  # the demo lets a buyer decline, then retry on the same page

"""Admin actions go through the services and land in the admin log; seed_demo builds the demo."""

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.test import Client

from commerce.models import Drop, DropItem, MerchantMembership, Order, Product, Reservation
from commerce.services.orders import place_order
from commerce.services.reservations import reserve_stock
from realtime.models import OutboxEvent
from tests.commerce.conftest import SHIP_TO, counters

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(make_user) -> Client:
    user = make_user("root")
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_admin_pages_render(admin_client, make_drop, make_user, shop):
    drop = make_drop()
    reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=make_user().pk, quantity=1)
    for model in ["merchant", "merchantmembership", "nftcollection", "product", "sku", "drop", "dropitem",
                  "dropbuyer", "reservation", "order", "orderline", "idempotencykey"]:  # fmt: skip
        assert admin_client.get(f"/admin/commerce/{model}/").status_code == 200, model
    assert admin_client.get(f"/admin/commerce/drop/{drop.pk}/change/").status_code == 200


def test_admin_drop_actions_use_services_and_are_logged(admin_client, make_drop, shop):
    drop = make_drop()
    response = admin_client.post(
        "/admin/commerce/drop/", {"action": "pause", "_selected_action": [drop.pk]}, follow=True
    )
    assert response.status_code == 200
    drop.refresh_from_db()
    assert drop.state == "paused"
    assert OutboxEvent.objects.filter(type="drop.state_changed", payload__to_state="paused").count() == 1
    assert LogEntry.objects.filter(object_id=str(drop.pk), change_message__contains="Paused").count() == 1
    admin_client.post("/admin/commerce/drop/", {"action": "resume", "_selected_action": [drop.pk]})
    admin_client.post("/admin/commerce/drop/", {"action": "end", "_selected_action": [drop.pk]})
    drop.refresh_from_db()
    assert drop.state == "ended"


def test_admin_restock_and_cancel_order(admin_client, make_drop, make_user, shop):
    drop = make_drop(offered=4)
    item = DropItem.objects.get(drop=drop)
    admin_client.post(
        "/admin/commerce/dropitem/", {"action": "restock", "quantity": "6", "_selected_action": [item.pk]}
    )
    assert counters(drop, shop["tee"]) == (10, 0, 0)
    assert OutboxEvent.objects.filter(type="inventory.restocked").count() == 1
    buyer = make_user()
    reserve_stock(drop_id=drop.pk, sku_id=shop["tee"].pk, buyer_id=buyer.pk, quantity=2)
    order = place_order(buyer_id=buyer.pk, shipping_address=SHIP_TO)
    admin_client.post("/admin/commerce/order/", {"action": "cancel", "_selected_action": [order.pk]})
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert counters(drop, shop["tee"]) == (10, 0, 0)
    assert Reservation.objects.get().release_reason == "order_cancelled"
    assert LogEntry.objects.filter(object_id=str(order.pk), change_message__contains="Cancelled").exists()


def test_seed_demo_twice(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    assert Product.objects.filter(kind="physical").count() == 2
    assert Product.objects.filter(kind="digital").count() == 2
    assert Product.objects.filter(kind="phygital").count() == 2
    assert Drop.objects.filter(state="live").count() == 1
    assert Drop.objects.filter(state="scheduled").count() == 1
    assert MerchantMembership.objects.filter(user__username__in=["demo-merchant", "demo-staff"]).count() == 2
    client = Client()
    assert client.login(username="shopper1", password="mintdrop-demo")
    assert "demo ready" in capsys.readouterr().out

"""Console orders screen: filters, search, pages, merchant scoping, and the order's detail page."""

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from commerce.models import MerchantRole, Order, OrderLine, OrderStatus
from commerce.payments.services.timeline import record_step
from commerce.services import catalog
from frontend.console_orders import PAGE_SIZE

pytestmark = pytest.mark.django_db

ROW = re.compile(r'data-order-row="(\d+)"')


def _order(merchant: Any, buyer: User, sku: Any, status: str) -> Order:
    """An order row in the given status (the screen reads orders; how they got there is not its concern)."""
    order = Order.objects.create(buyer=buyer, merchant=merchant, status=status, total=2500, currency="usd")
    OrderLine.objects.create(order=order, sku=sku, kind="physical", title=sku.product.title, quantity=1,
                             unit_price=2500, currency="usd")  # fmt: skip
    return order


@pytest.fixture
def shops() -> dict[str, Any]:
    owner = User.objects.create_user("orders-owner", password="pw-123456789")
    staff = User.objects.create_user("orders-staff", password="pw-123456789")
    merchant = catalog.create_merchant(name="Orders Shop", slug="orders-shop", owner=owner)
    catalog.add_member(merchant_id=merchant.pk, user=staff, role=MerchantRole.STAFF)
    rival_owner = User.objects.create_user("rival-owner", password="pw-123456789")
    rival = catalog.create_merchant(name="Rival", slug="rival", owner=rival_owner)
    alice = User.objects.create_user("alice", email="alice@example.com", password="pw-123456789")
    bob = User.objects.create_user("bob", email="bob@shop.test", password="pw-123456789")
    tote = catalog.create_product(merchant_id=merchant.pk, kind="physical", title="Tote",
                                  skus=[catalog.SkuSpec(code="TOTE", price=2500)]).skus.get()  # fmt: skip
    rival_sku = catalog.create_product(merchant_id=rival.pk, kind="physical", title="Rival mug",
                                       skus=[catalog.SkuSpec(code="MUG", price=900)]).skus.get()  # fmt: skip
    ours = {
        status: _order(merchant, alice if i % 2 == 0 else bob, tote, status)
        for i, status in enumerate(OrderStatus.values)
    }
    theirs = [_order(rival, alice, rival_sku, status) for status in OrderStatus.values]
    return {"merchant": merchant, "staff": staff, "rival_owner": rival_owner, "rival": rival,
            "ours": ours, "theirs": theirs, "alice": alice, "bob": bob, "tote": tote}  # fmt: skip


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _ids(client: Client, url: str) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200
    return {int(i) for i in ROW.findall(response.content.decode())}


def test_filters_show_exactly_the_orders_in_those_states(shops: dict[str, Any]) -> None:
    staff, ours = _client(shops["staff"]), shops["ours"]
    base = f"/console/{shops['merchant'].pk}/orders/"
    assert _ids(staff, base) == {o.pk for o in ours.values()}
    expected = {
        "pending_payment": {OrderStatus.PENDING_PAYMENT},
        "paid": {OrderStatus.PAID},
        "fulfilling": {OrderStatus.FULFILLING},
        "fulfilled": {OrderStatus.FULFILLED},
        "refunded": {OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED},
        "cancelled": {OrderStatus.CANCELLED},
    }
    for key, statuses in expected.items():
        assert _ids(staff, f"{base}?status={key}") == {ours[s].pk for s in statuses}, key
    html = staff.get(f"{base}?status=refunded").content.decode()
    assert 'data-filter="refunded" aria-current="page"' in html
    assert _ids(staff, f"{base}?status=no-such-filter") == {o.pk for o in ours.values()}


def test_search_by_order_id_or_buyer(shops: dict[str, Any]) -> None:
    staff, ours = _client(shops["staff"]), shops["ours"]
    base = f"/console/{shops['merchant'].pk}/orders/"
    paid = ours[OrderStatus.PAID]
    assert _ids(staff, f"{base}?q={paid.pk}") == {paid.pk}
    assert _ids(staff, f"{base}?q=%23{paid.pk}") == {paid.pk}
    bobs = {o.pk for o in ours.values() if o.buyer_id == shops["bob"].pk}
    assert bobs and _ids(staff, f"{base}?q=BOB") == bobs
    assert _ids(staff, f"{base}?q=shop.test") == bobs  # part of the e-mail
    assert _ids(staff, f"{base}?q=nobody-like-this") == set()
    # Search and filter combine; the rival's order id finds nothing here.
    assert _ids(staff, f"{base}?status=paid&q=alice") == (
        {paid.pk} if paid.buyer_id == shops["alice"].pk else set()
    )
    assert _ids(staff, f"{base}?q={shops['theirs'][0].pk}") == set()


def test_another_merchants_orders_never_appear(shops: dict[str, Any]) -> None:
    merchant, rival = shops["merchant"], _client(shops["rival_owner"])
    theirs = {o.pk for o in shops["theirs"]}
    assert rival.get(f"/console/{merchant.pk}/orders/").status_code == 404
    ours_pk = shops["ours"][OrderStatus.PAID].pk
    assert rival.get(f"/console/{merchant.pk}/orders/{ours_pk}/").status_code == 404
    assert rival.get(f"/console/{shops['rival'].pk}/orders/{ours_pk}/").status_code == 404
    assert _ids(rival, f"/console/{shops['rival'].pk}/orders/") == theirs
    staff = _client(shops["staff"])
    assert not _ids(staff, f"/console/{merchant.pk}/orders/") & theirs
    assert staff.get(f"/console/{merchant.pk}/orders/{shops['theirs'][0].pk}/").status_code == 404
    assert Client().get(f"/console/{merchant.pk}/orders/").status_code == 302  # to log in


def test_pages_of_orders_newest_first_keep_the_filter(shops: dict[str, Any]) -> None:
    staff, merchant = _client(shops["staff"]), shops["merchant"]
    extra = [_order(merchant, shops["alice"], shops["tote"], OrderStatus.PAID) for _ in range(PAGE_SIZE + 3)]
    paid = [*extra, shops["ours"][OrderStatus.PAID]]
    newest_first = sorted(paid, key=lambda o: (o.created_at, o.pk), reverse=True)
    base = f"/console/{merchant.pk}/orders/?status=paid"
    first = staff.get(base).content.decode()
    assert [int(i) for i in ROW.findall(first)] == [o.pk for o in newest_first[:PAGE_SIZE]]
    assert "Page 1 of 2" in first and 'href="?status=paid&amp;page=2"' in first
    second = _ids(staff, base + "&page=2")
    assert second == {o.pk for o in newest_first[PAGE_SIZE:]}
    assert _ids(staff, base + "&page=99") == second  # past the end: the last page
    assert _ids(staff, base + "&page=abc") == {o.pk for o in newest_first[:PAGE_SIZE]}
    searched = staff.get(base + "&q=alice").content.decode()
    assert "q=alice" in searched.split("data-page")[1]  # the pager keeps the search


def test_order_detail_shows_lines_payment_and_timeline(shops: dict[str, Any]) -> None:
    order = shops["ours"][OrderStatus.PAID]
    record_step(order_id=order.pk, step="payment.succeeded", outcome="applied")
    html = _client(shops["staff"]).get(f"/console/{shops['merchant'].pk}/orders/{order.pk}/").content.decode()
    assert f"Order #{order.pk}" in html and "Tote" in html and order.buyer.username in html
    assert "payment.succeeded" in html and "No payment started yet." in html
    listing = _client(shops["staff"]).get(f"/console/{shops['merchant'].pk}/orders/").content.decode()
    assert f'href="/console/{shops["merchant"].pk}/orders/{order.pk}/"' in listing

"""Shipping: address at checkout, shipments, the completion rule, bad input and races (real PostgreSQL)."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from commerce.models import LineStatus, Order, OrderStatus, Shipment, ShipmentStatus
from commerce.services import catalog, shipments
from commerce.services.fulfilment import mark_line_minted, start_fulfilment
from commerce.services.orders import mark_order_paid
from commerce.services.reservations import reserve_stock
from realtime.models import OutboxEvent
from tests.commerce.conftest import client_for

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "region": "",
    "postal_code": "SW1Y 4JH",
    "country": "gb",
    "phone": "+44 20 7946 0000",
}


def _outbox_state() -> list[tuple[str, str]]:
    return list(OutboxEvent.objects.order_by("sequence").values_list("type", "aggregateid"))


@pytest.fixture
def checkout(make_drop: Callable[..., Any], shop: dict[str, Any], make_user: Callable[..., User]) -> Any:
    """Reserve `skus` in a live drop for a new buyer; returns (buyer, api client)."""

    def make(*names: str) -> tuple[User, Any]:
        buyer = make_user()
        drop = make_drop(skus=[shop[n] for n in names], limit=5)
        for name in names:
            reserve_stock(drop_id=drop.pk, sku_id=shop[name].pk, buyer_id=buyer.pk, quantity=1)
        return buyer, client_for(buyer)

    return make


def _paid_order(checkout: Any, *names: str) -> Order:
    """An order of `names`, placed through the API with an address, paid, fulfilment started."""
    _, api = checkout(*names)
    res = api.post("/api/v1/checkout/", {"shipping_address": ADDRESS}, format="json")
    assert res.status_code == 201, res.json()
    order = Order.objects.get(pk=res.json()["id"])
    mark_order_paid(order_id=order.pk, payment_intent_id=f"pi_{order.pk}")
    start_fulfilment(order_id=order.pk)
    return order


# --- address at checkout ----------------------------------------------------------------------
@pytest.mark.django_db
def test_checkout_with_a_physical_part_needs_an_address_and_stores_it(checkout: Any) -> None:
    buyer, api = checkout("tee", "wearable")
    res = api.post("/api/v1/checkout/", {}, format="json")
    assert res.status_code == 400
    err = res.json()["error"]
    assert err["code"] == "shipping_address_required" and err["details"]["field"] == "shipping_address"
    assert not Order.objects.filter(buyer=buyer).exists()

    res = api.post("/api/v1/checkout/", {"shipping_address": ADDRESS}, format="json")
    assert res.status_code == 201, res.json()
    body = res.json()
    assert body["shipping_address"] == {**ADDRESS, "line2": "", "country": "GB"}  # normalised snapshot
    assert {line["kind"]: line["ships"] for line in body["lines"]} == {"physical": True, "digital": False}
    assert Order.objects.get(pk=body["id"]).shipping_address["country"] == "GB"


@pytest.mark.django_db
def test_digital_only_and_redeem_later_orders_need_no_address(checkout: Any, shop: dict[str, Any]) -> None:
    catalog.update_product(
        product_id=shop["sneaker"].product_id,
        merchant_id=shop["merchant"].pk,
        phygital_delivery="redeem_later",
    )
    _, api = checkout("wearable", "sneaker")
    res = api.post("/api/v1/checkout/", {}, format="json")
    assert res.status_code == 201, res.json()
    assert res.json()["shipping_address"] == {}
    assert all(not line["ships"] for line in res.json()["lines"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"line1": "x" * 101}, "line1"),
        ({"city": "y" * 81}, "city"),
        ({"postal_code": "1" * 17}, "postal_code"),
        ({"country": "XX"}, "country"),
        ({"country": "Germany"}, "country"),
        ({"phone": "call me"}, "phone"),
        ({"line2": "a\r\nBcc: x"}, "line2"),
        ({"planet": "Mars"}, "planet"),
    ],
)
def test_bad_addresses_are_refused_per_field_and_change_nothing(
    checkout: Any, change: dict, field: str
) -> None:
    buyer, api = checkout("tee")
    before = _outbox_state()
    res = api.post("/api/v1/checkout/", {"shipping_address": {**ADDRESS, **change}}, format="json")
    assert res.status_code == 400
    err = res.json()["error"]
    assert err["code"] == "validation_error"
    assert field in err["details"]["shipping_address"], err
    assert not Order.objects.filter(buyer=buyer).exists()
    assert _outbox_state() == before


@pytest.mark.django_db
def test_missing_address_field_is_named(checkout: Any) -> None:
    _, api = checkout("tee")
    address = {k: v for k, v in ADDRESS.items() if k != "city"}
    res = api.post("/api/v1/checkout/", {"shipping_address": address}, format="json")
    assert res.status_code == 400
    assert "city" in res.json()["error"]["details"]["shipping_address"]


# --- shipments and the completion rule --------------------------------------------------------
@pytest.mark.django_db
def test_order_is_fulfilled_only_when_minted_and_shipped(checkout: Any, shop: dict[str, Any]) -> None:
    order = _paid_order(checkout, "tee", "sneaker", "wearable")
    shipment = shipments.create_order_shipment(order_id=order.pk)
    assert shipment is not None and shipment.status == ShipmentStatus.PENDING
    assert shipments.create_order_shipment(order_id=order.pk) == shipment  # idempotent
    by_kind = {line.kind: line for line in order.lines.all()}
    assert sorted(row["kind"] for row in shipment.pick_list) == ["phygital", "physical"]
    assert shipment.shipping_address["postal_code"] == "SW1Y 4JH"
    created = OutboxEvent.objects.get(type="shipment.created")
    assert created.aggregateid == str(order.pk)
    assert created.payload["buyer_id"] == order.buyer_id
    assert created.payload["line_ids"] == sorted([by_kind["physical"].pk, by_kind["phygital"].pk])

    for kind in ("wearable", "sneaker"):
        line = by_kind["digital" if kind == "wearable" else "phygital"]
        mark_line_minted(line_id=line.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLING  # both NFTs confirmed, the parcel not shipped
    statuses = dict(order.lines.values_list("kind", "status"))
    assert statuses == {"digital": "fulfilled", "phygital": "paid", "physical": "paid"}

    shipped = shipments.mark_shipped(
        shipment_id=shipment.pk, merchant_id=shop["merchant"].pk, carrier="dhl", tracking_number="JD0146 0000"
    )
    assert shipped.tracking_url == "https://www.dhl.com/track?tracking-id=JD0146%200000"
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert set(order.lines.values_list("status", flat=True)) == {LineStatus.FULFILLED}
    event = OutboxEvent.objects.get(type="shipment.shipped")
    assert event.payload["tracking_url"] == shipped.tracking_url and event.payload["carrier"] == "dhl"
    assert OutboxEvent.objects.filter(type="order.fulfilled", aggregateid=str(order.pk)).count() == 1

    shipments.mark_delivered(shipment_id=shipment.pk, merchant_id=shop["merchant"].pk)
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.DELIVERED
    assert OutboxEvent.objects.filter(type="shipment.delivered").count() == 1


@pytest.mark.django_db
def test_shipped_before_the_mint_confirms_waits_for_the_mint(checkout: Any, shop: dict[str, Any]) -> None:
    order = _paid_order(checkout, "sneaker")
    shipment = shipments.create_order_shipment(order_id=order.pk)
    assert shipment is not None
    shipments.mark_shipped(
        shipment_id=shipment.pk, merchant_id=shop["merchant"].pk, carrier="ups", tracking_number="1Z999"
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLING
    mark_line_minted(line_id=order.lines.get().pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED


@pytest.mark.django_db
def test_redeem_later_phygital_gets_no_shipment_and_is_done_when_minted(
    checkout: Any, shop: dict[str, Any]
) -> None:
    catalog.update_product(
        product_id=shop["sneaker"].product_id,
        merchant_id=shop["merchant"].pk,
        phygital_delivery="redeem_later",
    )
    _, api = checkout("sneaker")
    order = Order.objects.get(pk=api.post("/api/v1/checkout/", {}, format="json").json()["id"])
    mark_order_paid(order_id=order.pk, payment_intent_id="pi_x")
    start_fulfilment(order_id=order.pk)
    assert not OutboxEvent.objects.filter(type="shipment.requested").exists()
    assert shipments.create_order_shipment(order_id=order.pk) is None
    mark_line_minted(line_id=order.lines.get().pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED


@pytest.mark.django_db
def test_cannot_ship_refunds_the_lines_through_the_per_line_refund(
    checkout: Any,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from commerce.payments.models import Refund
    from commerce.payments.services.refunds import line_refund_key

    sent: list[str] = []
    monkeypatch.setattr("commerce.payments.services.refunds._enqueue", sent.append)
    order = _paid_order(checkout, "tee", "wearable")
    shipment = shipments.create_order_shipment(order_id=order.pk)
    assert shipment is not None
    with django_capture_on_commit_callbacks(execute=True):
        shipments.cancel_shipment(
            shipment_id=shipment.pk, merchant_id=shop["merchant"].pk, reason="warehouse flood"
        )
    tee_line = order.lines.get(kind="physical")
    refund = Refund.objects.get(idempotency_key=line_refund_key(tee_line.pk))
    assert refund.amount == tee_line.amount and refund.line_id == tee_line.pk
    assert sent == [str(refund.pk)]
    cancelled = OutboxEvent.objects.get(type="shipment.cancelled")
    assert cancelled.payload["reason"] == "warehouse flood" and cancelled.payload["line_ids"] == [tee_line.pk]


# --- merchant API: bad input changes nothing --------------------------------------------------
@pytest.fixture
def pending(checkout: Any, shop: dict[str, Any]) -> Shipment:
    order = _paid_order(checkout, "tee")
    shipment = shipments.create_order_shipment(order_id=order.pk)
    assert shipment is not None
    return shipment


def _url(shipment: Shipment, action: str = "", merchant_id: int | None = None) -> str:
    base = f"/api/v1/merchants/{merchant_id or shipment.merchant_id}/shipments/{shipment.pk}/"
    return base + (f"{action}/" if action else "")


def _snapshot(shipment: Shipment) -> tuple[Any, ...]:
    row = Shipment.objects.get(pk=shipment.pk)
    lines = tuple(Order.objects.get(shipments=row).lines.values_list("status", "shipped_at"))
    return (row.status, row.carrier, row.tracking_number, row.shipped_at, lines, tuple(_outbox_state()))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"carrier": "pigeon", "tracking_number": "X1"}, 400, "unknown_carrier"),
        ({"carrier": "dhl"}, 400, "validation_error"),
        ({"carrier": "dhl", "tracking_number": "x" * 65}, 400, "validation_error"),
        ({"carrier": "dhl", "tracking_number": "<script>"}, 400, "invalid_shipment_data"),
        ({"carrier": "dhl", "tracking_number": "   "}, 400, "validation_error"),
    ],
)
def test_bad_ship_requests_are_refused_and_change_nothing(
    pending: Shipment, shop: dict[str, Any], body: dict, status: int, code: str
) -> None:
    api = client_for(shop["owner"])
    before = _snapshot(pending)
    res = api.post(_url(pending, "ship"), body, format="json")
    assert res.status_code == status, res.json()
    assert res.json()["error"]["code"] == code
    assert _snapshot(pending) == before


@pytest.mark.django_db
def test_another_merchant_cannot_see_or_ship_the_shipment(
    pending: Shipment, make_user: Callable[..., User]
) -> None:
    other_owner = make_user("rival")
    rival = catalog.create_merchant(name="Rival", slug="rival", owner=other_owner)
    api = client_for(other_owner)
    before = _snapshot(pending)
    res = api.post(
        _url(pending, "ship", rival.pk), {"carrier": "dhl", "tracking_number": "X1"}, format="json"
    )
    assert res.status_code == 404 and res.json()["error"]["code"] == "not_found"
    res = api.post(_url(pending, "ship"), {"carrier": "dhl", "tracking_number": "X1"}, format="json")
    assert res.status_code == 404  # not a member of the shipment's merchant
    assert api.get(f"/api/v1/merchants/{rival.pk}/shipments/").json() == []
    assert _snapshot(pending) == before


@pytest.mark.django_db
def test_deliver_before_ship_and_ship_twice_are_refused(pending: Shipment, shop: dict[str, Any]) -> None:
    api = client_for(shop["owner"])
    before = _snapshot(pending)
    res = api.post(_url(pending, "deliver"))
    assert res.status_code == 409 and res.json()["error"]["code"] == "invalid_transition"
    assert _snapshot(pending) == before

    queue = api.get(f"/api/v1/merchants/{pending.merchant_id}/shipments/?status=pending").json()
    assert [s["id"] for s in queue] == [pending.pk]
    assert queue[0]["pick_list"][0]["title"] == "Tee"
    res = api.post(_url(pending, "ship"), {"carrier": "fedex", "tracking_number": "7489"}, format="json")
    assert res.status_code == 200, res.json()
    assert res.json()["tracking_url"] == "https://www.fedex.com/fedextrack/?trknbr=7489"
    after_first = _snapshot(pending)
    res = api.post(_url(pending, "ship"), {"carrier": "dhl", "tracking_number": "OTHER"}, format="json")
    assert res.status_code == 409 and res.json()["error"]["code"] == "invalid_transition"
    res = api.post(_url(pending, "cannot-ship"), {"reason": "too late"}, format="json")
    assert res.status_code == 409
    assert _snapshot(pending) == after_first
    assert api.get(f"/api/v1/merchants/{pending.merchant_id}/shipments/?status=pending").json() == []
    assert api.get(f"/api/v1/merchants/{pending.merchant_id}/shipments/?status=lost").status_code == 400


@pytest.mark.django_db
def test_buyer_sees_the_shipment_on_the_order(pending: Shipment) -> None:
    order = Order.objects.get(shipments=pending)
    shipments.mark_shipped(
        shipment_id=pending.pk, merchant_id=pending.merchant_id, carrier="other", tracking_number="A-1"
    )
    body = client_for(order.buyer).get(f"/api/v1/orders/{order.pk}/").json()
    assert body["shipments"][0]["status"] == "shipped" and body["shipments"][0]["tracking_url"] == ""
    assert body["status"] == "fulfilled"


@pytest.mark.django_db
def test_carriers_are_listed() -> None:
    from rest_framework.test import APIClient

    rows = APIClient().get("/api/v1/carriers/").json()
    assert {
        "code": "dhl",
        "name": "DHL",
        "tracking_url": "https://www.dhl.com/track?tracking-id={tracking_number}",
    } in rows


@pytest.mark.django_db
def test_phygital_delivery_on_products_api(shop: dict[str, Any]) -> None:
    api = client_for(shop["owner"])
    base = f"/api/v1/merchants/{shop['merchant'].pk}/products/"
    res = api.post(
        base,
        {"kind": "phygital", "title": "Watch", "collection_id": shop["collection"].pk, "phygital_delivery": "redeem_later",
         "skus": [{"code": "W1", "price": 100, "edition_size": 5}]},
        format="json",
    )  # fmt: skip
    assert res.status_code == 201, res.json()
    assert res.json()["phygital_delivery"] == "redeem_later"
    res = api.post(
        base,
        {
            "kind": "physical",
            "title": "Cap",
            "phygital_delivery": "redeem_later",
            "skus": [{"code": "C", "price": 1}],
        },
        format="json",
    )
    assert res.status_code == 422 and res.json()["error"]["details"]["field"] == "phygital_delivery"
    pk = api.get(base).json()[0]["id"]
    assert api.get(base + f"{pk}/").json()["phygital_delivery"] == "ship_with_purchase"


# --- races on PostgreSQL -----------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_two_staff_clicking_mark_shipped_at_once_ship_once(pending: Shipment, shop: dict[str, Any]) -> None:
    assert connection.vendor == "postgresql"
    n = 6
    barrier = threading.Barrier(n)

    def click(i: int) -> str:
        try:
            barrier.wait()
            shipments.mark_shipped(
                shipment_id=pending.pk,
                merchant_id=pending.merchant_id,
                carrier="dhl",
                tracking_number=f"T{i}",
            )
            return "ok"
        except Exception as exc:
            return getattr(exc, "code", repr(exc))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(click, range(n)))
    assert sorted(results) == ["invalid_transition"] * (n - 1) + ["ok"]
    assert OutboxEvent.objects.filter(type="shipment.shipped").count() == 1
    winner = OutboxEvent.objects.get(type="shipment.shipped").payload["tracking_number"]
    assert Shipment.objects.get(pk=pending.pk).tracking_number == winner
    assert OutboxEvent.objects.filter(type="order.fulfilled").count() == 1

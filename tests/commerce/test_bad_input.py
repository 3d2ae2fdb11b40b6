"""Bad client input answers 4xx in the one error shape and changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from commerce.models import Drop, DropBuyer, DropItem, IdempotencyKey, Order, Product, Reservation, Sku
from realtime.models import OutboxEvent
from tests.commerce.conftest import client_for


def snapshot() -> dict[str, object]:
    """Everything a bad request could have touched."""
    return {
        "reservations": list(Reservation.objects.values_list("pk", "status")),
        "orders": list(Order.objects.values_list("pk", "status")),
        "items": list(DropItem.objects.values_list("pk", "offered", "reserved", "sold")),
        "drops": list(Drop.objects.values_list("pk", "state", "starts_at", "ends_at", "title")),
        "buyers": list(DropBuyer.objects.values_list("pk", "units")),
        "products": list(Product.objects.values_list("pk", "title")),
        "skus": Sku.objects.count(),
        "outbox": OutboxEvent.objects.count(),
        "keys": IdempotencyKey.objects.count(),
    }


def assert_error(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    if code:
        assert body["error"]["code"] == code


@pytest.fixture
def world(make_user, make_drop, shop):
    live = make_drop(offered=5, limit=2)
    later = make_drop(offered=5, live=False, starts_at=timezone.now() + timedelta(hours=2))
    return {"live": live, "later": later, "buyer": make_user(), "shop": shop}


def _bodies(world):
    d, s = world["live"].pk, world["shop"]["tee"].pk
    return [
        ({"drop_id": d, "sku_id": s, "quantity": 0}, 400, "validation_error"),
        ({"drop_id": d, "sku_id": s, "quantity": -3}, 400, "validation_error"),
        ({"drop_id": d, "sku_id": s, "quantity": 10**30}, 400, "validation_error"),
        ({"drop_id": d, "sku_id": s, "quantity": 3}, 409, "limit_exceeded"),
        ({"drop_id": d, "sku_id": s, "quantity": "two"}, 400, "validation_error"),
        ({"drop_id": d, "sku_id": s, "quantity": 1.5}, 400, "validation_error"),
        ({"drop_id": d, "sku_id": s, "quantity": [1]}, 400, "validation_error"),
        ({"drop_id": "abc", "sku_id": s}, 400, "validation_error"),
        ({"drop_id": None, "sku_id": s}, 400, "validation_error"),
        ({"sku_id": s}, 400, "validation_error"),
        ({"drop_id": 10**25, "sku_id": s}, 400, "validation_error"),
        ({"drop_id": 999999, "sku_id": s}, 404, "not_found"),
        ({"drop_id": d, "sku_id": 999999}, 404, "not_found"),
        ({"drop_id": d, "sku_id": world["shop"]["sneaker"].pk}, 404, "not_found"),
        ({"drop_id": world["later"].pk, "sku_id": s}, 409, "drop_not_live"),
        ([1, 2, 3], 400, "validation_error"),
    ]


@pytest.mark.django_db
def test_bad_reservation_requests_change_nothing(world):
    api = client_for(world["buyer"])
    before = snapshot()
    for body, status, code in _bodies(world):
        assert_error(api.post("/api/v1/reservations/", body, format="json"), status, code)
        assert_error(
            api.post("/api/v1/reservations/", body, format="json", HTTP_IDEMPOTENCY_KEY="k"), status, code
        )
        IdempotencyKey.objects.all().delete()  # a stored refusal is fine; the check is "no effect"
    assert snapshot() == before


@pytest.mark.django_db
def test_malformed_json_and_wrong_content_type(world):
    api = client_for(world["buyer"])
    before = snapshot()
    bad = api.post("/api/v1/reservations/", data='{"drop_id": 1,', content_type="application/json")
    assert_error(bad, 400, "malformed_request")
    bad = api.post(
        "/api/v1/reservations/", data="{nope", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert_error(bad, 400, "malformed_request")
    assert_error(
        api.post("/api/v1/reservations/", data="x", content_type="text/plain"), 415, "unsupported_media_type"
    )
    assert_error(api.post("/api/v1/checkout/", {"reservation_ids": ["not-a-uuid"]}, format="json"), 400)
    assert_error(api.post("/api/v1/checkout/", {"reservation_ids": []}, format="json"), 400)
    assert_error(
        api.post(
            "/api/v1/checkout/", {"reservation_ids": ["7b0f7d4e-35a4-4e0b-9d7a-8d0f0e6e7c11"]}, format="json"
        ),
        404,
        "not_found",
    )
    assert_error(api.post("/api/v1/checkout/", {}, format="json"), 409, "no_reservations")
    assert snapshot() == before


@pytest.mark.django_db
def test_anonymous_cannot_reserve(world):
    before = snapshot()
    d, s = world["live"].pk, world["shop"]["tee"].pk
    response = client_for(None).post("/api/v1/reservations/", {"drop_id": d, "sku_id": s}, format="json")
    # DRF answers 403 when session auth comes first in DEFAULT_AUTHENTICATION_CLASSES (no WWW-Authenticate).
    assert response.status_code in (401, 403)
    assert_error(response, response.status_code, "not_authenticated")
    assert snapshot() == before


@pytest.mark.django_db
def test_bad_merchant_input_changes_nothing(world, make_user):
    shop = world["shop"]
    api = client_for(shop["owner"])
    m = shop["merchant"].pk
    before = snapshot()
    product_bodies = [
        {"kind": "physical", "title": "x" * 201, "skus": [{"code": "A", "price": 1}]},
        {"kind": "physical", "title": "ok", "skus": [{"code": "A" * 65, "price": 1}]},
        {"kind": "physical", "title": "ok", "skus": [{"code": "A", "price": -1}]},
        {"kind": "physical", "title": "ok", "skus": []},
        {"kind": "gadget", "title": "ok", "skus": [{"code": "A", "price": 1}]},
        {"kind": "digital", "title": "ok", "skus": [{"code": "A", "price": 1, "edition_size": 5}]},
        {
            "kind": "digital",
            "title": "ok",
            "collection_id": 99999,
            "skus": [{"code": "A", "price": 1, "edition_size": 5}],
        },
        {
            "kind": "digital",
            "title": "ok",
            "collection_id": shop["collection"].pk,
            "skus": [{"code": "A", "price": 1}],
        },
        {"kind": "physical", "title": "ok", "skus": [{"code": "A", "price": 1}, {"code": "A", "price": 2}]},
        {"kind": "physical", "title": "ok", "media_urls": ["not a url"], "skus": [{"code": "A", "price": 1}]},
    ]
    for body in product_bodies:
        response = api.post(f"/api/v1/merchants/{m}/products/", body, format="json")
        assert 400 <= response.status_code < 500, body
        assert_error(response, response.status_code)
    drop_bodies = [
        {"title": "d", "starts_at": "yesterday", "items": [{"sku_id": shop["tee"].pk, "quantity": 1}]},
        {"title": "d", "starts_at": "2030-01-01T00:00:00Z", "items": []},
        {
            "title": "d",
            "starts_at": "2030-01-01T00:00:00Z",
            "items": [{"sku_id": shop["tee"].pk, "quantity": 0}],
        },
        {"title": "d", "starts_at": "2030-01-01T00:00:00Z", "items": [{"sku_id": 99999, "quantity": 1}]},
        {
            "title": "d",
            "starts_at": "2030-01-01T00:00:00Z",
            "ends_at": "2029-01-01T00:00:00Z",
            "items": [{"sku_id": shop["tee"].pk, "quantity": 1}],
        },
        {
            "title": "d",
            "starts_at": "2030-01-01T00:00:00Z",
            "items": [{"sku_id": shop["wearable"].pk, "quantity": 1001}],
        },
    ]
    for body in drop_bodies:
        response = api.post(f"/api/v1/merchants/{m}/drops/", body, format="json")
        assert 400 <= response.status_code < 500, body
        assert_error(response, response.status_code)
    live = world["live"].pk
    assert_error(
        api.patch(f"/api/v1/merchants/{m}/drops/{live}/", {"title": "new"}, format="json"),
        409,
        "drop_not_editable",
    )
    assert_error(api.post(f"/api/v1/merchants/{m}/drops/{live}/start/"), 409, "invalid_transition")
    assert_error(api.post(f"/api/v1/merchants/{m}/drops/{live}/resume/"), 409, "invalid_transition")
    assert_error(
        api.post(
            f"/api/v1/merchants/{m}/drops/{live}/restock/",
            {"sku_id": shop["tee"].pk, "quantity": 0},
            format="json",
        ),
        400,
    )
    assert_error(api.post(f"/api/v1/merchants/{m}/drops/999999/pause/"), 404, "not_found")
    assert_error(api.post("/api/v1/merchants/999999/drops/", {}, format="json"), 404, "not_found")
    assert_error(client_for(make_user()).get(f"/api/v1/merchants/{m}/orders/"), 404, "not_found")
    assert snapshot() == before


@pytest.mark.django_db
def test_unknown_api_path_answers_json_404():
    response = client_for(None).get("/api/v1/nothing-here/")
    assert_error(response, 404, "not_found")

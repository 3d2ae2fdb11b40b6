"""HTTP API: auth, buyer flow, idempotency keys, merchant isolation, OpenAPI."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from commerce.models import IdempotencyKey, Order, Product, Reservation
from realtime.models import OutboxEvent
from tests.commerce.conftest import SHIP_TO_DATA, client_for, counters


@pytest.mark.django_db
def test_signup_then_token_login():
    anonymous = client_for(None)
    created = anonymous.post(
        "/api/v1/auth/signup/", {"username": "alice", "password": "s3cret-pass"}, format="json"
    )
    assert created.status_code == 201
    token = created.json()["token"]
    login = anonymous.post(
        "/api/v1/auth/token/", {"username": "alice", "password": "s3cret-pass"}, format="json"
    )
    # Each sign-in issues its own expiring token (knox); both work until they expire or are revoked.
    assert login.status_code == 200 and login.json()["token"] != token
    for key in (token, login.json()["token"]):
        me = APIClient()
        me.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert me.get("/api/v1/tokens/").status_code == 200
    bad = anonymous.post("/api/v1/auth/token/", {"username": "alice", "password": "nope-nope"}, format="json")
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "authentication_failed"
    again = anonymous.post(
        "/api/v1/auth/signup/", {"username": "alice", "password": "s3cret-pass"}, format="json"
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "username_taken"


@pytest.mark.django_db
def test_buyer_flow_reserve_checkout_my_orders(make_user, make_drop, shop):
    drop = make_drop(offered=5, limit=3, skus=[shop["tee"], shop["wearable"]])
    buyer = make_user()
    api = client_for(buyer)
    public = client_for(None).get(f"/api/v1/drops/{drop.pk}/")
    assert public.status_code == 200 and public.json()["state"] == "live"
    r1 = api.post(
        "/api/v1/reservations/", {"drop_id": drop.pk, "sku_id": shop["tee"].pk, "quantity": 1}, format="json"
    )
    r2 = api.post(
        "/api/v1/reservations/",
        {"drop_id": drop.pk, "sku_id": shop["wearable"].pk, "quantity": 2},
        format="json",
    )
    assert r1.status_code == r2.status_code == 201
    availability = client_for(None).get(f"/api/v1/drops/{drop.pk}/availability/").json()
    assert {i["sku_id"]: i["available"] for i in availability["items"]} == {
        shop["tee"].pk: 4,
        shop["wearable"].pk: 3,
    }
    order = api.post("/api/v1/checkout/", {"shipping_address": SHIP_TO_DATA}, format="json")
    assert order.status_code == 201, order.content
    body = order.json()
    assert body["status"] == "pending_payment" and body["total"] == 2500 + 2 * 1500
    assert sorted(line["kind"] for line in body["lines"]) == ["digital", "digital", "physical"]
    mine = api.get("/api/v1/orders/").json()
    assert [o["id"] for o in mine["results"]] == [body["id"]]
    other = client_for(make_user()).get(f"/api/v1/orders/{body['id']}/")
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    cancel = api.post(f"/api/v1/orders/{body['id']}/cancel/", {}, format="json")
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    assert counters(drop, shop["tee"]) == (5, 0, 0)


@pytest.mark.django_db
def test_reservation_cancel_and_list(make_user, make_drop, shop):
    drop = make_drop()
    api = client_for(make_user())
    rid = api.post(
        "/api/v1/reservations/", {"drop_id": drop.pk, "sku_id": shop["tee"].pk}, format="json"
    ).json()["id"]
    assert api.get("/api/v1/reservations/").json()[0]["id"] == rid
    assert api.post(f"/api/v1/reservations/{rid}/cancel/").json()["status"] == "released"
    again = api.post(f"/api/v1/reservations/{rid}/cancel/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "reservation_not_active"
    stranger = client_for(make_user()).post(f"/api/v1/reservations/{rid}/cancel/")
    assert stranger.status_code == 404
    assert counters(drop, shop["tee"]) == (10, 0, 0)


@pytest.mark.django_db
def test_idempotency_key_replays_first_response_without_second_effect(make_user, make_drop, shop):
    drop = make_drop(offered=10, limit=5)
    api = client_for(make_user())
    body = {"drop_id": drop.pk, "sku_id": shop["tee"].pk, "quantity": 1}
    first = api.post("/api/v1/reservations/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post("/api/v1/reservations/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert Reservation.objects.count() == 1 and counters(drop, shop["tee"]) == (10, 1, 0)
    other = api.post(
        "/api/v1/reservations/", {**body, "quantity": 2}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert Reservation.objects.count() == 1
    # A refusal is replayed too (Stripe semantics), and the key of another user is another key.
    api2 = client_for(make_user())
    assert (
        api2.post("/api/v1/reservations/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201
    )


@pytest.mark.django_db
def test_idempotency_key_too_long_is_400_without_effect(make_user, make_drop, shop):
    drop = make_drop()
    api = client_for(make_user())
    body = {"drop_id": drop.pk, "sku_id": shop["tee"].pk}
    response = api.post("/api/v1/reservations/", body, format="json", HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_idempotency_key"
    assert Reservation.objects.count() == 0 and IdempotencyKey.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_with_one_key_run_once(make_user, make_drop, shop):
    drop = make_drop(offered=10, limit=5)
    user = make_user()
    clients = [client_for(user) for _ in range(8)]
    barrier = threading.Barrier(8)
    body = {"drop_id": drop.pk, "sku_id": shop["tee"].pk, "quantity": 1}

    def post(client):
        try:
            barrier.wait(timeout=30)
            r = client.post("/api/v1/reservations/", body, format="json", HTTP_IDEMPOTENCY_KEY="same")
            return r.status_code, r.json()["id"]
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(post, clients))
    assert {status for status, _ in results} == {201}
    assert len({rid for _, rid in results}) == 1
    assert Reservation.objects.count() == 1 and counters(drop, shop["tee"]) == (10, 1, 0)
    assert OutboxEvent.objects.filter(type="inventory.reserved").count() == 1


@pytest.mark.django_db
def test_checkout_idempotent(make_user, make_drop, shop):
    drop = make_drop()
    api = client_for(make_user())
    api.post("/api/v1/reservations/", {"drop_id": drop.pk, "sku_id": shop["tee"].pk}, format="json")
    first = api.post(
        "/api/v1/checkout/", {"shipping_address": SHIP_TO_DATA}, format="json", HTTP_IDEMPOTENCY_KEY="co-1"
    )
    second = api.post(
        "/api/v1/checkout/", {"shipping_address": SHIP_TO_DATA}, format="json", HTTP_IDEMPOTENCY_KEY="co-1"
    )
    assert first.status_code == second.status_code == 201 and first.json()["id"] == second.json()["id"]
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_merchant_sees_and_changes_only_its_own_data(make_user, make_drop, shop):
    drop = make_drop(live=False)
    mine = shop["merchant"].pk
    owner = client_for(shop["owner"])
    assert owner.get(f"/api/v1/merchants/{mine}/drops/").status_code == 200
    from commerce.services import catalog

    rival_owner = make_user("rival")
    rival = catalog.create_merchant(name="Rival", slug="rival", owner=rival_owner)
    rival_api = client_for(rival_owner)
    # Rival cannot read or act on the shop, neither through the shop's URL nor through its own.
    for method, url in [
        ("get", f"/api/v1/merchants/{mine}/drops/"),
        ("get", f"/api/v1/merchants/{mine}/products/"),
        ("post", f"/api/v1/merchants/{mine}/drops/{drop.pk}/start/"),
        ("get", f"/api/v1/merchants/{rival.pk}/drops/{drop.pk}/"),
        ("post", f"/api/v1/merchants/{rival.pk}/drops/{drop.pk}/start/"),
        ("post", f"/api/v1/merchants/{rival.pk}/drops/{drop.pk}/end/"),
        ("get", f"/api/v1/merchants/{rival.pk}/products/{shop['tee'].product_id}/"),
        ("patch", f"/api/v1/merchants/{rival.pk}/products/{shop['tee'].product_id}/"),
    ]:
        response = getattr(rival_api, method)(url, {"title": "pwned"}, format="json")
        assert response.status_code == 404, (url, response.content)
        assert response.json()["error"]["code"] == "not_found"
    # Rival cannot put the shop's SKUs into its own drop either.
    stolen = rival_api.post(
        f"/api/v1/merchants/{rival.pk}/drops/",
        {
            "title": "x",
            "starts_at": "2030-01-01T00:00:00Z",
            "items": [{"sku_id": shop["tee"].pk, "quantity": 5}],
        },
        format="json",
    )
    assert stolen.status_code == 404
    drop.refresh_from_db()
    assert drop.state == "scheduled"
    assert Product.objects.get(pk=shop["tee"].product_id).title == "Tee"
    assert owner.post(f"/api/v1/merchants/{mine}/drops/{drop.pk}/start/").json()["state"] == "live"


@pytest.mark.django_db
def test_merchant_creates_product_and_drop_and_runs_actions(shop):
    api = client_for(shop["owner"])
    m = shop["merchant"].pk
    product = api.post(
        f"/api/v1/merchants/{m}/products/",
        {
            "kind": "digital",
            "title": "Helmet wearable",
            "collection_id": shop["collection"].pk,
            "metadata_template": {"animation_url": "https://example.test/helmet.glb"},
            "skus": [{"code": "HLM", "price": 900, "edition_size": 20}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="p-1",
    )
    assert product.status_code == 201, product.content
    sku_id = product.json()["skus"][0]["id"]
    drop = api.post(
        f"/api/v1/merchants/{m}/drops/",
        {
            "title": "Helmets",
            "starts_at": "2030-01-01T00:00:00Z",
            "items": [{"sku_id": sku_id, "quantity": 15}],
        },
        format="json",
    )
    assert drop.status_code == 201, drop.content
    did = drop.json()["id"]
    assert api.post(f"/api/v1/merchants/{m}/drops/{did}/start/").json()["state"] == "live"
    assert api.post(f"/api/v1/merchants/{m}/drops/{did}/pause/").json()["state"] == "paused"
    assert api.post(f"/api/v1/merchants/{m}/drops/{did}/resume/").json()["state"] == "live"
    over = api.post(
        f"/api/v1/merchants/{m}/drops/{did}/restock/", {"sku_id": sku_id, "quantity": 6}, format="json"
    )
    assert over.status_code == 422 and over.json()["error"]["code"] == "edition_exceeded"
    ok = api.post(
        f"/api/v1/merchants/{m}/drops/{did}/restock/", {"sku_id": sku_id, "quantity": 5}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["offered"] == 20
    assert api.post(f"/api/v1/merchants/{m}/drops/{did}/end/").json()["state"] == "ended"
    again = api.post(f"/api/v1/merchants/{m}/drops/{did}/pause/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"


@pytest.mark.django_db
def test_openapi_schema_documents_every_endpoint_with_errors():
    from drf_spectacular.generators import SchemaGenerator

    from commerce.api.urls import urlpatterns

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}|<[^>]+>", "{}", path)

    ours = {shape("/api/v1/" + str(p.pattern)) for p in urlpatterns}  # other teams' endpoints are theirs
    schema = SchemaGenerator().get_schema(request=None, public=True)
    ops = [
        (path, method, op)
        for path, item in schema["paths"].items()
        if shape(path) in ours
        for method, op in item.items()
    ]
    assert len(ops) >= 25
    for path, method, op in ops:
        error_codes = [c for c in op["responses"] if c.startswith(("4", "5"))]
        assert error_codes, f"{method.upper()} {path} documents no error response"
    docs = client_for(None).get("/api/docs/")
    assert docs.status_code == 200

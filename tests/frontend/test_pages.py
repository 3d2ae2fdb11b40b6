"""Server-rendered pages without a browser: rendering, permissions, forms, friendly errors, no CDN."""

import importlib
import pkgutil
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from commerce.models import Drop, Product
from commerce.services import catalog, drops
from config.errors import ApplicationError
from frontend.finders import VENDORED
from frontend.messages import ERROR_MESSAGES

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "frontend" / "templates"


@pytest.fixture
def shop() -> dict[str, Any]:
    owner = User.objects.create_user("owner", password="pw-123456789")
    merchant = catalog.create_merchant(name="Pages Shop", slug="pages-shop", owner=owner)
    product = catalog.create_product(
        merchant_id=merchant.pk,
        kind="physical",
        title="Canvas tote",
        skus=[catalog.SkuSpec(code="TOTE", price=2500)],
    )
    sku = product.skus.get()
    live = drops.create_drop(
        merchant_id=merchant.pk,
        title="Tote drop",
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(hours=1),
        items=[drops.DropItemSpec(sku_id=sku.pk, quantity=3)],
    )
    drops.start_drop(drop_id=live.pk)
    upcoming = drops.create_drop(
        merchant_id=merchant.pk,
        title="Next tote drop",
        starts_at=timezone.now() + timedelta(hours=2),
        items=[drops.DropItemSpec(sku_id=sku.pk, quantity=3)],
    )
    return {
        "owner": owner,
        "merchant": merchant,
        "product": product,
        "sku": sku,
        "live": live,
        "upcoming": upcoming,
    }


def _logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_vendored_assets_come_from_npm_packages_not_a_cdn() -> None:
    for name in VENDORED:
        assert finders.find(name), f"{name} not found: run ops/install anvil"
    external = re.compile(r"""<script[^>]+src=["']https?://""")
    for template in TEMPLATES.rglob("*.html"):
        assert not external.search(template.read_text()), f"{template} loads a script from another host"


def test_home_lists_live_and_upcoming_drops(client: Client, shop: dict[str, Any]) -> None:
    html = client.get("/").content.decode()
    live_at, upcoming_at = html.index("Tote drop"), html.index("Next tote drop")
    assert html.index("Live now") < live_at < html.index("Upcoming") < upcoming_at


def test_drop_page_mounts_the_live_widget(client: Client, shop: dict[str, Any]) -> None:
    response = client.get(f"/drops/{shop['live'].pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-drop-id="{shop["live"].pk}"' in html
    assert f'data-sku="{shop["sku"].pk}"' in html
    assert 'data-ws-url="ws://' in html
    assert "Log in to reserve" in html or 'data-logged-in="false"' in html
    assert client.get(f"/drops/{shop['live'].pk}/widget/").content.decode().count("data-drop-widget") == 1
    assert client.get("/drops/999999/").status_code == 404


def test_product_page_shows_3d_preview_when_animation_url_is_set(
    client: Client, shop: dict[str, Any]
) -> None:
    collection = catalog.create_collection(
        merchant_id=shop["merchant"].pk, name="C", chain_id=31337, contract_address="0x" + "ab" * 20
    )
    product = catalog.create_product(
        merchant_id=shop["merchant"].pk,
        kind="digital",
        title="Neon jacket",
        collection_id=collection.pk,
        metadata_template={"animation_url": "/static/demo/jacket.glb", "image": "/static/demo/jacket.png"},
        skus=[catalog.SkuSpec(code="NJ", price=1500, edition_size=10)],
    )
    html = client.get(f"/products/{product.pk}/").content.decode()
    assert "<model-viewer" in html and "vendor/model-viewer.min.js" in html
    assert "<model-viewer" not in client.get(f"/products/{shop['product'].pk}/").content.decode()


def test_console_is_for_merchant_staff_only(shop: dict[str, Any]) -> None:
    stranger = User.objects.create_user("stranger", password="pw-123456789")
    url = f"/console/{shop['merchant'].pk}/"
    assert Client().get(url).status_code == 302  # to the login page
    assert _logged_in(stranger).get(url).status_code == 404
    assert _logged_in(stranger).get(f"{url}drops/{shop['live'].pk}/live/").status_code == 404
    staff = _logged_in(shop["owner"])
    assert staff.get(url).status_code == 200
    room = staff.get(f"{url}drops/{shop['live'].pk}/live/").content.decode()
    assert 'data-kpi="units_sold"' in room and 'id="sales-series"' in room


def test_console_creates_products_and_drops_and_explains_bad_input(shop: dict[str, Any]) -> None:
    staff = _logged_in(shop["owner"])
    base = f"/console/{shop['merchant'].pk}/"
    bad = staff.post(base + "products/new/", {"kind": "digital", "title": "NFT without collection"})
    assert bad.status_code == 200
    assert "pick a collection" in bad.content.decode()
    assert not Product.objects.filter(title="NFT without collection").exists()
    ok = staff.post(
        base + "products/new/",
        {"kind": "physical", "title": "Cap", "sku0_code": "CAP", "sku0_price": "19.90", "is_active": "on"},
    )
    assert ok.status_code == 302
    cap = Product.objects.get(title="Cap")
    assert cap.skus.get().price == 1990
    sku = cap.skus.get()
    start = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    none_offered = staff.post(
        base + "drops/new/", {"title": "Empty", "starts_at": start, "per_buyer_limit": 1}
    )
    assert "Offer at least one unit" in none_offered.content.decode()
    created = staff.post(
        base + "drops/new/",
        {"title": "Cap drop", "starts_at": start, "per_buyer_limit": 1, f"qty_{sku.pk}": 7},
    )
    drop = Drop.objects.get(title="Cap drop")
    assert created.status_code == 302 and created["Location"].endswith(f"/drops/{drop.pk}/live/")
    assert drop.items.get().offered == 7


def test_checkout_with_an_empty_cart_shows_a_friendly_message(shop: dict[str, Any]) -> None:
    shopper = User.objects.create_user("shopper", password="pw-123456789")
    response = _logged_in(shopper).post("/checkout/", follow=True)
    assert ERROR_MESSAGES["no_reservations"] in response.content.decode()


def test_signup_logs_in_and_refuses_a_taken_username(client: Client, shop: dict[str, Any]) -> None:
    taken = client.post("/signup/", {"username": "owner", "password": "long-enough-1"})
    assert taken.status_code == 200
    assert User.objects.filter(username="owner").count() == 1
    assert "taken" in taken.content.decode()
    created = client.post("/signup/", {"username": "newbie", "password": "long-enough-1"})
    assert created.status_code == 302
    assert client.get("/orders/").status_code == 200  # the session is logged in


def test_login_failure_is_explained(client: Client, shop: dict[str, Any]) -> None:
    response = client.post("/login/", {"username": "owner", "password": "wrong"})
    assert ERROR_MESSAGES["authentication_failed"] in response.content.decode()


def _all_error_codes() -> set[str]:
    for package in ("commerce", "nft", "realtime", "config"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            if info.name.endswith("errors"):
                importlib.import_module(info.name)
    codes: set[str] = set()
    todo = [ApplicationError]
    while todo:
        cls = todo.pop()
        # Error classes that tests define for themselves are not part of the product.
        if cls.__module__.split(".")[0] in ("commerce", "nft", "realtime", "config"):
            codes.add(cls.code)
        todo.extend(cls.__subclasses__())
    return codes


def test_every_user_facing_error_code_has_a_friendly_message() -> None:
    # Internal-only codes (event plumbing, WebSocket protocol, webhooks from Stripe) never reach a person.
    internal = {
        "application_error", "event_error", "invalid_event", "unknown_event_type", "outside_transaction",
        "ws_error", "malformed_message", "unknown_message_type", "invalid_signature", "malformed_event",
        "wrong_chain",
    }  # fmt: skip
    missing = sorted(
        c for c in _all_error_codes() - internal if c not in ERROR_MESSAGES and not c.startswith("test")
    )
    assert not missing, f"add friendly texts to frontend/messages.py for: {missing}"

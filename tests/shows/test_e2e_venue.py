"""Browser end-to-end of the 3D venue (three.js, software WebGL) against the whole running system.

The venue page reads nothing but the venue feed (/ws/shows/<id>/venue/). A shopper opens it on a
live show: the pinned product's glTF model loads on the stage (GLTFLoader done -> data-model-state).
The host, from another client (the REST API), pins a second product and launches a flash drop;
another buyer reserves a unit: the model, the stock and the card change without a reload. "Buy now"
hands the shopper over to the usual checkout (the order's pay page). Screenshot:
artifacts/screenshots/venue-*.png.
"""

import json
import urllib.request
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.utils import timezone

from commerce.services import catalog
from commerce.shows.services import lifecycle
from tests.frontend.stack import Stack
from tests.frontend.waits import wait_for_js
from tests.tokens import issue_token

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]
PASSWORD = "e2e-pass-1234"
WAIT_MS = 60_000  # upper bound for one live change to show up (a bound, not a measurement)
JACKET_MODEL = "/static/frontend/demo/neon-jacket.gltf"
VISOR_MODEL = "/static/frontend/demo/holo-visor.gltf"
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"  # never minted to here: nobody pays in this test


def _seed() -> dict[str, Any]:
    host = User.objects.create_user("venue-host", password=PASSWORD)
    User.objects.create_user("venue-shopper", password=PASSWORD)
    other = User.objects.create_user("venue-other", password=PASSWORD)
    merchant = catalog.create_merchant(name="Venue Shop", slug="venue-shop", owner=host)
    collection = catalog.create_collection(
        merchant_id=merchant.pk, name="Wearables", chain_id=31337, contract_address=CONTRACT
    )

    def wearable(title: str, model: str, code: str) -> Any:
        return catalog.create_product(
            merchant_id=merchant.pk, kind="digital", title=title, collection_id=collection.pk,
            metadata_template={"name": title + " #{serial}", "animation_url": model},
            skus=[catalog.SkuSpec(code=code, price=1500, edition_size=100)],
        )  # fmt: skip

    jacket = wearable("Neon jacket", JACKET_MODEL, "JKT")
    visor = wearable("Holo visor", VISOR_MODEL, "VSR")
    show = lifecycle.create_show(merchant_id=merchant.pk, title="Venue night",
                                 playback_url="/media/shows/demo-show/live.m3u8",
                                 scheduled_at=timezone.now() - timedelta(minutes=1))  # fmt: skip
    return {"merchant": merchant, "show": show, "jacket": jacket, "visor": visor,
            "host_token": issue_token(host), "other_token": issue_token(other)}  # fmt: skip


def _api(base: str, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST as another client (token auth), as a host app or a second shopper would."""
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json",
                 "Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def _state(page: Any) -> dict[str, Any]:
    return page.evaluate("({...document.getElementById('venue').dataset})")


@pytest.mark.django_db(transaction=True)
def test_venue_mirrors_pin_stock_and_hands_over_to_checkout(
    stack: Stack, webgl_browser: Any, screenshots: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls beside Playwright's loop
    data = _seed()
    base, show = stack.web_url, data["show"]
    host_path = f"/api/v1/merchants/{data['merchant'].pk}/shows/{show.pk}/"
    # Live and pinned through the web process (this thread runs Playwright's event loop).
    _api(base, data["host_token"], host_path + "live/", {})
    _api(base, data["host_token"], host_path + "pin/", {"product_id": data["jacket"].pk})
    errors: list[str] = []
    context = webgl_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)

    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("venue-shopper")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/shows/{show.pk}/venue/")
    page.locator("#venue [data-conn][data-state=live]").wait_for(timeout=WAIT_MS)
    page.locator("[data-venue-state][data-state=live]").wait_for(timeout=WAIT_MS)
    page.evaluate("window.__sameDocument = 'still here'")

    # The pinned product's model is on the stage: GLTFLoader parsed it and it holds meshes.
    jacket = str(data["jacket"].pk)
    wait_for_js(page, f"(() => {{ const d = document.getElementById('venue').dataset;"
                      f" return d.modelState === 'loaded' && d.modelProductId === '{jacket}'; }})()",
                timeout=WAIT_MS)  # fmt: skip
    state = _state(page)
    assert state["webgl"] == "ok" and state["modelUrl"] == JACKET_MODEL and int(state["modelMeshes"]) >= 1
    wait_for_js(page, "Number(document.getElementById('venue').dataset.frames) > 1", timeout=WAIT_MS)
    assert page.locator("[data-venue-title]").inner_text() == "Neon jacket"
    page.screenshot(path=str(screenshots / "venue-jacket.png"))

    # Another client (the host's app) pins the visor: its model replaces the jacket, no reload.
    visor = str(data["visor"].pk)
    _api(base, data["host_token"], host_path + "pin/", {"product_id": data["visor"].pk})
    wait_for_js(page, f"(() => {{ const d = document.getElementById('venue').dataset;"
                      f" return d.modelState === 'loaded' && d.modelProductId === '{visor}'; }})()",
                timeout=WAIT_MS)  # fmt: skip
    assert _state(page)["modelUrl"] == VISOR_MODEL
    assert page.locator("[data-venue-title]").inner_text() == "Holo visor"

    # A flash drop of the visor, and another buyer's reservation: live stock on the venue.
    _api(base, data["host_token"], host_path + "flash-drops/",
         {"quantity": 3, "per_buyer_limit": 1, "duration_seconds": 600})  # fmt: skip
    page.locator("[data-venue-flash]").wait_for(state="visible", timeout=WAIT_MS)
    wait_for_js(page, "document.querySelector('[data-venue-stock]').textContent === '3'", timeout=WAIT_MS)
    drop_id = int(page.locator("[data-venue-flash]").get_attribute("data-drop-id") or 0)
    sku_id = data["visor"].skus.get().pk
    _api(
        base,
        data["other_token"],
        "/api/v1/reservations/",
        {"drop_id": drop_id, "sku_id": sku_id, "quantity": 1},
    )
    wait_for_js(page, "document.querySelector('[data-venue-stock]').textContent === '2'", timeout=WAIT_MS)
    assert page.evaluate("window.__sameDocument") == "still here"
    page.screenshot(path=str(screenshots / "venue-visor-flash.png"))

    # An auction on the stage: another client's bid shows up live, the shopper outbids from the venue.
    auction = _api(base, data["host_token"], host_path + "auctions/",
                   {"starting_price": 1000, "duration_seconds": 300, "product_id": data["jacket"].pk})  # fmt: skip
    box = page.locator(f"[data-venue-auction][data-auction-id='{auction['id']}'][data-state=open]")
    box.wait_for(timeout=WAIT_MS)
    wait_for_js(
        page, f"document.getElementById('venue').dataset.modelProductId === '{jacket}'", timeout=WAIT_MS
    )
    _api(base, data["other_token"], f"/api/v1/auctions/{auction['id']}/bids/", {"amount": 1000})
    page.locator("[data-venue-auction][data-current-bid='1000']").wait_for(timeout=WAIT_MS)
    assert "venue-other" in page.locator("[data-venue-leader]").inner_text()
    assert page.locator("[data-venue-auction-clock]").get_attribute("data-countdown-to") == auction["ends_at"]
    page.screenshot(path=str(screenshots / "venue-auction.png"))
    next_bid = int(page.evaluate("Mintdrop.venue.auction.next_bid"))
    page.locator("[data-venue-bid-button]").click()
    page.locator(f"[data-venue-auction][data-current-bid='{next_bid}']").wait_for(timeout=WAIT_MS)
    wait_for_js(
        page, "document.querySelector('[data-venue-bid-label]').textContent === 'You lead'", timeout=WAIT_MS
    )
    assert page.evaluate("window.__sameDocument") == "still here"

    # Buy: the venue reserves and places the show's order, then hands over to the usual pay page.
    page.get_by_role("button", name="Buy now").click()
    page.wait_for_url(f"{base}/orders/*/pay/", timeout=WAIT_MS)
    page.get_by_role("heading").first.wait_for(timeout=WAIT_MS)

    assert not errors, errors
    stack.check_alive()
    context.close()
    connections.close_all()

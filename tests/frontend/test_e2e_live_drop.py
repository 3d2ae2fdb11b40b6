"""Browser end-to-end: a live drop bought in headless Chromium against the whole running system.

Shopper 1 buys a phygital item (physical + NFT certificate) in a live drop, pays with the demo card
(stripe-mock + signed webhook) and watches its NFT get minted on the order page; meanwhile the
merchant's live room (second browser context) shows the sold counter change without a reload, and
shopper 2 (third context, phone-sized, signed up through the page) sees "Sold out" appear live.
Screenshots of the drop page, the order page and the live room go to artifacts/screenshots/.
"""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.utils import timezone

from commerce.models import NftCollection, Order
from commerce.services import catalog, drops
from tests.frontend.stack import Stack
from tests.frontend.waits import wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(420)]

PASSWORD = "e2e-pass-1234"
WAIT_MS = 90_000  # upper bound for one live change to show up (mint: payment -> Kafka -> chain -> 2 blocks)


def _seed() -> dict[str, Any]:
    """Merchant with staff login, a deployed NFT collection, a phygital item (1 unit) in a live drop."""
    from nft.keys import signer_account
    from nft.services.collections import deploy_collection

    owner = User.objects.create_user("e2e-merchant", password=PASSWORD)
    User.objects.create_user("e2e-shopper1", password=PASSWORD)
    merchant = catalog.create_merchant(name="E2E Sneakers", slug="e2e-sneakers", owner=owner)
    onchain = deploy_collection(
        name="E2E Certificates", symbol="E2EC", royalty_receiver=signer_account().address, royalty_bps=250
    )
    collection = catalog.create_collection(
        merchant_id=merchant.pk,
        name="E2E Certificates",
        symbol="E2EC",
        chain_id=onchain.chain_id,
        contract_address=onchain.address,
    )
    assert NftCollection.objects.filter(pk=collection.pk).exists()
    sneaker = catalog.create_product(
        merchant_id=merchant.pk,
        kind="phygital",
        title="Genesis sneaker",
        description="Sneaker with an NFT certificate of authenticity.",
        collection_id=collection.pk,
        metadata_template={"name": "Genesis sneaker certificate #{serial}"},
        skus=[catalog.SkuSpec(code="SNK-42", name="EU 42", price=18900, edition_size=10)],
    )
    pin = catalog.create_product(
        merchant_id=merchant.pk,
        kind="physical",
        title="Enamel pin",
        skus=[catalog.SkuSpec(code="PIN", price=1200)],
    )
    sku, pin_sku = sneaker.skus.get(), pin.skus.get()
    drop = drops.create_drop(
        merchant_id=merchant.pk,
        title="Genesis drop",
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(hours=1),
        per_buyer_limit=1,
        items=[
            drops.DropItemSpec(sku_id=sku.pk, quantity=1),
            drops.DropItemSpec(sku_id=pin_sku.pk, quantity=5),
        ],
    )
    drops.start_drop(drop_id=drop.pk)
    return {"merchant": merchant, "drop": drop, "sku": sku}


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def _console_errors(page: Any, sink: list[str]) -> None:
    page.on("console", lambda m: sink.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: sink.append(f"pageerror: {e}"))
    page.on("response", lambda r: sink.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)


@pytest.mark.django_db(transaction=True)
def test_shopper_buys_phygital_and_sees_mint_while_merchant_and_second_shopper_watch_live(
    stack: Stack, browser: Any, screenshots: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls below run beside Playwright's loop
    data = _seed()
    base, drop, sku, merchant = stack.web_url, data["drop"], data["sku"], data["merchant"]
    errors: list[str] = []

    # Merchant: the live room, connected, nothing sold yet.
    merchant_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    room = merchant_ctx.new_page()
    _console_errors(room, errors)
    _login(room, base, "e2e-merchant")
    room.goto(f"{base}/console/{merchant.pk}/drops/{drop.pk}/live/")
    room.locator("#room [data-conn][data-state=live]").wait_for(timeout=WAIT_MS)
    sold_kpi = room.locator('[data-kpi="units_sold"]')
    wait_for_js(room, "document.querySelector('[data-kpi=units_sold]').textContent === '0'", timeout=WAIT_MS)
    room.evaluate("window.__sameDocument = 'still here'")  # gone if the page reloads

    # Shopper 2 signs up on a phone-sized screen and watches the drop.
    phone_ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    watcher = phone_ctx.new_page()
    _console_errors(watcher, errors)
    watcher.goto(f"{base}/signup/")
    watcher.get_by_label("Username").fill("e2e-shopper2")
    watcher.get_by_label("Password").fill(PASSWORD)
    watcher.get_by_role("button", name="Sign up").click()
    watcher.wait_for_url(f"{base}/")
    watcher.get_by_role("link", name="Genesis drop").wait_for()
    watcher.screenshot(path=str(screenshots / "home-phone.png"), full_page=True)
    watcher.goto(f"{base}/drops/{drop.pk}/")
    card2 = watcher.locator(f'[data-sku="{sku.pk}"]')
    watcher.locator("[data-conn][data-state=live]").wait_for(timeout=WAIT_MS)
    assert card2.locator("[data-available]").inner_text() == "1"
    assert card2.locator("[data-soldout]").is_hidden()

    # Shopper 1 reserves the last sneaker...
    shopper_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    shop = shopper_ctx.new_page()
    _console_errors(shop, errors)
    _login(shop, base, "e2e-shopper1")
    shop.goto(f"{base}/drops/{drop.pk}/")
    shop.locator("[data-conn][data-state=live]").wait_for(timeout=WAIT_MS)
    card1 = shop.locator(f'[data-sku="{sku.pk}"]')
    card1.get_by_role("button", name="Reserve").click()
    shop.locator("[data-reserved]").wait_for(state="visible", timeout=WAIT_MS)
    assert re.match(r"^\d+:\d\d$", shop.locator("[data-reserved] [data-timer]").inner_text())

    # ...and shopper 2 sees it sold out, live, without reloading.
    card2.locator("[data-soldout]").wait_for(state="visible", timeout=WAIT_MS)
    assert card2.locator("[data-available]").inner_text() == "0"
    assert card2.get_by_role("button").is_disabled()
    watcher.screenshot(path=str(screenshots / "drop-page-sold-out-phone.png"), full_page=True)
    shop.screenshot(path=str(screenshots / "drop-page.png"), full_page=True)

    # Shopper 1 checks out and pays with the demo card (stripe-mock + signed webhook).
    shop.get_by_role("button", name="Check out now").click()
    shop.wait_for_url(re.compile(r".*/cart/#shipping$"))  # the sneaker ships: the address comes first
    address = shop.locator("form#shipping")
    address.get_by_label("Full name").fill("Ada Lovelace")
    address.get_by_label("Address line 1").fill("12 St James's Square")
    address.get_by_label("City").fill("London")
    address.get_by_label("Postal code").fill("SW1Y 4JH")
    address.get_by_label("Country").select_option("GB")
    address.get_by_role("button", name="Check out").click()
    shop.wait_for_url(re.compile(r".*/orders/\d+/pay/$"))
    shop.get_by_role("button", name=re.compile(r"^Pay ")).click()
    shop.wait_for_url(re.compile(r".*/orders/\d+/$"), timeout=WAIT_MS)
    order = Order.objects.get(buyer__username="e2e-shopper1")

    # The merchant's sold counter moves without a reload.
    wait_for_js(room, "document.querySelector('[data-kpi=units_sold]').textContent === '1'", timeout=WAIT_MS)
    assert room.evaluate("window.__sameDocument") == "still here"
    assert sold_kpi.inner_text() == "1"

    # The order page shows the NFT minted, with its transaction and confirmations.
    line = shop.locator("tr[data-kind=phygital]")
    line.locator("[data-mint-state=confirmed]").wait_for(timeout=WAIT_MS)
    tx = line.locator("[data-tx-hash]").get_attribute("data-tx-hash") or ""
    assert re.fullmatch(r"0x[0-9a-f]{64}", tx), tx
    wait_for_js(
        shop,
        "() => /\\d+ confirmations?/.test(document.querySelector('tr[data-kind=phygital] [data-confirmations]').textContent)",
        timeout=WAIT_MS,
    )
    assert shop.locator("[data-step=paid]").get_attribute("class") == "done"
    assert shop.locator("[data-step=minted]").get_attribute("class") == "done"
    shop.screenshot(path=str(screenshots / "order-page.png"), full_page=True)
    wait_for_js(
        room, "document.querySelector('[data-kpi=mints_confirmed]').textContent === '1'", timeout=WAIT_MS
    )
    assert int(room.locator("[data-chart]").get_attribute("data-total") or "0") >= 1
    room.screenshot(path=str(screenshots / "merchant-live-room.png"), full_page=True)

    order.refresh_from_db()
    assert order.status in ("paid", "fulfilling", "fulfilled")
    assert shop.locator("[data-pay-link]").is_hidden()
    assert not errors, errors
    stack.check_alive()
    for ctx in (merchant_ctx, phone_ctx, shopper_ctx):
        ctx.close()
    # ORM calls beside Playwright's loop ran in their own context (own connection): close it, or the
    # test database cannot be dropped at the end of the session.
    connections.close_all()

"""Browser end-to-end of a live show in headless Chromium against the whole running system.

The host goes live, pins a wearable and launches a flash drop from the console; a viewer sees the
card and the flash drop appear without reloading, buys in place (reserve -> order -> demo card ->
signed webhook -> saga), and the host's sales counter moves. In chat, a script-bearing message is
refused, a muted viewer's message is rejected, and a message the host deletes disappears for others.
Screenshots go to artifacts/screenshots/show-*.png; the pin -> viewer latency seen in the page is
written to artifacts/show-e2e.json (reported, not asserted).
"""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections
from django.utils import timezone

from commerce.models import Order
from commerce.services import catalog
from commerce.shows.management.commands.seed_demo_show import make_demo_video
from commerce.shows.services import lifecycle
from tests.frontend.stack import ROOT, Stack
from tests.frontend.waits import wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(420)]
PASSWORD = "e2e-pass-1234"
WAIT_MS = 60_000  # upper bound for one live change to show up (a bound, not a measurement)


def _seed() -> dict[str, Any]:
    from nft.keys import signer_account
    from nft.services.collections import deploy_collection

    host = User.objects.create_user("show-host", password=PASSWORD)
    for name in ("show-viewer1", "show-viewer2"):
        User.objects.create_user(name, password=PASSWORD)
    merchant = catalog.create_merchant(name="Show Shop", slug="show-shop", owner=host)
    onchain = deploy_collection(
        name="Wearables", symbol="WEAR", royalty_receiver=signer_account().address, royalty_bps=0
    )
    collection = catalog.create_collection(merchant_id=merchant.pk, name="Wearables", symbol="WEAR",
                                           chain_id=onchain.chain_id, contract_address=onchain.address)  # fmt: skip
    wearable = catalog.create_product(
        merchant_id=merchant.pk, kind="digital", title="Neon jacket", collection_id=collection.pk,
        metadata_template={"name": "Neon jacket #{serial}", "animation_url": "/static/demo/jacket.glb"},
        skus=[catalog.SkuSpec(code="JKT", price=1500, edition_size=100)],
    )  # fmt: skip
    catalog.create_product(merchant_id=merchant.pk, kind="physical", title="Tee",
                           skus=[catalog.SkuSpec(code="TEE", price=2500)])  # fmt: skip
    make_demo_video(Path(settings.SHOWS_MEDIA_DIR) / "shows" / "demo-show")
    show = lifecycle.create_show(merchant_id=merchant.pk, title="Friday night live",
                                 playback_url="/media/shows/demo-show/index.m3u8",
                                 scheduled_at=timezone.now() + timedelta(minutes=1))  # fmt: skip
    return {"merchant": merchant, "show": show, "wearable": wearable}


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def _watch(page: Any, errors: list[str]) -> None:
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 500 else None)


def _chat(page: Any, text: str) -> None:
    page.locator("[data-chat-input]").fill(text)
    page.locator("[data-chat-send]").click()


@pytest.mark.django_db(transaction=True)
def test_host_pins_and_launches_flash_drop_viewer_buys_in_place_with_moderated_chat(
    stack: Stack, browser: Any, screenshots: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls beside Playwright's loop
    data = _seed()
    base, show, merchant = stack.web_url, data["show"], data["merchant"]
    errors: list[str] = []
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(3)]
    host, viewer, viewer2 = (ctx.new_page() for ctx in contexts)
    for page in (host, viewer, viewer2):
        _watch(page, errors)

    _login(host, base, "show-host")
    host.goto(f"{base}/console/{merchant.pk}/shows/{show.pk}/")
    host.locator("#show [data-conn][data-state=live]").wait_for(timeout=WAIT_MS)
    host.get_by_role("button", name="Go live").click()
    host.locator("[data-show-state][data-state=live]").wait_for(timeout=WAIT_MS)

    _login(viewer, base, "show-viewer1")
    viewer.goto(f"{base}/shows/{show.pk}/")
    viewer.locator("#show [data-conn][data-state=live]").wait_for(timeout=WAIT_MS)
    viewer.locator("[data-show-state][data-state=live]").wait_for(timeout=WAIT_MS)
    viewer.locator("#show-player[data-ready=true]").wait_for(timeout=WAIT_MS)  # hls.js parsed our playlist
    viewer.evaluate("window.__sameDocument = 'still here'")
    _login(viewer2, base, "show-viewer2")
    viewer2.goto(f"{base}/shows/{show.pk}/")
    viewer2.locator("#show [data-conn][data-state=live]").wait_for(timeout=WAIT_MS)
    wait_for_js(host, "document.querySelector('[data-kpi=viewers]').textContent === '3'", timeout=WAIT_MS)

    # The host pins the wearable; the viewer sees the card appear (time measured in the page).
    viewer.evaluate("""window.__seen = {};
      new MutationObserver(() => {
        const p = document.querySelector('[data-pinned]'), f = document.querySelector('[data-flash]');
        if (p && !p.hidden && !window.__seen.pin) window.__seen.pin = Date.now();
        if (f && !f.hidden && !window.__seen.flash) window.__seen.flash = Date.now();
      }).observe(document.body, {subtree: true, childList: true, attributes: true});""")
    host.locator("[data-pin-product]").select_option(str(data["wearable"].pk))
    pin_clicked = host.evaluate("Date.now()")
    host.locator("[data-pin]").click()
    viewer.locator("[data-pinned]").wait_for(state="visible", timeout=WAIT_MS)
    assert viewer.locator("[data-pinned-title]").inner_text() == "Neon jacket"
    assert viewer.locator("[data-pinned-3d-link]").get_attribute("href") == "/static/demo/jacket.glb"

    host.locator("#flash-quantity").fill("2")
    flash_clicked = host.evaluate("Date.now()")
    host.get_by_role("button", name="Launch flash drop").click()
    viewer.locator("[data-flash]").wait_for(state="visible", timeout=WAIT_MS)
    wait_for_js(
        viewer, "document.querySelector('[data-flash-available]').textContent === '2'", timeout=WAIT_MS
    )
    seen = viewer.evaluate("window.__seen")
    wait_for_js(
        host, "document.querySelector('[data-kpi=pinned_stock]').textContent === '2'", timeout=WAIT_MS
    )
    assert host.locator('[data-kpi="units_sold"]').inner_text() == "0"
    viewer.screenshot(path=str(screenshots / "show-viewer-flash-drop.png"), full_page=True)

    # The viewer buys without leaving the page; stock and the host's sales counter move live.
    viewer.get_by_role("button", name="Buy now").click()
    viewer.locator("[data-buy-status][data-order-id]").wait_for(timeout=WAIT_MS)
    order = Order.objects.get(buyer__username="show-viewer1")
    wait_for_js(
        viewer2, "document.querySelector('[data-flash-available]').textContent === '1'", timeout=WAIT_MS
    )
    wait_for_js(host, "document.querySelector('[data-kpi=units_sold]').textContent === '1'", timeout=WAIT_MS)
    assert "15.00" in host.locator('[data-kpi="revenue"]').inner_text()
    assert viewer.evaluate("window.__sameDocument") == "still here"

    # Chat: markup refused, nothing rendered; the host mutes viewer2 and deletes a message.
    _chat(viewer, '<img src=x onerror="window.__pwned=1">')
    viewer.locator("[data-chat-error][data-code=chat_markup_refused]").wait_for(timeout=WAIT_MS)
    _chat(viewer, "love it <3")
    _chat(viewer2, "buy more jackets")
    host_line = host.locator("[data-chat-list] li", has_text="buy more jackets")
    host_line.wait_for(timeout=WAIT_MS)
    viewer.locator("[data-chat-list] li", has_text="buy more jackets").wait_for(timeout=WAIT_MS)
    host_line.get_by_role("button", name="Mute message from show-viewer2").click()
    wait_for_js(viewer2, "document.querySelector('#show').dataset.muted === 'true'", timeout=WAIT_MS)
    _chat(viewer2, "you can't mute me")
    viewer2.locator("[data-chat-error][data-code=chat_muted]").wait_for(timeout=WAIT_MS)
    host_line.get_by_role("button", name="Delete message from show-viewer2").click()
    viewer.locator("[data-chat-list] li", has_text="buy more jackets").wait_for(
        state="detached", timeout=WAIT_MS
    )
    viewer.locator("[data-chat-list] li", has_text="love it <3").wait_for(timeout=WAIT_MS)
    assert viewer.locator("[data-chat-list] img").count() == 0 and viewer.evaluate("window.__pwned") is None
    assert viewer.locator("[data-chat-list] li", has_text="you can't mute me").count() == 0
    viewer.screenshot(path=str(screenshots / "show-viewer-chat.png"), full_page=True)
    host.screenshot(path=str(screenshots / "show-host-console.png"), full_page=True)

    order.refresh_from_db()
    assert order.status in ("paid", "fulfilling", "fulfilled")
    report = {
        "pin_to_viewer_ms": seen.get("pin", 0) - pin_clicked,
        "flash_to_viewer_ms": seen.get("flash", 0) - flash_clicked,
    }
    (ROOT / "artifacts" / "show-e2e.json").write_text(json.dumps(report) + "\n")
    print("show e2e:", report)
    assert not errors, errors
    stack.check_alive()
    for ctx in contexts:
        ctx.close()
    connections.close_all()

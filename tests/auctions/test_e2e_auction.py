"""Browser end-to-end of a live auction in headless Chromium against the whole running system.

The host starts an auction of the pinned wearable from the console; two signed-in bidders watch the
show. bidder1 bids, bidder2 outbids them (bidder1 sees "you were outbid" live), each bid extends the
clock (anti-snipe), the Celery worker closes the auction at its end by server time, bidder2 sees
"You won" and pays in place (demo card -> signed webhook -> saga -> order.paid -> auction paid),
bidder1 sees "Sold"; the host's console shows the bids and the result. Screenshots go to
artifacts/screenshots/auction-*.png.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.utils import timezone

from commerce.auctions.models import Auction
from commerce.services import catalog
from commerce.shows.services import lifecycle, pins
from tests.frontend.stack import Stack
from tests.frontend.waits import wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]
PASSWORD = "e2e-pass-1234"
WAIT_MS = 90_000  # upper bound for one live change to show up (a bound, not a measurement)


def _seed() -> dict[str, Any]:
    from nft.keys import signer_account
    from nft.services.collections import deploy_collection

    host = User.objects.create_user("auction-host", password=PASSWORD)
    for name in ("bidder1", "bidder2"):
        User.objects.create_user(name, password=PASSWORD)
    merchant = catalog.create_merchant(name="Auction Shop", slug="auction-shop", owner=host)
    onchain = deploy_collection(name="Wearables", symbol="WEAR", royalty_receiver=signer_account().address,
                                royalty_bps=0)  # fmt: skip
    collection = catalog.create_collection(merchant_id=merchant.pk, name="Wearables", symbol="WEAR",
                                           chain_id=onchain.chain_id, contract_address=onchain.address)  # fmt: skip
    wearable = catalog.create_product(
        merchant_id=merchant.pk, kind="digital", title="Golden jacket", collection_id=collection.pk,
        metadata_template={"name": "Golden jacket #{serial}", "animation_url": "/static/demo/jacket.glb"},
        skus=[catalog.SkuSpec(code="GLD", price=1500, edition_size=10)],
    )  # fmt: skip
    show = lifecycle.create_show(merchant_id=merchant.pk, title="Auction night", playback_url="/x.m3u8",
                                 scheduled_at=timezone.now() + timedelta(minutes=1))  # fmt: skip
    lifecycle.go_live(show_id=show.pk, merchant_id=merchant.pk)
    pins.pin_product(show_id=show.pk, merchant_id=merchant.pk, product_id=wearable.pk)
    return {"merchant": merchant, "show": show}


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def _bid(page: Any, dollars: str) -> None:
    page.locator("[data-bid-amount]").fill(dollars)
    page.locator("[data-bid]").click()


def _current(page: Any, cents: int) -> None:
    wait_for_js(page, f"document.querySelector('[data-auction-current]').dataset.amount === '{cents}'",
                timeout=WAIT_MS)  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_two_bidders_outbid_live_clock_extends_winner_pays_other_sees_sold(
    stack: Stack, browser: Any, screenshots: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls beside Playwright's loop
    data = _seed()
    base, show, merchant = stack.web_url, data["show"], data["merchant"]
    errors: list[str] = []
    contexts = [browser.new_context(viewport={"width": 1280, "height": 1100}) for _ in range(3)]
    host, one, two = (ctx.new_page() for ctx in contexts)
    for page in (host, one, two):
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 500 else None)
    _login(host, base, "auction-host")
    host.goto(f"{base}/console/{merchant.pk}/shows/{show.pk}/")
    for page, name in ((one, "bidder1"), (two, "bidder2")):
        _login(page, base, name)
        page.goto(f"{base}/shows/{show.pk}/")
    for page in (host, one, two):
        page.locator("#show [data-conn][data-state=live]").wait_for(timeout=WAIT_MS)

    # The host starts a 10 s anti-snipe auction whose window is the whole auction: every bid extends it.
    host.locator("#auction-start").fill("10.00")
    host.locator("#auction-duration").fill("10")
    host.locator("#auction-snipe").fill("10")
    host.get_by_role("button", name="Start auction").click()
    for page in (host, one, two):
        page.locator("[data-auction][data-state=open]").wait_for(timeout=WAIT_MS)
    auction = Auction.objects.get(show=show)
    first_end = one.locator("[data-auction-countdown]").get_attribute("data-countdown-to")

    _bid(one, "10.00")
    _current(two, 1000)
    _bid(two, "11.00")
    _current(one, 1100)
    one.locator("[data-auction-outbid]").wait_for(state="visible", timeout=WAIT_MS)  # outbid, live
    assert "outbid" in one.locator("[data-auction-outbid]").inner_text()
    assert two.locator("[data-auction-outbid]").is_hidden()
    later_end = one.locator("[data-auction-countdown]").get_attribute("data-countdown-to")
    assert later_end and first_end and later_end > first_end  # the clock moved on (ISO, same zone)
    _bid(one, "10.50")  # below the next bid: a clear error, nothing changes
    one.locator("[data-auction-error][data-code=bid_too_low]").wait_for(timeout=WAIT_MS)
    wait_for_js(host, "document.querySelectorAll('[data-auction-bid-list] li').length === 2", timeout=WAIT_MS)
    one.screenshot(path=str(screenshots / "auction-outbid.png"), full_page=True)

    # Closed by the worker at the end (server time): bidder2 won and pays; bidder1 sees it sold.
    two.locator("[data-auction][data-state=closed]").wait_for(timeout=WAIT_MS)
    assert two.locator("[data-auction-result]").inner_text().startswith("You won")
    assert one.locator("[data-auction-result]").inner_text().startswith("Sold to bidder2")
    two.get_by_role("button", name="Pay now (test card)").click()
    two.locator("[data-auction-paid] a").wait_for(timeout=WAIT_MS)
    for page in (host, one, two):
        page.locator("[data-auction][data-state=paid]").wait_for(timeout=WAIT_MS)
    assert "paid" in one.locator("[data-auction-result]").inner_text()
    assert host.locator("[data-auction-result]").inner_text() == "Sold to bidder2 for $11.00 — paid."
    one.screenshot(path=str(screenshots / "auction-sold.png"), full_page=True)
    host.screenshot(path=str(screenshots / "auction-host-console.png"), full_page=True)

    auction.refresh_from_db()
    assert auction.state == "paid" and auction.current_bid == 1100 and auction.extensions >= 1
    assert auction.offer_to is not None and auction.offer_to.username == "bidder2"
    assert not errors, errors
    stack.check_alive()
    for ctx in contexts:
        ctx.close()
    connections.close_all()

"""Browser end-to-end: show events on the video's clock, in headless Chromium on the whole stack.

The demo stream is served live with EXT-X-PROGRAM-DATE-TIME (frontend/shows/live_playlist.py). A
viewer's player is moved back so that its video runs well behind live; the host (another client,
the REST API) pins a product and launches a flash drop. The viewer's page holds each frame until the
playhead's wall time reaches the frame's server time, then shows it, and says how far behind live
it is. Asserted on page state (the frame's time, the playhead's wall time when it arrived and when
it was shown), never on how long the stack took. Screenshot: artifacts/screenshots/show-behind-live.png.
"""

import json
import re
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections
from django.utils import timezone

from commerce.services import catalog
from commerce.shows.management.commands.seed_demo_show import make_demo_video
from commerce.shows.services import lifecycle
from tests.frontend.stack import Stack
from tests.frontend.waits import wait_for_js
from tests.tokens import issue_token

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]
WAIT_MS = 60_000  # upper bound for one change to show up (a bound, not a measurement)
EXTRA_BEHIND_S = 8  # how far the test moves the viewer's playhead back from where the player started
DATASET = "document.getElementById('show').dataset"


def _api(base: str, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json",
                 "Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def _held(page: Any, kind: str) -> dict[str, Any]:
    """The gate's record of the last held frame of `kind` (times in ms of server wall clock)."""
    entries = page.evaluate(f"Mintdrop.showPage.gate.log.filter((e) => e.type === '{kind}')")
    assert entries, f"no {kind} frame was held for the video"
    return dict(entries[-1])


def _assert_held_until_the_video_reached_it(entry: dict[str, Any]) -> None:
    behind_at_arrival = entry["time"] - entry["arrivedWall"]
    assert behind_at_arrival > EXTRA_BEHIND_S * 1000 * 0.75, entry  # it came while the video was far behind
    assert entry["releasedWall"] >= entry["time"], entry  # shown once the playhead reached its time
    # Held as long as the playback needed to reach it (the player plays at 1x; the gate ticks every 100 ms).
    assert entry["heldMs"] >= behind_at_arrival * 0.8, entry


@pytest.mark.django_db(transaction=True)
def test_viewer_behind_live_sees_pin_and_flash_drop_when_the_video_reaches_them(
    stack: Stack, browser: Any, screenshots: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls beside Playwright's loop
    host = User.objects.create_user("clock-host", password="e2e-pass-1234")
    merchant = catalog.create_merchant(name="Clock Shop", slug="clock-shop", owner=host)
    tee = catalog.create_product(merchant_id=merchant.pk, kind="physical", title="Tee",
                                 skus=[catalog.SkuSpec(code="TEE", price=2500)])  # fmt: skip
    assert make_demo_video(Path(settings.SHOWS_MEDIA_DIR) / "shows" / "demo-show"), "ffmpeg is needed"
    show = lifecycle.create_show(merchant_id=merchant.pk, title="On the video's clock",
                                 playback_url="/media/shows/demo-show/live.m3u8", scheduled_at=timezone.now())  # fmt: skip
    token, base = issue_token(host), stack.web_url
    host_path = f"/api/v1/merchants/{merchant.pk}/shows/{show.pk}/"
    _api(base, token, host_path + "live/", {})  # through the web process (this thread runs Playwright's loop)
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    viewer = context.new_page()
    viewer.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))

    viewer.goto(f"{base}/shows/{show.pk}/")
    viewer.locator("#show [data-conn][data-state=live]").wait_for(timeout=WAIT_MS)
    # The live playlist's program date time reached the page: it knows how far behind live it is.
    wait_for_js(viewer, f"{DATASET}.behindMs !== undefined", timeout=WAIT_MS)
    viewer.evaluate(
        f"(() => {{ const v = document.getElementById('show-player'); v.currentTime -= {EXTRA_BEHIND_S}; }})()"
    )
    wait_for_js(
        viewer,
        f"(() => {{ const v = document.getElementById('show-player');"
        f" return !v.paused && !v.seeking && Number({DATASET}.behindMs) > {EXTRA_BEHIND_S * 1000}; }})()",
        timeout=WAIT_MS,
    )  # fmt: skip
    indicator = viewer.locator("[data-behind-live]")
    assert indicator.is_visible() and re.fullmatch(
        r"\d+ s behind live · bids count on live time", indicator.inner_text()
    )
    assert int(indicator.inner_text().split(" ", 1)[0]) >= EXTRA_BEHIND_S
    assert viewer.locator("[data-pinned]").is_hidden()

    # The host pins: the frame reaches the page at once but waits for the video.
    _api(base, token, host_path + "pin/", {"product_id": tee.pk})
    wait_for_js(viewer, f"Number({DATASET}.pendingFrames) >= 1", timeout=WAIT_MS)
    assert viewer.locator("[data-pinned]").is_hidden()
    viewer.locator("[data-pinned]").wait_for(state="visible", timeout=WAIT_MS)
    assert viewer.locator("[data-pinned-title]").inner_text() == "Tee"
    _assert_held_until_the_video_reached_it(_held(viewer, "pinned"))

    # A flash drop: the launch frame and the stock snapshot it brings both wait for the video.
    _api(
        base,
        token,
        host_path + "flash-drops/",
        {"quantity": 5, "per_buyer_limit": 1, "duration_seconds": 600},
    )
    wait_for_js(viewer, f"Number({DATASET}.pendingFrames) >= 1", timeout=WAIT_MS)
    assert viewer.locator("[data-flash]").is_hidden()
    viewer.locator("[data-flash]").wait_for(state="visible", timeout=WAIT_MS)
    wait_for_js(
        viewer, "document.querySelector('[data-flash-available]').textContent === '5'", timeout=WAIT_MS
    )
    _assert_held_until_the_video_reached_it(_held(viewer, "flash_drop"))

    # An auction appears when the video reaches its start; after that its bids show as they happen
    # (the server judges bids on its clock, so the bidder must see the real price).
    bidder = User.objects.create_user("clock-bidder", password="e2e-pass-1234")
    auction = _api(base, token, host_path + "auctions/", {"starting_price": 500, "duration_seconds": 300})
    wait_for_js(viewer, f"Number({DATASET}.pendingFrames) >= 1", timeout=WAIT_MS)
    card = viewer.locator(f"[data-auction][data-auction-id='{auction['id']}'][data-state=open]")
    assert card.count() == 0
    card.wait_for(timeout=WAIT_MS)
    _assert_held_until_the_video_reached_it(_held(viewer, "auction"))
    _api(base, issue_token(bidder), f"/api/v1/auctions/{auction['id']}/bids/", {"amount": 500})
    viewer.locator("[data-auction-current][data-amount='500']").wait_for(timeout=WAIT_MS)
    held_auction_frames = viewer.evaluate(
        "Mintdrop.showPage.gate.log.filter((e) => e.type === 'auction').length"
    )
    assert held_auction_frames == 1  # only the start waited for the video; the bid went straight through
    viewer.screenshot(path=str(screenshots / "show-behind-live.png"), full_page=True)

    assert not errors, errors
    stack.check_alive()
    context.close()
    connections.close_all()

"""What a newcomer sees: every demo page loads with no broken image and no failed request.

With `seed_demo` and `seed_demo_show` run against the whole running system, headless Chromium opens
the storefront (home, drops, every product, shows list, a show), then the console as the demo
merchant (index, orders list and an order, shows list and form, the host console, a drop's live room).
A page fails on: a request that failed (`requestfailed`), any response with status >= 400, a console
error or uncaught page error, an <img> whose load errored or that loaded with naturalWidth 0, and a
3D model that model-viewer could not load. The detector itself is checked on a planted broken image
first, so a green run means something. Screenshots: artifacts/screenshots/demo-*.png.
"""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from commerce.models import Drop, DropState, Merchant, Order, Product
from commerce.services.orders import place_order
from commerce.services.reservations import reserve_stock
from commerce.shows.models import Show, ShowState
from tests.commerce.conftest import SHIP_TO
from tests.frontend import stack as stack_module
from tests.frontend.stack import ROOT, Stack

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

PASSWORD = "mintdrop-demo"  # seed_demo's demo password
WAIT_MS = 30_000

# Records <img> load errors in the page itself: templates hide a broken picture (api.js drops the src
# of a `data-hide-broken` image), so by the time we look, the element alone would no longer tell.
IMG_ERRORS_SCRIPT = """
window.__brokenImages = [];
document.addEventListener('error', (e) => {
  const t = e.target;
  if (t && t.tagName === 'IMG') window.__brokenImages.push(t.currentSrc || t.src || '(no src)');
}, true);
"""

# Every <img> loads now (lazy ones too); then list those that failed or decoded to nothing.
CHECK_IMAGES_SCRIPT = """async () => {
  const imgs = [...document.querySelectorAll('img')].filter((i) => i.getAttribute('src'));
  imgs.forEach((i) => { i.loading = 'eager'; });
  await Promise.all(imgs.map((i) => i.decode().catch(() => null)));
  const empty = imgs.filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.currentSrc || i.src);
  return {count: imgs.length, broken: [...window.__brokenImages, ...empty]};
}"""

# model-viewer sets `loaded` once its model is parsed, and fires `error` when it cannot be.
MODEL_SCRIPT = """async () => {
  const mv = document.querySelector('model-viewer');
  if (!mv) return {present: false};
  await customElements.whenDefined('model-viewer');
  const ok = mv.loaded || await new Promise((resolve) => {
    mv.addEventListener('load', () => resolve(true), {once: true});
    mv.addEventListener('error', () => resolve(false), {once: true});
    setTimeout(() => resolve(mv.loaded), 20000);
  });
  return {present: true, loaded: !!ok, src: mv.getAttribute('src')};
}"""


class PageProblems:
    """Listens to one page; `problems` lists everything that went wrong while `recording`."""

    def __init__(self, page: Any) -> None:
        self.page, self.recording = page, True
        self.problems: list[str] = []
        page.add_init_script(IMG_ERRORS_SCRIPT)
        page.on("requestfailed", lambda r: self._add(f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: self._add(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.on("console", lambda m: self._add(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self._add(f"page error: {e}"))

    def _add(self, text: str) -> None:
        if self.recording:
            self.problems.append(text)

    def check(self, label: str, *, model: bool = False) -> int:
        """Images and (optionally) the 3D model of the loaded page; returns how many images it has."""
        images = self.page.evaluate(CHECK_IMAGES_SCRIPT)
        self.problems += [f"broken image: {src}" for src in images["broken"]]
        if model:
            found = self.page.evaluate(MODEL_SCRIPT)
            if not found.get("present") or not found.get("loaded"):
                self.problems.append(f"3D model not loaded: {found}")
        self.page.wait_for_timeout(500)  # late console errors / failed requests of the page's scripts
        return int(images["count"])


def _visit(
    context: Any, url: str, shot: Path, *, ready: str | None = None, model: bool = False,
    before_check: Callable[[Any], None] | None = None,
) -> tuple[list[str], int]:  # fmt: skip
    page = context.new_page()
    watch = PageProblems(page)
    page.goto(url, wait_until="load")
    if ready:
        page.locator(ready).first.wait_for(timeout=WAIT_MS)
    if before_check:
        before_check(page)
    count = watch.check(url, model=model)
    # A turning WebGL model makes every frame new: stop it so the screenshot settles on a slow box.
    page.evaluate(
        "document.querySelectorAll('model-viewer').forEach((m) => m.removeAttribute('auto-rotate'))"
    )
    page.screenshot(path=str(shot), full_page=True, timeout=120_000)
    watch.recording = False  # requests cut short by closing the page are not the page's fault
    page.close()
    return watch.problems, count


def _login(context: Any, base: str, username: str) -> None:
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
    page.close()


def _seed_demo(stack: Stack) -> dict[str, Any]:
    """As `make dev` does: the seed commands in their own process, against the stack's database and chain."""
    for command in ("seed_demo", "seed_demo_show"):
        subprocess.run([sys.executable, str(ROOT / "manage.py"), command], cwd=ROOT, env=stack.env(),
                       check=True, capture_output=True, timeout=300)  # fmt: skip
    merchant = Merchant.objects.get(slug="mintdrop-demo")
    live = Drop.objects.get(merchant=merchant, state=DropState.LIVE, title="Demo drop: live now")
    # One real order (reserve -> place) so the console's orders screen has a row and a detail page.
    shopper = User.objects.get(username="shopper1")
    item = live.items.select_related("sku").order_by("pk").first()
    assert item is not None
    reservation = reserve_stock(drop_id=live.pk, sku_id=item.sku_id, buyer_id=shopper.pk, quantity=1)
    order = place_order(buyer_id=shopper.pk, reservation_ids=[reservation.pk], shipping_address=SHIP_TO)
    return {
        "merchant": merchant,
        "live": live,
        "upcoming": Drop.objects.get(merchant=merchant, state=DropState.SCHEDULED),
        "products": list(Product.objects.filter(merchant=merchant).order_by("pk")),
        "show": Show.objects.get(merchant=merchant, state=ShowState.LIVE),
        "upcoming_show": Show.objects.get(merchant=merchant, state=ShowState.SCHEDULED),
        "order": order,
    }


@pytest.fixture(autouse=True)
def _patient_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight processes start on a shared 2-core box: give them longer than the default to answer."""
    monkeypatch.setattr(stack_module, "START_TIMEOUT", 240.0)


def _check_the_detector(base: str, browser: Any, screenshots: Path) -> None:
    """The checks can fail: a missing picture and an undecodable one are both caught."""

    def plant(page: Any) -> None:
        page.evaluate("""() => {
          for (const src of ['/static/frontend/demo/planted-missing.svg', 'data:image/png;base64,AAAA']) {
            const img = document.createElement('img'); img.src = src; img.className = 'thumb';
            img.setAttribute('data-hide-broken', '');  // as our templates do (api.js drops the src)
            document.querySelector('main').append(img);
          }
        }""")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    problems, _ = _visit(context, f"{base}/", screenshots / "demo-planted.png", before_check=plant)
    context.close()
    assert f"HTTP 404: {base}/static/frontend/demo/planted-missing.svg" in problems, problems
    assert any(p.startswith("broken image") and "planted-missing.svg" in p for p in problems), problems
    assert any(p.startswith("broken image: data:image/png") for p in problems), problems


def test_demo_pages_have_no_broken_images_or_failed_requests(
    stack: Stack, browser: Any, screenshots: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls beside Playwright's loop
    demo = _seed_demo(stack)
    base, m = stack.web_url, demo["merchant"].pk
    _check_the_detector(base, browser, screenshots)
    jacket = next(p for p in demo["products"] if p.title.startswith("Neon jacket"))
    assert not Order.objects.exclude(merchant_id=m).exists()

    shopper = browser.new_context(viewport={"width": 1280, "height": 900})
    storefront: list[tuple[str, str, dict[str, Any]]] = [
        ("home", "/", {}),
        ("drop-live", f"/drops/{demo['live'].pk}/", {"ready": "[data-conn]"}),
        ("drop-upcoming", f"/drops/{demo['upcoming'].pk}/", {}),
        ("shows", "/shows/", {}),
        ("show-watch", f"/shows/{demo['show'].pk}/", {"ready": "#show-player[data-ready=true]"}),
        ("show-upcoming", f"/shows/{demo['upcoming_show'].pk}/", {}),
        *[(f"product-{p.pk}", f"/products/{p.pk}/", {"model": p.pk == jacket.pk}) for p in demo["products"]],
    ]
    merchant = browser.new_context(viewport={"width": 1280, "height": 900})
    _login(merchant, base, "demo-merchant")
    console: list[tuple[str, str, dict[str, Any]]] = [
        ("console", f"/console/{m}/", {}),
        ("console-orders", f"/console/{m}/orders/", {}),
        ("console-order", f"/console/{m}/orders/{demo['order'].pk}/", {}),
        ("console-shows", f"/console/{m}/shows/", {}),
        ("console-show-form", f"/console/{m}/shows/new/", {}),
        ("console-show-edit", f"/console/{m}/shows/{demo['upcoming_show'].pk}/edit/", {}),
        (
            "show-host",
            f"/console/{m}/shows/{demo['show'].pk}/",
            {"ready": "#show [data-conn][data-state=live]"},
        ),
        ("console-room", f"/console/{m}/drops/{demo['live'].pk}/live/", {}),
    ]
    report: dict[str, list[str]] = {}
    image_counts: dict[str, int] = {}
    for context, pages in ((shopper, storefront), (merchant, console)):
        for name, path, options in pages:
            problems, count = _visit(context, base + path, screenshots / f"demo-{name}.png", **options)
            image_counts[name] = count
            if problems:
                report[path] = problems
    shopper.close()
    merchant.close()
    assert report == {}, "\n".join(f"{path}:\n  " + "\n  ".join(p) for path, p in report.items())
    # The pages did show pictures (a page with its images removed would pass the checks above).
    assert image_counts["home"] >= len(demo["products"]) + 1  # product cards and the show card
    assert image_counts["drop-live"] >= len(demo["products"])

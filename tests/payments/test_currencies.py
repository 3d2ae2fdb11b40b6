"""Currencies by ISO 4217 exponent (issue #22): a JPY and a KWD product are shown and charged right end to
end — API, storefront pages, e-mail text, page JavaScript and the PaymentIntent amount sent to
stripe-mock (recorded on the wire) — and a drop is one currency."""

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from commerce import money
from commerce.models import Drop, Order
from commerce.services import catalog
from notifications.money import format_money as email_money
from tests.commerce.conftest import SHIP_TO_DATA, client_for
from tests.payments.wire import RecordingHttpClient, recording_gateway

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("amount", "currency", "page", "email"),
    [
        (1500, "jpy", "¥1,500", "JPY 1,500"),
        (12345, "kwd", "12.345 KWD", "KWD 12.345"),
        (1999, "usd", "$19.99", "USD 19.99"),
        (5, "bhd", "0.005 BHD", "BHD 0.005"),
        (100, "krw", "100 KRW", "KRW 100"),
    ],
)
def test_formatting_follows_the_exponent(amount: int, currency: str, page: str, email: str) -> None:
    from frontend.templatetags.frontend_tags import money as money_filter

    assert money_filter(amount, currency) == page
    assert email_money(amount, currency) == email
    assert money.to_minor(money.to_major(amount, currency), currency) == amount


def test_major_units_with_too_many_decimals_are_refused() -> None:
    assert money.to_minor("1500", "jpy") == 1500 and money.to_minor("12.345", "kwd") == 12345
    for value, currency in (("1500.5", "jpy"), ("1.2345", "kwd"), ("19.999", "usd")):
        with pytest.raises(ValueError):
            money.to_minor(value, currency)


JS = """
const fs = require("fs"), vm = require("vm");
const elements = {"currency-exponents": {textContent: process.argv[2]}};
const sandbox = {window: {}, console, Intl, Math, JSON, Object,
  document: {getElementById: (id) => elements[id] || null, querySelector: () => null,
             querySelectorAll: () => [], addEventListener: () => {}, readyState: "complete"}};
vm.createContext(sandbox);
vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), sandbox);
const api = sandbox.window.Mintdrop.api;
const out = JSON.parse(process.argv[3]).map(([a, c]) => api.money(a, c).replace(/\\u00a0/g, " "));
console.log(JSON.stringify(out));
"""


def test_page_javascript_divides_by_the_exponent() -> None:
    cases = [[1500, "jpy"], [12345, "kwd"], [1999, "usd"]]
    result = subprocess.run(
        [
            "node",
            "-e",
            JS,
            str(ROOT / "frontend/static/frontend/js/api.js"),
            json.dumps(money.exponents_table()),
            json.dumps(cases),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    jpy, kwd, usd = json.loads(result.stdout)
    assert "1,500" in jpy and "." not in jpy
    assert "12.345" in kwd and "KWD" in kwd
    assert "19.99" in usd


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> RecordingHttpClient:
    gateway, client = recording_gateway()
    monkeypatch.setattr("commerce.payments.gateway._default", gateway)
    return client


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("currency", "price", "shown", "typed"),
    [("jpy", 1500, "¥1,500", "1500"), ("kwd", 12345, "12.345 KWD", "12.345")],
)
def test_a_product_is_shown_and_charged_in_its_currency_end_to_end(
    currency: str, price: int, shown: str, typed: str, wire: RecordingHttpClient
) -> None:
    owner = User.objects.create_user("owner")
    buyer = User.objects.create_user("buyer", password="pw-12345678")
    merchant = catalog.create_merchant(name="Shop", slug="shop", owner=owner)
    api = client_for(owner)
    base = f"/api/v1/merchants/{merchant.pk}"

    # The console form takes the price in major units with the currency's decimals.
    console = Client()
    console.force_login(owner)
    form = console.post(
        f"/console/{merchant.pk}/products/new/",
        {
            "kind": "physical",
            "title": f"Bowl {currency}",
            "currency": currency,
            "sku0_code": "B",
            "sku0_price": typed,
            "is_active": "on",
        },
    )
    assert form.status_code == 302, form.content.decode()[:2000]
    product = merchant.products.get()
    sku = product.skus.get()
    assert (sku.price, sku.currency) == (price, currency)

    listed = api.get(f"{base}/products/{product.pk}/").json()
    assert (listed["skus"][0]["price"], listed["skus"][0]["currency"]) == (price, currency)
    assert (
        listed["skus"][0]["currency_exponent"] == money.exponent(currency) == {"jpy": 0, "kwd": 3}[currency]
    )
    drop = api.post(
        f"{base}/drops/",
        {
            "title": "Drop",
            "starts_at": (timezone.now() + timedelta(hours=1)).isoformat(),
            "items": [{"sku_id": sku.pk, "quantity": 3}],
        },
        format="json",
    )
    assert drop.status_code == 201, drop.content
    drop_id = drop.json()["id"]
    assert drop.json()["currency"] == currency and drop.json()["currency_exponent"] == money.exponent(
        currency
    )
    assert drop.json()["items"][0]["currency_exponent"] == money.exponent(currency)
    assert Drop.objects.get(pk=drop_id).currency == currency
    assert api.post(f"{base}/drops/{drop_id}/start/").status_code == 200

    page = Client().get(f"/products/{product.pk}/").content.decode()
    assert shown in page
    assert shown in Client().get(f"/drops/{drop_id}/").content.decode()

    shopper = client_for(buyer)
    reserved = shopper.post(
        "/api/v1/reservations/", {"drop_id": drop_id, "sku_id": sku.pk, "quantity": 2}, format="json"
    )
    assert reserved.status_code == 201, reserved.content
    order = shopper.post("/api/v1/checkout/", {"shipping_address": SHIP_TO_DATA}, format="json")
    assert order.status_code == 201, order.content
    body = order.json()
    assert (body["total"], body["currency"], body["currency_exponent"]) == (
        2 * price,
        currency,
        money.exponent(currency),
    )
    paid = shopper.post(f"/api/v1/orders/{body['id']}/pay/")
    assert paid.status_code == 200, paid.content
    assert (paid.json()["amount"], paid.json()["currency"]) == (2 * price, currency)
    (call,) = wire.to("POST", "/v1/payment_intents")
    assert (call["form"]["amount"], call["form"]["currency"]) == (str(2 * price), currency)

    web = Client()
    web.force_login(buyer)
    pay_page = web.get(f"/orders/{body['id']}/pay/").content.decode()
    assert f"Pay {money.format_money(2 * price, currency)}" in pay_page
    assert Order.objects.get(pk=body["id"]).currency == currency


@pytest.mark.django_db
def test_a_drop_refuses_a_sku_priced_in_another_currency() -> None:
    owner = User.objects.create_user("owner")
    merchant = catalog.create_merchant(name="Shop", slug="shop", owner=owner)
    yen = catalog.create_product(
        merchant_id=merchant.pk,
        kind="physical",
        title="Yen",
        skus=[catalog.SkuSpec(code="Y", price=1500, currency="jpy")],
    ).skus.get()
    dinar = catalog.create_product(
        merchant_id=merchant.pk,
        kind="physical",
        title="Dinar",
        skus=[catalog.SkuSpec(code="K", price=1, currency="kwd")],
    ).skus.get()
    body: dict[str, Any] = {
        "title": "Mixed",
        "starts_at": (timezone.now() + timedelta(hours=1)).isoformat(),
        "items": [{"sku_id": yen.pk, "quantity": 1}, {"sku_id": dinar.pk, "quantity": 1}],
    }
    response = client_for(owner).post(f"/api/v1/merchants/{merchant.pk}/drops/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "currency_mismatch" and error["details"]["skus"] == ["K"]
    assert not Drop.objects.exists()

"""The "sell with us" form and the console's Money page (issue #22), server-rendered, against stripe-mock."""

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from commerce.models import MerchantRole, SellerApplication
from commerce.payments.services.connect import ensure_connected_account
from commerce.services import catalog
from frontend.messages import ERROR_MESSAGES

pytestmark = pytest.mark.django_db

FORM = {
    "store_name": "Gulf Pearls",
    "contact_name": "Noor",
    "contact_email": "noor@example.com",
    "what_they_sell": "Pearl jewellery",
    "country": "kw",
}


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_sell_form_records_an_application() -> None:
    user = User.objects.create_user("seller")
    response = _client(user).post("/sell/", FORM)
    assert response.status_code == 302
    application = SellerApplication.objects.get()
    assert (application.store_name, application.country, application.status) == (
        "Gulf Pearls",
        "KW",
        "pending",
    )
    page = _client(user).get("/sell/").content.decode()
    assert "Gulf Pearls" in page and "Waiting for review" in page


@pytest.mark.parametrize("missing", ["store_name", "contact_email", "what_they_sell", "country"])
def test_sell_form_with_a_missing_field_is_a_400_and_stores_nothing(missing: str) -> None:
    response = _client(User.objects.create_user("seller")).post("/sell/", {**FORM, missing: ""})
    assert response.status_code == 400
    assert ERROR_MESSAGES["invalid_application"] in response.content.decode()
    assert not SellerApplication.objects.exists()


@pytest.fixture
def connect_merchant(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from tests.payments.wire import recording_gateway

    gateway, wire = recording_gateway()
    monkeypatch.setattr("commerce.payments.gateway._default", gateway)
    owner = User.objects.create_user("owner")
    merchant = catalog.create_merchant(name="Money Shop", slug="money-shop", owner=owner)
    merchant = ensure_connected_account(merchant_id=merchant.pk)
    return {"owner": owner, "merchant": merchant, "wire": wire}


def test_money_page_shows_stripe_balance_payouts_and_the_onboarding_button(
    connect_merchant: dict[str, Any],
) -> None:
    merchant, wire = connect_merchant["merchant"], connect_merchant["wire"]
    from django.core.cache import cache

    cache.delete(f"merchant-money:{merchant.pk}:{merchant.stripe_account_id}")
    owner = _client(connect_merchant["owner"])
    page = owner.get(f"/console/{merchant.pk}/money/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-charges-enabled="false"' in html and "data-onboarding" in html
    balance_calls = wire.to("GET", "/v1/balance")
    assert (
        len(balance_calls) == 1
        and balance_calls[0]["headers"]["stripe-account"] == merchant.stripe_account_id
    )
    assert wire.to("GET", "/v1/payouts")[0]["headers"]["stripe-account"] == merchant.stripe_account_id
    arrival = re.search(r'data-epoch="(\d+)">(\d{4}-\d{2}-\d{2})<', html)  # a date, not a raw timestamp
    assert arrival is not None
    assert arrival[2] == datetime.fromtimestamp(int(arrival[1]), tz=UTC).strftime("%Y-%m-%d")
    owner.get(f"/console/{merchant.pk}/money/")
    assert len(wire.to("GET", "/v1/balance")) == 1  # cached
    onboarding = owner.post(f"/console/{merchant.pk}/money/")
    assert onboarding.status_code == 302 and onboarding["Location"].startswith("https://")
    csv = owner.get(f"/console/{merchant.pk}/money/orders.csv")
    assert csv.status_code == 200 and csv["Content-Type"] == "text/csv"
    assert csv.content.decode().startswith(
        "order_id,created_at,status,currency,gross,fee,refunded,fee_refunded,net"
    )


def test_money_page_is_for_owners_only(connect_merchant: dict[str, Any]) -> None:
    merchant = connect_merchant["merchant"]
    staff = User.objects.create_user("staffer")
    catalog.add_member(merchant_id=merchant.pk, user=staff, role=MerchantRole.STAFF)
    assert _client(staff).get(f"/console/{merchant.pk}/money/").status_code == 403
    assert _client(staff).get(f"/console/{merchant.pk}/money/orders.csv").status_code == 403
    assert (
        _client(User.objects.create_user("stranger")).get(f"/console/{merchant.pk}/money/").status_code == 404
    )

"""Marketplace money on stripe-mock (issue #22): onboarding creates the Express account and its link,
a signed account.updated enables charges (a forged one changes nothing), a purchase is a destination
charge carrying the plan's fee, full and partial refunds reverse the transfer and the fee with their
own keys, and a call repeated after a crash sends the same key. Requests are recorded on the wire
(stripe-python's HTTP client hook) on their way to the real stripe-mock."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from commerce.models import Drop, DropState, FeePlan, Merchant, Order, SellerApplication, Settlement
from commerce.payments.models import PaymentAttempt, Refund, StripeEvent
from commerce.payments.services.connect import account_idempotency_key, ensure_connected_account
from commerce.payments.services.intents import intent_idempotency_key, start_payment
from commerce.payments.services.refunds import (
    execute_refund,
    line_refund_key,
    order_refund_key,
    request_refund,
)
from commerce.payments.simulator import account_updated_event
from commerce.services import drops, fees
from commerce.services.locks import lock_order
from commerce.services.orders import place_order
from commerce.services.reservations import reserve_stock
from config.faults import CRASH_AT_ENV
from tests.commerce.conftest import client_for
from tests.payments.conftest import SHIP_TO
from tests.payments.helpers import outbox, post_webhook
from tests.payments.pipeline import run_python
from tests.payments.wire import CHILD_PRELUDE, RecordingHttpClient, child_requests, recording_gateway

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

APPLICATION = {
    "store_name": "Kyoto Ceramics",
    "contact_name": "Aiko",
    "contact_email": "aiko@example.com",
    "what_they_sell": "Hand-thrown tea bowls, each with an NFT certificate.",
    "country": "JP",
}


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> RecordingHttpClient:
    """The process-wide gateway talks to stripe-mock through a recording HTTP client."""
    gateway, client = recording_gateway()
    monkeypatch.setattr("commerce.payments.gateway._default", gateway)
    return client


def _enable_charges(
    merchant: Merchant, *, charges: bool = True, created: int | None = None
) -> tuple[int, dict]:
    return post_webhook(
        account_updated_event(
            account_id=merchant.stripe_account_id,
            charges_enabled=charges,
            payouts_enabled=charges,
            created=created,
        )
    )


@pytest.fixture
def connect_shop(shop: dict[str, Any], wire: RecordingHttpClient) -> dict[str, Any]:
    """The test shop moved to Stripe Connect, with charges enabled by a signed account.updated."""
    merchant = ensure_connected_account(merchant_id=shop["merchant"].pk)
    assert _enable_charges(merchant)[0] == 200
    shop["merchant"].refresh_from_db()
    return shop


def _admin() -> Client:
    admin = User.objects.create_superuser("platform-admin", "admin@example.com", "pw-12345678")
    client = Client()
    client.force_login(admin)
    return client


def test_application_approved_in_admin_creates_the_account_and_an_onboarding_link(
    make_user: Callable[..., User], wire: RecordingHttpClient
) -> None:
    applicant = make_user()
    created = client_for(applicant).post("/api/v1/seller-applications/", APPLICATION, format="json")
    assert created.status_code == 201, created.content
    application = SellerApplication.objects.get(pk=created.json()["id"])
    assert application.status == "pending" and len(outbox("merchant.application_submitted")) == 1

    admin = _admin()
    changelist = "/admin/commerce/sellerapplication/"
    response = admin.post(changelist, {"action": "approve", "_selected_action": [application.pk]})
    assert response.status_code == 302, response.content
    application.refresh_from_db()
    merchant = application.merchant
    assert application.status == "approved" and merchant is not None
    assert merchant.settlement == Settlement.CONNECT and merchant.stripe_account_id.startswith("acct_")
    assert merchant.memberships.get().user == applicant and not merchant.charges_enabled
    (account_call,) = wire.to("POST", "/v1/accounts")
    assert account_call["headers"]["idempotency-key"] == account_idempotency_key(merchant.pk)
    assert account_call["form"]["type"] == "express"
    assert account_call["form"]["country"] == "JP"
    assert account_call["form"]["email"] == "aiko@example.com"
    assert account_call["form"]["capabilities[transfers][requested]"] == "true"
    assert [e.payload["decision"] for e in outbox("merchant.application_reviewed")] == ["approved"]
    assert [e.payload["stripe_account_id"] for e in outbox("merchant.account_created")] == [
        merchant.stripe_account_id
    ]

    link = client_for(applicant).post(
        f"/api/v1/merchants/{merchant.pk}/stripe-account/onboarding-link/", headers={"Idempotency-Key": "k1"}
    )
    assert link.status_code == 201, link.content
    assert link.json()["url"].startswith("https://")
    (link_call,) = wire.to("POST", "/v1/account_links")
    assert link_call["form"] == {
        "account": merchant.stripe_account_id,
        "refresh_url": f"http://127.0.0.1:8000/console/{merchant.pk}/money/?onboarding=refresh",
        "return_url": f"http://127.0.0.1:8000/console/{merchant.pk}/money/?onboarding=done",
        "type": "account_onboarding",
    }
    assert link_call["headers"]["idempotency-key"] == f"mintdrop-merchant-{merchant.pk}-link-k1"
    assert len(wire.to("POST", "/v1/accounts")) == 1  # the account is not created twice


def test_rejection_needs_a_reason_and_is_recorded(
    make_user: Callable[..., User], wire: RecordingHttpClient
) -> None:
    applicant = make_user()
    app_id = (
        client_for(applicant).post("/api/v1/seller-applications/", APPLICATION, format="json").json()["id"]
    )
    admin = _admin()
    changelist = "/admin/commerce/sellerapplication/"
    form = admin.post(changelist, {"action": "reject", "_selected_action": [app_id]})
    assert form.status_code == 200 and b"applicant is told" in form.content  # the reason form
    empty = admin.post(
        changelist, {"action": "reject", "_selected_action": [app_id], "apply": "1", "reason": ""}
    )
    assert empty.status_code == 200
    assert SellerApplication.objects.get(pk=app_id).status == "pending"
    done = admin.post(
        changelist, {"action": "reject", "_selected_action": [app_id], "apply": "1", "reason": "Resale only"}
    )
    assert done.status_code == 302
    application = SellerApplication.objects.get(pk=app_id)
    assert (application.status, application.reject_reason, application.merchant_id) == (
        "rejected",
        "Resale only",
        None,
    )
    assert not Merchant.objects.exists() and not wire.sent


@pytest.mark.parametrize(
    "body",
    [
        {},
        {k: v for k, v in APPLICATION.items() if k != "store_name"},
        {**APPLICATION, "contact_email": "not-an-email"},
        {**APPLICATION, "country": "Japan"},
        {**APPLICATION, "what_they_sell": "   "},
        ["not", "an", "object"],
    ],
)
def test_an_incomplete_application_is_a_400_and_stores_nothing(
    body: Any, make_user: Callable[..., User]
) -> None:
    response = client_for(make_user()).post("/api/v1/seller-applications/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] in ("invalid_application", "validation_error")
    assert not SellerApplication.objects.exists() and not outbox("merchant.application_submitted")


def test_drop_cannot_open_before_charges_are_enabled_then_can(
    shop: dict[str, Any], wire: RecordingHttpClient
) -> None:
    merchant = ensure_connected_account(merchant_id=shop["merchant"].pk)
    drop = drops.create_drop(
        merchant_id=merchant.pk,
        title="Tea bowls",
        starts_at=timezone.now() + timedelta(hours=1),
        items=[drops.DropItemSpec(sku_id=shop["tee"].pk, quantity=5)],
    )
    api = client_for(shop["merchant"].memberships.get().user)
    start = f"/api/v1/merchants/{merchant.pk}/drops/{drop.pk}/start/"
    refused = api.post(start)
    assert refused.status_code == 409, refused.content
    assert refused.json()["error"]["code"] == "charges_not_enabled"
    assert set(refused.json()["error"]) == {"code", "message", "details"}
    # Nor by time: a due drop of such a merchant stays scheduled.
    Drop.objects.filter(pk=drop.pk).update(starts_at=timezone.now() - timedelta(seconds=1))
    drops.advance_drops_by_time()
    assert Drop.objects.get(pk=drop.pk).state == DropState.SCHEDULED
    assert not outbox("drop.state_changed", key=drop.pk)

    # A forged account.updated (wrong secret) is a 400 and changes nothing, not even the event log.
    forged = account_updated_event(
        account_id=merchant.stripe_account_id, charges_enabled=True, payouts_enabled=True
    )
    status, body = post_webhook(forged, secret="whsec_someone_else")
    assert status == 400 and body["error"]["code"] == "invalid_signature"
    assert post_webhook(forged, signature="t=1,v1=deadbeef")[0] == 400
    merchant.refresh_from_db()
    assert not merchant.charges_enabled and not StripeEvent.objects.exists()
    assert api.post(start).status_code == 409

    # The genuine one enables charges, once; a redelivery and an older event change nothing.
    now = int(timezone.now().timestamp())
    status, body = post_webhook(forged)
    assert status == 200 and body["outcome"] == "accepted"
    assert post_webhook(forged)[1]["outcome"] == "duplicate"
    stale = account_updated_event(
        account_id=merchant.stripe_account_id, charges_enabled=False, payouts_enabled=False, created=now - 60
    )
    assert post_webhook(stale)[1]["outcome"] == "ignored"
    merchant.refresh_from_db()
    assert merchant.charges_enabled and merchant.payouts_enabled
    (event,) = outbox("merchant.account_updated", key=merchant.pk)
    assert event.payload["charges_enabled"] is True and event.payload["stripe_event_id"] == forged["id"]
    assert StripeEvent.objects.filter(type="account.updated").count() == 2

    started = api.post(start)
    assert started.status_code == 200, started.content
    assert Drop.objects.get(pk=drop.pk).state == DropState.LIVE


def test_account_updated_for_an_unknown_account_is_acknowledged_and_ignored(
    wire: RecordingHttpClient,
) -> None:
    status, body = post_webhook(
        account_updated_event(account_id="acct_nobody", charges_enabled=True, payouts_enabled=True)
    )
    assert status == 200 and body["outcome"] == "ignored"
    assert not outbox("merchant.account_updated")


def _order(shop: dict[str, Any], buyer: User, lines: list[tuple[str, int]]) -> Order:
    drop = drops.create_drop(
        merchant_id=shop["merchant"].pk,
        title="Drop",
        starts_at=timezone.now() + timedelta(hours=1),
        per_buyer_limit=5,
        items=[drops.DropItemSpec(sku_id=shop[name].pk, quantity=10) for name, _ in lines],
    )
    drops.start_drop(drop_id=drop.pk)
    for name, quantity in lines:
        reserve_stock(drop_id=drop.pk, sku_id=shop[name].pk, buyer_id=buyer.pk, quantity=quantity)
    return place_order(buyer_id=buyer.pk, shipping_address=SHIP_TO)


def test_purchase_is_a_destination_charge_with_the_plan_fee(
    connect_shop: dict[str, Any], buyer: User, wire: RecordingHttpClient
) -> None:
    merchant = connect_shop["merchant"]
    plan = fees.save_fee_plan(name="Standard", percent_bps=800, fixed_fees={"usd": 30})
    fees.assign_fee_plan(merchant_id=merchant.pk, plan_id=plan.pk)
    order = _order(connect_shop, buyer, [("tee", 2)])  # 2 x 2500
    started = start_payment(order_id=order.pk)
    (call,) = wire.to("POST", "/v1/payment_intents")
    assert call["headers"]["idempotency-key"] == intent_idempotency_key(order.pk, 1)
    assert call["form"]["amount"] == "5000" and call["form"]["currency"] == "usd"
    assert call["form"]["transfer_data[destination]"] == merchant.stripe_account_id
    assert call["form"]["application_fee_amount"] == str(400 + 30)  # 8 % + 30 cents
    attempt = PaymentAttempt.objects.get(order=order)
    assert (attempt.destination_account, attempt.application_fee_amount) == (merchant.stripe_account_id, 430)
    assert started.amount == 5000
    assert [e.payload["percent_bps"] for e in outbox("merchant.fee_plan_changed", key=merchant.pk)] == [800]


def test_platform_settled_merchant_is_charged_without_destination(
    shop: dict[str, Any], buyer: User, wire: RecordingHttpClient
) -> None:
    order = _order(shop, buyer, [("tee", 1)])
    start_payment(order_id=order.pk)
    (call,) = wire.to("POST", "/v1/payment_intents")
    assert "transfer_data[destination]" not in call["form"] and "application_fee_amount" not in call["form"]


def test_full_and_partial_refunds_reverse_transfer_and_fee_with_their_own_keys(
    connect_shop: dict[str, Any], buyer: User, wire: RecordingHttpClient, enqueued: list[str]
) -> None:
    order = _order(connect_shop, buyer, [("tee", 2), ("jacket", 1)])  # 5000 + 1500
    start_payment(order_id=order.pk)
    order.refresh_from_db()
    Order.objects.filter(pk=order.pk).update(status="paid", paid_at=timezone.now())
    jacket_line = order.lines.get(sku=connect_shop["jacket"])
    from django.db import transaction

    with transaction.atomic():
        locked = lock_order(order.pk)
        partial, _ = request_refund(
            order=locked,
            amount=1500,
            key=line_refund_key(jacket_line.pk),
            reason="mint failed",
            line=jacket_line,
        )
        full, _ = request_refund(
            order=locked, amount=5000, key=order_refund_key(order.pk, "rest"), reason="cancelled by merchant"
        )
    assert partial.reverse_transfer and full.reverse_transfer
    execute_refund(refund_id=str(partial.pk))
    execute_refund(refund_id=str(full.pk))
    calls = wire.to("POST", "/v1/refunds")
    assert [c["headers"]["idempotency-key"] for c in calls] == [
        line_refund_key(jacket_line.pk),
        order_refund_key(order.pk, "rest"),
    ]
    for call, amount in zip(calls, ("1500", "5000"), strict=True):
        assert call["form"]["amount"] == amount
        assert call["form"]["payment_intent"] == order.payment_intent_id
        assert call["form"]["reverse_transfer"] == "true"
        assert call["form"]["refund_application_fee"] == "true"
    assert Refund.objects.filter(order=order, status="succeeded").count() == 2

    # The money page and the CSV see the fee (10 % default plan) and what went back.
    from commerce.payments.merchant_money import order_money, orders_csv

    (row,) = order_money(merchant_id=connect_shop["merchant"].pk)
    assert (row.gross, row.fee, row.refunded) == (6500, 650, 6500)
    assert row.fee_refunded == 650 * 1500 // 6500 + 650 * 5000 // 6500
    assert row.net == 6500 - 650 - 6500 + row.fee_refunded
    csv_lines = orders_csv(merchant_id=connect_shop["merchant"].pk).splitlines()
    assert csv_lines[0] == "order_id,created_at,status,currency,gross,fee,refunded,fee_refunded,net"
    assert csv_lines[1].endswith(f",USD,65.00,6.50,65.00,{row.fee_refunded / 100:.2f},{row.net / 100:.2f}")


CHILD_START_PAYMENT = (
    CHILD_PRELUDE
    + """
from commerce.payments.services.intents import start_payment
started = start_payment(order_id=%d)
print("INTENT " + started.payment_intent_id, flush=True)
"""
)


def test_intent_create_repeated_after_a_crash_sends_the_same_key(
    connect_shop: dict[str, Any], buyer: User
) -> None:
    order = _order(connect_shop, buyer, [("tee", 1)])
    killed = run_python(CHILD_START_PAYMENT % order.pk, env={CRASH_AT_ENV: "intents.after_call"})
    assert killed.returncode == 137, killed.stdout + killed.stderr
    attempt = PaymentAttempt.objects.get(order=order)
    assert (
        attempt.status == "creating" and not attempt.payment_intent_id
    )  # Stripe answered, we never recorded it
    rerun = run_python(CHILD_START_PAYMENT % order.pk)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    sent = [r for r in child_requests(killed.stdout, rerun.stdout) if r["path"] == "/v1/payment_intents"]
    assert len(sent) == 2
    assert {r["key"] for r in sent} == {intent_idempotency_key(order.pk, 1)}
    assert sent[0]["form"] == sent[1]["form"]  # same key, same parameters (Stripe would refuse otherwise)
    assert sent[0]["form"]["transfer_data[destination]"] == connect_shop["merchant"].stripe_account_id
    attempt.refresh_from_db()
    assert attempt.status == "open" and PaymentAttempt.objects.filter(order=order).count() == 1


CHILD_ACCOUNT = (
    CHILD_PRELUDE
    + """
from commerce.payments.services.connect import ensure_connected_account
merchant = ensure_connected_account(merchant_id=%d)
print("ACCOUNT " + merchant.stripe_account_id, flush=True)
"""
)


def test_account_create_repeated_after_a_crash_sends_the_same_key(shop: dict[str, Any]) -> None:
    merchant = shop["merchant"]
    killed = run_python(CHILD_ACCOUNT % merchant.pk, env={CRASH_AT_ENV: "connect.after_account_create"})
    assert killed.returncode == 137, killed.stdout + killed.stderr
    merchant.refresh_from_db()
    assert merchant.stripe_account_id == ""
    reruns = [run_python(CHILD_ACCOUNT % merchant.pk) for _ in range(2)]
    assert all(r.returncode == 0 for r in reruns), [r.stdout + r.stderr for r in reruns]
    sent = [
        r for r in child_requests(killed.stdout, *(r.stdout for r in reruns)) if r["path"] == "/v1/accounts"
    ]
    assert len(sent) == 2  # the killed call and its repeat; the third run found the account recorded
    assert {r["key"] for r in sent} == {account_idempotency_key(merchant.pk)}
    merchant.refresh_from_db()
    assert merchant.stripe_account_id.startswith("acct_") and merchant.settlement == Settlement.CONNECT
    assert len(outbox("merchant.account_created", key=merchant.pk)) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Greedy", "percent_bps": 10_001},
        {"name": "Greedy", "percent_bps": 25_000, "fixed_fees": {"usd": 30}},
        {"name": "Greedy", "percent_bps": -1},
        {"name": "Greedy", "percent_bps": 500, "fixed_fees": {"usd": -5}},
        {"name": "Greedy", "percent_bps": 500, "fixed_fees": {"dollars": 5}},
        {"name": "Greedy", "percent_bps": "ten"},
        {"percent_bps": 500},
    ],
)
def test_a_fee_plan_above_100_percent_or_otherwise_invalid_is_refused(body: dict[str, Any]) -> None:
    staff = User.objects.create_user("platform", is_staff=True)
    before = fees.save_fee_plan(name="Greedy", percent_bps=500, fixed_fees={})
    response = client_for(staff).post("/api/v1/platform/fee-plans/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] in ("invalid_fee_plan", "validation_error")
    assert list(FeePlan.objects.values_list("name", "percent_bps", "fixed_fees")) == [("Greedy", 500, {})]
    assert before.pk == FeePlan.objects.get().pk


def test_fee_plans_are_platform_staff_only(make_user: Callable[..., User]) -> None:
    response = client_for(make_user()).post(
        "/api/v1/platform/fee-plans/", {"name": "Mine", "percent_bps": 0}, format="json"
    )
    assert response.status_code == 403 and not FeePlan.objects.exists()

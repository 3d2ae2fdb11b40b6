"""Admin order page (timeline, payment, refund actions) and `manage.py stripe_webhook`."""

import io
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from commerce.models import OrderStatus
from commerce.payments.models import PaymentOrder, Refund, RefundStatus, StripeEvent
from commerce.payments.services.intents import start_payment
from commerce.payments.services.operator import refund_in_full, refund_lines
from commerce.payments.services.refunds import execute_refund
from tests.payments.helpers import deliver_paid, outbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def paid_order(make_order: Any, gateway: Any) -> Any:
    order = make_order([("jacket", 2), ("tee", 1)])
    start_payment(order_id=order.pk)
    order.refresh_from_db()
    deliver_paid(order)
    return order


@pytest.fixture
def admin_client() -> Client:
    user = User.objects.create_superuser(username=f"admin-{uuid.uuid4().hex[:6]}", password="pw-12345678")
    client = Client()
    client.force_login(user)
    return client


def test_order_page_shows_timeline_and_payment(paid_order: Any, admin_client: Client) -> None:
    page = admin_client.get(f"/admin/payments/paymentorder/{paid_order.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        "saga timeline" in html.lower()
        and "payment.succeeded" in html
        and paid_order.payment_intent_id in html
    )
    assert admin_client.get("/admin/payments/paymentorder/").status_code == 200
    assert admin_client.get(f"/admin/payments/paymentorder/{paid_order.pk}/refund/").status_code == 200


def test_partial_then_full_refund_from_admin_is_idempotent(
    paid_order: Any, admin_client: Client, gateway: Any, enqueued: list[str]
) -> None:
    tee = paid_order.lines.get(kind="physical")
    url = f"/admin/payments/paymentorder/{paid_order.pk}/refund/"
    for _ in range(2):  # double submit
        assert admin_client.post(url, {"lines": [str(tee.pk)]}).status_code == 302
    (refund,) = Refund.objects.filter(order=paid_order)
    assert refund.amount == 2500 and refund.line_id == tee.pk
    for refund_id in enqueued:
        execute_refund(refund_id=refund_id)
    paid_order.refresh_from_db()
    assert paid_order.status == OrderStatus.PARTIALLY_REFUNDED

    action = {"action": "action_refund_full", "_selected_action": [str(paid_order.pk)]}
    for _ in range(2):
        assert admin_client.post("/admin/payments/paymentorder/", action).status_code == 302
    full = Refund.objects.get(order=paid_order, line__isnull=True)
    assert full.amount == paid_order.total - 2500
    for refund_id in set(enqueued):
        execute_refund(refund_id=refund_id)
    assert len(gateway.ops("refunds.create")) == 2
    paid_order.refresh_from_db()
    assert paid_order.status == OrderStatus.REFUNDED and paid_order.refunded_amount == paid_order.total
    assert refund_in_full(order_id=paid_order.pk, actor="x") == full  # again: the same refund
    assert Refund.objects.filter(order=paid_order, status=RefundStatus.SUCCEEDED).count() == 2
    assert len(outbox("payment.refunded", key=paid_order.pk)) == 2


def test_refund_of_an_unpaid_order_is_refused(make_order: Any, gateway: Any) -> None:
    from commerce.payments.errors import RefundNotAllowed

    order = make_order()
    with pytest.raises(RefundNotAllowed):
        refund_in_full(order_id=order.pk, actor="x")
    with pytest.raises(RefundNotAllowed):
        refund_lines(order_id=order.pk, line_ids=[order.lines.get().pk], actor="x")
    assert not Refund.objects.exists()


def test_retry_action_rerequests_unanswered_mints(paid_order: Any, admin_client: Client) -> None:
    before = len(outbox("nft.mint.requested", key=paid_order.pk))
    action = {"action": "action_retry", "_selected_action": [str(paid_order.pk)]}
    assert admin_client.post("/admin/payments/paymentorder/", action).status_code == 302
    assert len(outbox("nft.mint.requested", key=paid_order.pk)) == before + 2
    assert PaymentOrder.objects.get(pk=paid_order.pk).saga_steps.filter(step="operator.retry").exists()


def test_stripe_webhook_command_signs_and_delivers(make_order: Any, gateway: Any) -> None:
    order = make_order()
    start_payment(order_id=order.pk)
    out = io.StringIO()
    call_command(
        "stripe_webhook",
        "payment_intent.succeeded",
        "--order",
        str(order.pk),
        "--local",
        "--times",
        "2",
        stdout=out,
    )
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("accepted") and lines[1].endswith("duplicate")
    assert StripeEvent.objects.filter(order=order).count() == 1 and len(outbox("payment.succeeded")) == 1


def test_stripe_webhook_command_posts_over_http(make_order: Any, gateway: Any, live_server: Any) -> None:
    order = make_order()
    start_payment(order_id=order.pk)
    out = io.StringIO()
    url = live_server.url + "/webhooks/stripe/"
    call_command(
        "stripe_webhook", "payment_intent.payment_failed", "--order", str(order.pk), "--url", url, stdout=out
    )
    assert "HTTP 200" in out.getvalue() and '"accepted"' in out.getvalue()
    assert outbox("payment.failed", key=order.pk)[0].payload["failure_code"] == "card_declined"

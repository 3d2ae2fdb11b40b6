"""The webhook endpoint: signature, tolerance, de-duplication by Stripe event id, bad input changes nothing."""

import json
import time
from typing import Any

import pytest

from commerce.payments.models import StripeEvent
from commerce.payments.services.intents import start_payment
from commerce.payments.simulator import build_event, event_for_order
from realtime.models import OutboxEvent
from tests.payments.helpers import outbox, post_webhook

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def paying_order(make_order: Any, gateway: Any) -> Any:
    order = make_order()
    start_payment(order_id=order.pk)
    return order


def _counts() -> tuple[int, int]:
    return StripeEvent.objects.count(), OutboxEvent.objects.filter(type__startswith="payment.").count()


def test_a_signed_event_is_stored_once_and_emitted_once(paying_order: Any) -> None:
    event = event_for_order("payment_intent.succeeded", order_id=paying_order.pk)
    status, body = post_webhook(event)
    assert status == 200 and body["outcome"] == "accepted"
    for _ in range(3):  # Stripe retries: at least once
        status, body = post_webhook(event)
        assert status == 200 and body["outcome"] == "duplicate"
    stored = StripeEvent.objects.get(stripe_event_id=event["id"])
    assert stored.order_id == paying_order.pk and stored.emitted_type == "payment.succeeded"
    (row,) = outbox("payment.succeeded", key=paying_order.pk)
    assert row.payload == {
        "order_id": paying_order.pk,
        "payment_intent_id": paying_order.payment_attempts.get().payment_intent_id,
        "amount": paying_order.total,
        "currency": "usd",
        "stripe_event_id": event["id"],
    }


def test_failure_and_refund_events_carry_their_details(paying_order: Any) -> None:
    failed = event_for_order("payment_intent.payment_failed", order_id=paying_order.pk)
    refunded = event_for_order(
        "charge.refunded",
        order_id=paying_order.pk,
        refund_amount=500,
        refund_metadata={"line_id": "7", "refund_key": "k"},
    )
    assert post_webhook(failed)[0] == 200 and post_webhook(refunded)[0] == 200
    assert outbox("payment.failed")[0].payload["failure_code"] == "card_declined"
    payload = outbox("payment.refunded")[0].payload
    assert payload["amount"] == 500 and payload["line_id"] == 7 and payload["refund_key"] == "k"
    assert payload["refund_id"].startswith("re_") and payload["amount_refunded_total"] == 500


@pytest.mark.parametrize(
    "tamper",
    ["missing", "garbage", "wrong_secret", "stale", "future", "body_changed"],
)
def test_bad_signatures_are_400_and_store_nothing(paying_order: Any, tamper: str) -> None:
    event = event_for_order("payment_intent.succeeded", order_id=paying_order.pk)
    before = _counts()
    if tamper == "missing":
        status, body = post_webhook(event, signature=None)
    elif tamper == "garbage":
        status, body = post_webhook(event, signature="t=1,v1=deadbeef")
    elif tamper == "wrong_secret":
        status, body = post_webhook(event, secret="whsec_somebody_else")
    elif tamper == "stale":
        status, body = post_webhook(event, timestamp=int(time.time()) - 3600)
    elif tamper == "future":
        status, body = post_webhook(event, timestamp=int(time.time()) + 3600)
    else:
        from commerce.payments.simulator import sign_event

        header = sign_event(event).signature
        event["data"]["object"]["amount"] = 1  # signed one body, sent another
        status, body = post_webhook(event, signature=header)
    assert status == 400 and body["error"]["code"] == "invalid_signature"
    assert _counts() == before


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        json.dumps({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded"}).encode(),
        json.dumps(
            {"id": "nope", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {}}}
        ).encode(),
        json.dumps(
            {
                "id": "evt_2",
                "object": "event",
                "type": "payment_intent.succeeded",
                "data": {"object": {"id": "pi_1"}},
            }
        ).encode(),
        json.dumps(
            {
                "id": "evt_3",
                "object": "event",
                "type": "payment_intent.succeeded",
                "data": {
                    "object": {"id": "pi_1", "amount": "12", "currency": "usd", "metadata": {"order_id": "1"}}
                },
            }
        ).encode(),
    ],
)
def test_malformed_but_signed_bodies_are_400_and_store_nothing(paying_order: Any, body: bytes) -> None:
    before = _counts()
    status, response = post_webhook(body)
    assert status == 400 and response["error"]["code"] == "malformed_event"
    assert _counts() == before


def test_invalid_amount_for_a_known_order_is_400_and_stores_nothing(paying_order: Any) -> None:
    event = event_for_order("payment_intent.succeeded", order_id=paying_order.pk)
    event["data"]["object"]["currency"] = "US DOLLARS"
    before = _counts()
    status, response = post_webhook(event)
    assert status == 400 and response["error"]["code"] == "malformed_event"
    assert _counts() == before


def test_unknown_types_and_unknown_orders_are_acknowledged_and_change_nothing(paying_order: Any) -> None:
    before = _counts()
    unknown = event_for_order("payment_intent.succeeded", order_id=paying_order.pk)
    unknown["type"] = "customer.created"
    status, body = post_webhook(unknown)
    assert status == 200 and body["outcome"] == "ignored"
    assert _counts() == before

    stranger = build_event(
        "payment_intent.succeeded",
        order_id=10**9,
        payment_intent_id="pi_not_ours",
        amount=100,
        currency="usd",
    )
    status, body = post_webhook(stranger)
    assert status == 200 and body["outcome"] == "ignored"
    assert not OutboxEvent.objects.filter(type__startswith="payment.").exists()
    assert StripeEvent.objects.get(stripe_event_id=stranger["id"]).ignored_reason == "unknown order"


def test_get_and_oversized_bodies_are_refused(client: Any) -> None:
    assert client.get("/webhooks/stripe/").status_code == 405
    response = client.post("/webhooks/stripe/", data=b"x" * (600 * 1024), content_type="application/json")
    assert response.status_code == 413

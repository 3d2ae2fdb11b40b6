"""PaymentIntent per order on the real stripe-mock: amount, currency, metadata, idempotency key, no call in a transaction."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from commerce.models import Order
from commerce.payments.errors import NotFound, OrderNotPayable
from commerce.payments.models import AttemptStatus, PaymentAttempt, SagaStep
from commerce.payments.services.intents import intent_idempotency_key, start_payment
from commerce.services.cancellations import cancel_order
from tests.tokens import issue_token

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_payment_intent_is_created_once_with_order_amount_and_derived_key(
    make_order: Any, gateway: Any
) -> None:
    order = make_order([("jacket", 2)])
    first = start_payment(order_id=order.pk, buyer_id=order.buyer_id)

    (call,) = gateway.ops("payment_intents.create")
    assert call.params["amount"] == order.total == 3000
    assert call.params["currency"] == "usd"
    assert call.params["metadata"] == {"order_id": str(order.pk), "attempt": "1"}
    assert call.idempotency_key == intent_idempotency_key(order.pk, 1)
    assert call.echoed_idempotency_key == call.idempotency_key  # stripe-mock saw our key
    assert first.client_secret.startswith("pi_") and "_secret_" in first.client_secret
    assert gateway.in_transaction_calls == 0

    again = start_payment(order_id=order.pk, buyer_id=order.buyer_id)
    assert again == first
    assert len(gateway.ops("payment_intents.create")) == 1  # a retry never creates a second intent
    attempt = PaymentAttempt.objects.get(order=order)
    assert attempt.status == AttemptStatus.OPEN and attempt.payment_intent_id == first.payment_intent_id
    assert Order.objects.get(pk=order.pk).payment_intent_id == first.payment_intent_id
    assert list(SagaStep.objects.filter(order=order).values_list("step", flat=True)) == [
        "payment_intent.create",
        "payment_intent.created",
    ]


def test_a_crash_between_attempt_row_and_stripe_answer_repeats_the_same_key(
    make_order: Any, gateway: Any
) -> None:
    order = make_order()
    PaymentAttempt.objects.create(
        order=order,
        attempt=1,
        idempotency_key=intent_idempotency_key(order.pk, 1),
        amount=order.total,
        currency="usd",
    )  # the state a worker killed mid-call leaves behind
    start_payment(order_id=order.pk)
    (call,) = gateway.ops("payment_intents.create")
    assert call.idempotency_key == intent_idempotency_key(order.pk, 1)
    assert PaymentAttempt.objects.get(order=order).status == AttemptStatus.OPEN


def test_only_the_buyer_may_pay_and_only_a_pending_order(
    make_order: Any, make_user: Any, gateway: Any
) -> None:
    order = make_order()
    with pytest.raises(NotFound):
        start_payment(order_id=order.pk, buyer_id=make_user().pk)
    with pytest.raises(NotFound):
        start_payment(order_id=10**9)
    cancel_order(order_id=order.pk)
    with pytest.raises(OrderNotPayable):
        start_payment(order_id=order.pk, buyer_id=order.buyer_id)
    assert len(gateway.calls) == 0
    assert not PaymentAttempt.objects.filter(order=order).exists()


def test_pay_endpoint_returns_client_secret_and_maps_errors(
    make_order: Any, make_user: Any, gateway: Any
) -> None:
    order = make_order()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(order.buyer)}")
    response = client.post(f"/api/v1/orders/{order.pk}/pay/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["amount"] == order.total and body["currency"] == "usd"
    assert body["client_secret"] and body["publishable_key"]

    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(make_user())}")
    response = stranger.post(f"/api/v1/orders/{order.pk}/pay/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert APIClient().post(f"/api/v1/orders/{order.pk}/pay/").status_code in (401, 403)
    summary = client.get(f"/api/v1/orders/{order.pk}/payment/").json()
    assert summary["attempts"][0]["payment_intent_id"] == body["payment_intent_id"]

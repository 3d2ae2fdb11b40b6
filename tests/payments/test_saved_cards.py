"""A card saved for auction wins, over the API against the real stripe-mock: consent, errors, removal."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from commerce.payments.models import SavedCard
from commerce.payments.services import saved_cards
from tests.payments.conftest import GuardedGateway

pytestmark = [pytest.mark.django_db, pytest.mark.integration]
URL = "/api/v1/saved-card/"


@pytest.fixture(autouse=True)
def demo(settings: Any) -> None:
    """stripe-mock answers every SetupIntent `requires_payment_method`; the demo reads it as Stripe's
    `succeeded` for its test card (`saved_cards._setup_status`)."""
    settings.PAYMENTS_DEMO_CONFIRM = True


def _client(user: User) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_saving_needs_consent_then_the_card_is_attached_for_off_session_use(
    gateway: GuardedGateway, make_user: Callable[..., User]
) -> None:
    buyer = make_user()
    api = _client(buyer)
    assert api.get(URL).json() == {"card": None, "consent_text": saved_cards.CONSENT_TEXT}

    refused = api.post(URL, {"payment_method": "pm_card_visa", "consent": False}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "consent_required"
    assert refused.json()["error"]["details"]["consent_text"] == saved_cards.CONSENT_TEXT
    assert not gateway.calls  # nothing reached Stripe
    assert saved_cards.active_card(user_id=buyer.pk) is None

    saved = api.post(URL, {"payment_method": "pm_card_visa", "consent": True}, format="json")
    assert saved.status_code == 201, saved.content
    card = saved.json()["card"]
    assert card["last4"] and card["brand"] and card["consent_text"] == saved_cards.CONSENT_TEXT
    assert api.get(URL).json()["card"] == card
    (setup,) = gateway.ops("setup_intents.create")
    assert setup.params["usage"] == "off_session" and setup.params["confirm"] is True
    (customer,) = gateway.ops("customers.create")
    row = SavedCard.objects.get(user=buyer)
    assert setup.params["customer"] == row.customer_id == customer.result_id
    assert row.active and row.consented_at is not None and row.payment_method_id.startswith("pm_")

    # Saving again replaces the card on the same Stripe customer, with a new SetupIntent key.
    assert (
        api.post(URL, {"payment_method": "pm_card_mastercard", "consent": True}, format="json").status_code
        == 201
    )
    assert len(gateway.ops("customers.create")) == 1
    keys = [c.idempotency_key for c in gateway.ops("setup_intents.create")]
    assert len(set(keys)) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"consent": True},
        {"payment_method": "4242424242424242", "consent": True},  # a card number is never accepted
        {"payment_method": "pm_card_visa"},
        {"payment_method": "pm_card_visa", "consent": "maybe"},
        {"payment_method": "pm_" + "x" * 300, "consent": True},
    ],
)
def test_bad_input_is_a_clear_error_and_saves_nothing(
    body: dict[str, object], gateway: GuardedGateway, make_user: Callable[..., User]
) -> None:
    buyer = make_user()
    response = _client(buyer).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not gateway.calls and not SavedCard.objects.filter(user=buyer).exists()


def test_removing_stops_off_session_use_and_detaches_the_card(
    gateway: GuardedGateway, make_user: Callable[..., User]
) -> None:
    buyer = make_user()
    api = _client(buyer)
    assert api.delete(URL).status_code == 404
    api.post(URL, {"payment_method": "pm_card_visa", "consent": True}, format="json")
    method = SavedCard.objects.get(user=buyer).payment_method_id
    assert api.delete(URL).status_code == 204
    assert [c.params["id"] for c in gateway.ops("payment_methods.detach")] == [method]
    assert api.get(URL).json()["card"] is None
    assert api.delete(URL).status_code == 404
    assert not saved_cards.request_off_session_charge(order_id=1, buyer_id=buyer.pk)


def test_anonymous_callers_are_refused(gateway: GuardedGateway) -> None:
    response = APIClient().post(URL, {"payment_method": "pm_card_visa", "consent": True}, format="json")
    assert response.status_code in (401, 403)
    assert "error" in response.json()
    assert not gateway.calls


def test_a_card_the_bank_wants_confirmed_is_not_saved_and_the_client_gets_the_secret(
    gateway: GuardedGateway, make_user: Callable[..., User], settings: Any
) -> None:
    settings.PAYMENTS_DEMO_CONFIRM = False  # real keys: stripe-mock's unconfirmed answer is taken as it is
    buyer = make_user()
    response = _client(buyer).post(URL, {"payment_method": "pm_card_visa", "consent": True}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "card_needs_authentication"
    (setup,) = gateway.ops("setup_intents.create")
    assert error["details"]["setup_intent_id"] == setup.result_id and error["details"]["client_secret"]
    assert saved_cards.active_card(user_id=buyer.pk) is None

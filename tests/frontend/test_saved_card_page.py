"""The saved-card page (stripe-mock behind it) and the auction panel's hint about the saved card."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from commerce.payments.models import SavedCard
from frontend.messages import ERROR_MESSAGES

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_save_with_consent_then_remove(client: Client, settings: Any) -> None:
    settings.PAYMENTS_DEMO_CONFIRM = (
        True  # stripe-mock's SetupIntent answer read as Stripe's for pm_card_visa
    )
    user = User.objects.create_user("carla", password="pw-12345678")
    client.force_login(user)
    page = client.get("/account/card/")
    assert page.status_code == 200 and "data-save-card" in page.content.decode()

    refused = client.post("/account/card/", {"action": "save"})
    assert refused.status_code == 400
    assert ERROR_MESSAGES["consent_required"] in refused.content.decode()
    assert not SavedCard.objects.filter(user=user, removed_at=None).exclude(payment_method_id="").exists()

    saved = client.post("/account/card/", {"action": "save", "consent": "yes"}, follow=True)
    body = saved.content.decode()
    card = SavedCard.objects.get(user=user)
    assert card.active and "data-saved-card" in body and f"ending {card.last4}" in body

    client.post("/account/card/", {"action": "remove"})
    card.refresh_from_db()
    assert not card.active
    assert "data-save-card" in client.get("/account/card/").content.decode()


def test_the_page_needs_a_signed_in_buyer(client: Client) -> None:
    response = client.get("/account/card/")
    assert response.status_code == 302 and "/login/" in response["Location"]

"""The card behind a succeeded PaymentIntent: Stripe's PaymentMethod `card.fingerprint`.

Read by the webhook intake before its transaction (the only network call is here, never inside a
database transaction). Stripe's event carries the PaymentMethod as an id (`pm_...`), expanded
(an object with `card`), or, in API versions before 2022-11-15, inside `charges.data[0]
.payment_method_details.card`. An id is looked up at Stripe (stripe-mock answers one fixed
fingerprint for every card). When Stripe cannot be reached the payment goes on without a
fingerprint (logged): a lookup failure must not hold up a paid order; only the card limit is skipped.
"""

import logging
from typing import Any

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)


def _card_fingerprint(card: Any) -> str:
    value = card.get("fingerprint") if isinstance(card, dict) else None
    return value[:64] if isinstance(value, str) and value else ""


def _from_object(intent: dict[str, Any]) -> str:
    method = intent.get("payment_method")
    if isinstance(method, dict):
        return _card_fingerprint(method.get("card"))
    charges = intent.get("charges")
    data = charges.get("data") if isinstance(charges, dict) else None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        details = data[0].get("payment_method_details")
        return _card_fingerprint(details.get("card") if isinstance(details, dict) else None)
    return ""


def _lookup(payment_method_id: str) -> str:
    client = stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=settings.PAYMENTS_STRIPE_MAX_RETRIES,
        http_client=stripe.RequestsClient(timeout=settings.PAYMENTS_STRIPE_TIMEOUT_SECONDS),
    )
    try:
        method = client.v1.payment_methods.retrieve(payment_method_id)
    except stripe.StripeError as exc:
        logger.warning(
            "card fingerprint lookup failed", extra={"payment_method": payment_method_id, "error": str(exc)}
        )
        return ""
    card = getattr(method, "card", None)
    value = getattr(card, "fingerprint", None) if card is not None else None
    return value[:64] if isinstance(value, str) and value else ""


def card_facts(event_type: str, intent: dict[str, Any]) -> dict[str, str]:
    """`{"card_fingerprint": ...}` for a succeeded PaymentIntent whose card is known, else `{}`."""
    if event_type != "payment_intent.succeeded" or not settings.ABUSE_IDENTITY_LIMITS:
        return {}
    fingerprint = _from_object(intent)
    method = intent.get("payment_method")
    if not fingerprint and isinstance(method, str) and method.startswith("pm_"):
        fingerprint = _lookup(method[:255])
    return {"card_fingerprint": fingerprint} if fingerprint else {}

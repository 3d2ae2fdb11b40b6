"""Helpers for payments tests: deliver signed webhooks through the real endpoint, read the outbox."""

import json
from typing import Any

from django.test import Client

from commerce.payments.simulator import sign_event
from realtime.models import OutboxEvent

WEBHOOK_URL = "/webhooks/stripe/"


def post_webhook(
    event: dict[str, Any] | bytes,
    *,
    client: Client | None = None,
    secret: str | None = None,
    timestamp: int | None = None,
    signature: str | None = "sign",
) -> tuple[int, dict[str, Any]]:
    """POST an event to /webhooks/stripe/ signed like Stripe (or with `signature` given verbatim / None)."""
    client = client or Client()
    if isinstance(event, bytes):
        from django.conf import settings

        from commerce.payments.signing import stripe_signature

        body = event
        header = stripe_signature(body, secret=secret or settings.STRIPE_WEBHOOK_SECRET, timestamp=timestamp)
    else:
        signed = sign_event(event, secret=secret, timestamp=timestamp)
        body, header = signed.body, signed.signature
    headers = {} if signature is None else {"Stripe-Signature": header if signature == "sign" else signature}
    response = client.post(WEBHOOK_URL, data=body, content_type="application/json", headers=headers)
    return response.status_code, json.loads(response.content or b"{}")


def outbox(event_type: str, *, key: int | str | None = None) -> list[OutboxEvent]:
    rows = OutboxEvent.objects.filter(type=event_type)
    if key is not None:
        rows = rows.filter(aggregateid=str(key))
    return list(rows.order_by("sequence"))
